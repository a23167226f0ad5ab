/* util/sbuf.c — growable string buffer (see sbuf.h). */
#include "util/sbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tc_sbuf_reserve(struct tc_sbuf *b, size_t extra) {
  if (b->failed)
    return -1;
  if (extra > (size_t)-1 / 2 - b->len - 1) {
    b->failed = 1;
    return -1;
  }
  size_t need = b->len + extra + 1;
  if (need <= b->cap)
    return 0;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need)
    cap *= 2;
  char *p = realloc(b->data, cap);
  if (p == NULL) {
    b->failed = 1;
    return -1;
  }
  p[b->len] = '\0';
  b->data = p;
  b->cap = cap;
  return 0;
}

void tc_sbuf_append(struct tc_sbuf *b, const char *s, size_t n) {
  if (tc_sbuf_reserve(b, n) != 0)
    return;
  if (n > 0)
    memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void tc_sbuf_puts(struct tc_sbuf *b, const char *s) {
  tc_sbuf_append(b, s, strlen(s));
}

void tc_sbuf_putc(struct tc_sbuf *b, char c) {
  tc_sbuf_append(b, &c, 1);
}

void tc_sbuf_vprintf(struct tc_sbuf *b, const char *fmt, va_list ap) {
  va_list cp;
  va_copy(cp, ap);
  int n = vsnprintf(NULL, 0, fmt, cp);
  va_end(cp);
  if (n < 0) {
    b->failed = 1;
    return;
  }
  if (tc_sbuf_reserve(b, (size_t)n) != 0)
    return;
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
  b->len += (size_t)n;
}

void tc_sbuf_printf(struct tc_sbuf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  tc_sbuf_vprintf(b, fmt, ap);
  va_end(ap);
}

char *tc_sbuf_finish(struct tc_sbuf *b) {
  if (b->failed) {
    tc_sbuf_free(b);
    return NULL;
  }
  if (b->data == NULL && tc_sbuf_reserve(b, 0) != 0)
    return NULL;
  char *s = b->data;
  b->data = NULL;
  b->len = b->cap = 0;
  return s;
}

void tc_sbuf_free(struct tc_sbuf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
  b->failed = 0;
}
