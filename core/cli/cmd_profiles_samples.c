/* cli/cmd_profiles_samples.c — the compiled-in sample profiles and their
 * rendering into profile YAML (see cmd_profiles.h). Every rendered sample
 * is a valid profile for the configuration loader (config_version 1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd_profiles.h"
#include "util/error.h"
#include "util/sbuf.h"

/* Sorted by name (`profiles samples list` prints them in this order). */
static const struct tc_sample samples[] = {
    {"sample_mcp_enterprise_proxy",
     "MCP server reached through a corporate proxy and private CA",
     "outbound traffic must go through an HTTPS proxy and TLS is inspected "
     "with a company certificate authority",
     "--tunnel-id, and --mcp-server-url or --mcp-command; at run time the "
     "environment variables HTTPS_PROXY and ENTERPRISE_CA_BUNDLE",
     "--control-plane-base-url, --control-plane-url-path, "
     "--control-plane-api-key-ref, --health-listen-addr, --open-web-ui",
     "http_proxy and ca_bundle are references (env:HTTPS_PROXY, "
     "env:ENTERPRISE_CA_BUNDLE): the agent refuses to start while either is "
     "unset or empty. ENTERPRISE_CA_BUNDLE holds the path of a PEM file.",
     TC_SAMPLE_URL_OR_COMMAND, true},
    {"sample_mcp_remote_no_auth",
     "remote MCP server over HTTP(S) without OAuth",
     "the MCP server is reachable from this machine and needs no sign-in",
     "--tunnel-id, --mcp-server-url",
     "--control-plane-base-url, --control-plane-url-path, "
     "--control-plane-api-key-ref, --health-listen-addr, --open-web-ui",
     "OAuth discovery finding nothing (404 everywhere) is fine: the agent "
     "still becomes ready.",
     TC_SAMPLE_URL, false},
    {"sample_mcp_stdio_local",
     "local MCP server started as a child process (stdio)",
     "the MCP server is a program on this machine that speaks MCP on stdin "
     "and stdout",
     "--tunnel-id, --mcp-command",
     "--control-plane-base-url, --control-plane-url-path, "
     "--control-plane-api-key-ref, --health-listen-addr, --open-web-ui",
     "The command is split like a shell would (quotes, backslashes) but run "
     "without a shell; its first word must be an executable on PATH or a "
     "path. No OAuth discovery happens for stdio servers.",
     TC_SAMPLE_COMMAND, false},
    {"sample_mcp_with_dcr",
     "MCP server protected by OAuth (dynamic client registration)",
     "the MCP server publishes OAuth metadata and ChatGPT signs users in "
     "through it; also the default of 'tunnel-client init'",
     "--tunnel-id, and exactly one of --mcp-server-url or --mcp-command",
     "--control-plane-base-url, --control-plane-url-path, "
     "--control-plane-api-key-ref, --health-listen-addr, --open-web-ui",
     "The agent forwards Authorization headers unchanged and discovers the "
     "server's metadata at /.well-known/oauth-protected-resource; see "
     "'tunnel-client help oauth'.",
     TC_SAMPLE_URL_OR_COMMAND, false},
};

#define N_SAMPLES (sizeof(samples) / sizeof(samples[0]))

size_t tc_sample_count(void) {
  return N_SAMPLES;
}

const struct tc_sample *tc_sample_at(size_t i) {
  return i < N_SAMPLES ? &samples[i] : NULL;
}

const struct tc_sample *tc_sample_find(const char *name) {
  for (size_t i = 0; name != NULL && i < N_SAMPLES; i++)
    if (strcmp(samples[i].name, name) == 0)
      return &samples[i];
  return NULL;
}

const char *tc_sample_names(void) {
  return "sample_mcp_enterprise_proxy, sample_mcp_remote_no_auth, "
         "sample_mcp_stdio_local, sample_mcp_with_dcr";
}

static bool given(const char *s) {
  return s != NULL && *s != '\0';
}

