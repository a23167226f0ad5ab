/* controlplane/json_span.c — see json_span.h. */
#include "controlplane/json_span.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

const char *tc_cp_json_skip_ws(const char *p, const char *end) {
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
    p++;
  return p;
}

/* One past the closing quote of the string starting at p. */
static const char *skip_string(const char *p, const char *end) {
  if (p >= end || *p != '"')
    return NULL;
  for (p++; p < end; p++) {
    if (*p == '\\') {
      p++;
      continue;
    }
    if (*p == '"')
      return p + 1;
  }
  return NULL;
}

const char *tc_cp_json_skip_value(const char *p, const char *end) {
  if (p >= end)
    return NULL;
  if (*p == '"')
    return skip_string(p, end);
  if (*p == '{' || *p == '[') {
    size_t depth = 0;
    while (p < end) {
      char c = *p;
      if (c == '"') {
        p = skip_string(p, end);
        if (p == NULL)
          return NULL;
        continue;
      }
      if (c == '{' || c == '[') {
        depth++;
      } else if (c == '}' || c == ']') {
        if (depth == 0)
          return NULL;
        if (--depth == 0)
          return p + 1;
      }
      p++;
    }
    return NULL;
  }
  /* number, true, false, null */
  const char *s = p;
  while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' &&
         *p != '\t' && *p != '\n' && *p != '\r')
    p++;
  return p > s ? p : NULL;
}

/* Does the raw string token [s, e) (quotes included) spell `key`? */
static int key_equals(const char *s, const char *e, const char *key) {
  size_t n = (size_t)(e - s) - 2;
  if (memchr(s + 1, '\\', n) == NULL)
    return strlen(key) == n && memcmp(s + 1, key, n) == 0;
  json_error_t jerr;
  json_t *v = json_loadb(s, (size_t)(e - s), JSON_DECODE_ANY, &jerr);
  int eq = json_is_string(v) && strcmp(json_string_value(v), key) == 0;
  json_decref(v);
  return eq;
}

int tc_cp_json_member_span(const char *obj, const char *end, const char *key,
                           const char **vs, const char **ve) {
  const char *p = tc_cp_json_skip_ws(obj, end);
  int found = 0;
  if (p >= end || *p != '{')
    return -1;
  p = tc_cp_json_skip_ws(p + 1, end);
  if (p < end && *p == '}')
    return 0;
  while (p < end) {
    const char *ks = p, *ke = skip_string(p, end);
    if (ke == NULL)
      return -1;
    p = tc_cp_json_skip_ws(ke, end);
    if (p >= end || *p != ':')
      return -1;
    const char *v = tc_cp_json_skip_ws(p + 1, end);
    const char *v_end = tc_cp_json_skip_value(v, end);
    if (v_end == NULL)
      return -1;
    if (key_equals(ks, ke, key)) {
      *vs = v;
      *ve = v_end;
      found = 1;
    }
    p = tc_cp_json_skip_ws(v_end, end);
    if (p < end && *p == '}')
      return found;
    if (p >= end || *p != ',')
      return -1;
    p = tc_cp_json_skip_ws(p + 1, end);
  }
  return -1;
}

int tc_cp_json_array_next(const char **cursor, const char *end, const char **vs,
                          const char **ve) {
  const char *p = tc_cp_json_skip_ws(*cursor, end);
  if (p >= end)
    return -1;
  if (*p == '[') {
    p = tc_cp_json_skip_ws(p + 1, end);
    if (p < end && *p == ']') {
      *cursor = p;
      return 0;
    }
  } else if (*p == ',') {
    p = tc_cp_json_skip_ws(p + 1, end);
  } else if (*p == ']') {
    return 0;
  } else {
    return -1;
  }
  const char *v_end = tc_cp_json_skip_value(p, end);
  if (v_end == NULL)
    return -1;
  *vs = p;
  *ve = v_end;
  *cursor = v_end;
  return 1;
}
