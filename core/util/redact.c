/* util/redact.c — scrub secrets out of text (see redact.h).
 *
 * Two passes over the input:
 *   1. every registered secret value (longest first) -> "[REDACTED]";
 *   2. one left-to-right scan for secret shapes. At each position the
 *      matchers below are tried in order; a match keeps a prefix of what it
 *      recognised (header name, scheme, key) and replaces the value.
 *
 * Value boundaries (chosen so a JSON log line stays valid JSON and a
 * quoted struct-text value keeps its closing quote):
 *   - header values (`Authorization:`, `Proxy-Authorization:`,
 *     `X-Tunnel-Shard-Token:`, `Cookie:`, `Set-Cookie:`) run to the end of
 *     the line, a double quote or a backslash. Commas do not end them
 *     (Set-Cookie dates contain commas), so an unquoted value swallows the
 *     rest of its line: over-redaction is the safe side.
 *   - `Bearer <token>`: the token is the run of non-space characters up to a
 *     quote, comma, semicolon, backslash or bracket. A few ordinary words
 *     ("bearer token", "bearer auth", ...) are left alone.
 *   - `sk-<4+ of [A-Za-z0-9_-]>` -> `sk-REDACTED`.
 *   - key/value pairs for the keys in kv_keys: `key=value` (query, form,
 *     logfmt), `key="value"`, and quoted keys `"key":"value"`, `"key": value`,
 *     also in escaped form `\"key\":\"value\"`. Unquoted values end at
 *     whitespace or one of & " ' , ; # < > ) ] } \. The key `code` keeps
 *     purely numeric values (exit and status codes are not secrets).
 *   - URL userinfo: `://user:pass@` and `://token@` -> `://[REDACTED]@`.
 * Already-redacted values are left as they are, so the function is
 * idempotent. */
#include "util/redact.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/sbuf.h"

#define REDACTED "[REDACTED]"
#define REDACTED_LEN (sizeof(REDACTED) - 1)

struct secret {
  char *value;
  size_t len;
};

static pthread_rwlock_t secrets_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct secret *secrets; /* sorted by length, longest first */
static size_t secret_count;

void tc_redact_add_secret(const char *value) {
  if (value == NULL)
    return;
  size_t len = strlen(value);
  if (len < 4)
    return;
  pthread_rwlock_wrlock(&secrets_lock);
  for (size_t i = 0; i < secret_count; i++) {
    if (secrets[i].len == len && memcmp(secrets[i].value, value, len) == 0) {
      pthread_rwlock_unlock(&secrets_lock);
      return;
    }
  }
  char *copy = strdup(value);
  struct secret *grown =
      copy ? realloc(secrets, (secret_count + 1) * sizeof(*secrets)) : NULL;
  if (grown == NULL) {
    /* Nothing sensible to report from here; the shape pass still runs. */
    free(copy);
    pthread_rwlock_unlock(&secrets_lock);
    return;
  }
  secrets = grown;
  size_t at = 0;
  while (at < secret_count && secrets[at].len >= len)
    at++;
  memmove(&secrets[at + 1], &secrets[at],
          (secret_count - at) * sizeof(*secrets));
  secrets[at].value = copy;
  secrets[at].len = len;
  secret_count++;
  pthread_rwlock_unlock(&secrets_lock);
}

void tc_redact_reset(void) {
  pthread_rwlock_wrlock(&secrets_lock);
  for (size_t i = 0; i < secret_count; i++)
    free(secrets[i].value);
  free(secrets);
  secrets = NULL;
  secret_count = 0;
  pthread_rwlock_unlock(&secrets_lock);
}

/* Pass 1. Returns 1 and fills *out when something was replaced. */
static int replace_secrets(const char *in, struct tc_sbuf *out) {
  int hit = 0;
  pthread_rwlock_rdlock(&secrets_lock);
  if (secret_count > 0) {
    size_t from = 0, i = 0;
    while (in[i] != '\0') {
      size_t used = 0;
      for (size_t k = 0; k < secret_count; k++) {
        const struct secret *s = &secrets[k];
        if (in[i] == s->value[0] && strncmp(in + i, s->value, s->len) == 0) {
          used = s->len;
          break;
        }
      }
      if (used == 0) {
        i++;
        continue;
      }
      tc_sbuf_append(out, in + from, i - from);
      tc_sbuf_append(out, REDACTED, REDACTED_LEN);
      i += used;
      from = i;
      hit = 1;
    }
    if (hit)
      tc_sbuf_puts(out, in + from);
  }
  pthread_rwlock_unlock(&secrets_lock);
  return hit;
}

