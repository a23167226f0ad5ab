/* dev/control_plane.h — a local, in-memory tunnel service on loopback for
 * development and tests (`tunnel-client dev control-plane`): the control
 * plane a tunnel-client polls (protocol.md §1) plus the MCP ingress that
 * turns HTTP calls into polled commands (§4), with one-shot fault knobs.
 * The routes are listed in the top comment of control_plane.c.
 *
 * DNS-rebinding protection: see allowed_hosts below; an MCP ingress call
 * reaches the agent without its Host (the agent talks to the server by
 * the binding URL's name) and without its Origin (an Origin the guard
 * accepts names this service itself, so the server sees what a
 * same-origin or non-browser caller sends: none). The server's own
 * protection thus decides as it would for a direct call.
 *
 * Threads: start/stop from one thread; requests are served on
 * libmicrohttpd's threads (one per connection), so long polls and waiting
 * ingress calls never block each other. Not for production: state lives in
 * memory, one fixed API key. */
#ifndef TC_DEV_CONTROL_PLANE_H
#define TC_DEV_CONTROL_PLANE_H

#include <stddef.h>
#include <stdint.h>

struct tc_devcp;

struct tc_devcp_options {
  const char *listen_addr;     /* host:port, port 0 = ephemeral;
                                  NULL = "127.0.0.1:0" */
  const char *tunnel_id;       /* NULL = "tunnel_" + 32 x '2' */
  const char *api_key;         /* NULL = "local-tunnel-client-dev-proxy" */
  const char *admin_key;       /* management API (tunnel CRUD) key;
                                  NULL = "local-tunnel-client-dev-admin" */
  int64_t response_timeout_ms; /* how long an ingress call waits for the
                                  terminal response; <= 0 = 30000 */
  /* Extra names the Host and Origin of a request may carry besides
   * loopback names and the listen address (util/host_pattern.h grammar;
   * borrowed for the call). Every route refuses any other Host or Origin,
   * two Host or two Origin headers, and Sec-Fetch-Site: cross-site
   * (util/http_guard.h). */
  const char *const *allowed_hosts;
  size_t allowed_host_count;
};

/* Bind and start serving. Option strings are copied. Returns 0 and *out, or
 * -1 with *out = NULL and *err (malloc()ed, one line naming the address or
 * option and how to fix it). */
int tc_devcp_start(struct tc_devcp **out, const struct tc_devcp_options *opt,
                   char **err);
/* "http://host:port" of the listener; borrowed until stop. */
const char *tc_devcp_base_url(const struct tc_devcp *cp);
/* Wake every waiting poll and ingress call, stop serving (waits for
 * in-flight requests), free everything. NULL is a no-op. */
void tc_devcp_stop(struct tc_devcp *cp);

#endif /* TC_DEV_CONTROL_PLANE_H */
