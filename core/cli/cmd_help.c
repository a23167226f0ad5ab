/* cli/cmd_help.c — `help [topic|command]`, `version` and `--version`. */
#include <stdbool.h>
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
     "URL and PID files and exits 0. SIGHUP (kill -HUP, systemctl reload)\n"
     "re-reads the profile and its env:/file: references and applies what\n"
     "can change live (channels, headers, proxy, log level) without dropping\n"
     "a command; the rest is named as needing a restart.\n"
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
    {"init", "write a first profile from a sample", tc_init_usage},
    {"doctor", "check a configuration before running it", tc_doctor_usage},
    {"health", "ask a running agent whether it is healthy", tc_health_usage},
    {"profiles", "list, add, edit profiles; show the samples",
     tc_profiles_usage},
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

/* Help topics. Lines starting with "  $ " are commands that work as
 * printed once the exported values are real (the quickstart's paths are
 * run by tests/integration/cli_walkthrough.sh). */
static const struct tc_help_entry help_topics[] = {
    {"quickstart", "five ways from nothing to a running agent",
     "Quickstart\n"
     "\n"
     "Every path needs two values from platform.openai.com (tunnel list and\n"
     "runtime API keys, see 'tunnel-client help troubleshooting'):\n"
     "  $ export TUNNEL_ID=tunnel_0123456789abcdef0123456789abcdef\n"
     "  $ export CONTROL_PLANE_API_KEY=your-runtime-api-key\n"
     "The key stays in the environment; profiles only name it\n"
     "(env:CONTROL_PLANE_API_KEY).\n"
     "\n"
     "Path 1: try the built-in demo MCP server, no profile needed\n"
     "  $ tunnel-client run --embedded-mcp-stub --control-plane.tunnel-id "
     "\"$TUNNEL_ID\"\n"
     "\n"
     "Path 2: a local MCP server started over stdio (sample_mcp_stdio_local)\n"
     "  $ tunnel-client init --profile local --tunnel-id \"$TUNNEL_ID\" "
     "--mcp-command \"npx -y @modelcontextprotocol/server-everything\"\n"
     "\n"
     "Path 3: a remote MCP server without OAuth (sample_mcp_remote_no_auth)\n"
     "  $ tunnel-client init --profile remote --sample "
     "sample_mcp_remote_no_auth --tunnel-id \"$TUNNEL_ID\" --mcp-server-url "
     "https://mcp.example.com/mcp\n"
     "\n"
     "Path 4: behind a corporate proxy and CA (sample_mcp_enterprise_proxy)\n"
     "  $ tunnel-client init --profile corp --sample "
     "sample_mcp_enterprise_proxy --tunnel-id \"$TUNNEL_ID\" --mcp-server-url "
     "https://mcp.internal.example.com/mcp\n"
     "  then, where the agent runs: export HTTPS_PROXY=http://proxy:3128 and\n"
     "  ENTERPRISE_CA_BUNDLE=/path/to/company-ca.pem\n"
     "\n"
     "Path 5: the demo OAuth server with the default sample "
     "(sample_mcp_with_dcr)\n"
     "  $ tunnel-client dev mcp-stub --listen-addr 127.0.0.1:0 --url-file "
     "\"$HOME/mcp-stub.url\" &\n"
     "  $ until [ -s \"$HOME/mcp-stub.url\" ]; do sleep 0.2; done; export "
     "MCP_URL=\"$(cat \"$HOME/mcp-stub.url\")/mcp\"\n"
     "  $ tunnel-client init --profile demo --tunnel-id \"$TUNNEL_ID\" "
     "--mcp-server-url \"$MCP_URL\"\n"
     "\n"
     "Then, for the profile you made (demo here):\n"
     "  $ tunnel-client doctor --profile demo\n"
     "  $ tunnel-client run --profile demo --health.url-file "
     "\"$HOME/tc-health.url\" &\n"
     "  $ until [ -s \"$HOME/tc-health.url\" ]; do sleep 0.2; done; "
     "tunnel-client health --url-file \"$HOME/tc-health.url\"\n"
     "(health says FAIL while the agent is still starting: run it again.)\n"
     "\n"
     "Port 8080 taken? Add --health.listen-addr 127.0.0.1:0 to run (or export\n"
     "HEALTH_LISTEN_ADDR=127.0.0.1:0); the URL file tells the port.\n"},
    {"samples", "the sample profiles and when to use each",
     "Sample profiles\n"
     "\n"
     "  sample_mcp_with_dcr          OAuth-protected MCP server (the default)\n"
     "  sample_mcp_stdio_local       local server over stdio (--mcp-command)\n"
     "  sample_mcp_remote_no_auth    remote server, no OAuth "
     "(--mcp-server-url)\n"
     "  sample_mcp_enterprise_proxy  through HTTPS_PROXY with a private CA\n"
     "\n"
     "All write config_version 1, the control plane (tunnel id, API key as\n"
     "env:CONTROL_PLANE_API_KEY), health.listen_addr 127.0.0.1:8080, JSON\n"
     "logs and the MCP target as channel main. Profiles live in\n"
     "--profile-dir, $TUNNEL_CLIENT_PROFILE_DIR, "
     "$XDG_CONFIG_HOME/tunnel-client\n"
     "or ~/.config/tunnel-client, as NAME.yaml (dir 0700, file 0600).\n"
     "\n"
     "  $ tunnel-client profiles samples list\n"
     "  $ tunnel-client profiles samples show sample_mcp_stdio_local\n"
     "  $ tunnel-client profiles list\n"
     "\n"
     "Write one with 'tunnel-client init --sample NAME ...' or 'tunnel-client\n"
     "profiles add NAME --sample NAME ...'; change it with 'tunnel-client\n"
     "profiles edit NAME' (saved only when it is valid).\n"},
    {"doctor", "what doctor checks and how to read it",
     "doctor checks, in order (each PASS, FAIL or SKIP):\n"
     "  config_source          which profile/config file is used, if any\n"
     "  profile_load           the file can be read\n"
     "  (validation)           every setting; a failure names the key\n"
     "  tunnel_id              set and well-formed\n"
     "  control_plane_api_key  where the key comes from (never the key)\n"
     "  *_url                  where to get tunnels, keys, connectors\n"
     "  network_settings       modules, CA bundle, client certificates and\n"
     "                         proxies load as 'run' loads them\n"
     "  control_plane_reachable the control plane knows the tunnel id and\n"
     "                         accepts the key (GET /v1/tunnels/{id}, 10s)\n"
     "  mcp_target             the main channel's server\n"
     "  mcp_server_reachable   HTTP GET within 2s (any status is fine);\n"
     "                         stdio: the command starts and answers\n"
     "                         initialize within 10s (else its last\n"
     "                         stderr lines are shown)\n"
     "  mcp_command_executable stdio: the program is found and executable\n"
     "  oauth_metadata         PRMD then authorization server metadata "
     "(5s)\n"
     "  health_listener        the health address can be bound\n"
     "  ui                     where the web UI will be\n"
     "\n"
     "Output: one 'CHECK id STATUS summary' line each, then 'RESULT ok' and\n"
     "the run command, or 'RESULT fail', FAILED_CHECKS and exit status 2.\n"
     "--explain adds why, evidence and next steps for each non-PASS check;\n"
     "--json prints one object. doctor takes every flag 'run' takes and\n"
     "connects the way 'run' does (same CA bundle, client certificates and\n"
     "proxies); a TLS failure is named as one ('TLS: ...') with its fix.\n"
     "\n"
     "  $ tunnel-client doctor --profile demo --explain\n"
     "  $ tunnel-client doctor --json --profile demo\n"},
    {"oauth", "how OAuth-protected MCP servers work through the tunnel",
     "OAuth\n"
     "\n"
     "The agent does not sign anyone in: ChatGPT does, and the agent passes\n"
     "Authorization and the other connector headers to the MCP server\n"
     "unchanged. What must work is discovery, from this machine:\n"
     "  1. <origin>/.well-known/oauth-protected-resource/<path> (for\n"
     "     https://host/mcp that is "
     "/.well-known/oauth-protected-resource/mcp)\n"
     "     then /.well-known/oauth-protected-resource\n"
     "  2. authorization_servers[0] from that document, then its\n"
     "     /.well-known/oauth-authorization-server (RFC 8414)\n"
     "A server without OAuth answers 404 to all of these, which is fine.\n"
     "\n"
     "  $ tunnel-client doctor --profile demo --explain\n"
     "'dev mcp-stub' publishes both documents, for trying this locally.\n"},
    {"plugin", "writing a module (transport, hook, net, metrics sink)",
     "Modules\n"
     "\n"
     "A module is a .so built against the SDK headers <tc/...>:\n"
     "  pkg-config --cflags tunnel-client-sdk   (moduledir variable)\n"
     "  find_package(TunnelClientSDK) + tc_add_module(NAME SOURCES ...)\n"
     "It exports one descriptor with TC_MODULE_DEFINE() and registers its\n"
     "vtables in init(). Load extra ones with --module NAME|PATH and\n"
     "--modules.dir DIR.\n"
     "\n"
     "  $ tunnel-client modules list\n"
     "  $ tunnel-client modules describe mcp-http\n"},
    {"troubleshooting", "common problems and their fixes",
     "Troubleshooting\n"
     "\n"
     "Start with:\n"
     "  $ tunnel-client doctor --profile demo --explain\n"
     "\n"
     "- \"main channel is required\": set --mcp.server-url or --mcp.command\n"
     "  (mcp.server_urls / mcp.commands in a profile).\n"
     "- \"control plane API key is required\" or an unresolved "
     "env:CONTROL_PLANE_API_KEY:\n"
     "  export CONTROL_PLANE_API_KEY in the shell that starts the agent.\n"
     "- \"address already in use\": another --health.listen-addr, or port 0\n"
     "  with --health.url-file to learn the port.\n"
     "- health says readyz FAIL: the body says why (MCP server down, control\n"
     "  plane not reached, API key rejected, tunnel id unknown to the control\n"
     "  plane).\n"
     "- /ui or /api answers 403 \"the Host header does not name this\n"
     "  listener\": reach it by the address in the health URL file, or add\n"
     "  the name you use to --health.allowed-hosts (for dev control-plane,\n"
     "  dev proxy and dev mcp-stub: --allowed-hosts).\n"
     "- doctor says TLS: ...: the line names the certificate and the setting\n"
     "  to change (--ca-bundle, or the client certificate and key).\n"
     "- A profile is refused: the error names file:line and the key; unknown\n"
     "  keys are errors. Fix it with 'tunnel-client profiles edit NAME'.\n"
     "- A module is refused: 'tunnel-client modules list' names the file and\n"
     "  the rule; rebuild it against this version's SDK.\n"
     "\n"
     "Setup pages:\n"
     "  tunnels           "
     "https://platform.openai.com/settings/organization/tunnels\n"
     "  runtime API keys  "
     "https://platform.openai.com/settings/organization/api-keys\n"
     "  admin API keys    "
     "https://platform.openai.com/settings/organization/admin-keys\n"
     "  connectors        https://chatgpt.com/#settings/Connectors\n"},
};

#define TC_COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void print_overview(void) {
  printf("tunnel-client %s — the customer-run agent of a Secure MCP Tunnel.\n"
         "It long-polls the tunnel service over outbound HTTPS and forwards "
         "each\nMCP command to your private MCP server.\n\n"
         "Usage: tunnel-client <command> [flags]\n\nCommands:\n",
         tc_version_string());
  for (size_t i = 0; i < TC_COUNT(help_commands); i++)
    printf("  %-15s %s\n", help_commands[i].name, help_commands[i].summary);
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
  /* `CMD --help` names a command; `help NAME` prefers the topic. */
  bool command_first = argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
                                     strcmp(argv[1], "-h") == 0);
  for (size_t i = 0; command_first && i < TC_COUNT(help_commands); i++)
    if (strcmp(what, help_commands[i].name) == 0) {
      fputs(help_commands[i].text, stdout);
      return 0;
    }
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
