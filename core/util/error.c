/* util/error.c — see error.h. */
#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>

int tc_set_error(char **err, const char *fmt, ...) {
  if (err != NULL) {
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(err, fmt, ap) < 0)
      *err = NULL;
    va_end(ap);
  }
  return -1;
}
