/* cli/cmd_doctor.c — `tunnel-client doctor [--explain] [--json] [config
 * flags]`: runs the preflight checks in a fixed order (config source,
 * profile file, full config load, tunnel id, API key, setup URLs, network
 * settings, control plane, MCP target, reachability or executable, OAuth
 * metadata, health listener, UI, Codex plugin) and prints one CHECK line
 * each, then RESULT. The network checks go through the modules and net
 * hooks `run` loads (cmd_doctor_stack.c), so a CA bundle, client
 * certificate or proxy that `run` would refuse or fail with fails here.
 * A failed run exits 2 and prints nothing on stderr; bad flags exit 1 with
 * one line. The API key is never printed: only where it comes from. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cmd_doctor.h"
#include "cli/cmd_profiles.h"
#include "config/config.h"
#include "config/profiles.h"
#include "loader/loader.h"
#include "util/redact.h"
#include "util/sbuf.h"

const char tc_doctor_usage[] =
    "Usage: tunnel-client doctor [--explain] [--json] [config flags]\n"
    "\n"
    "Checks a configuration before you run it, in this order: config source,\n"
    "profile file, config validation, tunnel id, API key (never printed),\n"
    "setup URLs, network settings (the modules, CA bundle, client\n"
    "certificates and proxies run would use), control plane reachable (GET\n"
    "/v1/tunnels/{id} with the key, 10s), MCP target, MCP server reachable\n"
    "(HTTP, 2s) or command executable (stdio), OAuth metadata (5s), health\n"
    "listener bind, web UI. Network checks connect the way 'run' does (same\n"
    "CA bundle, client certificates and proxies) and name TLS failures.\n"
    "Takes the same configuration flags, environment and profiles as 'run'.\n"
    "\n"
    "  --explain   add why it matters, evidence and next steps to each\n"
    "              check that did not pass\n"
    "  --json      one JSON object: result, failed_checks, next, checks[]\n"
    "\n"
    "Exit status: 0 all checks passed or skipped, 2 a check failed,\n"
    "1 the command line itself is wrong.\n"
    "\n"
    "Examples:\n"
    "  tunnel-client doctor --profile sample_mcp_with_dcr\n"
    "  tunnel-client doctor --profile work --explain\n"
    "  tunnel-client doctor --json --control-plane.tunnel-id tunnel_... \\\n"
    "      --mcp.server-url http://127.0.0.1:3000/mcp\n";

enum { PASS = 0, FAIL = 1, SKIP = 2 };
static const char *const status_name[] = {"PASS", "FAIL", "SKIP"};

#define MAX_CHECKS 20
/* How long a stdio MCP server gets to answer doctor's initialize. */
#define DOCTOR_STDIO_TIMEOUT_MS 10000
#define MAX_LINES 8

struct check {
  const char *id;
  int status;
  char *summary;
  char *evidence[MAX_LINES];
  size_t n_evidence;
  char *next[MAX_LINES];
  size_t n_next;
};

struct report {
  struct check checks[MAX_CHECKS];
  size_t n;
};

static const struct {
  const char *id;
  const char *why;
} whys[] = {
    {"config_source",
     "The agent takes its settings from at most one profile or config file "
     "plus flags and environment; a conflicting or missing source means it "
     "would not run with the settings you meant."},
    {"profile_load",
     "The selected profile must exist, be readable and follow the profile "
     "schema exactly: unknown keys are refused so a typo cannot go "
     "unnoticed."},
    {"config_validation",
     "Every setting is checked before start; the agent refuses to run with "
     "an invalid one."},
    {"tunnel_id",
     "The tunnel id names the tunnel this agent serves; without a valid one "
     "the control plane cannot hand it any MCP traffic."},
    {"control_plane_api_key",
     "The runtime API key authenticates every poll to the control plane; "
     "without it no request reaches your MCP server."},
    {"control_plane_base_url",
     "The agent polls the control plane at this URL; a wrong value means no "
     "traffic arrives."},
    {"network_settings",
     "The agent loads its modules and applies the CA bundle, client "
     "certificates and proxies to every connection it makes; a bundle or "
     "certificate it cannot use stops it at start."},
    {"control_plane_reachable",
     "The agent polls the control plane for this tunnel with this key; "
     "unless the service is reachable and accepts both, no MCP request "
     "reaches your server."},
    {"mcp_target",
     "The main channel needs an MCP server to forward to: an HTTP(S) URL or "
     "a local command."},
    {"mcp_server_reachable",
     "Each MCP request is forwarded to this server; when this machine cannot "
     "reach it (HTTP), or the server process does not start and answer "
     "initialize (stdio), every tool call fails."},
    {"mcp_command_executable",
     "The agent starts this program and speaks MCP over its stdin and "
     "stdout; when it cannot be executed the channel never becomes ready."},
    {"oauth_metadata",
     "ChatGPT learns how to sign users in from the server's OAuth metadata; "
     "broken metadata makes connecting fail even when the tunnel works."},
    {"health_listener",
     "The health listener serves /healthz, /readyz, the web UI and metrics; "
     "when its address cannot be bound the agent does not start."},
    {"ui", "The local web UI shows status and logs; the health listener "
           "serves it."},
    {"codex_plugin",
     "Codex integration is not part of this client; nothing to check."},
};

