/* controlplane/civil_time.h — calendar arithmetic and the RFC 3339
 * timestamps of polled commands (`created_at`). Pure, thread-safe. */
#ifndef TC_CONTROLPLANE_CIVIL_TIME_H
#define TC_CONTROLPLANE_CIVIL_TIME_H

#include <stdint.h>

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1..12). */
int64_t tc_cp_days_from_civil(int64_t year, int month, int day);
/* 28..31 for month 1..12. */
int tc_cp_days_in_month(int64_t year, int month);
/* "2026-06-12T12:13:14.000Z" or "...+02:00" (fraction optional, up to 9
 * digits) to ms since the Unix epoch. Returns 1 on success, else 0. */
int tc_cp_parse_rfc3339(const char *s, int64_t *unix_ms);

#endif /* TC_CONTROLPLANE_CIVIL_TIME_H */
