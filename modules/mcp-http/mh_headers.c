/* mh_headers.c — outgoing header lists for libcurl and the upstream
 * response headers collected from it. Header values may be secrets: they
 * are copied, never logged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mh_internal.h"

/* RFC 7230 token characters. */
static int token_char(unsigned char c) {
  if (c >= '0' && c <= '9')
    return 1;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
    return 1;
  return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int valid_name(const char *n) {
  if (n == NULL || n[0] == '\0')
    return 0;
  for (const unsigned char *p = (const unsigned char *)n; *p; p++)
    if (!token_char(*p))
      return 0;
  return 1;
}

static int valid_value(const char *v) {
  return v == NULL || strpbrk(v, "\r\n") == NULL;
}

static int dropped_from_command(const char *name) {
  return tc_header_name_eq(name, "Host") ||
         tc_header_name_eq(name, "Content-Length") ||
         tc_header_name_eq(name, "Transfer-Encoding");
}

/* Append "Name: value" ("Name;" sends an empty value with libcurl). */
static int append(struct curl_slist **l, const char *name, const char *value) {
  size_t n = strlen(name), v = value ? strlen(value) : 0;
  char *line = malloc(n + v + 3);
  if (line == NULL)
    return -1;
  if (v == 0)
    snprintf(line, n + 2, "%s;", name);
  else
    snprintf(line, n + v + 3, "%s: %s", name, value);
  struct curl_slist *nl = curl_slist_append(*l, line);
  free(line);
  if (nl == NULL)
    return -1;
  *l = nl;
  return 0;
}

static int has(const struct tc_headers *a, const struct tc_headers *b,
               const char *name) {
  return tc_headers_get(a, name, 0) != NULL ||
         tc_headers_get(b, name, 0) != NULL;
}

int mh_build_headers(const struct tc_headers *cmd,
                     const struct tc_headers *extra, enum mh_header_mode mode,
                     struct curl_slist **out, size_t *skipped) {
  struct curl_slist *l = NULL;
  size_t bad = 0;
  for (size_t i = 0; cmd != NULL && i < cmd->count; i++) {
    const struct tc_header *h = &cmd->items[i];
    if (dropped_from_command(h->name))
      continue;
    if (!valid_name(h->name) || !valid_value(h->value)) {
      bad++;
      continue;
    }
    if (append(&l, h->name, h->value) != 0)
      goto oom;
  }
  for (size_t i = 0; extra != NULL && i < extra->count; i++) {
    const struct tc_header *h = &extra->items[i];
    if (tc_headers_get(cmd, h->name, 0) != NULL)
      continue; /* the command's value wins */
    if (!valid_name(h->name) || !valid_value(h->value) ||
        dropped_from_command(h->name)) {
      bad++;
      continue;
    }
    if (append(&l, h->name, h->value) != 0)
      goto oom;
  }
  if (mode == MH_HEADERS_POST) {
    if (!has(cmd, extra, "Accept") &&
        append(&l, "Accept", "application/json, text/event-stream") != 0)
      goto oom;
    if (!has(cmd, extra, "Content-Type") &&
        append(&l, "Content-Type", "application/json") != 0)
      goto oom;
  }
  /* No "Expect: 100-continue" round trip for large bodies ("Name:" with
   * nothing after the colon removes a libcurl default header). */
  if (!has(cmd, extra, "Expect")) {
    struct curl_slist *nl = curl_slist_append(l, "Expect:");
    if (nl == NULL)
      goto oom;
    l = nl;
  }
  *out = l;
  if (skipped != NULL)
    *skipped = bad;
  return 0;
oom:
  curl_slist_free_all(l);
  *out = NULL;
  return -1;
}

static int is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int mh_collect_header(struct tc_headers *h, const char *line, size_t len) {
  if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
    tc_headers_clear(h); /* a new response (1xx, proxy CONNECT, final) */
    return 0;
  }
  while (len > 0 && is_space(line[len - 1]))
    len--;
  if (len == 0 || line[0] == ' ' || line[0] == '\t')
    return 0; /* end of headers, or obsolete line folding */
  const char *colon = memchr(line, ':', len);
  if (colon == NULL || colon == line)
    return 0;
  size_t nlen = (size_t)(colon - line);
  const char *v = colon + 1, *end = line + len;
  while (v < end && is_space(*v))
    v++;
  char *name = malloc(nlen + 1), *value = malloc((size_t)(end - v) + 1);
  int rc = -1;
  if (name != NULL && value != NULL) {
    memcpy(name, line, nlen);
    name[nlen] = '\0';
    memcpy(value, v, (size_t)(end - v));
    value[end - v] = '\0';
    rc = tc_headers_add(h, name, value) == TC_OK ? 0 : -1;
  }
  free(name);
  free(value);
  return rc;
}

int mh_media_type_is(const char *ct, const char *type) {
  if (ct == NULL)
    return 0;
  while (*ct == ' ' || *ct == '\t')
    ct++;
  size_t n = strlen(type);
  for (size_t i = 0; i < n; i++) {
    char a = ct[i], b = type[i];
    if (a >= 'A' && a <= 'Z')
      a = (char)(a - 'A' + 'a');
    if (a != b)
      return 0;
  }
  char after = ct[n];
  return after == '\0' || after == ';' || after == ' ' || after == '\t';
}

char *mh_url_origin(const char *url) {
  const char *sep = strstr(url, "://");
  const char *auth = sep ? sep + 3 : url;
  size_t alen = strcspn(auth, "/?#");
  const char *at = NULL;
  for (const char *p = auth; p < auth + alen; p++)
    if (*p == '@')
      at = p; /* drop userinfo: it may hold credentials */
  const char *host = at ? at + 1 : auth;
  size_t slen = sep ? (size_t)(sep + 3 - url) : 0;
  size_t hlen = (size_t)(auth + alen - host);
  char *o = malloc(slen + hlen + 1);
  if (o == NULL)
    return NULL;
  memcpy(o, url, slen);
  memcpy(o + slen, host, hlen);
  o[slen + hlen] = '\0';
  return o;
}
