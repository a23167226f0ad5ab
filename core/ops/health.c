/* ops/health.c — the ops listener (see health.h).
 *
 * We create and bind the listening socket ourselves and hand it to
 * libmicrohttpd (MHD_OPTION_LISTEN_SOCKET): that way we know the real port
 * (getsockname) and can serve a unix socket the same way as TCP. An unbound
 * listener (no socket, no threads: tc_health_serve_fd hands connections in
 * with MHD_add_connection, tc_health_run drives them) runs the same guards
 * and routes for in-process drivers.
 * Every route answers from memory without blocking, so two epoll threads
 * of libmicrohttpd serve all connections; an open connection costs no
 * thread. Slow clients are cut by util/http_limits (header and body
 * deadlines, per-address and total caps that make the oldest idle
 * connections give way), so drippers and idle connections cannot crowd out
 * a probe.
 * libmicrohttpd's diagnostics go to tc_log at debug level (component
 * "health").
 *
 * Routing is a table: adding a route is one entry in `routes` and a handler.
 *
 * Decisions: an empty host (":8080") binds the IPv6 wildcard in dual-stack
 * mode (falling back to IPv4); a wildcard or empty host is advertised in
 * the URL file as "localhost". The unix socket is chmod()ed 0600: only the
 * owner can talk to the admin API. The socket file is removed on stop only
 * if it is still the one we created (same device and inode). */
#include "ops/health.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ops/admin_api.h"
#include "ops/http_reply.h"
#include "ops/ui_routes.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/http_guard.h"
#include "util/http_server.h"
#include "util/log.h"
#include "util/net_listen.h"

#define HEALTH_BODY_MAX (64u * 1024u)
/* Slow clients (docs/operations.md, "Connection limits"): a request's
 * headers must be in within 10 s of the connection (or of the previous
 * response on a kept-alive one), its body within 10 s more; 32 connections
 * per client address and 256 in all, the oldest idle ones giving way to
 * newcomers, which get 250 ms to send their request; newcomers are refused
 * only past 128 per address or 320 in all. The inactivity timeout stays as
 * the bound for a client that stops reading a response. */
#define HEALTH_HEADER_TIMEOUT_S 10u
#define HEALTH_BODY_TIMEOUT_S 10u
#define HEALTH_PER_ADDRESS 32u
#define HEALTH_MAX_CONNECTIONS 256u
#define HEALTH_GRACE_MS 250u
#define HEALTH_HARD_PER_ADDRESS 128u
#define HEALTH_HARD_MAX_CONNECTIONS 320u
#define HEALTH_CONNECTION_TIMEOUT_S 30u
/* Every route answers from memory, so a few polling threads serve any
 * number of open connections. */
#define HEALTH_POLLING_THREADS 2u
/* libmicrohttpd's own count (divided among the polling threads) also
 * holds connections being cut, so it sits well above the hard cap. */
#define HEALTH_MHD_CONNECTION_LIMIT (2u * HEALTH_HARD_MAX_CONNECTIONS)

struct tc_health_server {
  struct tc_http_server *http;
  struct tc_ops_context ctx;  /* copied at start; pointers borrowed */
  atomic_bool allow_remote;   /* --allow-remote-ui; reloadable */
  struct tc_http_guard guard; /* own address, --health.allowed-hosts */
  char *base_url;
  char *url_file;           /* NULL when not configured */
  struct tc_file_id url_id; /* the URL file as we wrote it */
  char *unix_path;          /* NULL for TCP */
  dev_t sock_dev;
  ino_t sock_ino;
};

/* ---- guards ------------------------------------------------------------ */

static int peer_is_loopback(const struct tc_health_server *srv,
                            struct MHD_Connection *c) {
  if (srv->unix_path != NULL)
    return 1; /* only the owner can connect (0600) */
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (ci == NULL || ci->client_addr == NULL)
    return 0;
  const struct sockaddr *sa = ci->client_addr;
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
    return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
  }
  if (sa->sa_family == AF_INET6) {
    const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(a))
      return 1;
    return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
  }
  return sa->sa_family == AF_UNIX;
}

static int is_safe_method(const char *m) {
  return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0 ||
         strcmp(m, "OPTIONS") == 0;
}

/* Same-origin guard for state-changing methods: Origin absent, or
 * "http://<Host>" or "https://<Host>" (Host was already checked; https is
 * what a browser sends through a TLS-terminating proxy that forwards the
 * name); no cross-site fetch. */
