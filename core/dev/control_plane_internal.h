/* dev/control_plane_internal.h — state shared by the dev control plane's
 * files: control_plane.c (lifecycle, routing, replies), control_plane_queue.c
 * (pending requests and the command queue), control_plane_agent.c (poll,
 * response and /_dev routes) and control_plane_ingress.c (MCP ingress).
 *
 * Locking: one mutex (`lock`) guards everything mutable in struct tc_devcp
 * and every struct devcp_pending; `changed` is broadcast on any change a
 * waiter may care about (command queued, message posted, stopping). */
#ifndef TC_DEV_CONTROL_PLANE_INTERNAL_H
#define TC_DEV_CONTROL_PLANE_INTERNAL_H

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "dev/control_plane.h"
#include "util/http_guard.h"
#include "util/http_server.h"
#include "util/sbuf.h"

#define DEVCP_MAX_BODY (1024u * 1024u)
#define DEVCP_MAX_MSGS 16u      /* buffered agent messages per request */
#define DEVCP_RESPONSE_RING 64u /* posted bodies kept for /_dev/responses */
#define DEVCP_DONE_RING 256u    /* finished request ids (duplicate detection) */
#define DEVCP_MAX_FAULTS 64u    /* per fault queue */
#define DEVCP_MAX_PENDING 1024u
#define DEVCP_ID_LEN 48u
#define DEVCP_POLL_LIMIT_RING 64u /* recorded poll `limit` values */
#define DEVCP_MAX_INJECT 256u     /* commands per POST /_dev/commands */
#define DEVCP_POLL_MAX_BATCH 25u  /* commands per poll reply */
#define DEVCP_MAX_INSTANCES 64u   /* agents told apart in /_dev/stats */
#define DEVCP_INSTANCE_LEN 65u    /* X-Tunnel-Client-Instance-Id kept */

/* One-shot fault for the next poll or response request. */
struct devcp_fault {
  int status;           /* 0 = none */
  char retry_after[32]; /* "" = no Retry-After header */
  int reset;            /* close the connection without a reply */
  int64_t delay_ms;     /* sleep before answering */
};

struct devcp_fault_queue {
  struct devcp_fault items[DEVCP_MAX_FAULTS];
  size_t head, count;
};

/* Response types as counted in /_dev/stats (order of the names table). */
enum devcp_resp_type {
  DEVCP_RT_JSONRPC_RESPONSE = 0,
  DEVCP_RT_JSONRPC_NOTIFY,
  DEVCP_RT_NOTIFY_ACK,
  DEVCP_RT_SESSION_TERMINATION,
  DEVCP_RT_OAUTH_DISCOVERY,
  DEVCP_RT_COUNT
};

/* A request from the ingress waiting for the agent. Owned by the ingress
 * call that created it (only it frees, via tc_devcp_pending_finish); the
 * agent routes touch it under the lock while it is linked. */
struct devcp_pending {
  struct devcp_pending *next; /* creation order */
  char request_id[DEVCP_ID_LEN];
  char shard_token[DEVCP_ID_LEN];
  char channel[65]; /* "" = matches every poll filter */
  char *command;    /* compact JSON of the polled command */
  int queued;       /* waiting to be handed out by a poll */
  int detached;     /* injected via /_dev/commands: no ingress call owns it; it
                       is freed when its terminal response arrives (or at stop) */
  int terminal;     /* a terminal response arrived */
  int holder;       /* 1 + index in tc_devcp.instances of the agent the
                       command was last handed to; 0 = none yet */
  json_t *msgs[DEVCP_MAX_MSGS]; /* posted bodies not yet consumed */
  size_t nmsgs;
};

struct devcp_done {
  char request_id[DEVCP_ID_LEN];
  int terminal;
};

/* Counters per agent process, keyed by the X-Tunnel-Client-Instance-Id of
 * its requests ("" = requests without one); /_dev/stats "instances". */
struct devcp_instance {
  char id[DEVCP_INSTANCE_LEN];
  uint64_t polls;
  uint64_t delivered; /* commands handed to it by a poll reply */
  uint64_t requeued;  /* ... whose reply did not reach it: queued again */
  uint64_t answered;  /* terminal responses it posted and we accepted */
  uint64_t abandoned; /* handed to it, finished by the ingress (timeout or
                         caller gone) without a terminal response */
};

