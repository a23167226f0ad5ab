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
 * (the payload is still printed). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cmd_admin_api.h"
#include "cli/cmd_runtimes_internal.h"
#include "cli/cmd_runtimes_state.h"
#include "config/config.h"
#include "config/config_internal.h"
#include "config/profiles.h"
#include "util/fs.h"

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

#define DEFAULT_WAIT_MS 15000
#define STOP_WAIT_MS 10000
#define STATUS_REMOTE_TIMEOUT_MS 3000L
#define LOG_TAIL_LINES 5

struct rt_flags {
  char *alias, *tunnel_id, *profile, *profile_dir, *mcp_url, *mcp_cmd;
  char *runtime_key, *name, *description, *bin, *mode, *wait;
  char *admin_profile, *admin_key, *base, *path;
  struct tc_strlist orgs, wss, tenants;
  bool json, embedded, apply, help;
  char *pos[1];
  size_t npos;
};

struct rt_ctx {
  char *root;
  char *aliases_path, *procs_path;
  json_t *aliases; /* the "aliases" object inside aliases_doc */
  json_t *procs;   /* the "processes" object inside procs_doc */
  json_t *aliases_doc, *procs_doc;
};

static void ctx_free(struct rt_ctx *c) {
  free(c->root);
  free(c->aliases_path);
  free(c->procs_path);
  json_decref(c->aliases_doc);
  json_decref(c->procs_doc);
  memset(c, 0, sizeof(*c));
}

static json_t *sub_object(json_t *doc, const char *key) {
  json_t *o = json_object_get(doc, key);
  if (!json_is_object(o)) {
    o = json_object();
    json_object_set_new(doc, key, o);
  }
  return o;
}

static int ctx_open(struct rt_ctx *c, char **err) {
  memset(c, 0, sizeof(*c));
  c->root = tc_rt_state_root(err);
  if (c->root == NULL)
    return -1;
  c->aliases_path = tc_rt_path(c->root, "aliases.yaml");
  c->procs_path = tc_rt_path(c->root, "processes.yaml");
  if (c->aliases_path == NULL || c->procs_path == NULL)
    return tc_cfg_fail(err, "out of memory");
  c->aliases_doc = tc_rt_load(c->aliases_path, err);
  if (c->aliases_doc == NULL)
    return -1;
  c->procs_doc = tc_rt_load(c->procs_path, err);
  if (c->procs_doc == NULL)
    return -1;
  c->aliases = sub_object(c->aliases_doc, "aliases");
  c->procs = sub_object(c->procs_doc, "processes");
  return 0;
}

static int ctx_save(struct rt_ctx *c, char **err) {
  if (tc_rt_save(c->aliases_path, c->aliases_doc, err) != 0)
    return -1;
  return tc_rt_save(c->procs_path, c->procs_doc, err);
}

static const char *sget(const json_t *o, const char *k) {
  return json_string_value(json_object_get(o, k));
}

/* ---- local view of one runtime ----------------------------------------------
 */

struct rt_view {
  const char *alias;
  json_t *arec, *prec; /* borrowed; may be NULL */
  bool running, stale;
  char stale_why[160];
  pid_t pid;
  const char *mode;
  struct tc_rt_probe probe;
  const char *state;
};

static void view_build(struct rt_ctx *c, const char *alias, struct rt_view *v) {
  memset(v, 0, sizeof(*v));
  v->alias = alias;
  v->arec = json_object_get(c->aliases, alias);
  v->prec = json_object_get(c->procs, alias);
  v->mode = v->prec ? sget(v->prec, "mode") : NULL;
  if (v->mode == NULL)
    v->mode = "stopped";
  if (v->prec != NULL && strcmp(v->mode, "stopped") != 0) {
    v->pid = (pid_t)json_integer_value(json_object_get(v->prec, "pid"));
    if (strcmp(v->mode, "tmux") == 0) {
      const char *sock = sget(v->prec, "tmux_socket");
      const char *sess = sget(v->prec, "session_name");
      v->running = sock && sess && tc_rt_tmux_has(sock, sess);
      if (!v->running) {
        v->stale = true;
        snprintf(v->stale_why, sizeof(v->stale_why), "tmux session %s is gone",
                 sess ? sess : "?");
      }
    } else {
      int chk = tc_rt_proc_check(v->pid, sget(v->prec, "start_ticks"),
                                 v->stale_why, sizeof(v->stale_why));
      v->running = chk == 1;
      v->stale = chk != 1;
    }
  }
  const char *url_file = v->arec ? sget(v->arec, "health_url_file") : NULL;
  if (url_file == NULL && v->prec)
    url_file = sget(v->prec, "health_url_file");
  if (url_file != NULL && (v->running || access(url_file, F_OK) == 0))
    tc_rt_probe_run(url_file, &v->probe);
  v->state = tc_rt_state_name(v->running, &v->probe);
}

static const char *view_log_path(const struct rt_view *v) {
  const char *p = v->arec ? sget(v->arec, "log_path") : NULL;
  return p ? p : v->prec ? sget(v->prec, "log_path") : NULL;
}

static const char *view_url_file(const struct rt_view *v) {
  const char *p = v->arec ? sget(v->arec, "health_url_file") : NULL;
  return p ? p : v->prec ? sget(v->prec, "health_url_file") : NULL;
}

static bool file_exists(const char *p) {
  return p != NULL && access(p, F_OK) == 0;
}

