/* cli/cmd_help.c — `help [topic|command]`, `version` and `--version`. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

const char *tc_version_string(void) {
  return TC_VERSION;
}

int tc_cmd_version(int argc, char **argv) {
  (void)argc;
  (void)argv;
  printf("%s\n", tc_version_string());
  return 0;
}

struct tc_help_entry {
  const char *name;
  const char *summary;
  const char *text;
};

static const struct tc_help_entry help_commands[] = {
    {"run", "run the agent in the foreground",
     "Usage: tunnel-client run [flags]\n"
     "\n"
     "Loads the configuration (flags > environment > profile > defaults) and\n"
     "the modules, polls the control plane and forwards each command to its\n"
     "MCP binding until SIGTERM or SIGINT. It then stops polling, lets work\n"
     "in flight finish (--shutdown.grace-period, default 15s), removes its\n"
     "URL and PID files and exits 0.\n"
     "\n"
     "Common flags:\n"
     "  --profile NAME | --profile-file FILE.yaml | --config FILE\n"
     "  --control-plane.tunnel-id tunnel_...   (CONTROL_PLANE_TUNNEL_ID)\n"
     "  --control-plane.api-key env:NAME|file:PATH (CONTROL_PLANE_API_KEY)\n"
     "  --mcp.server-url URL | --mcp.command \"CMD ARGS\"\n"
     "  --health.listen-addr 127.0.0.1:8080  --health.url-file F  --pid.file "
     "F\n"
     "  --log.level info  --log.format struct-text|json  --log.file F\n"
     "  --module NAME|PATH (repeatable)  --modules.dir DIR (repeatable)\n"
     "\n"
     "Embedded MCP stub (instead of --mcp.server-url/--mcp.command; the\n"
     "tunnel id and API key are still required):\n"
     "  --embedded-mcp-stub                  serve 'dev mcp-stub' in-process "
     "as\n"
     "                                       channel main\n"
     "  --embedded-mcp-listen-addr 127.0.0.1:0\n"
     "  --embedded-mcp-server-name mcp-stub  --embedded-mcp-server-version "
     "0.1.0\n"},
    {"modules", "list loaded modules or describe one",
     "Usage: tunnel-client modules list [--json]\n"
     "       tunnel-client modules describe NAME\n"
     "\n"
     "Modules are searched in --modules.dir, TUNNEL_CLIENT_MODULE_PATH, the\n"
     "build tree next to the binary, then the installed module directory.\n"},
    {"dev", "local stand-ins for a tunnel: MCP stub, control plane, proxy",
     "Usage: tunnel-client dev mcp-stub [--listen-addr 127.0.0.1:0] ...\n"
     "       tunnel-client dev control-plane [--listen 127.0.0.1:0] ...\n"
     "       tunnel-client dev proxy --embedded-mcp-stub|--mcp-server-url "
     "URL|\n"
     "         --mcp-command CMD|--profile NAME [--url-file F] ...\n"
     "\n"
     "mcp-stub runs a small Streamable HTTP MCP server (tools echo, "
     "uppercase,\n"
     "server_info) with OAuth metadata; control-plane runs an in-memory "
     "tunnel\n"
     "service; proxy runs that service and the agent in one process and "
     "prints\n"
     "the MCP URL to call. 'tunnel-client dev help COMMAND' lists each one's\n"
     "flags.\n"},
    {"help", "show help for a command or topic",
     "Usage: tunnel-client help [command|topic]\n"},
    {"version", "print the version", "Usage: tunnel-client version\n"},
    {"runtimes", "start and supervise background agents by alias",
     tc_runtimes_usage},
    {"admin", "manage tunnels with an admin key", tc_admin_usage},
    {"admin-profiles", "saved admin-key references for runtimes",
     tc_admin_profiles_usage},
};

static const struct tc_help_entry help_topics[] = {
    {"quickstart", "from nothing to a first MCP call",
     "Quickstart\n"
     "\n"
     "1. Put the runtime API key in the environment:\n"
     "     export CONTROL_PLANE_API_KEY=...\n"
     "2. Start the agent against your MCP server:\n"
     "     tunnel-client run --control-plane.tunnel-id tunnel_<32 chars> \\\n"
     "       --mcp.server-url http://127.0.0.1:3000/mcp \\\n"
     "       --health.listen-addr 127.0.0.1:0 --health.url-file /tmp/tc.url\n"
     "3. Check it:  curl \"$(cat /tmp/tc.url)/healthz\"\n"},
    {"samples", "the profile samples and what they are for",
     "Profiles are YAML files (config_version: 1) in the profile directory:\n"
     "--profile-dir, $TUNNEL_CLIENT_PROFILE_DIR, "
     "$XDG_CONFIG_HOME/tunnel-client\n"
     "or ~/.config/tunnel-client. Select one with --profile NAME.\n"},
    {"doctor", "how to diagnose a configuration",
     "Configuration errors are reported as one line naming the key, where it\n"
     "came from (flag, environment variable or file:line) and how to fix it.\n"
     "Run 'tunnel-client run' with the same flags to see the first problem.\n"},
    {"oauth", "OAuth-protected MCP servers",
     "Authorization and other connector headers are forwarded to the MCP\n"
     "server unchanged; Protected Resource Metadata is discovered from\n"
     "/.well-known/oauth-protected-resource/mcp.\n"},
    {"plugin", "writing a module (transport, hook, net, metrics sink)",
     "Modules are .so files built against the SDK headers <tc/...>:\n"
     "  pkg-config --cflags tunnel-client-sdk   (moduledir variable)\n"
     "  find_package(TunnelClientSDK) + tc_add_module(NAME SOURCES ...)\n"
     "Export one descriptor with TC_MODULE_DEFINE() and register vtables in\n"
     "init(). 'tunnel-client modules list' shows what loaded.\n"},
    {"troubleshooting", "common problems and their fixes",
     "- \"main channel is required\": set --mcp.server-url or --mcp.command.\n"
     "- \"address already in use\": choose another --health.listen-addr, or\n"
     "  port 0 with --health.url-file to learn the port.\n"
     "- A module is refused: 'tunnel-client modules list' names the file and\n"
     "  the rule; rebuild it against this version's SDK.\n"},
};

#define TC_COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void print_overview(void) {
  printf("tunnel-client %s — the customer-run agent of a Secure MCP Tunnel.\n"
         "It long-polls the tunnel service over outbound HTTPS and forwards "
         "each\nMCP command to your private MCP server.\n\n"
         "Usage: tunnel-client <command> [flags]\n\nCommands:\n",
         tc_version_string());
  for (size_t i = 0; i < TC_COUNT(help_commands); i++)
    printf("  %-12s %s\n", help_commands[i].name, help_commands[i].summary);
  printf("\nHelp topics (tunnel-client help TOPIC):\n");
  for (size_t i = 0; i < TC_COUNT(help_topics); i++)
    printf("  %-16s %s\n", help_topics[i].name, help_topics[i].summary);
  printf("\nFlags: --version, --help\n");
}

int tc_cmd_help(int argc, char **argv) {
  if (argc < 1) {
    print_overview();
    return 0;
  }
  const char *what = argv[0];
  for (size_t i = 0; i < TC_COUNT(help_topics); i++)
    if (strcmp(what, help_topics[i].name) == 0) {
      fputs(help_topics[i].text, stdout);
      return 0;
    }
  for (size_t i = 0; i < TC_COUNT(help_commands); i++)
    if (strcmp(what, help_commands[i].name) == 0) {
      fputs(help_commands[i].text, stdout);
      return 0;
    }
  fprintf(stderr, "unknown help topic \"%s\"; available topics:", what);
  for (size_t i = 0; i < TC_COUNT(help_topics); i++)
    fprintf(stderr, "%s %s", i ? "," : "", help_topics[i].name);
  fprintf(stderr, "\n");
  return 1;
}
