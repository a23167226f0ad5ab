/* dev/mcp_stub_internal.h — the JSON-RPC half of the MCP stub, shared by
 * mcp_stub.c (HTTP, sessions, framing) and mcp_stub_rpc.c (methods, tools).
 * Not part of any public contract. Every function is reentrant. */
#ifndef TC_DEV_MCP_STUB_INTERNAL_H
#define TC_DEV_MCP_STUB_INTERNAL_H

#include <jansson.h>

#define TC_MCP_STUB_JSONRPC_PARSE_ERROR (-32700)
#define TC_MCP_STUB_JSONRPC_INVALID_REQUEST (-32600)
#define TC_MCP_STUB_JSONRPC_METHOD_NOT_FOUND (-32601)
#define TC_MCP_STUB_JSONRPC_INVALID_PARAMS (-32602)
#define TC_MCP_STUB_JSONRPC_INTERNAL_ERROR (-32603)
#define TC_MCP_STUB_MAX_PROGRESS 100

/* What the HTTP layer needs to know about a dispatched request. */
struct tc_mcp_stub_call {
  int initialized;        /* a successful initialize: issue a session id */
  int stream;             /* tools/call with arguments.stream == true */
  int progress;           /* tools/call arguments.progress, 0..100 */
  json_t *progress_token; /* borrowed from the request (_meta.progressToken,
                             else the request id); valid while req lives */
};

/* {"jsonrpc":"2.0","id":<id or null>,"error":{code,message}}. `id` is
 * borrowed (NULL = null). New reference; NULL on ENOMEM. */
json_t *tc_mcp_stub_error(json_t *id, int code, const char *message);

/* Answer one JSON-RPC request: an object with a string "method" and a
 * non-null "id". Unknown methods give -32601, bad tool arguments -32602.
 * Fills *call (zeroed first). New reference; NULL on ENOMEM. */
json_t *tc_mcp_stub_dispatch(json_t *req, const char *name, const char *version,
                             struct tc_mcp_stub_call *call);

/* A notifications/progress message: step `done` of `total`. New reference;
 * NULL on ENOMEM. */
json_t *tc_mcp_stub_progress(json_t *token, int done, int total);

#endif /* TC_DEV_MCP_STUB_INTERNAL_H */
