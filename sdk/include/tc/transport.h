/* tc/transport.h — the transport kind: how commands reach an MCP server.
 *
 * Types vs instances: the vtable is a const type registered at init; the
 * core calls create() once per binding (channel) that names this transport,
 * so one module can serve several channels.
 *
 * Threads: create/start/stop/destroy (and reusable_for) run on the main
 * thread. call(), terminate_session() and probe() run on worker threads,
 * concurrently on the same instance unless TC_TRANSPORT_SERIAL is set.
 * A configuration reload may create instances while others are running
 * (several instances of one transport can exist at once); an instance
 * being replaced is stopped only after its last call returned. */
#ifndef TC_TRANSPORT_H
#define TC_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include "tc/headers.h"
#include "tc/host.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One configured MCP binding, as parsed from --mcp.server-url/--mcp.command
 * and the profile. Borrowed: valid from create() until destroy(). */
struct tc_binding {
  size_t struct_size;
  const char *channel;     /* canonical channel name, e.g. "main" */
  const char *transport;   /* transport name, e.g. "http" or "stdio" */
  const char *url;         /* HTTP bindings: MCP endpoint URL, else NULL */
  const char *unix_socket; /* optional unix socket for the URL's origin */
  const char *http_proxy;  /* per-binding proxy, or NULL */
  const char *client_cert; /* per-binding mTLS pair (paths), or NULL */
  const char *client_key;
  const char *command; /* stdio bindings: the command line, else NULL */
  const struct tc_headers *extra_headers;           /* MCP origin only */
  const struct tc_headers *discovery_extra_headers; /* probes/PRMD only */
  int64_t connection_max_ttl_ms; /* bound on one call's stream */
  int max_concurrent_requests;   /* worker slots the core will use */
  /* ABI 1.1: --mcp.startup-wait-timeout (0 = no wait). When > 0, the first
   * probe() retries "connection refused" (and ENOENT on a unix socket) until
   * this much time has passed. Read only if struct_size covers it. */
  int64_t startup_wait_timeout_ms;
  /* ABI 1.3: the environment ("NAME=value", NULL-terminated) for a child
   * process this binding starts, e.g. a stdio MCP server: the agent's own
   * without its secrets (the control-plane API key, OPENAI_API_KEY,
   * OPENAI_ADMIN_KEY and the variables behind secret settings), except the
   * names the operator passes with --mcp.command-pass-env. A transport that
   * spawns a process must use it instead of `environ`. Read only if
   * struct_size covers it; borrowed like the rest of the binding. */
  const char *const *child_env;
};

/* One command handed to a transport. Borrowed for the duration of call(). */
struct tc_request {
  size_t struct_size;
  const char *type;       /* "jsonrpc", "session_termination", ... */
  const char *channel;    /* canonical channel */
  const char *request_id; /* tunnel request id (logs only, not a secret) */
  const char *body;       /* JSON-RPC bytes exactly as received */
  size_t body_len;
  const struct tc_headers *headers; /* command headers minus hop-by-hop and
                                       the others no transport may pass on
                                       (docs/protocol.md, "Command
                                       headers"); forward the rest */
  uint64_t deadline_ns;             /* monotonic deadline, 0 = none */
  /* Non-zero once the command was canceled (deadline, shutdown). Cheap;
   * poll it while blocked. */
  int (*is_canceled)(const struct tc_request *req);
  void *core; /* private to the core */
};

/* A message or result produced by a transport. Borrowed by the sink: the
 * core posts it before notify()/complete() return and keeps no copy of the
 * body (since 1.4), so a transport holds each reply once. */
struct tc_response {
  size_t struct_size;
  int status;                       /* HTTP-like status (200, 202, 502...) */
  const struct tc_headers *headers; /* upstream headers (core sanitises) */
  const char *body;                 /* JSON-RPC message bytes, or NULL */
  size_t body_len;
  /* Failure provenance: NULL `failure_source` means success. Otherwise the
   * core synthesises a -32603 error carrying data.tunnel_failure. Values as
   * in the wire contract: source "target_http", "dns", "tls", "connect",
   * "transport_closed", "timeout", "protocol", "client_internal"; kind
   * e.g. "connection_refused", "eof", "malformed_json" (or NULL). */
  const char *failure_source;
  const char *failure_kind;
  int upstream_response_received; /* 0/1 */
  int upstream_status;            /* target_http only, else 0 */
};

