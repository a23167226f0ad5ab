/* dev/control_plane_ingress.c — the MCP ingress of the dev control plane:
 * HTTP calls become polled commands, the agent's posted responses become the
 * HTTP replies (protocol.md §4.3).
 *
 *   POST /v1/mcp/{id}[/{channel}]  body = one JSON-RPC message (a JSON
 *        object; else 400). Queued as a `jsonrpc` command whose headers are
 *        the request's minus the blocklist (mcp-oauth-ops.md §1.2) and
 *        minus Origin (see blocked()), then the
 *        call waits up to the response timeout (504 JSON-RPC error -32603
 *        "timed out waiting for tunnel-client response" when nothing
 *        terminal arrived). When the caller's Accept contains
 *        text/event-stream and the first message is a jsonrpc_notify (or the
 *        terminal one says Content-Type text/event-stream), the reply is a
 *        200 SSE stream: each resp_json as "event: message" + "data: <json>"
 *        as it arrives, the terminal one last, then the stream closes.
 *        Otherwise notifications are skipped and the reply is resp_code
 *        (0 -> 200), the resp_headers (minus hop-by-hop names) and resp_json
 *        (none for notify_ack) with Content-Type application/json if absent.
 *   DELETE same path with Mcp-Session-Id (else 400 missing_mcp_session_id)
 *        -> `session_termination` command -> resp_code, no body.
 *   GET /.well-known/oauth-protected-resource/v1/mcp/{id} -> an
 *        `oauth_discovery` command on channel main -> resp_code with
 *        resp_json, its "resource" set to this service's MCP URL (502 when
 *        resp_json is not an object).
 * In every reply a WWW-Authenticate resource_metadata="..." parameter is
 * rewritten to this service's PRMD URL (built from the Host header). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "controlplane/response.h"
#include "dev/control_plane_internal.h"
#include "util/log.h"

#define SSE_BLOCK 4096u

/* ---- request headers ---------------------------------------------------- */

static const char *const blocked_headers[] = {
    "accept-encoding",
    "cf-connecting-ip",
    "connection",
    "cookie",
    "content-length",
    "content-type",
    "forwarded",
    "host",
    "keep-alive",
    "openai-organization",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "true-client-ip",
    "upgrade",
    "via",
    "x-client-ip",
    "x-cluster-client-ip",
    "x-custom-cf-witness-actor",
    "x-custom-cf-witness-authorization",
    "x-envoy-external-address",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-port",
    "x-forwarded-proto",
    "x-oai-brte-redeemable-token",
    "x-openai-actor-authorization",
    "x-openai-authorization",
    "x-openai-authorization-error",
    "x-openai-brte-redeemable-token",
    "x-openai-internal-caller",
    "x-openai-request-path",
    "x-openai-skip-auth",
    "x-original-forwarded-for",
    "x-real-ip",
    "x-tunnel-traffic-source",
    "user-agent",
};

/* Families of internal or forwarding headers dropped as a whole (§4.3). */
static const char *const blocked_prefixes[] = {
    "x-forwarded-", "proxy-", "x-openai-", "x-oai-", "x-custom-cf-witness-"};

/* 1 when `list` (comma-separated tokens) names `name`. */
static int list_names(const char *list, const char *name) {
  size_t n = strlen(name);
  for (const char *p = list; p && *p;) {
    p += strspn(p, " \t,");
    size_t len = strcspn(p, ",");
    size_t t = len;
    while (t > 0 && (p[t - 1] == ' ' || p[t - 1] == '\t'))
      t--;
    if (t == n && t > 0 && strncasecmp(p, name, n) == 0)
      return 1;
    p += len;
  }
  return 0;
}

struct header_walk {
  json_t *out;
  char *connection; /* every Connection value joined by ',' */
  int failed;
};

static enum MHD_Result collect_connection(void *cls, enum MHD_ValueKind kind,
                                          const char *key, const char *value) {
  (void)kind;
  struct header_walk *w = cls;
  if (strcasecmp(key, "Connection") != 0 || value == NULL)
    return MHD_YES;
  char *joined = NULL;
  if (asprintf(&joined, "%s,%s", w->connection ? w->connection : "", value) <
      0) {
    w->failed = 1;
    return MHD_NO;
  }
  free(w->connection);
  w->connection = joined;
  return MHD_YES;
}

