/* cli/cmd_runtimes_view.c — what the `runtimes` subcommands share (see
 * cmd_runtimes_internal.h): opening and saving the two record files
 * (aliases.yaml, processes.yaml), the local view of one runtime (record,
 * liveness, health probe and state) with its --json payload and text form,
 * alias arguments, the sorted list of every alias, and removing an alias's
 * records and files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cmd_admin_api.h"
#include "cli/cmd_runtimes_internal.h"
#include "cli/cmd_runtimes_state.h"
#include "config/config_internal.h"
#include "util/fs.h"

#define LOG_TAIL_LINES 5

void tc_rt_ctx_free(struct tc_rt_ctx *c) {
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

int tc_rt_ctx_open(struct tc_rt_ctx *c, char **err) {
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

int tc_rt_ctx_save(struct tc_rt_ctx *c, char **err) {
  if (tc_rt_save(c->aliases_path, c->aliases_doc, err) != 0)
    return -1;
  return tc_rt_save(c->procs_path, c->procs_doc, err);
}

const char *tc_rt_sget(const json_t *o, const char *k) {
  return json_string_value(json_object_get(o, k));
}

void tc_rt_view_build(struct tc_rt_ctx *c, const char *alias,
                      struct tc_rt_view *v) {
  memset(v, 0, sizeof(*v));
  v->alias = alias;
  v->arec = json_object_get(c->aliases, alias);
  v->prec = json_object_get(c->procs, alias);
  v->mode = v->prec ? tc_rt_sget(v->prec, "mode") : NULL;
  if (v->mode == NULL)
    v->mode = "stopped";
  if (v->prec != NULL && strcmp(v->mode, "stopped") != 0) {
    v->pid = (pid_t)json_integer_value(json_object_get(v->prec, "pid"));
    if (strcmp(v->mode, "tmux") == 0) {
      const char *sock = tc_rt_sget(v->prec, "tmux_socket");
      const char *sess = tc_rt_sget(v->prec, "session_name");
      v->running = sock && sess && tc_rt_tmux_has(sock, sess);
      if (!v->running) {
        v->stale = true;
        snprintf(v->stale_why, sizeof(v->stale_why), "tmux session %s is gone",
                 sess ? sess : "?");
      }
    } else {
      int chk = tc_rt_proc_check(v->pid, tc_rt_sget(v->prec, "start_ticks"),
                                 v->stale_why, sizeof(v->stale_why));
      v->running = chk == 1;
      v->stale = chk != 1;
    }
  }
  const char *url_file =
      v->arec ? tc_rt_sget(v->arec, "health_url_file") : NULL;
  if (url_file == NULL && v->prec)
    url_file = tc_rt_sget(v->prec, "health_url_file");
  if (url_file != NULL && (v->running || access(url_file, F_OK) == 0))
    tc_rt_probe_run(url_file, &v->probe);
  v->state = tc_rt_state_name(v->running, &v->probe);
}

static const char *view_log_path(const struct tc_rt_view *v) {
  const char *p = v->arec ? tc_rt_sget(v->arec, "log_path") : NULL;
  return p ? p : v->prec ? tc_rt_sget(v->prec, "log_path") : NULL;
}

const char *tc_rt_view_url_file(const struct tc_rt_view *v) {
  const char *p = v->arec ? tc_rt_sget(v->arec, "health_url_file") : NULL;
  return p ? p : v->prec ? tc_rt_sget(v->prec, "health_url_file") : NULL;
}

bool tc_rt_file_exists(const char *p) {
  return p != NULL && access(p, F_OK) == 0;
}

/* The shared --json payload of a runtime. */
json_t *tc_rt_view_json(const struct tc_rt_view *v) {
  const char *a = v->alias;
  const char *url_file = tc_rt_view_url_file(v);
  const char *log_path = view_log_path(v);
  const char *config_path = v->arec ? tc_rt_sget(v->arec, "config_path") : NULL;
  json_t *issues = json_array(), *repair = json_array(), *next = json_array();
  char line[512];
  if (v->stale) {
    snprintf(line, sizeof(line), "stale process record: %s", v->stale_why);
    json_array_append_new(issues, json_string(line));
    snprintf(line, sizeof(line),
             "tunnel-client runtimes stop %s   (clears the stale record)", a);
    json_array_append_new(repair, json_string(line));
  }
  if (!v->running && tc_rt_file_exists(url_file) && !v->probe.healthy)
    json_array_append_new(issues,
                          json_string("stale health URL file (no runtime "
                                      "answers on it)"));
  if (v->arec != NULL && config_path != NULL &&
      !tc_rt_file_exists(config_path)) {
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
      "alias", a, "tunnel_id",
      v->arec ? tc_rt_sget(v->arec, "tunnel_id") : NULL, "profile_name",
      v->arec ? tc_rt_sget(v->arec, "profile_name") : NULL, "profile_dir",
      v->arec ? tc_rt_sget(v->arec, "profile_dir") : NULL, "config_path",
      config_path, "health_url_file", url_file, "health_url", v->probe.base_url,
      "ui_url", ui, "runtime_state", v->state, "healthy", v->probe.healthy,
      "ready", v->probe.ready, "process_running", v->running, "stale", v->stale,
      "mode", v->mode);
  free(ui);
  if (o == NULL)
    return NULL;
  if (v->pid > 0)
    json_object_set_new(o, "pid", json_integer(v->pid));
  json_object_set_new(o, "readiness",
                      v->probe.readyz_body ? json_string(v->probe.readyz_body)
                                           : json_null());
  if (v->prec != NULL && tc_rt_sget(v->prec, "session_name") != NULL)
    json_object_set_new(o, "tmux",
                        json_pack("{s:s,s:s?}", "session_name",
                                  tc_rt_sget(v->prec, "session_name"), "socket",
                                  tc_rt_sget(v->prec, "tmux_socket")));
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

void tc_rt_view_print(const json_t *o) {
  printf("%s\t%s\t%s\n", tc_rt_sget(o, "alias"), tc_rt_sget(o, "runtime_state"),
         tc_rt_sget(o, "tunnel_id") ? tc_rt_sget(o, "tunnel_id") : "-");
  json_t *pid = json_object_get(o, "pid");
  if (json_is_true(json_object_get(o, "process_running")))
    printf("  process:   running (pid %lld, %s mode)\n",
           (long long)json_integer_value(pid), tc_rt_sget(o, "mode"));
  else
    printf("  process:   not running\n");
  if (tc_rt_sget(o, "health_url") != NULL) {
    const json_t *h = json_object_get(json_object_get(o, "local"), "health");
    printf("  health:    %s  (/healthz %lld, /readyz %lld%s%s)\n",
           tc_rt_sget(o, "health_url"),
           (long long)json_integer_value(json_object_get(h, "healthz_status")),
           (long long)json_integer_value(json_object_get(h, "readyz_status")),
           tc_rt_sget(o, "readiness") ? ": " : "",
           tc_rt_sget(o, "readiness") ? tc_rt_sget(o, "readiness") : "");
  }
  if (tc_rt_sget(o, "config_path"))
    printf("  profile:   %s\n", tc_rt_sget(o, "config_path"));
  const json_t *log = json_object_get(json_object_get(o, "local"), "log");
  if (tc_rt_sget(log, "path"))
    printf("  log:       %s\n", tc_rt_sget(log, "path"));
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

int tc_rt_fail_err(const char *cmd, char *err) {
  tc_cli_fail(cmd, "%s", err ? err : "out of memory");
  free(err);
  return 1;
}

char *tc_rt_alias_arg(const char *cmd, const char *given) {
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

/* The start of the one-alias commands (status, stop, rm): exactly one
 * ALIAS argument, normalised, and the state opened. Returns 0 with *alias
 * (malloc()ed) and *c open, else the exit code after printing the error. */
int tc_rt_open_one_alias(const char *cmd, const struct tc_rt_flags *f,
                         char **alias, struct tc_rt_ctx *c) {
  *alias = NULL;
  if (f->npos != 1)
    return tc_cli_fail(cmd, "needs exactly one ALIAS argument");
  *alias = tc_rt_alias_arg(cmd, f->pos[0]);
  if (*alias == NULL)
    return 1;
  char *err = NULL;
  if (tc_rt_ctx_open(c, &err) != 0) {
    tc_rt_ctx_free(c);
    free(*alias);
    *alias = NULL;
    return tc_rt_fail_err(cmd, err);
  }
  return 0;
}

/* Every alias known to either record file, sorted. */
json_t *tc_rt_all_aliases(struct tc_rt_ctx *c) {
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

/* Remove an alias's records and files (not the profile unless asked). */
void tc_rt_remove_alias(struct tc_rt_ctx *c, const char *alias,
                        bool with_profile, json_t *removed) {
  json_t *arec = json_object_get(c->aliases, alias);
  json_t *prec = json_object_get(c->procs, alias);
  const char *files[3] = {arec   ? tc_rt_sget(arec, "health_url_file")
                          : prec ? tc_rt_sget(prec, "health_url_file")
                                 : NULL,
                          arec   ? tc_rt_sget(arec, "log_path")
                          : prec ? tc_rt_sget(prec, "log_path")
                                 : NULL,
                          with_profile && arec ? tc_rt_sget(arec, "config_path")
                                               : NULL};
  for (size_t i = 0; i < 3; i++)
    if (files[i] != NULL && access(files[i], F_OK) == 0 &&
        tc_fs_remove_if_exists(files[i]) == 0)
      json_array_append_new(removed, json_string(files[i]));
  json_object_del(c->procs, alias);
  json_object_del(c->aliases, alias);
}
