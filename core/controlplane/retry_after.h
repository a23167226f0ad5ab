/* controlplane/retry_after.h — the Retry-After response header
 * (protocol.md §2.2) and how it combines with backoff.
 *
 * Accepted forms, after trimming blanks: delta-seconds (digits only; more
 * than 60 s or too many digits means 60 s), or an HTTP-date in IMF-fixdate
 * ("Sun, 06 Nov 1994 08:49:37 GMT"), obsolete RFC 850
 * ("Sunday, 06-Nov-94 08:49:37 GMT") or asctime ("Sun Nov  6 08:49:37 1994")
 * form, taken relative to `now`; a date at or before now is ignored, a wait
 * beyond 60 s is capped to 60 s. Anything else (negative, fractional,
 * garbage) is ignored. Pure functions, thread-safe. */
#ifndef TC_CONTROLPLANE_RETRY_AFTER_H
#define TC_CONTROLPLANE_RETRY_AFTER_H

#include <stdint.h>

#define TC_RETRY_AFTER_CAP_MS 60000

/* Returns 1 and sets *wait_ms (0..60000) when `value` is usable, else 0.
 * `now_unix_ms` is the wall clock in ms since the Unix epoch (only used for
 * the date forms). `value` may be NULL. */
int tc_cp_parse_retry_after(const char *value, int64_t now_unix_ms,
                            int64_t *wait_ms);

/* Parse an HTTP-date (any of the three forms, no surrounding blanks) into
 * seconds since the Unix epoch. Returns 1 on success, else 0. */
int tc_cp_parse_http_date(const char *s, int64_t *unix_s);

/* The wait before the next attempt: max(backoff, Retry-After) as the Go
 * client does; `have_retry_after` 0 means backoff alone. */
int64_t tc_cp_retry_wait_ms(int64_t backoff_ms, int have_retry_after,
                            int64_t retry_after_ms);

#endif /* TC_CONTROLPLANE_RETRY_AFTER_H */