static const char *why_of(const char *id) {
  for (size_t i = 0; i < sizeof(whys) / sizeof(whys[0]); i++)
    if (strcmp(whys[i].id, id) == 0)
      return whys[i].why;
  return "";
}

static char *vfmt(const char *fmt, va_list ap) TC_PRINTF(1, 0);
static char *vfmt(const char *fmt, va_list ap) {
  char *s = NULL;
  if (vasprintf(&s, fmt, ap) < 0)
    return NULL;
  /* Anything that came from the config goes through the redactor. */
  char *clean = tc_redact(s);
  free(s);
  return clean;
}

static struct check *add(struct report *r, const char *id, int status,
                         const char *fmt, ...) TC_PRINTF(4, 5);
static struct check *add(struct report *r, const char *id, int status,
                         const char *fmt, ...) {
  static struct check overflow;
  if (r->n >= MAX_CHECKS)
    return &overflow;
  struct check *c = &r->checks[r->n++];
  memset(c, 0, sizeof(*c));
  c->id = id;
  c->status = status;
  va_list ap;
  va_start(ap, fmt);
  c->summary = vfmt(fmt, ap);
  va_end(ap);
  return c;
}

static void ev(struct check *c, const char *fmt, ...) TC_PRINTF(2, 3);
static void ev(struct check *c, const char *fmt, ...) {
  if (c->n_evidence >= MAX_LINES)
    return;
  va_list ap;
  va_start(ap, fmt);
  char *s = vfmt(fmt, ap);
  va_end(ap);
  if (s != NULL)
    c->evidence[c->n_evidence++] = s;
}

static void nx(struct check *c, const char *fmt, ...) TC_PRINTF(2, 3);
static void nx(struct check *c, const char *fmt, ...) {
  if (c->n_next >= MAX_LINES)
    return;
  va_list ap;
  va_start(ap, fmt);
  char *s = vfmt(fmt, ap);
  va_end(ap);
  if (s != NULL)
    c->next[c->n_next++] = s;
}

static void report_free(struct report *r) {
  for (size_t i = 0; i < r->n; i++) {
    struct check *c = &r->checks[i];
    free(c->summary);
    for (size_t j = 0; j < c->n_evidence; j++)
      free(c->evidence[j]);
    for (size_t j = 0; j < c->n_next; j++)
      free(c->next[j]);
  }
}

/* ---- the command line ---------------------------------------------------- */

struct doctor_args {
  bool json, explain;
  struct tc_profile_flags pf;
  /* argv without --json/--explain, for the loader and the NEXT line */
  char **rest;
  int nrest;
};

static bool is_bool_flag(const char *a, const char *name, bool *val) {
  size_t n = strlen(name);
  if (strncmp(a, "--", 2) != 0 || strncmp(a + 2, name, n) != 0)
    return false;
  const char *tail = a + 2 + n;
  if (*tail == '\0') {
    *val = true;
    return true;
  }
  if (strcmp(tail, "=true") == 0 || strcmp(tail, "=1") == 0) {
    *val = true;
    return true;
  }
  if (strcmp(tail, "=false") == 0 || strcmp(tail, "=0") == 0) {
    *val = false;
    return true;
  }
  return false;
}

/* The value of --name given as "--name V" or "--name=V" at argv[*i]. */
static bool value_flag(int argc, char **argv, int *i, const char *name,
                       const char **out) {
  const char *a = argv[*i];
  size_t n = strlen(name);
  if (strncmp(a, "--", 2) != 0 || strncmp(a + 2, name, n) != 0)
    return false;
  if (a[2 + n] == '=') {
    *out = a + 3 + n;
    return true;
  }
  if (a[2 + n] == '\0' && *i + 1 < argc) {
    *out = argv[++*i];
    return true;
  }
  return false;
}

