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

/* ---- route.c: channel -> transport instance. ---------------------------- */

struct tc_dispatch_route {
  char *channel; /* canonical, owned */
  const struct tc_transport_vtable *vt;
  void *inst;
  struct tc_binding binding; /* strings borrowed from cfg */
  int started;
  int serial; /* TC_TRANSPORT_SERIAL: serial_mu held around every call */
  pthread_mutex_t serial_mu;
  /* Admin counters (/api/channels); any worker thread. */
  atomic_uint_fast64_t requests_total, errors_total;
  atomic_int in_flight;
  pthread_mutex_t stat_mu; /* guards last_error */
  char last_error[200];    /* "" = none */
};

/* Count one finished command on the route: outcome "ok" or not; `error`
 * (one line, may be NULL) becomes last_error when not ok. */
void tc_dispatch_route_count(struct tc_dispatch_route *r, int ok,
                             const char *error);

struct tc_dispatch_routes {
  struct tc_dispatch_route *items;
  size_t count;
  char **child_env; /* tc_child_env_build(); bindings borrow it */
};

/* Create and start one instance per cfg binding, in config order. Returns
 * 0, or -1 with *err naming the channel and transport; whatever was made is
 * then already torn down. Main thread. */
int tc_dispatch_routes_open(struct tc_dispatch_routes *rs,
                            const struct tc_config *cfg,
                            const struct tc_registry *reg, char **err);
/* Stop every instance, then destroy them, in reverse order. Main thread,
 * after the workers exited. Idempotent. */
void tc_dispatch_routes_close(struct tc_dispatch_routes *rs);
/* The route serving `channel`, or NULL. */
struct tc_dispatch_route *tc_dispatch_route_find(struct tc_dispatch_routes *rs,
                                                 const char *channel);
/* The metrics label for a command's channel: the route's own name when a
 * binding serves it ("" reads as main), else TC_DISPATCH_UNKNOWN_CHANNEL,
 * so channel names taken from the wire never create series without bound.
 * The result is borrowed from the routes or static. */
#define TC_DISPATCH_UNKNOWN_CHANNEL "__unknown__"
const char *tc_dispatch_channel_label(struct tc_dispatch_routes *rs,
                                      const char *channel);
/* call() / terminate_session() honouring TC_TRANSPORT_SERIAL. */
int tc_dispatch_route_call(struct tc_dispatch_route *r,
                           const struct tc_request *req,
                           const struct tc_sink *sink);
int tc_dispatch_route_terminate(struct tc_dispatch_route *r,
                                const struct tc_request *req, int *status);

/* ---- command_exec.c: one command end to end. ---------------------------- */

/* What every worker shares; read-only while workers run (but cancel_all). */
struct tc_dispatch_env {
  struct tc_dispatch_routes *routes;
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

#endif /* TC_DISPATCH_DISPATCH_INTERNAL_H */
