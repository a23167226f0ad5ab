/* controlplane/jsonrpc.h — JSON-RPC 2.0 message rules used on both sides of
 * the dispatcher: classifying a polled message, and deciding whether an
 * upstream error body may pass through byte-exact
 * (mcp-oauth-ops.md §1.3). Pure functions, thread-safe. */
#ifndef TC_CONTROLPLANE_JSONRPC_H
#define TC_CONTROLPLANE_JSONRPC_H

#include <stdbool.h>
#include <stddef.h>

#include "controlplane/command.h"
#include "tc/json_scan.h"

/* What classifying a message found: raw spans into the message text. */
struct tc_cp_rpc_fields {
  struct tc_json_span id;     /* {NULL, 0} when absent */
  struct tc_json_span method; /* {NULL, 0} when absent */
  bool id_usable;             /* id is a string or an integer */
};

/* Classify the message text [msg, msg + len) (msg may be NULL = absent).
 * Requests need "jsonrpc":"2.0" and a non-empty string "method"; an "id"
 * (when present) must be a string or an integer (MCP forbids null ids). A
 * message without "method" that carries "result" or "error" and an id is a
 * response. On TC_CP_RPC_INVALID *why is set to a static explanation.
 * `out` (may be NULL) receives the spans of id and method. */
enum tc_cp_rpc_kind tc_cp_jsonrpc_classify_text(const char *msg, size_t len,
                                                struct tc_cp_rpc_fields *out,
                                                const char **why);

/* Do two JSON-RPC ids, given as their JSON texts, name the same request?
 * Numbers compare by their exact text (blanks around trimmed): any size
 * works, and 1, 1.0 and 1e0 are three different ids. Strings compare by
 * their decoded value ("a" equals "\u0061"). A string never equals a
 * number; empty texts never match. */
bool tc_cp_jsonrpc_id_equal(const char *a, size_t an, const char *b, size_t bn);

/* True when `body` is a JSON-RPC error reply to the request whose id is the
 * JSON text `id_raw`: "jsonrpc":"2.0", no "method" or "result", an "error"
 * object with an integer "code" and a string "message", and an "id" equal to
 * the request's (tc_cp_jsonrpc_id_equal). Such a body is forwarded
 * byte-exact with its status. Checked without decoding the body. */
bool tc_cp_jsonrpc_is_error_reply(const char *body, size_t len,
                                  const char *id_raw);

#endif /* TC_CONTROLPLANE_JSONRPC_H */