static int parse_args(int argc, char **argv, struct doctor_args *a) {
  memset(a, 0, sizeof(*a));
  a->rest = calloc((size_t)argc + 1, sizeof(char *));
  if (a->rest == NULL)
    return -1;
  for (int i = 0; i < argc; i++) {
    bool b = false;
    if (is_bool_flag(argv[i], "json", &b)) {
      a->json = b;
      continue;
    }
    if (is_bool_flag(argv[i], "explain", &b)) {
      a->explain = b;
      continue;
    }
    int start = i;
    const char *v = NULL;
    if (value_flag(argc, argv, &i, "config", &v))
      a->pf.config = v;
    else if (value_flag(argc, argv, &i, "profile", &v))
      a->pf.profile = v;
    else if (value_flag(argc, argv, &i, "profile-file", &v))
      a->pf.profile_file = v;
    else if (value_flag(argc, argv, &i, "profile-dir", &v))
      a->pf.profile_dir = v;
    for (int j = start; j <= i; j++)
      a->rest[a->nrest++] = argv[j];
  }
  return 0;
}

/* Errors of the command line itself (not of the configuration). */
static bool usage_error(const char *err) {
  static const char *const prefixes[] = {
      "unknown flag",        "flag --",        "invalid boolean in --",
      "unexpected argument", "malformed flag", NULL};
  for (const char *const *p = prefixes; *p != NULL; p++)
    if (strncmp(err, *p, strlen(*p)) == 0)
      return true;
  return false;
}

/* ---- checks -------------------------------------------------------------- */

static void url_checks(struct report *r) {
  add(r, "tunnels_management_url", PASS,
      "https://platform.openai.com/settings/organization/tunnels");
  add(r, "runtime_api_keys_url", PASS,
      "https://platform.openai.com/settings/organization/api-keys");
  add(r, "admin_api_keys_url", PASS,
      "https://platform.openai.com/settings/organization/admin-keys");
  add(r, "chatgpt_connector_settings_url", PASS,
      "https://chatgpt.com/#settings/Connectors");
}

static void codex_check(struct report *r) {
  add(r, "codex_plugin", SKIP,
      "not applicable: this client has no Codex integration");
}

static const char *env_set(const char *name) {
  const char *v = getenv(name);
  return v != NULL && *v != '\0' ? v : NULL;
}

/* The selection as the user sees it, e.g. "--profile work". */
static char *describe_source(const struct tc_profile_flags *pf,
                             const char *path) {
  char *s = NULL;
  int n = -1;
  if (pf->config != NULL)
    n = asprintf(&s, "--config %s", pf->config);
  else if (pf->profile != NULL)
    n = asprintf(&s, "--profile %s (%s)", pf->profile, path);
  else if (pf->profile_file != NULL)
    n = asprintf(&s, "--profile-file %s", pf->profile_file);
  else if (env_set("TUNNEL_CLIENT_CONFIG"))
    n = asprintf(&s, "TUNNEL_CLIENT_CONFIG=%s", path);
  else if (env_set("TUNNEL_CLIENT_PROFILE"))
    n = asprintf(&s, "TUNNEL_CLIENT_PROFILE=%s (%s)",
                 getenv("TUNNEL_CLIENT_PROFILE"), path);
  else if (env_set("TUNNEL_CLIENT_PROFILE_FILE"))
    n = asprintf(&s, "TUNNEL_CLIENT_PROFILE_FILE=%s", path);
  else
    n = asprintf(&s, "no profile: flags, environment and defaults only");
  return n < 0 ? NULL : s;
}

static bool contains(const char *s, const char *needle) {
  return s != NULL && strstr(s, needle) != NULL;
}

