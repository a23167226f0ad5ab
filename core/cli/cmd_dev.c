/* cli/cmd_dev.c — `dev`: local stand-ins for the pieces of a tunnel that
 * normally live elsewhere. This file only dispatches; each subcommand lives
 * in its own file:
 *
 *   dev mcp-stub       cmd_dev_mcp_stub.c
 *   dev control-plane  cmd_dev_control_plane.c
 *   dev proxy          cmd_dev_proxy.c
 *   dev load           cmd_dev_load.c
 *
 * and what they share (flags, signals, --url-file) in dev_common.c. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cmd_dev_load.h"
#include "cli/dev_common.h"

static const char dev_usage[] =
    "Usage: tunnel-client dev <command> [flags]\n"
    "\n"
    "Commands:\n"
    "  mcp-stub   run a local Streamable HTTP MCP server with OAuth discovery\n"
    "             documents (demo and test target)\n"
    "  control-plane\n"
    "             run a local in-memory tunnel service (poll/response API)\n"
    "             with an MCP ingress that turns HTTP calls into commands\n"
    "  proxy      run that control plane and the agent in one process: an\n"
    "             MCP server reachable through a local tunnel\n"
    "  load       drive an MCP server with tools/call echo and report\n"
    "             req/s and latency percentiles\n"
    "\n"
    "mcp-stub, control-plane and proxy refuse a request whose Host or Origin\n"
    "names another site (DNS-rebinding protection); --allowed-hosts NAME\n"
    "adds names for a stand-in reached by another name.\n"
    "\n"
    "Run 'tunnel-client dev help <command>' for a command's flags.\n";

int tc_cmd_dev(int argc, char **argv) {
  if (argc < 1) {
    fputs(dev_usage, stderr);
    return 1;
  }
  if (strcmp(argv[0], "help") == 0 || strcmp(argv[0], "--help") == 0 ||
      strcmp(argv[0], "-h") == 0) {
    if (argc >= 2 && strcmp(argv[1], "mcp-stub") == 0)
      fputs(tc_dev_mcp_stub_usage, stdout);
    else if (argc >= 2 && strcmp(argv[1], "control-plane") == 0)
      fputs(tc_dev_control_plane_usage, stdout);
    else if (argc >= 2 && strcmp(argv[1], "proxy") == 0)
      fputs(tc_dev_proxy_usage, stdout);
    else if (argc >= 2 && strcmp(argv[1], "load") == 0)
      fputs(tc_dev_load_usage, stdout);
    else
      fputs(dev_usage, stdout);
    return 0;
  }
  if (strcmp(argv[0], "mcp-stub") == 0)
    return tc_cmd_dev_mcp_stub(argc - 1, argv + 1);
  if (strcmp(argv[0], "control-plane") == 0)
    return tc_cmd_dev_control_plane(argc - 1, argv + 1);
  if (strcmp(argv[0], "proxy") == 0)
    return tc_cmd_dev_proxy(argc - 1, argv + 1);
  if (strcmp(argv[0], "load") == 0)
    return tc_cmd_dev_load(argc - 1, argv + 1);
  fprintf(stderr,
          "unknown dev command \"%.64s\"; run 'tunnel-client dev help' for the "
          "list\n",
          argv[0]);
  return 1;
}
