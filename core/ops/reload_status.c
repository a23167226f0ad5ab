/* ops/reload_status.c — see reload_status.h. The state is kept as a JSON
 * object and handed out as deep copies, so readers never share it. */
#include "ops/reload_status.h"

#include <pthread.h>

#include "ops/core_metrics.h"

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static json_t *g_state;       /* guarded by g_mu; NULL = nothing recorded */
static uint64_t g_generation; /* guarded by g_mu */

static json_t *strings(char *const *v, size_t n) {
  json_t *a = json_array();
  for (size_t i = 0; a != NULL && i < n; i++)
    json_array_append_new(a, json_string(v[i]));
  return a;
}

void tc_reload_status_record(const struct tc_reload_report *r,
                             int64_t unix_ms) {
  pthread_mutex_lock(&g_mu);
  if (r->ok)
    g_generation++;
  json_t *j = json_pack(
      "{s:I,s:I,s:b,s:o,s:o,s:o,s:{s:o,s:o,s:o}}", "generation",
      (json_int_t)g_generation, "last_attempt_unix_ms", (json_int_t)unix_ms,
      "ok", r->ok, "error",
      r->error != NULL ? json_string(r->error) : json_null(), "applied",
      strings(r->applied, r->applied_count), "needs_restart",
      strings(r->needs_restart, r->needs_restart_count), "channels", "added",
      strings(r->added, r->added_count), "removed",
      strings(r->removed, r->removed_count), "changed",
      strings(r->changed, r->changed_count));
  if (j != NULL) {
    json_decref(g_state);
    g_state = j;
  }
  pthread_mutex_unlock(&g_mu);
  /* The counter last: once it moved, /api/status shows this attempt. */
  const struct tc_core_metrics *m = tc_core_metrics();
  const char *result[] = {r->ok ? "ok" : "error"};
  tc_metric_set(m->last_reload_ok, NULL, r->ok ? 1 : 0);
  tc_metric_add(m->reloads, result, 1);
}

json_t *tc_reload_status_json(void) {
  pthread_mutex_lock(&g_mu);
  json_t *j = g_state != NULL ? json_deep_copy(g_state) : NULL;
  uint64_t gen = g_generation;
  pthread_mutex_unlock(&g_mu);
  if (j != NULL)
    return j;
  return json_pack("{s:I,s:n,s:n,s:n,s:[],s:[],s:{s:[],s:[],s:[]}}",
                   "generation", (json_int_t)gen, "last_attempt_unix_ms", "ok",
                   "error", "applied", "needs_restart", "channels", "added",
                   "removed", "changed");
}

uint64_t tc_reload_status_generation(void) {
  pthread_mutex_lock(&g_mu);
  uint64_t g = g_generation;
  pthread_mutex_unlock(&g_mu);
  return g;
}

void tc_reload_status_reset(void) {
  pthread_mutex_lock(&g_mu);
  json_decref(g_state);
  g_state = NULL;
  g_generation = 0;
  pthread_mutex_unlock(&g_mu);
}
