/* controlplane/response.h — what the client POSTs to .../response
 * (protocol.md §1.7): the body encoder, the resp_headers sanitizer, and the
 * JSON-RPC error bodies the client synthesizes (§1.7 last paragraph, §1.8).
 *
 * Threads: pure functions. Ownership: inputs are borrowed; returned strings
 * are malloc()ed and owned by the caller. */
#ifndef TC_CONTROLPLANE_RESPONSE_H
#define TC_CONTROLPLANE_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>

#include "controlplane/provenance.h"
#include "tc/headers.h"

enum tc_cp_resp_type {
  TC_CP_RESP_JSONRPC_RESPONSE = 0, /* terminal */
  TC_CP_RESP_JSONRPC_NOTIFY,       /* non-terminal, 0..n before terminal */
  TC_CP_RESP_NOTIFY_ACK,           /* terminal ack, no resp_json */
  TC_CP_RESP_SESSION_TERMINATION,  /* terminal ack, no resp_json */
  TC_CP_RESP_OAUTH_DISCOVERY,      /* terminal, not in the contract */
};

const char *tc_cp_resp_type_name(enum tc_cp_resp_type t);
bool tc_cp_resp_type_is_terminal(enum tc_cp_resp_type t);

struct tc_cp_response {
  const char *request_id; /* required, non-empty */
  const char *channel;    /* NULL -> "main" */
  /* Exact bytes of a JSON object, embedded as they are (so a target's
   * JSON-RPC error passes through unchanged). NULL or only blanks = none. */
  const char *resp_json;
  size_t resp_json_len;
  /* Emitted as given, grouped by Go-canonical name with keys sorted (as
   * Go's encoder does); run tc_cp_sanitize_resp_headers() first except for
   * oauth_discovery_response. NULL or empty = omitted. */
  const struct tc_headers *resp_headers;
  int resp_code;
  enum tc_cp_resp_type type;
};

/* The POST body in three pieces — head, the reply bytes, tail — so that a
 * reply of any size is sent as it is, never copied into an envelope. */
struct tc_cp_response_parts {
  char *head; /* {"request_id":..,"channel":..[,"resp_json":]  (malloc) */
  size_t head_len;
  const char *json; /* r->resp_json without surrounding blanks: borrowed */
  size_t json_len;  /* 0 when the body has no resp_json */
  char *tail;       /* [,"resp_headers":{..}],"resp_code":..,"resp_type":..} */
  size_t tail_len;
};

/* Encode the POST body: request_id, channel, resp_json?, resp_headers?,
 * resp_code, resp_type. Returns 0 with *out filled (free it with
 * tc_cp_response_parts_free; out->json borrows r->resp_json), or -1 with
 * *err (malloc()ed) when the input breaks the contract (no request_id,
 * resp_json not a JSON object, resp_json on an ack type) or memory ran
 * out. */
int tc_cp_response_encode_parts(const struct tc_cp_response *r,
                                struct tc_cp_response_parts *out, char **err);
void tc_cp_response_parts_free(struct tc_cp_response_parts *p);
static inline size_t
tc_cp_response_parts_len(const struct tc_cp_response_parts *p) {
  return p->head_len + p->json_len + p->tail_len;
}

/* The same as one string (tests, small bodies). Returns the body, or NULL
 * with *err (malloc()ed). */
char *tc_cp_response_encode(const struct tc_cp_response *r, char **err);

/* Go's CanonicalMIMEHeaderKey: "content-type" -> "Content-Type". Names with
 * characters outside the token set are copied unchanged. `out` needs
 * strlen(in)+1 bytes; returns out. */
char *tc_cp_header_canonical(const char *in, char *out, size_t outlen);

/* The resp_headers allowlist: keep only Access-Control-Expose-Headers,
 * Content-Type, Last-Event-Id, Mcp-Protocol-Version, Mcp-Session-Id and
 * Www-Authenticate (case-insensitive, appended to *out in that canonical
 * casing, order kept), minus names listed in any Connection value and
 * empty values. Returns TC_OK or TC_ENOMEM. */
int tc_cp_sanitize_resp_headers(const struct tc_headers *in,
                                struct tc_headers *out);

/* HTTP reason phrase ("Bad Gateway"); unknown codes give "Unknown Status". */
const char *tc_cp_http_reason(int status);

/* {"jsonrpc":"2.0","id":<id_raw>,"error":{"code":..,"message":..[,"data":
 * {"tunnel_failure":{..}}]}}. `id_raw` is exact JSON text (number, string
 * or null; NULL or unparsable -> null). `failure` NULL = no data member.
 * Returns NULL on ENOMEM. */
char *tc_cp_jsonrpc_error_body(const char *id_raw, int code,
                               const char *message,
                               const struct tc_cp_failure *failure);

/* The synthesized failure for `resp_code` (0 -> 500): -32603 with the
 * reason phrase of that status as message and the provenance as data. */
char *tc_cp_synthesize_failure(const char *id_raw, int resp_code,
                               const struct tc_cp_failure *failure);

#endif /* TC_CONTROLPLANE_RESPONSE_H */