static int blocked(const char *name, const char *connection) {
  /* The guard let the request in only if its Origin (when any) names this
   * service, i.e. the caller is same-origin to the ingress. The MCP server
   * is another origin: passing that Origin on would make a server that
   * checks Origin refuse a call it accepts from the same caller directly.
   * What a same-origin or non-browser caller sends is no Origin at all. */
  if (strcasecmp(name, "origin") == 0)
    return 1;
  for (size_t i = 0; i < sizeof(blocked_headers) / sizeof(blocked_headers[0]);
       i++)
    if (strcasecmp(name, blocked_headers[i]) == 0)
      return 1;
  for (size_t i = 0; i < sizeof(blocked_prefixes) / sizeof(blocked_prefixes[0]);
       i++)
    if (strncasecmp(name, blocked_prefixes[i], strlen(blocked_prefixes[i])) ==
        0)
      return 1;
  return connection != NULL && list_names(connection, name);
}

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind,
                                      const char *key, const char *value) {
  (void)kind;
  struct header_walk *w = cls;
  if (value == NULL || value[0] == '\0' || blocked(key, w->connection))
    return MHD_YES;
  size_t n = strlen(key) + 1;
  char *canon = malloc(n);
  if (canon == NULL) {
    w->failed = 1;
    return MHD_NO;
  }
  tc_cp_header_canonical(key, canon, n);
  json_t *vals = json_object_get(w->out, canon);
  if (vals == NULL) {
    vals = json_array();
    if (vals == NULL || json_object_set_new(w->out, canon, vals) != 0)
      w->failed = 1;
  }
  if (!w->failed && json_array_append_new(vals, json_string(value)) != 0)
    w->failed = 1;
  free(canon);
  return w->failed ? MHD_NO : MHD_YES;
}

json_t *tc_devcp_forward_headers(struct MHD_Connection *c) {
  struct header_walk w = {json_object(), NULL, 0};
  if (w.out == NULL)
    return NULL;
  MHD_get_connection_values(c, MHD_HEADER_KIND, collect_connection, &w);
  if (!w.failed)
    MHD_get_connection_values(c, MHD_HEADER_KIND, collect_header, &w);
  free(w.connection);
  if (w.failed) {
    json_decref(w.out);
    return NULL;
  }
  return w.out;
}

/* ---- reply headers ------------------------------------------------------- */

static int skipped_reply_header(const char *name, json_t *resp_headers) {
  static const char *const skip[] = {
      "connection", "content-encoding", "content-length",    "date",
      "keep-alive", "trailer",          "transfer-encoding", "upgrade"};
  for (size_t i = 0; i < sizeof(skip) / sizeof(skip[0]); i++)
    if (strcasecmp(name, skip[i]) == 0)
      return 1;
  if (strncasecmp(name, "proxy-", 6) == 0)
    return 1;
  const char *key;
  json_t *vals;
  json_object_foreach(resp_headers, key, vals) {
    if (strcasecmp(key, "connection") != 0)
      continue;
    size_t i;
    json_t *v;
    json_array_foreach(vals, i, v) {
      if (json_is_string(v) && list_names(json_string_value(v), name))
        return 1;
    }
  }
  return 0;
}

/* `value` with resource_metadata="..." (or unquoted) replaced by `prmd`;
 * malloc()ed, or NULL when there is no such parameter / ENOMEM. */
static char *rewrite_www_authenticate(const char *value, const char *prmd) {
  const char *at = strcasestr(value, "resource_metadata=");
  if (at == NULL)
    return NULL;
  const char *v = at + strlen("resource_metadata=");
  const char *end;
  if (*v == '"') {
    end = strchr(v + 1, '"');
    end = end ? end + 1 : v + strlen(v);
  } else {
    end = v + strcspn(v, ", \t");
  }
  char *out = NULL;
  if (asprintf(&out, "%.*s\"%s\"%s", (int)(v - value), value, prmd, end) < 0)
    return NULL;
  return out;
}

/* Add resp_headers to `r` minus hop-by-hop ones (and Content-Type when
 * `keep_ctype` is 0). Returns 1 when a Content-Type was added. */
static int add_reply_headers(struct MHD_Response *r, json_t *resp_headers,
                             const char *prmd, int keep_ctype) {
  int have_ctype = 0;
  const char *key;
  json_t *vals;
  json_object_foreach(resp_headers, key, vals) {
    if (skipped_reply_header(key, resp_headers))
      continue;
    int is_ctype = strcasecmp(key, "content-type") == 0;
    if (is_ctype && !keep_ctype)
      continue;
    size_t i;
    json_t *v;
    json_array_foreach(vals, i, v) {
      const char *s = json_string_value(v);
      if (s == NULL || s[0] == '\0')
        continue;
      char *rewritten = strcasecmp(key, "www-authenticate") == 0
                            ? rewrite_www_authenticate(s, prmd)
                            : NULL;
      if (MHD_add_response_header(r, key, rewritten ? rewritten : s) ==
              MHD_YES &&
          is_ctype)
        have_ctype = 1;
      free(rewritten);
    }
  }
  return have_ctype;
}

