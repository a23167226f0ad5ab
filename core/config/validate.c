/* config/validate.c — value validators and scalar parsers (tunnel ids, API
 * keys, listen addresses, channel names, Go durations, numbers, booleans,
 * log level/format names). All pure functions, thread-safe. */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config_internal.h"
#include "tc/host.h"

int tc_validate_tunnel_id(const char *v, const char **why) {
  static const char rule[] =
      "expected tunnel_ followed by 32 lowercase letters or digits; copy the "
      "id from the tunnel's settings";
  if (v == NULL || strncmp(v, "tunnel_", 7) != 0 || strlen(v) != 7 + 32) {
    *why = rule;
    return -1;
  }
  for (const char *p = v + 7; *p != '\0'; p++) {
    if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))) {
      *why = rule;
      return -1;
    }
  }
  return 0;
}

int tc_validate_api_key(const char *v, const char **why) {
  static const char rule[] =
      "an API key may contain only letters, digits, '_' and '-'; check for "
      "stray quotes, spaces or a truncated copy";
  if (v == NULL || *v == '\0') {
    *why = rule;
    return -1;
  }
  for (const char *p = v; *p != '\0'; p++) {
    if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '-')) {
      *why = rule;
      return -1;
    }
  }
  return 0;
}

static bool all_digits(const char *s, size_t n) {
  if (n == 0)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!isdigit((unsigned char)s[i]))
      return false;
  return true;
}

int tc_validate_listen_addr(const char *v, const char **why) {
  static const char rule[] =
      "use host:port with a port from 0 to 65535, e.g. 127.0.0.1:8080 or "
      "[::1]:8080";
  if (v == NULL || *v == '\0') {
    *why = rule;
    return -1;
  }
  const char *port;
  if (v[0] == '[') {
    const char *close = strchr(v, ']');
    if (close == NULL || close[1] != ':' || close == v + 1) {
      *why = rule;
      return -1;
    }
    bool zone = false; /* after '%': an interface name */
    for (const char *p = v + 1; p < close; p++) {
      zone = zone || *p == '%';
      if (!(isxdigit((unsigned char)*p) || *p == ':' || *p == '.' ||
            *p == '%' ||
            (zone && (isalnum((unsigned char)*p) || *p == '-' || *p == '_')))) {
        *why = rule;
        return -1;
      }
    }
    if (memchr(v + 1, ':', (size_t)(close - v - 1)) == NULL) {
      *why = rule;
      return -1;
    }
    port = close + 2;
  } else {
    const char *colon = strrchr(v, ':');
    if (colon == NULL) {
      *why = rule;
      return -1;
    }
    for (const char *p = v; p < colon; p++) {
      if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '-' ||
            *p == '_')) {
        *why = rule;
        return -1;
      }
    }
    port = colon + 1;
  }
  size_t pl = strlen(port);
  if (!all_digits(port, pl) || pl > 5 || atol(port) > 65535) {
    *why = rule;
    return -1;
  }
  return 0;
}

int tc_channel_canonical(const char *in, char *out, size_t outlen,
                         const char **why) {
  static const char rule[] =
      "a channel name is 1 to 64 of a-z, 0-9, '_' or '-'";
  if (in == NULL)
    in = "";
  while (isspace((unsigned char)*in))
    in++;
  size_t n = strlen(in);
  while (n > 0 && isspace((unsigned char)in[n - 1]))
    n--;
  if (n == 0) {
    in = "main";
    n = 4;
  }
  if (n > 64) {
    *why = rule;
    return -1;
  }
  if (outlen < n + 1) {
    *why = "channel name buffer too small";
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    char c = (char)tolower((unsigned char)in[i]);
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-')) {
      *why = rule;
      return -1;
    }
    out[i] = c;
  }
  out[n] = '\0';
  return 0;
}

/* Nanoseconds per unit; NULL name ends the table. Longest names first so
 * "ms" wins over "m". */
static const struct {
  const char *name;
  uint64_t ns;
} dur_units[] = {
    {"ns", 1ull},           {"us", 1000ull},
    {"\xc2\xb5s", 1000ull}, /* U+00B5 micro sign */
    {"\xce\xbcs", 1000ull}, /* U+03BC greek mu */
    {"ms", 1000000ull},     {"s", 1000000000ull},
    {"m", 60000000000ull},  {"h", 3600000000000ull},
};

