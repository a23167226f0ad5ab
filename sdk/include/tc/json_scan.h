/* tc/json_scan.h — check and look into JSON text without building a tree.
 *
 * For the hot path: a JSON-RPC message is forwarded as the bytes it came
 * in, so most code only needs to know "is this valid JSON, and is it an
 * object?" and "where is member X?". tc_json_check() answers the first in
 * one pass with no allocation; tc_json_member() finds a top-level member's
 * raw value text in text tc_json_check() accepted.
 *
 * What is valid: RFC 8259 JSON in UTF-8, with the same extra rules as
 * jansson's default decoder so both sides agree on what is malformed:
 * strings must be valid UTF-8 (no overlong forms, no surrogates, nothing
 * above U+10FFFF), "\u0000" is refused, a \u surrogate escape must be a
 * proper pair, nesting is at most TC_JSON_MAX_DEPTH. One deliberate
 * difference: numbers of any size are valid (JSON has no limit; jansson
 * refuses integers beyond 64 bits and reals beyond double).
 *
 * Header-only (like tc/headers.h): nothing crosses the module boundary.
 * Pure functions on caller-owned bytes; thread-safe. */
#ifndef TC_JSON_SCAN_H
#define TC_JSON_SCAN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TC_JSON_MAX_DEPTH 2048

enum tc_json_kind {
  TC_JSON_INVALID = 0,
  TC_JSON_OBJECT,
  TC_JSON_ARRAY,
  TC_JSON_STRING,
  TC_JSON_NUMBER,
  TC_JSON_TRUE,
  TC_JSON_FALSE,
  TC_JSON_NULL
};

static inline const unsigned char *tc_json__ws(const unsigned char *p,
                                               const unsigned char *end) {
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
    p++;
  return p;
}

static inline int tc_json__hex4(const unsigned char *p,
                                const unsigned char *end, unsigned *out) {
  unsigned v = 0;
  if (end - p < 4)
    return 0;
  for (int i = 0; i < 4; i++) {
    unsigned c = p[i], d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else
      return 0;
    v = v << 4 | d;
  }
  *out = v;
  return 1;
}

/* Length of the valid UTF-8 sequence at p (lead byte >= 0x80), 0 if none. */
static inline size_t tc_json__utf8(const unsigned char *p,
                                   const unsigned char *end) {
  unsigned c = p[0];
  size_t n;
  unsigned lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0)
      lo = 0xA0; /* overlong */
    else if (c == 0xED)
      hi = 0x9F; /* surrogates */
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0)
      lo = 0x90; /* overlong */
    else if (c == 0xF4)
      hi = 0x8F; /* above U+10FFFF */
  } else {
    return 0;
  }
  if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
    return 0;
  for (size_t i = 2; i < n; i++)
    if (p[i] < 0x80 || p[i] > 0xBF)
      return 0;
  return n;
}

/* Are the 8 bytes at p all printable ASCII other than '"' and '\\'? (The
 * SWAR "has byte less than / equal to" tests: a false "no" only sends the
 * caller to the byte-wise path, a false "yes" cannot happen.) */
