/* util/host_pattern.h — the entries of --health.allowed-hosts and of the
 * dev stand-ins' --allowed-hosts: which names in a request's Host (and
 * Origin) header a listener accepts besides its own address and loopback
 * (docs/configuration.md; util/http_guard.h applies them).
 *
 * Grammar of one entry (whitespace around it is not part of it):
 *   name         a DNS name: dot-separated labels of 1-63 letters, digits,
 *                '-' or '_' (253 characters at most; one trailing dot is
 *                dropped); matches that name, any letter case
 *   .name        a leading dot: the name itself and every name under it
 *   IPv4         dotted quad, e.g. 10.1.2.3
 *   [IPv6]       in brackets (a bare IPv6 literal is accepted when no port
 *                follows); compared as addresses, so [::1] = [0::1]
 * each optionally followed by :PORT (1-65535): then only Host headers
 * with that port match (a Host without a port has port 80); without it,
 * any port matches. Refused: empty entries, wildcards ('*'), schemes,
 * paths, user info, all-digit names that are not IPv4 addresses.
 * Threads: reentrant; patterns are plain values. */
#ifndef TC_UTIL_HOST_PATTERN_H
#define TC_UTIL_HOST_PATTERN_H

#include <stdbool.h>
#include <stddef.h>

enum tc_host_pattern_kind {
  TC_HOST_NAME = 0,   /* exact name */
  TC_HOST_SUFFIX = 1, /* .name: the name and every name under it */
  TC_HOST_IPV4 = 2,
  TC_HOST_IPV6 = 3
};

struct tc_host_pattern {
  int kind;             /* enum tc_host_pattern_kind */
  char name[254];       /* lowercase, without the leading dot (names) */
  unsigned char ip[16]; /* network order (IPv4: first 4 bytes) */
  unsigned port;        /* 0 = any port */
};

/* Parse one entry. 0, or -1 with *why (static text saying what is wrong
 * and what a valid entry looks like). */
int tc_host_pattern_parse(const char *entry, struct tc_host_pattern *out,
                          const char **why);

/* Does the host part of a Host header (brackets already stripped, `len`
 * bytes, not NUL-terminated necessarily) with `port` match? */
bool tc_host_pattern_match(const struct tc_host_pattern *p, const char *host,
                           size_t len, unsigned port);

#endif /* TC_UTIL_HOST_PATTERN_H */