static int origin_allowed(struct MHD_Connection *c, const char *host) {
  if (tc_http_cross_site(c))
    return 0;
  const char *origin =
      MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ORIGIN);
  return origin == NULL || tc_http_same_origin(origin, host);
}

/* ---- routes -------------------------------------------------------------- */

enum route_class {
  ROUTE_PUBLIC, /* /healthz, /readyz, /metrics: never peer-gated */
  ROUTE_ADMIN   /* everything else: loopback only unless --allow-remote-ui */
};

typedef enum MHD_Result (*route_fn)(const struct tc_ops_request *rq);

struct route {
  const char *path;
  int prefix; /* match path as a prefix (e.g. "/assets/") */
  enum route_class cls;
  int takes_body;
  route_fn handler;
};

static enum MHD_Result route_healthz(const struct tc_ops_request *rq) {
  /* Liveness only: the process is up and serving. Methods are not checked
   * (like the official client's mux). HEAD gets no body from MHD. */
  return tc_ops_reply_text(rq->c, MHD_HTTP_OK, "live");
}

static enum MHD_Result route_ui(const struct tc_ops_request *rq) {
  return tc_ui_serve(rq->c, rq->method, rq->url);
}

static const struct route routes[] = {
    {"/healthz", 0, ROUTE_PUBLIC, 0, route_healthz},
    {"/readyz", 0, ROUTE_PUBLIC, 0, tc_ops_readyz},
    {"/metrics", 0, ROUTE_PUBLIC, 0, tc_ops_metrics},
    {"/api/status", 0, ROUTE_ADMIN, 0, tc_ops_api_status},
    {"/api/channels", 0, ROUTE_ADMIN, 0, tc_ops_api_channels},
    {"/api/logs", 0, ROUTE_ADMIN, 0, tc_ops_api_logs},
    {"/api/logs/export", 0, ROUTE_ADMIN, 0, tc_ops_api_logs_export},
    {"/api/log-level", 0, ROUTE_ADMIN, 1, tc_ops_api_log_level},
    {"/api/oauth", 0, ROUTE_ADMIN, 0, tc_ops_api_oauth},
    {"/", 0, ROUTE_ADMIN, 0, route_ui},
    {"/ui", 0, ROUTE_ADMIN, 0, route_ui},
    {"/ui/", 1, ROUTE_ADMIN, 0, route_ui},
    {"/assets/", 1, ROUTE_ADMIN, 0, route_ui},
    {"/favicon.ico", 0, ROUTE_ADMIN, 0, route_ui},
};

static const struct route *find_route(const char *url) {
  for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
    const struct route *r = &routes[i];
    if (r->prefix ? strncmp(url, r->path, strlen(r->path)) == 0
                  : strcmp(url, r->path) == 0)
      return r;
  }
  return NULL;
}

/* Per request: the body collected so far. */
struct req_state {
  struct tc_sbuf body;
  int too_large;
};

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                         enum MHD_RequestTerminationCode toe) {
  (void)cls;
  (void)c;
  (void)toe;
  struct req_state *st = *req_cls;
  if (st != NULL) {
    tc_sbuf_free(&st->body);
    free(st);
    *req_cls = NULL;
  }
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **req_cls) {
  (void)version;
  struct tc_health_server *srv = cls;
  struct req_state *st = *req_cls;
  if (st == NULL) { /* headers only; wait for the body */
    st = calloc(1, sizeof(*st));
    if (st == NULL)
      return MHD_NO;
    *req_cls = st;
    return MHD_YES;
  }
  if (*upload_size != 0) { /* kept up to the limit, then only counted */
    tc_http_body_feed(&st->body, &st->too_large, upload, *upload_size,
                      HEALTH_BODY_MAX);
    *upload_size = 0;
    return MHD_YES;
  }

  if (tc_http_duplicate_host_or_origin(c))
    return tc_ops_reply_error(c, url, MHD_HTTP_BAD_REQUEST,
                              "bad request: more than one Host or Origin "
                              "header; send each once");
  const char *host =
      MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
  const struct route *r = find_route(url);
  int admin = r == NULL || r->cls == ROUTE_ADMIN;
  /* Probes and scrapes come by pod IP, Service name or a mapped port:
   * the read-only public routes answer whatever the Host. */
  int probe = !admin && is_safe_method(method);
  if (!probe && !tc_http_guard_host_ok(&srv->guard, c, host))
    return tc_ops_reply_error(
        c, url, MHD_HTTP_FORBIDDEN,
        "forbidden: the Host header does not name this listener (use the "
        "address in the health URL file or localhost, or add the name to "
        "--health.allowed-hosts)");
  if (admin && !atomic_load(&srv->allow_remote) && !peer_is_loopback(srv, c))
    return tc_ops_reply_error(
        c, url, MHD_HTTP_FORBIDDEN,
        "admin UI is restricted to loopback; set --allow-remote-ui to "
        "override");
  if (!is_safe_method(method) && !origin_allowed(c, host))
    return tc_ops_reply_error(c, url, MHD_HTTP_FORBIDDEN,
                              "forbidden: cross-origin request (Origin must "
                              "be this listener's own origin)");
  if (r == NULL)
    return tc_ops_reply_error(c, url, MHD_HTTP_NOT_FOUND, "not found");
  if (st->too_large)
    return tc_ops_reply_error(c, url, MHD_HTTP_CONTENT_TOO_LARGE,
                              "request body too large (at most 64 KiB)");
  struct tc_ops_request rq = {
      .ctx = &srv->ctx,
      .c = c,
      .method = method,
      .url = url,
      .body = r->takes_body && st->body.data != NULL ? st->body.data : "",
      .body_len = r->takes_body ? st->body.len : 0,
      .health_url = srv->base_url};
  return r->handler(&rq);
}

