/* ops/cp_status.c — the control-plane state behind /readyz and /api/status
 * (see cp_status.h), and the poll metrics. */
#include "ops/cp_status.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ops/core_metrics.h"

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static struct tc_cp_status g_st; /* guarded by g_mu */

static int64_t unix_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void tc_cp_status_record(enum tc_cp_status_source src, int http_status, bool ok,
                         const char *error, size_t commands) {
  const struct tc_core_metrics *m = tc_core_metrics();
  int64_t now = unix_ms();
  if (src == TC_CP_STATUS_POLL) {
    const char *result = ok ? (commands > 0 ? "commands" : "empty")
                         : http_status != 0 ? "http_error"
                                            : "network_error";
    tc_metric_add(m->polls, &result, 1);
    if (ok)
      tc_metric_set(m->last_poll_success, NULL, (double)now / 1000.0);
  }
  pthread_mutex_lock(&g_mu);
  if (http_status != 0) {
    g_st.reached = true;
    g_st.last_http_status = http_status;
    g_st.rejected = http_status == 401 || http_status == 403;
  }
  if (src == TC_CP_STATUS_POLL) {
    g_st.polls_total++;
    if (!ok)
      g_st.poll_errors_total++;
    g_st.last_poll_unix_ms = now;
  }
  if (ok)
    g_st.last_error[0] = '\0';
  else
    snprintf(g_st.last_error, sizeof(g_st.last_error), "%s",
             error != NULL && error[0] != '\0' ? error : "request failed");
  pthread_mutex_unlock(&g_mu);
}

void tc_cp_status_get(struct tc_cp_status *out) {
  pthread_mutex_lock(&g_mu);
  *out = g_st;
  pthread_mutex_unlock(&g_mu);
}

void tc_cp_status_reset(void) {
  pthread_mutex_lock(&g_mu);
  memset(&g_st, 0, sizeof(g_st));
  pthread_mutex_unlock(&g_mu);
}
