/* config/cfg_text.c — string helpers and the one-line error format of the
 * config subsystem. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"

char *tc_cfg_strdup(const char *s) {
  if (s == NULL)
    return NULL;
  return tc_cfg_strndup(s, strlen(s));
}

char *tc_cfg_strndup(const char *s, size_t n) {
  char *d = malloc(n + 1);
  if (d == NULL)
    return NULL;
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

char *tc_cfg_trimdup(const char *s) {
  if (s == NULL)
    return NULL;
  while (*s != '\0' && isspace((unsigned char)*s))
    s++;
  size_t n = strlen(s);
  while (n > 0 && isspace((unsigned char)s[n - 1]))
    n--;
  return tc_cfg_strndup(s, n);
}

static char *vformat(const char *fmt, va_list ap) TC_PRINTF(1, 0);
static char *vformat(const char *fmt, va_list ap) {
  va_list cp;
  va_copy(cp, ap);
  int n = vsnprintf(NULL, 0, fmt, cp);
  va_end(cp);
  if (n < 0)
    return NULL;
  char *out = malloc((size_t)n + 1);
  if (out == NULL)
    return NULL;
  vsnprintf(out, (size_t)n + 1, fmt, ap);
  return out;
}

char *tc_cfg_printf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = vformat(fmt, ap);
  va_end(ap);
  return s;
}

int tc_cfg_fail(char **err, const char *fmt, ...) {
  if (err == NULL || *err != NULL)
    return -1;
  va_list ap;
  va_start(ap, fmt);
  *err = vformat(fmt, ap);
  va_end(ap);
  if (*err == NULL)
    *err = tc_cfg_strdup("out of memory while reading the configuration");
  return -1;
}

/* Quote a value for an error line: control characters and quotes escaped,
 * long values shortened. */
static char *quote_value(const char *v) {
  const size_t limit = 200;
  size_t n = strlen(v);
  char *out = malloc((n > limit ? limit : n) * 4 + 8);
  if (out == NULL)
    return NULL;
  size_t o = 0;
  out[o++] = '"';
  for (size_t i = 0; i < n && i < limit; i++) {
    unsigned char c = (unsigned char)v[i];
    if (c < 0x20 || c == 0x7f) {
      o += (size_t)sprintf(out + o, "\\x%02x", c);
    } else if (c == '"' || c == '\\') {
      out[o++] = '\\';
      out[o++] = (char)c;
    } else {
      out[o++] = (char)c;
    }
  }
  if (n > limit) {
    memcpy(out + o, "...", 3);
    o += 3;
  }
  out[o++] = '"';
  out[o] = '\0';
  return out;
}

int tc_cfg_bad(char **err, const char *what, const char *where,
               const char *value, const char *fix) {
  if (err == NULL || *err != NULL)
    return -1;
  char *q = value != NULL ? quote_value(value) : NULL;
  const char *sep = q != NULL ? ": " : "";
  if (fix != NULL)
    tc_cfg_fail(err, "%s in %s%s%s (%s)", what, where, sep, q ? q : "", fix);
  else
    tc_cfg_fail(err, "%s in %s%s%s", what, where, sep, q ? q : "");
  free(q);
  return -1;
}

bool tc_cfg_has_prefix_ci(const char *s, const char *prefix) {
  for (; *prefix != '\0'; s++, prefix++)
    if (tolower((unsigned char)*s) != tolower((unsigned char)*prefix))
      return false;
  return true;
}

int tc_cfg_edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 128 || lb > 128)
    return 1000;
  int row[129];
  for (size_t j = 0; j <= lb; j++)
    row[j] = (int)j;
  for (size_t i = 1; i <= la; i++) {
    int diag = row[0];
    row[0] = (int)i;
    for (size_t j = 1; j <= lb; j++) {
      int up = row[j];
      int cost = a[i - 1] == b[j - 1] ? 0 : 1;
      int best = diag + cost;
      if (row[j] + 1 < best)
        best = row[j] + 1;
      if (row[j - 1] + 1 < best)
        best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[lb];
}
