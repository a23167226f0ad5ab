/* controlplane/provenance.c — see provenance.h. */
#include "controlplane/provenance.h"

#include <curl/curl.h>
#include <errno.h>
#include <stddef.h>

const char *tc_cp_failure_source_name(enum tc_cp_failure_source s) {
  switch (s) {
  case TC_CP_SRC_TARGET_HTTP:
    return "target_http";
  case TC_CP_SRC_DNS:
    return "dns";
  case TC_CP_SRC_TLS:
    return "tls";
  case TC_CP_SRC_CONNECT:
    return "connect";
  case TC_CP_SRC_TRANSPORT_CLOSED:
    return "transport_closed";
  case TC_CP_SRC_TIMEOUT:
    return "timeout";
  case TC_CP_SRC_PROTOCOL:
    return "protocol";
  case TC_CP_SRC_CLIENT_INTERNAL:
    break;
  }
  return "client_internal";
}

const char *tc_cp_failure_kind_name(enum tc_cp_failure_kind k) {
  static const char *const names[] = {
      [TC_CP_KIND_CLOSED_PIPE] = "closed_pipe",
      [TC_CP_KIND_CONNECTION_ABORTED] = "connection_aborted",
      [TC_CP_KIND_CONNECTION_CLOSED] = "connection_closed",
      [TC_CP_KIND_CONNECTION_REFUSED] = "connection_refused",
      [TC_CP_KIND_CONNECTION_RESET] = "connection_reset",
      [TC_CP_KIND_DIAL] = "dial",
      [TC_CP_KIND_DNS] = "dns",
      [TC_CP_KIND_EOF] = "eof",
      [TC_CP_KIND_HOST_UNREACHABLE] = "host_unreachable",
      [TC_CP_KIND_NETWORK_UNREACHABLE] = "network_unreachable",
      [TC_CP_KIND_TIMEOUT] = "timeout",
      [TC_CP_KIND_TLS] = "tls",
      [TC_CP_KIND_UNEXPECTED_EOF] = "unexpected_eof",
      [TC_CP_KIND_UNKNOWN] = "unknown",
      [TC_CP_KIND_HTTP_STATUS] = "http_status",
      [TC_CP_KIND_INVALID_PROTOCOL_RESPONSE] = "invalid_protocol_response",
      [TC_CP_KIND_RESPONSE_BODY_MISSING] = "response_body_missing",
      [TC_CP_KIND_RESPONSE_BODY_UNREADABLE] = "response_body_unreadable",
      [TC_CP_KIND_RESPONSE_BODY_TOO_LARGE] = "response_body_too_large",
      [TC_CP_KIND_MALFORMED_JSON] = "malformed_json",
      [TC_CP_KIND_INVALID_MCP_ERROR] = "invalid_mcp_error",
      [TC_CP_KIND_NON_PROTOCOL_RESPONSE] = "non_protocol_response",
      [TC_CP_KIND_REPLY_BUDGET_EXHAUSTED] = "reply_budget_exhausted",
  };
  if ((unsigned)k >= sizeof(names) / sizeof(names[0]))
    return NULL;
  return names[k]; /* NULL for NONE and CANCELED */
}

static bool is_non_protocol_kind(enum tc_cp_failure_kind k) {
  return k >= TC_CP_KIND_RESPONSE_BODY_MISSING &&
         k <= TC_CP_KIND_NON_PROTOCOL_RESPONSE;
}

static enum tc_cp_failure_source source_of_error(enum tc_cp_failure_kind e) {
  switch (e) {
  case TC_CP_KIND_CLOSED_PIPE:
  case TC_CP_KIND_EOF:
  case TC_CP_KIND_UNEXPECTED_EOF:
  case TC_CP_KIND_CONNECTION_CLOSED:
  case TC_CP_KIND_CONNECTION_RESET:
  case TC_CP_KIND_CONNECTION_ABORTED:
    return TC_CP_SRC_TRANSPORT_CLOSED;
  case TC_CP_KIND_DNS:
    return TC_CP_SRC_DNS;
  case TC_CP_KIND_TLS:
    return TC_CP_SRC_TLS;
  case TC_CP_KIND_TIMEOUT:
    return TC_CP_SRC_TIMEOUT;
  case TC_CP_KIND_DIAL:
  case TC_CP_KIND_CONNECTION_REFUSED:
  case TC_CP_KIND_NETWORK_UNREACHABLE:
  case TC_CP_KIND_HOST_UNREACHABLE:
    return TC_CP_SRC_CONNECT;
  default:
    return TC_CP_SRC_CLIENT_INTERNAL;
  }
}

