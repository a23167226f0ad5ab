/* controlplane/duration.c — see duration.h. */
#include "controlplane/duration.h"

#include <string.h>

struct unit {
  const char *suffix;
  int64_t ns;
};

static const struct unit units[] = {
    {"ns", 1},
    {"us", 1000},
    {"ms", 1000000},
    {"s", 1000000000},
    {"m", 60LL * 1000000000},
    {"h", 3600LL * 1000000000},
};

int tc_cp_parse_response_timeout(const char *s, int64_t *ns) {
  if (s == NULL || ns == NULL)
    return 0;
  const char *p = s;
  uint64_t n = 0;
  while (*p >= '0' && *p <= '9') {
    unsigned d = (unsigned)(*p - '0');
    if (n > ((uint64_t)INT64_MAX - d) / 10)
      return 0; /* the digits alone overflow */
    n = n * 10 + d;
    p++;
  }
  if (p == s)
    return 0; /* no digits (also rejects signs and blanks) */
  for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
    if (strcmp(p, units[i].suffix) != 0)
      continue;
    if (n > (uint64_t)(INT64_MAX / units[i].ns))
      return 0;
    *ns = (int64_t)n * units[i].ns;
    return 1;
  }
  return 0;
}