/* The shared --json payload of a runtime. */
static json_t *view_json(const struct rt_view *v) {
  const char *a = v->alias;
  const char *url_file = view_url_file(v);
  const char *log_path = view_log_path(v);
  const char *config_path = v->arec ? sget(v->arec, "config_path") : NULL;
  json_t *issues = json_array(), *repair = json_array(), *next = json_array();
  char line[512];
  if (v->stale) {
    snprintf(line, sizeof(line), "stale process record: %s", v->stale_why);
    json_array_append_new(issues, json_string(line));
    snprintf(line, sizeof(line),
             "tunnel-client runtimes stop %s   (clears the stale record)", a);
    json_array_append_new(repair, json_string(line));
  }
  if (!v->running && file_exists(url_file) && !v->probe.healthy)
    json_array_append_new(issues,
                          json_string("stale health URL file (no runtime "
                                      "answers on it)"));
  if (v->arec != NULL && config_path != NULL && !file_exists(config_path)) {
    snprintf(line, sizeof(line), "profile %s is missing", config_path);
    json_array_append_new(issues, json_string(line));
  }
  if (strcmp(v->state, "stopped") == 0) {
    snprintf(line, sizeof(line), "tunnel-client runtimes connect --alias %s",
             a);
    json_array_append_new(next, json_string(line));
  } else if (strcmp(v->state, "starting") == 0) {
    snprintf(line, sizeof(line), "tunnel-client runtimes status %s", a);
    json_array_append_new(next, json_string(line));
    if (log_path) {
      snprintf(line, sizeof(line), "tail -n 50 %s", log_path);
      json_array_append_new(next, json_string(line));
    }
  } else if (strcmp(v->state, "healthy") == 0) {
    snprintf(line, sizeof(line), "not ready yet: %s",
             v->probe.readyz == 404 ? "this agent has no /readyz endpoint"
             : v->probe.readyz_body ? v->probe.readyz_body
                                    : "no /readyz answer");
    json_array_append_new(next, json_string(line));
    snprintf(line, sizeof(line), "tunnel-client runtimes status %s", a);
    json_array_append_new(next, json_string(line));
  } else {
    json_array_append_new(next,
                          json_string("call the tunnel's MCP URL from your "
                                      "connector"));
    snprintf(line, sizeof(line), "tunnel-client runtimes stop %s", a);
    json_array_append_new(next, json_string(line));
  }
  char *ui = v->probe.base_url && strncmp(v->probe.base_url, "http://", 7) == 0
                 ? tc_cfg_printf("%s/ui", v->probe.base_url)
                 : NULL;
  json_t *o = json_pack(
      "{s:s,s:s?,s:s?,s:s?,s:s?,s:s?,s:s?,s:s?,s:s,s:b,s:b,s:b,s:b,s:s}",
      "alias", a, "tunnel_id", v->arec ? sget(v->arec, "tunnel_id") : NULL,
      "profile_name", v->arec ? sget(v->arec, "profile_name") : NULL,
      "profile_dir", v->arec ? sget(v->arec, "profile_dir") : NULL,
      "config_path", config_path, "health_url_file", url_file, "health_url",
      v->probe.base_url, "ui_url", ui, "runtime_state", v->state, "healthy",
      v->probe.healthy, "ready", v->probe.ready, "process_running", v->running,
      "stale", v->stale, "mode", v->mode);
  free(ui);
  if (o == NULL)
    return NULL;
  if (v->pid > 0)
    json_object_set_new(o, "pid", json_integer(v->pid));
  json_object_set_new(o, "readiness",
                      v->probe.readyz_body ? json_string(v->probe.readyz_body)
                                           : json_null());
  if (v->prec != NULL && sget(v->prec, "session_name") != NULL)
    json_object_set_new(o, "tmux",
                        json_pack("{s:s,s:s?}", "session_name",
                                  sget(v->prec, "session_name"), "socket",
                                  sget(v->prec, "tmux_socket")));
  else
    json_object_set_new(o, "tmux", json_object());
  json_object_set_new(o, "local",
                      json_pack("{s:o,s:{s:i,s:i},s:{s:s?,s:o}}", "issues",
                                issues, "health", "healthz_status",
                                v->probe.healthz, "readyz_status",
                                v->probe.readyz, "log", "path", log_path,
                                "tail", tc_rt_tail(log_path, LOG_TAIL_LINES)));
  json_object_set_new(o, "repair_actions", repair);
  json_object_set_new(o, "next_steps", next);
  return o;
}

static void print_view_text(const json_t *o) {
  printf("%s\t%s\t%s\n", sget(o, "alias"), sget(o, "runtime_state"),
         sget(o, "tunnel_id") ? sget(o, "tunnel_id") : "-");
  json_t *pid = json_object_get(o, "pid");
  if (json_is_true(json_object_get(o, "process_running")))
    printf("  process:   running (pid %lld, %s mode)\n",
           (long long)json_integer_value(pid), sget(o, "mode"));
  else
    printf("  process:   not running\n");
  if (sget(o, "health_url") != NULL) {
    const json_t *h = json_object_get(json_object_get(o, "local"), "health");
    printf("  health:    %s  (/healthz %lld, /readyz %lld%s%s)\n",
           sget(o, "health_url"),
           (long long)json_integer_value(json_object_get(h, "healthz_status")),
           (long long)json_integer_value(json_object_get(h, "readyz_status")),
           sget(o, "readiness") ? ": " : "",
           sget(o, "readiness") ? sget(o, "readiness") : "");
  }
  if (sget(o, "config_path"))
    printf("  profile:   %s\n", sget(o, "config_path"));
  const json_t *log = json_object_get(json_object_get(o, "local"), "log");
  if (sget(log, "path"))
    printf("  log:       %s\n", sget(log, "path"));
  const json_t *issues = json_object_get(json_object_get(o, "local"), "issues");
  for (size_t i = 0; i < json_array_size(issues); i++)
    printf("  issue:     %s\n", json_string_value(json_array_get(issues, i)));
  const json_t *remote_err = json_object_get(o, "remote_error");
  if (json_is_string(remote_err))
    printf("  remote:    %s\n", json_string_value(remote_err));
  const json_t *arr = json_object_get(o, "repair_actions");
  if (json_array_size(arr) > 0) {
    printf("Repair:\n");
    for (size_t i = 0; i < json_array_size(arr); i++)
      printf("  %s\n", json_string_value(json_array_get(arr, i)));
  }
  arr = json_object_get(o, "next_steps");
  if (json_array_size(arr) > 0) {
    printf("Next steps:\n");
    for (size_t i = 0; i < json_array_size(arr); i++)
      printf("  %s\n", json_string_value(json_array_get(arr, i)));
  }
}

/* ---- helpers
 * ------------------------------------------------------------------ */

static int fail_err(const char *cmd, char *err) {
  tc_cli_fail(cmd, "%s", err ? err : "out of memory");
  free(err);
  return 1;
}

static char *alias_arg(const char *cmd, const char *given) {
  if (given == NULL || given[0] == '\0') {
    tc_cli_fail(cmd, "needs an alias (letters, digits and '-')");
    return NULL;
  }
  char *a = tc_rt_alias_normalize(given);
  if (a == NULL)
    tc_cli_fail(cmd,
                "invalid alias \"%.64s\": use 1-64 letters, digits "
                "and '-'",
                given);
  return a;
}

/* Inline credentials in an MCP target: URL userinfo or a query parameter
 * that looks like a secret, or a command-line secret option. */
static bool target_has_secret(const char *t) {
  static const char *const words[] = {
      "token=", "key=",     "secret=",    "password=",  "passwd=",
      "auth=",  "--token ", "--api-key ", "--password "};
  if (tc_cfg_url_has_userinfo(t))
    return true;
  for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
    size_t wl = strlen(words[i]);
    for (const char *p = t; *p; p++)
      if (strncasecmp(p, words[i], wl) == 0)
        return true;
  }
  return false;
}

static void admin_from_profile(struct rt_ctx *c, const struct rt_flags *f,
                               const json_t *arec, json_t **prof,
                               char **prof_name) {
  char *err = NULL;
  *prof = tc_admin_profile_pick(c->root, f->admin_profile,
                                arec ? sget(arec, "admin_profile") : NULL,
                                prof_name, &err);
  free(err);
}

/* Set up the admin API (base + key) for runtimes. */
static int admin_api_for(struct rt_ctx *c, const struct rt_flags *f,
                         const json_t *arec, bool write,
                         struct tc_admin_api *api, char **prof_name,
                         char **err) {
  json_t *prof = NULL;
  if (f->admin_profile != NULL) {
    prof =
        tc_admin_profile_pick(c->root, f->admin_profile, NULL, prof_name, err);
    if (prof == NULL)
      return -1;
  } else {
    admin_from_profile(c, f, arec, &prof, prof_name);
  }
  int rc = tc_admin_api_base(api, f->base, f->path,
                             sget(prof, "control_plane_base_url"),
                             sget(prof, "control_plane_url_path"), err);
  if (rc == 0)
    rc = tc_admin_api_key(api, f->admin_key, sget(prof, "admin_key"), false,
                          write, err);
  json_decref(prof);
  return rc;
}

/* Resolve the alias's tunnel with the admin API: reuse the recorded one,
 * else a tunnel with the same name in the scope, else create it. Returns
 * the tunnel object or NULL with the error rendered (and *rendered). */
