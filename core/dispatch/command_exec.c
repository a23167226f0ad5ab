/* dispatch/command_exec.c — one command end to end on a worker thread
 * (protocol.md §1.6–§1.8, §3.3; DESIGN.md §7).
 *
 * Order: deadline (expired -> dropped silently) -> JSON-RPC responses sent
 * to us (nothing posted) -> invalid payloads (400 with a -32600 reply, or a
 * bare 400 for session_termination) -> oauth_discovery (hooks only; 501 when
 * no hook claims it) -> channel route (unknown -> 400, never main) -> hooks'
 * on_command -> the transport.
 *
 * Exactly one terminal post per command: the sink ignores a second
 * complete(), and a call() that returns without complete() gets a
 * synthesized client_internal 502. Nothing is posted once the deadline has
 * passed; the poster receives the deadline to bound its retries.
 *
 * Drain: a command still queued when drain's grace ran out is "aborted":
 * no transport or hook runs, and if it is still due it gets a synthesized
 * failure with source client_internal and no kind, status 503 (the client
 * is shutting down) — a jsonrpc_response for calls, a 503 ack for
 * notifications and session_termination, an error object for
 * oauth_discovery — rather than silence. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/jsonrpc.h"
#include "dispatch/dispatch_internal.h"
#include "ops/core_metrics.h"
#include "tc/errors.h"
#include "tc/hook.h"
#include "util/log.h"

#define LOG_COMP "dispatcher"

struct exec {
  struct tc_dispatch_env *env;
  const struct tc_cp_command *cmd;
  uint64_t deadline_ns; /* 0 = none */
  struct tc_request req;
  struct tc_sink sink;
  pthread_mutex_t mu; /* guards the flags below and orders posts */
  int completed;
  int notify_failed;
  /* Metrics/admin: what became of the command (worker thread only). */
  const char *outcome; /* "ok", "error", "post_failed"; NULL = none posted */
  int terminal_code;
  /* The channel's instance and counters (references), NULL until routed. */
  struct tc_dispatch_inst *inst;
  struct tc_dispatch_stats *stats;
};

static int expired(const struct exec *x) {
  return x->deadline_ns != 0 && tc_dispatch_now_ns() >= x->deadline_ns;
}

static int req_is_canceled(const struct tc_request *req) {
  const struct exec *x = req->core;
  return atomic_load(&x->env->cancel_all) != 0 || expired(x);
}

static const char *type_name(enum tc_cp_command_type t) {
  switch (t) {
  case TC_CP_CMD_JSONRPC:
    return "jsonrpc";
  case TC_CP_CMD_SESSION_TERMINATION:
    return "session_termination";
  case TC_CP_CMD_OAUTH_DISCOVERY:
    return "oauth_discovery";
  }
  return "unknown";
}

static void log_cmd(int level, const struct exec *x, const char *msg,
                    const char *k, const char *v) {
  tc_log(level, LOG_COMP, msg, "request_id", x->cmd->request_id, "channel",
         x->cmd->channel, k, v, (const char *)NULL);
}

/* Post one message unless the deadline passed. 0 delivered, else -1. */
static int post(struct exec *x, const struct tc_cp_response *r) {
  if (expired(x)) {
    log_cmd(TC_LOG_DEBUG, x, "deadline passed; response not posted",
            "resp_type", tc_cp_resp_type_name(r->type));
    return -1;
  }
  char *err = NULL;
  int rc = x->env->poster.post(x->env->poster.ud, x->cmd, r, x->deadline_ns,
                               &x->env->cancel_all, &err);
  int terminal = tc_cp_resp_type_is_terminal(r->type);
  if (terminal) {
    x->terminal_code = r->resp_code;
    x->outcome = rc != 0                                     ? "post_failed"
                 : r->resp_code >= 200 && r->resp_code < 300 ? "ok"
                                                             : "error";
  }
  if (rc != 0) {
    log_cmd(TC_LOG_WARN, x, "response post failed", "error",
            err != NULL ? err : "unknown error");
    free(err);
    return -1;
  }
  return 0;
}

