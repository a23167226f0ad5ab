/* dev/control_plane_agent.c — the routes a tunnel-client (the "agent")
 * talks to, plus the /_dev test routes.
 *
 *   GET  .../poll?limit=N&timeout_ms=T[&channel=c...]
 *        limit 1..25 (default 25), timeout_ms 0..600000 (default 30000),
 *        channel repeated 0..32 times (canonical names); anything else 400.
 *        Waits until at least one queued command matches the channel filter
 *        (none = all channels), then 200 {"commands":[...]} with up to
 *        `limit` of them in FIFO order; 204 when the wait times out.
 *   POST .../response
 *        body = TunnelResponsePayload. 400 on bad JSON or fields; 404
 *        pending_request_not_found when the request id is unknown, finished
 *        or already has its terminal response (a second terminal response
 *        is counted as a duplicate); 401 tunnel_request_mismatch when
 *        X-Tunnel-Shard-Token differs from the command's; else 200
 *        {"status":"ok"}. Every body is recorded (last 64).
 *   POST /_dev/faults  {"poll":[fault...],"response":[fault...],
 *        "duplicate_delivery":bool}; fault = {"status":N,"retry_after":S,
 *        "reset":bool,"delay_ms":N}. One-shot, consumed in order by the next
 *        poll/response requests: sleep delay_ms, then close the connection
 *        (reset), or answer status + Retry-After + error envelope, or (only a
 *        delay) serve normally. duplicate_delivery hands the next delivered
 *        command out once more in a later poll. DELETE clears everything.
 *   POST /_dev/commands    body = JSON array of 1..256 raw command objects,
 *        queued (in order, after what is queued) exactly as given, except
 *        that request_id and shard_token are generated when absent; given
 *        ones must be strings of 1..47 characters, unique among pending
 *        commands. No ingress call waits for them: their responses are
 *        recorded (/_dev/responses) and the entry is dropped at the terminal
 *        one. A command whose channel is not a string of <= 64 characters
 *        matches every poll's channel filter. -> {"request_ids":[...]}.
 *   GET  /_dev/responses   JSON array of the recorded bodies, oldest first.
 *   GET  /_dev/stats       counters (see stats_json), plus "poll_limits":
 *        the `limit` of the last 64 polls, oldest first (null when absent),
 *        "delivered_unanswered": commands handed out by a poll that are
 *        still linked without a terminal response, and "instances": per
 *        agent process (X-Tunnel-Client-Instance-Id, first seen first) its
 *        polls, commands delivered to it, requeued (its reply never reached
 *        it), answered (terminal responses it posted), abandoned (the
 *        ingress gave up on them: the caller got 504 or left) and
 *        unanswered (delivered, still waiting), and "polls_waiting":
 *        polls parked in the long-poll wait right now (a test waits for 0
 *        before it hands out a command no stale poll may take).
 *
 * A poll whose client goes away is not served: the wait checks the client
 * every 200 ms and before replying; commands of a reply that could not be
 * delivered are queued again at the front (control_plane.c on_completed). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "dev/control_plane_internal.h"
#include "util/log.h"

#define POLL_MAX_LIMIT 25L
#define POLL_MAX_TIMEOUT_MS 600000L
#define POLL_MAX_CHANNELS 32u
#define FAULT_MAX_DELAY_MS 60000
#define POLL_LIVENESS_MS 200 /* how often a waiting poll checks its client */

enum MHD_Result tc_devcp_handle_metadata(struct tc_devcp *s,
                                         struct MHD_Connection *c) {
  return tc_devcp_respond_json(
      c, MHD_HTTP_OK,
      json_pack("{s:s,s:s,s:s}", "id", s->tunnel_id, "name",
                "local tunnel-client dev control plane", "description",
                "in-memory tunnel service for development and tests"));
}

static const char *error_code_for(unsigned int status) {
  switch (status) {
  case 401:
    return "tunnel_use_forbidden";
  case 404:
    return "pending_request_not_found";
  case 413:
    return "request_body_too_large";
  case 429:
    return "rate_limit_exceeded";
  case 503:
    return "tunnel_transport_unavailable";
  default:
    return NULL;
  }
}