static json_t *resolve_tunnel(struct rt_ctx *c, const struct rt_flags *f,
                              const char *alias, const json_t *arec,
                              char **prof_name, const char *cmd) {
  struct tc_admin_api api = {0};
  char *err = NULL;
  if (admin_api_for(c, f, arec, true, &api, prof_name, &err) != 0) {
    tc_cli_fail(cmd,
                "%s (needed to find or create the tunnel; or pass "
                "--tunnel-id)",
                err ? err : "out of memory");
    free(err);
    tc_admin_api_clear(&api);
    return NULL;
  }
  json_t *out = NULL;
  struct tc_admin_reply r;
  const char *old = arec ? sget(arec, "tunnel_id") : NULL;
  if (old != NULL) {
    char *route = tc_cfg_printf("/v1/tunnels/%s", old);
    int rc = tc_admin_request(&api, "GET", route, NULL, &r);
    if (rc == 0)
      out = json_incref(r.json);
    else if (r.status != 404) {
      tc_admin_render_error("GET", route, &r, false);
      free(route);
      tc_admin_reply_clear(&r);
      tc_admin_api_clear(&api);
      return NULL;
    }
    free(route);
    tc_admin_reply_clear(&r);
    if (out != NULL) {
      tc_admin_api_clear(&api);
      return out;
    }
  }
  const char *name = f->name ? f->name : alias;
  if (f->orgs.n == 0 && f->wss.n == 0) {
    tc_cli_fail(cmd,
                "no tunnel for alias %s: pass --tunnel-id, or "
                "--organization-id/--workspace-id to find or create one",
                alias);
    tc_admin_api_clear(&api);
    return NULL;
  }
  if (f->orgs.n > 0 && f->wss.n > 0) {
    tc_cli_fail(cmd, "give --organization-id or --workspace-id, not both");
    tc_admin_api_clear(&api);
    return NULL;
  }
  const char *k = f->orgs.n ? "organization_id" : "workspace_id";
  char *esc = tc_url_escape(f->orgs.n ? f->orgs.items[0] : f->wss.items[0]);
  char *route = tc_cfg_printf("/v1/tunnels?%s=%s", k, esc ? esc : "");
  free(esc);
  if (tc_admin_request(&api, "GET", route, NULL, &r) != 0) {
    tc_admin_render_error("GET", route, &r, false);
  } else {
    const json_t *ts = json_object_get(r.json, "tunnels");
    for (size_t i = 0; i < json_array_size(ts) && out == NULL; i++) {
      const char *tn = sget(json_array_get(ts, i), "name");
      if (tn != NULL && strcmp(tn, name) == 0)
        out = json_incref(json_array_get(ts, i));
    }
    if (out == NULL) {
      json_t *ids = json_array();
      const struct tc_strlist *l = f->orgs.n ? &f->orgs : &f->wss;
      for (size_t i = 0; i < l->n; i++)
        json_array_append_new(ids, json_string(l->items[i]));
      json_t *body =
          json_pack("{s:s,s:s,s:o}", "name", name, "description",
                    f->description ? f->description : "tunnel-client runtime",
                    f->orgs.n ? "organization_ids" : "workspace_ids", ids);
      struct tc_admin_reply cr;
      if (tc_admin_request(&api, "POST", "/v1/tunnels", body, &cr) == 0)
        out = json_incref(cr.json);
      else
        tc_admin_render_error("POST", "/v1/tunnels", &cr, false);
      tc_admin_reply_clear(&cr);
      json_decref(body);
      if (out != NULL)
        tc_rt_history(c->root, "create_tunnel", alias, sget(out, "id"), name);
    }
  }
  tc_admin_reply_clear(&r);
  free(route);
  tc_admin_api_clear(&api);
  return out;
}

/* GET /v1/tunnels/{id} with a runtime key reference (read-only). Returns
 * the tunnel or NULL with *remote_error. */
static json_t *remote_get(const struct rt_flags *f, const json_t *arec,
                          const char *tunnel_id, const char *key_ref,
                          long *status, char **remote_error) {
  struct tc_admin_api api = {0};
  char *err = NULL;
  *status = 0;
  json_t *out = NULL;
  /* The alias's own control plane unless a flag says otherwise. */
  const char *base = f->base, *path = f->path;
  if (base == NULL && arec != NULL) {
    base = sget(arec, "control_plane_base_url");
    if (path == NULL)
      path = sget(arec, "control_plane_url_path");
  }
  if (tc_admin_api_base(&api, base, path, NULL, NULL, &err) != 0) {
    *remote_error = err;
    return NULL;
  }
  api.key = tc_key_ref_resolve(key_ref, "the runtime key", &err);
  if (api.key == NULL) {
    *remote_error = err;
    tc_admin_api_clear(&api);
    return NULL;
  }
  api.timeout_ms = STATUS_REMOTE_TIMEOUT_MS;
  char *route = tc_cfg_printf("/v1/tunnels/%s", tunnel_id);
  struct tc_admin_reply r;
  if (tc_admin_request(&api, "GET", route, NULL, &r) == 0) {
    out = json_incref(r.json);
  } else {
    const char *msg = json_string_value(
        json_object_get(json_object_get(r.json, "error"), "message"));
    *remote_error = r.status
                        ? tc_cfg_printf("GET %s: HTTP %ld%s%s", route, r.status,
                                        msg ? ": " : "", msg ? msg : "")
                        : tc_cfg_printf("GET %s: %s", route,
                                        r.transport ? r.transport : "no reply");
  }
  *status = r.status;
  tc_admin_reply_clear(&r);
  free(route);
  tc_admin_api_clear(&api);
  return out;
}

static char *self_exe(void) {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0)
    return NULL;
  buf[n] = '\0';
  return tc_cfg_strdup(buf);
}

static int parse_wait(const char *text, int64_t *ms) {
  if (text == NULL) {
    *ms = DEFAULT_WAIT_MS;
    return 0;
  }
  const char *why = NULL;
  if (tc_parse_duration_ms(text, ms, &why) != 0 || *ms <= 0 || *ms > 600000)
    return -1;
  return 0;
}

/* ---- connect / create
 * ------------------------------------------------------------ */

static int write_profile(const char *path, const json_t *profile, char **err) {
  char *dir = tc_cfg_strdup(path);
  char *slash = dir ? strrchr(dir, '/') : NULL;
  if (slash != NULL) {
    *slash = '\0';
    if (tc_rt_mkdirs(dir, err) != 0) {
      free(dir);
      return -1;
    }
  }
  free(dir);
  return tc_rt_save(path, profile, err);
}

static int cmd_create(struct rt_flags *f) {
  const char *cmd = "runtimes create";
  char *alias = alias_arg(cmd, f->alias  ? f->alias
                               : f->npos ? f->pos[0]
                                         : NULL);
  if (alias == NULL)
    return 1;
  struct rt_ctx c;
  char *err = NULL;
  if (ctx_open(&c, &err) != 0) {
    ctx_free(&c);
    free(alias);
    return fail_err(cmd, err);
  }
  json_t *arec = json_object_get(c.aliases, alias);
  char *prof_name = NULL;
  json_t *t = resolve_tunnel(&c, f, alias, arec, &prof_name, cmd);
  int rc = 1;
  if (t != NULL) {
    char now[32];
    tc_rt_now(now);
    if (arec == NULL) {
      arec = json_pack("{s:s,s:s}", "alias", alias, "created_at", now);
      json_object_set_new(c.aliases, alias, arec);
    }
    json_object_set_new(arec, "tunnel_id", json_string(sget(t, "id")));
    json_object_set_new(arec, "updated_at", json_string(now));
    if (prof_name)
      json_object_set_new(arec, "admin_profile", json_string(prof_name));
    if (ctx_save(&c, &err) != 0) {
      rc = fail_err(cmd, err);
      err = NULL;
    } else {
      tc_rt_history(c.root, "create", alias, sget(t, "id"), NULL);
      if (f->json)
        tc_print_json(json_pack("{s:s,s:s,s:O}", "alias", alias, "tunnel_id",
                                sget(t, "id"), "tunnel", t));
      else
        printf("Alias %s -> tunnel %s (%s)\nNext: tunnel-client runtimes "
               "connect --alias %s --mcp-server-url URL\n",
               alias, sget(t, "id"), sget(t, "name") ? sget(t, "name") : "",
               alias);
      rc = 0;
    }
  }
  json_decref(t);
  free(prof_name);
  free(alias);
  ctx_free(&c);
  return rc;
}

