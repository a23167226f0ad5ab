/* util/http_server.h — what every libmicrohttpd listener of the core shares:
 * the daemon start-up (our logger, a listen socket we bound ourselves, or
 * none at all for an in-process driver; a thread per connection, or a few
 * polling threads), optional slow-client limits (util/http_limits.h) and
 * collecting a request body up to a size limit.
 * Threads: start/stop on the caller's thread; the callbacks run on MHD's
 * (on the owner's, for a daemon without a listen socket). */
#ifndef TC_UTIL_HTTP_SERVER_H
#define TC_UTIL_HTTP_SERVER_H

#include <microhttpd.h>
#include <stddef.h>

#include "util/http_limits.h"
#include "util/sbuf.h"

struct tc_http_server_spec {
  const char *component; /* log component for libmicrohttpd's own messages */
  /* Bound and listening; MHD owns it on success. -1: no listen socket and
   * no threads: connections come from MHD_add_connection() and are served
   * on the owner's thread by MHD_run_wait() (in-process drivers). */
  int listen_fd;
  int family; /* AF_INET, AF_INET6 or AF_UNIX */
  MHD_AccessHandlerCallback handler;
  void *handler_cls;
  MHD_RequestCompletedCallback completed; /* NULL: nothing to release */
  void *completed_cls;
  unsigned int connection_timeout_s; /* inactivity, restarts on each byte */
  unsigned int connection_limit;
  /* 0: a thread per connection (handlers may block, e.g. long polls).
   * N > 0: N polling threads (epoll) share every connection, so open
   * connections cost no thread; handlers must never block. */
  unsigned int polling_threads;
  /* Slow-client limits (copied); NULL = none. Not for listen_fd -1. With
   * limits, limits->max_connections is the cap (evicting rather than
   * refusing) and connection_limit only bounds libmicrohttpd's own count,
   * so it must leave room above it for connections being cut. */
  const struct tc_http_limits *limits;
  /* Optional HTTPS (GnuTLS inside libmicrohttpd): PEM text, borrowed until
   * the daemon stops. tls_trust_pem additionally asks clients for a
   * certificate issued by it; libmicrohttpd only requests it, so the caller
   * checks the verification per request (GnuTLS session info). */
  const char *tls_cert_pem;
  const char *tls_key_pem;
  const char *tls_trust_pem;
};

struct tc_http_server;

/* Start the daemon; NULL when libmicrohttpd refuses or memory runs out
 * (the socket is then still the caller's to close). */
struct tc_http_server *
tc_http_server_start(const struct tc_http_server_spec *s);
/* The daemon, for MHD_add_connection / MHD_run_wait (borrowed). */
struct MHD_Daemon *tc_http_server_daemon(struct tc_http_server *srv);
/* Counters of the slow-client limits; all zero without limits. */
void tc_http_server_stats(struct tc_http_server *srv,
                          struct tc_http_conns_stats *out);
/* Stop serving (waits for running handlers, closes the listen socket) and
 * free. NULL is a no-op. */
void tc_http_server_stop(struct tc_http_server *srv);

/* Append one upload chunk to *body unless the total passes `max`; from then
 * on the body is released and *too_large set, and later chunks are dropped
 * (read the upload to its end and answer 413, so the client sees it). */
void tc_http_body_feed(struct tc_sbuf *body, int *too_large, const char *chunk,
                       size_t n, size_t max);

#endif /* TC_UTIL_HTTP_SERVER_H */