static void sleep_ms(int64_t ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
    ;
}

/* Apply the next fault of `q`, if any. Returns 1 when the request is
 * answered (or reset, *ret = MHD_NO), 0 when it should be served. */
static int apply_fault(struct tc_devcp *s, struct devcp_fault_queue *q,
                       struct MHD_Connection *c, const char *route,
                       enum MHD_Result *ret) {
  struct devcp_fault f;
  pthread_mutex_lock(&s->lock);
  int have = tc_devcp_fault_pop_locked(q, &f) == 0;
  if (have)
    s->stats.faults_served++;
  pthread_mutex_unlock(&s->lock);
  if (!have)
    return 0;
  char status[16];
  snprintf(status, sizeof(status), "%d", f.status);
  tc_log(TC_LOG_INFO, "devcp", "injecting a fault", "route", route, "status",
         status, "reset", f.reset ? "true" : "false", NULL);
  if (f.delay_ms > 0)
    sleep_ms(f.delay_ms);
  if (f.reset) {
    *ret = MHD_NO;
    return 1;
  }
  if (f.status == 0)
    return 0;
  *ret = tc_devcp_respond_error(
      c, (unsigned int)f.status,
      f.status >= 500 ? "server_error" : "invalid_request_error",
      error_code_for((unsigned int)f.status), "injected fault", f.retry_after);
  return 1;
}

/* ---- poll ---------------------------------------------------------------- */

struct poll_args {
  long limit;
  int has_limit;
  long timeout_ms;
  const char *channels[POLL_MAX_CHANNELS];
  size_t nchannels;
  const char *bad; /* name of the first bad argument */
};

static int parse_count(const char *v, long max, long *out) {
  if (v == NULL || v[0] == '\0' || strlen(v) > 9)
    return -1;
  long n = 0;
  for (const char *p = v; *p; p++) {
    if (*p < '0' || *p > '9')
      return -1;
    n = n * 10 + (*p - '0');
  }
  if (n > max)
    return -1;
  *out = n;
  return 0;
}

static enum MHD_Result on_poll_arg(void *cls, enum MHD_ValueKind kind,
                                   const char *key, const char *value) {
  (void)kind;
  struct poll_args *a = cls;
  if (a->bad != NULL)
    return MHD_YES;
  if (strcmp(key, "limit") == 0) {
    if (parse_count(value, POLL_MAX_LIMIT, &a->limit) != 0 || a->limit < 1)
      a->bad = "limit (an integer 1..25)";
    a->has_limit = 1;
  } else if (strcmp(key, "timeout_ms") == 0) {
    if (parse_count(value, POLL_MAX_TIMEOUT_MS, &a->timeout_ms) != 0)
      a->bad = "timeout_ms (an integer 0..600000)";
  } else if (strcmp(key, "channel") == 0) {
    if (value == NULL || !tc_devcp_valid_channel(value) ||
        a->nchannels == POLL_MAX_CHANNELS)
      a->bad = "channel (at most 32 names of a-z, 0-9, '_' or '-')";
    else
      a->channels[a->nchannels++] = value;
  }
  return MHD_YES;
}

static int channel_wanted(const struct poll_args *a, const char *channel) {
  if (a->nchannels == 0 || channel[0] == '\0')
    return 1;
  for (size_t i = 0; i < a->nchannels; i++)
    if (strcmp(a->channels[i], channel) == 0)
      return 1;
  return 0;
}

/* 1 + the index of the polling/posting agent in s->instances (added when
 * new; the last slot takes every agent beyond the table). Caller holds the
 * lock. */
