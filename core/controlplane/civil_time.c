/* controlplane/civil_time.c — see civil_time.h. */
#include "controlplane/civil_time.h"

#include <stddef.h>

int64_t tc_cp_days_from_civil(int64_t y, int m, int d) {
  /* Howard Hinnant's days_from_civil. */
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int tc_cp_days_in_month(int64_t y, int m) {
  static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12)
    return 0;
  int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : dim[m - 1];
}

static int digits(const char **p, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    char c = (*p)[i];
    if (c < '0' || c > '9')
      return 0;
    v = v * 10 + (c - '0');
  }
  *p += n;
  *out = v;
  return 1;
}

static int lit(const char **p, char c) {
  if (**p != c)
    return 0;
  (*p)++;
  return 1;
}

int tc_cp_parse_rfc3339(const char *s, int64_t *unix_ms) {
  int y, mo, d, h, mi, sec, ms = 0;
  if (s == NULL || unix_ms == NULL)
    return 0;
  const char *p = s;
  if (!(digits(&p, 4, &y) && lit(&p, '-') && digits(&p, 2, &mo) &&
        lit(&p, '-') && digits(&p, 2, &d) && lit(&p, 'T') &&
        digits(&p, 2, &h) && lit(&p, ':') && digits(&p, 2, &mi) &&
        lit(&p, ':') && digits(&p, 2, &sec)))
    return 0;
  if (*p == '.') {
    p++;
    int n = 0;
    while (*p >= '0' && *p <= '9') {
      if (n < 3)
        ms = ms * 10 + (*p - '0');
      n++;
      p++;
    }
    if (n == 0 || n > 9)
      return 0;
    for (; n < 3; n++)
      ms *= 10;
  }
  int offset_min = 0;
  if (*p == 'Z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    int sign = *p == '-' ? -1 : 1, oh, om;
    p++;
    if (!(digits(&p, 2, &oh) && lit(&p, ':') && digits(&p, 2, &om)) ||
        oh > 23 || om > 59)
      return 0;
    offset_min = sign * (oh * 60 + om);
  } else {
    return 0;
  }
  if (*p != '\0' || mo < 1 || mo > 12 || d < 1 ||
      d > tc_cp_days_in_month(y, mo) || h > 23 || mi > 59 || sec > 59)
    return 0;
  int64_t t = tc_cp_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 +
              sec - (int64_t)offset_min * 60;
  *unix_ms = t * 1000 + ms;
  return 1;
}
