/* util/error.h — the one way core code hands back an error line. */
#ifndef TC_UTIL_ERROR_H
#define TC_UTIL_ERROR_H

#include "tc/module.h" /* TC_PRINTF */

/* Set *err (when err is not NULL) to a malloc()ed printf-style line, or to
 * NULL when memory ran out (callers print "out of memory" then). Always
 * returns -1, so `return tc_set_error(err, ...);` reads naturally. */
int tc_set_error(char **err, const char *fmt, ...) TC_PRINTF(2, 3);

#endif /* TC_UTIL_ERROR_H */