int tc_sample_check_target(const struct tc_sample *s,
                           const struct tc_sample_values *v, char **err) {
  bool url = given(v->mcp_server_url), cmd = given(v->mcp_command);
  switch (s->target) {
  case TC_SAMPLE_COMMAND:
    if (!cmd || url)
      return tc_set_error(err,
                          "sample %s needs --mcp-command and no "
                          "--mcp-server-url (a local stdio server)",
                          s->name);
    return 0;
  case TC_SAMPLE_URL:
    if (!url || cmd)
      return tc_set_error(err,
                          "sample %s needs --mcp-server-url and no "
                          "--mcp-command (a remote HTTP server)",
                          s->name);
    return 0;
  default:
    if (url == cmd)
      return tc_set_error(err,
                          "sample %s needs exactly one of --mcp-server-url "
                          "or --mcp-command",
                          s->name);
    return 0;
  }
}

/* A YAML double-quoted scalar. */
static void put_quoted(struct tc_sbuf *b, const char *s) {
  tc_sbuf_putc(b, '"');
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') {
      tc_sbuf_putc(b, '\\');
      tc_sbuf_putc(b, (char)*p);
    } else if (*p < 0x20 || *p == 0x7f) {
      tc_sbuf_printf(b, "\\x%02x", *p);
    } else {
      tc_sbuf_putc(b, (char)*p);
    }
  }
  tc_sbuf_putc(b, '"');
}

static void put_kv(struct tc_sbuf *b, const char *indent, const char *key,
                   const char *value) {
  tc_sbuf_printf(b, "%s%s: ", indent, key);
  put_quoted(b, value);
  tc_sbuf_putc(b, '\n');
}

char *tc_sample_render(const struct tc_sample *s,
                       const struct tc_sample_values *v) {
  struct tc_sbuf b = TC_SBUF_INIT;
  tc_sbuf_printf(&b,
                 "# tunnel-client profile written from %s:\n"
                 "# %s.\n"
                 "# Check it with 'tunnel-client doctor --profile NAME'.\n",
                 s->name, s->summary);
  if (s->enterprise)
    tc_sbuf_puts(&b,
                 "#\n"
                 "# Runtime API key: exported as CONTROL_PLANE_API_KEY where "
                 "the agent runs\n"
                 "# (never written into this file). Admin keys (for "
                 "'tunnel-client admin')\n"
                 "# are separate and are not needed to run the agent.\n");
  tc_sbuf_puts(&b, "config_version: 1\n");
  if (s->enterprise) {
    put_kv(&b, "", "ca_bundle", "env:ENTERPRISE_CA_BUNDLE");
    put_kv(&b, "", "http_proxy", "env:HTTPS_PROXY");
  }
  tc_sbuf_puts(&b, "control_plane:\n");
  put_kv(&b, "  ", "base_url",
         given(v->base_url) ? v->base_url : TC_DEFAULT_BASE_URL);
  if (given(v->url_path))
    put_kv(&b, "  ", "url_path", v->url_path);
  put_kv(&b, "  ", "tunnel_id",
         given(v->tunnel_id) ? v->tunnel_id : TC_SAMPLE_EXAMPLE_TUNNEL_ID);
  put_kv(&b, "  ", "api_key",
         given(v->api_key_ref) ? v->api_key_ref : TC_DEFAULT_API_KEY_REF);
  tc_sbuf_puts(&b, "health:\n");
  put_kv(&b, "  ", "listen_addr",
         given(v->health_listen_addr) ? v->health_listen_addr
                                      : TC_DEFAULT_HEALTH_ADDR);
  tc_sbuf_puts(&b, "  # url_file: \"/path/to/health.url\"  # where "
                   "'tunnel-client health --url-file' looks\n");
  tc_sbuf_printf(&b, "admin_ui:\n  open_browser: %s\n",
                 v->open_browser ? "true" : "false");
  tc_sbuf_puts(&b, "log:\n  level: info\n  format: json\n");
  tc_sbuf_puts(&b, "mcp:\n");
  if (given(v->mcp_command)) {
    tc_sbuf_puts(&b, "  commands:\n    - channel: main\n");
    put_kv(&b, "      ", "command", v->mcp_command);
  } else {
    tc_sbuf_puts(&b, "  server_urls:\n    - channel: main\n");
    put_kv(&b, "      ", "url",
           given(v->mcp_server_url) ? v->mcp_server_url
                                    : TC_SAMPLE_EXAMPLE_URL);
  }
  return tc_sbuf_finish(&b);
}
