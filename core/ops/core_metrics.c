/* ops/core_metrics.c — registration of the core's metric families (see
 * core_metrics.h). Registration order is the /metrics order. */
#include "ops/core_metrics.h"

#include <pthread.h>
#include <stdlib.h>

#include "dispatch/reply_budget.h"
#include "util/log.h"

static struct tc_core_metrics g_metrics;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

/* MCP calls are usually fast (local servers) but may stream for minutes. */
static const double call_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                      0.1,   0.25,   0.5,   1,    2.5,   5,
                                      10,    30,     60,    300};

static struct tc_metric *reg(const char *name, const char *help, int kind,
                             const char *const *labels) {
  struct tc_metric_desc d = {sizeof(d), name, help, kind, labels, NULL, 0};
  if (kind == TC_METRIC_HISTOGRAM) {
    d.buckets = call_buckets;
    d.bucket_count = sizeof(call_buckets) / sizeof(call_buckets[0]);
  }
  char *err = NULL;
  struct tc_metric *m =
      tc_metrics_register(tc_metrics_registry_global(), &d, &err);
  if (m == NULL) {
    tc_log(TC_LOG_WARN, "metrics", "metric family not registered", "name", name,
           "error", err, NULL);
    free(err);
  }
  return m;
}

static void register_all(void) {
  static const char *const result[] = {"result", NULL};
  static const char *const chan_type[] = {"channel", "type", NULL};
  static const char *const chan_type_outcome[] = {"channel", "type", "outcome",
                                                  NULL};
  static const char *const channel[] = {"channel", NULL};
  static const char *const version[] = {"version", NULL};
  struct tc_core_metrics *m = &g_metrics;
  m->build_info = reg("tunnel_client_build_info",
                      "Always 1; the version label names the build.",
                      TC_METRIC_GAUGE, version);
  m->ready = reg("tunnel_client_ready",
                 "1 when /readyz answers 200, else 0 (evaluated on scrape).",
                 TC_METRIC_GAUGE, NULL);
  m->polls = reg("tunnel_client_polls_total",
                 "Control-plane polls by result: commands, empty, "
                 "http_error, network_error.",
                 TC_METRIC_COUNTER, result);
  m->last_poll_success =
      reg("tunnel_client_last_successful_poll_timestamp_seconds",
          "Unix time of the last poll the control plane answered 200/204 "
          "(0 before the first).",
          TC_METRIC_GAUGE, NULL);
  m->commands_received = reg("tunnel_client_commands_received_total",
                             "Commands taken from polls into the queue.",
                             TC_METRIC_COUNTER, chan_type);
  m->commands_completed =
      reg("tunnel_client_commands_completed_total",
          "Commands finished, by outcome: ok (2xx posted), error (non-2xx "
          "posted), post_failed, no_response (nothing was due or deadline "
          "passed).",
          TC_METRIC_COUNTER, chan_type_outcome);
  m->queue_depth = reg("tunnel_client_queue_depth",
                       "Commands queued and not yet taken by a worker.",
                       TC_METRIC_GAUGE, NULL);
  m->queue_capacity =
      reg("tunnel_client_queue_capacity",
          "Queue slots (--control-plane.max-inflight).", TC_METRIC_GAUGE, NULL);
  m->workers_busy =
      reg("tunnel_client_workers_busy", "Workers running a command now.",
          TC_METRIC_GAUGE, NULL);
  m->workers = reg("tunnel_client_workers",
                   "Worker threads started (on demand, up to "
                   "--mcp.max-concurrent-requests).",
                   TC_METRIC_GAUGE, NULL);
  m->mcp_call_duration = reg("tunnel_client_mcp_call_duration_seconds",
                             "Time a transport took to answer one MCP call.",
                             TC_METRIC_HISTOGRAM, channel);
  m->post_retries = reg("tunnel_client_response_post_retries_total",
                        "Response POSTs retried after a retryable failure.",
                        TC_METRIC_COUNTER, NULL);
  static const char *const reason[] = {"reason", NULL};
  m->posts_abandoned =
      reg("tunnel_client_response_posts_abandoned_total",
          "Terminal responses the agent gave up posting, by reason: "
          "deadline (the command's deadline passed), budget (no deadline "
          "and the retry budget ran out), shutdown (the shutdown grace ran "
          "out), rejected (the control plane refused it: 400, 401, 403, "
          "413, 500...), error (it could not be sent at all).",
          TC_METRIC_COUNTER, reason);
  m->reloads = reg("tunnel_client_config_reloads_total",
                   "Configuration reloads (SIGHUP) by result: ok, error.",
                   TC_METRIC_COUNTER, result);
  m->last_reload_ok =
      reg("tunnel_client_config_last_reload_successful",
          "0 when the last configuration reload was refused (the running "
          "configuration stayed), else 1.",
          TC_METRIC_GAUGE, NULL);
  tc_metric_set(m->last_reload_ok, NULL, 1);
  static const char *const reload_results[] = {"ok", "error"};
  for (size_t i = 0; i < 2; i++)
    tc_metric_add(m->reloads, &reload_results[i], 0);
  m->reply_bytes =
      reg("tunnel_client_mcp_reply_bytes",
          "Bytes of MCP replies held now (received or waiting to be "
          "posted), counted against --mcp.max-inflight-reply-bytes.",
          TC_METRIC_GAUGE, NULL);
  m->reply_budget_limit =
      reg("tunnel_client_mcp_reply_budget_bytes",
          "The in-flight reply budget (--mcp.max-inflight-reply-bytes).",
          TC_METRIC_GAUGE, NULL);
  m->reply_budget_refusals =
      reg("tunnel_client_mcp_reply_budget_refusals_total",
          "Reservations refused because the in-flight reply budget was "
          "full; each fails one call with reply_budget_exhausted.",
          TC_METRIC_COUNTER, NULL);
  const char *v[] = {TC_VERSION};
  tc_metric_set(m->build_info, v, 1);
  /* Every poll result shows as 0 from the first scrape on. */
  static const char *const results[] = {"commands", "empty", "http_error",
                                        "network_error"};
  for (size_t i = 0; i < sizeof(results) / sizeof(results[0]); i++)
    tc_metric_add(m->polls, &results[i], 0);
  static const char *const reasons[] = {"deadline", "budget", "shutdown",
                                        "rejected", "error"};
  for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
    tc_metric_add(m->posts_abandoned, &reasons[i], 0);
  tc_metric_set(m->reply_bytes, NULL, 0);
  tc_metric_set(m->reply_budget_limit, NULL, (double)TC_REPLY_BUDGET_DEFAULT);
  tc_metric_add(m->reply_budget_refusals, NULL, 0);
}

const struct tc_core_metrics *tc_core_metrics(void) {
  pthread_once(&g_once, register_all);
  return &g_metrics;
}