/* ---- binding ------------------------------------------------------------- */

/* Bind TCP through util/net_listen; on success *fd and *base_url. */
static int bind_tcp(const char *addr, int *fd_out, int *family, char **base_url,
                    char **err) {
  static const struct tc_net_listen_names names = {
      "health", "--health.listen-addr", "HEALTH_LISTEN_ADDR"};
  struct tc_net_listener l;
  if (tc_net_listen_tcp(addr, &names, &l, err) != 0)
    return -1;
  *fd_out = l.fd;
  *family = l.family;
  *base_url = l.base_url;
  return 0;
}

/* Bind a unix socket, replacing a stale one. */
static int bind_unix(struct tc_health_server *srv, const char *path,
                     int *fd_out, char **err) {
  struct sockaddr_un sun = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof(sun.sun_path))
    return tc_set_error(
        err,
        "health unix socket path %s is too long (at most %zu bytes); "
        "choose a shorter --health.unix-socket",
        path, sizeof(sun.sun_path) - 1);
  memcpy(sun.sun_path, path, strlen(path) + 1);

  struct stat st;
  if (lstat(path, &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      return tc_set_error(
          err,
          "health unix socket %s exists and is not a socket; remove "
          "it or choose another --health.unix-socket",
          path);
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe < 0)
      return tc_set_error(err, "health unix socket %s: %s", path,
                          strerror(errno));
    int rc = connect(probe, (const struct sockaddr *)&sun, sizeof(sun));
    int e = errno;
    close(probe);
    if (rc == 0)
      return tc_set_error(
          err,
          "health unix socket %s is in use by a running process; stop "
          "it or choose another --health.unix-socket",
          path);
    if (e != ECONNREFUSED && e != ENOENT)
      return tc_set_error(
          err,
          "health unix socket %s: cannot check whether it is in use: "
          "%s",
          path, strerror(e));
    if (unlink(path) != 0 && errno != ENOENT)
      return tc_set_error(err, "remove stale health unix socket %s: %s", path,
                          strerror(errno));
    tc_log(TC_LOG_INFO, "health", "removed stale health unix socket", "path",
           path, NULL);
  }

  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return tc_set_error(err, "health unix socket %s: %s", path,
                        strerror(errno));
  if (bind(fd, (const struct sockaddr *)&sun, sizeof(sun)) != 0) {
    int e = errno;
    close(fd);
    return tc_set_error(
        err,
        "bind health unix socket %s: %s (check that the directory "
        "exists and is writable)",
        path, strerror(e));
  }
  if (chmod(path, 0600) != 0 || listen(fd, 64) != 0 || stat(path, &st) != 0) {
    int e = errno;
    close(fd);
    unlink(path);
    return tc_set_error(err, "listen on health unix socket %s: %s", path,
                        strerror(e));
  }
  srv->sock_dev = st.st_dev;
  srv->sock_ino = st.st_ino;
  *fd_out = fd;
  return 0;
}