/* Which check a configuration error belongs to. */
static const char *map_load_error(const char *err, const char *profile_path) {
  /* The strict reader's errors start with "<file>:<line>: ". */
  size_t pl = profile_path != NULL ? strlen(profile_path) : 0;
  if (pl > 0 && strncmp(err, profile_path, pl) == 0 && err[pl] == ':')
    return "profile_load";
  if (contains(err, "tunnel_id") || contains(err, "tunnel-id") ||
      contains(err, "tunnel id"))
    return "tunnel_id";
  if (contains(err, "api_key") || contains(err, "api-key") ||
      contains(err, "API key") || contains(err, "OPENAI_API_KEY"))
    return "control_plane_api_key";
  if (contains(err, "base_url") || contains(err, "base-url") ||
      contains(err, "base URL"))
    return "control_plane_base_url";
  if (contains(err, "mcp.server") || contains(err, "mcp.command") ||
      contains(err, "MCP server URL") || contains(err, "MCP command") ||
      contains(err, "main channel") || contains(err, "server_urls") ||
      contains(err, "commands"))
    return "mcp_target";
  return "config_validation";
}

static const char *origin_of(const struct tc_config *cfg, const char *key) {
  for (size_t i = 0; i < cfg->effective.count; i++)
    if (strcmp(cfg->effective.items[i].key, key) == 0)
      return cfg->effective.items[i].origin;
  return NULL;
}

static const struct tc_binding_cfg *main_binding(const struct tc_config *cfg) {
  for (size_t i = 0; i < cfg->binding_count; i++)
    if (strcmp(cfg->bindings[i].channel, "main") == 0)
      return &cfg->bindings[i];
  return NULL;
}

/* The API key's source, never its value. */
static char *key_source(const struct doctor_args *a,
                        const struct tc_config *cfg) {
  const char *flag = NULL;
  for (int i = 0; i < a->nrest; i++) {
    int j = i;
    if (value_flag(a->nrest, a->rest, &j, "control-plane.api-key", &flag) ||
        value_flag(a->nrest, a->rest, &j, "control-plane-api-key", &flag))
      i = j;
  }
  char *s = NULL;
  int n;
  if (flag != NULL &&
      (strncmp(flag, "env:", 4) == 0 || strncmp(flag, "file:", 5) == 0))
    n = asprintf(&s, "%s (--control-plane.api-key)", flag);
  else if (env_set("CONTROL_PLANE_API_KEY"))
    n = asprintf(&s, "env:CONTROL_PLANE_API_KEY");
  else if (origin_of(cfg, "control_plane.api_key") != NULL &&
           strcmp(origin_of(cfg, "control_plane.api_key"), "OPENAI_API_KEY") ==
               0)
    n = asprintf(&s, "env:OPENAI_API_KEY");
  else
    n = asprintf(&s, "configured (%s)",
                 origin_of(cfg, "control_plane.api_key")
                     ? origin_of(cfg, "control_plane.api_key")
                     : "profile");
  return n < 0 ? NULL : s;
}

static bool progress_enabled(const struct doctor_args *a) {
  return !a->json && isatty(STDERR_FILENO);
}

/* A check from a probe's result: its summary and evidence and, when it
 * did not pass, its specific next steps, or `generic` (NULL-terminated)
 * when the probe has none. */
static struct check *add_probe(struct report *r, const char *id,
                               const struct tc_probe_result *pr,
                               const char *const *generic) {
  struct check *c =
      add(r, id, pr->ok ? PASS : FAIL, "%s", pr->summary ? pr->summary : "");
  for (size_t i = 0; i < pr->n_evidence; i++)
    ev(c, "%s", pr->evidence[i]);
  if (!pr->ok) {
    for (size_t i = 0; i < pr->n_next; i++)
      nx(c, "%s", pr->next[i]);
    for (size_t i = 0; pr->n_next == 0 && generic != NULL && generic[i] != NULL;
         i++)
      nx(c, "%s", generic[i]);
  }
  return c;
}

