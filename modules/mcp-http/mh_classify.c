/* mh_classify.c — failure provenance for libcurl errors and the JSON-RPC
 * checks on reply bodies (protocol.md §1.7–§1.8). Pure functions. */
#include <errno.h>
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
enum { M_ID, M_METHOD, M_RESULT, M_ERROR, M_COUNT };
static void rpc_members(const char *obj, size_t len,
                        struct tc_json_span m[M_COUNT]) {
  static const char *const keys[M_COUNT] = {"id", "method", "result", "error"};
  tc_json_members(obj, len, keys, M_COUNT, m);
}

static int is_response(const struct tc_json_span m[M_COUNT]) {
  return m[M_METHOD].p == NULL &&
         (m[M_RESULT].p != NULL || m[M_ERROR].p != NULL);
}

/* The id member decoded (a new reference), or NULL when absent. */
static json_t *decode_id(const struct tc_json_span *id) {
  return id->p != NULL ? json_loadb(id->p, id->n, JSON_DECODE_ANY, NULL) : NULL;
}

int mh_request_expects_reply(const char *body, size_t len, json_t **id) {
  *id = NULL;
  if (body == NULL || tc_json_check(body, len) != TC_JSON_OBJECT)
    return 1; /* unknown shape: wait for an answer */
  struct tc_json_span m[M_COUNT];
  rpc_members(body, len, m);
  *id = decode_id(&m[M_ID]);
  return m[M_ID].p != NULL && !is_response(m);
}

static int id_matches(const json_t *msg, const json_t *req_id) {
  const json_t *id = json_object_get(msg, "id");
  return id != NULL && req_id != NULL && json_equal(id, req_id);
}

enum mh_body_verdict mh_check_response(const char *body, size_t len,
                                       const json_t *req_id) {
  if (body == NULL || len == 0)
    return MH_BODY_MISSING;
  enum tc_json_kind k = tc_json_check(body, len);
  if (k == TC_JSON_INVALID)
    return MH_BODY_MALFORMED;
  if (k != TC_JSON_OBJECT || req_id == NULL)
    return MH_BODY_NOT_PROTOCOL;
  struct tc_json_span m[M_COUNT];
  rpc_members(body, len, m);
  if (!is_response(m))
    return MH_BODY_NOT_PROTOCOL;
  json_t *id = decode_id(&m[M_ID]);
  int same = id != NULL && json_equal(id, req_id);
  json_decref(id);
  return same ? MH_BODY_OK : MH_BODY_NOT_PROTOCOL;
}

enum mh_body_verdict mh_check_error_body(const char *body, size_t len,
                                         const json_t *req_id) {
  if (body == NULL || len == 0)
    return MH_BODY_MISSING;
  json_t *msg = json_loadb(body, len, JSON_DECODE_ANY, NULL);
  if (msg == NULL)
    return MH_BODY_MALFORMED;
  enum mh_body_verdict v = MH_BODY_NOT_PROTOCOL;
  json_t *err = json_is_object(msg) ? json_object_get(msg, "error") : NULL;
  if (err != NULL) {
    const char *ver = json_string_value(json_object_get(msg, "jsonrpc"));
    int ok = ver != NULL && strcmp(ver, "2.0") == 0 &&
             json_object_get(msg, "method") == NULL &&
             json_object_get(msg, "result") == NULL && json_is_object(err) &&
             json_is_integer(json_object_get(err, "code")) &&
             json_is_string(json_object_get(err, "message")) &&
             id_matches(msg, req_id);
    v = ok ? MH_BODY_OK : MH_BODY_INVALID_ERROR;
  }
  json_decref(msg);
  return v;
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
