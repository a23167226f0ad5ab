/* cli/cmd_init.c — `tunnel-client init`: writes a first profile from a
 * sample (cmd_profiles_samples.c) after checking the flags, the rendered
 * profile (with the real loader) and, for a stdio server, that its program
 * can be executed. The file is 0600 in a 0700 directory and never replaces
 * an existing one without --force. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cmd_profiles.h"

const char tc_init_usage[] =
    "Usage: tunnel-client init --tunnel-id tunnel_... \\\n"
    "         (--mcp-server-url URL | --mcp-command \"CMD ARGS\") [flags]\n"
    "\n"
    "Writes a profile you can check with 'doctor' and start with 'run'.\n"
    "\n"
    "  --tunnel-id ID                 required: tunnel_ + 32 lowercase "
    "letters/digits\n"
    "  --mcp-server-url URL           an MCP server over HTTP(S)\n"
    "  --mcp-command \"CMD ARGS\"       a local MCP server over stdio (its "
    "program\n"
    "                                 must be executable; checked now)\n"
    "  --sample NAME                  default: sample_mcp_stdio_local when "
    "only\n"
    "                                 --mcp-command is given, else "
    "sample_mcp_with_dcr\n"
    "  --profile NAME                 default: sample_mcp_with_dcr\n"
    "  --profile-dir DIR              default: $TUNNEL_CLIENT_PROFILE_DIR,\n"
    "                                 $XDG_CONFIG_HOME/tunnel-client or\n"
    "                                 ~/.config/tunnel-client\n"
    "  --control-plane-base-url URL   default: https://api.openai.com\n"
    "  --control-plane-url-path PATH  default: none\n"
    "  --control-plane-api-key-ref REF  env:NAME or file:/path (default\n"
    "                                 env:CONTROL_PLANE_API_KEY); the key "
    "itself\n"
    "                                 is never written\n"
    "  --health-listen-addr HOST:PORT default: 127.0.0.1:8080\n"
    "  --open-web-ui                  open the web UI when the agent starts\n"
    "  --force                        replace an existing profile\n"
    "\n"
    "Samples: 'tunnel-client profiles samples list'.\n"
    "\n"
    "Examples:\n"
    "  tunnel-client init --tunnel-id tunnel_0123456789abcdef0123456789abcdef "
    "\\\n"
    "      --mcp-server-url https://mcp.example.com/mcp\n"
    "  tunnel-client init --profile local --tunnel-id tunnel_... \\\n"
    "      --mcp-command \"npx -y @modelcontextprotocol/server-everything\"\n";

static void print_next(const char *name, const char *flag_dir) {
  const char *d = flag_dir != NULL ? " --profile-dir " : "";
  const char *dv = flag_dir != NULL ? flag_dir : "";
  printf("Next:\n"
         "  export CONTROL_PLANE_API_KEY=...   # unless the key comes from a "
         "file: reference\n"
         "  tunnel-client doctor%s%s --profile %s\n"
         "  tunnel-client run%s%s --profile %s\n",
         d, dv, name, d, dv, name);
  printf("Canonical setup URLs:\n"
         "  tunnels:             "
         "https://platform.openai.com/settings/organization/tunnels\n"
         "  runtime API keys:    "
         "https://platform.openai.com/settings/organization/api-keys\n"
         "  admin API keys:      "
         "https://platform.openai.com/settings/organization/admin-keys\n"
         "  ChatGPT connectors:  https://chatgpt.com/#settings/Connectors\n");
  printf("Connector note: once 'tunnel-client health' reports OK, add a "
         "connector in ChatGPT for this tunnel; ChatGPT reaches your MCP "
         "server only through the running agent.\n");
}

int tc_cmd_init(int argc, char **argv) {
  if (tc_prof_wants_help(argc, argv)) {
    fputs(tc_init_usage, stdout);
    return 0;
  }
  struct tc_sample_values v;
  memset(&v, 0, sizeof(v));
  const char *sample_name = NULL, *profile = NULL, *dir = NULL;
  bool force = false;
  struct tc_prof_opt opts[] = {
      {"tunnel-id", &v.tunnel_id, NULL},
      {"mcp-server-url", &v.mcp_server_url, NULL},
      {"mcp-command", &v.mcp_command, NULL},
      {"sample", &sample_name, NULL},
      {"profile", &profile, NULL},
      {"profile-dir", &dir, NULL},
      {"control-plane-base-url", &v.base_url, NULL},
      {"control-plane-url-path", &v.url_path, NULL},
      {"control-plane-api-key-ref", &v.api_key_ref, NULL},
      {"health-listen-addr", &v.health_listen_addr, NULL},
      {"open-web-ui", NULL, &v.open_browser},
      {"force", NULL, &force},
      {NULL, NULL, NULL}};
  char **pos = NULL, *err = NULL;
  size_t npos = 0;
  if (tc_prof_parse(argc, argv, opts, &pos, &npos, &err) != 0)
    return tc_prof_fail("init", err);
  free(pos);
  if (npos > 0)
    return tc_prof_fail("init", strdup("unexpected argument (init takes only "
                                       "flags; see --help)"));
  if (sample_name == NULL)
    sample_name = (v.mcp_command != NULL && v.mcp_server_url == NULL)
                      ? "sample_mcp_stdio_local"
                      : TC_SAMPLE_DEFAULT;
  const struct tc_sample *s = tc_sample_find(sample_name);
  if (s == NULL) {
    char *e = NULL;
    if (asprintf(&e, "unknown sample \"%.80s\" (samples: %s)", sample_name,
                 tc_sample_names()) < 0)
      e = NULL;
    return tc_prof_fail("init", e);
  }
  if (profile == NULL)
    profile = TC_SAMPLE_DEFAULT;
  char *path = NULL, *note = NULL;
  if (tc_sample_write_profile(s, &v, dir, profile, force, true, &path, &note,
                              &err) != 0)
    return tc_prof_fail("init", err);
  printf("Created profile %s at %s\nSample: %s\n", profile, path, s->name);
  if (note != NULL)
    printf("Note: %s\n", note);
  print_next(profile, dir);
  free(path);
  free(note);
  return 0;
}
