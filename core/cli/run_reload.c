/* cli/run_reload.c — SIGHUP: load, compare, prepare, commit (see
 * run_reload.h).
 *
 * Prepare order (each step can fail; a failure undoes the earlier ones):
 *   1. tc_config_load with the start-up argv  (the profile and references)
 *   2. tc_config_reconcile                    (restart keys keep their value)
 *   3. tc_registry_reload_prepare             (new net-hook instances;
 *                                              config_get answers from the
 *                                              new configuration)
 *   4. tc_dispatcher_plan                     (new transport instances)
 *   5. tc_cp_settings_new                     (control-plane headers, poll)
 *   6. tc_log_open                            (only when a log setting
 *                                              changed or a log file is
 *                                              set: reopened for logrotate)
 * Step 6 takes effect at once, so it runs last. Commit order: net hooks
 * (new connections see the new proxy, CA and certificates), the ops
 * listener's remote-UI switch, the admin log buffer, control-plane
 * settings, channels; then readiness probes what is new, and only then is
 * the reload reported (status, metrics, log), so whoever sees the report
 * sees the new configuration in effect. */
#include "cli/run_reload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/reconcile.h"
#include "controlplane/client.h"
#include "dispatch/dispatcher.h"
#include "dispatch/reply_budget.h"
#include "loader/loader.h"
#include "ops/health.h"
#include "ops/readiness.h"
#include "ops/reload_status.h"
#include "util/log.h"
#include "util/redact.h"
#include "util/sbuf.h"

struct tc_run_reloader {
  struct tc_run_parts parts;
  struct tc_run_reload_notify notify;
  const struct tc_config *running; /* started, or `owned` */
  struct tc_config *owned;         /* the last reload's, NULL before */
};

static void register_headers(const struct tc_headers *h) {
  for (size_t i = 0; i < h->count; i++)
    tc_redact_add_secret(h->items[i].value);
}

void tc_run_register_secrets(const struct tc_config *cfg) {
  tc_redact_add_secret(cfg->cp_api_key);
  register_headers(&cfg->cp_extra_headers);
  register_headers(&cfg->mcp_extra_headers);
  register_headers(&cfg->mcp_discovery_extra_headers);
}

int tc_run_reloader_new(struct tc_run_reloader **out,
                        const struct tc_run_parts *parts,
                        const struct tc_config *started,
                        const struct tc_run_reload_notify *notify) {
  struct tc_run_reloader *r = calloc(1, sizeof(*r));
  *out = r;
  if (r == NULL)
    return -1;
  r->parts = *parts;
  if (notify != NULL)
    r->notify = *notify;
  r->running = started;
  return 0;
}

const struct tc_config *
tc_run_reloader_config(const struct tc_run_reloader *r) {
  return r->running;
}

void tc_run_reloader_free(struct tc_run_reloader *r) {
  if (r == NULL)
    return;
  if (r->owned != NULL) {
    tc_config_free(r->owned);
    free(r->owned);
  }
  free(r);
}

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "a, b, c" (or "none"); malloc()ed, NULL on ENOMEM. */
static char *joined(char *const *v, size_t n) {
  struct tc_sbuf b = TC_SBUF_INIT;
  for (size_t i = 0; i < n; i++)
    tc_sbuf_printf(&b, "%s%s", i > 0 ? ", " : "", v[i]);
  if (n == 0)
    tc_sbuf_puts(&b, "none");
  return tc_sbuf_finish(&b);
}

static int has_key(const struct tc_config_changes *c, const char *key) {
  for (size_t i = 0; i < c->live_count; i++)
    if (strcmp(c->live[i], key) == 0)
      return 1;
  return 0;
}

/* A refused reload: one ERROR line, the status, nothing else changes. */
static void refuse(struct tc_run_reloader *r, int64_t at, const char *what,
                   char *why) {
  char *line = NULL;
  if (asprintf(&line, "%s: %s", what, why != NULL ? why : "out of memory") < 0)
    line = NULL;
  char *clean = tc_redact(line != NULL ? line : what);
  tc_log(TC_LOG_ERROR, NULL,
         "configuration reload refused; the running configuration stays "
         "(fix the profile or the files it references, then send SIGHUP "
         "again)",
         "error", clean != NULL ? clean : what, NULL);
  struct tc_reload_report rep;
  memset(&rep, 0, sizeof(rep));
  rep.ok = false;
  rep.error = clean != NULL ? clean : what;
  tc_reload_status_record(&rep, at);
  free(clean);
  free(line);
  free(why);
}

/* Log lines of a successful reload: one summary, one WARN per setting
 * that waits for a restart. */
static void log_applied(const struct tc_config_changes *c,
                        const struct tc_dispatch_plan *p, char *const *fixed,
                        size_t fixed_count) {
  char *applied = joined(c->live, c->live_count);
  char *added = joined(p->added, p->added_count);
  char *removed = joined(p->removed, p->removed_count);
  char *changed = joined(p->changed, p->changed_count);
  char gen[24];
  snprintf(gen, sizeof(gen), "%llu",
           (unsigned long long)tc_reload_status_generation());
  tc_log(TC_LOG_INFO, NULL, "configuration reloaded", "generation", gen,
         "applied", applied, "channels_added", added, "channels_removed",
         removed, "channels_changed", changed, NULL);
  for (size_t i = 0; i < c->restart_count; i++)
    tc_log(TC_LOG_WARN, NULL,
           "setting changed but applies only after a restart; the running "
           "value stays",
           "setting", c->restart[i], NULL);
  for (size_t i = 0; i < fixed_count; i++)
    tc_log(TC_LOG_WARN, NULL,
           "setting changed but the module that reads it takes it only at "
           "start; it applies there after a restart",
           "setting", fixed[i], NULL);
  free(applied);
  free(added);
  free(removed);
  free(changed);
}