static int cmd_connect(struct rt_flags *f) {
  const char *cmd = "runtimes connect";
  if (f->npos > 0)
    return tc_cli_fail(cmd,
                       "unexpected argument \"%.64s\"; the alias is "
                       "given with --alias",
                       f->pos[0]);
  char *alias = alias_arg(cmd, f->alias);
  if (alias == NULL)
    return 1;
  int rc = 1;
  char *err = NULL, *prof_name = NULL, *profile_dir = NULL, *config_path = NULL;
  char *url_file = NULL, *log_path = NULL, *logs_dir = NULL, *health_dir = NULL;
  char *exe = NULL, *remote_error = NULL, *session = NULL, *socket = NULL;
  char *own_url = NULL, *own_cmd = NULL, *own_key_ref = NULL, *own_pname = NULL;
  json_t *tunnel = NULL, *profile = NULL, *payload = NULL;
  struct tc_admin_api base_api = {0};
  struct rt_ctx c;
  struct rt_view v;
  memset(&v, 0, sizeof(v));
  int64_t wait_ms = 0;
  if (parse_wait(f->wait, &wait_ms) != 0) {
    free(alias);
    return tc_cli_fail(cmd, "--wait must be a duration between 1ms and 10m "
                            "(e.g. 15s)");
  }
  const char *mode = f->mode ? f->mode : "process";
  if (strcmp(mode, "process") != 0 && strcmp(mode, "tmux") != 0 &&
      strcmp(mode, "auto") != 0) {
    free(alias);
    return tc_cli_fail(cmd, "--mode must be process, tmux or auto");
  }
  if (ctx_open(&c, &err) != 0) {
    rc = fail_err(cmd, err);
    goto out;
  }
  json_t *arec = json_object_get(c.aliases, alias);

  /* Already running: report, do not start a second one. */
  view_build(&c, alias, &v);
  if (v.running) {
    payload = view_json(&v);
    json_object_set_new(payload, "already_running", json_true());
    json_object_set_new(payload, "launched", json_false());
    if (f->json)
      tc_print_json(json_incref(payload));
    else {
      printf("%s is already running (pid %ld, %s mode)\n", alias, (long)v.pid,
             v.mode);
      print_view_text(payload);
    }
    rc = 0;
    goto out;
  }

  /* Target: exactly one source, or the alias's previous one. */
  int nsrc = (f->mcp_url != NULL) + (f->mcp_cmd != NULL) + (f->embedded);
  if (nsrc > 1) {
    rc = tc_cli_fail(cmd, "give one of --mcp-server-url, --mcp-command and "
                          "--embedded-mcp-stub");
    goto out;
  }
  /* Copies: the alias record's strings are replaced further down. */
  const char *mcp_url = f->mcp_url, *mcp_cmd = f->mcp_cmd;
  bool embedded = f->embedded;
  if (nsrc == 0 && arec != NULL) {
    mcp_url = sget(arec, "mcp_server_url");
    mcp_cmd = sget(arec, "mcp_command");
    embedded = json_is_true(json_object_get(arec, "embedded_mcp_stub"));
  }
  mcp_url = own_url = mcp_url ? tc_cfg_strdup(mcp_url) : NULL;
  mcp_cmd = own_cmd = mcp_cmd ? tc_cfg_strdup(mcp_cmd) : NULL;
  if (mcp_url == NULL && mcp_cmd == NULL && !embedded) {
    rc = tc_cli_fail(cmd, "needs an MCP target: --mcp-server-url URL, "
                          "--mcp-command CMD or --embedded-mcp-stub");
    goto out;
  }
  const char *why = NULL;
  if (mcp_url != NULL && tc_cfg_check_http_url(mcp_url, &why) != 0) {
    rc = tc_cli_fail(cmd, "invalid --mcp-server-url: %s", why);
    goto out;
  }
  if ((mcp_url && target_has_secret(mcp_url)) ||
      (mcp_cmd && target_has_secret(mcp_cmd))) {
    rc = tc_cli_fail(cmd, "the MCP target carries an inline credential; keep "
                          "secrets out of the profile (use the server's own "
                          "configuration or environment)");
    goto out;
  }

  /* Runtime key reference: must resolve now so the launch cannot fail on
   * it later. */
  const char *key_ref = f->runtime_key ? f->runtime_key
                        : arec && sget(arec, "runtime_api_key_ref")
                            ? sget(arec, "runtime_api_key_ref")
                            : "env:CONTROL_PLANE_API_KEY";
  key_ref = own_key_ref = tc_cfg_strdup(key_ref);
  if (key_ref == NULL || !tc_key_ref_ok(key_ref)) {
    rc = tc_cli_fail(cmd, "--runtime-api-key must be env:NAME or file:PATH "
                          "(a literal key is refused)");
    goto out;
  }
  char *key = tc_key_ref_resolve(key_ref, "--runtime-api-key", &err);
  if (key == NULL) {
    rc = fail_err(cmd, err);
    err = NULL;
    goto out;
  }
  free(key);

  /* Base URL for the profile: flag > $CONTROL_PLANE_BASE_URL > admin
   * profile > default. */
  json_t *aprof = NULL;
  admin_from_profile(&c, f, arec, &aprof, NULL);
  /* A reconnect keeps the alias's control plane unless told otherwise. */
  const char *flag_base = f->base, *flag_path = f->path;
  if (flag_base == NULL && arec != NULL &&
      sget(arec, "control_plane_base_url") != NULL) {
    flag_base = sget(arec, "control_plane_base_url");
    if (flag_path == NULL)
      flag_path = sget(arec, "control_plane_url_path");
  }
  int brc = tc_admin_api_base(&base_api, flag_base, flag_path,
                              sget(aprof, "control_plane_base_url"),
                              sget(aprof, "control_plane_url_path"), &err);
  json_decref(aprof);
  if (brc != 0) {
    rc = fail_err(cmd, err);
    err = NULL;
    goto out;
  }

  /* Tunnel. */
  const char *tunnel_id = f->tunnel_id;
  if (tunnel_id == NULL && arec != NULL && f->orgs.n == 0 && f->wss.n == 0)
    tunnel_id = sget(arec, "tunnel_id");
  if (tunnel_id != NULL) {
    if (tc_validate_tunnel_id(tunnel_id, &why) != 0) {
      rc = tc_cli_fail(cmd, "invalid --tunnel-id: %s", why);
      goto out;
    }
    long st = 0;
    json_t *where = json_pack("{s:s?,s:s?}", "control_plane_base_url",
                              flag_base, "control_plane_url_path", flag_path);
    tunnel = remote_get(f, where, tunnel_id, key_ref, &st, &remote_error);
    json_decref(where);
  } else {
    tunnel = resolve_tunnel(&c, f, alias, arec, &prof_name, cmd);
    if (tunnel == NULL)
      goto out;
    tunnel_id = sget(tunnel, "id");
  }
  char *tunnel_id_copy = tc_cfg_strdup(tunnel_id);

  /* Paths. */
  const char *pname = f->profile ? f->profile
                      : arec && sget(arec, "profile_name")
                          ? sget(arec, "profile_name")
                          : alias;
  pname = own_pname = tc_cfg_strdup(pname);
  if (pname == NULL || !tc_profile_name_ok(pname)) {
    free(tunnel_id_copy);
    rc = tc_cli_fail(cmd, "invalid --profile \"%.64s\"", pname);
    goto out;
  }
  const char *dir_flag = f->profile_dir ? f->profile_dir
                         : arec         ? sget(arec, "profile_dir")
                                        : NULL;
  if (tc_profile_dir(dir_flag, &profile_dir, &err) != 0 ||
      tc_profile_path(profile_dir, pname, &config_path, &err) != 0) {
    free(tunnel_id_copy);
    rc = fail_err(cmd, err);
    err = NULL;
    goto out;
  }
  health_dir = tc_rt_path(c.root, "health");
  logs_dir = tc_rt_path(c.root, "logs");
  url_file = tc_cfg_printf("%s/%s.url", health_dir, alias);
  log_path = tc_cfg_printf("%s/%s.log", logs_dir, alias);
  if (tc_rt_mkdirs(health_dir, &err) != 0 ||
      tc_rt_mkdirs(logs_dir, &err) != 0) {
    free(tunnel_id_copy);
    rc = fail_err(cmd, err);
    err = NULL;
    goto out;
  }

  /* The profile (JSON is YAML). The base URL may carry a url-path in
   * base_api.base: split it back. */
  const char *url_path = flag_path;
  profile = json_pack("{s:i,s:{s:s,s:s,s:s},s:{s:s,s:s},s:{s:s,s:s,s:s}}",
                      "config_version", 1, "control_plane", "base_url",
                      flag_base ? flag_base : base_api.base, "tunnel_id",
                      tunnel_id_copy, "api_key", key_ref, "health",
                      "listen_addr", "127.0.0.1:0", "url_file", url_file, "log",
                      "level", "info", "format", "json", "file", log_path);
  free(tunnel_id_copy);
  tunnel_id = NULL;
  if (profile == NULL) {
    rc = tc_cli_fail(cmd, "out of memory");
    goto out;
  }
  if (flag_base == NULL) {
    /* base_api.base = origin + url-path: keep them apart in the profile. */
    struct tc_cfg_url_parts up;
    if (tc_cfg_url_split(base_api.base, &up) == 0 && up.path_len > 0) {
      char *origin =
          tc_cfg_strndup(base_api.base, (size_t)(up.path - base_api.base));
      char *p = tc_cfg_strndup(up.path, up.path_len);
      json_t *cp = json_object_get(profile, "control_plane");
      json_object_set_new(cp, "base_url", json_string(origin));
      json_object_set_new(cp, "url_path", json_string(p));
      free(origin);
      free(p);
    }
  } else if (url_path != NULL && url_path[0] != '\0') {
    json_object_set_new(json_object_get(profile, "control_plane"), "url_path",
                        json_string(url_path));
  }
  if (mcp_url != NULL)
    json_object_set_new(profile, "mcp",
                        json_pack("{s:[{s:s,s:s}]}", "server_urls", "channel",
                                  "main", "url", mcp_url));
  else if (mcp_cmd != NULL)
    json_object_set_new(profile, "mcp",
                        json_pack("{s:[{s:s,s:s}]}", "commands", "channel",
                                  "main", "command", mcp_cmd));
  if (write_profile(config_path, profile, &err) != 0) {
    rc = fail_err(cmd, err);
    err = NULL;
    goto out;
  }

  /* Launch. */
  exe = f->bin ? tc_cfg_strdup(f->bin) : self_exe();
  if (exe == NULL) {
    rc = tc_cli_fail(cmd, "cannot find this program's path; pass "
                          "--tunnel-client-bin PATH");
    goto out;
  }
  char *argv[8];
  size_t an = 0;
  argv[an++] = exe;
  argv[an++] = "run";
  argv[an++] = "--profile-dir";
  argv[an++] = profile_dir;
  argv[an++] = "--profile";
  argv[an++] = (char *)(uintptr_t)pname;
  if (embedded)
    argv[an++] = "--embedded-mcp-stub";
  argv[an] = NULL;
  bool use_tmux = strcmp(mode, "tmux") == 0 ||
                  (strcmp(mode, "auto") == 0 && tc_rt_tmux_available());
  if (strcmp(mode, "tmux") == 0 && !tc_rt_tmux_available()) {
    rc = tc_cli_fail(cmd, "--mode tmux: tmux is not installed (use --mode "
                          "process)");
    goto out;
  }
  tc_fs_remove_if_exists(url_file); /* the wait must not see an old one */
  pid_t pid;
  pid_t child = -1;
  if (use_tmux) {
    socket = tc_rt_tmux_socket(c.root);
    session = tc_rt_tmux_session(c.root, alias);
    const char *env_names[2] = {NULL, NULL};
    char envname[128] = "";
    if (tc_cfg_has_prefix_ci(key_ref, "env:")) {
      snprintf(envname, sizeof(envname), "%s", key_ref + 4);
      env_names[0] = envname;
    }
    if (tc_rt_tmux_has(socket, session)) {
      rc = tc_cli_fail(cmd,
                       "tmux session %s already exists without a "
                       "record; end it with 'tmux -L %s kill-session -t "
                       "%s' and retry",
                       session, socket, session);
      goto out;
    }
    pid = tc_rt_tmux_start(socket, session, argv, env_names, &err);
    if (pid > 1)
      child = -pid;
  } else {
    pid = child = tc_rt_spawn(argv, log_path, &err);
  }
  if (pid < 0) {
    rc = fail_err(cmd, err);
    err = NULL;
    goto out;
  }
  char ticks[32];
  tc_rt_proc_start_ticks(pid, ticks, sizeof(ticks));
  char now[32];
  tc_rt_now(now);
  json_t *cmdarr = json_array();
  for (size_t i = 0; i < an; i++)
    json_array_append_new(cmdarr, json_string(argv[i]));
  json_t *prec =
      json_pack("{s:s,s:i,s:s,s:s,s:O,s:s,s:s,s:s,s:s?,s:s?}", "alias", alias,
                "pid", (json_int_t)pid, "start_ticks", ticks, "mode",
                use_tmux ? "tmux" : "process", "command", cmdarr, "log_path",
                log_path, "health_url_file", url_file, "started_at", now,
                "session_name", session, "tmux_socket", socket);
  json_object_set(c.procs, alias, prec);
  json_decref(prec);
  if (arec == NULL) {
    arec = json_pack("{s:s,s:s}", "alias", alias, "created_at", now);
    json_object_set_new(c.aliases, alias, arec);
  }
  json_object_set_new(
      arec, "tunnel_id",
      json_string(
          sget(json_object_get(profile, "control_plane"), "tunnel_id")));
  json_object_set_new(arec, "profile_name", json_string(pname));
  json_object_set_new(arec, "profile_dir", json_string(profile_dir));
  json_object_set_new(arec, "config_path", json_string(config_path));
  json_object_set_new(arec, "runtime_api_key_ref", json_string(key_ref));
  {
    const json_t *cpo = json_object_get(profile, "control_plane");
    json_object_set_new(arec, "control_plane_base_url",
                        json_string(sget(cpo, "base_url")));
    json_object_del(arec, "control_plane_url_path");
    if (sget(cpo, "url_path") != NULL)
      json_object_set_new(arec, "control_plane_url_path",
                          json_string(sget(cpo, "url_path")));
  }
  json_object_set_new(arec, "health_url_file", json_string(url_file));
  json_object_set_new(arec, "log_path", json_string(log_path));
  json_object_set_new(arec, "updated_at", json_string(now));
  json_object_del(arec, "mcp_server_url");
  json_object_del(arec, "mcp_command");
  json_object_del(arec, "embedded_mcp_stub");
  if (mcp_url)
    json_object_set_new(arec, "mcp_server_url", json_string(mcp_url));
  else if (mcp_cmd)
    json_object_set_new(arec, "mcp_command", json_string(mcp_cmd));
  else
    json_object_set_new(arec, "embedded_mcp_stub", json_true());
  if (prof_name)
    json_object_set_new(arec, "admin_profile", json_string(prof_name));
  if (ctx_save(&c, &err) != 0) {
    rc = fail_err(cmd, err);
    err = NULL;
    goto out;
  }
  tc_rt_history(c.root, "connect", alias, sget(arec, "tunnel_id"),
                use_tmux ? "tmux" : "process");

  /* Wait for health. */
  bool progress = !f->json && isatty(STDERR_FILENO);
  struct tc_rt_probe probe = {0};
  int exit_status = 0;
  enum tc_rt_wait_result w = tc_rt_wait(alias, url_file, child, wait_ms,
                                        progress, &probe, &exit_status);
  tc_rt_probe_clear(&probe);
  if (w == TC_RT_WAIT_EXITED) {
    /* Record it as stopped: the pid is gone (and reaped by us). */
    json_object_set_new(json_object_get(c.procs, alias), "mode",
                        json_string("stopped"));
    ctx_save(&c, NULL);
  }
  view_build(&c, alias, &v);
  payload = view_json(&v);
  json_object_set_new(payload, "launched", json_true());
  json_object_set_new(payload, "already_running", json_false());
  json_object_set_new(payload, "started", json_true());
  json_object_set_new(payload, "running", json_boolean(v.running));
  json_object_set_new(payload, "mode",
                      json_string(use_tmux ? "tmux" : "process"));
  json_object_set_new(payload, "command", json_incref(cmdarr));
  json_decref(cmdarr);
  json_object_set_new(payload, "log_path", json_string(log_path));
  if (session)
    json_object_set_new(payload, "session_name", json_string(session));
  json_object_set_new(payload, "tunnel",
                      tunnel ? json_incref(tunnel) : json_null());
  json_object_set_new(payload, "remote_error",
                      remote_error ? json_string(remote_error) : json_null());
  bool ok = w == TC_RT_WAIT_READY || w == TC_RT_WAIT_HEALTHY;
  if (f->json) {
    tc_print_json(json_incref(payload));
    rc = ok ? 0 : 2;
  } else if (ok) {
    printf("Connected %s using %s mode\n", alias,
           use_tmux ? "tmux" : "process");
    print_view_text(payload);
    rc = 0;
  } else if (w == TC_RT_WAIT_EXITED) {
    json_t *tail = tc_rt_tail(log_path, 1);
    const char *last = json_string_value(json_array_get(tail, 0));
    char how[48] = "";
    if (exit_status >= 0)
      snprintf(how, sizeof(how), " (%s %d)",
               WIFEXITED(exit_status) ? "exit status" : "signal",
               WIFEXITED(exit_status) ? WEXITSTATUS(exit_status)
                                      : WTERMSIG(exit_status));
    tc_cli_fail(cmd, "%s exited during start-up%s%s%.300s; see %s", alias, how,
                last ? ": " : "", last ? last : "", log_path);
    json_decref(tail);
    rc = 1;
  } else {
    tc_cli_fail(cmd,
                "%s did not become healthy within %lldms (state %s)%s%s;"
                " see 'tunnel-client runtimes status %s' and %s",
                alias, (long long)wait_ms, v.state, remote_error ? "; " : "",
                remote_error ? remote_error : "", alias, log_path);
    rc = 2;
  }
out:
  tc_rt_probe_clear(&v.probe);
  json_decref(payload);
  json_decref(profile);
  json_decref(tunnel);
  tc_admin_api_clear(&base_api);
  free(remote_error);
  free(own_url);
  free(own_cmd);
  free(own_key_ref);
  free(own_pname);
  free(session);
  free(socket);
  free(exe);
  free(url_file);
  free(log_path);
  free(logs_dir);
  free(health_dir);
  free(config_path);
  free(profile_dir);
  free(prof_name);
  free(err);
  free(alias);
  ctx_free(&c);
  return rc;
}

