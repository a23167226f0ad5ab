/* util/sbuf.h — a growable NUL-terminated byte buffer.
 *
 * Appends never fail loudly: on ENOMEM the buffer turns sticky-failed, later
 * appends are ignored and tc_sbuf_finish() returns NULL. Not synchronised;
 * one owner at a time. */
#ifndef TC_UTIL_SBUF_H
#define TC_UTIL_SBUF_H

#include <stdarg.h>
#include <stddef.h>

#include "tc/module.h" /* TC_PRINTF */

struct tc_sbuf {
  char *data; /* NUL-terminated when not NULL */
  size_t len;
  size_t cap;
  int failed; /* sticky ENOMEM */
};

#define TC_SBUF_INIT                                                           \
  { NULL, 0, 0, 0 }

/* Make room for `extra` more bytes (plus the NUL). 0, or -1 on ENOMEM. */
int tc_sbuf_reserve(struct tc_sbuf *b, size_t extra);
void tc_sbuf_append(struct tc_sbuf *b, const char *s, size_t n);
void tc_sbuf_puts(struct tc_sbuf *b, const char *s);
void tc_sbuf_putc(struct tc_sbuf *b, char c);
void tc_sbuf_printf(struct tc_sbuf *b, const char *fmt, ...) TC_PRINTF(2, 3);
void tc_sbuf_vprintf(struct tc_sbuf *b, const char *fmt, va_list ap)
    TC_PRINTF(2, 0);
/* Hand the string to the caller (malloc()ed; "" when nothing was appended)
 * and reset the buffer. NULL when an append failed. */
char *tc_sbuf_finish(struct tc_sbuf *b);
/* Release the buffer without handing it out. */
void tc_sbuf_free(struct tc_sbuf *b);

#endif /* TC_UTIL_SBUF_H */