/* ---- character classes ------------------------------------------------ */

static int lower(char c) {
  return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : (unsigned char)c;
}
static int is_alpha(char c) {
  return lower(c) >= 'a' && lower(c) <= 'z';
}
static int is_digit(char c) {
  return c >= '0' && c <= '9';
}
static int is_alnum(char c) {
  return is_alpha(c) || is_digit(c);
}
static int is_hspace(char c) {
  return c == ' ' || c == '\t';
}
static int is_key_char(char c) {
  return is_alnum(c) || c == '-' || c == '_';
}
static int in_set(char c, const char *set) {
  return c != '\0' && strchr(set, c) != NULL;
}
static int is_ctl_or_space(char c) {
  unsigned char u = (unsigned char)c;
  return u <= 0x20 || u == 0x7f;
}
static int is_header_end(char c) {
  return c == '\0' || c == '\r' || c == '\n' || c == '"' || c == '\\';
}
static int is_token_char(char c) {
  return !is_ctl_or_space(c) && !in_set(c, "\"'`,;\\<>()[]{}");
}
static int is_value_end(char c) {
  return c == '\0' || is_ctl_or_space(c) || in_set(c, "&\"',;#<>)]}\\");
}
static int starts_redacted(const char *s) {
  return strncmp(s, REDACTED, REDACTED_LEN) == 0;
}

/* Length of `word` at s (ASCII case-insensitive; with `loose`, '-' and '_'
 * are the same character), 0 when it does not match. */
static size_t match_word(const char *s, const char *word, int loose) {
  size_t i = 0;
  for (; word[i] != '\0'; i++) {
    char a = s[i], b = word[i];
    if (a == '\0')
      return 0;
    if (loose && (a == '-' || a == '_') && (b == '-' || b == '_'))
      continue;
    if (lower(a) != lower(b))
      return 0;
  }
  return i;
}

/* ---- matchers ----------------------------------------------------------
 * Each looks at s[i]; on a match it returns how many input bytes it
 * consumed, sets *keep (bytes of input copied before the replacement) and
 * *repl (the replacement). 0 means no match. */

static size_t m_userinfo(const char *s, size_t i, size_t *keep,
                         const char **repl) {
  if (strncmp(s + i, "://", 3) != 0)
    return 0;
  size_t k = i + 3;
  while (s[k] != '\0' && !is_ctl_or_space(s[k]) && !in_set(s[k], "/?#@\"'\\<>"))
    k++;
  if (s[k] != '@' || k == i + 3)
    return 0;
  *keep = 3;
  *repl = REDACTED "@";
  return k + 1 - i;
}

static const char *const header_names[] = {
    "proxy-authorization", "authorization", "x-tunnel-shard-token",
    "set-cookie",          "cookie",        NULL};

static size_t m_header(const char *s, size_t i, size_t *keep,
                       const char **repl) {
  if (i > 0 && is_key_char(s[i - 1]))
    return 0;
  for (size_t h = 0; header_names[h] != NULL; h++) {
    size_t w = match_word(s + i, header_names[h], 0);
    if (w == 0 || s[i + w] != ':')
      continue;
    size_t j = i + w + 1;
    while (is_hspace(s[j]))
      j++;
    size_t vstart = j;
    if (strstr(header_names[h], "authorization") != NULL) {
      /* Keep the scheme ("Bearer", "Basic") when a credential follows. */
      size_t k = j;
      while (is_alnum(s[k]) || s[k] == '-' || s[k] == '.' || s[k] == '_')
        k++;
      if (k > j && is_alpha(s[j]) && is_hspace(s[k])) {
        while (is_hspace(s[k]))
          k++;
        if (!is_header_end(s[k]))
          vstart = k;
      }
    }
    size_t e = vstart;
    while (!is_header_end(s[e]))
      e++;
    if (e == vstart || starts_redacted(s + vstart))
      return 0;
    *keep = vstart - i;
    *repl = REDACTED;
    return e - i;
  }
  return 0;
}

/* Words that follow "bearer" in prose rather than a credential. */
static const char *const bearer_prose[] = {
    "token",         "tokens", "auth",   "authentication",
    "authorization", "scheme", "header", "credential",
    "credentials",   "realm",  NULL};

