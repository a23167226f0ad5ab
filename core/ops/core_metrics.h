/* ops/core_metrics.h — the core's own metric families (docs/operations.md
 * lists them), registered once in the process-wide registry.
 *
 * Every family is named tunnel_client_*. Handles are created on first use
 * (pthread_once) and valid for the life of the process; updating one costs
 * that family's mutex and nothing global. A NULL handle (registration ran
 * out of memory) is a no-op in every tc_metric_* call.
 * Threads: any. */
#ifndef TC_OPS_CORE_METRICS_H
#define TC_OPS_CORE_METRICS_H

#include "ops/metrics_registry.h"

struct tc_core_metrics {
  struct tc_metric *polls;                 /* counter {result} */
  struct tc_metric *commands_received;     /* counter {channel,type} */
  struct tc_metric *commands_completed;    /* counter {channel,type,outcome} */
  struct tc_metric *queue_depth;           /* gauge */
  struct tc_metric *queue_capacity;        /* gauge */
  struct tc_metric *workers_busy;          /* gauge */
  struct tc_metric *workers;               /* gauge */
  struct tc_metric *mcp_call_duration;     /* histogram {channel} */
  struct tc_metric *post_retries;          /* counter */
  struct tc_metric *posts_abandoned;       /* counter {reason} */
  struct tc_metric *last_poll_success;     /* gauge, unix seconds */
  struct tc_metric *ready;                 /* gauge 1/0 */
  struct tc_metric *build_info;            /* gauge {version} = 1 */
  struct tc_metric *reloads;               /* counter {result} */
  struct tc_metric *last_reload_ok;        /* gauge 1/0 */
  struct tc_metric *reply_bytes;           /* gauge: reply budget in use */
  struct tc_metric *reply_budget_limit;    /* gauge: the budget */
  struct tc_metric *reply_budget_refusals; /* counter */
};

/* The handles (registered on the first call). Never NULL. */
const struct tc_core_metrics *tc_core_metrics(void);

#endif /* TC_OPS_CORE_METRICS_H */
