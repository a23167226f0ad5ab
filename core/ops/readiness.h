/* ops/readiness.h — /readyz: the startup probe runner and the readiness
 * verdict (docs/operations.md "Readiness").
 *
 * Order, first failing stage wins (503 with its reason):
 *   1. every hook's readiness() (TC_AGAIN or < 0);
 *   2. a channel's startup probe has not run yet: "mcp startup probe
 *      pending" (also right after a reload added or replaced a channel);
 *   3. each channel's probe() (TC_AGAIN or < 0; a TC_OK detail is a note);
 *   4. the control plane: "control plane not reached: <last error>" until
 *      its first HTTP answer, then, while its latest definitive answer
 *      refuses this agent (cp_status.h), what the refusal means and what
 *      to check: "control plane rejected the API key (HTTP 401): ...",
 *      "... refuses this tunnel to the API key (HTTP 403): ...", "...
 *      does not know this tunnel id (HTTP 404): ...";
 * then 200 "ready" or "ready (<note>; <note>)".
 *
 * The runner is one background thread that calls the probe() of every
 * channel whose startup probe has not run yet, in config order (each may
 * block up to the transport's own probe timeout, or the startup wait), then
 * sleeps until a reload brings new channels (tc_readiness_probe_new).
 * Threads: new/start/probe_new/free on the main thread; check and the
 * waits from any thread. */
#ifndef TC_OPS_READINESS_H
#define TC_OPS_READINESS_H

#include <stdbool.h>
#include <stddef.h>

struct tc_registry;
struct tc_dispatcher;
struct tc_readiness;

/* reg and d are borrowed and must outlive the readiness object (d may be
 * NULL: no channels). Returns 0, or -1 on ENOMEM. */
int tc_readiness_new(struct tc_readiness **out, const struct tc_registry *reg,
                     struct tc_dispatcher *d);
/* Start the startup probe runner. 0, or -1 with *err (malloc()ed). */
int tc_readiness_start_probes(struct tc_readiness *r, char **err);
/* Wait up to timeout_ms until every current channel had its startup probe;
 * true when they all had. */
bool tc_readiness_wait_probes(struct tc_readiness *r, int timeout_ms);
/* After a reload committed new channels: probe those not probed yet. */
void tc_readiness_probe_new(struct tc_readiness *r);

struct tc_readiness_verdict {
  bool ready;
  char *text;     /* the /readyz body: "ready", "ready (...)" or reason */
  char **reasons; /* every failing stage's reason, in order */
  size_t reason_count;
};
/* Evaluate now (answers at once; never blocks on I/O). 0, or -1 on ENOMEM.
 * Also sets the tunnel_client_ready gauge. */
int tc_readiness_check(struct tc_readiness *r, struct tc_readiness_verdict *v);
void tc_readiness_verdict_clear(struct tc_readiness_verdict *v);

/* Stop and join the runner (it may still be in a probe: bounded by the
 * probe and startup-wait timeouts) and free. Call before the dispatcher is
 * freed.
 * NULL is a no-op. */
void tc_readiness_free(struct tc_readiness *r);

#endif /* TC_OPS_READINESS_H */