struct devcp_stats {
  uint64_t polls, polls_empty, commands_queued, commands_delivered,
      redeliveries, responses[DEVCP_RT_COUNT], responses_rejected,
      duplicate_terminal, faults_served, commands_injected, requeued,
      polls_abandoned;
  uint64_t polls_waiting; /* polls parked in the wait right now (a gauge) */
};

struct tc_devcp {
  struct tc_http_server *http;
  struct tc_http_guard guard; /* Host/Origin: loopback, own, --allowed-hosts */
  char *base_url;
  char *tunnel_id;
  char *api_key;
  char *admin_key;
  json_t *admin_tunnels; /* array of tunnel objects (control_plane_admin.c) */
  uint64_t admin_seq;    /* X-Request-Id counter of the management routes */
  int64_t response_timeout_ms;
  pthread_mutex_t lock;
  pthread_cond_t changed; /* CLOCK_MONOTONIC */
  int stopping;
  struct devcp_pending *pending;
  size_t npending;
  struct devcp_fault_queue poll_faults, response_faults;
  int duplicate_delivery;
  struct devcp_done done[DEVCP_DONE_RING];
  size_t done_next;
  json_t *responses; /* array, the last DEVCP_RESPONSE_RING bodies */
  struct devcp_stats stats;
  struct devcp_instance instances[DEVCP_MAX_INSTANCES]; /* first seen first */
  size_t ninstances; /* the last slot also takes every agent beyond it */
  int64_t poll_limits[DEVCP_POLL_LIMIT_RING]; /* -1 = no limit parameter */
  size_t poll_limits_next, poll_limits_count;
};

/* Per-request state (collected body), freed when the request completes. */
struct devcp_req {
  int too_large;
  struct tc_sbuf body;
  /* Request ids of the commands a poll reply carries; when the reply is not
   * delivered (MHD termination code != COMPLETED_OK) they are queued again
   * at the front (tc_devcp_requeue). */
  char delivered[DEVCP_POLL_MAX_BATCH][DEVCP_ID_LEN];
  size_t ndelivered;
};

/* ---- control_plane.c: replies --------------------------------------------
 * Each queues a copied body with optional extra (name, value) pairs ended by
 * NULL, and returns what MHD_queue_response returned. */
enum MHD_Result tc_devcp_respond(struct MHD_Connection *c, unsigned int status,
                                 const char *ctype, const char *body,
                                 size_t len, ...);
/* {"error":{"message","type","param":null,"code"}}; code may be NULL;
 * retry_after NULL or "" = no Retry-After header. */
enum MHD_Result tc_devcp_respond_error(struct MHD_Connection *c,
                                       unsigned int status, const char *type,
                                       const char *code, const char *message,
                                       const char *retry_after);
/* A JSON value (stolen) as application/json. */
enum MHD_Result tc_devcp_respond_json(struct MHD_Connection *c,
                                      unsigned int status, json_t *v);
/* Absolute CLOCK_MONOTONIC time `ms` from now. */
void tc_devcp_deadline(int64_t ms, struct timespec *out);
/* 1 when `name` is ^[a-z0-9_-]{1,64}$. */
int tc_devcp_valid_channel(const char *name);
/* "http://<Host>" of the request when Host is plain, else the base URL;
 * malloc()ed, NULL on ENOMEM. */
char *tc_devcp_public_base(const struct tc_devcp *s, struct MHD_Connection *c);

/* ---- control_plane_queue.c -------------------------------------------------
 */
/* Create, link and queue a command (wakes pollers). `headers` ({name:
 * [values]}) is stolen; `jsonrpc` is borrowed (NULL for types without one).
 * Returns the pending entry or NULL (ENOMEM, too many pending, stopping). */
struct devcp_pending *tc_devcp_pending_new(struct tc_devcp *s,
                                           const char *command_type,
                                           const char *channel, json_t *headers,
                                           json_t *jsonrpc);
/* Wait until the agent posted a message for `p` or the deadline passes.
 * Returns 1 with *msg (caller owns), 0 on timeout, -1 when stopping. */
int tc_devcp_pending_next(struct tc_devcp *s, struct devcp_pending *p,
                          const struct timespec *deadline, json_t **msg);
