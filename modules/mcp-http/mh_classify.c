/* mh_classify.c — failure provenance for libcurl errors and the JSON-RPC
 * checks on reply bodies (protocol.md §1.7–§1.8). Pure functions. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <tc/json_scan.h>

#include "mh_internal.h"

static void set(struct mh_failure *out, const char *source, const char *kind) {
  out->source = source;
  out->kind = kind;
}

/* Errno classes in the official client's order. */
static int errno_kind(long e, struct mh_failure *out) {
  switch (e) {
  case EPIPE:
    set(out, "transport_closed", "closed_pipe");
    return 1;
  case ECONNRESET:
    set(out, "transport_closed", "connection_reset");
    return 1;
  case ECONNABORTED:
    set(out, "transport_closed", "connection_aborted");
    return 1;
  case ECONNREFUSED:
    set(out, "connect", "connection_refused");
    return 1;
  case ENETUNREACH:
    set(out, "connect", "network_unreachable");
    return 1;
  case EHOSTUNREACH:
    set(out, "connect", "host_unreachable");
    return 1;
  case ETIMEDOUT:
    set(out, "timeout", "timeout");
    return 1;
  default:
    return 0;
  }
}

/* A TLS alert from the peer on a send or receive (e.g. "certificate
 * required" after a TLS 1.3 handshake, when the server rejects the client
 * certificate or its absence): libcurl reports it as CURLE_RECV_ERROR or
 * CURLE_SEND_ERROR with no errno and an "SSL_read"/"SSL_write" message
 * naming the alert. Other TLS-layer read errors (an unexpected EOF) stay
 * transport failures. */
static int tls_alert(long os_errno, const char *errbuf) {
  return os_errno == 0 && errbuf != NULL &&
         (strstr(errbuf, "SSL_read") != NULL ||
          strstr(errbuf, "SSL_write") != NULL) &&
         strstr(errbuf, " alert ") != NULL;
}

void mh_failure_from_curl(CURLcode rc, long os_errno, const char *errbuf,
                          struct mh_failure *out) {
  switch (rc) {
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
    set(out, "dns", "dns");
    return;
  case CURLE_COULDNT_CONNECT:
    if (!errno_kind(os_errno, out))
      set(out, "connect", "dial");
    return;
  case CURLE_OPERATION_TIMEDOUT:
  case CURLE_ABORTED_BY_CALLBACK:
    set(out, "timeout", "timeout");
    return;
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_ENGINE_NOTFOUND:
  case CURLE_SSL_ENGINE_SETFAILED:
  case CURLE_SSL_ENGINE_INITFAILED:
  case CURLE_SSL_CRL_BADFILE:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
  case CURLE_SSL_INVALIDCERTSTATUS:
  case CURLE_SSL_CLIENTCERT:
  case CURLE_USE_SSL_FAILED:
    set(out, "tls", "tls");
    return;
  case CURLE_GOT_NOTHING:
    set(out, "transport_closed", "eof");
    return;
  case CURLE_PARTIAL_FILE:
    set(out, "transport_closed", "unexpected_eof");
    return;
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR:
    if (tls_alert(os_errno, errbuf)) {
      set(out, "tls", "tls");
      return;
    }
    if (!errno_kind(os_errno, out))
      set(out, "transport_closed", "connection_closed");
    return;
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
    if (!errno_kind(os_errno, out))
      set(out, "transport_closed", "connection_closed");
    return;
  default:
    set(out, "client_internal", "unknown");
    return;
  }
}

/* The members that tell a JSON-RPC message's shape, found in one pass over
 * a checked object: the body itself is never decoded into a tree. */
enum { M_ID, M_METHOD, M_RESULT, M_ERROR, M_VERSION, M_COUNT };
static void rpc_members(const char *obj, size_t len,
                        struct tc_json_span m[M_COUNT]) {
  static const char *const keys[M_COUNT] = {"id", "method", "result", "error",
                                            "jsonrpc"};
  tc_json_members(obj, len, keys, M_COUNT, m);
}

static int is_response(const struct tc_json_span m[M_COUNT]) {
  return m[M_METHOD].p == NULL &&
         (m[M_RESULT].p != NULL || m[M_ERROR].p != NULL);
}

static struct mh_span span(const struct tc_json_span *v) {
  struct mh_span s = {v->p, v->n};
  return s;
}

/* A string token's decoded bytes compared with another's (checked tokens
 * hold at most n - 2 decoded bytes). */
static int strings_equal(struct mh_span a, struct mh_span b) {
  if (memchr(a.p, '\\', a.n) == NULL && memchr(b.p, '\\', b.n) == NULL)
    return a.n == b.n && memcmp(a.p, b.p, a.n) == 0;
  char *da = malloc(a.n), *db = malloc(b.n);
  int eq = 0;
  if (da != NULL && db != NULL) {
    size_t la = tc_json_string_decode(a.p, a.n, da);
    size_t lb = tc_json_string_decode(b.p, b.n, db);
    eq = la == lb && memcmp(da, db, la) == 0;
  }
  free(da);
  free(db);
  return eq;
}