static int instance_locked(struct tc_devcp *s, struct MHD_Connection *c) {
  const char *id = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                               "X-Tunnel-Client-Instance-Id");
  if (id == NULL)
    id = "";
  for (size_t i = 0; i < s->ninstances; i++)
    if (strncmp(s->instances[i].id, id, DEVCP_INSTANCE_LEN - 1) == 0)
      return (int)i + 1;
  if (s->ninstances == DEVCP_MAX_INSTANCES)
    return (int)DEVCP_MAX_INSTANCES;
  struct devcp_instance *in = &s->instances[s->ninstances++];
  memset(in, 0, sizeof(*in));
  snprintf(in->id, sizeof(in->id), "%s", id);
  return (int)s->ninstances;
}

/* Take up to a->limit matching queued commands into `b` (JSON array items)
 * and their ids into rq->delivered. Caller holds the lock. Returns how many.
 */
static size_t take_commands_locked(struct tc_devcp *s,
                                   const struct poll_args *a, struct tc_sbuf *b,
                                   struct devcp_req *rq, int holder) {
  size_t n = 0;
  struct devcp_pending *again = NULL;
  for (struct devcp_pending *p = s->pending; p && n < (size_t)a->limit;
       p = p->next) {
    if (!p->queued || !channel_wanted(a, p->channel))
      continue;
    p->queued = 0;
    p->holder = holder;
    if (n > 0)
      tc_sbuf_putc(b, ',');
    tc_sbuf_puts(b, p->command);
    memcpy(rq->delivered[n], p->request_id, DEVCP_ID_LEN);
    n++;
    if (s->duplicate_delivery && again == NULL) {
      s->duplicate_delivery = 0;
      again = p;
    }
  }
  if (again != NULL) { /* handed out again by a later poll */
    again->queued = 1;
    s->stats.redeliveries++;
  }
  s->stats.commands_delivered += n;
  s->instances[holder - 1].delivered += n;
  rq->ndelivered = n;
  return n;
}

/* 1 when the poll's client has closed or reset its connection (its socket
 * reads EOF or fails); data already sent by the client counts as alive. */
static int client_gone(struct MHD_Connection *c) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
  if (ci == NULL)
    return 0;
  char byte;
  ssize_t r = recv(ci->connect_fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (r > 0)
    return 0;
  if (r == 0)
    return 1;
  return errno != EAGAIN && errno != EINTR; /* EWOULDBLOCK == EAGAIN */
}

static void record_limit_locked(struct tc_devcp *s, const struct poll_args *a) {
  s->poll_limits[s->poll_limits_next] = a->has_limit ? a->limit : -1;
  s->poll_limits_next = (s->poll_limits_next + 1) % DEVCP_POLL_LIMIT_RING;
  if (s->poll_limits_count < DEVCP_POLL_LIMIT_RING)
    s->poll_limits_count++;
}

/* Earlier of `deadline` and POLL_LIVENESS_MS from now. */
static void next_wake(const struct timespec *deadline, struct timespec *out) {
  tc_devcp_deadline(POLL_LIVENESS_MS, out);
  if (out->tv_sec > deadline->tv_sec ||
      (out->tv_sec == deadline->tv_sec && out->tv_nsec > deadline->tv_nsec))
    *out = *deadline;
}

static int passed(const struct timespec *deadline) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return now.tv_sec > deadline->tv_sec ||
         (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec);
}

