/* dev/mcp_stub.c — the MCP stub's HTTP side (see mcp_stub.h): Streamable
 * HTTP on /mcp, OAuth discovery documents, sessions. Methods and tools are
 * in mcp_stub_rpc.c.
 *
 * Routes
 *   POST   /mcp   one JSON-RPC message per request (body <= 1 MiB, else 413).
 *                 Requests get a response; notifications (no id) and client
 *                 responses get 202 with no body. Malformed JSON is 400 with
 *                 -32700 (id null); a batch array or a message that is not
 *                 JSON-RPC 2.0 is 400 with -32600. Method-level errors
 *                 (-32601, -32602) are HTTP 200.
 *   DELETE /mcp   ends the session named by Mcp-Session-Id: 204, 404 when
 *                 unknown, 400 without the header.
 *   GET    /mcp   405 (Allow: POST, DELETE): there is no server-initiated
 *                 stream and no resumption.
 *   GET    /.well-known/oauth-protected-resource[/mcp]   PRMD
 *   GET    /.well-known/oauth-authorization-server       AS metadata
 *   GET    /jwks                                        {"keys":[]}
 *   GET    /_stub/last-authorization   {"authorization": the Authorization
 *                 header of the last POST/DELETE /mcp as received, or absent}
 *   GET    /_stub/last-headers   {"headers": every request header of the
 *                 last POST/DELETE /mcp as [name, value] pairs in order,
 *                 or null} (what a tunnel forwarded)
 *
 * Options (mcp_stub.h): HTTPS with a certificate/key, optionally requiring
 * a client certificate from a given CA (403 without one); an OAuth mode
 * where POST/DELETE /mcp need "Authorization: Bearer <token>" (else 401 +
 * WWW-Authenticate Bearer resource_metadata=<PRMD URL>); an AS document
 * whose issuer differs from its URL (issuer mismatch).
 *   Anything else is 404; a known path with the wrong method is 405 + Allow.
 *   Before any route, and before a body is read, the DNS-rebinding guard
 *   (util/http_guard.h): a foreign Host or Origin, or Sec-Fetch-Site:
 *   cross-site, gets 403 and two Host or two Origin headers 400 (a JSON-RPC
 *   error with id null on /mcp, text elsewhere), as the MCP specification
 *   asks of a local server.
 *   The advertised authorize/token/register endpoints are not implemented.
 *   Discovery documents use http://<Host header> as the base URL (the
 *   listener's URL when a request has no usable Host).
 *
 * Sessions: a successful initialize issues a fresh Mcp-Session-Id (32
 * random hex digits). A request naming a session that was never issued or
 * was deleted gets 404 (JSON-RPC error -32001, id null); requests without
 * the header (or with an empty one) are served (stateless clients). At most
 * 4096 sessions are kept; the oldest is forgotten first. The table is guarded
 * by a mutex.
 *
 * Reply format rule: a JSON-RPC response is sent as text/event-stream when
 * the Accept header contains text/event-stream AND either it is listed
 * before application/json (or application/json is absent), or the request
 * is a tools/call with arguments.stream == true. Otherwise it is
 * application/json (also when Accept is missing or a wildcard; q-values are
 * ignored). A stream carries, for a tools/call with arguments.progress = N,
 * N notifications/progress events (progressToken = params._meta.progressToken,
 * else the request id; progress 1..N, total N) and then the response; each
 * event is "event: message", "id: <k>" (k = 1, 2, ... within the stream) and
 * one "data: <compact JSON>" line, ended by a blank line. The stream is
 * sent in one piece and then closed. */
#include "dev/mcp_stub.h"

#include <errno.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dev/mcp_stub_internal.h"
#include "util/error.h"
#include "util/http_guard.h"
#include "util/http_server.h"
#include "util/log.h"
#include "util/net_listen.h"
#include "util/sbuf.h"

#define STUB_MAX_BODY (1024u * 1024u)
#define STUB_DISCARD_LIMIT (16u * 1024u * 1024u) /* read-and-drop at most */
#define STUB_MAX_SESSIONS 4096u
#define STUB_SESSION_HEX 32u
#define STUB_CONNECTION_TIMEOUT_S 30u
#define STUB_CONNECTION_LIMIT 256u
#define STUB_SESSION_NOT_FOUND (-32001)

