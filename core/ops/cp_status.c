/* ops/cp_status.c — the control-plane state behind /readyz and /api/status
 * (see cp_status.h), and the poll metrics. */
#include "ops/cp_status.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ops/core_metrics.h"

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static struct tc_cp_status g_st; /* guarded by g_mu */
static bool g_poll_decided;      /* a poll gave a definitive answer; g_mu */

static int64_t unix_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool is_refusal(int http_status) {
  return http_status == 401 || http_status == 403 || http_status == 404;
}

/* The envelope code when it is a plain token (it comes from the remote
 * service and ends up in /readyz), else "". */
static void keep_code(char *out, size_t len, const char *code) {
  out[0] = '\0';
  if (code == NULL || strlen(code) >= len)
    return;
  for (const char *p = code; *p != '\0'; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
          (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '.'))
      return;
  snprintf(out, len, "%s", code);
}

/* Caller holds g_mu. */
static void update_access(enum tc_cp_status_source src, int http_status,
                          bool ok, const char *api_code) {
  bool definitive = ok || is_refusal(http_status);
  if (!definitive || (src == TC_CP_STATUS_METADATA && g_poll_decided))
    return;
  if (src == TC_CP_STATUS_POLL)
    g_poll_decided = true;
  g_st.refused_status = ok ? 0 : http_status;
  if (ok)
    g_st.refused_code[0] = '\0';
  else
    keep_code(g_st.refused_code, sizeof(g_st.refused_code), api_code);
  g_st.rejected = g_st.refused_status != 0;
}

void tc_cp_status_record(enum tc_cp_status_source src, int http_status, bool ok,
                         const char *error, const char *api_code,
                         size_t commands) {
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
  }
  update_access(src, http_status, ok, api_code);
  if (src == TC_CP_STATUS_POLL) {
    g_st.polls_total++;
    if (!ok)
      g_st.poll_errors_total++;
    g_st.last_poll_unix_ms = now;
    if (ok)
      g_st.last_poll_ok_unix_ms = now;
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
  g_poll_decided = false;
  pthread_mutex_unlock(&g_mu);
}

char *tc_cp_status_refusal(const struct tc_cp_status *st, bool *oom) {
  *oom = false;
  const char *what, *check;
  switch (st->refused_status) {
  case 401:
    what = "control plane rejected the API key";
    check = "set control_plane.api_key (CONTROL_PLANE_API_KEY) to a runtime "
            "API key of the organization that owns the tunnel";
    break;
  case 403:
    what = "control plane refuses this tunnel to the API key";
    check = "use a runtime API key of the organization or project that owns "
            "the tunnel, and set control_plane.organization_id when the "
            "tunnel belongs to an organization";
    break;
  case 404:
    what = "control plane does not know this tunnel id";
    check = "check control_plane.tunnel_id against "
            "https://platform.openai.com/settings/organization/tunnels, and "
            "that control_plane.base_url and url_path name the service that "
            "hosts it";
    break;
  default:
    return NULL;
  }
  char *s = NULL;
  if (asprintf(&s, "%s (HTTP %d%s%s): %s", what, st->refused_status,
               st->refused_code[0] ? " " : "", st->refused_code, check) < 0) {
    *oom = true;
    return NULL;
  }
  return s;
}