static void check_http_target(struct report *r, const struct doctor_args *a,
                              const struct tc_config *cfg,
                              const struct tc_binding_cfg *b,
                              const struct tc_registry *reg) {
  if (reg == NULL) {
    struct check *c = add(r, "mcp_server_reachable", SKIP,
                          "not checked: the agent would not start (see "
                          "network_settings)");
    nx(c, "Fix network_settings first");
    c = add(r, "oauth_metadata", SKIP,
            "not checked: the agent would not start (see network_settings)");
    nx(c, "Fix network_settings first");
    return;
  }
  struct tc_probe_result pr;
  struct tc_progress *p =
      tc_progress_start("mcp_server_reachable", progress_enabled(a));
  tc_probe_mcp_reachable(cfg, b, reg, &pr);
  tc_progress_stop(p);
  static const char *const reach_next[] = {
      "Start the MCP server, or fix the URL in mcp.server_urls / "
      "--mcp.server-url",
      "From this machine, try: curl -sS -o /dev/null -w '%{http_code}\\n' "
      "<the MCP URL>",
      NULL};
  add_probe(r, "mcp_server_reachable", &pr, reach_next);
  bool reachable = pr.ok;
  tc_probe_result_free(&pr);
  if (!reachable) {
    struct check *c = add(r, "oauth_metadata", SKIP,
                          "not checked: the MCP server is not reachable (see "
                          "mcp_server_reachable)");
    nx(c, "Fix mcp_server_reachable first");
    return;
  }

  p = tc_progress_start("oauth_metadata", progress_enabled(a));
  tc_probe_oauth_metadata(cfg, b, reg, &pr);
  tc_progress_stop(p);
  static const char *const oauth_next[] = {
      "Make /.well-known/oauth-protected-resource on the MCP server return "
      "its metadata, or 404 when it does not use OAuth",
      "Read 'tunnel-client help oauth' for the discovery order", NULL};
  add_probe(r, "oauth_metadata", &pr, oauth_next);
  tc_probe_result_free(&pr);
}

/* network_settings, then control_plane_reachable. Returns the registry the
 * MCP checks connect through, or NULL when the agent would not start. */
static const struct tc_registry *check_network(struct report *r,
                                               const struct doctor_args *a,
                                               const struct tc_config *cfg,
                                               struct tc_registry *reg) {
  struct tc_probe_result pr;
  tc_probe_network_stack(cfg, reg, &pr);
  add_probe(r, "network_settings", &pr, NULL);
  bool stack_ok = pr.ok;
  tc_probe_result_free(&pr);

  const char *why = NULL;
  bool creds = cfg->cp_tunnel_id != NULL &&
               tc_validate_tunnel_id(cfg->cp_tunnel_id, &why) == 0 &&
               cfg->cp_api_key != NULL && cfg->cp_api_key[0] != '\0';
  if (!stack_ok) {
    struct check *c =
        add(r, "control_plane_reachable", SKIP,
            "not checked: the agent would not start (see network_settings)");
    nx(c, "Fix network_settings first");
    return NULL;
  }
  if (!creds) {
    struct check *c = add(r, "control_plane_reachable", SKIP,
                          "not checked: needs a valid tunnel id and API key");
    nx(c, "Fix tunnel_id and control_plane_api_key first");
    return reg;
  }
  struct tc_progress *p =
      tc_progress_start("control_plane_reachable", progress_enabled(a));
  tc_probe_control_plane(cfg, reg, &pr);
  tc_progress_stop(p);
  add_probe(r, "control_plane_reachable", &pr, NULL);
  tc_probe_result_free(&pr);
  return reg;
}

static void check_stdio_target(struct report *r, const struct doctor_args *a,
                               const struct tc_config *cfg,
                               const struct tc_binding_cfg *b) {
  char *resolved = NULL, *err = NULL;
  bool runnable = tc_exec_preflight(b->command, &resolved, &err) == 0;
  if (runnable) {
    struct check *c =
        add(r, "mcp_command_executable", PASS, "will start %s", resolved);
    (void)c;
  } else {
    struct check *c = add(r, "mcp_command_executable", FAIL, "%s",
                          err ? err : "out of memory");
    ev(c, "PATH=%s", getenv("PATH") ? getenv("PATH") : "(unset)");
    nx(c, "Install the program, or write its full path in the command");
    nx(c, "Check it by hand: it should start and wait for MCP messages on "
          "stdin");
  }
  free(resolved);
  free(err);
  if (!runnable) {
    add(r, "mcp_server_reachable", SKIP, "the command cannot start");
  } else {
    struct tc_probe_result pr;
    struct tc_progress *p =
        tc_progress_start("mcp_server_reachable", progress_enabled(a));
    tc_probe_stdio_start(cfg, b, DOCTOR_STDIO_TIMEOUT_MS, &pr);
    tc_progress_stop(p);
    struct check *c = add(r, "mcp_server_reachable", pr.ok ? PASS : FAIL, "%s",
                          pr.summary ? pr.summary : "");
    for (size_t i = 0; i < pr.n_evidence; i++)
      ev(c, "%s", pr.evidence[i]);
    if (!pr.ok) {
      nx(c, "Run the command by hand: it should wait for JSON-RPC on stdin "
            "and answer {\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
            "\"initialize\",...} on stdout");
      nx(c, "The stderr lines above are the server's own; a server fetched "
            "by npx or uvx may need one run by hand to install");
      nx(c, "A server that needs a variable the agent withholds (e.g. "
            "OPENAI_API_KEY) gets it with --mcp.command-pass-env NAME");
    }
    tc_probe_result_free(&pr);
  }
  add(r, "oauth_metadata", SKIP, "stdio server: no OAuth discovery");
}