void tc_cp_classify_failure(const struct tc_cp_failure_cause *c,
                            struct tc_cp_failure *out) {
  bool http_error = c->upstream_status >= 400 && c->upstream_status <= 599;
  bool non_protocol = is_non_protocol_kind(c->non_protocol);

  /* Source, first match wins. */
  if (http_error)
    out->source = TC_CP_SRC_TARGET_HTTP;
  else if (non_protocol || c->protocol_failure)
    out->source = TC_CP_SRC_PROTOCOL;
  else
    out->source = source_of_error(c->error);

  /* Kind, first match wins. */
  if (non_protocol)
    out->kind = c->non_protocol;
  else if (http_error)
    out->kind = TC_CP_KIND_HTTP_STATUS;
  else if (c->protocol_failure)
    out->kind = TC_CP_KIND_INVALID_PROTOCOL_RESPONSE;
  else if (c->error == TC_CP_KIND_NONE)
    out->kind = TC_CP_KIND_UNKNOWN;
  else if (c->error == TC_CP_KIND_CANCELED ||
           tc_cp_failure_kind_name(c->error) != NULL)
    out->kind = c->error;
  else
    out->kind = TC_CP_KIND_UNKNOWN;

  out->upstream_status = http_error ? c->upstream_status : 0;
  out->upstream_response_received =
      c->upstream_status > 0 && out->source != TC_CP_SRC_TRANSPORT_CLOSED;
}

enum tc_cp_failure_kind tc_cp_error_from_errno(int err) {
  switch (err) {
  case 0:
    return TC_CP_KIND_NONE;
  case EPIPE:
    return TC_CP_KIND_CLOSED_PIPE;
  case ECONNRESET:
    return TC_CP_KIND_CONNECTION_RESET;
  case ECONNABORTED:
    return TC_CP_KIND_CONNECTION_ABORTED;
  case ECONNREFUSED:
    return TC_CP_KIND_CONNECTION_REFUSED;
  case ENETUNREACH:
  case ENETDOWN:
    return TC_CP_KIND_NETWORK_UNREACHABLE;
  case EHOSTUNREACH:
  case EHOSTDOWN:
    return TC_CP_KIND_HOST_UNREACHABLE;
  case ETIMEDOUT:
    return TC_CP_KIND_TIMEOUT;
  case ECANCELED:
    return TC_CP_KIND_CANCELED;
  case ENOTCONN:
  case ESHUTDOWN:
    return TC_CP_KIND_CONNECTION_CLOSED;
  default:
    return TC_CP_KIND_UNKNOWN;
  }
}

enum tc_cp_failure_kind tc_cp_error_from_curl(int curl_code, int os_errno) {
  switch ((CURLcode)curl_code) {
  case CURLE_OK:
    return TC_CP_KIND_NONE;
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
    return TC_CP_KIND_DNS;
  case CURLE_OPERATION_TIMEDOUT:
    return TC_CP_KIND_TIMEOUT;
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
  case CURLE_SSL_INVALIDCERTSTATUS:
  case CURLE_SSL_CRL_BADFILE:
  case CURLE_SSL_ENGINE_NOTFOUND:
  case CURLE_SSL_ENGINE_SETFAILED:
  case CURLE_SSL_ENGINE_INITFAILED:
  case CURLE_USE_SSL_FAILED:
    return TC_CP_KIND_TLS;
  case CURLE_COULDNT_CONNECT: {
    enum tc_cp_failure_kind k = tc_cp_error_from_errno(os_errno);
    return k == TC_CP_KIND_CONNECTION_REFUSED ||
                   k == TC_CP_KIND_NETWORK_UNREACHABLE ||
                   k == TC_CP_KIND_HOST_UNREACHABLE || k == TC_CP_KIND_TIMEOUT
               ? k
               : TC_CP_KIND_DIAL;
  }
  case CURLE_GOT_NOTHING:
    return TC_CP_KIND_EOF;
  case CURLE_PARTIAL_FILE:
    return TC_CP_KIND_UNEXPECTED_EOF;
  case CURLE_ABORTED_BY_CALLBACK:
    return TC_CP_KIND_CANCELED;
  case CURLE_SEND_ERROR:
  case CURLE_RECV_ERROR: {
    enum tc_cp_failure_kind k = tc_cp_error_from_errno(os_errno);
    if (k == TC_CP_KIND_NONE || k == TC_CP_KIND_UNKNOWN)
      return curl_code == CURLE_SEND_ERROR ? TC_CP_KIND_CLOSED_PIPE
                                           : TC_CP_KIND_CONNECTION_CLOSED;
    return k;
  }
  default:
    return TC_CP_KIND_UNKNOWN;
  }
}