static void init_resp(struct tc_cp_response *r, const struct exec *x,
                      enum tc_cp_resp_type type, int code) {
  memset(r, 0, sizeof(*r));
  r->request_id = x->cmd->request_id;
  r->channel = x->cmd->channel;
  r->type = type;
  r->resp_code = code;
}

static void post_ack(struct exec *x, enum tc_cp_resp_type type, int code,
                     const struct tc_headers *h) {
  struct tc_cp_response r;
  init_resp(&r, x, type, code);
  r.resp_headers = h;
  post(x, &r);
}

/* Let hooks rewrite a terminal body, in load order. *body stays borrowed
 * until a hook replaces it; a replacement is owned (*owned, freed by the
 * caller), and the one it replaces is freed when it was owned. */
static void run_on_response(struct exec *x, int code,
                            const struct tc_headers *h, const char **body,
                            size_t *len, char **owned) {
  const struct tc_registry *reg = x->env->reg;
  if (reg == NULL)
    return;
  for (size_t i = 0; i < reg->hook_count; i++) {
    const struct tc_registered_hook *hk = &reg->hooks[i];
    if (hk->vt == NULL || hk->vt->on_response == NULL)
      continue;
    struct tc_response view;
    memset(&view, 0, sizeof(view));
    view.struct_size = sizeof(view);
    view.status = code;
    view.headers = h;
    view.body = *body;
    view.body_len = *len;
    char *nb = NULL;
    size_t nl = 0;
    int rc = hk->vt->on_response(hk->inst, &x->req, &view, &nb, &nl);
    if (rc == TC_OK && nb != NULL) {
      free(*owned);
      *owned = nb;
      *body = nb;
      *len = nl;
    } else {
      free(nb);
      if (rc < 0)
        log_cmd(TC_LOG_WARN, x, "hook on_response failed; body kept", "hook",
                hk->vt->name);
    }
  }
}

/* Post a terminal body. `body` is borrowed (a transport's buffer is posted
 * as it is, never copied); `owned` (NULL, or an allocation the caller hands
 * over, e.g. a synthesized body) is freed afterwards. */
static void post_body(struct exec *x, enum tc_cp_resp_type type, int code,
                      const char *body, size_t len, char *owned,
                      const struct tc_headers *h) {
  if (body == NULL) {
    log_cmd(TC_LOG_ERROR, x, "out of memory building a response", NULL, NULL);
    return;
  }
  run_on_response(x, code, h, &body, &len, &owned);
  struct tc_cp_response r;
  init_resp(&r, x, type, code);
  r.resp_json = body;
  r.resp_json_len = len;
  r.resp_headers = h;
  post(x, &r);
  free(owned);
}

/* A malloc()ed body the caller hands over (NULL on ENOMEM). */
static void post_new_body(struct exec *x, enum tc_cp_resp_type type, int code,
                          char *body, const struct tc_headers *h) {
  post_body(x, type, code, body, body != NULL ? strlen(body) : 0, body, h);
}

/* Sanitized copy of upstream headers with Content-Type set: `force` always
 * replaces it, else it is only added when absent. */
static void build_headers(const struct tc_headers *in, struct tc_headers *out,
                          const char *ctype, int force) {
  if (in != NULL && tc_cp_sanitize_resp_headers(in, out) != TC_OK)
    tc_headers_clear(out);
  const char *have = tc_headers_get(out, "Content-Type", 0);
  if (have != NULL && !force)
    return;
  tc_headers_remove(out, "Content-Type");
  tc_headers_add(out, "Content-Type", ctype);
}

static void post_synth(struct exec *x, int code, const struct tc_cp_failure *f,
                       const struct tc_headers *upstream) {
  struct tc_headers h = TC_HEADERS_INIT;
  build_headers(upstream, &h, "application/json", 1);
  post_new_body(x, TC_CP_RESP_JSONRPC_RESPONSE, code,
                tc_cp_synthesize_failure(x->cmd->rpc_id, code, f), &h);
  tc_headers_clear(&h);
}

static void internal_failure(struct tc_cp_failure *f) {
  memset(f, 0, sizeof(*f));
  f->source = TC_CP_SRC_CLIENT_INTERNAL;
  f->kind = TC_CP_KIND_NONE;
}

