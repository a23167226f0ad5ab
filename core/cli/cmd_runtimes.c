/* cli/cmd_runtimes.c — `runtimes`: named background agents ("aliases")
 * started and supervised from the command line (reference/cli.md §5).
 *
 *   create  --alias A ...        resolve or create the alias's tunnel
 *   connect --alias A ...        write the alias's profile, start
 *                                `run --profile-dir D --profile P` in the
 *                                background, wait for /healthz and /readyz
 *   status A, list, stop|disconnect A, rm|remove A, cleanup [--apply]
 *
 * Records live in the state root (cmd_runtimes_state.h): aliases.yaml
 * {"aliases":{A:{...}}} and processes.yaml {"processes":{A:{pid,
 * start_ticks,mode,...}}}. A runtime is "running" when its recorded pid is
 * alive with the recorded start time (or its tmux session exists); a record
 * whose pid is gone or reused is "stale" and is never signalled.
 * runtime_state: stopped | starting | healthy (/healthz 2xx) | ready
 * (/readyz 2xx as well).
 *
 * Exit codes: 0 ok; 1 usage or operational error (one line on stderr); 2 a
 * runtime that did not become healthy, or an unknown alias with --json
 * (the payload is still printed).
 *
 * This file holds the usage text and the dispatch (flag parsing, then
 * one tc_rt_cmd_* per subcommand); the subcommands live in
 * cmd_runtimes_{connect,create,status_list,stop_rm,cleanup}.c and what
 * they share in cmd_runtimes_view.c (see cmd_runtimes_internal.h). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cmd_runtimes_internal.h"

const char tc_runtimes_usage[] =
    "Usage: tunnel-client runtimes <command> [flags]\n"
    "\n"
    "Start and supervise background agents by alias. Each alias gets a\n"
    "profile (<profile-dir>/<alias>.yaml), a log file and a health URL file\n"
    "in the state directory, and a detached 'tunnel-client run' process in\n"
    "its own session (or a tmux session with --mode tmux).\n"
    "\n"
    "Commands:\n"
    "  connect --alias A (--mcp-server-url URL | --mcp-command CMD |\n"
    "          --embedded-mcp-stub) [--tunnel-id ID] [--runtime-api-key REF]\n"
    "          [--profile P] [--profile-dir D] [--mode process|tmux|auto]\n"
    "          [--wait 15s] [--tunnel-client-bin PATH]\n"
    "          [--name N --description D --organization-id ID "
    "--workspace-id ID]\n"
    "      Without --tunnel-id the alias's tunnel is reused, found by name\n"
    "      or created with the admin key (needs an org or workspace id).\n"
    "      Waits for /healthz, then /readyz; a progress line is shown on a\n"
    "      terminal.\n"
    "  create --alias A [--name N --description D --organization-id ID\n"
    "          --workspace-id ID]      only resolve/create the tunnel\n"
    "  status A          process_running, healthy, ready, runtime_state,\n"
    "                    log tail and next steps\n"
    "  list [--organization-id ID|--workspace-id ID|--tenant-id ID]\n"
    "  stop A | disconnect A   SIGTERM to the runtime, wait, remove its URL "
    "file\n"
    "  rm A | remove A   delete the records, profile, URL and log files\n"
    "                    (refused while running)\n"
    "  cleanup [--apply] classify entries: live_runtime, valid_profile,\n"
    "                    missing_profile, stale_alias; --apply removes the\n"
    "                    stale_alias ones\n"
    "\n"
    "Flags (every command):\n"
    "  --json                          machine-readable output\n"
    "  --admin-profile NAME            saved admin key reference "
    "(admin-profiles)\n"
    "  --admin-key env:NAME|file:PATH  admin key (default $OPENAI_ADMIN_KEY)\n"
    "  --control-plane-base-url URL    --control-plane-url-path /P\n"
    "\n"
    "The runtime key is --runtime-api-key env:NAME|file:PATH (default\n"
    "env:CONTROL_PLANE_API_KEY); it is written to the profile as that\n"
    "reference, never as a value.\n"
    "\n"
    "State: $TUNNEL_CLIENT_STATE_DIR, $XDG_STATE_HOME/tunnel-client or\n"
    "~/.local/state/tunnel-client: aliases.yaml, processes.yaml, history.md,\n"
    "health/<alias>.url, logs/<alias>.log.\n"
    "\n"
    "Examples:\n"
    "  export CONTROL_PLANE_API_KEY=...\n"
    "  tunnel-client runtimes connect --alias docs --tunnel-id "
    "tunnel_<32 chars> \\\n"
    "    --mcp-server-url http://127.0.0.1:3000/mcp\n"
    "  tunnel-client runtimes status docs --json\n"
    "  tunnel-client runtimes stop docs && tunnel-client runtimes rm docs\n"
    "  tunnel-client runtimes cleanup --apply\n"
    "\n"
    "Exit codes: 0 ok; 1 error (one line on stderr); 2 the runtime did not\n"
    "become healthy, or status --json of an unknown alias.\n";

int tc_cmd_runtimes(int argc, char **argv) {
  if (argc < 1) {
    fputs(tc_runtimes_usage, stderr);
    return 1;
  }
  const char *sub = argv[0];
  if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 ||
      strcmp(sub, "help") == 0) {
    fputs(tc_runtimes_usage, stdout);
    return 0;
  }
  struct tc_rt_flags f;
  memset(&f, 0, sizeof(f));
  const struct tc_opt opts[] = {
      {"--alias", TC_OPT_STR, &f.alias},
      {"--tunnel-id", TC_OPT_STR, &f.tunnel_id},
      {"--profile", TC_OPT_STR, &f.profile},
      {"--profile-dir", TC_OPT_STR, &f.profile_dir},
      {"--mcp-server-url", TC_OPT_STR, &f.mcp_url},
      {"--mcp-command", TC_OPT_STR, &f.mcp_cmd},
      {"--embedded-mcp-stub", TC_OPT_BOOL, &f.embedded},
      {"--runtime-api-key", TC_OPT_STR, &f.runtime_key},
      {"--name", TC_OPT_STR, &f.name},
      {"--description", TC_OPT_STR, &f.description},
      {"--organization-id", TC_OPT_LIST, &f.orgs},
      {"--workspace-id", TC_OPT_LIST, &f.wss},
      {"--tenant-id", TC_OPT_LIST, &f.tenants},
      {"--tunnel-client-bin", TC_OPT_STR, &f.bin},
      {"--mode", TC_OPT_STR, &f.mode},
      {"--wait", TC_OPT_STR, &f.wait},
      {"--admin-profile", TC_OPT_STR, &f.admin_profile},
      {"--admin-key", TC_OPT_STR, &f.admin_key},
      {"--control-plane-base-url", TC_OPT_STR, &f.base},
      {"--control-plane.base-url", TC_OPT_STR, &f.base},
      {"--control-plane-url-path", TC_OPT_STR, &f.path},
      {"--control-plane.url-path", TC_OPT_STR, &f.path},
      {"--json", TC_OPT_BOOL, &f.json},
      {"--apply", TC_OPT_BOOL, &f.apply},
  };
  char cmd[48];
  snprintf(cmd, sizeof(cmd), "runtimes %.20s", sub);
  int rc;
  if (tc_opts_parse(cmd, opts, sizeof(opts) / sizeof(opts[0]), argc - 1,
                    argv + 1, f.pos, 1, &f.npos, &f.help) != 0)
    rc = 1;
  else if (f.help) {
    fputs(tc_runtimes_usage, stdout);
    rc = 0;
  } else if (strcmp(sub, "connect") == 0)
    rc = tc_rt_cmd_connect(&f);
  else if (strcmp(sub, "create") == 0)
    rc = tc_rt_cmd_create(&f);
  else if (strcmp(sub, "status") == 0)
    rc = tc_rt_cmd_status(&f);
  else if (strcmp(sub, "list") == 0)
    rc = tc_rt_cmd_list(&f);
  else if (strcmp(sub, "stop") == 0 || strcmp(sub, "disconnect") == 0)
    rc = tc_rt_cmd_stop(&f);
  else if (strcmp(sub, "rm") == 0 || strcmp(sub, "remove") == 0)
    rc = tc_rt_cmd_rm(&f);
  else if (strcmp(sub, "cleanup") == 0)
    rc = tc_rt_cmd_cleanup(&f);
  else
    rc = tc_cli_fail("runtimes",
                     "unknown command \"%.64s\"; commands are connect, "
                     "create, status, list, stop, rm and cleanup",
                     sub);
  tc_strlist_free(&f.orgs);
  tc_strlist_free(&f.wss);
  tc_strlist_free(&f.tenants);
  return rc;
}