int mh_id_equal(struct mh_span a, struct mh_span b) {
  if (a.p == NULL || b.p == NULL || a.n == 0 || b.n == 0)
    return 0;
  if (a.p[0] == '"' && b.p[0] == '"')
    return strings_equal(a, b);
  return a.n == b.n && memcmp(a.p, b.p, a.n) == 0;
}

int mh_request_expects_reply(const char *body, size_t len, struct mh_span *id) {
  id->p = NULL;
  id->n = 0;
  if (body == NULL || tc_json_check(body, len) != TC_JSON_OBJECT)
    return 1; /* unknown shape: wait for an answer */
  struct tc_json_span m[M_COUNT];
  rpc_members(body, len, m);
  *id = span(&m[M_ID]);
  return m[M_ID].p != NULL && !is_response(m);
}

enum mh_msg_kind mh_classify_message(const char *msg, size_t len,
                                     struct mh_span *id,
                                     struct mh_span *method) {
  struct mh_span none = {NULL, 0};
  if (id != NULL)
    *id = none;
  if (method != NULL)
    *method = none;
  if (msg == NULL || tc_json_check(msg, len) != TC_JSON_OBJECT)
    return MH_MSG_MALFORMED;
  struct tc_json_span m[M_COUNT];
  rpc_members(msg, len, m);
  if (id != NULL)
    *id = span(&m[M_ID]);
  if (method != NULL)
    *method = span(&m[M_METHOD]);
  if (m[M_METHOD].p != NULL && m[M_METHOD].p[0] == '"')
    return m[M_ID].p != NULL && m[M_ID].p[0] != 'n' ? MH_MSG_REQUEST
                                                    : MH_MSG_NOTIFICATION;
  if (is_response(m))
    return MH_MSG_RESPONSE;
  return MH_MSG_OTHER;
}

enum mh_body_verdict mh_check_response(const char *body, size_t len,
                                       struct mh_span req_id) {
  if (body == NULL || len == 0)
    return MH_BODY_MISSING;
  enum tc_json_kind k = tc_json_check(body, len);
  if (k == TC_JSON_INVALID)
    return MH_BODY_MALFORMED;
  if (k != TC_JSON_OBJECT || req_id.p == NULL)
    return MH_BODY_NOT_PROTOCOL;
  struct tc_json_span m[M_COUNT];
  rpc_members(body, len, m);
  if (!is_response(m))
    return MH_BODY_NOT_PROTOCOL;
  return mh_id_equal(span(&m[M_ID]), req_id) ? MH_BODY_OK
                                             : MH_BODY_NOT_PROTOCOL;
}

/* A JSON integer: a number token without fraction or exponent. */
static int is_integer(const struct tc_json_span *v) {
  if (v->p == NULL || !(v->p[0] == '-' || (v->p[0] >= '0' && v->p[0] <= '9')))
    return 0;
  for (size_t i = 0; i < v->n; i++)
    if (v->p[i] == '.' || v->p[i] == 'e' || v->p[i] == 'E')
      return 0;
  return 1;
}

enum mh_body_verdict mh_check_error_body(const char *body, size_t len,
                                         struct mh_span req_id) {
  if (body == NULL || len == 0)
    return MH_BODY_MISSING;
  enum tc_json_kind k = tc_json_check(body, len);
  if (k == TC_JSON_INVALID)
    return MH_BODY_MALFORMED;
  if (k != TC_JSON_OBJECT)
    return MH_BODY_NOT_PROTOCOL;
  struct tc_json_span m[M_COUNT];
  rpc_members(body, len, m);
  const struct tc_json_span *e = &m[M_ERROR];
  if (e->p == NULL)
    return MH_BODY_NOT_PROTOCOL;
  int ok = m[M_VERSION].p != NULL &&
           tc_json_string_is(m[M_VERSION].p, m[M_VERSION].n, "2.0") &&
           m[M_METHOD].p == NULL && m[M_RESULT].p == NULL && e->p[0] == '{' &&
           mh_id_equal(span(&m[M_ID]), req_id);
  if (ok) {
    struct tc_json_span code, message;
    static const char *const ek[2] = {"code", "message"};
    struct tc_json_span em[2];
    tc_json_members(e->p, e->n, ek, 2, em);
    code = em[0];
    message = em[1];
    ok = is_integer(&code) && message.p != NULL && message.p[0] == '"';
  }
  return ok ? MH_BODY_OK : MH_BODY_INVALID_ERROR;
}

const char *mh_verdict_kind(enum mh_body_verdict v) {
  switch (v) {
  case MH_BODY_MISSING:
    return "response_body_missing";
  case MH_BODY_MALFORMED:
    return "malformed_json";
  case MH_BODY_INVALID_ERROR:
    return "invalid_mcp_error";
  case MH_BODY_NOT_PROTOCOL:
  default:
    return "non_protocol_response";
  }
}