static void remove_socket_file(struct tc_health_server *srv) {
  struct stat st;
  if (srv->unix_path == NULL)
    return;
  if (lstat(srv->unix_path, &st) == 0 && st.st_dev == srv->sock_dev &&
      st.st_ino == srv->sock_ino)
    unlink(srv->unix_path);
}

/* Start libmicrohttpd on fd (-1: no listen socket). 0, or -1 with *err;
 * the socket stays the caller's on failure. */
static int start_daemon(struct tc_health_server *srv, int fd, int family,
                        const char *where, char **err) {
  static const struct tc_http_limits limits = {
      .header_timeout_s = HEALTH_HEADER_TIMEOUT_S,
      .body_timeout_s = HEALTH_BODY_TIMEOUT_S,
      .per_address = HEALTH_PER_ADDRESS,
      .max_connections = HEALTH_MAX_CONNECTIONS,
      .grace_ms = HEALTH_GRACE_MS,
      .hard_per_address = HEALTH_HARD_PER_ADDRESS,
      .hard_max_connections = HEALTH_HARD_MAX_CONNECTIONS};
  const struct tc_http_server_spec spec = {
      .component = "health",
      .listen_fd = fd,
      .family = family,
      .handler = on_request,
      .handler_cls = srv,
      .completed = on_completed,
      .connection_timeout_s = HEALTH_CONNECTION_TIMEOUT_S,
      .connection_limit = HEALTH_MHD_CONNECTION_LIMIT,
      .polling_threads = HEALTH_POLLING_THREADS,
      .limits = &limits};
  srv->http = tc_http_server_start(&spec);
  if (srv->http == NULL)
    return tc_set_error(
        err,
        "start health listener on %s: libmicrohttpd refused to start (run "
        "with --log.level debug for details)",
        where);
  return 0;
}

/* The guard for base_url with --health.allowed-hosts (validated by the
 * config loader already). */
static int init_guard(struct tc_health_server *srv, const struct tc_config *cfg,
                      char **err) {
  return tc_http_guard_init(&srv->guard, srv->base_url,
                            (const char *const *)cfg->health_allowed_hosts,
                            cfg->health_allowed_host_count,
                            "--health.allowed-hosts", err);
}

int tc_health_start(struct tc_health_server **out, const struct tc_config *cfg,
                    char **err) {
  return tc_health_start_ops(out, cfg, NULL, err);
}

int tc_health_start_ops(struct tc_health_server **out,
                        const struct tc_config *cfg,
                        const struct tc_ops_context *ctx, char **err) {
  *out = NULL;
  struct tc_health_server *srv = calloc(1, sizeof(*srv));
  if (srv == NULL)
    return tc_set_error(err, "start health listener: out of memory");
  if (ctx != NULL)
    srv->ctx = *ctx;
  atomic_init(&srv->allow_remote, cfg->allow_remote_ui);
  int fd = -1, family = AF_UNIX;
  const char *where;
  if (cfg->health_unix_socket != NULL && cfg->health_unix_socket[0] != '\0') {
    where = cfg->health_unix_socket;
    srv->unix_path = strdup(where);
    if (srv->unix_path == NULL || bind_unix(srv, where, &fd, err) != 0) {
      if (srv->unix_path == NULL)
        tc_set_error(err, "start health listener: out of memory");
      free(srv->unix_path);
      free(srv);
      return -1;
    }
    char *b64 = tc_base64url_encode(where, strlen(where));
    if (b64 == NULL || asprintf(&srv->base_url, "http+unix://%s", b64) < 0)
      srv->base_url = NULL;
    free(b64);
  } else {
    where =
        cfg->health_listen_addr ? cfg->health_listen_addr : "127.0.0.1:8080";
    if (bind_tcp(where, &fd, &family, &srv->base_url, err) != 0) {
      free(srv);
      return -1;
    }
  }
  if (srv->base_url == NULL) {
    tc_set_error(err, "start health listener on %s: out of memory", where);
    goto fail_fd;
  }
  if (init_guard(srv, cfg, err) != 0 ||
      start_daemon(srv, fd, family, where, err) != 0)
    goto fail_fd;
  fd = -1; /* owned by MHD now */

  if (cfg->health_url_file != NULL && cfg->health_url_file[0] != '\0') {
    srv->url_file = strdup(cfg->health_url_file);
    char *why = NULL;
    if (srv->url_file == NULL ||
        tc_fs_write_atomic_id(srv->url_file, srv->base_url,
                              strlen(srv->base_url), 0600, &srv->url_id,
                              &why) != 0) {
      tc_set_error(err, "health URL file (--health.url-file): %s",
                   why ? why : "out of memory");
      free(why);
      free(srv->url_file);
      srv->url_file = NULL; /* nothing of ours to remove */
      tc_health_stop(srv);
      return -1;
    }
  }
  *out = srv;
  return 0;

fail_fd:
  if (fd >= 0)
    close(fd);
  tc_http_server_stop(srv->http);
  remove_socket_file(srv);
  tc_http_guard_clear(&srv->guard);
  free(srv->unix_path);
  free(srv->base_url);
  free(srv);
  return -1;
}