struct tc_mcp_stub {
  struct tc_http_server *http;
  struct tc_http_guard guard; /* Host/Origin: loopback, own, --allowed-hosts */
  char *base_url;
  char *name;
  char *version;
  char *scheme;      /* "http" or "https" */
  char *oauth_token; /* bearer token required on /mcp, or NULL */
  int issuer_mismatch;
  int require_client_cert;
  char *tls_cert, *tls_key, *tls_trust; /* PEM text while serving */
  char *last_authorization;             /* last Authorization on /mcp */
  json_t *last_headers;                 /* [[name, value]...] of it */
  pthread_mutex_t lock; /* guards the session table, last_authorization,
                           last_headers */
  char (*sessions)[STUB_SESSION_HEX + 1]; /* oldest first */
  size_t nsessions;
};

/* Per-request state, freed by on_completed. */
struct stub_req {
  int collect; /* POST /mcp: keep the body */
  int too_large;
  struct tc_sbuf body;
};

/* ---- sessions ------------------------------------------------------------ */

static int session_new(struct tc_mcp_stub *s, char out[STUB_SESSION_HEX + 1]) {
  unsigned char r[STUB_SESSION_HEX / 2];
  if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
    return -1;
  for (size_t i = 0; i < sizeof(r); i++)
    snprintf(out + 2 * i, 3, "%02x", r[i]);
  pthread_mutex_lock(&s->lock);
  if (s->nsessions == STUB_MAX_SESSIONS) {
    memmove(s->sessions[0], s->sessions[1],
            (s->nsessions - 1) * sizeof(s->sessions[0]));
    s->nsessions--;
  }
  memcpy(s->sessions[s->nsessions++], out, STUB_SESSION_HEX + 1);
  pthread_mutex_unlock(&s->lock);
  return 0;
}

/* Index of `id` or -1. Caller holds the lock. */
static long session_find_locked(const struct tc_mcp_stub *s, const char *id) {
  for (size_t i = 0; i < s->nsessions; i++)
    if (strcmp(s->sessions[i], id) == 0)
      return (long)i;
  return -1;
}

static int session_known(struct tc_mcp_stub *s, const char *id) {
  pthread_mutex_lock(&s->lock);
  int known = session_find_locked(s, id) >= 0;
  pthread_mutex_unlock(&s->lock);
  return known;
}

/* 1 when the session existed and is now gone. */
static int session_delete(struct tc_mcp_stub *s, const char *id) {
  pthread_mutex_lock(&s->lock);
  long i = session_find_locked(s, id);
  if (i >= 0) {
    memmove(s->sessions[i], s->sessions[i + 1],
            (s->nsessions - (size_t)i - 1) * sizeof(s->sessions[0]));
    s->nsessions--;
  }
  pthread_mutex_unlock(&s->lock);
  return i >= 0;
}

/* ---- responses ----------------------------------------------------------- */

/* Queue `len` bytes of `body` (copied) with optional extra header pairs
 * (name, value, ..., NULL). */
