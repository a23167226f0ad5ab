/* controlplane/poller.c — see poller.h. */
#include "controlplane/poller.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controlplane/backoff.h"
#include "controlplane/client.h"
#include "controlplane/retry_after.h"
#include "controlplane/retry_policy.h"
#include "dispatch/dispatcher.h"
#include "tc/host.h"
#include "util/log.h"

#define POLLER_LOG "controlplane"
#define POLLER_LIMIT_MAX 25
#define POLLER_FULL_WAIT_MS 100
#define POLLER_LIVENESS_SLACK_MS 5000 /* scheduling, slow machines */

struct tc_poller {
  struct tc_cp_client *c;
  struct tc_dispatcher *d;
  pthread_t thread;
  atomic_int stop;
  pthread_mutex_t lock; /* with cond: interruptible sleeps */
  pthread_cond_t cond;
  _Atomic uint64_t due_ns; /* the loop promised to be back by then */
};

/* Promise to be back in the loop within `ms` (tc_poller_alive). */
static void poller_due_in(struct tc_poller *p, int64_t ms) {
  atomic_store(&p->due_ns,
               tc_cp_now_ns() +
                   (uint64_t)((ms > 0 ? ms : 0) + POLLER_LIVENESS_SLACK_MS) *
                       1000000ull);
}

/* Sleep up to ms unless stopped. Returns false when stopped. */
static bool poller_nap(struct tc_poller *p, int64_t ms) {
  poller_due_in(p, ms);
  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_sec += (time_t)(ms / 1000);
  until.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&p->lock);
  while (!atomic_load(&p->stop)) {
    if (pthread_cond_timedwait(&p->cond, &p->lock, &until) == ETIMEDOUT)
      break;
  }
  pthread_mutex_unlock(&p->lock);
  return !atomic_load(&p->stop);
}

/* Wait for a free slot, ~100 ms at most (also when the dispatcher answers
 * at once because it is draining). Returns 1 when a slot is free. */
static int wait_slot(struct tc_poller *p) {
  poller_due_in(p, POLLER_FULL_WAIT_MS);
  uint64_t start = tc_cp_now_ns();
  if (tc_dispatcher_wait_slot(p->d, POLLER_FULL_WAIT_MS) == 1)
    return 1;
  int64_t spent = (int64_t)((tc_cp_now_ns() - start) / 1000000ull);
  if (spent < POLLER_FULL_WAIT_MS)
    poller_nap(p, POLLER_FULL_WAIT_MS - spent);
  return 0;
}

/* Hand every command over in order; a full queue waits for a slot. Once
 * stopped, what could not be handed over is logged as dropped. */
static void submit_all(struct tc_poller *p, struct tc_cp_poll_result *r) {
  for (size_t i = 0; i < r->commands.count; i++) {
    struct tc_cp_command *cmd = &r->commands.items[i];
    for (;;) {
      if (tc_dispatcher_submit(p->d, cmd, r->receipt_ns) == 0)
        break;
      if (atomic_load(&p->stop) && tc_dispatcher_free_slots(p->d) == 0) {
        for (size_t j = i; j < r->commands.count; j++)
          tc_log(TC_LOG_WARN, POLLER_LOG,
                 "command dropped: shutting down before it could be queued",
                 "request_id", r->commands.items[j].request_id, NULL);
        return;
      }
      wait_slot(p);
    }
  }
}

static void log_poll_failure(const struct tc_cp_poll_result *r,
                             const struct tc_cp_retry_decision *d,
                             int64_t wait_ms) {
  char status[16], wait[32];
  snprintf(status, sizeof(status), "%d", r->status);
  snprintf(wait, sizeof(wait), "%" PRId64, wait_ms);
  const char *mitigation =
      d->needs_operator
          ? "needs operator action: check control-plane.api-key and that "
            "the key may use this tunnel"
      : r->status == 429 ? "rate limited: backing off"
      : r->status >= 500 ? "service unavailable: backing off"
      : r->status == 0   ? "network error: check connectivity and proxy "
                           "settings"
                         : "backing off";
  tc_log(d->needs_operator ? TC_LOG_ERROR : TC_LOG_WARN, POLLER_LOG,
         "poll failed; retrying", "status", status, "error_code",
         r->api_error.code, "error", r->error, "mitigation", mitigation,
         "service_request_id", r->service_request_id, "retry_in_ms", wait,
         NULL);
}

