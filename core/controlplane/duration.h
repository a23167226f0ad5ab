/* controlplane/duration.h — the `response_timeout` grammar of a polled
 * command (protocol.md §1.6).
 *
 * Valid iff the whole string matches ^[0-9]+(ns|us|ms|s|m|h)$ and the value
 * fits a signed 64-bit count of nanoseconds. Anything else (signs, fractions,
 * compound values such as "1m30s", surrounding blanks, exponents, other
 * units, overflow, NULL) means "no deadline"; the command is still processed.
 * Pure function, thread-safe. */
#ifndef TC_CONTROLPLANE_DURATION_H
#define TC_CONTROLPLANE_DURATION_H

#include <stdint.h>

/* Returns 1 and stores the value in *ns when `s` is a valid timeout, else 0
 * (and *ns is left untouched). `s` may be NULL. */
int tc_cp_parse_response_timeout(const char *s, int64_t *ns);

#endif /* TC_CONTROLPLANE_DURATION_H */