static enum MHD_Result respond(struct MHD_Connection *c, unsigned int status,
                               const char *ctype, const char *body, size_t len,
                               ...) {
  struct MHD_Response *r = MHD_create_response_from_buffer(
      len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
  if (r == NULL)
    return MHD_NO;
  if (ctype != NULL)
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
  MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  va_list ap;
  va_start(ap, len);
  for (const char *k = va_arg(ap, const char *); k != NULL;
       k = va_arg(ap, const char *))
    MHD_add_response_header(r, k, va_arg(ap, const char *));
  va_end(ap);
  enum MHD_Result ret = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return ret;
}

static enum MHD_Result respond_text(struct MHD_Connection *c,
                                    unsigned int status, const char *text) {
  return respond(c, status, "text/plain; charset=utf-8", text, strlen(text),
                 NULL);
}

static enum MHD_Result respond_405(struct MHD_Connection *c,
                                   const char *allow) {
  return respond(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain; charset=utf-8",
                 "method not allowed", strlen("method not allowed"),
                 MHD_HTTP_HEADER_ALLOW, allow, NULL);
}

/* Send a JSON value (stolen) as application/json. */
static enum MHD_Result respond_json(struct MHD_Connection *c,
                                    unsigned int status, json_t *v,
                                    const char *hname, const char *hvalue) {
  char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
  json_decref(v);
  if (text == NULL)
    return respond_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
  enum MHD_Result ret = respond(c, status, "application/json", text,
                                strlen(text), hname, hvalue, NULL);
  free(text);
  return ret;
}

static enum MHD_Result respond_rpc_error(struct MHD_Connection *c,
                                         unsigned int status, int code,
                                         const char *msg) {
  return respond_json(c, status, tc_mcp_stub_error(NULL, code, msg), NULL,
                      NULL);
}

/* One SSE event: "event: message", "id: k", "data: <json>", blank line. */
static void sse_event(struct tc_sbuf *b, int k, json_t *msg) {
  char *text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
  if (text == NULL) {
    b->failed = 1;
    return;
  }
  tc_sbuf_printf(b, "event: message\nid: %d\ndata: %s\n\n", k, text);
  free(text);
}

/* ---- POST /mcp ----------------------------------------------------------- */

/* Position of `what` in the Accept header (case-insensitive), or -1. */
static long accept_pos(const char *accept, const char *what) {
  if (accept == NULL)
    return -1;
  const char *p = strcasestr(accept, what);
  return p ? (long)(p - accept) : -1;
}

static int wants_stream(struct MHD_Connection *c,
                        const struct tc_mcp_stub_call *call) {
  const char *accept =
      MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
  long sse = accept_pos(accept, "text/event-stream");
  long json = accept_pos(accept, "application/json");
  if (sse < 0)
    return 0;
  return json < 0 || sse < json || call->stream;
}

static enum MHD_Result reply_stream(struct MHD_Connection *c, json_t *resp,
                                    const struct tc_mcp_stub_call *call,
                                    const char *hname, const char *hvalue) {
  struct tc_sbuf b = TC_SBUF_INIT;
  int k = 1;
  for (int i = 1; i <= call->progress; i++) {
    json_t *n = tc_mcp_stub_progress(call->progress_token, i, call->progress);
    sse_event(&b, k++, n);
    json_decref(n);
  }
  sse_event(&b, k, resp);
  json_decref(resp);
  char *text = tc_sbuf_finish(&b);
  if (text == NULL)
    return respond_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
  enum MHD_Result ret = respond(c, MHD_HTTP_OK, "text/event-stream", text,
                                strlen(text), hname, hvalue, NULL);
  free(text);
  return ret;
}

static enum MHD_Result handle_post(struct tc_mcp_stub *s,
                                   struct MHD_Connection *c,
                                   struct stub_req *rq) {
  if (rq->too_large)
    return respond_rpc_error(c, MHD_HTTP_CONTENT_TOO_LARGE,
                             TC_MCP_STUB_JSONRPC_INVALID_REQUEST,
                             "request body is larger than 1 MiB");
  const char *sid =
      MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Mcp-Session-Id");
  if (sid != NULL && sid[0] != '\0' && !session_known(s, sid))
    return respond_rpc_error(c, MHD_HTTP_NOT_FOUND, STUB_SESSION_NOT_FOUND,
                             "session not found: initialize again without "
                             "Mcp-Session-Id");

  json_error_t jerr;
  json_t *msg = json_loadb(rq->body.data ? rq->body.data : "", rq->body.len,
                           JSON_DECODE_ANY, &jerr);
  if (msg == NULL) {
    char text[200];
    snprintf(text, sizeof(text), "parse error: %s (at byte %d)", jerr.text,
             jerr.position);
    return respond_rpc_error(c, MHD_HTTP_BAD_REQUEST,
                             TC_MCP_STUB_JSONRPC_PARSE_ERROR, text);
  }
  if (json_is_array(msg)) {
    json_decref(msg);
    return respond_rpc_error(c, MHD_HTTP_BAD_REQUEST,
                             TC_MCP_STUB_JSONRPC_INVALID_REQUEST,
                             "batch requests are not supported; send one "
                             "JSON-RPC message per POST");
  }
  json_t *id = json_object_get(msg, "id");
  json_t *method = json_object_get(msg, "method");
  int valid_id = id == NULL || json_is_string(id) || json_is_integer(id);
  int is_response = method == NULL && id != NULL &&
                    (json_object_get(msg, "result") != NULL ||
                     json_object_get(msg, "error") != NULL);
  if (!json_is_object(msg) ||
      !json_is_string(json_object_get(msg, "jsonrpc")) ||
      strcmp(json_string_value(json_object_get(msg, "jsonrpc")), "2.0") != 0 ||
      !valid_id || (!json_is_string(method) && !is_response)) {
    json_t *err = tc_mcp_stub_error(
        valid_id ? id : NULL, TC_MCP_STUB_JSONRPC_INVALID_REQUEST,
        "not a JSON-RPC 2.0 message: need \"jsonrpc\":\"2.0\", a string "
        "\"method\" and an optional string or integer \"id\"");
    json_decref(msg);
    return respond_json(c, MHD_HTTP_BAD_REQUEST, err, NULL, NULL);
  }
  if (id == NULL || is_response) { /* notification or client response */
    tc_log(TC_LOG_DEBUG, "mcp-stub", "accepted", "method",
           json_string_value(method), NULL);
    json_decref(msg);
    return respond(c, MHD_HTTP_ACCEPTED, NULL, "", 0, NULL);
  }

  struct tc_mcp_stub_call call;
  json_t *resp = tc_mcp_stub_dispatch(msg, s->name, s->version, &call);
  tc_log(TC_LOG_DEBUG, "mcp-stub", "request", "method",
         json_string_value(method), NULL);
  char session[STUB_SESSION_HEX + 1] = "";
  if (resp != NULL && call.initialized && session_new(s, session) != 0) {
    json_decref(resp);
    resp = tc_mcp_stub_error(id, TC_MCP_STUB_JSONRPC_INTERNAL_ERROR,
                             "cannot generate a session id");
  }
  const char *hname = session[0] ? "Mcp-Session-Id" : NULL;
  enum MHD_Result ret =
      resp != NULL && wants_stream(c, &call)
          ? reply_stream(c, resp, &call, hname, session)
          : respond_json(c, MHD_HTTP_OK, resp, hname, session);
  json_decref(msg); /* after reply_stream: progress_token is borrowed */
  return ret;
}

/* ---- discovery documents --------------------------------------------------
 */

/* "http://<Host>" when the Host header looks like host[:port], else the
 * listener URL. malloc()ed; NULL on ENOMEM. */
static char *request_base(const struct tc_mcp_stub *s,
                          struct MHD_Connection *c) {
  const char *host =
      MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
  static const char ok[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
      "0123456789.-_:[]";
  char *base = NULL;
  if (host != NULL && host[0] != '\0' && strlen(host) <= 255 &&
      strspn(host, ok) == strlen(host)) {
    if (asprintf(&base, "%s://%s", s->scheme, host) < 0)
      base = NULL;
    return base;
  }
  return strdup(s->base_url);
}

static json_t *prmd_doc(const char *base) {
  char *resource = NULL;
  if (asprintf(&resource, "%s/mcp", base) < 0)
    return NULL;
  json_t *doc =
      json_pack("{s:s, s:[s], s:[s, s], s:[s]}", "resource", resource,
                "authorization_servers", base, "scopes_supported", "read",
                "write", "bearer_methods_supported", "header");
  free(resource);
  return doc;
}

static json_t *as_doc(const char *base, int issuer_mismatch) {
  char *authz = NULL, *token = NULL, *reg = NULL, *jwks = NULL, *iss = NULL;
  json_t *doc = NULL;
  if (asprintf(&iss, "%s%s", base, issuer_mismatch ? "/other-issuer" : "") >=
          0 &&
      asprintf(&authz, "%s/authorize", base) >= 0 &&
      asprintf(&token, "%s/token", base) >= 0 &&
      asprintf(&reg, "%s/register", base) >= 0 &&
      asprintf(&jwks, "%s/jwks", base) >= 0)
    doc =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:[s], s:[s, s], s:[s], s:[s, s],"
                  " s:[s, s]}",
                  "issuer", iss, "authorization_endpoint", authz,
                  "token_endpoint", token, "registration_endpoint", reg,
                  "jwks_uri", jwks, "response_types_supported", "code",
                  "grant_types_supported", "authorization_code",
                  "refresh_token", "code_challenge_methods_supported", "S256",
                  "token_endpoint_auth_methods_supported", "none",
                  "client_secret_post", "scopes_supported", "read", "write");
  free(iss);
  free(authz);
  free(token);
  free(reg);
  free(jwks);
  return doc;
}

/* ---- routing --------------------------------------------------------------
 */

enum stub_route {
  ROUTE_NONE,
  ROUTE_MCP,
  ROUTE_PRMD,
  ROUTE_AS,
  ROUTE_JWKS,
  ROUTE_SEEN_AUTH,
  ROUTE_SEEN_HEADERS,
};

static enum stub_route find_route(const char *url) {
  if (strcmp(url, "/mcp") == 0)
    return ROUTE_MCP;
  if (strcmp(url, "/.well-known/oauth-protected-resource") == 0 ||
      strcmp(url, "/.well-known/oauth-protected-resource/mcp") == 0)
    return ROUTE_PRMD;
  if (strcmp(url, "/.well-known/oauth-authorization-server") == 0)
    return ROUTE_AS;
  if (strcmp(url, "/jwks") == 0)
    return ROUTE_JWKS;
  if (strcmp(url, "/_stub/last-authorization") == 0)
    return ROUTE_SEEN_AUTH;
  if (strcmp(url, "/_stub/last-headers") == 0)
    return ROUTE_SEEN_HEADERS;
  return ROUTE_NONE;
}

static enum MHD_Result handle_get_doc(struct tc_mcp_stub *s,
                                      struct MHD_Connection *c,
                                      enum stub_route route) {
  if (route == ROUTE_JWKS)
    return respond_json(c, MHD_HTTP_OK, json_pack("{s:[]}", "keys"), NULL,
                        NULL);
  char *base = request_base(s, c);
  json_t *doc = base == NULL          ? NULL
                : route == ROUTE_PRMD ? prmd_doc(base)
                                      : as_doc(base, s->issuer_mismatch);
  free(base);
  return respond_json(c, MHD_HTTP_OK, doc, NULL, NULL);
}

static enum MHD_Result handle_delete(struct tc_mcp_stub *s,
                                     struct MHD_Connection *c) {
  const char *sid =
      MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Mcp-Session-Id");
  if (sid == NULL || sid[0] == '\0')
    return respond_text(c, MHD_HTTP_BAD_REQUEST,
                        "DELETE /mcp needs an Mcp-Session-Id header");
  if (!session_delete(s, sid))
    return respond_text(c, MHD_HTTP_NOT_FOUND, "session not found");
  return respond(c, MHD_HTTP_NO_CONTENT, NULL, "", 0, NULL);
}

/* 1 when the TLS client presented a certificate that verifies against the
 * trust list (libmicrohttpd only requests one). */
static int client_cert_verified(struct MHD_Connection *c) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
  if (ci == NULL || ci->tls_session == NULL)
    return 0;
  gnutls_session_t session = (gnutls_session_t)ci->tls_session;
  unsigned int n = 0;
  if (gnutls_certificate_get_peers(session, &n) == NULL || n == 0)
    return 0;
  unsigned int status = 0;
  return gnutls_certificate_verify_peers2(session, &status) == 0 && status == 0;
}