enum MHD_Result tc_devcp_handle_poll(struct tc_devcp *s,
                                     struct MHD_Connection *c,
                                     struct devcp_req *rq) {
  struct poll_args a = {.limit = POLL_MAX_LIMIT, .timeout_ms = 30000};
  MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, on_poll_arg, &a);
  if (a.bad != NULL) {
    char msg[160];
    snprintf(msg, sizeof(msg), "invalid poll query parameter %s", a.bad);
    return tc_devcp_respond_error(c, MHD_HTTP_BAD_REQUEST,
                                  "invalid_request_error", NULL, msg, NULL);
  }
  pthread_mutex_lock(&s->lock);
  record_limit_locked(s, &a);
  pthread_mutex_unlock(&s->lock);
  enum MHD_Result ret = MHD_NO;
  if (apply_fault(s, &s->poll_faults, c, "poll", &ret))
    return ret;

  /* Wait in slices so that a poll whose client went away stops waiting
   * instead of swallowing the next command. */
  struct timespec deadline, wake;
  tc_devcp_deadline(a.timeout_ms, &deadline);
  struct tc_sbuf b = TC_SBUF_INIT;
  tc_sbuf_puts(&b, "{\"commands\":[");
  size_t n = 0;
  bool abandoned = false;
  pthread_mutex_lock(&s->lock);
  s->stats.polls++;
  int holder = instance_locked(s, c);
  s->instances[holder - 1].polls++;
  s->stats.polls_waiting++;
  for (;;) {
    n = take_commands_locked(s, &a, &b, rq, holder);
    if (n > 0 || s->stopping)
      break;
    next_wake(&deadline, &wake);
    pthread_cond_timedwait(&s->changed, &s->lock, &wake);
    if (passed(&deadline)) {
      n = take_commands_locked(s, &a, &b, rq, holder);
      break;
    }
    if (client_gone(c)) {
      abandoned = true;
      s->stats.polls_abandoned++;
      break;
    }
  }
  s->stats.polls_waiting--;
  if (n == 0)
    s->stats.polls_empty++;
  uint64_t seq = s->stats.polls;
  pthread_mutex_unlock(&s->lock);
  if (abandoned) {
    tc_sbuf_free(&b);
    return MHD_NO;
  }
  if (n > 0 && client_gone(c)) { /* nobody to hand them to */
    tc_devcp_requeue(s, rq->delivered, rq->ndelivered);
    rq->ndelivered = 0;
    pthread_mutex_lock(&s->lock);
    s->stats.polls_abandoned++;
    pthread_mutex_unlock(&s->lock);
    tc_sbuf_free(&b);
    return MHD_NO;
  }
  if (n == 0) {
    tc_sbuf_free(&b);
    return tc_devcp_respond(c, MHD_HTTP_NO_CONTENT, NULL, "", 0, "X-Request-Id",
                            "local-poll-empty", NULL);
  }
  tc_sbuf_puts(&b, "]}");
  char *body = tc_sbuf_finish(&b);
  if (body == NULL)
    return MHD_NO; /* on_completed queues the commands again */
  char rid[48];
  snprintf(rid, sizeof(rid), "local-poll-%llu", (unsigned long long)seq);
  ret = tc_devcp_respond(c, MHD_HTTP_OK, "application/json", body, strlen(body),
                         "X-Request-Id", rid, NULL);
  free(body);
  return ret;
}

/* ---- response ------------------------------------------------------------ */

/* Keep a private deep copy of `v`: JSON values are never shared between
 * threads (jansson refcounts and objects are not synchronised). */
static void record_body(struct tc_devcp *s, const json_t *v) {
  json_t *copy = json_deep_copy(v);
  if (copy == NULL)
    return;
  pthread_mutex_lock(&s->lock);
  if (json_array_size(s->responses) >= DEVCP_RESPONSE_RING)
    json_array_remove(s->responses, 0);
  json_array_append_new(s->responses, copy);
  pthread_mutex_unlock(&s->lock);
}

static enum MHD_Result bad_response(struct tc_devcp *s,
                                    struct MHD_Connection *c, const char *msg) {
  pthread_mutex_lock(&s->lock);
  s->stats.responses_rejected++;
  pthread_mutex_unlock(&s->lock);
  return tc_devcp_respond_error(c, MHD_HTTP_BAD_REQUEST,
                                "invalid_request_error", "invalid_json_payload",
                                msg, NULL);
}

static enum MHD_Result not_pending(struct MHD_Connection *c) {
  return tc_devcp_respond_error(
      c, MHD_HTTP_NOT_FOUND, "invalid_request_error",
      "pending_request_not_found",
      "no pending request with this request_id (unknown, finished or "
      "already answered)",
      NULL);
}