/* ---- status / list
 * ------------------------------------------------------------ */

/* The start of the one-alias commands (status, stop, rm): exactly one
 * ALIAS argument, normalised, and the state opened. Returns 0 with *alias
 * (malloc()ed) and *c open, else the exit code after printing the error. */
static int open_one_alias(const char *cmd, const struct rt_flags *f,
                          char **alias, struct rt_ctx *c) {
  *alias = NULL;
  if (f->npos != 1)
    return tc_cli_fail(cmd, "needs exactly one ALIAS argument");
  *alias = alias_arg(cmd, f->pos[0]);
  if (*alias == NULL)
    return 1;
  char *err = NULL;
  if (ctx_open(c, &err) != 0) {
    ctx_free(c);
    free(*alias);
    *alias = NULL;
    return fail_err(cmd, err);
  }
  return 0;
}

static int cmd_status(struct rt_flags *f) {
  const char *cmd = "runtimes status";
  char *alias;
  struct rt_ctx c;
  int orc = open_one_alias(cmd, f, &alias, &c);
  if (orc != 0)
    return orc;
  int rc = 0;
  struct rt_view v;
  view_build(&c, alias, &v);
  if (v.arec == NULL && v.prec == NULL) {
    if (f->json) {
      tc_print_json(json_pack("{s:s,s:s,s:s}", "alias", alias, "error",
                              "unknown alias", "runtime_state", "stopped"));
      rc = 2;
    } else {
      rc = tc_cli_fail(cmd,
                       "unknown alias %s; see 'tunnel-client runtimes "
                       "list'",
                       alias);
    }
    goto out;
  }
  json_t *o = view_json(&v);
  /* Read-only remote lookup, first key that resolves. */
  const char *tid = v.arec ? sget(v.arec, "tunnel_id") : NULL;
  json_t *remote = NULL;
  long rstatus = 0;
  char *rerr = NULL;
  if (tid != NULL) {
    const char *refs[] = {v.arec ? sget(v.arec, "runtime_api_key_ref") : NULL,
                          "env:CONTROL_PLANE_API_KEY", "env:OPENAI_API_KEY",
                          "env:OPENAI_ADMIN_KEY"};
    for (size_t i = 0; i < 4 && remote == NULL; i++) {
      if (refs[i] == NULL)
        continue;
      char *k = tc_key_ref_resolve(refs[i], "key", NULL);
      if (k == NULL)
        continue;
      free(k);
      free(rerr);
      rerr = NULL;
      remote = remote_get(f, v.arec, tid, refs[i], &rstatus, &rerr);
      if (remote != NULL || rstatus == 404)
        break;
    }
  }
  json_object_set_new(o, "remote", remote ? remote : json_null());
  json_object_set_new(o, "remote_error",
                      rerr ? json_string(rerr) : json_null());
  json_object_set_new(o, "remote_lookup_status", json_integer(rstatus));
  json_object_set_new(o, "error", json_null());
  bool gone = rstatus == 404 && v.prec == NULL;
  if (f->json) {
    tc_print_json(json_incref(o));
    rc = gone ? 2 : 0;
  } else {
    print_view_text(o);
    if (gone)
      rc = tc_cli_fail(cmd,
                       "tunnel %s of alias %s no longer exists (HTTP "
                       "404); remove the alias with 'tunnel-client "
                       "runtimes rm %s'",
                       tid, alias, alias);
  }
  free(rerr);
  json_decref(o);
out:
  tc_rt_probe_clear(&v.probe);
  ctx_free(&c);
  free(alias);
  return rc;
}

