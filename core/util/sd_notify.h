/* util/sd_notify.h — the service manager's notification protocol
 * (sd_notify(3)) through libsystemd: READY=1, STATUS=, STOPPING=1,
 * RELOADING=1, WATCHDOG=1.
 *
 * Without $NOTIFY_SOCKET every call does nothing and returns 0, so callers
 * need no guard. The environment is only read, never changed (children
 * inherit it; under NotifyAccess=main the manager ignores their messages).
 * Threads: every function may be called from any thread. */
#ifndef TC_UTIL_SD_NOTIFY_H
#define TC_UTIL_SD_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "tc/module.h" /* TC_PRINTF */

/* True when $NOTIFY_SOCKET names a socket to notify. */
bool tc_sd_notify_enabled(void);

/* Send `state` (newline-separated VAR=VALUE lines). Returns 1 when sent, 0
 * without $NOTIFY_SOCKET, or a negative errno when sending failed. */
int tc_sd_notify(const char *state);
/* The same with a printf-style format. */
int tc_sd_notifyf(const char *fmt, ...) TC_PRINTF(1, 2);

/* "RELOADING=1" with the MONOTONIC_USEC= that Type=notify-reload wants;
 * send READY=1 once the reload finished. */
int tc_sd_notify_reloading(void);

/* The watchdog timeout the manager expects pings within, in microseconds,
 * or 0 when it expects none from this process ($WATCHDOG_USEC unset, or
 * $WATCHDOG_PID names another process). */
uint64_t tc_sd_watchdog_usec(void);

#endif /* TC_UTIL_SD_NOTIFY_H */
