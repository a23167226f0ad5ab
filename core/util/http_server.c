/* util/http_server.c — see http_server.h. */
#include "util/http_server.h"

#include <stdarg.h>
#include <stdint.h>
#include <sys/socket.h>

#include "util/log.h"

__attribute__((format(printf, 2, 0))) static void
hs_log(void *cls, const char *fmt, va_list ap) {
  tc_logv(TC_LOG_DEBUG, cls, fmt, ap);
}

static void hs_nothing_to_release(void *cls, struct MHD_Connection *c,
                                  void **req_cls,
                                  enum MHD_RequestTerminationCode toe) {
  (void)cls;
  (void)c;
  (void)req_cls;
  (void)toe;
}

struct MHD_Daemon *tc_http_server_start(const struct tc_http_server_spec *s) {
  unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD |
                       MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
                       MHD_USE_ERROR_LOG;
  if (s->listen_fd < 0) /* the owner runs it; implies MHD_USE_ITC */
    flags = MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ERROR_LOG;
  if (s->family == AF_INET6)
    flags |= MHD_USE_IPv6;
  /* The listen socket goes in an option array so that it can be left out
   * (MHD refuses MHD_OPTION_LISTEN_SOCKET with NO_LISTEN_SOCKET). */
  struct MHD_OptionItem listen_opt[] = {
      {s->listen_fd >= 0 ? MHD_OPTION_LISTEN_SOCKET : MHD_OPTION_END,
       s->listen_fd, NULL},
      {MHD_OPTION_END, 0, NULL}};
  if (s->tls_cert_pem != NULL && s->tls_key_pem != NULL) {
    flags |= MHD_USE_TLS;
    return MHD_start_daemon(
        flags, 0, NULL, NULL, s->handler, s->handler_cls,
        MHD_OPTION_EXTERNAL_LOGGER, hs_log, (void *)(uintptr_t)s->component,
        MHD_OPTION_ARRAY, listen_opt, MHD_OPTION_NOTIFY_COMPLETED,
        s->completed ? s->completed : hs_nothing_to_release, s->completed_cls,
        MHD_OPTION_CONNECTION_TIMEOUT, s->connection_timeout_s,
        MHD_OPTION_CONNECTION_LIMIT, s->connection_limit,
        MHD_OPTION_HTTPS_MEM_CERT, s->tls_cert_pem, MHD_OPTION_HTTPS_MEM_KEY,
        s->tls_key_pem,
        s->tls_trust_pem != NULL ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END,
        s->tls_trust_pem, MHD_OPTION_END);
  }
  /* The logger must come first, or MHD warns through its default one. The
   * component string is a static literal, so it may be MHD's cls. */
  return MHD_start_daemon(
      flags, 0, NULL, NULL, s->handler, s->handler_cls,
      MHD_OPTION_EXTERNAL_LOGGER, hs_log, (void *)(uintptr_t)s->component,
      MHD_OPTION_ARRAY, listen_opt, MHD_OPTION_NOTIFY_COMPLETED,
      s->completed ? s->completed : hs_nothing_to_release, s->completed_cls,
      MHD_OPTION_CONNECTION_TIMEOUT, s->connection_timeout_s,
      MHD_OPTION_CONNECTION_LIMIT, s->connection_limit, MHD_OPTION_END);
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
