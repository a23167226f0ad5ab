/* dispatch/dispatcher.h — the bounded command queue and the worker pool
 * that runs each control-plane command against its channel's transport
 * (protocol.md §1.6–§1.7, §3; DESIGN.md §4).
 *
 * The poller submits decoded commands; `mcp.max-concurrent-requests`
 * workers take them in FIFO order, resolve the deadline, route by channel
 * (no binding -> 400, never a fallback to main), call the transport and
 * post every result through the poster: notifications strictly before the
 * one terminal response, nothing after the deadline.
 *
 * Threads: new/drain/free and the reload calls on the main thread;
 * free_slots, wait_slot and submit from the poller (any one thread at a time is
 * not required: they are synchronised). The poster is called from worker
 * threads, concurrently, and must stay valid until tc_dispatcher_free()
 * returns. */
#ifndef TC_DISPATCH_DISPATCHER_H
#define TC_DISPATCH_DISPATCHER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"
#include "controlplane/command.h"
#include "controlplane/response.h"
#include "loader/loader.h"
#include "tc/transport.h"

/* Where results go. post() returns 0 when the response was delivered (or
 * the service answered it terminally), else < 0 with *err malloc()ed (the
 * dispatcher logs and frees it). `deadline_ns` is monotonic, 0 = none. */
struct tc_dispatch_poster {
  void *ud;
  /* e.g. tc_cp_post. `stop_retries` turns non-zero when the shutdown
   * grace ran out: finish the attempt under way, start no other. */
  int (*post)(void *ud, const struct tc_cp_command *cmd,
              const struct tc_cp_response *r, uint64_t deadline_ns,
              const atomic_int *stop_retries, char **err);
};

struct tc_dispatcher;

/* The binding a transport (and the net hooks) see for a configured one:
 * strings borrowed from cfg and bc, `channel` from the caller. Proxy and
 * mTLS defaults (mcp.http_proxy, mcp.client_cert) are not folded in: net
 * hooks resolve them. Also used by `doctor` to prepare its probes exactly
 * as the transport would. `child_env` (borrowed, may be NULL: inherit) is
 * the environment a stdio child gets. */
void tc_binding_from_cfg(struct tc_binding *b, const struct tc_config *cfg,
                         const struct tc_binding_cfg *bc, const char *channel,
                         char **child_env);

/* Create and start one transport instance per cfg binding (registry lookup
 * by binding->transport), a queue of cfg->cp_max_inflight slots and
 * cfg->mcp_max_concurrent workers. cfg is read during the call only; reg
 * and the poster's ud are borrowed until tc_dispatcher_free() (reg must
 * provide every transport later plans name). Returns 0, or -1 with *err
 * (malloc()ed, one line naming the channel and transport) and nothing
 * left running. */
int tc_dispatcher_new(struct tc_dispatcher **out, const struct tc_config *cfg,
                      struct tc_registry *reg,
                      const struct tc_dispatch_poster *poster, char **err);

/* Free queue slots now (0 once draining). */
size_t tc_dispatcher_free_slots(struct tc_dispatcher *d);

/* Wait up to timeout_ms (< 0: without limit) for a free slot. Returns 1
 * when one is free, 0 on timeout or once draining. */
int tc_dispatcher_wait_slot(struct tc_dispatcher *d, int timeout_ms);

/* Queue a command: its members move into the queue and *cmd is zeroed.
 * `receipt_ns` is the monotonic time the poll reply arrived (the deadline's
 * base). Returns 0, or -1 when the queue is full or draining (then *cmd is
 * left untouched and still owned by the caller). */
int tc_dispatcher_submit(struct tc_dispatcher *d, struct tc_cp_command *cmd,
                         uint64_t receipt_ns);

/* ---- channels: views for the ops listener and readiness ----------------
 * A view is the set of channels at one moment, in config order. It keeps
 * their transport instances alive (a reload may replace them meanwhile) and
 * is taken without any lock the request path uses. Any thread. */
struct tc_dispatch_routes;

/* Take a view (never NULL while d is; NULL when d is NULL). */
struct tc_dispatch_routes *tc_dispatcher_view(struct tc_dispatcher *d);
void tc_dispatch_view_release(struct tc_dispatch_routes *v);
size_t tc_dispatch_view_count(const struct tc_dispatch_routes *v);

