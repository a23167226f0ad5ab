/* util/net_listen.c — TCP listening sockets for our HTTP servers (see
 * net_listen.h). */
#include "util/net_listen.h"
#include "util/error.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tc/module.h" /* TC_PRINTF */

/* Split "host:port" / "[v6]:port" / ":port". *host may be "". */
static int split_host_port(const char *addr, char **host, char **port) {
  const char *colon;
  const char *h = addr;
  size_t hlen;
  if (addr[0] == '[') {
    const char *close = strchr(addr, ']');
    if (close == NULL || close[1] != ':')
      return -1;
    h = addr + 1;
    hlen = (size_t)(close - h);
    colon = close + 1;
  } else {
    colon = strrchr(addr, ':');
    if (colon == NULL)
      return -1;
    hlen = (size_t)(colon - addr);
    if (memchr(addr, ':', hlen) != NULL) /* bare IPv6 needs brackets */
      return -1;
  }
  const char *p = colon + 1;
  size_t plen = strlen(p);
  if (plen == 0 || plen > 5 || strspn(p, "0123456789") != plen ||
      atoi(p) > 65535)
    return -1;
  *host = strndup(h, hlen);
  *port = strdup(p);
  if (*host == NULL || *port == NULL) {
    free(*host);
    free(*port);
    return -1;
  }
  return 0;
}

static int listen_on(const struct sockaddr *sa, socklen_t len, int v6only) {
  int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return -1;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (sa->sa_family == AF_INET6)
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
  if (bind(fd, sa, len) != 0 || listen(fd, 64) != 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

static int is_wildcard_host(const char *h) {
  return h[0] == '\0' || strcmp(h, "0.0.0.0") == 0 || strcmp(h, "::") == 0;
}

int tc_net_listen_tcp(const char *addr, const struct tc_net_listen_names *names,
                      struct tc_net_listener *out, char **err) {
  const char *label = names->label, *flag = names->flag;
  out->fd = -1;
  out->family = AF_UNSPEC;
  out->port = 0;
  out->base_url = NULL;
  char *host = NULL, *port = NULL;
  if (split_host_port(addr, &host, &port) != 0)
    return tc_set_error(
        err,
        "%s listen address \"%s\" is not host:port (for example "
        "127.0.0.1:8080, [::1]:8080 or :8080; port 0 picks a free "
        "port); fix %s%s%s",
        label, addr, flag, names->env ? " / " : "",
        names->env ? names->env : "");
  int fd = -1, e = 0;
  if (host[0] == '\0') {
    struct sockaddr_in6 any6 = {.sin6_family = AF_INET6,
                                .sin6_addr = IN6ADDR_ANY_INIT,
                                .sin6_port = htons((uint16_t)atoi(port))};
    fd = listen_on((const struct sockaddr *)&any6, sizeof(any6), 0);
    if (fd < 0) {
      struct sockaddr_in any4 = {.sin_family = AF_INET,
                                 .sin_addr.s_addr = htonl(INADDR_ANY),
                                 .sin_port = htons((uint16_t)atoi(port))};
      fd = listen_on((const struct sockaddr *)&any4, sizeof(any4), 0);
    }
    e = errno;
  } else {
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(host, port, &hints, &res);
    if (gai != 0) {
      tc_set_error(
          err,
          "%s listen address %s: cannot resolve host \"%s\": %s (use an "
          "IP address or a resolvable name)",
          label, addr, host, gai_strerror(gai));
      free(host);
      free(port);
      return -1;
    }
    for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
      fd = listen_on(ai->ai_addr, ai->ai_addrlen, 1);
      if (fd < 0)
        e = errno;
    }
    freeaddrinfo(res);
  }
  if (fd < 0) {
    tc_set_error(
        err,
        "listen on %s address %s: %s (choose a free port with %s, or port 0 "
        "for any free port)",
        label, addr, strerror(e), flag);
    free(host);
    free(port);
    return -1;
  }

  struct sockaddr_storage ss;
  socklen_t sl = sizeof(ss);
  char ip[INET6_ADDRSTRLEN] = "";
  unsigned bound_port = 0;
  int bound_any = 1;
  memset(&ss, 0, sizeof(ss));
  getsockname(fd, (struct sockaddr *)&ss, &sl);
  if (ss.ss_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
    inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
    bound_port = ntohs(in->sin_port);
    bound_any = in->sin_addr.s_addr == htonl(INADDR_ANY);
  } else if (ss.ss_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&ss;
    inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
    bound_port = ntohs(in6->sin6_port);
    bound_any = IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr);
  }
  /* The configured host, otherwise the bound IP, otherwise localhost. */
  const char *url_host = !is_wildcard_host(host) ? host
                         : !bound_any            ? ip
                                                 : "localhost";
  int bracket = strchr(url_host, ':') != NULL;
  int rc = asprintf(&out->base_url, "http://%s%s%s:%u", bracket ? "[" : "",
                    url_host, bracket ? "]" : "", bound_port);
  free(host);
  free(port);
  if (rc < 0) {
    out->base_url = NULL;
    close(fd);
    return tc_set_error(err, "start %s listener on %s: out of memory", label,
                        addr);
  }
  out->fd = fd;
  out->family = ss.ss_family;
  out->port = bound_port;
  return 0;
}
