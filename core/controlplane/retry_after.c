/* controlplane/retry_after.c — see retry_after.h. */
#include "controlplane/retry_after.h"

#include "controlplane/civil_time.h"

#include <stddef.h>
#include <string.h>

static const char *const wdays[] = {"Mon", "Tue", "Wed", "Thu",
                                    "Fri", "Sat", "Sun"};
static const char *const wdays_long[] = {"Monday",   "Tuesday", "Wednesday",
                                         "Thursday", "Friday",  "Saturday",
                                         "Sunday"};
static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* Consume one of `names` (exact case, as the RFCs spell them). */
static int match_name(const char **p, const char *const *names, size_t n) {
  for (size_t i = 0; i < n; i++) {
    size_t l = strlen(names[i]);
    if (strncmp(*p, names[i], l) == 0) {
      *p += l;
      return (int)i;
    }
  }
  return -1;
}

static int match_char(const char **p, char c) {
  if (**p != c)
    return 0;
  (*p)++;
  return 1;
}

/* Exactly `width` digits. */
static int match_digits(const char **p, int width, int *out) {
  int v = 0;
  for (int i = 0; i < width; i++) {
    char c = (*p)[i];
    if (c < '0' || c > '9')
      return 0;
    v = v * 10 + (c - '0');
  }
  *p += width;
  *out = v;
  return 1;
}

static int match_time(const char **p, int *h, int *m, int *s) {
  return match_digits(p, 2, h) && match_char(p, ':') && match_digits(p, 2, m) &&
         match_char(p, ':') && match_digits(p, 2, s);
}

static int finish(int y, int mon, int d, int h, int mi, int s,
                  int64_t *unix_s) {
  if (mon < 1 || d < 1 || d > tc_cp_days_in_month(y, mon) || h > 23 ||
      mi > 59 || s > 60)
    return 0;
  if (s == 60)
    s = 59; /* a leap second: close enough for a retry hint */
  *unix_s = tc_cp_days_from_civil(y, mon, d) * 86400 + h * 3600 + mi * 60 + s;
  return 1;
}

int tc_cp_parse_http_date(const char *s, int64_t *unix_s) {
  if (s == NULL || unix_s == NULL)
    return 0;
  int y, mon, d, h, mi, sec;
  const char *p = s;

  /* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
  if (match_name(&p, wdays, 7) >= 0 && match_char(&p, ',')) {
    if (match_char(&p, ' ') && match_digits(&p, 2, &d) && match_char(&p, ' ') &&
        (mon = match_name(&p, months, 12) + 1) > 0 && match_char(&p, ' ') &&
        match_digits(&p, 4, &y) && match_char(&p, ' ') &&
        match_time(&p, &h, &mi, &sec) && strcmp(p, " GMT") == 0)
      return finish(y, mon, d, h, mi, sec, unix_s);
    return 0;
  }

  /* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" */
  p = s;
  if (match_name(&p, wdays_long, 7) >= 0) {
    if (match_char(&p, ',') && match_char(&p, ' ') && match_digits(&p, 2, &d) &&
        match_char(&p, '-') && (mon = match_name(&p, months, 12) + 1) > 0 &&
        match_char(&p, '-') && match_digits(&p, 2, &y) && match_char(&p, ' ') &&
        match_time(&p, &h, &mi, &sec) && strcmp(p, " GMT") == 0)
      /* Two-digit years: 69..99 are 19xx, 00..68 are 20xx (as Go). */
      return finish(y >= 69 ? 1900 + y : 2000 + y, mon, d, h, mi, sec, unix_s);
    return 0;
  }

  /* asctime: "Sun Nov  6 08:49:37 1994" (day space-padded or 2 digits) */
  p = s;
  if (match_name(&p, wdays, 7) >= 0 && match_char(&p, ' ') &&
      (mon = match_name(&p, months, 12) + 1) > 0 && match_char(&p, ' ')) {
    if (*p == ' ') {
      p++;
      if (!match_digits(&p, 1, &d))
        return 0;
    } else if (!match_digits(&p, 2, &d)) {
      return 0;
    }
    if (match_char(&p, ' ') && match_time(&p, &h, &mi, &sec) &&
        match_char(&p, ' ') && match_digits(&p, 4, &y) && *p == '\0')
      return finish(y, mon, d, h, mi, sec, unix_s);
  }
  return 0;
}

static int is_blank(char c) {
  return c == ' ' || c == '\t';
}

int tc_cp_parse_retry_after(const char *value, int64_t now_unix_ms,
                            int64_t *wait_ms) {
  char buf[64];
  if (value == NULL || wait_ms == NULL)
    return 0;
  while (is_blank(*value))
    value++;
  size_t n = strlen(value);
  while (n > 0 && is_blank(value[n - 1]))
    n--;
  if (n == 0)
    return 0;

  if (value[0] >= '0' && value[0] <= '9') {
    int64_t secs = 0;
    for (size_t i = 0; i < n; i++) {
      if (value[i] < '0' || value[i] > '9')
        return 0;
      if (secs <= TC_RETRY_AFTER_CAP_MS / 1000) /* saturate: no overflow */
        secs = secs * 10 + (value[i] - '0');
    }
    int64_t ms = secs * 1000;
    *wait_ms = ms > TC_RETRY_AFTER_CAP_MS ? TC_RETRY_AFTER_CAP_MS : ms;
    return 1;
  }

  if (n >= sizeof(buf))
    return 0; /* no date form is this long */
  memcpy(buf, value, n);
  buf[n] = '\0';
  int64_t at;
  if (!tc_cp_parse_http_date(buf, &at))
    return 0;
  if (at > INT64_MAX / 1000)
    return 0;
  int64_t delta = at * 1000 - now_unix_ms;
  if (delta <= 0)
    return 0;
  *wait_ms = delta > TC_RETRY_AFTER_CAP_MS ? TC_RETRY_AFTER_CAP_MS : delta;
  return 1;
}

int64_t tc_cp_retry_wait_ms(int64_t backoff_ms, int have_retry_after,
                            int64_t retry_after_ms) {
  if (have_retry_after && retry_after_ms > backoff_ms)
    return retry_after_ms;
  return backoff_ms;
}