static enum MHD_Result add_pair(void *cls, enum MHD_ValueKind kind,
                                const char *key, const char *value) {
  (void)kind;
  json_array_append_new(cls, json_pack("[ss]", key, value ? value : ""));
  return MHD_YES;
}

/* Remember the Authorization header and every header of this /mcp
 * request as received. */
static void record_request(struct tc_mcp_stub *s, struct MHD_Connection *c) {
  const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_AUTHORIZATION);
  json_t *pairs = json_array();
  if (pairs != NULL)
    MHD_get_connection_values(c, MHD_HEADER_KIND, add_pair, pairs);
  pthread_mutex_lock(&s->lock);
  free(s->last_authorization);
  s->last_authorization = auth != NULL ? strdup(auth) : NULL;
  json_decref(s->last_headers);
  s->last_headers = pairs;
  pthread_mutex_unlock(&s->lock);
}

/* OAuth mode: record the request and demand the exact bearer token. 0
 * when the request may proceed, else 1 with the queued 401 result in
 * *ret. */
static int bearer_refused(struct tc_mcp_stub *s, struct MHD_Connection *c,
                          enum MHD_Result *ret) {
  const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_AUTHORIZATION);
  record_request(s, c);
  if (s->oauth_token == NULL)
    return 0;
  if (auth != NULL && strncmp(auth, "Bearer ", 7) == 0 &&
      strcmp(auth + 7, s->oauth_token) == 0)
    return 0;
  char *base = request_base(s, c);
  char *challenge = NULL;
  if (base == NULL ||
      asprintf(&challenge,
               "Bearer resource_metadata=\"%s/.well-known/"
               "oauth-protected-resource/mcp\", scope=\"read write\"",
               base) < 0)
    challenge = NULL;
  free(base);
  static const char body[] = "{\"error\":\"invalid_token\","
                             "\"error_description\":\"a bearer token is "
                             "required\"}";
  *ret = challenge != NULL
             ? respond(c, MHD_HTTP_UNAUTHORIZED, "application/json", body,
                       strlen(body), MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                       challenge, NULL)
             : respond_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
  free(challenge);
  return 1;
}

