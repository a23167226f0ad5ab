/* dispatch/dispatch_internal.h — pieces shared by the dispatcher's files;
 * the rest of the core uses dispatcher.h. */
#ifndef TC_DISPATCH_DISPATCH_INTERNAL_H
#define TC_DISPATCH_DISPATCH_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "dispatch/dispatcher.h"
#include "tc/transport.h"
#include "util/published.h"

/* Monotonic clock in nanoseconds (the clock receipt_ns is taken on). */
uint64_t tc_dispatch_now_ns(void);

/* ---- queue.c: bounded FIFO of commands; every call is thread-safe. ------ */

struct tc_dispatch_item {
  struct tc_cp_command cmd; /* owned by the queue while queued */
  uint64_t receipt_ns;
};

struct tc_dispatch_queue {
  pthread_mutex_t mu;
  pthread_cond_t not_empty; /* an item arrived, or the queue closed */
  pthread_cond_t not_full;  /* a slot freed, or the queue closed */
  struct tc_dispatch_item *items;
  size_t cap, head, count;
  int closed;
};

/* 0, or -1 on ENOMEM. cap >= 1. */
int tc_dispatch_queue_init(struct tc_dispatch_queue *q, size_t cap);
/* Clears commands still queued (nothing is posted) and frees the queue. */
void tc_dispatch_queue_destroy(struct tc_dispatch_queue *q);
/* Move *cmd in (zeroing it). -1 when full or closed (cmd untouched). */
int tc_dispatch_queue_push(struct tc_dispatch_queue *q,
                           struct tc_cp_command *cmd, uint64_t receipt_ns);
/* Block for the next item (moved into *out). -1 once closed and empty. */
int tc_dispatch_queue_pop(struct tc_dispatch_queue *q,
                          struct tc_dispatch_item *out);
size_t tc_dispatch_queue_free_slots(struct tc_dispatch_queue *q);
/* 1 when a slot is free, 0 on timeout (timeout_ms < 0: none) or closed. */
int tc_dispatch_queue_wait_slot(struct tc_dispatch_queue *q, int timeout_ms);
/* Refuse further pushes; poppers drain what is left, then get -1. */
void tc_dispatch_queue_close(struct tc_dispatch_queue *q);

/* ---- recent_ids.c: duplicate delivery detection. ------------------------ */

#define RECENT_GEN_FILL 2048u  /* ids per generation */
#define RECENT_GEN_SLOTS 4096u /* open-addressing slots per generation */

struct tc_dispatch_recent {
  pthread_mutex_t mu;
  uint64_t gen[2][RECENT_GEN_SLOTS]; /* hashes; 0 = empty slot */
  int cur;                           /* generation receiving inserts */
  size_t fill;                       /* ids in gen[cur] */
};

void tc_dispatch_recent_init(struct tc_dispatch_recent *r);
void tc_dispatch_recent_destroy(struct tc_dispatch_recent *r);
/* The hash a request id is remembered by (never 0). */
uint64_t tc_dispatch_recent_hash(const char *request_id);
/* 1 when the id hashed `h` is among the recent ids. Caller holds r->mu. */
int tc_dispatch_recent_seen_locked(const struct tc_dispatch_recent *r,
                                   uint64_t h);
/* Remember it (forgetting the oldest generation when the current one is
 * full). Caller holds r->mu. */
void tc_dispatch_recent_add_locked(struct tc_dispatch_recent *r, uint64_t h);

/* ---- route.c: transport instances and route sets. ----------------------- */

/* Per-channel admin counters (/api/channels), shared by every instance that
 * serves the channel, across reloads. Reference counted; any thread; freed
 * by whoever drops the last reference. */
struct tc_dispatch_stats {
  atomic_int refs;
  atomic_uint_fast64_t requests_total, errors_total;
  atomic_int in_flight;
  pthread_mutex_t mu;   /* guards last_error */
  char last_error[200]; /* "" = none */
};

/* One transport instance and the binding it was created from (every string
 * and header list owned here, unchanged until destroy: the instance borrows
 * them). References: one per route set holding it, per running call, per
 * in-flight probe. Dropping the last one never destroys it: create, start,
 * stop and destroy run on the main thread only (tc_dispatch_inst_open,
 * tc_dispatch_inst_close), which reaps replaced instances once unused. */
struct tc_dispatch_inst {
  atomic_int refs;
  char *channel; /* canonical */
  const struct tc_transport_vtable *vt;
  void *inst;
  struct tc_binding binding;
  struct tc_headers extra_headers, discovery_extra_headers;
  int serial; /* TC_TRANSPORT_SERIAL: serial_mu held around every call */
  pthread_mutex_t serial_mu;
  int started;
  atomic_bool probed; /* the startup probe ran (readiness.c) */
  struct tc_dispatch_inst *next_retired; /* main thread (reload.c) */
};

/* Create and start an instance for `bc` (channel `channel`) with the
 * shared MCP settings of `cfg`. 0, or -1 with *err naming the channel and
 * transport (nothing left). refs starts at 1 (the caller's). Main thread. */
int tc_dispatch_inst_open(struct tc_dispatch_inst **out,
                          const struct tc_config *cfg,
                          const struct tc_binding_cfg *bc,
                          const struct tc_registry *reg, char **err);
/* The binding `bc` would get, built into *b with owned copies (release with
 * tc_dispatch_binding_clear). 0 or -1 on ENOMEM. */
int tc_dispatch_binding_build(struct tc_binding *b, struct tc_headers *extra,
                              struct tc_headers *discovery,
                              const struct tc_config *cfg,
                              const struct tc_binding_cfg *bc);
