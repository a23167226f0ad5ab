/* mh_sse.c — incremental text/event-stream parser (see mh_internal.h).
 * Follows the WHATWG event-stream rules: lines end in CRLF, LF or CR; a
 * blank line dispatches; ':' starts a comment; "field: value" loses one
 * space after the colon; a line without ':' is a field with an empty
 * value. */
#include <stdlib.h>
#include <string.h>

#include "mh_internal.h"

void mh_sse_init(struct mh_sse *p, size_t max,
                 int (*on_event)(void *ud, const char *data, size_t len),
                 void *ud) {
  memset(p, 0, sizeof(*p));
  p->max = max;
  p->on_event = on_event;
  p->ud = ud;
}

void mh_sse_free(struct mh_sse *p) {
  free(p->line);
  free(p->data);
  p->line = p->data = NULL;
  p->line_len = p->line_cap = p->data_len = p->data_cap = 0;
}

/* Grow *buf to hold `need` bytes; -1 beyond max or on ENOMEM. */
static int reserve(char **buf, size_t *cap, size_t need, size_t max) {
  if (need > max)
    return -1;
  if (need <= *cap)
    return 0;
  size_t n = *cap ? *cap : 256;
  while (n < need)
    n *= 2;
  if (n > max)
    n = max;
  char *b = realloc(*buf, n);
  if (b == NULL)
    return -1;
  *buf = b;
  *cap = n;
  return 0;
}

static int dispatch(struct mh_sse *p) {
  int rc = 0;
  /* Drop the '\n' appended after the last data line; empty data (a
   * priming event) is not dispatched. */
  size_t len = p->data_len > 0 ? p->data_len - 1 : 0;
  if (len > 0 && !p->named_other) {
    p->data[len] = '\0';
    rc = p->on_event(p->ud, p->data, len) != 0 ? 1 : 0;
  }
  p->data_len = 0;
  p->named_other = 0;
  return rc;
}

static int field(struct mh_sse *p, const char *line, size_t len) {
  if (len == 0)
    return dispatch(p);
  if (line[0] == ':')
    return 0; /* comment / keep-alive ping */
  const char *colon = memchr(line, ':', len);
  size_t nlen = colon ? (size_t)(colon - line) : len;
  const char *val = colon ? colon + 1 : line + len;
  size_t vlen = (size_t)(line + len - val);
  if (vlen > 0 && val[0] == ' ') {
    val++;
    vlen--;
  }
  if (nlen == 4 && memcmp(line, "data", 4) == 0) {
    if (reserve(&p->data, &p->data_cap, p->data_len + vlen + 2, p->max) != 0)
      return -1;
    memcpy(p->data + p->data_len, val, vlen);
    p->data_len += vlen;
    p->data[p->data_len++] = '\n';
  } else if (nlen == 5 && memcmp(line, "event", 5) == 0) {
    p->named_other =
        !(vlen == 0 || (vlen == 7 && memcmp(val, "message", 7) == 0));
  }
  /* id, retry and unknown fields: nothing to do (no resumption). */
  return 0;
}

int mh_sse_feed(struct mh_sse *p, const char *buf, size_t len) {
  for (size_t i = 0; i < len; i++) {
    char ch = buf[i];
    if (ch == '\n' && p->after_cr) {
      p->after_cr = 0;
      continue;
    }
    p->after_cr = ch == '\r';
    if (ch == '\r' || ch == '\n') {
      int rc = field(p, p->line ? p->line : "", p->line_len);
      p->line_len = 0;
      if (rc != 0)
        return rc;
      continue;
    }
    if (reserve(&p->line, &p->line_cap, p->line_len + 1, p->max) != 0)
      return -1;
    p->line[p->line_len++] = ch;
  }
  return 0;
}