static enum MHD_Result handle_seen_auth(struct tc_mcp_stub *s,
                                        struct MHD_Connection *c) {
  pthread_mutex_lock(&s->lock);
  json_t *doc = json_pack("{s:s?}", "authorization", s->last_authorization);
  pthread_mutex_unlock(&s->lock);
  return respond_json(c, MHD_HTTP_OK, doc, NULL, NULL);
}

static enum MHD_Result handle_seen_headers(struct tc_mcp_stub *s,
                                           struct MHD_Connection *c) {
  pthread_mutex_lock(&s->lock);
  json_t *doc = json_pack("{s:O?}", "headers", s->last_headers);
  pthread_mutex_unlock(&s->lock);
  return respond_json(c, MHD_HTTP_OK, doc, NULL, NULL);
}

static enum MHD_Result dispatch(struct tc_mcp_stub *s, struct MHD_Connection *c,
                                const char *url, const char *method,
                                struct stub_req *rq) {
  enum stub_route route = find_route(url);
  int is_get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
               strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
  if (s->require_client_cert && !client_cert_verified(c))
    return respond_text(c, MHD_HTTP_FORBIDDEN,
                        "a client certificate issued by the trusted CA is "
                        "required");
  enum MHD_Result ret = MHD_NO;
  switch (route) {
  case ROUTE_NONE:
    return respond_text(c, MHD_HTTP_NOT_FOUND, "not found");
  case ROUTE_SEEN_AUTH:
    return is_get ? handle_seen_auth(s, c) : respond_405(c, "GET, HEAD");
  case ROUTE_SEEN_HEADERS:
    return is_get ? handle_seen_headers(s, c) : respond_405(c, "GET, HEAD");
  case ROUTE_MCP:
    if (strcmp(method, MHD_HTTP_METHOD_POST) == 0 ||
        strcmp(method, MHD_HTTP_METHOD_DELETE) == 0) {
      if (bearer_refused(s, c, &ret))
        return ret;
    }
    if (strcmp(method, MHD_HTTP_METHOD_POST) == 0)
      return handle_post(s, c, rq);
    if (strcmp(method, MHD_HTTP_METHOD_DELETE) == 0)
      return handle_delete(s, c);
    return respond_405(c, "POST, DELETE");
  case ROUTE_PRMD:
  case ROUTE_AS:
  case ROUTE_JWKS:
    return is_get ? handle_get_doc(s, c, route) : respond_405(c, "GET, HEAD");
  }
  return respond_text(c, MHD_HTTP_NOT_FOUND, "not found");
}