/* Add `msg` (reference stolen: the ingress thread becomes its only owner)
 * to p's buffer: notifications are dropped when full; a terminal message
 * evicts the newest notification. Caller holds the lock. */
static void push_msg_locked(struct devcp_pending *p, json_t *msg,
                            int terminal) {
  if (p->nmsgs == DEVCP_MAX_MSGS) {
    if (!terminal) {
      json_decref(msg);
      return;
    }
    json_decref(p->msgs[--p->nmsgs]);
  }
  p->msgs[p->nmsgs++] = msg;
}

enum MHD_Result tc_devcp_handle_response(struct tc_devcp *s,
                                         struct MHD_Connection *c,
                                         const struct devcp_req *rq) {
  enum MHD_Result ret = MHD_NO;
  if (apply_fault(s, &s->response_faults, c, "response", &ret))
    return ret;
  json_error_t jerr;
  json_t *body = rq->body.data ? json_loadb(rq->body.data, rq->body.len,
                                            JSON_DECODE_ANY, &jerr)
                               : NULL;
  if (body == NULL) {
    json_t *raw = json_pack("{s:s%}", "_invalid_body",
                            rq->body.data ? rq->body.data : "", rq->body.len);
    if (raw != NULL)
      record_body(s, raw);
    json_decref(raw);
    return bad_response(s, c, "response body is not valid JSON");
  }
  record_body(s, body);
  const char *rid = json_string_value(json_object_get(body, "request_id"));
  json_t *type_v = json_object_get(body, "resp_type");
  json_t *code_v = json_object_get(body, "resp_code");
  json_t *resp_json = json_object_get(body, "resp_json");
  json_t *resp_headers = json_object_get(body, "resp_headers");
  int type = tc_devcp_resp_type_parse(json_string_value(type_v));
  const char *why = NULL;
  if (!json_is_object(body))
    why = "response body must be a JSON object";
  else if (rid == NULL || rid[0] == '\0')
    why = "request_id must be a non-empty string";
  else if (!json_is_integer(code_v) || json_integer_value(code_v) < 0 ||
           json_integer_value(code_v) > 999)
    why = "resp_code must be an integer 0..999";
  else if ((type_v != NULL && !json_is_string(type_v)) || type < 0)
    why = "resp_type is not a known response type";
  else if (resp_json != NULL && !json_is_null(resp_json) &&
           !json_is_object(resp_json))
    why = "resp_json must be a JSON object";
  else if (resp_headers != NULL && !json_is_null(resp_headers) &&
           !json_is_object(resp_headers))
    why = "resp_headers must be an object of string arrays";
  if (why != NULL) {
    json_decref(body);
    return bad_response(s, c, why);
  }
  const char *shard =
      MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Tunnel-Shard-Token");
  int terminal = tc_devcp_resp_type_terminal(type);
  pthread_mutex_lock(&s->lock);
  struct devcp_pending *p = tc_devcp_pending_find_locked(s, rid);
  if (p == NULL) {
    const struct devcp_done *d = tc_devcp_done_find_locked(s, rid);
    if (d != NULL && d->terminal && terminal)
      s->stats.duplicate_terminal++;
    s->stats.responses_rejected++;
    pthread_mutex_unlock(&s->lock);
    json_decref(body);
    return not_pending(c);
  }
  if (shard == NULL || strcmp(shard, p->shard_token) != 0) {
    s->stats.responses_rejected++;
    pthread_mutex_unlock(&s->lock);
    json_decref(body);
    return tc_devcp_respond_error(
        c, MHD_HTTP_UNAUTHORIZED, "invalid_request_error",
        "tunnel_request_mismatch",
        "X-Tunnel-Shard-Token does not match the polled command", NULL);
  }
  if (p->terminal) {
    if (terminal)
      s->stats.duplicate_terminal++;
    s->stats.responses_rejected++;
    pthread_mutex_unlock(&s->lock);
    json_decref(body);
    return not_pending(c);
  }
  p->terminal = terminal;
  s->stats.responses[type]++;
  if (terminal)
    s->instances[instance_locked(s, c) - 1].answered++;
  struct devcp_pending *finished = NULL;
  if (!p->detached) {
    push_msg_locked(p, body, terminal); /* body now belongs to p */
  } else {
    json_decref(body); /* recorded above; nobody waits for it */
    if (terminal) {
      tc_devcp_pending_unlink_locked(s, p);
      finished = p;
    }
  }
  pthread_cond_broadcast(&s->changed);
  pthread_mutex_unlock(&s->lock);
  tc_devcp_pending_free(finished);
  return tc_devcp_respond(c, MHD_HTTP_OK, "application/json",
                          "{\"status\":\"ok\"}", 15, NULL);
}

