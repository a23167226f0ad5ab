/* cli/cmd_dev.c — `dev` subcommands: local stand-ins for the pieces of a
 * tunnel that normally live elsewhere. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

int tc_cmd_dev(int argc, char **argv) {
  if (argc < 1 || strcmp(argv[0], "help") == 0) {
    fprintf(argc < 1 ? stderr : stdout,
            "Usage: tunnel-client dev <command> [flags]\n\nCommands:\n"
            "  (none yet)\n");
    return argc < 1 ? 1 : 0;
  }
  fprintf(stderr,
          "unknown dev command \"%s\"; run 'tunnel-client dev help' for the "
          "list\n",
          argv[0]);
  return 1;
}