static void check_loaded(struct report *r, const struct doctor_args *a,
                         const struct tc_config *cfg) {
  const char *why = NULL;
  if (cfg->cp_tunnel_id != NULL &&
      tc_validate_tunnel_id(cfg->cp_tunnel_id, &why) == 0) {
    struct check *c = add(r, "tunnel_id", PASS, "%s", cfg->cp_tunnel_id);
    ev(c, "from %s",
       origin_of(cfg, "control_plane.tunnel_id")
           ? origin_of(cfg, "control_plane.tunnel_id")
           : "?");
  } else {
    struct check *c = add(r, "tunnel_id", FAIL, "not set");
    ev(c, "none of --control-plane.tunnel-id, CONTROL_PLANE_TUNNEL_ID or "
          "control_plane.tunnel_id is set");
    nx(c, "Copy the tunnel id (tunnel_...) from "
          "https://platform.openai.com/settings/organization/tunnels");
    nx(c, "Set it with --control-plane.tunnel-id, CONTROL_PLANE_TUNNEL_ID or "
          "control_plane.tunnel_id in the profile");
  }

  if (cfg->cp_api_key != NULL && *cfg->cp_api_key != '\0') {
    char *src = key_source(a, cfg);
    struct check *c =
        add(r, "control_plane_api_key", PASS, "%s", src ? src : "configured");
    ev(c, "the key itself is not shown");
    free(src);
  } else {
    struct check *c = add(r, "control_plane_api_key", FAIL, "not set");
    ev(c, "CONTROL_PLANE_API_KEY and OPENAI_API_KEY are unset and no "
          "control_plane.api_key is configured");
    nx(c, "Create a runtime API key at "
          "https://platform.openai.com/settings/organization/api-keys");
    nx(c, "export CONTROL_PLANE_API_KEY=... in the shell that starts the "
          "agent");
  }

  url_checks(r);

  struct tc_registry stack;
  memset(&stack, 0, sizeof(stack));
  const struct tc_registry *reg = check_network(r, a, cfg, &stack);

  const struct tc_binding_cfg *b = main_binding(cfg);
  if (b == NULL && cfg->binding_count > 0)
    b = &cfg->bindings[0];
  if (b == NULL) {
    struct check *c = add(r, "mcp_target", FAIL, "no MCP server configured");
    ev(c, "main channel is required");
    nx(c, "Add --mcp.server-url URL or --mcp.command \"CMD ARGS\" (or "
          "mcp.server_urls / mcp.commands in the profile)");
    add(r, "mcp_server_reachable", SKIP, "no MCP target");
    add(r, "oauth_metadata", SKIP, "no MCP target");
  } else if (b->url != NULL) {
    char origin[256];
    struct check *c = add(r, "mcp_target", PASS, "channel %s -> %s", b->channel,
                          tc_url_origin(b->url, origin, sizeof(origin)));
    ev(c, "transport http");
    check_http_target(r, a, cfg, b, reg);
  } else {
    char **argv = NULL;
    const char *w = NULL;
    int ok = b->command != NULL && tc_exec_split(b->command, &argv, &w) == 0;
    struct check *c = add(r, "mcp_target", PASS, "channel %s -> stdio %s",
                          b->channel, ok ? argv[0] : "(command)");
    ev(c, "transport stdio");
    tc_exec_argv_free(argv);
    check_stdio_target(r, a, cfg, b);
  }

  char *ui_url = NULL;
  struct tc_probe_result pr;
  tc_probe_health_bind(cfg, &pr, &ui_url);
  struct check *c = add(r, "health_listener", pr.ok ? PASS : FAIL, "%s",
                        pr.summary ? pr.summary : "");
  for (size_t i = 0; i < pr.n_evidence; i++)
    ev(c, "%s", pr.evidence[i]);
  if (!pr.ok) {
    nx(c, "Choose a free address: --health.listen-addr 127.0.0.1:0 with "
          "--health.url-file FILE");
    nx(c, "See what holds the port: ss -ltnp");
    struct check *u = add(r, "ui", SKIP, "health listener check failed");
    nx(u, "Fix health_listener first");
  } else if (ui_url != NULL) {
    add(r, "ui", PASS, "%s", ui_url);
  } else {
    add(r, "ui", PASS, "served at <health URL>/ui once the agent runs");
  }
  free(ui_url);
  tc_probe_result_free(&pr);
  codex_check(r);
  tc_doctor_stack_release(&stack);
}

