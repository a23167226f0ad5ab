/* ms_json.c — JSON-RPC text handling for the stdio transport (see
 * ms_internal.h): messages are looked into with host->json_members and
 * rewritten by splicing bytes, never decoded into a tree and re-encoded,
 * so every byte but the id reaches the other side as it was (and ids of
 * any size work). */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ms_internal.h"

static struct ms_span at(const char *base, size_t off, size_t len) {
  struct ms_span s = {len > 0 ? base + off : NULL, len};
  return s;
}

int ms_view(const struct tc_host *host, const char *msg, size_t len,
            struct ms_view *v) {
  memset(v, 0, sizeof(*v));
  enum { K_ID, K_METHOD, K_RESULT, K_ERROR, K_PARAMS, K_COUNT };
  static const char *const keys[K_COUNT] = {"id", "method", "result", "error",
                                            "params"};
  size_t off[K_COUNT], n[K_COUNT];
  if (!TC_HOST_HAS(host, json_members) || host->json_members == NULL ||
      host->json_members(msg, len, keys, K_COUNT, off, n) != TC_OK)
    return -1;
  v->id = at(msg, off[K_ID], n[K_ID]);
  v->method = at(msg, off[K_METHOD], n[K_METHOD]);
  v->has_result = n[K_RESULT] > 0;
  v->has_error = n[K_ERROR] > 0;
  /* progressToken: params._meta.progressToken, else params.progressToken */
  struct ms_span params = at(msg, off[K_PARAMS], n[K_PARAMS]);
  if (params.p != NULL && params.p[0] == '{') {
    static const char *const pk[2] = {"_meta", "progressToken"};
    size_t po[2], pn[2];
    if (host->json_members(params.p, params.n, pk, 2, po, pn) == TC_OK) {
      struct ms_span meta = at(params.p, po[0], pn[0]);
      v->progress = at(params.p, po[1], pn[1]);
      if (meta.p != NULL && meta.p[0] == '{') {
        static const char *const mk[1] = {"progressToken"};
        size_t mo, mn;
        if (host->json_members(meta.p, meta.n, mk, 1, &mo, &mn) == TC_OK &&
            mn > 0)
          v->progress = at(meta.p, mo, mn);
      }
    }
  }
  return 0;
}

int ms_is_null(struct ms_span s) {
  return s.n == 4 && memcmp(s.p, "null", 4) == 0;
}

int ms_method_is(struct ms_span method, const char *name) {
  size_t n = strlen(name);
  return method.n == n + 2 && method.p[0] == '"' &&
         memcmp(method.p + 1, name, n) == 0 && method.p[n + 1] == '"';
}

int ms_token_equal(struct ms_span a, struct ms_span b) {
  if (a.p == NULL || b.p == NULL)
    return 0;
  if (a.n == b.n && memcmp(a.p, b.p, a.n) == 0)
    return 1;
  if (a.p[0] != '"' || b.p[0] != '"')
    return 0; /* numbers compare by their text */
  /* Strings by their decoded value ("a" is "\u0061"). */
  json_t *ja = json_loadb(a.p, a.n, JSON_DECODE_ANY, NULL);
  json_t *jb = json_loadb(b.p, b.n, JSON_DECODE_ANY, NULL);
  int eq = ja != NULL && jb != NULL && json_equal(ja, jb);
  json_decref(ja);
  json_decref(jb);
  return eq;
}

char *ms_splice_line(const char *msg, size_t len, struct ms_span old,
                     const char *with, size_t with_len, size_t *out_len) {
  size_t off = (size_t)(old.p - msg);
  size_t n = len - old.n + with_len;
  char *out = malloc(n + 2);
  if (out == NULL)
    return NULL;
  memcpy(out, msg, off);
  memcpy(out + off, with, with_len);
  memcpy(out + off + with_len, old.p + old.n, len - off - old.n);
  /* One message per line: a line break can only be a blank between
   * tokens (strings cannot hold one), so it becomes a space. */
  for (size_t i = 0; i < n; i++)
    if (out[i] == '\n' || out[i] == '\r')
      out[i] = ' ';
  out[n] = '\n';
  out[n + 1] = '\0';
  *out_len = n + 1;
  return out;
}

