/* util/host_pattern.c — parse and match --health.allowed-hosts entries
 * (see host_pattern.h). */
#include "util/host_pattern.h"

#include <arpa/inet.h>
#include <string.h>

#define HP_NAME_MAX 253u
#define HP_LABEL_MAX 63u

static char lower(char c) {
  return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool ieq(const char *a, const char *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (lower(a[i]) != lower(b[i]))
      return false;
  return true;
}

static bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

/* "1".."65535" (all of s). */
static int parse_port(const char *s, unsigned *out) {
  unsigned long v = 0;
  if (*s == '\0' || strlen(s) > 5)
    return -1;
  for (const char *p = s; *p != '\0'; p++) {
    if (!is_digit(*p))
      return -1;
    v = v * 10 + (unsigned long)(*p - '0');
  }
  if (v < 1 || v > 65535)
    return -1;
  *out = (unsigned)v;
  return 0;
}

/* A DNS name of n bytes into out (lowercase); -1 with *why. */
static int parse_name(const char *s, size_t n, bool suffix, char *out,
                      const char **why) {
  if (n > 0 && s[n - 1] == '.')
    n--; /* the root label of a fully qualified name */
  if (n == 0) {
    *why = "empty host name (write a name such as ui.example.com, or "
           ".example.com for a domain and every name under it)";
    return -1;
  }
  if (n > HP_NAME_MAX) {
    *why = "host name longer than 253 characters";
    return -1;
  }
  size_t label = 0;
  bool all_digits = true;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (c == '.') {
      if (label == 0) {
        *why = "empty label in the host name (two dots in a row, or a dot "
               "at the start of a name that is not a .domain suffix)";
        return -1;
      }
      label = 0;
      continue;
    }
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) ||
              c == '-' || c == '_';
    if (!ok) {
      *why = "a host name holds only letters, digits, '-', '_' and dots";
      return -1;
    }
    if (!is_digit(c))
      all_digits = false;
    if (++label > HP_LABEL_MAX) {
      *why = "a label of the host name is longer than 63 characters";
      return -1;
    }
  }
  if (label == 0) {
    *why = "empty label at the end of the host name";
    return -1;
  }
  if (all_digits && !suffix) {
    *why = "not a valid IPv4 address (write four numbers 0-255 separated "
           "by dots)";
    return -1;
  }
  for (size_t i = 0; i < n; i++)
    out[i] = lower(s[i]);
  out[n] = '\0';
  return 0;
}

int tc_host_pattern_parse(const char *entry, struct tc_host_pattern *out,
                          const char **why) {
  memset(out, 0, sizeof(*out));
  size_t n = entry != NULL ? strlen(entry) : 0;
  if (n == 0) {
    *why = "empty entry (remove it, or write a host name)";
    return -1;
  }
  if (strstr(entry, "://") != NULL) {
    *why = "write the host name only, without a scheme (e.g. ui.example.com, "
           "not https://ui.example.com)";
    return -1;
  }
  if (strchr(entry, '*') != NULL) {
    *why = "wildcards are not supported: write .example.com to allow "
           "example.com and every name under it";
    return -1;
  }
  if (strpbrk(entry, "/@?#, \t\r\n") != NULL) {
    *why = "not a host: write a host name, an IP address or [IPv6 address], "
           "optionally with :port (no path, user info or list separator)";
    return -1;
  }
  const char *host = entry;
  size_t hn = n;
  const char *port = NULL;
  if (entry[0] == '[') {
    const char *close = strchr(entry, ']');
    if (close == NULL || (close[1] != '\0' && close[1] != ':')) {
      *why = "an IPv6 address is written in brackets, e.g. [fd00::1] or "
             "[fd00::1]:8080";
      return -1;
    }
    char buf[64];
    size_t an = (size_t)(close - entry - 1);
    if (an == 0 || an >= sizeof(buf)) {
      *why = "not a valid IPv6 address inside the brackets";
      return -1;
    }
    memcpy(buf, entry + 1, an);
    buf[an] = '\0';
    if (inet_pton(AF_INET6, buf, out->ip) != 1) {
      *why = "not a valid IPv6 address inside the brackets";
      return -1;
    }
    out->kind = TC_HOST_IPV6;
    if (close[1] == ':' && parse_port(close + 2, &out->port) != 0) {
      *why = "the port after the address must be a number from 1 to 65535";
      return -1;
    }
    return 0;
  }
  const char *colon = strchr(entry, ':');
  if (colon != NULL && strchr(colon + 1, ':') != NULL) {
    if (inet_pton(AF_INET6, entry, out->ip) != 1) {
      *why = "not a valid IPv6 address (write it in brackets, with a port "
             "after them if needed: [fd00::1]:8080)";
      return -1;
    }
    out->kind = TC_HOST_IPV6;
    return 0;
  }
  if (colon != NULL) {
    hn = (size_t)(colon - entry);
    port = colon + 1;
    if (parse_port(port, &out->port) != 0) {
      *why = "the port after the host must be a number from 1 to 65535";
      return -1;
    }
  }
  bool suffix = host[0] == '.';
  if (suffix) {
    host++;
    hn--;
  }
  char buf[HP_NAME_MAX + 2];
  if (!suffix && hn < 16) {
    memcpy(buf, host, hn);
    buf[hn] = '\0';
    if (inet_pton(AF_INET, buf, out->ip) == 1) {
      out->kind = TC_HOST_IPV4;
      return 0;
    }
  }
  if (parse_name(host, hn, suffix, out->name, why) != 0)
    return -1;
  out->kind = suffix ? TC_HOST_SUFFIX : TC_HOST_NAME;
  return 0;
}

bool tc_host_pattern_match(const struct tc_host_pattern *p, const char *host,
                           size_t len, unsigned port) {
  if (p->port != 0 && p->port != port)
    return false;
  if (len > 0 && host[len - 1] == '.')
    len--;
  if (len == 0)
    return false;
  if (p->kind == TC_HOST_IPV4 || p->kind == TC_HOST_IPV6) {
    char buf[64];
    unsigned char ip[16];
    if (len >= sizeof(buf))
      return false;
    memcpy(buf, host, len);
    buf[len] = '\0';
    int af = p->kind == TC_HOST_IPV4 ? AF_INET : AF_INET6;
    return inet_pton(af, buf, ip) == 1 &&
           memcmp(ip, p->ip, af == AF_INET ? 4 : 16) == 0;
  }
  size_t nl = strlen(p->name);
  if (len == nl && ieq(host, p->name, nl))
    return true;
  return p->kind == TC_HOST_SUFFIX && len > nl + 1 &&
         host[len - nl - 1] == '.' && ieq(host + len - nl, p->name, nl);
}