/* Every alias known to either record file, sorted. */
static json_t *all_aliases(struct rt_ctx *c) {
  json_t *names = json_array();
  const char *k;
  json_t *val;
  json_object_foreach(c->aliases, k, val)
      json_array_append_new(names, json_string(k));
  json_object_foreach(c->procs, k, val) {
    if (json_object_get(c->aliases, k) == NULL)
      json_array_append_new(names, json_string(k));
  }
  /* insertion sort: small lists */
  for (size_t i = 1; i < json_array_size(names); i++)
    for (size_t j = i; j > 0; j--) {
      json_t *a = json_array_get(names, j - 1), *b = json_array_get(names, j);
      if (strcmp(json_string_value(a), json_string_value(b)) <= 0)
        break;
      json_incref(a);
      json_array_set(names, j - 1, b);
      json_array_set_new(names, j, a);
    }
  return names;
}

static int cmd_list(struct rt_flags *f) {
  const char *cmd = "runtimes list";
  if (f->npos != 0)
    return tc_cli_fail(cmd, "takes no arguments");
  size_t scopes = (f->orgs.n > 0) + (f->wss.n > 0) + (f->tenants.n > 0);
  if (scopes > 1)
    return tc_cli_fail(cmd, "give at most one of --organization-id, "
                            "--workspace-id and --tenant-id");
  struct rt_ctx c;
  char *err = NULL;
  if (ctx_open(&c, &err) != 0) {
    ctx_free(&c);
    return fail_err(cmd, err);
  }
  json_t *names = all_aliases(&c);
  json_t *arr = json_array();
  for (size_t i = 0; i < json_array_size(names); i++) {
    struct rt_view v;
    view_build(&c, json_string_value(json_array_get(names, i)), &v);
    json_array_append_new(arr, view_json(&v));
    tc_rt_probe_clear(&v.probe);
  }
  int rc = 0;
  json_t *remote = NULL;
  if (scopes == 1) {
    struct tc_admin_api api = {0};
    if (admin_api_for(&c, f, NULL, false, &api, NULL, &err) != 0) {
      rc = fail_err(cmd, err);
      err = NULL;
    } else {
      const char *k = f->orgs.n  ? "organization_id"
                      : f->wss.n ? "workspace_id"
                                 : "tenant_id";
      const char *val = f->orgs.n  ? f->orgs.items[0]
                        : f->wss.n ? f->wss.items[0]
                                   : f->tenants.items[0];
      char *esc = tc_url_escape(val);
      char *route = tc_cfg_printf("/v1/tunnels?%s=%s", k, esc ? esc : "");
      struct tc_admin_reply r;
      if (tc_admin_request(&api, "GET", route, NULL, &r) != 0) {
        rc = tc_admin_render_error("GET", route, &r, f->json);
      } else {
        remote = json_deep_copy(json_object_get(r.json, "tunnels"));
        for (size_t i = 0; i < json_array_size(remote); i++) {
          json_t *t = json_array_get(remote, i);
          const char *la = NULL;
          const char *ak;
          json_t *av;
          json_object_foreach(c.aliases, ak, av) {
            const char *at = sget(av, "tunnel_id");
            if (at && sget(t, "id") && strcmp(at, sget(t, "id")) == 0)
              la = ak;
          }
          json_object_set_new(t, "local_alias",
                              la ? json_string(la) : json_null());
        }
      }
      tc_admin_reply_clear(&r);
      free(route);
      free(esc);
    }
    tc_admin_api_clear(&api);
  }
  if (rc == 0) {
    if (f->json) {
      json_t *o = json_pack("{s:O}", "runtimes", arr);
      if (remote)
        json_object_set(o, "remote_tunnels", remote);
      tc_print_json(o);
    } else {
      if (json_array_size(arr) == 0)
        printf("No runtimes. Start one with 'tunnel-client runtimes connect "
               "--alias A ...'.\n");
      else
        printf("%-20s %-9s %-40s %s\n", "ALIAS", "STATE", "TUNNEL_ID", "PID");
      for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *o = json_array_get(arr, i);
        char pid[24] = "-";
        if (json_is_true(json_object_get(o, "process_running")))
          snprintf(pid, sizeof(pid), "%lld",
                   (long long)json_integer_value(json_object_get(o, "pid")));
        printf("%-20s %-9s %-40s %s%s\n", sget(o, "alias"),
               sget(o, "runtime_state"),
               sget(o, "tunnel_id") ? sget(o, "tunnel_id") : "-", pid,
               json_is_true(json_object_get(o, "stale")) ? " (stale record)"
                                                         : "");
      }
      for (size_t i = 0; i < json_array_size(remote); i++) {
        json_t *t = json_array_get(remote, i);
        if (i == 0)
          printf("\nRemote tunnels:\n");
        printf("  %s  %s  %s\n", sget(t, "id"),
               sget(t, "name") ? sget(t, "name") : "",
               sget(t, "local_alias") ? sget(t, "local_alias") : "(no alias)");
      }
    }
  }
  json_decref(remote);
  json_decref(arr);
  json_decref(names);
  ctx_free(&c);
  return rc;
}