int tc_health_start_unbound(struct tc_health_server **out,
                            const struct tc_config *cfg,
                            const struct tc_ops_context *ctx,
                            const char *base_url, char **err) {
  *out = NULL;
  struct tc_health_server *srv = calloc(1, sizeof(*srv));
  if (srv == NULL || (srv->base_url = strdup(base_url)) == NULL) {
    free(srv);
    return tc_set_error(err, "start health listener: out of memory");
  }
  if (ctx != NULL)
    srv->ctx = *ctx;
  atomic_init(&srv->allow_remote, cfg->allow_remote_ui);
  if (init_guard(srv, cfg, err) != 0) {
    /* *err is set */
  } else if (strncmp(base_url, "http://", 7) != 0 ||
             srv->guard.own_port[0] == '\0') {
    tc_set_error(err,
                 "start health listener: %s is not an http://host:port "
                 "address",
                 base_url);
  } else if (start_daemon(srv, -1, AF_INET, base_url, err) == 0) {
    *out = srv;
    return 0;
  }
  tc_http_guard_clear(&srv->guard);
  free(srv->base_url);
  free(srv);
  return -1;
}

int tc_health_serve_fd(struct tc_health_server *srv, int fd,
                       const struct sockaddr *peer, socklen_t peer_len) {
  /* MHD closes fd in every case, also when it refuses. */
  return MHD_add_connection(tc_http_server_daemon(srv->http), fd, peer,
                            peer_len) == MHD_YES
             ? 0
             : -1;
}

int tc_health_run(struct tc_health_server *srv, int timeout_ms) {
  return MHD_run_wait(tc_http_server_daemon(srv->http), timeout_ms) == MHD_YES
             ? 0
             : -1;
}

void tc_health_set_allow_remote(struct tc_health_server *srv, bool allow) {
  if (srv != NULL)
    atomic_store(&srv->allow_remote, allow);
}

int tc_health_file_ids(const struct tc_health_server *srv,
                       struct tc_file_id *url_file, struct tc_file_id *socket) {
  int have = 0;
  if (srv != NULL && srv->url_file != NULL) {
    *url_file = srv->url_id;
    have |= TC_HEALTH_HAS_URL_FILE;
  }
  if (srv != NULL && srv->unix_path != NULL) {
    socket->dev = srv->sock_dev;
    socket->ino = srv->sock_ino;
    have |= TC_HEALTH_HAS_SOCKET;
  }
  return have;
}

const char *tc_health_base_url(const struct tc_health_server *srv) {
  return srv ? srv->base_url : NULL;
}

void tc_health_stop(struct tc_health_server *srv) {
  if (srv == NULL)
    return;
  tc_http_server_stop(srv->http); /* also closes the listening socket */
  /* Only while it is still the file we wrote: another agent given the
   * same --health.url-file may have replaced it with its own. */
  int gone = srv->url_file != NULL
                 ? tc_fs_remove_if_same(srv->url_file, srv->url_id.dev,
                                        srv->url_id.ino)
                 : 0;
  if (gone < 0)
    tc_log(TC_LOG_WARN, "health", "could not remove the health URL file",
           "path", srv->url_file, "error", strerror(errno), NULL);
  else if (gone > 0)
    tc_log(TC_LOG_WARN, "health",
           "health URL file was replaced by another process; left in place",
           "path", srv->url_file, NULL);
  remove_socket_file(srv);
  free(srv->url_file);
  free(srv->unix_path);
  tc_http_guard_clear(&srv->guard);
  free(srv->base_url);
  free(srv);
}