static void *poller_main(void *arg) {
  struct tc_poller *p = arg;
  struct tc_backoff bo;
  tc_backoff_init(&bo, 0, 0);
  while (!atomic_load(&p->stop)) {
    size_t slots = tc_dispatcher_free_slots(p->d);
    if (slots == 0) {
      wait_slot(p);
      continue;
    }
    int limit = slots > POLLER_LIMIT_MAX ? POLLER_LIMIT_MAX : (int)slots;
    poller_due_in(p, tc_cp_client_timeout_ms(p->c));
    struct tc_cp_poll_result r;
    int rc = tc_cp_poll_once_cancel(p->c, limit, &p->stop, &r);
    if (r.interrupted) {
      tc_cp_poll_result_clear(&r);
      continue; /* the loop condition tells stop from a one-off interrupt */
    }
    if (rc == 0) {
      tc_backoff_reset(&bo);
      for (size_t i = 0; i < r.commands.dropped_count; i++)
        tc_log(TC_LOG_WARN, POLLER_LOG,
               "poll command dropped (nothing is posted for it)", "reason",
               r.commands.dropped[i], "service_request_id",
               r.service_request_id, NULL);
      if (r.commands.count > (size_t)limit) {
        char got[32], lim[16];
        snprintf(got, sizeof(got), "%zu", r.commands.count);
        snprintf(lim, sizeof(lim), "%d", limit);
        tc_log(TC_LOG_ERROR, POLLER_LOG,
               "poll returned more commands than the limit; processing all",
               "count", got, "limit", lim, "service_request_id",
               r.service_request_id, NULL);
      }
      submit_all(p, &r);
      tc_cp_poll_result_clear(&r);
      continue;
    }
    struct tc_cp_retry_decision d =
        tc_cp_retry_decide(TC_CP_REQ_POLL, r.status, r.tclass, 1);
    int64_t wait = tc_cp_retry_wait_ms(
        tc_backoff_next_ms(&bo), d.honour_retry_after && r.has_retry_after,
        r.retry_after_ms);
    log_poll_failure(&r, &d, wait);
    tc_cp_poll_result_clear(&r);
    poller_nap(p, wait);
  }
  return NULL;
}

int tc_poller_start(struct tc_poller **out, struct tc_cp_client *c,
                    struct tc_dispatcher *d, char **err) {
  if (err != NULL)
    *err = NULL;
  *out = NULL;
  struct tc_poller *p = calloc(1, sizeof(*p));
  if (p == NULL) {
    if (err != NULL)
      *err = strdup("out of memory starting the control-plane poller");
    return -1;
  }
  p->c = c;
  p->d = d;
  atomic_init(&p->stop, 0);
  atomic_init(&p->due_ns, 0);
  poller_due_in(p, POLLER_FULL_WAIT_MS);
  pthread_mutex_init(&p->lock, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&p->cond, &ca);
  pthread_condattr_destroy(&ca);
  int rc = pthread_create(&p->thread, NULL, poller_main, p);
  if (rc != 0) {
    if (err != NULL) {
      char buf[160];
      snprintf(buf, sizeof(buf),
               "cannot start the control-plane poller thread: %s",
               strerror(rc));
      *err = strdup(buf);
    }
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
    free(p);
    return -1;
  }
  *out = p;
  return 0;
}

void tc_poller_stop(struct tc_poller *p) {
  if (p == NULL)
    return;
  pthread_mutex_lock(&p->lock);
  atomic_store(&p->stop, 1);
  pthread_cond_broadcast(&p->cond);
  pthread_mutex_unlock(&p->lock);
  tc_cp_client_wake_poll(p->c);
  pthread_join(p->thread, NULL);
  pthread_cond_destroy(&p->cond);
  pthread_mutex_destroy(&p->lock);
  free(p);
}

bool tc_poller_alive(const struct tc_poller *p) {
  return p != NULL && tc_cp_now_ns() < atomic_load(&p->due_ns);
}