/* ---- stop / rm / cleanup
 * ------------------------------------------------------ */

static int cmd_stop(struct rt_flags *f) {
  const char *cmd = "runtimes stop";
  char *alias;
  struct rt_ctx c;
  int orc = open_one_alias(cmd, f, &alias, &c);
  if (orc != 0)
    return orc;
  char *err = NULL;
  int rc = 0;
  struct rt_view v;
  view_build(&c, alias, &v);
  if (v.arec == NULL && v.prec == NULL) {
    rc = tc_cli_fail(cmd,
                     "unknown alias %s; see 'tunnel-client runtimes "
                     "list'",
                     alias);
    tc_rt_probe_clear(&v.probe);
    ctx_free(&c);
    free(alias);
    return rc;
  }
  bool already = !v.running;
  const char *stop_error = NULL;
  pid_t pid = v.pid;
  if (v.running) {
    if (strcmp(v.mode, "tmux") == 0) {
      tc_rt_proc_stop(v.pid, STOP_WAIT_MS);
      if (tc_rt_tmux_has(sget(v.prec, "tmux_socket"),
                         sget(v.prec, "session_name")))
        tc_rt_tmux_kill(sget(v.prec, "tmux_socket"),
                        sget(v.prec, "session_name"));
    } else if (tc_rt_proc_stop(v.pid, STOP_WAIT_MS) != 0) {
      stop_error = "the process did not exit after SIGTERM and SIGKILL";
    }
  }
  tc_fs_remove_if_exists(view_url_file(&v));
  if (v.prec != NULL && stop_error == NULL) {
    json_object_set_new(v.prec, "mode", json_string("stopped"));
    json_object_del(v.prec, "pid");
    json_object_del(v.prec, "start_ticks");
    char now[32];
    tc_rt_now(now);
    json_object_set_new(v.prec, "stopped_at", json_string(now));
  }
  if (ctx_save(&c, &err) != 0) {
    tc_rt_probe_clear(&v.probe);
    ctx_free(&c);
    free(alias);
    return fail_err(cmd, err);
  }
  tc_rt_history(c.root, "stop", alias,
                v.arec ? sget(v.arec, "tunnel_id") : NULL,
                already ? "already stopped" : "stopped");
  bool was_stale = v.stale;
  tc_rt_probe_clear(&v.probe);
  view_build(&c, alias, &v);
  json_t *o = view_json(&v);
  json_object_set_new(o, "already_stopped", json_boolean(already));
  json_object_set_new(o, "stopped", json_boolean(stop_error == NULL));
  json_object_set_new(o, "stop_error",
                      stop_error ? json_string(stop_error) : json_null());
  if (f->json)
    tc_print_json(json_incref(o));
  else if (stop_error != NULL)
    rc = tc_cli_fail(cmd, "%s (pid %ld): %s", alias, (long)pid, stop_error);
  else if (already)
    printf("%s was not running%s\n", alias,
           was_stale ? "; cleared its stale process record" : "");
  else
    printf("Stopped %s (pid %ld)\n", alias, (long)pid);
  if (f->json && stop_error != NULL)
    rc = 1;
  json_decref(o);
  tc_rt_probe_clear(&v.probe);
  ctx_free(&c);
  free(alias);
  return rc;
}

