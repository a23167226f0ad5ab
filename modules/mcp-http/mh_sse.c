/* mh_sse.c — incremental text/event-stream parser (see mh_internal.h).
 * Follows the WHATWG event-stream rules: lines end in CRLF, LF or CR; a
 * blank line dispatches; ':' starts a comment; "field: value" loses one
 * space after the colon; a line without ':' is a field with an empty
 * value.
 *
 * Bytes are routed as they arrive, never staged in a line buffer: a
 * "data" value goes straight into the event's data buffer (the only place
 * a message is held), an "event" name into a small fixed buffer, and every
 * other field's value is skipped. */
#include <stdlib.h>
#include <string.h>

#include "mh_internal.h"

enum { ST_NAME = 0, ST_VALUE_START, ST_VALUE };

void mh_sse_init(struct mh_sse *p, const struct tc_host *host, size_t max,
                 int (*on_event)(void *ud, const char *data, size_t len),
                 void *ud) {
  memset(p, 0, sizeof(*p));
  mh_buf_init(&p->data, host, max);
  p->on_event = on_event;
  p->ud = ud;
}

void mh_sse_free(struct mh_sse *p) {
  mh_buf_free(&p->data);
}

static int is_field(const struct mh_sse *p, const char *name) {
  size_t n = strlen(name);
  return !p->name_long && p->name_len == n && memcmp(p->name, name, n) == 0;
}

static int dispatch(struct mh_sse *p) {
  int rc = 0;
  /* Drop the '\n' appended after the last data line; empty data (a
   * priming event) is not dispatched. */
  size_t len = p->data.len > 0 ? p->data.len - 1 : 0;
  if (len > 0 && !p->named_other) {
    p->data.p[len] = '\0';
    rc = p->on_event(p->ud, p->data.p, len) != 0 ? 1 : 0;
  }
  p->data.len = 0; /* the owner may also have freed it */
  p->named_other = 0;
  return rc;
}

/* The line ended. 0 go on, 1 stop (on_event said so), -1 error. */
static int end_line(struct mh_sse *p) {
  int rc = 0;
  if (p->state == ST_NAME && p->name_len == 0 && !p->name_long) {
    rc = dispatch(p); /* blank line */
  } else if (p->state == ST_NAME && p->name_len > 0 && p->name[0] == ':') {
    /* comment / keep-alive ping */
  } else if (is_field(p, "data")) {
    p->err = mh_buf_append(&p->data, "\n", 1);
    rc = p->err == MH_BUF_OK ? 0 : -1;
  } else if (is_field(p, "event")) {
    p->named_other =
        !(p->event_len == 0 || (p->event_len == 7 && !p->event_long &&
                                memcmp(p->event, "message", 7) == 0));
  }
  /* id, retry and unknown fields: nothing to do (no resumption). */
  p->state = ST_NAME;
  p->name_len = 0;
  p->name_long = 0;
  p->event_len = 0;
  p->event_long = 0;
  return rc;
}

/* Value bytes [s, s + n) of the current field. */
static int value_bytes(struct mh_sse *p, const char *s, size_t n) {
  if (is_field(p, "data")) {
    p->err = mh_buf_append(&p->data, s, n);
    return p->err == MH_BUF_OK ? 0 : -1;
  }
  if (is_field(p, "event")) {
    size_t room = sizeof(p->event) - p->event_len;
    if (n > room)
      p->event_long = 1;
    memcpy(p->event + p->event_len, s, n < room ? n : room);
    p->event_len += n < room ? n : room;
  }
  return 0;
}

int mh_sse_feed(struct mh_sse *p, const char *buf, size_t len) {
  size_t i = 0;
  while (i < len) {
    char ch = buf[i];
    if (ch == '\n' && p->after_cr) {
      p->after_cr = 0;
      i++;
      continue;
    }
    p->after_cr = ch == '\r';
    if (ch == '\r' || ch == '\n') {
      i++;
      int rc = end_line(p);
      if (rc != 0)
        return rc;
      continue;
    }
    if (p->state == ST_NAME) {
      if (ch == ':' && p->name_len > 0) {
        p->state = ST_VALUE_START;
      } else if (ch == ':' && p->name_len == 0 && !p->name_long) {
        p->name[p->name_len++] = ':'; /* a comment: skipped to its end */
        p->name_long = 1;
      } else if (p->name_len < sizeof(p->name)) {
        p->name[p->name_len++] = ch;
      } else {
        p->name_long = 1; /* no field we know is this long */
      }
      i++;
      continue;
    }
    if (p->state == ST_VALUE_START) {
      p->state = ST_VALUE;
      if (ch == ' ') { /* one leading space is dropped */
        i++;
        continue;
      }
    }
    /* A run of value bytes up to the line's end. */
    size_t j = i;
    while (j < len && buf[j] != '\r' && buf[j] != '\n')
      j++;
    if (value_bytes(p, buf + i, j - i) != 0)
      return -1;
    i = j;
  }
  return 0;
}