/* Unlink and free `p`; remember its id for duplicate detection. */
void tc_devcp_pending_finish(struct tc_devcp *s, struct devcp_pending *p);
/* The same minus the free(): unlink `p` and remember its id. Caller holds
 * the lock and frees `p` afterwards with tc_devcp_pending_free. */
void tc_devcp_pending_unlink_locked(struct tc_devcp *s,
                                    struct devcp_pending *p);
void tc_devcp_pending_free(struct devcp_pending *p); /* NULL: no-op */
/* Queue raw command objects (a JSON array, borrowed) for delivery as given,
 * adding request_id / shard_token when absent (detached entries). Returns 0
 * and *ids (new array of the request ids), or -1 with *why (static text)
 * and nothing queued. */
int tc_devcp_inject(struct tc_devcp *s, json_t *commands, json_t **ids,
                    const char **why);
/* Put the still-unanswered commands among `ids` back at the front of the
 * queue (in their order) and wake pollers; returns how many. */
size_t tc_devcp_requeue(struct tc_devcp *s, char (*ids)[DEVCP_ID_LEN],
                        size_t n);
/* Find a linked entry by request id. Caller holds the lock. */
struct devcp_pending *tc_devcp_pending_find_locked(struct tc_devcp *s,
                                                   const char *request_id);
/* The finished-id record for `request_id` or NULL. Caller holds the lock. */
const struct devcp_done *tc_devcp_done_find_locked(const struct tc_devcp *s,
                                                   const char *request_id);
/* Pop the next fault (0 with *f filled) or return -1. Caller holds the lock. */
int tc_devcp_fault_pop_locked(struct devcp_fault_queue *q,
                              struct devcp_fault *f);
/* Resp type index from its name; -1 when unknown. NULL -> response. */
int tc_devcp_resp_type_parse(const char *name);
const char *tc_devcp_resp_type_name(int t);
int tc_devcp_resp_type_terminal(int t);

/* ---- control_plane_agent.c ----------------------------------------------- */
enum MHD_Result tc_devcp_handle_metadata(struct tc_devcp *s,
                                         struct MHD_Connection *c);
/* `rq` receives the delivered request ids (see struct devcp_req). */
enum MHD_Result tc_devcp_handle_poll(struct tc_devcp *s,
                                     struct MHD_Connection *c,
                                     struct devcp_req *rq);
enum MHD_Result tc_devcp_handle_response(struct tc_devcp *s,
                                         struct MHD_Connection *c,
                                         const struct devcp_req *rq);
/* /_dev/faults (POST, DELETE), /_dev/commands (POST), /_dev/responses,
 * /_dev/stats (GET). */
enum MHD_Result tc_devcp_handle_dev(struct tc_devcp *s,
                                    struct MHD_Connection *c, const char *what,
                                    const char *method,
                                    const struct devcp_req *rq);

/* ---- control_plane_admin.c: tunnel management API ------------------------
 * 1 when the request is a management call: /v1/tunnels (+ query), or
 * /v1/tunnels/{id} with a method other than GET or with the admin key. */
int tc_devcp_admin_route(const struct tc_devcp *s, struct MHD_Connection *c,
                         const char *url, const char *method);
/* Serve it (auth, CRUD on s->admin_tunnels, X-Request-Id local-admin-N). */
enum MHD_Result tc_devcp_handle_admin(struct tc_devcp *s,
                                      struct MHD_Connection *c, const char *url,
                                      const char *method,
                                      const struct devcp_req *rq);
/* Seed the store with the served tunnel; -1 on ENOMEM. */
int tc_devcp_admin_init(struct tc_devcp *s);

/* ---- control_plane_ingress.c --------------------------------------------- */
/* POST or DELETE /v1/mcp/{id}[/{channel}]; channel already validated. */
enum MHD_Result tc_devcp_handle_mcp(struct tc_devcp *s,
                                    struct MHD_Connection *c,
                                    const char *method, const char *channel,
                                    const struct devcp_req *rq);
/* GET /.well-known/oauth-protected-resource/v1/mcp/{id}. */
enum MHD_Result tc_devcp_handle_prmd(struct tc_devcp *s,
                                     struct MHD_Connection *c);
/* The request headers minus the ingress blocklist, as {name:[values]};
 * NULL on ENOMEM. */
json_t *tc_devcp_forward_headers(struct MHD_Connection *c);

#endif /* TC_DEV_CONTROL_PLANE_INTERNAL_H */
