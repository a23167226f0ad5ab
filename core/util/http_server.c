/* util/http_server.c — see http_server.h. */
#include "util/http_server.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "util/log.h"

struct tc_http_server {
  struct MHD_Daemon *mhd;
  struct tc_http_conns *conns; /* NULL without limits */
  MHD_AccessHandlerCallback handler;
  void *handler_cls;
  MHD_RequestCompletedCallback completed; /* may be NULL */
  void *completed_cls;
};

__attribute__((format(printf, 2, 0))) static void
hs_log(void *cls, const char *fmt, va_list ap) {
  tc_logv(TC_LOG_DEBUG, cls, fmt, ap);
}

/* The application's handler, after the limits learned the request's
 * progress. */
static enum MHD_Result hs_access(void *cls, struct MHD_Connection *c,
                                 const char *url, const char *method,
                                 const char *version, const char *upload,
                                 size_t *upload_size, void **req_cls) {
  struct tc_http_server *srv = cls;
  if (srv->conns != NULL)
    tc_http_conns_on_access(srv->conns, c, *upload_size);
  return srv->handler(srv->handler_cls, c, url, method, version, upload,
                      upload_size, req_cls);
}

static void hs_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                         enum MHD_RequestTerminationCode toe) {
  struct tc_http_server *srv = cls;
  if (srv->conns != NULL)
    tc_http_conns_on_completed(srv->conns, c);
  if (srv->completed != NULL)
    srv->completed(srv->completed_cls, c, req_cls, toe);
}

static void hs_notify(void *cls, struct MHD_Connection *c,
                      void **socket_context,
                      enum MHD_ConnectionNotificationCode code) {
  struct tc_http_server *srv = cls;
  if (srv->conns != NULL)
    tc_http_conns_notify(srv->conns, c, socket_context, code);
}

static unsigned int daemon_flags(const struct tc_http_server_spec *s) {
  unsigned int flags = MHD_USE_ERROR_LOG;
  if (s->listen_fd < 0) /* the owner runs it; implies MHD_USE_ITC */
    flags |= MHD_USE_NO_LISTEN_SOCKET;
  else if (s->polling_threads == 0)
    flags |= MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
             MHD_USE_POLL;
  else
    flags |=
        MHD_USE_INTERNAL_POLLING_THREAD |
        (MHD_is_feature_supported(MHD_FEATURE_EPOLL) == MHD_YES ? MHD_USE_EPOLL
                                                                : MHD_USE_POLL);
  if (s->family == AF_INET6)
    flags |= MHD_USE_IPv6;
  if (s->tls_cert_pem != NULL && s->tls_key_pem != NULL)
    flags |= MHD_USE_TLS;
  return flags;
}

struct tc_http_server *
tc_http_server_start(const struct tc_http_server_spec *s) {
  struct tc_http_server *srv = calloc(1, sizeof(*srv));
  if (srv == NULL)
    return NULL;
  srv->handler = s->handler;
  srv->handler_cls = s->handler_cls;
  srv->completed = s->completed;
  srv->completed_cls = s->completed_cls;
  if (s->limits != NULL && s->listen_fd >= 0) {
    srv->conns = tc_http_conns_new(s->limits, s->component);
    if (srv->conns == NULL) {
      free(srv);
      return NULL;
    }
  }
  /* Options that may be left out go in an array (MHD refuses
   * MHD_OPTION_LISTEN_SOCKET with NO_LISTEN_SOCKET, and a pool of one). */
  struct MHD_OptionItem opts[8];
  size_t n = 0;
  if (s->listen_fd >= 0)
    opts[n++] =
        (struct MHD_OptionItem){MHD_OPTION_LISTEN_SOCKET, s->listen_fd, NULL};
  if (s->listen_fd >= 0 && s->polling_threads > 1)
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE,
                                        (intptr_t)s->polling_threads, NULL};
  if (s->tls_cert_pem != NULL && s->tls_key_pem != NULL) {
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0,
                                        (void *)(uintptr_t)s->tls_cert_pem};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0,
                                        (void *)(uintptr_t)s->tls_key_pem};
    if (s->tls_trust_pem != NULL)
      opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0,
                                          (void *)(uintptr_t)s->tls_trust_pem};
  }
  opts[n] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
  /* The logger must come first, or MHD warns through its default one. The
   * component string is a static literal, so it may be MHD's cls. */
  srv->mhd = MHD_start_daemon(
      daemon_flags(s), 0, NULL, NULL, hs_access, srv,
      MHD_OPTION_EXTERNAL_LOGGER, hs_log, (void *)(uintptr_t)s->component,
      MHD_OPTION_ARRAY, opts, MHD_OPTION_NOTIFY_COMPLETED, hs_completed, srv,
      MHD_OPTION_NOTIFY_CONNECTION, hs_notify, srv,
      MHD_OPTION_CONNECTION_TIMEOUT, s->connection_timeout_s,
      MHD_OPTION_CONNECTION_LIMIT, s->connection_limit, MHD_OPTION_END);
  if (srv->mhd == NULL) {
    tc_http_conns_free(srv->conns);
    free(srv);
    return NULL;
  }
  return srv;
}

struct MHD_Daemon *tc_http_server_daemon(struct tc_http_server *srv) {
  return srv->mhd;
}

void tc_http_server_stats(struct tc_http_server *srv,
                          struct tc_http_conns_stats *out) {
  if (srv->conns != NULL)
    tc_http_conns_stats(srv->conns, out);
  else
    *out = (struct tc_http_conns_stats){0};
}

void tc_http_server_stop(struct tc_http_server *srv) {
  if (srv == NULL)
    return;
  MHD_stop_daemon(srv->mhd); /* joins its threads, closes the socket */
  tc_http_conns_free(srv->conns);
  free(srv);
}

void tc_http_body_feed(struct tc_sbuf *body, int *too_large, const char *chunk,
                       size_t n, size_t max) {
  if (*too_large)
    return;
  if (body->len + n > max) {
    *too_large = 1;
    tc_sbuf_free(body);
    return;
  }
  tc_sbuf_append(body, chunk, n);
}
