/* controlplane/poller.h — the long-poll loop (protocol.md §1.4, §2.3,
 * §3.1; DESIGN.md §4).
 *
 * One thread, one poll in flight: wait for a free dispatcher slot, poll with
 * limit = min(free slots, 25), submit every returned command in order (a
 * full queue means waiting for a slot, never dropping), poll again at once.
 * Failures back off (jittered 200 ms -> 10 s, max'ed with Retry-After) and
 * retry forever; a successful poll resets the backoff. 401/403 are logged as
 * needing operator action. Decode-dropped commands are logged (warn) with
 * their request ids; nothing is posted for them.
 *
 * Threads: start/stop on the main thread. The client and dispatcher are
 * borrowed and must outlive the poller. */
#ifndef TC_CONTROLPLANE_POLLER_H
#define TC_CONTROLPLANE_POLLER_H

#include <stdbool.h>

struct tc_cp_client;
struct tc_dispatcher;
struct tc_poller;

/* Start the poll thread. Returns 0, or -1 with *err (malloc()ed). */
int tc_poller_start(struct tc_poller **out, struct tc_cp_client *c,
                    struct tc_dispatcher *d, char **err);

/* Stop polling: abort the poll in flight (commands of a reply that is
 * being submitted are still handed over), join the thread, free. NULL is a
 * no-op. */
void tc_poller_stop(struct tc_poller *p);

/* Liveness, for a watchdog: true while the poll loop is inside a step it
 * bounded itself (a poll: the client's request timeout; a backoff sleep; a
 * wait for a free slot) and that bound plus a few seconds has not passed.
 * False means the loop is wedged. Any thread, lock-free. */
bool tc_poller_alive(const struct tc_poller *p);

#endif /* TC_CONTROLPLANE_POLLER_H */