static void strv_free(char **v, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

/* Reopen the log when a log setting changed, or when it goes to a file
 * (after logrotate moved it). The level only changes when log.level did:
 * a level set through the admin API survives unrelated reloads. */
static int reopen_log(const struct tc_config *next,
                      const struct tc_config_changes *c, char **err) {
  int changed = has_key(c, "log.level") || has_key(c, "log.format") ||
                has_key(c, "log.file");
  if (!changed && (next->log_file == NULL || next->log_file[0] == '\0'))
    return 0;
  struct tc_log_options lo = {
      .level = has_key(c, "log.level") ? next->log_level : tc_log_get_level(),
      .format = next->log_format,
      .file = next->log_file};
  return tc_log_open(&lo, err);
}

void tc_run_reload(struct tc_run_reloader *r) {
  const struct tc_run_parts *pt = &r->parts;
  int64_t at = wall_ms();
  if (r->notify.reloading != NULL)
    r->notify.reloading(r->notify.ud);
  tc_log(TC_LOG_INFO, NULL,
         "SIGHUP: reloading the configuration (profile file and env:/file: "
         "references; flags stay as started)",
         NULL);
  struct tc_config *next = calloc(1, sizeof(*next));
  struct tc_config_changes changes;
  memset(&changes, 0, sizeof(changes));
  struct tc_dispatch_plan *plan = NULL;
  struct tc_registry_reload *nets = NULL;
  struct tc_cp_settings *cps = NULL;
  char **fixed = NULL;
  size_t fixed_count = 0;
  char *err = NULL;
  if (next == NULL) {
    refuse(r, at, "reload", NULL);
    goto done;
  }
  if (tc_config_load(next, pt->argc, pt->argv, TC_CONFIG_RUN, pt->extra_flags,
                     NULL, NULL, &err) != 0) {
    refuse(r, at, "configuration", err);
    goto done;
  }
  tc_run_register_secrets(next);
  if (tc_config_reconcile(r->running, next, &changes, &err) != 0) {
    refuse(r, at, "reload", err);
    goto done;
  }
  /* Net hooks first: from here on config_get answers with `next`, also
   * for a transport's create() in the plan. */
  if (tc_registry_reload_prepare(pt->reg, next, &nets, &err) != 0) {
    refuse(r, at, "network settings", err);
    goto done;
  }
  if (tc_dispatcher_plan(pt->disp, next, &plan, &err) != 0) {
    refuse(r, at, "channels", err);
    goto undo;
  }
  if (tc_cp_settings_new(next, &cps, &err) != 0) {
    refuse(r, at, "control plane", err);
    goto undo;
  }
  if (tc_registry_fixed_settings(pt->reg, changes.live, changes.live_count,
                                 &fixed, &fixed_count) != 0) {
    refuse(r, at, "reload", NULL);
    goto undo;
  }
  if (reopen_log(next, &changes, &err) != 0) {
    refuse(r, at, "log", err);
    goto undo;
  }

  /* Commit: nothing below can fail. */
  tc_registry_reload_commit(pt->reg, nets);
  nets = NULL;
  if (pt->health != NULL)
    tc_health_set_allow_remote(pt->health, next->allow_remote_ui);
  if (has_key(&changes, "admin_ui.log_buffer_events") &&
      tc_log_ring_enable((size_t)next->log_buffer_events) != 0)
    tc_log(TC_LOG_WARN, NULL,
           "admin log buffer not resized: out of memory (it keeps its size)",
           NULL);
  tc_cp_client_apply(pt->cp, cps);
  cps = NULL;
  /* Reservations already held stay; new ones see the new limit. */
  if (has_key(&changes, "mcp.max_inflight_reply_bytes"))
    tc_reply_budget_configure((uint64_t)next->mcp_max_inflight_reply_bytes);
  tc_dispatcher_commit(pt->disp, plan);
  tc_readiness_probe_new(pt->readiness);
  /* Reported once everything is in place: a client that sees the new
   * status (or the counter) sees the new configuration in effect. */
  struct tc_reload_report rep = {.ok = true,
                                 .applied = changes.live,
                                 .applied_count = changes.live_count,
                                 .added = plan->added,
                                 .added_count = plan->added_count,
                                 .removed = plan->removed,
                                 .removed_count = plan->removed_count,
                                 .changed = plan->changed,
                                 .changed_count = plan->changed_count};
  /* needs_restart: the keys, then the module-bound ones. */
  char **restart =
      calloc(changes.restart_count + fixed_count + 1, sizeof(*restart));
  if (restart != NULL) {
    for (size_t i = 0; i < changes.restart_count; i++)
      restart[i] = changes.restart[i];
    for (size_t i = 0; i < fixed_count; i++)
      restart[changes.restart_count + i] = fixed[i];
    rep.needs_restart = restart;
    rep.needs_restart_count = changes.restart_count + fixed_count;
  }
  tc_reload_status_record(&rep, at);
  log_applied(&changes, plan, fixed, fixed_count);
  free(restart);
  tc_dispatch_plan_free(plan);
  plan = NULL;
  if (r->owned != NULL) {
    tc_config_free(r->owned);
    free(r->owned);
  }
  r->owned = next;
  r->running = next;
  next = NULL;
  goto done;

undo:
  tc_registry_reload_abort(pt->reg, nets);
  nets = NULL;
  tc_dispatcher_abandon(pt->disp, plan);
  plan = NULL;
done:
  tc_cp_settings_free(cps);
  strv_free(fixed, fixed_count);
  tc_config_changes_free(&changes);
  if (next != NULL) {
    tc_config_free(next);
    free(next);
  }
  if (r->notify.reloaded != NULL)
    r->notify.reloaded(r->notify.ud);
}
