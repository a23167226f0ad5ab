/* util/http_guard.c — see http_guard.h. */
#include "util/http_guard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "util/error.h"

static int ascii_ieq(const char *a, size_t an, const char *b) {
  return strlen(b) == an && strncasecmp(a, b, an) == 0;
}

/* "1".."65535" of n bytes; 0 when empty or malformed. */
static unsigned port_number(const char *p, size_t n) {
  unsigned v = 0;
  if (n == 0 || n > 5)
    return 0;
  for (size_t i = 0; i < n; i++) {
    if (p[i] < '0' || p[i] > '9')
      return 0;
    v = v * 10 + (unsigned)(p[i] - '0');
  }
  return v <= 65535 ? v : 0;
}

/* Split an authority "host[:port]" / "[v6][:port]" of n bytes into the
 * host (brackets stripped) and its port (`dflt` when absent). 0, or -1
 * when malformed. */
static int split_authority(const char *v, size_t n, const char **h, size_t *hn,
                           unsigned dflt, unsigned *port) {
  const char *end = v + n, *port_at = NULL;
  if (n > 0 && v[0] == '[') {
    const char *close = memchr(v, ']', n);
    if (close == NULL || (close + 1 != end && close[1] != ':'))
      return -1;
    *h = v + 1;
    *hn = (size_t)(close - v - 1);
    port_at = close + 1 != end ? close + 2 : NULL;
  } else {
    const char *colon = memchr(v, ':', n);
    if (colon != NULL && memchr(colon + 1, ':', (size_t)(end - colon - 1)))
      return -1; /* a bare IPv6 literal is not a valid Host */
    *h = v;
    *hn = colon != NULL ? (size_t)(colon - v) : n;
    port_at = colon != NULL ? colon + 1 : NULL;
  }
  if (*hn == 0)
    return -1;
  *port = dflt;
  if (port_at != NULL) {
    *port = port_number(port_at, (size_t)(end - port_at));
    if (*port == 0)
      return -1;
  }
  return 0;
}

static int is_loopback_name(const char *h, size_t hn) {
  return ascii_ieq(h, hn, "localhost") || ascii_ieq(h, hn, "127.0.0.1") ||
         ascii_ieq(h, hn, "::1");
}

/* The connection's local address as text (a wildcard bind reached by the
 * machine's own IP). "" when unknown. */
static void local_address(struct MHD_Connection *c, char *out, size_t len) {
  out[0] = '\0';
  if (c == NULL)
    return;
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
  if (ci == NULL)
    return;
  struct sockaddr_storage ss;
  socklen_t sl = sizeof(ss);
  if (getsockname(ci->connect_fd, (struct sockaddr *)&ss, &sl) != 0)
    return;
  if (ss.ss_family == AF_INET) {
    inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, out,
              (socklen_t)len);
  } else if (ss.ss_family == AF_INET6) {
    const struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(a))
      inet_ntop(AF_INET, &a->s6_addr[12], out, (socklen_t)len);
    else
      inet_ntop(AF_INET6, a, out, (socklen_t)len);
  }
}

/* Does host h (hn bytes) with `port` name this listener? */
static int names_listener(const struct tc_http_guard *g,
                          struct MHD_Connection *c, const char *h, size_t hn,
                          unsigned port) {
  for (size_t i = 0; i < g->nallowed; i++)
    if (tc_host_pattern_match(&g->allowed[i], h, hn, port))
      return 1;
  if (g->unix_socket)
    return is_loopback_name(h, hn);
  unsigned own = port_number(g->own_port, strlen(g->own_port));
  if (own == 0 || port != own)
    return 0;
  if (is_loopback_name(h, hn) || ascii_ieq(h, hn, g->own_host))
    return 1;
  char local[INET6_ADDRSTRLEN];
  local_address(c, local, sizeof(local));
  return local[0] != '\0' && ascii_ieq(h, hn, local);
}

int tc_http_guard_host_ok(const struct tc_http_guard *g,
                          struct MHD_Connection *c, const char *host) {
  const char *h;
  size_t hn;
  unsigned port;
  if (host == NULL ||
      split_authority(host, strlen(host), &h, &hn, 80, &port) != 0)
    return 0;
  return names_listener(g, c, h, hn, port);
}

int tc_http_guard_origin_ok(const struct tc_http_guard *g,
                            struct MHD_Connection *c, const char *origin) {
  if (origin == NULL)
    return 0;
  unsigned dflt;
  size_t skip;
  if (strncasecmp(origin, "http://", 7) == 0) {
    skip = 7;
    dflt = 80;
  } else if (strncasecmp(origin, "https://", 8) == 0) {
    skip = 8;
    dflt = 443;
  } else {
    return 0; /* "null", other schemes */
  }
  const char *auth = origin + skip;
  size_t n = strlen(auth);
  if (n > 0 && auth[n - 1] == '/')
    n--; /* tolerate a trailing slash */
  if (memchr(auth, '/', n) != NULL || memchr(auth, '@', n) != NULL)
    return 0;
  const char *h;
  size_t hn;
  unsigned port;
  if (split_authority(auth, n, &h, &hn, dflt, &port) != 0)
    return 0;
  return names_listener(g, c, h, hn, port);
}