/* ---- /_dev --------------------------------------------------------------- */

static int parse_fault(json_t *v, struct devcp_fault *f) {
  memset(f, 0, sizeof(*f));
  if (!json_is_object(v))
    return -1;
  json_t *st = json_object_get(v, "status");
  json_t *ra = json_object_get(v, "retry_after");
  json_t *reset = json_object_get(v, "reset");
  json_t *delay = json_object_get(v, "delay_ms");
  if (st != NULL) {
    if (!json_is_integer(st) || json_integer_value(st) < 100 ||
        json_integer_value(st) > 599)
      return -1;
    f->status = (int)json_integer_value(st);
  }
  if (json_is_string(ra) && json_string_length(ra) < sizeof(f->retry_after))
    snprintf(f->retry_after, sizeof(f->retry_after), "%s",
             json_string_value(ra));
  else if (json_is_integer(ra) && json_integer_value(ra) >= 0)
    snprintf(f->retry_after, sizeof(f->retry_after), "%lld",
             (long long)json_integer_value(ra));
  else if (ra != NULL)
    return -1;
  if (reset != NULL && !json_is_boolean(reset))
    return -1;
  f->reset = json_is_true(reset);
  if (delay != NULL) {
    if (!json_is_integer(delay) || json_integer_value(delay) < 0 ||
        json_integer_value(delay) > FAULT_MAX_DELAY_MS)
      return -1;
    f->delay_ms = json_integer_value(delay);
  }
  return 0;
}

/* Validate every entry of `arr` into `out` (at most `max`). -1 when bad. */
static int parse_faults(json_t *arr, struct devcp_fault *out, size_t max,
                        size_t *n) {
  *n = 0;
  if (arr == NULL)
    return 0;
  if (!json_is_array(arr) || json_array_size(arr) > max)
    return -1;
  size_t i;
  json_t *v;
  json_array_foreach(arr, i, v) {
    if (parse_fault(v, &out[i]) != 0)
      return -1;
  }
  *n = json_array_size(arr);
  return 0;
}

static void fault_push_locked(struct devcp_fault_queue *q,
                              const struct devcp_fault *f, size_t n) {
  for (size_t i = 0; i < n && q->count < DEVCP_MAX_FAULTS; i++) {
    q->items[(q->head + q->count) % DEVCP_MAX_FAULTS] = f[i];
    q->count++;
  }
}