void tc_dispatch_binding_clear(struct tc_binding *b, struct tc_headers *extra,
                               struct tc_headers *discovery);
/* 1 when both bindings hold the same values (headers compared in order). */
int tc_dispatch_binding_equal(const struct tc_binding *a,
                              const struct tc_binding *b);
void tc_dispatch_inst_ref(struct tc_dispatch_inst *i);
void tc_dispatch_inst_unref(struct tc_dispatch_inst *i);
/* stop() (when started). Main thread, once no call runs. */
void tc_dispatch_inst_stop(struct tc_dispatch_inst *i);
/* destroy() and free. Main thread, after stop. */
void tc_dispatch_inst_close(struct tc_dispatch_inst *i);

struct tc_dispatch_stats *tc_dispatch_stats_new(void);
void tc_dispatch_stats_ref(struct tc_dispatch_stats *s);
void tc_dispatch_stats_unref(struct tc_dispatch_stats *s);
/* Count one finished command: outcome "ok" or not; `error` (one line, may
 * be NULL) becomes last_error when not ok. */
void tc_dispatch_stats_count(struct tc_dispatch_stats *s, int ok,
                             const char *error);

/* One channel of a route set. */
struct tc_dispatch_route {
  struct tc_dispatch_inst *inst;   /* a reference */
  struct tc_dispatch_stats *stats; /* a reference */
};

/* The channels in config order: immutable once published, reference
 * counted (the dispatcher's publication holds one, each view another). */
struct tc_dispatch_routes {
  atomic_int refs;
  struct tc_dispatch_route *items;
  size_t count;
};

/* An empty set with room for `cap` routes, refs 1; NULL on ENOMEM. */
struct tc_dispatch_routes *tc_dispatch_routes_alloc(size_t cap);
void tc_dispatch_routes_ref(struct tc_dispatch_routes *rs);
/* Drops the set's references on its instances and stats when the last
 * reference goes (any thread; instances are not destroyed here). */
void tc_dispatch_routes_unref(struct tc_dispatch_routes *rs);
/* The route serving `channel`, or NULL. */
struct tc_dispatch_route *tc_dispatch_routes_find(struct tc_dispatch_routes *rs,
                                                  const char *channel);

/* call() / terminate_session() honouring TC_TRANSPORT_SERIAL; call() also
 * counts in_flight and the call duration on the channel. */
int tc_dispatch_inst_call(struct tc_dispatch_inst *i,
                          struct tc_dispatch_stats *s,
                          const struct tc_request *req,
                          const struct tc_sink *sink);
int tc_dispatch_inst_terminate(struct tc_dispatch_inst *i,
                               const struct tc_request *req, int *status);
/* The metrics label for a command's channel, copied into out[len]: the
 * channel's own name when the published set binds it ("" reads as main),
 * else TC_DISPATCH_UNKNOWN_CHANNEL, so channel names taken from the wire
 * never create series without bound. Channel names are at most 64 bytes:
 * TC_DISPATCH_LABEL_MAX fits every label. Any thread, lock-free. */
#define TC_DISPATCH_UNKNOWN_CHANNEL "__unknown__"
#define TC_DISPATCH_LABEL_MAX 72
void tc_dispatch_channel_label(struct tc_published *routes, const char *channel,
                               char *out, size_t len);

/* ---- command_exec.c: one command end to end. ---------------------------- */

/* What every worker shares; read-only while workers run (but cancel_all). */
struct tc_dispatch_env {
  struct tc_published *routes;   /* struct tc_dispatch_routes * */
  const struct tc_registry *reg; /* hooks' on_command/on_response */
  struct tc_dispatch_poster poster;
  atomic_int cancel_all; /* set by drain once the grace ran out */
};

/* Run one command on the calling worker thread and post its results. When
 * `aborting` (drain's grace ran out before the command started) no
 * transport or hook is called: a command still due gets a synthesized
 * failure instead. Does not free *cmd. */
void tc_dispatch_exec(struct tc_dispatch_env *env,
                      const struct tc_cp_command *cmd, uint64_t receipt_ns,
                      int aborting);

/* ---- dispatcher.c / reload.c: the dispatcher itself. -------------------- */

struct tc_dispatcher {
  struct tc_dispatch_queue queue;
  struct tc_published routes; /* struct tc_dispatch_routes *, a reference */
  const struct tc_registry *reg;
  struct tc_dispatch_inst *retired; /* replaced, still in use; main thread */
  struct tc_dispatch_env env;
  struct tc_dispatch_recent recent; /* request ids already submitted */
  pthread_t *threads;               /* thread_max slots */
  size_t thread_count;              /* started so far; guarded by mu */
  size_t thread_max;                /* mcp.max_concurrent_requests */
  size_t queue_cap;                 /* control_plane.max_inflight */
  atomic_size_t idle;               /* workers waiting for a command */
  int no_spawn;                     /* drain began; guarded by mu */
  pthread_mutex_t mu;               /* guards live, thread_count, no_spawn */
  pthread_cond_t all_out;           /* live dropped to 0 */
  size_t live; /* workers that have not finished their loop */
  int drained; /* main thread only */
};

/* Stop and destroy every instance (published and replaced), stops first,
 * in reverse order. After the workers exited and every view was released.
 * Main thread. */
void tc_dispatch_close_all(struct tc_dispatcher *d);

#endif /* TC_DISPATCH_DISPATCH_INTERNAL_H */