int tc_http_same_origin(const char *origin, const char *host) {
  if (origin == NULL || host == NULL)
    return 0;
  size_t skip = strncasecmp(origin, "http://", 7) == 0    ? 7
                : strncasecmp(origin, "https://", 8) == 0 ? 8
                                                          : 0;
  return skip != 0 && strcasecmp(origin + skip, host) == 0;
}

int tc_http_cross_site(struct MHD_Connection *c) {
  const char *site =
      MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Sec-Fetch-Site");
  if (site == NULL)
    return 0;
  site += strspn(site, " \t");
  size_t n = strcspn(site, " \t");
  return ascii_ieq(site, n, "cross-site");
}

struct header_count {
  unsigned host, origin;
};

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind,
                                    const char *key, const char *value) {
  (void)kind;
  (void)value;
  struct header_count *n = cls;
  if (strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0)
    n->host++;
  else if (strcasecmp(key, MHD_HTTP_HEADER_ORIGIN) == 0)
    n->origin++;
  return MHD_YES;
}

int tc_http_duplicate_host_or_origin(struct MHD_Connection *c) {
  struct header_count n = {0, 0};
  MHD_get_connection_values(c, MHD_HEADER_KIND, count_header, &n);
  return n.host > 1 || n.origin > 1;
}

enum tc_http_guard_verdict tc_http_guard_check(const struct tc_http_guard *g,
                                               struct MHD_Connection *c) {
  if (tc_http_duplicate_host_or_origin(c))
    return TC_GUARD_DUPLICATE;
  const char *host =
      MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
  if (!tc_http_guard_host_ok(g, c, host))
    return TC_GUARD_HOST;
  const char *origin =
      MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ORIGIN);
  if (origin != NULL && !tc_http_guard_origin_ok(g, c, origin))
    return TC_GUARD_ORIGIN;
  if (tc_http_cross_site(c))
    return TC_GUARD_CROSS_SITE;
  return TC_GUARD_PASS;
}

unsigned int tc_http_guard_status(enum tc_http_guard_verdict v) {
  return v == TC_GUARD_DUPLICATE ? MHD_HTTP_BAD_REQUEST : MHD_HTTP_FORBIDDEN;
}

const char *tc_http_guard_message(const struct tc_http_guard *g,
                                  enum tc_http_guard_verdict v, char *buf,
                                  size_t len) {
  const char *setting = g->setting != NULL ? g->setting : "--allowed-hosts";
  switch (v) {
  case TC_GUARD_PASS:
    snprintf(buf, len, "allowed");
    break;
  case TC_GUARD_DUPLICATE:
    snprintf(buf, len,
             "bad request: more than one Host or Origin header; send each "
             "once");
    break;
  case TC_GUARD_HOST:
    snprintf(buf, len,
             "forbidden: the Host header does not name this listener (use "
             "its address, localhost or 127.0.0.1, or add the name to %s)",
             setting);
    break;
  case TC_GUARD_ORIGIN:
    snprintf(buf, len,
             "forbidden: the Origin header names another site (a browser "
             "page may call this listener only from its own address; add the "
             "name to %s to allow it)",
             setting);
    break;
  case TC_GUARD_CROSS_SITE:
    snprintf(buf, len,
             "forbidden: cross-site browser request (Sec-Fetch-Site: "
             "cross-site)");
    break;
  }
  return buf;
}

int tc_http_guard_init(struct tc_http_guard *g, const char *base_url,
                       const char *const *allowed, size_t n,
                       const char *setting, char **err) {
  memset(g, 0, sizeof(*g));
  g->setting = setting;
  if (base_url == NULL || strncmp(base_url, "http+unix://", 12) == 0) {
    g->unix_socket = 1;
  } else {
    const char *auth = strstr(base_url, "://");
    auth = auth != NULL ? auth + 3 : base_url;
    size_t an = strcspn(auth, "/");
    const char *h;
    size_t hn;
    unsigned port;
    unsigned dflt = strncmp(base_url, "https://", 8) == 0 ? 443 : 80;
    if (split_authority(auth, an, &h, &hn, dflt, &port) == 0 &&
        hn < sizeof(g->own_host)) {
      memcpy(g->own_host, h, hn);
      g->own_host[hn] = '\0';
      snprintf(g->own_port, sizeof(g->own_port), "%u", port);
    }
  }
  if (n == 0)
    return 0;
  g->allowed = calloc(n, sizeof(*g->allowed));
  if (g->allowed == NULL)
    return tc_set_error(err, "%s: out of memory", setting);
  for (size_t i = 0; i < n; i++) {
    const char *why = NULL;
    if (tc_host_pattern_parse(allowed[i], &g->allowed[i], &why) != 0) {
      tc_http_guard_clear(g);
      return tc_set_error(err, "%s entry \"%s\": %s", setting, allowed[i], why);
    }
  }
  g->nallowed = n;
  return 0;
}

void tc_http_guard_clear(struct tc_http_guard *g) {
  free(g->allowed);
  g->allowed = NULL;
  g->nallowed = 0;
}