/* Where a call's output goes. notify() 0..n times, then complete() exactly
 * once, from the thread running call() (or a thread it waits for before
 * returning). Both return TC_OK, or < 0 when the message could not be
 * delivered (the transport should then stop producing notifications). */
struct tc_sink {
  size_t struct_size;
  void *core; /* private to the core */
  int (*notify)(const struct tc_sink *sink, const struct tc_response *msg);
  int (*complete)(const struct tc_sink *sink, const struct tc_response *res);
};

enum tc_transport_flags {
  TC_TRANSPORT_PROC_AFFINITY = 1u << 0, /* advertised as proc_affinity:true */
  TC_TRANSPORT_SERIAL = 1u << 1         /* core never overlaps call() */
};

struct tc_transport_vtable {
  size_t struct_size;
  const char *name; /* what a binding's `transport:` names, e.g. "http" */
  unsigned flags;   /* enum tc_transport_flags */

  /* Mandatory. Validate the binding, allocate the instance; no I/O. */
  int (*create)(const struct tc_host *host, const struct tc_binding *binding,
                void **inst, char **errmsg);
  /* Optional. Open connections, spawn children, start reader threads. */
  int (*start)(void *inst, char **errmsg);
  /* Mandatory. Forward one command; block until complete() was called.
   * Returns TC_OK, or < 0 only if complete() could not be called (the core
   * then synthesises a client_internal failure). */
  int (*call)(void *inst, const struct tc_request *req,
              const struct tc_sink *sink);
  /* Optional. End an MCP session (session_termination). *status receives
   * the upstream status. NULL means "not supported" (the core answers 405). */
  int (*terminate_session)(void *inst, const struct tc_request *req,
                           int *status);
  /* Optional. Readiness probe. The core calls it once after start() on a
   * background thread (the startup probe: it may block up to the module's
   * own probe timeout, and up to startup_wait_timeout_ms when set), then
   * on every /readyz request, where it must answer at once from cached or
   * live state (e.g. "child restarting").
   * Returns TC_OK ready, TC_AGAIN pending, < 0 failed. *detail (malloc()ed,
   * may stay NULL) is the whole /readyz reason: with TC_OK it is a note
   * shown as "ready (<detail>)", e.g. "mcp initialize requires auth: HTTP
   * 401"; otherwise e.g. "mcp probe failed: connection refused". Without a
   * detail the core says "mcp startup probe pending" / "mcp probe failed:
   * <tc_strerror>". */
  int (*probe)(void *inst, char **detail);
  /* Optional. Stop accepting work, fail in-flight calls, join threads. */
  void (*stop)(void *inst);
  /* Mandatory. Free the instance. */
  void (*destroy)(void *inst);
  /* ABI 1.3, optional. The instance's state for the admin API as a JSON
   * object (malloc()ed text in *json), shown under the channel's "state" in
   * GET /api/channels, e.g. a child process's pid and its last stderr
   * lines. Any thread, concurrently with call(); must answer at once and
   * never wait on what a call holds. The core redacts known secrets. */
  int (*admin_state)(void *inst, char **json);

  /* ABI 1.3, optional (read only when struct_size covers it). A
   * configuration reload (SIGHUP) produced `next` for this instance's
   * channel and transport, and `next` differs from the binding the instance
   * was created with. Return TC_OK when the instance would serve `next`
   * exactly as it serves now, i.e. every field that differs is one it never
   * reads: the core then keeps the instance (a stdio child keeps running),
   * and the instance keeps the binding it was created with. Anything else,
   * or no member, makes the core create and start a new instance from
   * `next`; calls already running finish on this one, which is stopped and
   * destroyed after the last of them. Main thread, while calls may run on
   * the instance: a question only, without side effects or blocking. */
  int (*reusable_for)(void *inst, const struct tc_binding *next);
};

#ifdef __cplusplus
}
#endif
#endif /* TC_TRANSPORT_H */