/* ---- mapping a tc_response into the wire provenance ---------------------- */

static enum tc_cp_failure_source source_from_name(const char *s) {
  for (int v = TC_CP_SRC_CLIENT_INTERNAL; v <= TC_CP_SRC_PROTOCOL; v++) {
    const char *n = tc_cp_failure_source_name((enum tc_cp_failure_source)v);
    if (n != NULL && strcmp(n, s) == 0)
      return (enum tc_cp_failure_source)v;
  }
  return TC_CP_SRC_CLIENT_INTERNAL;
}

static enum tc_cp_failure_kind kind_from_name(const char *s) {
  if (s == NULL || s[0] == '\0')
    return TC_CP_KIND_NONE;
  if (strcmp(s, "canceled") == 0)
    return TC_CP_KIND_CANCELED;
  for (int v = TC_CP_KIND_CLOSED_PIPE; v <= TC_CP_KIND_LAST; v++) {
    const char *n = tc_cp_failure_kind_name((enum tc_cp_failure_kind)v);
    if (n != NULL && strcmp(n, s) == 0)
      return (enum tc_cp_failure_kind)v;
  }
  return TC_CP_KIND_UNKNOWN;
}

static int is_http_error(int s) {
  return s >= 400 && s <= 599;
}

/* Build the failure and the resp_code for a failed tc_response, keeping the
 * schema's invariants (target_http <=> received + 400..599 status;
 * transport_closed => not received). */
static int failure_from_response(const struct tc_response *res,
                                 struct tc_cp_failure *f) {
  memset(f, 0, sizeof(*f));
  f->source = source_from_name(res->failure_source);
  f->kind = kind_from_name(res->failure_kind);
  f->upstream_response_received = res->upstream_response_received != 0;
  if (f->source == TC_CP_SRC_TARGET_HTTP) {
    int st = is_http_error(res->upstream_status) ? res->upstream_status
             : is_http_error(res->status)        ? res->status
                                                 : 0;
    if (st != 0) {
      f->upstream_response_received = true;
      f->upstream_status = st;
      return st;
    }
    f->source = TC_CP_SRC_PROTOCOL; /* no usable status: not target_http */
  }
  if (f->source == TC_CP_SRC_TRANSPORT_CLOSED)
    f->upstream_response_received = false;
  return res->status > 0 ? res->status : 502;
}

