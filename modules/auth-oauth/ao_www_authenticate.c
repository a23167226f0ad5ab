/* ao_www_authenticate.c — the resource_metadata parameter of the Bearer
 * challenge in a WWW-Authenticate header value (RFC 9728 §5.1). Challenges
 * and parameters are split on commas and spaces outside quotes; the
 * parameter name is case-insensitive; the value is quoted or a token and
 * must be an absolute http(s) URL. Pure, any thread; fuzzed by
 * tests/fuzz/fuzz_www_authenticate.c. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ao_internal.h"

/* resource_metadata of the Bearer challenge in a WWW-Authenticate value
 * (quoted or token), or NULL. */
char *ao_resource_metadata(const char *v) {
  const char *p = v;
  int in_bearer = 0;
  while (p != NULL && *p != '\0') {
    while (*p == ' ' || *p == ',' || *p == '\t')
      p++;
    /* a token: scheme name (followed by space or end) or name=value */
    size_t n = strcspn(p, "= ,\t");
    if (p[n] != '=') {
      in_bearer = n == 6 && strncasecmp(p, "Bearer", 6) == 0;
      p += n;
      continue;
    }
    int want =
        in_bearer && n == 17 && strncasecmp(p, "resource_metadata", 17) == 0;
    p += n + 1;
    char *val = NULL;
    if (*p == '"') {
      p++;
      const char *q = p;
      while (*q != '\0' && *q != '"') {
        if (*q == '\\' && q[1] != '\0')
          q++;
        q++;
      }
      val = strndup(p, (size_t)(q - p));
      p = *q == '"' ? q + 1 : q;
    } else {
      size_t m = strcspn(p, " ,\t");
      val = strndup(p, m);
      p += m;
    }
    if (want && val != NULL && ao_is_http_url(val))
      return val;
    free(val);
  }
  return NULL;
}