/* What the admin API shows for one channel. Strings are borrowed from the
 * view. */
struct tc_dispatch_channel_info {
  const char *name;
  const char *transport;
  const struct tc_binding *binding;
  uint64_t in_flight, requests_total, errors_total;
  char last_error[200]; /* "" = none */
  int has_probe;        /* the transport implements probe() */
  int probed;           /* its startup probe ran */
};

/* 0, or -1 when i is out of range. */
int tc_dispatch_view_info(struct tc_dispatch_routes *v, size_t i,
                          struct tc_dispatch_channel_info *out);
/* The channel's transport probe() (see tc/transport.h): TC_OK, TC_AGAIN,
 * < 0 failed, TC_ENOTSUP when the transport has none. *detail malloc()ed
 * or NULL. */
int tc_dispatch_view_probe(struct tc_dispatch_routes *v, size_t i,
                           char **detail);
/* The channel's transport admin_state() (ABI 1.3): a JSON object in *json
 * (malloc()ed), or TC_ENOTSUP when the transport has none. */
int tc_dispatch_view_admin_state(struct tc_dispatch_routes *v, size_t i,
                                 char **json);
/* Record that channel i's startup probe ran (it stays with the instance
 * when a reload keeps it). */
void tc_dispatch_view_mark_probed(struct tc_dispatch_routes *v, size_t i);

/* ---- reload: replacing the channel set while commands run ---------------
 * Main thread. A plan builds the channel set a new configuration asks for:
 * a channel whose binding is unchanged keeps its instance, and so does one
 * whose transport says the change does not affect it (reusable_for, ABI
 * 1.3); every other channel gets a new instance, created and started here.
 * Commit publishes the set for new commands; commands already running
 * finish on the instance they started on, and a replaced instance is
 * stopped and destroyed by tc_dispatcher_reap() after its last call. */
struct tc_dispatch_plan {
  /* Channel names, config order (removed: running order). */
  char **added, **removed, **changed;
  size_t added_count, removed_count, changed_count;
  /* Private. */
  struct tc_dispatch_routes *next;
  struct tc_dispatch_inst **created;
  size_t created_count;
};

/* Build a plan for cfg's bindings (cfg is only read during the call).
 * Returns 0, or -1 with *err (malloc()ed, naming the channel and transport
 * that failed); then nothing was created and the running set is intact. */
int tc_dispatcher_plan(struct tc_dispatcher *d, const struct tc_config *cfg,
                       struct tc_dispatch_plan **out, char **err);
/* Publish the plan's set. Cannot fail. The plan's name lists stay for the
 * caller's report: free it with tc_dispatch_plan_free() afterwards. */
void tc_dispatcher_commit(struct tc_dispatcher *d, struct tc_dispatch_plan *p);
/* Free a committed plan. NULL is a no-op. */
void tc_dispatch_plan_free(struct tc_dispatch_plan *p);
/* Drop a plan that will not be committed: its new instances are stopped
 * and destroyed. NULL is a no-op. */
void tc_dispatcher_abandon(struct tc_dispatcher *d, struct tc_dispatch_plan *p);
/* Stop and destroy replaced instances that no call, probe or view uses any
 * more. Returns how many replaced instances are still in use. */
size_t tc_dispatcher_reap(struct tc_dispatcher *d);

/* The channel's transport admin_state() (ABI 1.3): TC_OK with *json
 * (malloc()ed JSON object text), TC_ENOTSUP when the transport has none.
 * Any thread. */
int tc_dispatcher_channel_admin_state(struct tc_dispatcher *d, size_t i,
                                      char **json);

/* Stop accepting; let the workers finish queued and in-flight commands
 * within grace_ms; then cancel in-flight calls (the transports see
 * is_canceled() turn true), answer still-queued commands whose deadline has
 * not passed with a synthesized failure, and wait for the workers to exit.
 * Every terminal response still due is posted before this returns.
 * Idempotent; main thread. */
void tc_dispatcher_drain(struct tc_dispatcher *d, int64_t grace_ms);

/* Drain with no grace if not drained yet, stop and destroy the transport
 * instances (reverse order), free everything. NULL is a no-op. */
void tc_dispatcher_free(struct tc_dispatcher *d);

#endif /* TC_DISPATCH_DISPATCHER_H */