/* The guard's refusal: a JSON-RPC error (id null) on /mcp, text elsewhere. */
static enum MHD_Result refuse(struct tc_mcp_stub *s, struct MHD_Connection *c,
                              const char *url, enum tc_http_guard_verdict v) {
  char msg[256];
  tc_http_guard_message(&s->guard, v, msg, sizeof(msg));
  tc_log(TC_LOG_WARN, "mcp-stub", "request refused", "reason", msg, "path", url,
         NULL);
  unsigned int status = tc_http_guard_status(v);
  if (find_route(url) != ROUTE_MCP)
    return respond_text(c, status, msg);
  return respond_rpc_error(c, status, -32000, msg);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **req_cls) {
  (void)version;
  struct tc_mcp_stub *s = cls;
  struct stub_req *rq = *req_cls;
  if (rq == NULL) { /* headers only: the guard runs before any body */
    rq = calloc(1, sizeof(*rq));
    if (rq == NULL)
      return MHD_NO;
    *req_cls = rq;
    enum tc_http_guard_verdict v = tc_http_guard_check(&s->guard, c);
    if (v != TC_GUARD_PASS)
      return refuse(s, c, url, v);
    rq->collect = strcmp(method, MHD_HTTP_METHOD_POST) == 0 &&
                  find_route(url) == ROUTE_MCP;
    const char *clen = MHD_lookup_connection_value(
        c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *expect =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
    unsigned long long declared = clen ? strtoull(clen, NULL, 10) : 0;
    /* Refuse before reading when the client waits for 100 Continue, or
     * announces an absurd size; MHD closes the connection afterwards. A
     * client that is already sending gets its 413 after the body, so it
     * sees the answer rather than a reset. */
    if (rq->collect && declared > STUB_MAX_BODY &&
        ((expect != NULL && strcasestr(expect, "100-continue") != NULL) ||
         declared > STUB_DISCARD_LIMIT)) {
      rq->too_large = 1;
      return handle_post(cls, c, rq);
    }
    return MHD_YES;
  }
  if (*upload_size != 0) {
    if (rq->collect)
      tc_http_body_feed(&rq->body, &rq->too_large, upload, *upload_size,
                        STUB_MAX_BODY);
    *upload_size = 0;
    return MHD_YES;
  }
  if (rq->body.failed)
    return respond_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
  return dispatch(cls, c, url, method, rq);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                         enum MHD_RequestTerminationCode toe) {
  (void)cls;
  (void)c;
  (void)toe;
  struct stub_req *rq = *req_cls;
  if (rq == NULL)
    return;
  tc_sbuf_free(&rq->body);
  free(rq);
  *req_cls = NULL;
}

/* ---- lifecycle ------------------------------------------------------------
 */

static void stub_free(struct tc_mcp_stub *s) {
  pthread_mutex_destroy(&s->lock);
  tc_http_guard_clear(&s->guard);
  free(s->scheme);
  free(s->oauth_token);
  free(s->tls_cert);
  free(s->tls_key);
  free(s->tls_trust);
  free(s->last_authorization);
  json_decref(s->last_headers);
  free(s->sessions);
  free(s->base_url);
  free(s->name);
  free(s->version);
  free(s);
}

/* Read one PEM file fully (NUL-terminated) into *out. */
static int read_pem(const char *what, const char *path, char **out,
                    char **err) {
  FILE *f = fopen(path, "rbe");
  if (f == NULL)
    return tc_set_error(err, "start mcp-stub: cannot read the %s %s: %s", what,
                        path, strerror(errno));
  struct tc_sbuf b = TC_SBUF_INIT;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
    tc_sbuf_append(&b, buf, n);
  fclose(f);
  *out = tc_sbuf_finish(&b);
  if (*out == NULL || strstr(*out, "-----BEGIN") == NULL) {
    free(*out);
    *out = NULL;
    return tc_set_error(err, "start mcp-stub: the %s %s holds no PEM data",
                        what, path);
  }
  return 0;
}

/* TLS files and OAuth settings from the options. */
static int stub_tls_and_auth(struct tc_mcp_stub *s,
                             const struct tc_mcp_stub_options *opt,
                             char **err) {
  int tls = opt != NULL && opt->tls_cert_file != NULL;
  if (opt != NULL &&
      (opt->tls_cert_file == NULL) != (opt->tls_key_file == NULL))
    return tc_set_error(err, "start mcp-stub: --tls-cert and --tls-key go "
                             "together (set both)");
  if (opt != NULL && opt->tls_client_ca_file != NULL && !tls)
    return tc_set_error(err, "start mcp-stub: --tls-client-ca needs "
                             "--tls-cert and --tls-key");
  s->scheme = strdup(tls ? "https" : "http");
  if (s->scheme == NULL)
    return tc_set_error(err, "start mcp-stub: out of memory");
  if (tls && (read_pem("TLS certificate", opt->tls_cert_file, &s->tls_cert,
                       err) != 0 ||
              read_pem("TLS key", opt->tls_key_file, &s->tls_key, err) != 0))
    return -1;
  if (tls && opt->tls_client_ca_file != NULL) {
    if (read_pem("client CA", opt->tls_client_ca_file, &s->tls_trust, err) != 0)
      return -1;
    s->require_client_cert = 1;
  }
  if (opt != NULL && opt->oauth_token != NULL) {
    s->oauth_token = strdup(opt->oauth_token);
    if (s->oauth_token == NULL)
      return tc_set_error(err, "start mcp-stub: out of memory");
  }
  s->issuer_mismatch = opt != NULL && opt->oauth_issuer_mismatch;
  return 0;
}

int tc_mcp_stub_start(struct tc_mcp_stub **out,
                      const struct tc_mcp_stub_options *opt, char **err) {
  static const struct tc_net_listen_names names = {"mcp-stub", "--listen-addr",
                                                   NULL};
  *out = NULL;
  const char *addr = opt && opt->listen_addr ? opt->listen_addr : "127.0.0.1:0";
  struct tc_mcp_stub *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return tc_set_error(err, "start mcp-stub: out of memory");
  pthread_mutex_init(&s->lock, NULL);
  s->name = strdup(opt && opt->server_name ? opt->server_name : "mcp-stub");
  s->version =
      strdup(opt && opt->server_version ? opt->server_version : "0.1.0");
  s->sessions = calloc(STUB_MAX_SESSIONS, sizeof(s->sessions[0]));
  if (s->name == NULL || s->version == NULL || s->sessions == NULL) {
    stub_free(s);
    return tc_set_error(err, "start mcp-stub: out of memory");
  }
  if (stub_tls_and_auth(s, opt, err) != 0) {
    stub_free(s);
    return -1;
  }

  struct tc_net_listener l;
  if (tc_net_listen_tcp(addr, &names, &l, err) != 0) {
    stub_free(s);
    return -1;
  }
  s->base_url = l.base_url;
  if (s->tls_cert != NULL && strncmp(s->base_url, "http://", 7) == 0) {
    char *https = NULL;
    if (asprintf(&https, "https://%s", s->base_url + 7) < 0) {
      close(l.fd);
      stub_free(s);
      return tc_set_error(err, "start mcp-stub: out of memory");
    }
    free(s->base_url);
    s->base_url = https;
  }
  if (tc_http_guard_init(
          &s->guard, s->base_url, opt ? opt->allowed_hosts : NULL,
          opt ? opt->allowed_host_count : 0, "--allowed-hosts", err) != 0) {
    close(l.fd);
    stub_free(s);
    return -1;
  }
  const struct tc_http_server_spec spec = {
      .component = "mcp-stub",
      .listen_fd = l.fd,
      .family = l.family,
      .handler = on_request,
      .handler_cls = s,
      .completed = on_completed,
      .connection_timeout_s = STUB_CONNECTION_TIMEOUT_S,
      .connection_limit = STUB_CONNECTION_LIMIT,
      .tls_cert_pem = s->tls_cert,
      .tls_key_pem = s->tls_key,
      .tls_trust_pem = s->tls_trust};
  s->http = tc_http_server_start(&spec);
  if (s->http == NULL) {
    close(l.fd);
    stub_free(s);
    return tc_set_error(
        err,
        "start mcp-stub on %s: libmicrohttpd refused to start (too "
        "many open files or threads?)",
        addr);
  }
  *out = s;
  return 0;
}

const char *tc_mcp_stub_base_url(const struct tc_mcp_stub *stub) {
  return stub ? stub->base_url : NULL;
}

void tc_mcp_stub_stop(struct tc_mcp_stub *stub) {
  if (stub == NULL)
    return;
  tc_http_server_stop(stub->http); /* also closes the listening socket */
  stub_free(stub);
}