static enum MHD_Result handle_faults(struct tc_devcp *s,
                                     struct MHD_Connection *c,
                                     const char *method,
                                     const struct devcp_req *rq) {
  if (strcmp(method, MHD_HTTP_METHOD_DELETE) == 0) {
    pthread_mutex_lock(&s->lock);
    s->poll_faults.count = 0;
    s->response_faults.count = 0;
    s->duplicate_delivery = 0;
    pthread_mutex_unlock(&s->lock);
    return tc_devcp_respond(c, MHD_HTTP_OK, "application/json",
                            "{\"status\":\"ok\"}", 15, NULL);
  }
  if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
    return tc_devcp_respond_error(c, MHD_HTTP_METHOD_NOT_ALLOWED,
                                  "invalid_request_error", NULL,
                                  "use POST or DELETE on /_dev/faults", NULL);
  static const char usage[] =
      "faults body must be {\"poll\":[...],\"response\":[...],"
      "\"duplicate_delivery\":bool} with faults {\"status\":100..599,"
      "\"retry_after\":\"S\",\"reset\":bool,\"delay_ms\":0..60000}, at most "
      "64 per queue";
  json_t *v =
      rq->body.data ? json_loadb(rq->body.data, rq->body.len, 0, NULL) : NULL;
  struct devcp_fault *pf = calloc(DEVCP_MAX_FAULTS, sizeof(*pf));
  struct devcp_fault *rf = calloc(DEVCP_MAX_FAULTS, sizeof(*rf));
  size_t np = 0, nr = 0;
  json_t *dup = json_object_get(v, "duplicate_delivery");
  int ok = pf != NULL && rf != NULL && json_is_object(v) &&
           parse_faults(json_object_get(v, "poll"), pf, DEVCP_MAX_FAULTS,
                        &np) == 0 &&
           parse_faults(json_object_get(v, "response"), rf, DEVCP_MAX_FAULTS,
                        &nr) == 0 &&
           (dup == NULL || json_is_boolean(dup));
  if (ok) {
    pthread_mutex_lock(&s->lock);
    fault_push_locked(&s->poll_faults, pf, np);
    fault_push_locked(&s->response_faults, rf, nr);
    if (json_is_true(dup))
      s->duplicate_delivery = 1;
    np = s->poll_faults.count;
    nr = s->response_faults.count;
    pthread_mutex_unlock(&s->lock);
  }
  free(pf);
  free(rf);
  json_decref(v);
  if (!ok)
    return tc_devcp_respond_error(c, MHD_HTTP_BAD_REQUEST,
                                  "invalid_request_error", NULL, usage, NULL);
  return tc_devcp_respond_json(c, MHD_HTTP_OK,
                               json_pack("{s:s,s:I,s:I}", "status", "ok",
                                         "poll_faults", (json_int_t)np,
                                         "response_faults", (json_int_t)nr));
}

static enum MHD_Result handle_commands(struct tc_devcp *s,
                                       struct MHD_Connection *c,
                                       const struct devcp_req *rq) {
  json_error_t jerr;
  json_t *v =
      rq->body.data ? json_loadb(rq->body.data, rq->body.len, 0, &jerr) : NULL;
  json_t *ids = NULL;
  const char *why = "body must be a JSON array of 1-256 command objects";
  int rc = v != NULL ? tc_devcp_inject(s, v, &ids, &why) : -1;
  json_decref(v);
  if (rc != 0) {
    char msg[256];
    snprintf(msg, sizeof(msg), "POST /_dev/commands: %s", why);
    return tc_devcp_respond_error(c, MHD_HTTP_BAD_REQUEST,
                                  "invalid_request_error", NULL, msg, NULL);
  }
  return tc_devcp_respond_json(c, MHD_HTTP_OK,
                               json_pack("{s:o}", "request_ids", ids));
}

/* The recorded poll limits, oldest first (null = no limit parameter). */
static json_t *poll_limits_locked(const struct tc_devcp *s) {
  json_t *arr = json_array();
  size_t start =
      (s->poll_limits_next + DEVCP_POLL_LIMIT_RING - s->poll_limits_count) %
      DEVCP_POLL_LIMIT_RING;
  for (size_t i = 0; arr != NULL && i < s->poll_limits_count; i++) {
    int64_t l = s->poll_limits[(start + i) % DEVCP_POLL_LIMIT_RING];
    json_array_append_new(arr, l < 0 ? json_null() : json_integer(l));
  }
  return arr;
}

/* Per-agent counters, first seen first. Caller holds the lock. */
static json_t *instances_locked(const struct tc_devcp *s) {
  json_t *arr = json_array();
  for (size_t i = 0; arr != NULL && i < s->ninstances; i++) {
    const struct devcp_instance *in = &s->instances[i];
    json_int_t unanswered = 0;
    for (const struct devcp_pending *p = s->pending; p != NULL; p = p->next)
      if (p->holder == (int)i + 1 && !p->queued && !p->terminal)
        unanswered++;
    json_array_append_new(
        arr, json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I}", "instance_id", in->id,
                       "polls", (json_int_t)in->polls, "delivered",
                       (json_int_t)in->delivered, "requeued",
                       (json_int_t)in->requeued, "answered",
                       (json_int_t)in->answered, "abandoned",
                       (json_int_t)in->abandoned, "unanswered", unanswered));
  }
  return arr;
}