int tc_parse_duration_ms(const char *v, int64_t *out_ms, const char **why) {
  static const char rule[] =
      "use a Go duration such as 30s, 4500ms, 1m30s or 0";
  *why = rule;
  if (v == NULL || *v == '\0')
    return -1;
  const char *p = v;
  bool neg = false;
  if (*p == '-' || *p == '+') {
    neg = *p == '-';
    p++;
  }
  if (strcmp(p, "0") == 0) {
    *out_ms = 0;
    return 0;
  }
  if (*p == '\0')
    return -1;
  const uint64_t max_ns = (uint64_t)INT64_MAX;
  uint64_t total = 0;
  while (*p != '\0') {
    uint64_t whole = 0;
    bool digits = false;
    while (isdigit((unsigned char)*p)) {
      if (whole > (max_ns - 9) / 10)
        return -1;
      whole = whole * 10 + (uint64_t)(*p - '0');
      digits = true;
      p++;
    }
    uint64_t frac = 0, scale = 1;
    if (*p == '.') {
      p++;
      while (isdigit((unsigned char)*p)) {
        if (scale < 1000000000000000000ull) {
          frac = frac * 10 + (uint64_t)(*p - '0');
          scale *= 10;
        }
        digits = true;
        p++;
      }
    }
    if (!digits)
      return -1;
    uint64_t unit = 0;
    size_t ulen = 0;
    for (size_t i = 0; i < sizeof(dur_units) / sizeof(dur_units[0]); i++) {
      size_t l = strlen(dur_units[i].name);
      if (strncmp(p, dur_units[i].name, l) == 0 && l > ulen) {
        unit = dur_units[i].ns;
        ulen = l;
      }
    }
    if (ulen == 0)
      return -1; /* a number needs a unit */
    p += ulen;
    if (whole > max_ns / unit)
      return -1;
    uint64_t part = whole * unit;
    /* frac/scale of a unit, computed without overflow */
    uint64_t fpart =
        (uint64_t)((long double)frac * (long double)unit / (long double)scale);
    if (part > max_ns - fpart || total > max_ns - part - fpart)
      return -1;
    total += part + fpart;
  }
  int64_t ms = (int64_t)(total / 1000000ull);
  *out_ms = neg ? -ms : ms;
  *why = NULL;
  return 0;
}

int tc_cfg_parse_bool(const char *v, bool *out) {
  static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
  static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
  for (size_t i = 0; i < 6; i++) {
    if (strcmp(v, yes[i]) == 0) {
      *out = true;
      return 0;
    }
    if (strcmp(v, no[i]) == 0) {
      *out = false;
      return 0;
    }
  }
  return -1;
}

int tc_cfg_parse_int64(const char *v, int64_t *out) {
  if (v == NULL || *v == '\0')
    return -1;
  const char *p = v;
  if (*p == '+' || *p == '-')
    p++;
  if (!all_digits(p, strlen(p)))
    return -1;
  errno = 0;
  char *end = NULL;
  long long n = strtoll(v, &end, 10);
  if (errno != 0 || end == NULL || *end != '\0')
    return -1;
  *out = (int64_t)n;
  return 0;
}

int tc_cfg_parse_bytes(const char *v, int64_t *out) {
  static const struct {
    const char *suffix;
    int64_t mult;
  } units[] = {
      {"KiB", 1024}, {"MiB", 1024 * 1024}, {"GiB", 1024 * 1024 * 1024}};
  if (v == NULL)
    return -1;
  size_t digits = 0;
  while (v[digits] >= '0' && v[digits] <= '9')
    digits++;
  if (digits == 0 || digits > 19)
    return -1;
  const char *rest = v + digits;
  int64_t mult = 1;
  while (*rest == ' ')
    rest++;
  if (*rest != '\0') {
    mult = 0;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
      if (strcmp(rest, units[i].suffix) == 0)
        mult = units[i].mult;
    if (mult == 0)
      return -1;
  } else if (rest != v + digits) {
    return -1; /* trailing blanks without a unit */
  }
  char num[20];
  memcpy(num, v, digits);
  num[digits] = '\0';
  int64_t n = 0;
  if (tc_cfg_parse_int64(num, &n) != 0 || n > INT64_MAX / mult)
    return -1;
  *out = n * mult;
  return 0;
}

int tc_cfg_check_no_crlf(const char *v, const char **why) {
  if (strpbrk(v, "\r\n") != NULL) {
    *why = "it must be one line without CR or LF characters";
    return -1;
  }
  return 0;
}

int tc_cfg_parse_log_level(const char *v) {
  if (strcasecmp(v, "debug") == 0)
    return TC_LOG_DEBUG;
  if (strcasecmp(v, "info") == 0)
    return TC_LOG_INFO;
  if (strcasecmp(v, "warn") == 0 || strcasecmp(v, "warning") == 0)
    return TC_LOG_WARN;
  if (strcasecmp(v, "error") == 0)
    return TC_LOG_ERROR;
  return -1;
}

int tc_cfg_parse_log_format(const char *v) {
  if (strcasecmp(v, "struct-text") == 0)
    return TC_LOG_FORMAT_TEXT;
  if (strcasecmp(v, "json") == 0)
    return TC_LOG_FORMAT_JSON;
  return -1;
}

int tc_cfg_check_command_line(const char *v, const char **why) {
  char quote = 0;
  bool any = false;
  for (const char *p = v; *p != '\0'; p++) {
    if (quote == '\'') {
      if (*p == '\'')
        quote = 0;
      continue;
    }
    if (*p == '\\') {
      if (p[1] == '\0') {
        *why = "the command line ends with a lone backslash";
        return -1;
      }
      p++;
      any = true;
      continue;
    }
    if (quote == '"') {
      if (*p == '"')
        quote = 0;
      continue;
    }
    if (*p == '\'' || *p == '"') {
      quote = *p;
      any = true;
    } else if (!isspace((unsigned char)*p)) {
      any = true;
    }
  }
  if (quote != 0) {
    *why = "the command line has an unterminated quote; close it or escape "
           "it with a backslash";
    return -1;
  }
  if (!any) {
    *why = "the command is empty; give the program to run";
    return -1;
  }
  return 0;
}