static char *prmd_url(struct tc_devcp *s, struct MHD_Connection *c) {
  char *base = tc_devcp_public_base(s, c);
  char *out = NULL;
  if (base != NULL &&
      asprintf(&out, "%s/.well-known/oauth-protected-resource/v1/mcp/%s", base,
               s->tunnel_id) < 0)
    out = NULL;
  free(base);
  return out;
}

static int resp_type_of(json_t *msg) {
  return tc_devcp_resp_type_parse(
      json_string_value(json_object_get(msg, "resp_type")));
}

static unsigned int resp_code_of(json_t *msg) {
  json_int_t code = json_integer_value(json_object_get(msg, "resp_code"));
  return code >= 100 && code <= 999 ? (unsigned int)code : MHD_HTTP_OK;
}

/* Reply with the terminal message `msg` as plain HTTP; `body` (may be NULL)
 * replaces resp_json. */
static enum MHD_Result reply_plain(struct tc_devcp *s, struct MHD_Connection *c,
                                   json_t *msg, json_t *body) {
  json_t *rj = body ? body : json_object_get(msg, "resp_json");
  char *text = json_is_object(rj) ? json_dumps(rj, JSON_COMPACT) : NULL;
  char *prmd = prmd_url(s, c);
  struct MHD_Response *r = MHD_create_response_from_buffer(
      text ? strlen(text) : 0, text ? text : (void *)(uintptr_t) "",
      MHD_RESPMEM_MUST_COPY);
  enum MHD_Result ret = MHD_NO;
  if (r != NULL && prmd != NULL) {
    int have_ctype =
        add_reply_headers(r, json_object_get(msg, "resp_headers"), prmd, 1);
    if (text != NULL && !have_ctype)
      MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                              "application/json");
    ret = MHD_queue_response(c, resp_code_of(msg), r);
  }
  if (r != NULL)
    MHD_destroy_response(r);
  free(prmd);
  free(text);
  return ret;
}

/* ---- SSE ----------------------------------------------------------------- */

struct sse_stream {
  struct tc_devcp *s;
  struct devcp_pending *p; /* owned: finished by sse_free */
  struct timespec deadline;
  char *buf;
  size_t len, off;
  int done;
};

/* Load `msg` (consumed) as the next event; marks the end at a terminal. */
static void sse_load(struct sse_stream *st, json_t *msg) {
  int type = resp_type_of(msg);
  if (tc_devcp_resp_type_terminal(type))
    st->done = 1;
  json_t *rj = json_object_get(msg, "resp_json");
  char *text = json_is_object(rj) ? json_dumps(rj, JSON_COMPACT) : NULL;
  json_decref(msg);
  free(st->buf);
  st->buf = NULL;
  st->len = st->off = 0;
  if (text == NULL)
    return;
  if (asprintf(&st->buf, "event: message\ndata: %s\n\n", text) >= 0)
    st->len = strlen(st->buf);
  else
    st->buf = NULL;
  free(text);
}

/* Runs on the connection's own thread, so blocking here only delays this
 * stream. */
static ssize_t sse_read(void *cls, uint64_t pos, char *out, size_t max) {
  (void)pos;
  struct sse_stream *st = cls;
  while (st->off == st->len) {
    if (st->done)
      return MHD_CONTENT_READER_END_OF_STREAM;
    json_t *msg = NULL;
    if (tc_devcp_pending_next(st->s, st->p, &st->deadline, &msg) != 1) {
      tc_log(TC_LOG_WARN, "devcp",
             "ingress stream ended without a terminal response", "request_id",
             st->p->request_id, NULL);
      return MHD_CONTENT_READER_END_OF_STREAM;
    }
    sse_load(st, msg);
  }
  size_t n = st->len - st->off;
  if (n > max)
    n = max;
  memcpy(out, st->buf + st->off, n);
  st->off += n;
  return (ssize_t)n;
}

static void sse_free(void *cls) {
  struct sse_stream *st = cls;
  tc_devcp_pending_finish(st->s, st->p);
  free(st->buf);
  free(st);
}

