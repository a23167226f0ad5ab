/* mh_classify.c — failure provenance for libcurl errors and the JSON-RPC
 * checks on reply bodies (protocol.md §1.7–§1.8). Pure functions. */
#include <errno.h>
#include <string.h>

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

int mh_request_expects_reply(const char *body, size_t len, json_t **id) {
  *id = NULL;
  json_t *msg = json_loadb(body ? body : "", len, JSON_DECODE_ANY, NULL);
  if (!json_is_object(msg)) {
    json_decref(msg);
    return 1; /* unknown shape: wait for an answer */
  }
  json_t *rid = json_object_get(msg, "id");
  int is_response = json_object_get(msg, "method") == NULL &&
                    (json_object_get(msg, "result") != NULL ||
                     json_object_get(msg, "error") != NULL);
  int expects = rid != NULL && !is_response;
  if (rid != NULL)
    *id = json_incref(rid);
  json_decref(msg);
  return expects;
}

static int id_matches(const json_t *msg, const json_t *req_id) {
  const json_t *id = json_object_get(msg, "id");
  return id != NULL && req_id != NULL && json_equal(id, req_id);
}

enum mh_body_verdict mh_check_response(const char *body, size_t len,
                                       const json_t *req_id) {
  if (body == NULL || len == 0)
    return MH_BODY_MISSING;
  json_t *msg = json_loadb(body, len, JSON_DECODE_ANY, NULL);
  if (msg == NULL)
    return MH_BODY_MALFORMED;
  enum mh_body_verdict v = MH_BODY_NOT_PROTOCOL;
  if (json_is_object(msg) && json_object_get(msg, "method") == NULL &&
      (json_object_get(msg, "result") != NULL ||
       json_object_get(msg, "error") != NULL) &&
      id_matches(msg, req_id))
    v = MH_BODY_OK;
  json_decref(msg);
  return v;
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