static inline int tc_json__plain8(const unsigned char *p) {
  const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
  uint64_t x, q, b;
  memcpy(&x, p, sizeof(x));
  q = x ^ (ones * '"');
  b = x ^ (ones * '\\');
  return ((((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((b - ones) & ~b) |
           x) &
          highs) == 0;
}

/* One past the string token starting at the '"' at p; NULL if invalid. */
static inline const unsigned char *tc_json__string(const unsigned char *p,
                                                   const unsigned char *end) {
  for (p++; p < end;) {
    /* Fast path: a run of printable ASCII other than '"' and '\\'. */
    while (end - p >= 8 && tc_json__plain8(p))
      p += 8;
    while (p < end && (unsigned)(*p - 0x20) < 0x60 && *p != '"' && *p != '\\')
      p++;
    if (p >= end)
      return NULL;
    unsigned c = *p;
    if (c == '"')
      return p + 1;
    if (c < 0x20)
      return NULL;
    if (c >= 0x80) {
      size_t n = tc_json__utf8(p, end);
      if (n == 0)
        return NULL;
      p += n;
      continue;
    }
    if (++p >= end) /* backslash */
      return NULL;
    switch (*p) {
    case '"':
    case '\\':
    case '/':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't':
      p++;
      continue;
    case 'u': {
      unsigned u, lo;
      if (!tc_json__hex4(p + 1, end, &u) || u == 0)
        return NULL;
      p += 5;
      if (u >= 0xDC00 && u <= 0xDFFF)
        return NULL; /* lone low surrogate */
      if (u >= 0xD800 && u <= 0xDBFF) {
        if (end - p < 6 || p[0] != '\\' || p[1] != 'u' ||
            !tc_json__hex4(p + 2, end, &lo) || lo < 0xDC00 || lo > 0xDFFF)
          return NULL;
        p += 6;
      }
      continue;
    }
    default:
      return NULL;
    }
  }
  return NULL;
}

static inline const unsigned char *tc_json__digits(const unsigned char *p,
                                                   const unsigned char *end) {
  const unsigned char *s = p;
  while (p < end && *p >= '0' && *p <= '9')
    p++;
  return p > s ? p : NULL;
}

static inline const unsigned char *tc_json__number(const unsigned char *p,
                                                   const unsigned char *end) {
  if (*p == '-' && ++p >= end)
    return NULL;
  if (*p == '0')
    p++;
  else if ((p = tc_json__digits(p, end)) == NULL)
    return NULL;
  if (p < end && *p == '.' && (p = tc_json__digits(p + 1, end)) == NULL)
    return NULL;
  if (p < end && (*p == 'e' || *p == 'E')) {
    p++;
    if (p < end && (*p == '+' || *p == '-'))
      p++;
    if ((p = tc_json__digits(p, end)) == NULL)
      return NULL;
  }
  return p;
}

static inline const unsigned char *tc_json__word(const unsigned char *p,
                                                 const unsigned char *end,
                                                 const char *w, size_t n) {
  return (size_t)(end - p) >= n && memcmp(p, w, n) == 0 ? p + n : NULL;
}

/* Validate [s, s+n): exactly one JSON value, blanks allowed around it.
 * Returns the kind of that value, TC_JSON_INVALID when the text is not
 * valid JSON. */
static inline enum tc_json_kind tc_json_check(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s, *end = p + n;
  unsigned char in_object[TC_JSON_MAX_DEPTH]; /* per open container */
  size_t depth = 0;
  enum tc_json_kind top = TC_JSON_INVALID, k;
  if (s == NULL)
    return TC_JSON_INVALID;
  p = tc_json__ws(p, end);
  for (;;) {
    /* A value starts at p. */
    if (p >= end)
      return TC_JSON_INVALID;
    switch (*p) {
    case '{':
    case '[': {
      int obj = *p == '{';
      if (depth == TC_JSON_MAX_DEPTH)
        return TC_JSON_INVALID;
      if (top == TC_JSON_INVALID)
        top = obj ? TC_JSON_OBJECT : TC_JSON_ARRAY;
      in_object[depth++] = (unsigned char)obj;
      p = tc_json__ws(p + 1, end);
      if (p < end && *p == (obj ? '}' : ']')) {
        p++;
        depth--;
        goto after_value;
      }
      if (obj) {
        if (p >= end || *p != '"' || (p = tc_json__string(p, end)) == NULL)
          return TC_JSON_INVALID;
        p = tc_json__ws(p, end);
        if (p >= end || *p != ':')
          return TC_JSON_INVALID;
        p = tc_json__ws(p + 1, end);
      }
      continue;
    }
    case '"':
      k = TC_JSON_STRING;
      p = tc_json__string(p, end);
      break;
    case 't':
      k = TC_JSON_TRUE;
      p = tc_json__word(p, end, "true", 4);
      break;
    case 'f':
      k = TC_JSON_FALSE;
      p = tc_json__word(p, end, "false", 5);
      break;
    case 'n':
      k = TC_JSON_NULL;
      p = tc_json__word(p, end, "null", 4);
      break;
    default:
      if (*p != '-' && (*p < '0' || *p > '9'))
        return TC_JSON_INVALID;
      k = TC_JSON_NUMBER;
      p = tc_json__number(p, end);
      break;
    }
    if (p == NULL)
      return TC_JSON_INVALID;
    if (top == TC_JSON_INVALID)
      top = k;
  after_value:
    p = tc_json__ws(p, end);
    if (depth == 0)
      return p == end ? top : TC_JSON_INVALID;
    int obj = in_object[depth - 1];
    if (p < end && *p == ',') {
      p = tc_json__ws(p + 1, end);
      if (obj) {
        if (p >= end || *p != '"' || (p = tc_json__string(p, end)) == NULL)
          return TC_JSON_INVALID;
        p = tc_json__ws(p, end);
        if (p >= end || *p != ':')
          return TC_JSON_INVALID;
        p = tc_json__ws(p + 1, end);
      }
      continue;
    }
    if (p < end && *p == (obj ? '}' : ']')) {
      p++;
      depth--;
      goto after_value;
    }
    return TC_JSON_INVALID;
  }
}

/* One past the string token whose '"' is at p, in checked text: the next
 * quote not escaped by an odd run of backslashes (memchr does the walk). */
static inline const unsigned char *
tc_json__skip_string(const unsigned char *p, const unsigned char *end) {
  const unsigned char *q = p + 1;
  for (;;) {
    q = (const unsigned char *)memchr(q, '"', (size_t)(end - q));
    if (q == NULL)
      return end;
    size_t slashes = 0;
    while (q - slashes > p + 1 && q[-1 - (ptrdiff_t)slashes] == '\\')
      slashes++;
    if (slashes % 2 == 0)
      return q + 1;
    q++;
  }
}

/* One past the value at p in text tc_json_check() accepted. */
static inline const unsigned char *tc_json__skip(const unsigned char *p,
                                                 const unsigned char *end) {
  size_t depth = 0;
  do {
    unsigned c = *p;
    if (c == '"') {
      p = tc_json__skip_string(p, end);
    } else if (c == '{' || c == '[') {
      depth++;
      p++;
    } else if (c == '}' || c == ']') {
      depth--;
      p++;
    } else if (depth == 0) { /* scalar at the top: number or word */
      while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' &&
             *p != '\t' && *p != '\n' && *p != '\r')
        p++;
    } else {
      p++;
    }
  } while (depth > 0 && p < end);
  return p;
}

/* Decode the escape sequence at p (the backslash) of a checked string into
 * buf (1 to 4 UTF-8 bytes); returns one past the sequence, *n its size. */
static inline const unsigned char *tc_json__unescape(const unsigned char *p,
                                                     const unsigned char *end,
                                                     unsigned char buf[4],
                                                     size_t *n) {
  /* Pairs of (escape letter, byte); anything else but 'u' is itself. */
  static const char simple[] = "b\bf\fn\nr\rt\t";
  *n = 1;
  if (p[1] != 'u') {
    const char *m = memchr(simple, p[1], sizeof(simple) - 1);
    buf[0] = m != NULL && (m - simple) % 2 == 0 ? (unsigned char)m[1] : p[1];
    return p + 2;
  }
  unsigned u = 0, lo = 0;
  tc_json__hex4(p + 2, end, &u);
  p += 6;
  if (u >= 0xD800 && u <= 0xDBFF) { /* checked: a low surrogate follows */
    tc_json__hex4(p + 2, end, &lo);
    u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
    p += 6;
  }
  if (u < 0x80) {
    buf[0] = (unsigned char)u;
  } else if (u < 0x800) {
    buf[0] = (unsigned char)(0xC0 | u >> 6);
    buf[1] = (unsigned char)(0x80 | (u & 0x3F));
    *n = 2;
  } else if (u < 0x10000) {
    buf[0] = (unsigned char)(0xE0 | u >> 12);
    buf[1] = (unsigned char)(0x80 | (u >> 6 & 0x3F));
    buf[2] = (unsigned char)(0x80 | (u & 0x3F));
    *n = 3;
  } else {
    buf[0] = (unsigned char)(0xF0 | u >> 18);
    buf[1] = (unsigned char)(0x80 | (u >> 12 & 0x3F));
    buf[2] = (unsigned char)(0x80 | (u >> 6 & 0x3F));
    buf[3] = (unsigned char)(0x80 | (u & 0x3F));
    *n = 4;
  }
  return p;
}

/* Does the string token [t, t_end) (quotes included, checked) decode to
 * the NUL-terminated UTF-8 `key`? */
static inline int tc_json__name_is(const unsigned char *t,
                                   const unsigned char *t_end,
                                   const char *key) {
  const unsigned char *k = (const unsigned char *)key;
  const unsigned char *p = t + 1, *e = t_end - 1;
  while (p < e) {
    if (*p != '\\') {
      if (*k++ != *p++)
        return 0;
      continue;
    }
    unsigned char buf[4];
    size_t n;
    p = tc_json__unescape(p, e, buf, &n);
    for (size_t i = 0; i < n; i++)
      if (*k++ != buf[i])
        return 0;
  }
  return *k == '\0';
}

/* Decode the checked string token [tok, tok + n) (quotes included) into
 * out, which must hold n bytes; returns the decoded length (out is not
 * NUL-terminated; a checked string never contains NUL). */
static inline size_t tc_json_string_decode(const char *tok, size_t n,
                                           char *out) {
  const unsigned char *p = (const unsigned char *)tok + 1;
  const unsigned char *e = (const unsigned char *)tok + n - 1;
  size_t len = 0;
  while (p < e) {
    const unsigned char *bs =
        (const unsigned char *)memchr(p, '\\', (size_t)(e - p));
    size_t plain = (size_t)((bs != NULL ? bs : e) - p);
    memcpy(out + len, p, plain);
    len += plain;
    p += plain;
    if (bs == NULL)
      break;
    unsigned char buf[4];
    size_t k;
    p = tc_json__unescape(p, e, buf, &k);
    memcpy(out + len, buf, k);
    len += k;
  }
  return len;
}

/* Does the checked string token [tok, tok + n) decode to `s`? */
static inline int tc_json_string_is(const char *tok, size_t n, const char *s) {
  return n >= 2 && tok[0] == '"' &&
         tc_json__name_is((const unsigned char *)tok,
                          (const unsigned char *)tok + n, s);
}

/* A member's raw value text; p == NULL when the member is absent. */
struct tc_json_span {
  const char *p;
  size_t n;
};

/* In an object text that tc_json_check() accepted as TC_JSON_OBJECT, find
 * the top-level members named keys[0..count) in one pass. For each, out[i]
 * is the LAST member of that name (the one a decoder keeps for duplicates;
 * escaped names are decoded before comparing), or {NULL, 0}. Returns how
 * many of the keys were found. */
static inline size_t tc_json_members(const char *obj, size_t n,
                                     const char *const *keys, size_t count,
                                     struct tc_json_span *out) {
  const unsigned char *p = (const unsigned char *)obj, *end = p + n;
  size_t found = 0;
  for (size_t i = 0; i < count; i++)
    out[i].p = NULL, out[i].n = 0;
  p = tc_json__ws(p, end);
  if (p >= end || *p != '{')
    return 0;
  p = tc_json__ws(p + 1, end);
  while (p < end && *p == '"') {
    const unsigned char *ks = p, *ke = tc_json__skip_string(p, end);
    p = tc_json__ws(ke, end) + 1; /* past ':' */
    const unsigned char *v = tc_json__ws(p, end);
    const unsigned char *ve = tc_json__skip(v, end);
    for (size_t i = 0; i < count; i++) {
      if (tc_json__name_is(ks, ke, keys[i])) {
        found += out[i].p == NULL;
        out[i].p = (const char *)v;
        out[i].n = (size_t)(ve - v);
      }
    }
    p = tc_json__ws(ve, end);
    if (p >= end || *p != ',')
      break;
    p = tc_json__ws(p + 1, end);
  }
  return found;
}

/* tc_json_members() for one key: 1 and [*vs, *vs + *vl) when found. */
static inline int tc_json_member(const char *obj, size_t n, const char *key,
                                 const char **vs, size_t *vl) {
  struct tc_json_span sp;
  if (tc_json_members(obj, n, &key, 1, &sp) == 0)
    return 0;
  *vs = sp.p;
  *vl = sp.n;
  return 1;
}

/* Step through a checked array (key == NULL) or object (key != NULL):
 * *cursor starts at its '[' or '{'. Each call sets *val (and *key, the
 * name's string token) to the next element and returns 1; 0 at the end. */
static inline int tc_json_next(const char **cursor, const char *end,
                               struct tc_json_span *key,
                               struct tc_json_span *val) {
  const unsigned char *p = (const unsigned char *)*cursor;
  const unsigned char *e = (const unsigned char *)end;
  p = tc_json__ws(p, e);
  if (p >= e || *p == ']' || *p == '}')
    return 0;
  p = tc_json__ws(p + 1, e); /* past the '[', '{' or ',' */
  if (p >= e || *p == ']' || *p == '}') {
    *cursor = (const char *)p;
    return 0;
  }
  if (key != NULL) {
    const unsigned char *ke = tc_json__skip_string(p, e);
    key->p = (const char *)p;
    key->n = (size_t)(ke - p);
    p = tc_json__ws(tc_json__ws(ke, e) + 1, e); /* past ':' */
  }
  const unsigned char *ve = tc_json__skip(p, e);
  val->p = (const char *)p;
  val->n = (size_t)(ve - p);
  *cursor = (const char *)tc_json__ws(ve, e);
  return 1;
}

#ifdef __cplusplus
}
#endif

#endif /* TC_JSON_SCAN_H */
