/* controlplane/provenance.h — `error.data.tunnel_failure` of a synthesized
 * -32603 failure (protocol.md §1.8): what failed (source) and a bounded
 * diagnostic kind, classified in the official client's order.
 * Pure functions, thread-safe. */
#ifndef TC_CONTROLPLANE_PROVENANCE_H
#define TC_CONTROLPLANE_PROVENANCE_H

#include <stdbool.h>

enum tc_cp_failure_source {
  TC_CP_SRC_CLIENT_INTERNAL = 0,
  TC_CP_SRC_TARGET_HTTP,
  TC_CP_SRC_DNS,
  TC_CP_SRC_TLS,
  TC_CP_SRC_CONNECT,
  TC_CP_SRC_TRANSPORT_CLOSED,
  TC_CP_SRC_TIMEOUT,
  TC_CP_SRC_PROTOCOL,
};

/* transport_error_kind values; the first group doubles as the low-level
 * error class a transport reports. */
enum tc_cp_failure_kind {
  TC_CP_KIND_NONE = 0, /* omitted on the wire */
  /* low-level error classes */
  TC_CP_KIND_CLOSED_PIPE,
  TC_CP_KIND_CONNECTION_ABORTED,
  TC_CP_KIND_CONNECTION_CLOSED,
  TC_CP_KIND_CONNECTION_REFUSED,
  TC_CP_KIND_CONNECTION_RESET,
  TC_CP_KIND_DIAL,
  TC_CP_KIND_DNS,
  TC_CP_KIND_EOF,
  TC_CP_KIND_HOST_UNREACHABLE,
  TC_CP_KIND_NETWORK_UNREACHABLE,
  TC_CP_KIND_TIMEOUT,
  TC_CP_KIND_TLS,
  TC_CP_KIND_UNEXPECTED_EOF,
  TC_CP_KIND_CANCELED, /* log-only: never on the wire */
  TC_CP_KIND_UNKNOWN,
  /* response-level kinds */
  TC_CP_KIND_HTTP_STATUS,
  TC_CP_KIND_INVALID_PROTOCOL_RESPONSE,
  TC_CP_KIND_RESPONSE_BODY_MISSING,
  TC_CP_KIND_RESPONSE_BODY_UNREADABLE,
  TC_CP_KIND_RESPONSE_BODY_TOO_LARGE,
  TC_CP_KIND_MALFORMED_JSON,
  TC_CP_KIND_INVALID_MCP_ERROR,
  TC_CP_KIND_NON_PROTOCOL_RESPONSE,
  /* client-side kinds (not in the official client) */
  TC_CP_KIND_REPLY_BUDGET_EXHAUSTED, /* --mcp.max-inflight-reply-bytes */
  TC_CP_KIND_LAST = TC_CP_KIND_REPLY_BUDGET_EXHAUSTED
};

/* What the transport observed. */
struct tc_cp_failure_cause {
  int upstream_status; /* HTTP status received from the target, 0 = none */
  /* Why the body was not a usable JSON-RPC reply: one of the
   * RESPONSE_BODY_* kinds, MALFORMED_JSON, INVALID_MCP_ERROR or
   * NON_PROTOCOL_RESPONSE; TC_CP_KIND_NONE when not applicable. */
  enum tc_cp_failure_kind non_protocol;
  /* Reply parsed but was not the response to this request (no message,
   * not a response, missing or mismatched id). */
  bool protocol_failure;
  /* Low-level error class (first group above), TC_CP_KIND_NONE if none. */
  enum tc_cp_failure_kind error;
};

struct tc_cp_failure {
  enum tc_cp_failure_source source;
  enum tc_cp_failure_kind kind; /* NONE/CANCELED are omitted */
  bool upstream_response_received;
  int upstream_status; /* 400..599 with TC_CP_SRC_TARGET_HTTP, else 0 */
};

void tc_cp_classify_failure(const struct tc_cp_failure_cause *cause,
                            struct tc_cp_failure *out);
/* Map an errno value (ECONNRESET, EPIPE, ETIMEDOUT, ...) to an error class;
 * 0 gives NONE, anything unrecognised UNKNOWN. */
enum tc_cp_failure_kind tc_cp_error_from_errno(int err);
/* Map a CURLcode plus the OS errno curl saw (CURLINFO_OS_ERRNO, 0 if none)
 * to an error class. */
enum tc_cp_failure_kind tc_cp_error_from_curl(int curl_code, int os_errno);
/* Wire names; NULL for NONE/CANCELED (omitted). */
const char *tc_cp_failure_source_name(enum tc_cp_failure_source s);
const char *tc_cp_failure_kind_name(enum tc_cp_failure_kind k);

#endif /* TC_CONTROLPLANE_PROVENANCE_H */
