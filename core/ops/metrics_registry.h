/* ops/metrics_registry.h — the metrics registry behind host->metric_* and
 * /metrics: counter, gauge and histogram families with labels.
 *
 * Families are registered (usually during init/start) and kept in
 * registration order; a family's series appear in creation order (a family
 * without labels has its single series from registration on, so it renders
 * as 0 before the first update). Families and series are never removed.
 *
 * Threads: every function is safe from any thread. Each family has its own
 * mutex; updates touch only that family. A visitor runs without any registry
 * lock held, on a copy of one series, so it may itself update metrics.
 *
 * Ownership: descriptions are deep-copied at registration; handles stay
 * valid until tc_metrics_registry_free() (never, for the global registry). */
#ifndef TC_OPS_METRICS_REGISTRY_H
#define TC_OPS_METRICS_REGISTRY_H

#include <stddef.h>

#include "tc/metrics.h"

struct tc_metrics_registry;

/* Series per family beyond which updates that would create a new series are
 * dropped (bounds memory when a label value is unexpectedly unbounded). */
#define TC_METRICS_MAX_SERIES 10000

/* Prometheus' default histogram buckets (seconds), used when a histogram
 * description has bucket_count == 0. */
extern const double tc_metrics_default_buckets[];
extern const size_t tc_metrics_default_bucket_count;

/* A new empty registry (NULL on ENOMEM) and its release. */
struct tc_metrics_registry *tc_metrics_registry_new(void);
void tc_metrics_registry_free(struct tc_metrics_registry *r);

/* The process-wide registry, created on first use; never freed. */
struct tc_metrics_registry *tc_metrics_registry_global(void);

/* Register a family. Validates the name ([a-zA-Z_:][a-zA-Z0-9_:]*), label
 * names ([a-zA-Z_][a-zA-Z0-9_]*, unique, not "__"-prefixed, no "le" on a
 * histogram), the kind, and histogram buckets (finite, strictly
 * ascending). Registering an identical description again returns the same
 * handle; a different description under a taken name is an error.
 * Returns the handle, or NULL with *err (malloc()ed, one line). */
struct tc_metric *tc_metrics_register(struct tc_metrics_registry *r,
                                      const struct tc_metric_desc *desc,
                                      char **err);

/* Updates. `label_values` has the family's arity (NULL entries read as "",
 * a NULL array as all ""). Calls that do not fit the kind are ignored:
 * add() on counters and gauges (a negative delta on a counter is dropped),
 * set() on gauges and on counters when it does not decrease them,
 * observe() on histograms (NaN is dropped). NULL `m` is a no-op. */
void tc_metric_add(struct tc_metric *m, const char *const *label_values,
                   double delta);
void tc_metric_set(struct tc_metric *m, const char *const *label_values,
                   double value);
void tc_metric_observe(struct tc_metric *m, const char *const *label_values,
                       double value);

/* The family's description (the registry's copy). */
const struct tc_metric_desc *tc_metric_desc(const struct tc_metric *m);

/* Call fn once per series: families in registration order, series in
 * creation order, each sample a consistent snapshot of its series. Stops at
 * the first non-TC_OK return and returns it; TC_OK after a full walk,
 * TC_ENOMEM when a snapshot could not be taken. */
int tc_metrics_visit(struct tc_metrics_registry *r, tc_metric_visit_fn fn,
                     void *ud);

#endif /* TC_OPS_METRICS_REGISTRY_H */
