/* main.c — command dispatch. Everything else lives in cli/. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

struct tc_command {
  const char *name;
  int (*fn)(int argc, char **argv);
};

static const struct tc_command commands[] = {
    {"run", tc_cmd_run},         {"modules", tc_cmd_modules},
    {"dev", tc_cmd_dev},         {"help", tc_cmd_help},
    {"version", tc_cmd_version}, {"runtimes", tc_cmd_runtimes},
    {"admin", tc_cmd_admin},     {"admin-profiles", tc_cmd_admin_profiles},
    {"init", tc_cmd_init},       {"doctor", tc_cmd_doctor},
    {"health", tc_cmd_health},   {"profiles", tc_cmd_profiles},
};

int main(int argc, char **argv) {
  if (argc < 2)
    return tc_cmd_help(0, argv + 1);
  const char *cmd = argv[1];
  if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-v") == 0)
    return tc_cmd_version(argc - 2, argv + 2);
  if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0)
    return tc_cmd_help(argc - 2, argv + 2);
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
    if (strcmp(cmd, commands[i].name) != 0)
      continue;
    /* `tunnel-client CMD --help` shows the command's help; subcommands
     * (`dev mcp-stub --help`) answer --help themselves. */
    if (argc > 2 &&
        (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0))
      return tc_cmd_help(2, argv + 1); /* CMD --help: the command */
    return commands[i].fn(argc - 2, argv + 2);
  }
  fprintf(stderr,
          "unknown command \"%s\"; run 'tunnel-client help' for the list of "
          "commands\n",
          cmd);
  return 1;
}
