/* ops/ops_context.h — what the ops listener's routes read: the agent's
 * configuration, module registry, dispatcher and readiness. Every pointer
 * is borrowed and must outlive the listener (tc_health_stop first). Any
 * member may be NULL (unit tests): the routes that need it then answer 503
 * or show empty data. */
#ifndef TC_OPS_OPS_CONTEXT_H
#define TC_OPS_OPS_CONTEXT_H

#include <stdint.h>

struct tc_config;
struct tc_registry;
struct tc_dispatcher;
struct tc_readiness;

struct tc_ops_context {
  const struct tc_config *cfg;
  const struct tc_registry *reg;
  struct tc_dispatcher *disp;
  struct tc_readiness *readiness;
  int64_t started_unix_ms; /* process start, for /api/status */
};

#endif /* TC_OPS_OPS_CONTEXT_H */