static json_t *stats_json(struct tc_devcp *s) {
  pthread_mutex_lock(&s->lock);
  struct devcp_stats st = s->stats;
  json_int_t pending = (json_int_t)s->npending;
  json_int_t unanswered = 0;
  for (const struct devcp_pending *p = s->pending; p != NULL; p = p->next)
    if (!p->queued && !p->terminal)
      unanswered++;
  json_t *limits = poll_limits_locked(s);
  json_t *instances = instances_locked(s);
  pthread_mutex_unlock(&s->lock);
  json_t *by_type = json_object();
  for (int i = 0; i < DEVCP_RT_COUNT && by_type; i++)
    json_object_set_new(by_type, tc_devcp_resp_type_name(i),
                        json_integer((json_int_t)st.responses[i]));
  json_t *v = json_pack(
      "{s:I,s:I,s:I,s:I,s:I,s:o,s:I,s:I,s:I,s:I}", "polls",
      (json_int_t)st.polls, "polls_empty", (json_int_t)st.polls_empty,
      "commands_queued", (json_int_t)st.commands_queued, "commands_delivered",
      (json_int_t)st.commands_delivered, "redeliveries",
      (json_int_t)st.redeliveries, "responses",
      by_type ? by_type : json_object(), "responses_rejected",
      (json_int_t)st.responses_rejected, "duplicate_terminal_responses",
      (json_int_t)st.duplicate_terminal, "faults_served",
      (json_int_t)st.faults_served, "pending", pending);
  if (v != NULL) {
    json_object_set_new(v, "commands_injected",
                        json_integer((json_int_t)st.commands_injected));
    json_object_set_new(v, "requeued", json_integer((json_int_t)st.requeued));
    json_object_set_new(v, "polls_abandoned",
                        json_integer((json_int_t)st.polls_abandoned));
    json_object_set_new(v, "polls_waiting",
                        json_integer((json_int_t)st.polls_waiting));
    json_object_set_new(v, "delivered_unanswered", json_integer(unanswered));
    json_object_set_new(v, "poll_limits", limits ? limits : json_array());
    json_object_set_new(v, "instances", instances ? instances : json_array());
  } else {
    json_decref(limits);
    json_decref(instances);
  }
  return v;
}

enum MHD_Result tc_devcp_handle_dev(struct tc_devcp *s,
                                    struct MHD_Connection *c, const char *what,
                                    const char *method,
                                    const struct devcp_req *rq) {
  int is_get = strcmp(method, MHD_HTTP_METHOD_GET) == 0;
  if (strcmp(what, "faults") == 0)
    return handle_faults(s, c, method, rq);
  if (strcmp(what, "commands") == 0 &&
      strcmp(method, MHD_HTTP_METHOD_POST) == 0)
    return handle_commands(s, c, rq);
  if (strcmp(what, "stats") == 0 && is_get)
    return tc_devcp_respond_json(c, MHD_HTTP_OK, stats_json(s));
  if (strcmp(what, "responses") == 0 && is_get) {
    pthread_mutex_lock(&s->lock);
    json_t *copy = json_deep_copy(s->responses);
    pthread_mutex_unlock(&s->lock);
    return tc_devcp_respond_json(c, MHD_HTTP_OK, copy);
  }
  return tc_devcp_respond_error(
      c, MHD_HTTP_NOT_FOUND, "invalid_request_error", NULL,
      "dev routes are POST|DELETE /_dev/faults, POST /_dev/commands, GET "
      "/_dev/stats and GET /_dev/responses",
      NULL);
}
