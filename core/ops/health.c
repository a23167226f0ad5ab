/* ops/health.c — the ops listener (see health.h).
 *
 * We create and bind the listening socket ourselves and hand it to
 * libmicrohttpd (MHD_OPTION_LISTEN_SOCKET): that way we know the real port
 * (getsockname) and can serve a unix socket the same way as TCP.
 * libmicrohttpd runs one polling thread plus a thread per connection, so a
 * slow or streaming client never holds up the others. Its diagnostics go to
 * tc_log at debug level (component "health").
 *
 * Routing is a table: adding a route is one entry in `routes` and a handler.
 *
 * Decisions: an empty host (":8080") binds the IPv6 wildcard in dual-stack
 * mode (falling back to IPv4); a wildcard or empty host is advertised in
 * the URL file as "localhost". The unix socket is chmod()ed 0600: only the
 * owner can talk to the admin API. The socket file is removed on stop only
 * if it is still the one we created (same device and inode). */
#include "ops/health.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/error.h"
#include "util/fs.h"
#include "util/http_server.h"
#include "util/log.h"
#include "util/net_listen.h"

#define HEALTH_CONNECTION_TIMEOUT_S 30u
#define HEALTH_CONNECTION_LIMIT 256u

struct tc_health_server {
  struct MHD_Daemon *mhd;
  char *base_url;
  char *url_file;  /* NULL when not configured */
  char *unix_path; /* NULL for TCP */
  dev_t sock_dev;
  ino_t sock_ino;
};

/* ---- routes -------------------------------------------------------------- */

static enum MHD_Result respond_text(struct MHD_Connection *c,
                                    unsigned int status, const char *body) {
  /* MUST_COPY: the buffer is only read, the cast drops const for the API. */
  struct MHD_Response *r = MHD_create_response_from_buffer(
      strlen(body), (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
  if (r == NULL)
    return MHD_NO;
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                          "text/plain; charset=utf-8");
  MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
  MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  enum MHD_Result ret = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return ret;
}

typedef enum MHD_Result (*route_fn)(struct tc_health_server *srv,
                                    struct MHD_Connection *c,
                                    const char *method, const char *url);

struct route {
  const char *path;
  int prefix; /* match path as a prefix (e.g. "/assets/") */
  route_fn handler;
};

static enum MHD_Result route_healthz(struct tc_health_server *srv,
                                     struct MHD_Connection *c,
                                     const char *method, const char *url) {
  /* Liveness only: the process is up and serving. Methods are not checked
   * (like the official client's mux). HEAD gets no body from MHD. */
  return respond_text(c, MHD_HTTP_OK, "live");
}

static const struct route routes[] = {
    {"/healthz", 0, route_healthz},
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

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **req_cls) {
  static int seen;
  if (*req_cls == NULL) { /* headers only; wait for the body */
    *req_cls = &seen;
    return MHD_YES;
  }
  if (*upload_size != 0) { /* no route reads a body yet: discard it */
    *upload_size = 0;
    return MHD_YES;
  }
  const struct route *r = find_route(url);
  if (r == NULL)
    return respond_text(c, MHD_HTTP_NOT_FOUND, "not found");
  return r->handler(cls, c, method, url);
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

int tc_health_start(struct tc_health_server **out, const struct tc_config *cfg,
                    char **err) {
  *out = NULL;
  struct tc_health_server *srv = calloc(1, sizeof(*srv));
  if (srv == NULL)
    return tc_set_error(err, "start health listener: out of memory");
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

  const struct tc_http_server_spec spec = {
      .component = "health",
      .listen_fd = fd,
      .family = family,
      .handler = on_request,
      .handler_cls = srv,
      .connection_timeout_s = HEALTH_CONNECTION_TIMEOUT_S,
      .connection_limit = HEALTH_CONNECTION_LIMIT};
  srv->mhd = tc_http_server_start(&spec);
  if (srv->mhd == NULL) {
    tc_set_error(
        err,
        "start health listener on %s: libmicrohttpd refused to start (run "
        "with --log.level debug for details)",
        where);
    goto fail_fd;
  }
  fd = -1; /* owned by MHD now */

  if (cfg->health_url_file != NULL && cfg->health_url_file[0] != '\0') {
    srv->url_file = strdup(cfg->health_url_file);
    char *why = NULL;
    if (srv->url_file == NULL ||
        tc_fs_write_atomic(srv->url_file, srv->base_url, strlen(srv->base_url),
                           0600, &why) != 0) {
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
  if (srv->mhd != NULL)
    MHD_stop_daemon(srv->mhd);
  remove_socket_file(srv);
  free(srv->unix_path);
  free(srv->base_url);
  free(srv);
  return -1;
}

const char *tc_health_base_url(const struct tc_health_server *srv) {
  return srv ? srv->base_url : NULL;
}

void tc_health_stop(struct tc_health_server *srv) {
  if (srv == NULL)
    return;
  if (srv->mhd != NULL)
    MHD_stop_daemon(srv->mhd); /* also closes the listening socket */
  if (srv->url_file != NULL && tc_fs_remove_if_exists(srv->url_file) != 0)
    tc_log(TC_LOG_WARN, "health", "could not remove the health URL file",
           "path", srv->url_file, NULL);
  remove_socket_file(srv);
  free(srv->url_file);
  free(srv->unix_path);
  free(srv->base_url);
  free(srv);
}