static int body_is_object(const char *b, size_t n) {
  for (size_t i = 0; i < n; i++) {
    char c = b[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
      continue;
    return c == '{';
  }
  return 0;
}

/* Content-Type of a terminal jsonrpc_response: application/json unless the
 * upstream said text/event-stream. */
static void terminal_headers(const struct tc_headers *in,
                             struct tc_headers *out) {
  if (in != NULL && tc_cp_sanitize_resp_headers(in, out) != TC_OK)
    tc_headers_clear(out);
  const char *ct = tc_headers_get(out, "Content-Type", 0);
  if (ct != NULL && strncmp(ct, "text/event-stream", 17) == 0)
    return;
  tc_headers_remove(out, "Content-Type");
  tc_headers_add(out, "Content-Type", "application/json");
}

static void complete_call(struct exec *x, const struct tc_response *res) {
  const char *src = res->failure_source;
  int status = res->status;
  int upstream =
      is_http_error(res->upstream_status) ? res->upstream_status : status;
  /* A target's own JSON-RPC error for this id passes through byte-exact. */
  if ((src == NULL || strcmp(src, "target_http") == 0) &&
      is_http_error(upstream) && res->body != NULL &&
      tc_cp_jsonrpc_is_error_reply(res->body, res->body_len, x->cmd->rpc_id)) {
    struct tc_headers h = TC_HEADERS_INIT;
    terminal_headers(res->headers, &h);
    post_body(x, TC_CP_RESP_JSONRPC_RESPONSE, upstream, res->body,
              res->body_len, NULL, &h);
    tc_headers_clear(&h);
    return;
  }
  struct tc_cp_failure f;
  if (src != NULL) {
    int code = failure_from_response(res, &f);
    post_synth(x, code, &f, res->headers);
    return;
  }
  if (status != 0 && (status < 200 || status > 299)) {
    struct tc_cp_failure_cause cause;
    memset(&cause, 0, sizeof(cause));
    cause.upstream_status = status;
    cause.non_protocol = TC_CP_KIND_NON_PROTOCOL_RESPONSE;
    tc_cp_classify_failure(&cause, &f);
    post_synth(x, is_http_error(status) ? status : 502, &f, res->headers);
    return;
  }
  if (res->body == NULL || !body_is_object(res->body, res->body_len)) {
    struct tc_cp_failure_cause cause;
    memset(&cause, 0, sizeof(cause));
    cause.non_protocol = res->body == NULL || res->body_len == 0
                             ? TC_CP_KIND_RESPONSE_BODY_MISSING
                             : TC_CP_KIND_MALFORMED_JSON;
    tc_cp_classify_failure(&cause, &f);
    f.upstream_response_received = true;
    post_synth(x, 502, &f, res->headers);
    return;
  }
  struct tc_headers h = TC_HEADERS_INIT;
  terminal_headers(res->headers, &h);
  post_body(x, TC_CP_RESP_JSONRPC_RESPONSE, status != 0 ? status : 200,
            res->body, res->body_len, NULL, &h);
  tc_headers_clear(&h);
}

/* Status of an ack: the upstream status (0 -> 200), 502 on a failure
 * without one. */
static int ack_code(const struct tc_response *res) {
  if (res->failure_source != NULL) {
    struct tc_cp_failure f;
    return failure_from_response(res, &f);
  }
  return res->status != 0 ? res->status : 200;
}

static void complete_terminal(struct exec *x, const struct tc_response *res) {
  const struct tc_cp_command *c = x->cmd;
  struct tc_headers h = TC_HEADERS_INIT;
  switch (c->type) {
  case TC_CP_CMD_JSONRPC:
    if (c->rpc_kind == TC_CP_RPC_CALL) {
      complete_call(x, res);
    } else {
      build_headers(res->headers, &h, "", 0);
      tc_headers_remove(&h, "Content-Type");
      post_ack(x, TC_CP_RESP_NOTIFY_ACK, ack_code(res), &h);
    }
    break;
  case TC_CP_CMD_SESSION_TERMINATION:
    build_headers(res->headers, &h, "", 0);
    tc_headers_remove(&h, "Content-Type");
    post_ack(x, TC_CP_RESP_SESSION_TERMINATION, ack_code(res), &h);
    break;
  case TC_CP_CMD_OAUTH_DISCOVERY: {
    /* Raw headers (no allowlist) and the hook's body as it is. */
    int code = ack_code(res);
    if (res->body != NULL && body_is_object(res->body, res->body_len)) {
      post_body(x, TC_CP_RESP_OAUTH_DISCOVERY, code, res->body, res->body_len,
                NULL, res->headers);
    } else {
      struct tc_cp_response r;
      init_resp(&r, x, TC_CP_RESP_OAUTH_DISCOVERY, code);
      r.resp_headers = res->headers;
      post(x, &r);
    }
    break;
  }
  }
  tc_headers_clear(&h);
}

/* ---- the sink handed to transports and hooks ------------------------------
 */

static int sink_notify(const struct tc_sink *sink,
                       const struct tc_response *msg) {
  struct exec *x = sink->core;
  int rc = TC_OK;
  pthread_mutex_lock(&x->mu);
  if (x->completed) {
    rc = TC_ESTATE;
  } else if (x->cmd->type != TC_CP_CMD_JSONRPC ||
             x->cmd->rpc_kind != TC_CP_RPC_CALL) {
    rc = TC_ENOTSUP; /* only calls stream notifications */
  } else if (x->notify_failed || expired(x)) {
    rc = TC_ECANCELED;
  } else if (msg == NULL || msg->body == NULL ||
             !body_is_object(msg->body, msg->body_len)) {
    log_cmd(TC_LOG_WARN, x,
            "transport notification is not a JSON object; "
            "skipped",
            NULL, NULL);
    rc = TC_EINVAL;
  } else {
    struct tc_headers h = TC_HEADERS_INIT;
    build_headers(msg->headers, &h, "text/event-stream", 0);
    struct tc_cp_response r;
    init_resp(&r, x, TC_CP_RESP_JSONRPC_NOTIFY,
              msg->status != 0 ? msg->status : 200);
    r.resp_json = msg->body;
    r.resp_json_len = msg->body_len;
    r.resp_headers = &h;
    if (post(x, &r) != 0) {
      x->notify_failed = 1; /* later notifications are dropped */
      rc = TC_EIO;
    }
    tc_headers_clear(&h);
  }
  pthread_mutex_unlock(&x->mu);
  return rc;
}

static int sink_complete(const struct tc_sink *sink,
                         const struct tc_response *res) {
  struct exec *x = sink->core;
  pthread_mutex_lock(&x->mu);
  if (x->completed) {
    pthread_mutex_unlock(&x->mu);
    log_cmd(TC_LOG_WARN, x,
            "transport completed a command twice; second "
            "result ignored",
            NULL, NULL);
    return TC_ESTATE;
  }
  x->completed = 1;
  if (res == NULL) {
    struct tc_cp_failure f;
    internal_failure(&f);
    if (x->cmd->type == TC_CP_CMD_JSONRPC && x->cmd->rpc_kind == TC_CP_RPC_CALL)
      post_synth(x, 502, &f, NULL);
    else
      post_ack(x,
               x->cmd->type == TC_CP_CMD_SESSION_TERMINATION
                   ? TC_CP_RESP_SESSION_TERMINATION
                   : TC_CP_RESP_NOTIFY_ACK,
               502, NULL);
  } else {
    complete_terminal(x, res);
  }
  pthread_mutex_unlock(&x->mu);
  return TC_OK;
}

/* After call()/on_command returned: make sure one terminal went out. */
static void ensure_terminal(struct exec *x, int rc, const char *who) {
  pthread_mutex_lock(&x->mu);
  int done = x->completed;
  pthread_mutex_unlock(&x->mu);
  if (done)
    return;
  tc_log(TC_LOG_WARN, LOG_COMP,
         "transport or hook returned without a result; answering 502",
         "request_id", x->cmd->request_id, "channel", x->cmd->channel, "from",
         who, "rc", tc_errname(rc), (const char *)NULL);
  struct tc_response res;
  memset(&res, 0, sizeof(res));
  res.struct_size = sizeof(res);
  res.status = 502;
  res.failure_source = "client_internal";
  sink_complete(&x->sink, &res);
}

/* ---- fixed answers ----------------------------------------------------------
 */

static void answer_invalid(struct exec *x) {
  const struct tc_cp_command *c = x->cmd;
  log_cmd(TC_LOG_WARN, x, "invalid command payload; answering 400", "reason",
          c->invalid);
  if (c->type == TC_CP_CMD_SESSION_TERMINATION) {
    post_ack(x, TC_CP_RESP_SESSION_TERMINATION, 400, NULL);
    return;
  }
  if (c->type != TC_CP_CMD_JSONRPC)
    return;
  char msg[256];
  snprintf(msg, sizeof(msg), "Invalid Request: %s", c->invalid);
  struct tc_headers h = TC_HEADERS_INIT;
  tc_headers_add(&h, "Content-Type", "application/json");
  post_new_body(x, TC_CP_RESP_JSONRPC_RESPONSE, 400,
                tc_cp_jsonrpc_error_body(c->rpc_id, -32600, msg, NULL), &h);
  tc_headers_clear(&h);
}

static void answer_unknown_channel(struct exec *x) {
  log_cmd(TC_LOG_WARN, x, "no binding serves this channel; answering 400", NULL,
          NULL);
  if (x->cmd->type == TC_CP_CMD_SESSION_TERMINATION) {
    post_ack(x, TC_CP_RESP_SESSION_TERMINATION, 400, NULL);
    return;
  }
  char msg[TC_CP_CHANNEL_MAX + 64];
  snprintf(msg, sizeof(msg), "Bad Request: unsupported channel \"%s\"",
           x->cmd->channel);
  struct tc_headers h = TC_HEADERS_INIT;
  tc_headers_add(&h, "Content-Type", "application/json");
  post_new_body(x, TC_CP_RESP_JSONRPC_RESPONSE, 400,
                tc_cp_jsonrpc_error_body(x->cmd->rpc_id, -32603, msg, NULL),
                &h);
  tc_headers_clear(&h);
}

static void answer_oauth_error(struct exec *x, int code, const char *json) {
  struct tc_headers h = TC_HEADERS_INIT;
  tc_headers_add(&h, "Content-Type", "application/json");
  post_body(x, TC_CP_RESP_OAUTH_DISCOVERY, code, json, strlen(json), NULL, &h);
  tc_headers_clear(&h);
}

/* Drain's grace ran out before this command started. */
static void answer_aborted(struct exec *x) {
  const struct tc_cp_command *c = x->cmd;
  log_cmd(TC_LOG_WARN, x,
          "shutting down before the command ran; answering "
          "503",
          "type", type_name(c->type));
  struct tc_cp_failure f;
  internal_failure(&f);
  switch (c->type) {
  case TC_CP_CMD_JSONRPC:
    if (c->rpc_kind == TC_CP_RPC_CALL)
      post_synth(x, 503, &f, NULL);
    else
      post_ack(x, TC_CP_RESP_NOTIFY_ACK, 503, NULL);
    break;
  case TC_CP_CMD_SESSION_TERMINATION:
    post_ack(x, TC_CP_RESP_SESSION_TERMINATION, 503, NULL);
    break;
  case TC_CP_CMD_OAUTH_DISCOVERY:
    answer_oauth_error(x, 503,
                       "{\"error\":{\"message\":\"tunnel-client is shutting "
                       "down\",\"code\":\"client_shutting_down\"}}");
    break;
  }
}

/* Offer the command to hooks in load order. 1 when one claimed it. */
static int offer_hooks(struct exec *x) {
  const struct tc_registry *reg = x->env->reg;
  if (reg == NULL)
    return 0;
  for (size_t i = 0; i < reg->hook_count; i++) {
    const struct tc_registered_hook *hk = &reg->hooks[i];
    if (hk->vt == NULL || hk->vt->on_command == NULL)
      continue;
    int rc = hk->vt->on_command(hk->inst, &x->req, &x->sink);
    if (rc == TC_DECLINED)
      continue;
    if (rc < 0)
      log_cmd(TC_LOG_WARN, x, "hook failed the command", "hook", hk->vt->name);
    ensure_terminal(x, rc, hk->vt->name);
    return 1;
  }
  return 0;
}

static uint64_t deadline_of(const struct tc_cp_command *c,
                            uint64_t receipt_ns) {
  if (!c->has_deadline)
    return 0;
  uint64_t t =
      c->response_timeout_ns > 0 ? (uint64_t)c->response_timeout_ns : 0;
  uint64_t d = receipt_ns + t;
  if (d < receipt_ns)
    d = UINT64_MAX;
  return d != 0 ? d : 1; /* 0 would read as "no deadline" */
}

/* Look the channel up in the published set and take references on its
 * instance and counters: the command runs on this instance to the end,
 * even if a reload replaces it meanwhile. 0 when no binding serves it. */
static int take_route(struct exec *x) {
  unsigned slot;
  struct tc_dispatch_routes *rs = tc_published_enter(x->env->routes, &slot);
  struct tc_dispatch_route *r = tc_dispatch_routes_find(rs, x->cmd->channel);
  if (r != NULL) {
    tc_dispatch_inst_ref(r->inst);
    tc_dispatch_stats_ref(r->stats);
    x->inst = r->inst;
    x->stats = r->stats;
  }
  tc_published_exit(x->env->routes, slot);
  return r != NULL;
}

static void run(struct exec *x, int aborting) {
  const struct tc_cp_command *c = x->cmd;
  if (expired(x)) {
    log_cmd(TC_LOG_DEBUG, x, "deadline expired before dispatch; dropped", NULL,
            NULL);
    return;
  }
  if (c->type == TC_CP_CMD_JSONRPC && c->rpc_kind == TC_CP_RPC_RESPONSE) {
    log_cmd(TC_LOG_INFO, x,
            "command carries a JSON-RPC response; nothing "
            "to forward or post",
            NULL, NULL);
    return;
  }
  if (c->invalid != NULL) {
    answer_invalid(x);
    return;
  }
  if (c->type == TC_CP_CMD_OAUTH_DISCOVERY) {
    if (aborting)
      answer_aborted(x);
    else if (!offer_hooks(x))
      answer_oauth_error(x, 501,
                         "{\"error\":{\"message\":\"no module handles "
                         "oauth_discovery\",\"code\":\"unsupported_command\"}"
                         "}");
    return;
  }
  if (!take_route(x)) {
    answer_unknown_channel(x);
    return;
  }
  struct tc_dispatch_inst *inst = x->inst;
  if (aborting) {
    answer_aborted(x);
    return;
  }
  if (offer_hooks(x))
    return;
  if (c->type == TC_CP_CMD_JSONRPC) {
    int rc = tc_dispatch_inst_call(inst, x->stats, &x->req, &x->sink);
    ensure_terminal(x, rc, inst->vt->name);
    return;
  }
  /* session_termination */
  if (inst->vt->terminate_session == NULL) {
    post_ack(x, TC_CP_RESP_SESSION_TERMINATION, 405, NULL);
    return;
  }
  int status = 0;
  int rc = tc_dispatch_inst_terminate(inst, &x->req, &status);
  int code = rc < 0 ? 502 : (status != 0 ? status : 200);
  if (rc < 0)
    log_cmd(TC_LOG_WARN, x, "session termination failed; answering 502",
            "error", tc_strerror(rc));
  post_ack(x, TC_CP_RESP_SESSION_TERMINATION, code, NULL);
}

/* Metrics and the channel's admin counters for one finished command. */
static void count_outcome(const struct exec *x) {
  const char *outcome = x->outcome != NULL ? x->outcome : "no_response";
  char channel[TC_DISPATCH_LABEL_MAX];
  tc_dispatch_channel_label(x->env->routes, x->cmd->channel, channel,
                            sizeof(channel));
  const char *labels[] = {channel, x->req.type, outcome};
  tc_metric_add(tc_core_metrics()->commands_completed, labels, 1);
  if (x->stats == NULL)
    return;
  int ok = x->outcome != NULL && strcmp(x->outcome, "ok") == 0;
  char why[96];
  if (x->outcome == NULL)
    snprintf(why, sizeof(why), "no response posted (deadline passed)");
  else if (strcmp(x->outcome, "post_failed") == 0)
    snprintf(why, sizeof(why), "response post failed (HTTP %d answer)",
             x->terminal_code);
  else
    snprintf(why, sizeof(why), "answered HTTP %d", x->terminal_code);
  tc_dispatch_stats_count(x->stats, ok, why);
}

void tc_dispatch_exec(struct tc_dispatch_env *env,
                      const struct tc_cp_command *cmd, uint64_t receipt_ns,
                      int aborting) {
  struct exec x;
  memset(&x, 0, sizeof(x));
  x.env = env;
  x.cmd = cmd;
  x.deadline_ns = deadline_of(cmd, receipt_ns);
  x.req.struct_size = sizeof(x.req);
  x.req.type = type_name(cmd->type);
  x.req.channel = cmd->channel;
  x.req.request_id = cmd->request_id;
  x.req.body = cmd->jsonrpc;
  x.req.body_len = cmd->jsonrpc != NULL ? cmd->jsonrpc_len : 0;
  x.req.headers = &cmd->headers;
  x.req.deadline_ns = x.deadline_ns;
  x.req.is_canceled = req_is_canceled;
  x.req.core = &x;
  x.sink.struct_size = sizeof(x.sink);
  x.sink.core = &x;
  x.sink.notify = sink_notify;
  x.sink.complete = sink_complete;
  pthread_mutex_init(&x.mu, NULL);
  run(&x, aborting);
  pthread_mutex_destroy(&x.mu);
  count_outcome(&x);
  if (x.inst != NULL)
    tc_dispatch_inst_unref(x.inst);
  tc_dispatch_stats_unref(x.stats);
}
