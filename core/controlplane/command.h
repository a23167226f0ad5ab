/* controlplane/command.h — decoding a poll reply into commands
 * (protocol.md §1.5) and decoding the error envelope of failed control-plane
 * requests (§1.9).
 *
 * A command that fails decoding is dropped alone (nothing is posted for it)
 * and yields one reason line naming its index and request_id — never its
 * shard token. A command whose request_id and shard_token are fine but whose
 * payload is malformed (bad JSON-RPC, session_termination without
 * Mcp-Session-Id) is kept with `invalid` set, so the dispatcher can answer
 * with an error instead of leaving the caller to time out (DESIGN.md §7).
 *
 * Threads: pure functions; the results are owned by the caller. */
#ifndef TC_CONTROLPLANE_COMMAND_H
#define TC_CONTROLPLANE_COMMAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tc/headers.h"

enum tc_cp_command_type {
  TC_CP_CMD_JSONRPC = 1,
  TC_CP_CMD_SESSION_TERMINATION,
  TC_CP_CMD_OAUTH_DISCOVERY, /* not in the contract; claimed by a hook */
};

/* What the `jsonrpc` member of a jsonrpc command holds. */
enum tc_cp_rpc_kind {
  TC_CP_RPC_NONE = 0,     /* not a jsonrpc command */
  TC_CP_RPC_CALL,         /* request with an id: expects a response */
  TC_CP_RPC_NOTIFICATION, /* request without an id: notify_ack */
  TC_CP_RPC_RESPONSE,     /* a response/error message: nothing is posted */
  TC_CP_RPC_INVALID,      /* malformed: answer with a JSON-RPC error */
};

#define TC_CP_CHANNEL_MAX 64

struct tc_cp_command {
  char *request_id;  /* non-empty; echoed in POST bodies */
  char *shard_token; /* SECRET: only ever sent as X-Tunnel-Shard-Token */
  enum tc_cp_command_type type;
  char channel[TC_CP_CHANNEL_MAX + 1]; /* canonical, "main" by default */
  bool has_created_at;
  int64_t created_at_unix_ms; /* metrics only */
  bool has_deadline;          /* response_timeout was valid */
  int64_t response_timeout_ns;
  struct tc_headers headers; /* multi-valued, in received order */

  /* jsonrpc commands: the member's exact bytes from the poll body
   * (NUL-terminated, NULL when absent), what it is, its id as exact JSON
   * text (a string or integer; NULL when absent or unusable — answer errors
   * with id null then), and its method (NULL unless a request). */
  char *jsonrpc;
  size_t jsonrpc_len;
  enum tc_cp_rpc_kind rpc_kind;
  char *rpc_id;
  char *rpc_method;

  /* Static text saying why the command cannot be processed as-is (NULL
   * when it can). Set for TC_CP_RPC_INVALID and for a session_termination
   * without an Mcp-Session-Id header. */
  const char *invalid;
};

struct tc_cp_command_list {
  size_t count;
  struct tc_cp_command *items;
  size_t dropped_count;
  char **dropped; /* one malloc()ed reason per dropped command */
};

/* Decode the body of a 200 poll reply. An empty list ([] / null / no
 * "commands" key) is normal. Returns 0, or -1 with *err set to a malloc()ed
 * line when the body as a whole is unusable (invalid JSON, not an object,
 * "commands" not an array) or memory ran out; *out is then empty. */
int tc_cp_decode_poll_body(const char *body, size_t len,
                           struct tc_cp_command_list *out, char **err);

/* Release one command's members (not the struct itself). */
void tc_cp_command_clear(struct tc_cp_command *c);
/* Release everything in the list and zero it. */
void tc_cp_command_list_free(struct tc_cp_command_list *l);

/* The service's error reply: {"error":{message,type,param,code}} or the
 * top-level message/type/code/detail variant. Members are malloc()ed or
 * NULL. */
struct tc_cp_api_error {
  char *message;
  char *type;
  char *param;
  char *code;
};

/* Returns 1 when the body held an error envelope with at least one field,
 * else 0 (the struct is then all NULL). Never fails otherwise. */
int tc_cp_decode_api_error(const char *body, size_t len,
                           struct tc_cp_api_error *out);
void tc_cp_api_error_clear(struct tc_cp_api_error *e);

#endif /* TC_CONTROLPLANE_COMMAND_H */