/* Start the SSE reply with `first` (consumed). Takes ownership of `p` in
 * every case. */
static enum MHD_Result reply_stream(struct tc_devcp *s,
                                    struct MHD_Connection *c,
                                    struct devcp_pending *p,
                                    const struct timespec *deadline,
                                    json_t *first) {
  struct sse_stream *st = calloc(1, sizeof(*st));
  char *prmd = prmd_url(s, c);
  if (st == NULL || prmd == NULL) {
    free(st);
    free(prmd);
    json_decref(first);
    tc_devcp_pending_finish(s, p);
    return MHD_NO;
  }
  st->s = s;
  st->p = p;
  st->deadline = *deadline;
  json_t *headers = json_incref(json_object_get(first, "resp_headers"));
  sse_load(st, first);
  struct MHD_Response *r = MHD_create_response_from_callback(
      MHD_SIZE_UNKNOWN, SSE_BLOCK, sse_read, st, sse_free);
  if (r == NULL) {
    json_decref(headers);
    free(prmd);
    sse_free(st);
    return MHD_NO;
  }
  add_reply_headers(r, headers, prmd, 0);
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
  MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
  enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
  MHD_destroy_response(r); /* sse_free runs when the connection is done */
  json_decref(headers);
  free(prmd);
  return ret;
}

/* ---- routes -------------------------------------------------------------- */

static int accepts_sse(struct MHD_Connection *c) {
  const char *a =
      MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
  return a != NULL && strcasestr(a, "text/event-stream") != NULL;
}

static int terminal_is_sse(json_t *msg) {
  json_t *hs = json_object_get(msg, "resp_headers");
  const char *key;
  json_t *vals;
  json_object_foreach(hs, key, vals) {
    if (strcasecmp(key, "content-type") != 0)
      continue;
    const char *v = json_string_value(json_array_get(vals, 0));
    return v != NULL && strncasecmp(v, "text/event-stream", 17) == 0;
  }
  return 0;
}

static enum MHD_Result timeout_rpc(struct MHD_Connection *c, json_t *rpc) {
  char *id = NULL;
  json_t *idv = json_object_get(rpc, "id");
  if (idv != NULL)
    id = json_dumps(idv, JSON_ENCODE_ANY | JSON_COMPACT);
  char *body = tc_cp_jsonrpc_error_body(
      id, -32603, "timed out waiting for tunnel-client response", NULL);
  free(id);
  if (body == NULL)
    return MHD_NO;
  enum MHD_Result ret =
      tc_devcp_respond(c, MHD_HTTP_GATEWAY_TIMEOUT, "application/json", body,
                       strlen(body), NULL);
  free(body);
  return ret;
}

static enum MHD_Result unavailable(struct MHD_Connection *c) {
  return tc_devcp_respond_error(
      c, MHD_HTTP_SERVICE_UNAVAILABLE, "server_error", "tunnel_queue_full",
      "cannot queue the request (stopping, out of memory or too many pending "
      "requests)",
      NULL);
}

/* Wait for the terminal message of `p`, skipping notifications. Returns 1
 * with *msg, 0 on timeout, -1 when stopping. */
static int wait_terminal(struct tc_devcp *s, struct devcp_pending *p,
                         const struct timespec *deadline, json_t **msg) {
  for (;;) {
    int rc = tc_devcp_pending_next(s, p, deadline, msg);
    if (rc != 1)
      return rc;
    if (tc_devcp_resp_type_terminal(resp_type_of(*msg)))
      return 1;
    json_decref(*msg);
  }
}

