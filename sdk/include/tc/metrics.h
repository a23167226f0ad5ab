/* tc/metrics.h — metric descriptions, samples, and the metrics-sink kind.
 *
 * The core owns one registry. Anything (core or module) registers metric
 * families through host->metric_register() during init or start, and updates
 * them from any thread through host->metric_add/set/observe (lock-free or
 * sharded on the hot path). Sinks read the registry with host->metrics_visit.
 *
 * A sink is either pull (render() serves `/metrics`) or push (start() runs
 * its own exporter thread that calls metrics_visit periodically). */
#ifndef TC_METRICS_H
#define TC_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "tc/module.h"

#ifdef __cplusplus
extern "C" {
#endif

enum tc_metric_kind {
  TC_METRIC_COUNTER = 1,  /* monotonically increasing */
  TC_METRIC_GAUGE = 2,    /* set, or moved up and down */
  TC_METRIC_HISTOGRAM = 3 /* observations into fixed buckets */
};

struct tc_metric_desc {
  size_t struct_size;
  const char *name;               /* [a-zA-Z_:][a-zA-Z0-9_:]* */
  const char *help;               /* one line */
  int kind;                       /* enum tc_metric_kind */
  const char *const *label_names; /* NULL-terminated, or NULL for none */
  const double *buckets;          /* histogram upper bounds, ascending */
  size_t bucket_count;            /* without the implicit +Inf bucket */
};

/* Opaque handle of one registered family; valid until exit. */
struct tc_metric;

/* One series as seen by a visitor; every pointer is borrowed for the call. */
struct tc_metric_sample {
  size_t struct_size;
  const struct tc_metric_desc *desc;
  const char *const *label_values; /* same arity as desc->label_names */
  double value;                    /* counter/gauge value */
  uint64_t count;                  /* histogram: observations */
  double sum;                      /* histogram: sum of observations */
  const uint64_t *bucket_counts;   /* histogram: cumulative, bucket_count+1 */
};

/* Return TC_OK to continue, anything else stops the walk (and is returned). */
typedef int (*tc_metric_visit_fn)(void *ud, const struct tc_metric_sample *s);

enum tc_metrics_sink_flags {
  TC_SINK_PULL = 1u << 0, /* render() serves /metrics */
  TC_SINK_PUSH = 1u << 1  /* start() exports on its own schedule */
};

struct tc_metrics_sink_vtable {
  size_t struct_size;
  const char *name; /* unique among sinks, e.g. "prometheus" */
  unsigned flags;   /* enum tc_metrics_sink_flags; at least one */

  /* Optional. Main thread, after init. *inst is the instance (may be NULL). */
  int (*create)(const struct tc_host *host, void **inst, char **errmsg);
  /* Mandatory for PUSH. Main thread; may start threads and open sockets. */
  int (*start)(void *inst, char **errmsg);
  /* Mandatory for PULL. Any ops-server thread, concurrently. On TC_OK *out is
   * a malloc()ed buffer of *len bytes the core frees; *content_type is a
   * static string. */
  int (*render)(void *inst, char **out, size_t *len, const char **content_type);
  /* Optional. Main thread, reverse order of start; must join its threads. */
  void (*stop)(void *inst);
  /* Optional. Main thread, after stop. */
  void (*destroy)(void *inst);
};

#ifdef __cplusplus
}
#endif
#endif /* TC_METRICS_H */