char *ms_splice_in_place(char *buf, size_t len, size_t *cap, size_t id_off,
                         size_t id_len, const char *with, size_t with_len) {
  size_t n = len - id_len + with_len;
  if (n + 1 > *cap) {
    char *b = realloc(buf, n + 1);
    if (b == NULL)
      return NULL;
    buf = b;
    *cap = n + 1;
  }
  memmove(buf + id_off + with_len, buf + id_off + id_len,
          len - id_off - id_len);
  memcpy(buf + id_off, with, with_len);
  buf[n] = '\0';
  return buf;
}

static size_t skip_ws(const char *s, size_t i, size_t n) {
  while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
    i++;
  return i;
}

static int lit(const char *s, size_t *i, size_t n, const char *w) {
  size_t l = strlen(w);
  if (*i + l > n || memcmp(s + *i, w, l) != 0)
    return 0;
  *i += l;
  return 1;
}

static uint64_t digits(const char *s, size_t from, size_t to) {
  uint64_t v = 0;
  if (from >= to || to - from > 19)
    return 0;
  for (size_t i = from; i < to; i++) {
    if (s[i] < '0' || s[i] > '9')
      return 0;
    v = v * 10 + (uint64_t)(s[i] - '0');
  }
  return v;
}

uint64_t ms_peek_head_id(const char *s, size_t n) {
  size_t i = skip_ws(s, 0, n);
  if (!lit(s, &i, n, "{"))
    return 0;
  for (int member = 0; member < 2; member++) {
    i = skip_ws(s, i, n);
    if (lit(s, &i, n, "\"id\"")) {
      i = skip_ws(s, i, n);
      if (!lit(s, &i, n, ":"))
        return 0;
      i = skip_ws(s, i, n);
      size_t d = i;
      while (d < n && s[d] >= '0' && s[d] <= '9')
        d++;
      size_t after = skip_ws(s, d, n);
      return after < n && (s[after] == ',' || s[after] == '}') ? digits(s, i, d)
                                                               : 0;
    }
    if (!lit(s, &i, n, "\"jsonrpc\""))
      return 0;
    i = skip_ws(s, i, n);
    if (!lit(s, &i, n, ":"))
      return 0;
    i = skip_ws(s, i, n);
    if (!lit(s, &i, n, "\"2.0\""))
      return 0;
    i = skip_ws(s, i, n);
    if (!lit(s, &i, n, ","))
      return 0;
  }
  return 0;
}

uint64_t ms_peek_tail_id(const char *s, size_t n) {
  size_t e = n;
  while (e > 0 && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r'))
    e--;
  if (e == 0 || s[e - 1] != '}')
    return 0;
  e--;
  while (e > 0 && (s[e - 1] == ' ' || s[e - 1] == '\t'))
    e--;
  size_t d = e;
  while (d > 0 && s[d - 1] >= '0' && s[d - 1] <= '9')
    d--;
  uint64_t id = digits(s, d, e);
  size_t i = d;
  while (i > 0 && (s[i - 1] == ' ' || s[i - 1] == '\t'))
    i--;
  if (i == 0 || s[i - 1] != ':')
    return 0;
  i--;
  while (i > 0 && (s[i - 1] == ' ' || s[i - 1] == '\t'))
    i--;
  if (i < 4 || memcmp(s + i - 4, "\"id\"", 4) != 0)
    return 0;
  i -= 4;
  while (i > 0 && (s[i - 1] == ' ' || s[i - 1] == '\t'))
    i--;
  /* "id" must be a top-level member that follows another one. */
  return i > 0 && s[i - 1] == ',' ? id : 0;
}
