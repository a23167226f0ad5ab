/* util/net_listen.h — bind a TCP listening socket from "host:port" for a
 * libmicrohttpd server (MHD_OPTION_LISTEN_SOCKET), and learn the real port.
 *
 * Accepted forms: "127.0.0.1:8080", "[::1]:8080", "localhost:0", ":8080"
 * (empty host = all interfaces: the IPv6 wildcard in dual-stack mode,
 * falling back to IPv4). Port 0 picks a free port; getsockname() tells which.
 * The advertised URL host is the configured host, else the bound IP, else
 * "localhost" for a wildcard.
 * Threads: reentrant. Errors: -1 and *err (malloc()ed, one line naming the
 * address and the setting to fix). */
#ifndef TC_UTIL_NET_LISTEN_H
#define TC_UTIL_NET_LISTEN_H

/* Names used in error lines, e.g. {"health", "--health.listen-addr",
 * "HEALTH_LISTEN_ADDR"}; env may be NULL. */
struct tc_net_listen_names {
  const char *label;
  const char *flag;
  const char *env;
};

struct tc_net_listener {
  int fd;         /* listening, non-blocking, close-on-exec */
  int family;     /* AF_INET or AF_INET6 (pass MHD_USE_IPv6 for the latter) */
  unsigned port;  /* the bound port */
  char *base_url; /* "http://host:port", malloc()ed; caller frees */
};

/* Returns 0 with *out filled (the caller owns fd and base_url), or -1. */
int tc_net_listen_tcp(const char *addr, const struct tc_net_listen_names *names,
                      struct tc_net_listener *out, char **err);

#endif /* TC_UTIL_NET_LISTEN_H */
