/* controlplane/request_headers.c — see request_headers.h. */
#include "controlplane/request_headers.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const removed_names[] = {
    /* hop-by-hop */
    "Connection", "Keep-Alive", "Proxy-Connection", "TE", "Transfer-Encoding",
    "Upgrade", "Trailer", "Proxy-Authorization", "Proxy-Authenticate",
    /* the agent's own request */
    "Host", "Content-Length", "Content-Type", "Content-Encoding", "Expect",
    "Accept-Encoding",
    /* caller-address claims */
    "Forwarded", "X-Real-IP", "True-Client-IP", "CF-Connecting-IP",
    "X-Client-IP", "X-Cluster-Client-IP", "X-Original-Forwarded-For", "Via",
    /* another site's credentials */
    "Cookie"};

static int removed_by_rule(const char *name) {
  for (size_t i = 0; i < sizeof(removed_names) / sizeof(removed_names[0]); i++)
    if (tc_header_name_eq(name, removed_names[i]))
      return 1;
  return strncasecmp(name, "X-Forwarded-", 12) == 0;
}

/* 1 when a Connection value (comma-separated tokens, optional whitespace)
 * names `name`. */
static int listed(const char *value, const char *name) {
  size_t n = strlen(name);
  for (const char *p = value; *p != '\0';) {
    p += strspn(p, " \t,");
    size_t len = strcspn(p, ",");
    size_t t = len;
    while (t > 0 && (p[t - 1] == ' ' || p[t - 1] == '\t'))
      t--;
    if (t == n && n > 0 && strncasecmp(p, name, n) == 0)
      return 1;
    p += len;
  }
  return 0;
}

/* 1 when a Connection entry among items[0..w) or items[from..count)
 * names `name` (the entries in between were moved or freed). */
static int listed_in_connection(const struct tc_headers *h, size_t w,
                                size_t from, const char *name) {
  for (size_t i = 0; i < h->count; i++) {
    if (i == w)
      i = from;
    if (i >= h->count)
      break;
    if (tc_header_name_eq(h->items[i].name, "Connection") &&
        listed(h->items[i].value, name))
      return 1;
  }
  return 0;
}

size_t tc_cp_strip_request_headers(struct tc_headers *h) {
  if (h == NULL)
    return 0;
  /* Connection entries are kept until every other entry is decided: their
   * values name the others that go too. */
  size_t w = 0, removed = 0;
  for (size_t i = 0; i < h->count; i++) {
    const char *name = h->items[i].name;
    if (!tc_header_name_eq(name, "Connection") &&
        (removed_by_rule(name) || listed_in_connection(h, w, i, name))) {
      free(h->items[i].name);
      free(h->items[i].value);
      removed++;
    } else {
      h->items[w++] = h->items[i];
    }
  }
  h->count = w;
  return removed + tc_headers_remove(h, "Connection");
}