static size_t m_bearer(const char *s, size_t i, size_t *keep,
                       const char **repl) {
  if (lower(s[i]) != 'b' || (i > 0 && is_alnum(s[i - 1])))
    return 0;
  size_t w = match_word(s + i, "bearer", 0);
  if (w == 0 || !is_hspace(s[i + w]))
    return 0;
  size_t j = i + w;
  while (is_hspace(s[j]))
    j++;
  size_t k = j;
  while (is_token_char(s[k]))
    k++;
  if (k == j)
    return 0;
  for (size_t p = 0; bearer_prose[p] != NULL; p++)
    if (strlen(bearer_prose[p]) == k - j &&
        match_word(s + j, bearer_prose[p], 0))
      return 0;
  *keep = j - i;
  *repl = REDACTED;
  return k - i;
}

static size_t m_sk(const char *s, size_t i, size_t *keep, const char **repl) {
  if (s[i] != 's' || s[i + 1] != 'k' || s[i + 2] != '-')
    return 0;
  if (i > 0 && is_key_char(s[i - 1]))
    return 0;
  size_t k = i + 3;
  while (is_key_char(s[k]))
    k++;
  if (k - (i + 3) < 4)
    return 0;
  *keep = 3;
  *repl = "REDACTED";
  return k - i;
}

/* Keys whose values are secrets ('-' and '_' are interchangeable). */
static const char *const kv_keys[] = {"api_key",
                                      "apikey",
                                      "access_token",
                                      "refresh_token",
                                      "id_token",
                                      "client_secret",
                                      "code",
                                      "password",
                                      "secret",
                                      "shard_token",
                                      "x_tunnel_shard_token",
                                      "authorization",
                                      "proxy_authorization",
                                      "cookie",
                                      "set_cookie",
                                      NULL};

static int all_digits(const char *s, size_t n) {
  size_t i = (n > 0 && s[0] == '-') ? 1 : 0;
  if (i == n)
    return 0;
  for (; i < n; i++)
    if (!is_digit(s[i]))
      return 0;
  return 1;
}

static size_t m_kv(const char *s, size_t i, size_t *keep, const char **repl) {
  if (!is_key_char(s[i]) || (i > 0 && is_key_char(s[i - 1])))
    return 0;
  char q = i > 0 ? s[i - 1] : '\0';
  for (size_t n = 0; kv_keys[n] != NULL; n++) {
    size_t w = match_word(s + i, kv_keys[n], 1);
    if (w == 0 || is_key_char(s[i + w]))
      continue;
    size_t j = i + w;
    int quoted = 0, esc = 0;
    if (q == '"' || q == '\'') {
      if (s[j] == q) {
        quoted = 1;
        j++;
      } else if (s[j] == '\\' && s[j + 1] == q) {
        quoted = esc = 1;
        j += 2;
      }
    }
    if (quoted) {
      while (is_hspace(s[j]))
        j++;
      if (s[j] != ':' && s[j] != '=')
        return 0;
      j++;
      while (is_hspace(s[j]))
        j++;
    } else {
      if (s[j] != '=')
        return 0;
      j++;
    }
    size_t vs, k;
    if (esc && s[j] == '\\' && s[j + 1] == q) {
      vs = k = j + 2; /* escaped string inside a string: ends at \" */
      while (s[k] != '\0' && !(s[k] == '\\' && s[k + 1] == q))
        k += (s[k] == '\\' && s[k + 1] == '\\') ? 2 : 1;
    } else if (s[j] == '"' || s[j] == '\'') {
      char vq = s[j];
      vs = k = j + 1;
      while (s[k] != '\0' && s[k] != vq)
        k += (s[k] == '\\' && s[k + 1] != '\0') ? 2 : 1;
    } else {
      vs = k = j;
      while (!is_value_end(s[k]))
        k++;
    }
    if (k == vs || starts_redacted(s + vs))
      return 0;
    if (strcmp(kv_keys[n], "code") == 0 && all_digits(s + vs, k - vs))
      return 0;
    *keep = vs - i;
    *repl = REDACTED;
    return k - i;
  }
  return 0;
}

typedef size_t (*matcher_fn)(const char *s, size_t i, size_t *keep,
                             const char **repl);
static const matcher_fn matchers[] = {m_userinfo, m_header, m_bearer, m_sk,
                                      m_kv};

