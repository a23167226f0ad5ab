/* ops/health.h — the ops listener (libmicrohttpd): /healthz, /readyz,
 * /metrics, the admin API (/api/...) and the UI (/, /ui, /assets/...).
 *
 * Guards, before any route: GET/HEAD/OPTIONS of /healthz, /readyz and
 * /metrics answer whatever the Host and whoever the peer (probes and
 * scrapes come by pod IP, Service name or a mapped port; these routes are
 * read-only and hold no secret). Everything else — the admin routes, and
 * any other method on any route — needs a Host that names this listener
 * (its own host:port, the connection's local address, or localhost /
 * 127.0.0.1 / [::1] with the port; any loopback name on a unix socket) or
 * matches --health.allowed-hosts, else 403 (DNS-rebinding protection);
 * admin routes answer 403 to a non-loopback peer unless --allow-remote-ui;
 * methods other than GET/HEAD/OPTIONS need Origin absent or equal to
 * "http://<Host>" or "https://<Host>" (and no Sec-Fetch-Site: cross-site)
 * else 403. A request with two Host or two Origin headers gets 400 on any
 * route. Bodies are kept up to 64 KiB (413 beyond).
 * Slow clients: headers within 10 s, body within 10 s more, 32
 * connections per client address and 256 in all (the oldest idle ones are
 * closed to admit newcomers); see docs/operations.md.
 *
 * Binds TCP (--health.listen-addr, port 0 = ephemeral) or a unix socket
 * (--health.unix-socket: a stale socket file is removed, a live one is an
 * error), then writes --health.url-file atomically (0600): "http://host:port"
 * with no newline, or "http+unix://<base64url(path)>". tc_health_stop()
 * removes the URL file and the socket.
 * Threads: start/stop on the main thread; requests on libmicrohttpd's own
 * threads (an unbound listener's on the thread calling tc_health_run). */
#ifndef TC_OPS_HEALTH_H
#define TC_OPS_HEALTH_H

#include <stdbool.h>
#include <sys/socket.h>

#include "config/config.h"
#include "ops/ops_context.h"
#include "util/fs.h"

struct tc_health_server;

/* Returns 0, or -1 with *err (malloc()ed, one line naming the address). */
int tc_health_start(struct tc_health_server **out, const struct tc_config *cfg,
                    char **err);
/* The same, serving the agent's state: ctx is copied (its pointers are
 * borrowed until tc_health_stop). ctx NULL = tc_health_start. */
int tc_health_start_ops(struct tc_health_server **out,
                        const struct tc_config *cfg,
                        const struct tc_ops_context *ctx, char **err);
/* For in-process drivers (the ops_request fuzz target): the same listener,
 * guards and routes without a socket or threads of its own. It answers for
 * `base_url` ("http://host:port": the Host guard, /api/status) and serves
 * only connections handed in with tc_health_serve_fd(), on the thread that
 * calls tc_health_run(). Of cfg only allow_remote_ui and
 * health_allowed_hosts are read (no bind, no URL file). 0, or -1 with
 * *err. */
int tc_health_start_unbound(struct tc_health_server **out,
                            const struct tc_config *cfg,
                            const struct tc_ops_context *ctx,
                            const char *base_url, char **err);
/* Serve one connected stream socket (e.g. one end of a socketpair) as a
 * connection accepted from `peer`, the address the loopback guard sees
 * (peer_len bytes, copied). fd belongs to the listener from this call on
 * and is closed by it, also on failure. 0, or -1 (out of memory, connection
 * limit). */
int tc_health_serve_fd(struct tc_health_server *srv, int fd,
                       const struct sockaddr *peer, socklen_t peer_len);
/* Unbound listener: do the I/O and request handling its connections have
 * ready, first waiting up to timeout_ms (0: not at all) for some. Requests
 * run on the caller's thread, one at a time. 0, or -1 when libmicrohttpd
 * fails (or srv has threads of its own). */
int tc_health_run(struct tc_health_server *srv, int timeout_ms);
/* A reload changed admin_ui.allow_remote: requests from now on follow it.
 * Any thread; NULL is ignored. */
void tc_health_set_allow_remote(struct tc_health_server *srv, bool allow);
/* Base URL, e.g. "http://127.0.0.1:41234". Borrowed until stop. */
const char *tc_health_base_url(const struct tc_health_server *srv);
/* Identities of the URL file and unix socket this listener made (see
 * tc_fs_remove_if_same), for a cleanup that cannot call tc_health_stop():
 * the second-signal exit. Returns TC_HEALTH_HAS_* bits for what it set. */
#define TC_HEALTH_HAS_URL_FILE 1
#define TC_HEALTH_HAS_SOCKET 2
int tc_health_file_ids(const struct tc_health_server *srv,
                       struct tc_file_id *url_file, struct tc_file_id *socket);
/* Stop serving, remove the URL file and socket while they are still the
 * ones this listener made, free. NULL is a no-op. */
void tc_health_stop(struct tc_health_server *srv);

#endif /* TC_OPS_HEALTH_H */