/* ---- output -------------------------------------------------------------- */

static bool shell_safe(const char *s) {
  if (*s == '\0')
    return false;
  for (const char *p = s; *p; p++)
    if (!(('a' <= *p && *p <= 'z') || ('A' <= *p && *p <= 'Z') ||
          ('0' <= *p && *p <= '9') || strchr("-_./:=,@%+", *p)))
      return false;
  return true;
}

static char *next_command(const struct doctor_args *a) {
  struct tc_sbuf b = TC_SBUF_INIT;
  tc_sbuf_puts(&b, "tunnel-client run");
  for (int i = 0; i < a->nrest; i++) {
    const char *w = a->rest[i];
    tc_sbuf_putc(&b, ' ');
    if (shell_safe(w)) {
      tc_sbuf_puts(&b, w);
      continue;
    }
    tc_sbuf_putc(&b, '\'');
    for (const char *p = w; *p; p++)
      if (*p == '\'')
        tc_sbuf_puts(&b, "'\\''");
      else
        tc_sbuf_putc(&b, *p);
    tc_sbuf_putc(&b, '\'');
  }
  char *s = tc_sbuf_finish(&b);
  char *clean = s ? tc_redact(s) : NULL;
  free(s);
  return clean;
}

static int print_report(const struct report *r, const struct doctor_args *a) {
  bool failed = false;
  for (size_t i = 0; i < r->n; i++)
    failed = failed || r->checks[i].status == FAIL;
  char *next = failed ? NULL : next_command(a);
  if (a->json) {
    json_t *o = json_object(), *fc = json_array(), *checks = json_array();
    for (size_t i = 0; i < r->n; i++) {
      const struct check *c = &r->checks[i];
      if (c->status == FAIL)
        json_array_append_new(fc, json_string(c->id));
      json_t *e = json_array(), *n = json_array();
      for (size_t j = 0; j < c->n_evidence; j++)
        json_array_append_new(e, json_string(c->evidence[j]));
      for (size_t j = 0; j < c->n_next; j++)
        json_array_append_new(n, json_string(c->next[j]));
      json_array_append_new(
          checks, json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "id", c->id,
                            "status", status_name[c->status], "summary",
                            c->summary ? c->summary : "", "why", why_of(c->id),
                            "evidence", e, "next", n));
    }
    json_object_set_new(o, "result", json_string(failed ? "fail" : "ok"));
    json_object_set_new(o, "failed_checks", fc);
    json_object_set_new(o, "next", next ? json_string(next) : json_null());
    json_object_set_new(o, "checks", checks);
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text != NULL)
      printf("%s\n", text);
    free(text);
    json_decref(o);
  } else {
    for (size_t i = 0; i < r->n; i++) {
      const struct check *c = &r->checks[i];
      printf("CHECK %-24s %-4s %s\n", c->id, status_name[c->status],
             c->summary ? c->summary : "");
    }
    for (size_t i = 0; a->explain && i < r->n; i++) {
      const struct check *c = &r->checks[i];
      if (c->status == PASS)
        continue;
      printf("\nCHECK %s   %s\nWhy this matters: %s\nEvidence:\n", c->id,
             status_name[c->status], why_of(c->id));
      if (c->n_evidence == 0)
        printf("  - %s\n", c->summary ? c->summary : "");
      for (size_t j = 0; j < c->n_evidence; j++)
        printf("  - %s\n", c->evidence[j]);
      printf("What to do next:\n");
      if (c->n_next == 0)
        printf("  1. nothing to do\n");
      for (size_t j = 0; j < c->n_next; j++)
        printf("  %zu. %s\n", j + 1, c->next[j]);
    }
    printf("\n");
    if (!failed) {
      printf("RESULT ok\nNEXT   %s\n", next ? next : "tunnel-client run");
    } else {
      printf("RESULT fail\nFAILED_CHECKS ");
      bool first = true;
      for (size_t i = 0; i < r->n; i++)
        if (r->checks[i].status == FAIL) {
          printf("%s%s", first ? "" : ",", r->checks[i].id);
          first = false;
        }
      printf("\nEXIT_CODE 2\n");
    }
  }
  fflush(stdout);
  free(next);
  return failed ? 2 : 0;
}

