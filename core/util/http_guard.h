/* util/http_guard.h — the DNS-rebinding and same-origin guards every
 * libmicrohttpd listener of the core applies to requests: the ops listener
 * (ops/health.c) and the dev stand-ins (`dev control-plane`, `dev proxy`,
 * `dev mcp-stub`).
 *
 * A listener's guard knows its own address (the base URL it advertises),
 * whether it is a unix socket, and the extra names an operator allowed
 * (--health.allowed-hosts, --allowed-hosts; grammar in util/host_pattern.h).
 *
 * Rules:
 *   Host names this listener when it is its own host:port, the address the
 *   connection arrived on (a wildcard bind reached by the machine's IP),
 *   localhost / 127.0.0.1 / [::1] with the listener's port (any loopback
 *   name on a unix socket), or it matches an allowed entry. A Host without
 *   a port has port 80.
 *   An Origin ("scheme://host[:port]") names this listener when its
 *   host[:port] does by the Host rule (the scheme's default port when
 *   none). "null" and anything else unparseable names nothing.
 *   Duplicates: a request with more than one Host or more than one Origin
 *   header is malformed (RFC 9112 §3.2) and refused.
 *   Sec-Fetch-Site is compared case-insensitively.
 *
 * Threads: a guard is read-only after init; the checks are reentrant and
 * run on libmicrohttpd's threads. */
#ifndef TC_UTIL_HTTP_GUARD_H
#define TC_UTIL_HTTP_GUARD_H

#include <microhttpd.h>
#include <stddef.h>

#include "util/host_pattern.h"

struct tc_http_guard {
  struct tc_host_pattern *allowed; /* owned; nallowed entries */
  size_t nallowed;
  int unix_socket;     /* any loopback name, no port check */
  char own_host[256];  /* from the base URL, brackets stripped */
  char own_port[8];    /* "" when unknown (then only allowed entries match) */
  const char *setting; /* the flag that adds names, for messages */
};

/* Set up *g for a listener advertised as `base_url` ("http://host:port" or
 * "https://..."; NULL or "http+unix://..." for a unix socket) with the
 * allowed entries (each
 * parsed with tc_host_pattern_parse; they may be NULL when n is 0).
 * `setting` (a static string such as "--allowed-hosts") names the flag in
 * errors and refusals. 0, or -1 with *err (malloc()ed: the entry and what is
 * wrong with it). */
int tc_http_guard_init(struct tc_http_guard *g, const char *base_url,
                       const char *const *allowed, size_t n,
                       const char *setting, char **err);
/* Release what init allocated; the struct may be initialised again. */
void tc_http_guard_clear(struct tc_http_guard *g);

/* 1 when the Host header value `host` names this listener (NULL: no). */
int tc_http_guard_host_ok(const struct tc_http_guard *g,
                          struct MHD_Connection *c, const char *host);
/* 1 when the Origin header value `origin` names this listener. */
int tc_http_guard_origin_ok(const struct tc_http_guard *g,
                            struct MHD_Connection *c, const char *origin);

/* 1 when `origin` is "http://<host>" or "https://<host>" (ASCII case
 * ignored): the same-origin rule of the ops listener. */
int tc_http_same_origin(const char *origin, const char *host);
/* 1 when the request says Sec-Fetch-Site: cross-site (any letter case). */
int tc_http_cross_site(struct MHD_Connection *c);
/* 1 when the request has more than one Host or more than one Origin. */
int tc_http_duplicate_host_or_origin(struct MHD_Connection *c);

/* The stand-ins' rule, applied to every route: */
enum tc_http_guard_verdict {
  TC_GUARD_PASS = 0,
  TC_GUARD_DUPLICATE,  /* 400: two Host or two Origin headers */
  TC_GUARD_HOST,       /* 403: Host names another site */
  TC_GUARD_ORIGIN,     /* 403: Origin present and naming another site */
  TC_GUARD_CROSS_SITE, /* 403: Sec-Fetch-Site: cross-site */
};
enum tc_http_guard_verdict tc_http_guard_check(const struct tc_http_guard *g,
                                               struct MHD_Connection *c);
/* HTTP status for a refusal (400 or 403). */
unsigned int tc_http_guard_status(enum tc_http_guard_verdict v);
/* One line saying what was refused and what to do (naming g->setting),
 * written into buf (truncated to len). Returns buf. */
const char *tc_http_guard_message(const struct tc_http_guard *g,
                                  enum tc_http_guard_verdict v, char *buf,
                                  size_t len);

#endif /* TC_UTIL_HTTP_GUARD_H */