/* Pass 2. */
static void scrub_shapes(const char *s, struct tc_sbuf *out) {
  size_t from = 0, i = 0;
  while (s[i] != '\0') {
    size_t used = 0, keep = 0;
    const char *repl = NULL;
    for (size_t m = 0; used == 0 && m < sizeof(matchers) / sizeof(*matchers);
         m++)
      used = matchers[m](s, i, &keep, &repl);
    if (used == 0) {
      i++;
      continue;
    }
    tc_sbuf_append(out, s + from, i + keep - from);
    tc_sbuf_puts(out, repl);
    i += used;
    from = i;
  }
  tc_sbuf_puts(out, s + from);
}

char *tc_redact(const char *in) {
  if (in == NULL)
    in = "";
  struct tc_sbuf first = TC_SBUF_INIT, second = TC_SBUF_INIT;
  const char *text = in;
  if (replace_secrets(in, &first)) {
    if (first.failed) {
      tc_sbuf_free(&first);
      return NULL;
    }
    text = first.data;
  }
  tc_sbuf_reserve(&second, strlen(text));
  scrub_shapes(text, &second);
  tc_sbuf_free(&first);
  return tc_sbuf_finish(&second);
}

int tc_redact_key_is_secret(const char *key) {
  if (key == NULL)
    return 0;
  for (size_t n = 0; kv_keys[n] != NULL; n++) {
    size_t w = match_word(key, kv_keys[n], 1);
    if (w != 0 && key[w] == '\0' && strcmp(kv_keys[n], "code") != 0)
      return 1;
  }
  static const char *const extra[] = {"x_api_key", "token", "private_key",
                                      NULL};
  for (size_t n = 0; extra[n] != NULL; n++) {
    size_t w = match_word(key, extra[n], 1);
    if (w != 0 && key[w] == '\0')
      return 1;
  }
  return 0;
}

/* ---- URL origin --------------------------------------------------------- */

static const char *invalid_url(char *out, size_t outlen) {
  if (outlen > 0)
    snprintf(out, outlen, "%s", "<invalid url>");
  return out;
}

const char *tc_url_origin(const char *url, char *out, size_t outlen) {
  if (out == NULL || outlen == 0)
    return out;
  if (url == NULL || !is_alpha(url[0]))
    return invalid_url(out, outlen);
  size_t i = 1;
  while (is_alnum(url[i]) || url[i] == '+' || url[i] == '-' || url[i] == '.')
    i++;
  size_t scheme_len = i;
  if (strncmp(url + i, "://", 3) != 0)
    return invalid_url(out, outlen);
  size_t a = i + 3, e = a;
  while (url[e] != '\0' && !in_set(url[e], "/?#")) {
    if (is_ctl_or_space(url[e]) || url[e] == '\\')
      return invalid_url(out, outlen);
    e++;
  }
  /* Drop userinfo: everything up to the last '@' of the authority. */
  size_t h = a;
  for (size_t k = a; k < e; k++)
    if (url[k] == '@')
      h = k + 1;
  if (h == e)
    return invalid_url(out, outlen);
  size_t port_at = e;
  if (url[h] == '[') {
    const char *close = memchr(url + h, ']', e - h);
    if (close == NULL || close == url + h + 1)
      return invalid_url(out, outlen);
    port_at = (size_t)(close - url) + 1;
    if (port_at != e && url[port_at] != ':')
      return invalid_url(out, outlen);
  } else {
    for (size_t k = h; k < e; k++) {
      if (url[k] == ':') {
        port_at = k;
        break;
      }
      if (in_set(url[k], "[]\"'<>"))
        return invalid_url(out, outlen);
    }
    if (port_at == h)
      return invalid_url(out, outlen);
  }
  if (port_at < e) {
    if (port_at + 1 == e || e - port_at - 1 > 5)
      return invalid_url(out, outlen);
    for (size_t k = port_at + 1; k < e; k++)
      if (!is_digit(url[k]))
        return invalid_url(out, outlen);
  }
  if (scheme_len + 3 + (e - h) + 1 > outlen)
    return invalid_url(out, outlen);
  size_t o = 0;
  for (size_t k = 0; k < scheme_len; k++)
    out[o++] = (char)lower(url[k]);
  memcpy(out + o, "://", 3);
  o += 3;
  memcpy(out + o, url + h, e - h);
  o += e - h;
  out[o] = '\0';
  return out;
}