static enum MHD_Result handle_post(struct tc_devcp *s, struct MHD_Connection *c,
                                   const char *channel,
                                   const struct devcp_req *rq) {
  if (rq->body.len == 0)
    return tc_devcp_respond_error(
        c, MHD_HTTP_BAD_REQUEST, "invalid_request_error",
        "invalid_json_payload", "jsonrpc request body is required", NULL);
  json_t *rpc = json_loadb(rq->body.data, rq->body.len, 0, NULL);
  if (!json_is_object(rpc)) {
    json_decref(rpc);
    return tc_devcp_respond_error(
        c, MHD_HTTP_BAD_REQUEST, "invalid_request_error",
        "invalid_json_payload",
        "request body must be one JSON-RPC message (a JSON object)", NULL);
  }
  struct devcp_pending *p = tc_devcp_pending_new(
      s, "jsonrpc", channel, tc_devcp_forward_headers(c), rpc);
  if (p == NULL) {
    json_decref(rpc);
    return unavailable(c);
  }
  struct timespec deadline;
  tc_devcp_deadline(s->response_timeout_ms, &deadline);
  int sse = accepts_sse(c);
  enum MHD_Result ret;
  for (;;) {
    json_t *msg = NULL;
    int rc = tc_devcp_pending_next(s, p, &deadline, &msg);
    if (rc != 1) {
      tc_devcp_pending_finish(s, p);
      ret = rc == 0 ? timeout_rpc(c, rpc) : unavailable(c);
      break;
    }
    int terminal = tc_devcp_resp_type_terminal(resp_type_of(msg));
    if (sse && (!terminal || terminal_is_sse(msg))) {
      ret = reply_stream(s, c, p, &deadline, msg); /* takes p and msg */
      break;
    }
    if (terminal) {
      tc_devcp_pending_finish(s, p);
      ret = reply_plain(s, c, msg, NULL);
      json_decref(msg);
      break;
    }
    json_decref(msg); /* a notification the caller cannot receive */
  }
  json_decref(rpc);
  return ret;
}

static enum MHD_Result handle_delete(struct tc_devcp *s,
                                     struct MHD_Connection *c,
                                     const char *channel) {
  const char *sid =
      MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Mcp-Session-Id");
  if (sid == NULL || sid[0] == '\0')
    return tc_devcp_respond_error(
        c, MHD_HTTP_BAD_REQUEST, "invalid_request_error",
        "missing_mcp_session_id",
        "DELETE needs the Mcp-Session-Id header of the session to end", NULL);
  struct devcp_pending *p = tc_devcp_pending_new(
      s, "session_termination", channel, tc_devcp_forward_headers(c), NULL);
  if (p == NULL)
    return unavailable(c);
  struct timespec deadline;
  tc_devcp_deadline(s->response_timeout_ms, &deadline);
  json_t *msg = NULL;
  int rc = wait_terminal(s, p, &deadline, &msg);
  tc_devcp_pending_finish(s, p);
  if (rc != 1)
    return rc == 0 ? tc_devcp_respond_error(
                         c, MHD_HTTP_GATEWAY_TIMEOUT, "server_error", NULL,
                         "timed out waiting for tunnel-client response", NULL)
                   : unavailable(c);
  json_object_del(msg, "resp_json"); /* an ack has no body */
  enum MHD_Result ret = reply_plain(s, c, msg, NULL);
  json_decref(msg);
  return ret;
}

enum MHD_Result tc_devcp_handle_mcp(struct tc_devcp *s,
                                    struct MHD_Connection *c,
                                    const char *method, const char *channel,
                                    const struct devcp_req *rq) {
  if (strcmp(method, MHD_HTTP_METHOD_DELETE) == 0)
    return handle_delete(s, c, channel);
  return handle_post(s, c, channel, rq);
}

enum MHD_Result tc_devcp_handle_prmd(struct tc_devcp *s,
                                     struct MHD_Connection *c) {
  struct devcp_pending *p = tc_devcp_pending_new(
      s, "oauth_discovery", "main", tc_devcp_forward_headers(c), NULL);
  if (p == NULL)
    return unavailable(c);
  struct timespec deadline;
  tc_devcp_deadline(s->response_timeout_ms, &deadline);
  json_t *msg = NULL;
  int rc = wait_terminal(s, p, &deadline, &msg);
  tc_devcp_pending_finish(s, p);
  if (rc != 1)
    return rc == 0 ? tc_devcp_respond_error(
                         c, MHD_HTTP_GATEWAY_TIMEOUT, "server_error", NULL,
                         "timed out waiting for tunnel-client response", NULL)
                   : unavailable(c);
  json_t *doc = json_object_get(msg, "resp_json");
  enum MHD_Result ret;
  if (!json_is_object(doc)) {
    ret = tc_devcp_respond_error(
        c, MHD_HTTP_BAD_GATEWAY, "server_error", NULL,
        "tunnel-client returned no protected resource metadata object", NULL);
  } else {
    char *base = tc_devcp_public_base(s, c);
    char *resource = NULL;
    if (base != NULL &&
        asprintf(&resource, "%s/v1/mcp/%s", base, s->tunnel_id) >= 0) {
      json_object_set_new(doc, "resource", json_string(resource));
      free(resource);
    }
    free(base);
    ret = reply_plain(s, c, msg, NULL);
  }
  json_decref(msg);
  return ret;
}