int tc_cmd_doctor(int argc, char **argv) {
  if (tc_prof_wants_help(argc, argv)) {
    fputs(tc_doctor_usage, stdout);
    return 0;
  }
  struct doctor_args a;
  if (parse_args(argc, argv, &a) != 0)
    return tc_prof_fail("doctor", NULL);
  struct report rep;
  memset(&rep, 0, sizeof(rep));
  struct tc_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  char *err = NULL, *path = NULL, *name = NULL;
  int rc;

  /* 1. config source */
  if (tc_profile_select(&a.pf, &path, &name, &err) != 0) {
    struct check *c =
        add(&rep, "config_source", FAIL, "%s", err ? err : "out of memory");
    nx(c, "Use one of --config, --profile or --profile-file (or one "
          "TUNNEL_CLIENT_CONFIG / _PROFILE / _PROFILE_FILE variable)");
    nx(c, "List profiles: tunnel-client profiles list");
    nx(c, "Create one: tunnel-client init --tunnel-id tunnel_... "
          "--mcp-server-url URL");
    url_checks(&rep);
    goto out;
  }
  char *src = describe_source(&a.pf, path);
  struct check *c = add(&rep, "config_source", PASS, "%s", src ? src : "");
  free(src);
  if (name != NULL) {
    char *dir = NULL, *derr = NULL;
    if (tc_profile_dir(a.pf.profile_dir, &dir, &derr) == 0)
      ev(c, "profile directory %s", dir);
    free(dir);
    free(derr);
  }

  /* 2. profile file */
  if (path != NULL) {
    char *text = NULL;
    if (tc_profile_read_text(path, &text, &err) != 0) {
      c = add(&rep, "profile_load", FAIL, "%s", err ? err : "out of memory");
      nx(c, "Check the path and its permissions");
      nx(c, "Create it: tunnel-client init --profile NAME --tunnel-id "
            "tunnel_... --mcp-server-url URL");
      url_checks(&rep);
      goto out;
    }
    add(&rep, "profile_load", PASS, "read %s (%zu bytes)", path, strlen(text));
    free(text);
  } else {
    add(&rep, "profile_load", SKIP, "no profile selected");
  }

  /* 3. the whole configuration */
  struct tc_cmd_flag extra[] = {{NULL, false, NULL, NULL}};
  free(err);
  err = NULL;
  if (tc_config_load(&cfg, a.nrest, a.rest, TC_CONFIG_LENIENT, extra, NULL,
                     NULL, &err) != 0) {
    if (err != NULL && usage_error(err)) {
      rc = tc_prof_fail("doctor", err);
      err = NULL;
      report_free(&rep);
      goto done;
    }
    const char *id = map_load_error(err ? err : "", path);
    if (strcmp(id, "profile_load") == 0 && rep.n > 0 &&
        strcmp(rep.checks[rep.n - 1].id, "profile_load") == 0) {
      /* The file was read but its content is refused: replace the PASS. */
      struct check *last = &rep.checks[--rep.n];
      free(last->summary);
      for (size_t j = 0; j < last->n_evidence; j++)
        free(last->evidence[j]);
    }
    c = add(&rep, id, FAIL, "%s", err ? err : "invalid configuration");
    ev(c, "%s", err ? err : "invalid configuration");
    if (strcmp(id, "control_plane_api_key") == 0)
      nx(c, "export CONTROL_PLANE_API_KEY=... (a runtime API key from "
            "https://platform.openai.com/settings/organization/api-keys)");
    else if (strcmp(id, "tunnel_id") == 0)
      nx(c, "Copy the tunnel id from "
            "https://platform.openai.com/settings/organization/tunnels");
    nx(c, "Fix the setting named in the error (flag, environment variable "
          "or profile line)");
    if (name != NULL)
      nx(c, "Edit the profile: tunnel-client profiles edit %s%s%s", name,
         a.pf.profile_dir ? " --profile-dir " : "",
         a.pf.profile_dir ? a.pf.profile_dir : "");
    url_checks(&rep);
    codex_check(&rep);
    goto out;
  }
  check_loaded(&rep, &a, &cfg);

out:
  rc = print_report(&rep, &a);
  report_free(&rep);
done:
  tc_config_free(&cfg);
  free(err);
  free(path);
  free(name);
  free(a.rest);
  return rc;
}
