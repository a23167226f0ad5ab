/* ops/service_notify.h — tell the service manager (systemd Type=notify)
 * what /readyz says: READY=1 once the readiness verdict is "ready", STATUS=
 * lines with the verdict's text whenever it changes, WATCHDOG=1 pings while
 * the request path is alive, and STOPPING=1 when the drain begins.
 *
 * One watcher thread re-evaluates readiness every READY_POLL_MS until ready,
 * then every second; it takes no lock of its own that the request path or
 * the ops listener takes (the check is the one /readyz runs). With a
 * watchdog ($WATCHDOG_USEC for this process) it pings at half the timeout,
 * but only while alive() says the request path makes progress: a wedged
 * poll loop stops the pings and the manager restarts the service.
 *
 * Without $NOTIFY_SOCKET nothing starts and every call is a no-op.
 * Threads: start and stopping on the main thread. */
#ifndef TC_OPS_SERVICE_NOTIFY_H
#define TC_OPS_SERVICE_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

struct tc_service_notify;

struct tc_service_notify_ops {
  void *ud;
  /* The readiness verdict now: 0 with *ready and *text (malloc()ed, the
   * /readyz body), or -1 (out of memory; retried on the next tick). Called
   * on the watcher thread. */
  int (*check)(void *ud, bool *ready, char **text);
  /* True while the request path makes progress (watchdog only). NULL =
   * always alive. Called on the watcher thread. */
  bool (*alive)(void *ud);
};

/* Start the watcher when $NOTIFY_SOCKET is set: 0 with *out (NULL when
 * there is nothing to notify), or -1 with *err (malloc()ed) when the thread
 * cannot start. `ops` is copied; its ud must outlive
 * tc_service_notify_stopping(). */
int tc_service_notify_start(struct tc_service_notify **out,
                            const struct tc_service_notify_ops *ops,
                            char **err);

/* A configuration reload begins: send RELOADING=1 (with MONOTONIC_USEC).
 * Main thread; NULL is a no-op. */
void tc_service_notify_reloading(struct tc_service_notify *n);
/* The reload ended (applied or refused): READY=1 is sent again as soon as
 * the readiness verdict says ready, which ends the manager's reloading
 * state. Main thread; NULL is a no-op. */
void tc_service_notify_reloaded(struct tc_service_notify *n);

/* Stop the watcher (no ping, status or READY=1 after this returns), send
 * "STOPPING=1" with STATUS=`status` (may be NULL), and free. Sent even when
 * start returned NULL, as long as $NOTIFY_SOCKET is set. */
void tc_service_notify_stopping(struct tc_service_notify *n,
                                const char *status);

#endif /* TC_OPS_SERVICE_NOTIFY_H */