/* Remove an alias's records and files (not the profile unless asked). */
static void remove_alias(struct rt_ctx *c, const char *alias, bool with_profile,
                         json_t *removed) {
  json_t *arec = json_object_get(c->aliases, alias);
  json_t *prec = json_object_get(c->procs, alias);
  const char *files[3] = {arec   ? sget(arec, "health_url_file")
                          : prec ? sget(prec, "health_url_file")
                                 : NULL,
                          arec   ? sget(arec, "log_path")
                          : prec ? sget(prec, "log_path")
                                 : NULL,
                          with_profile && arec ? sget(arec, "config_path")
                                               : NULL};
  for (size_t i = 0; i < 3; i++)
    if (files[i] != NULL && access(files[i], F_OK) == 0 &&
        tc_fs_remove_if_exists(files[i]) == 0)
      json_array_append_new(removed, json_string(files[i]));
  json_object_del(c->procs, alias);
  json_object_del(c->aliases, alias);
}

static int cmd_rm(struct rt_flags *f) {
  const char *cmd = "runtimes rm";
  char *alias;
  struct rt_ctx c;
  int orc = open_one_alias(cmd, f, &alias, &c);
  if (orc != 0)
    return orc;
  char *err = NULL;
  int rc = 0;
  struct rt_view v;
  view_build(&c, alias, &v);
  if (v.arec == NULL && v.prec == NULL) {
    rc = tc_cli_fail(cmd,
                     "unknown alias %s; see 'tunnel-client runtimes "
                     "list'",
                     alias);
  } else if (v.running) {
    rc = tc_cli_fail(cmd,
                     "%s is running (pid %ld); stop it first: "
                     "tunnel-client runtimes stop %s",
                     alias, (long)v.pid, alias);
  } else {
    json_t *removed = json_array();
    const char *tid = v.arec ? sget(v.arec, "tunnel_id") : NULL;
    char *tid_copy = tid ? tc_cfg_strdup(tid) : NULL;
    remove_alias(&c, alias, true, removed);
    if (ctx_save(&c, &err) != 0) {
      rc = fail_err(cmd, err);
      err = NULL;
    } else {
      tc_rt_history(c.root, "rm", alias, tid_copy, NULL);
      if (f->json)
        tc_print_json(json_pack("{s:s,s:b,s:O}", "alias", alias, "removed", 1,
                                "files", removed));
      else
        printf("Removed %s (the remote tunnel is untouched)\n", alias);
    }
    free(tid_copy);
    json_decref(removed);
  }
  tc_rt_probe_clear(&v.probe);
  ctx_free(&c);
  free(alias);
  return rc;
}

static int cmd_cleanup(struct rt_flags *f) {
  const char *cmd = "runtimes cleanup";
  if (f->npos != 0)
    return tc_cli_fail(cmd, "takes no arguments");
  struct rt_ctx c;
  char *err = NULL;
  if (ctx_open(&c, &err) != 0) {
    ctx_free(&c);
    return fail_err(cmd, err);
  }
  json_t *names = all_aliases(&c);
  json_t *entries = json_array();
  size_t nstale = 0;
  for (size_t i = 0; i < json_array_size(names); i++) {
    const char *a = json_string_value(json_array_get(names, i));
    struct rt_view v;
    view_build(&c, a, &v);
    const char *cfg = v.arec ? sget(v.arec, "config_path") : NULL;
    bool has_profile = file_exists(cfg);
    const char *cls, *detail;
    if (v.running) {
      cls = has_profile ? "live_runtime" : "missing_profile";
      detail = has_profile ? "running" : "running, but its profile is gone";
    } else if (has_profile) {
      cls = "valid_profile";
      detail = v.stale ? "stopped; stale process record" : "stopped";
    } else if (v.arec != NULL && cfg == NULL) {
      cls = "missing_profile";
      detail = "tunnel resolved, never connected (no profile yet)";
    } else {
      cls = "stale_alias";
      detail = v.arec == NULL ? "process record without an alias"
                              : "not running and its profile is gone";
      nstale++;
    }
    json_t *removed = json_array();
    if (f->apply && strcmp(cls, "stale_alias") == 0)
      remove_alias(&c, a, false, removed);
    json_array_append_new(entries,
                          json_pack("{s:s,s:s,s:s,s:b,s:o}", "alias", a,
                                    "class", cls, "detail", detail, "removed",
                                    f->apply && strcmp(cls, "stale_alias") == 0,
                                    "removed_files", removed));
    tc_rt_probe_clear(&v.probe);
  }
  int rc = 0;
  if (f->apply && nstale > 0 && ctx_save(&c, &err) != 0) {
    rc = fail_err(cmd, err);
    err = NULL;
  } else {
    if (f->apply && nstale > 0)
      tc_rt_history(c.root, "cleanup", NULL, NULL, "removed stale aliases");
    if (f->json) {
      tc_print_json(
          json_pack("{s:O,s:b}", "entries", entries, "applied", f->apply));
    } else {
      if (json_array_size(entries) == 0)
        printf("Nothing to clean up.\n");
      for (size_t i = 0; i < json_array_size(entries); i++) {
        json_t *e = json_array_get(entries, i);
        printf("%-16s %-20s %s%s\n", sget(e, "class"), sget(e, "alias"),
               sget(e, "detail"),
               json_is_true(json_object_get(e, "removed")) ? " (removed)" : "");
      }
      if (!f->apply && nstale > 0)
        printf("\nRun 'tunnel-client runtimes cleanup --apply' to remove the "
               "%zu stale alias%s.\n",
               nstale, nstale == 1 ? "" : "es");
    }
  }
  json_decref(entries);
  json_decref(names);
  ctx_free(&c);
  return rc;
}

/* ---- dispatch
 * ------------------------------------------------------------------ */

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
  struct rt_flags f;
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
    rc = cmd_connect(&f);
  else if (strcmp(sub, "create") == 0)
    rc = cmd_create(&f);
  else if (strcmp(sub, "status") == 0)
    rc = cmd_status(&f);
  else if (strcmp(sub, "list") == 0)
    rc = cmd_list(&f);
  else if (strcmp(sub, "stop") == 0 || strcmp(sub, "disconnect") == 0)
    rc = cmd_stop(&f);
  else if (strcmp(sub, "rm") == 0 || strcmp(sub, "remove") == 0)
    rc = cmd_rm(&f);
  else if (strcmp(sub, "cleanup") == 0)
    rc = cmd_cleanup(&f);
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
