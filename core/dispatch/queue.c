/* dispatch/queue.c — the bounded FIFO between the poller and the workers
 * (protocol.md §3.1). A ring of `cap` items guarded by one mutex; pushes
 * never block (the poller asks for free slots first), pops block until an
 * item arrives or the queue is closed and empty. Condition variables wait on
 * CLOCK_MONOTONIC so wall-clock jumps do not stretch timeouts. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dispatch/dispatch_internal.h"

uint64_t tc_dispatch_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cond_init_monotonic(pthread_cond_t *c) {
  pthread_condattr_t a;
  if (pthread_condattr_init(&a) != 0)
    return -1;
  pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
  int rc = pthread_cond_init(c, &a);
  pthread_condattr_destroy(&a);
  return rc == 0 ? 0 : -1;
}

int tc_dispatch_queue_init(struct tc_dispatch_queue *q, size_t cap) {
  memset(q, 0, sizeof(*q));
  if (cap == 0)
    cap = 1;
  q->items = calloc(cap, sizeof(*q->items));
  if (q->items == NULL)
    return -1;
  q->cap = cap;
  if (pthread_mutex_init(&q->mu, NULL) != 0)
    goto fail_items;
  if (cond_init_monotonic(&q->not_empty) != 0)
    goto fail_mu;
  if (cond_init_monotonic(&q->not_full) != 0)
    goto fail_ne;
  return 0;
fail_ne:
  pthread_cond_destroy(&q->not_empty);
fail_mu:
  pthread_mutex_destroy(&q->mu);
fail_items:
  free(q->items);
  q->items = NULL;
  return -1;
}

void tc_dispatch_queue_destroy(struct tc_dispatch_queue *q) {
  if (q->items == NULL)
    return;
  for (size_t i = 0; i < q->count; i++)
    tc_cp_command_clear(&q->items[(q->head + i) % q->cap].cmd);
  free(q->items);
  q->items = NULL;
  q->count = 0;
  pthread_cond_destroy(&q->not_full);
  pthread_cond_destroy(&q->not_empty);
  pthread_mutex_destroy(&q->mu);
}

int tc_dispatch_queue_push(struct tc_dispatch_queue *q,
                           struct tc_cp_command *cmd, uint64_t receipt_ns) {
  int rc = -1;
  pthread_mutex_lock(&q->mu);
  if (!q->closed && q->count < q->cap) {
    struct tc_dispatch_item *it = &q->items[(q->head + q->count) % q->cap];
    it->cmd = *cmd;
    it->receipt_ns = receipt_ns;
    memset(cmd, 0, sizeof(*cmd));
    q->count++;
    pthread_cond_signal(&q->not_empty);
    rc = 0;
  }
  pthread_mutex_unlock(&q->mu);
  return rc;
}

int tc_dispatch_queue_pop(struct tc_dispatch_queue *q,
                          struct tc_dispatch_item *out) {
  pthread_mutex_lock(&q->mu);
  while (q->count == 0 && !q->closed)
    pthread_cond_wait(&q->not_empty, &q->mu);
  if (q->count == 0) {
    pthread_mutex_unlock(&q->mu);
    return -1;
  }
  struct tc_dispatch_item *it = &q->items[q->head];
  *out = *it;
  memset(it, 0, sizeof(*it));
  q->head = (q->head + 1) % q->cap;
  q->count--;
  pthread_cond_broadcast(&q->not_full);
  pthread_mutex_unlock(&q->mu);
  return 0;
}

size_t tc_dispatch_queue_free_slots(struct tc_dispatch_queue *q) {
  pthread_mutex_lock(&q->mu);
  size_t n = q->closed ? 0 : q->cap - q->count;
  pthread_mutex_unlock(&q->mu);
  return n;
}

int tc_dispatch_queue_wait_slot(struct tc_dispatch_queue *q, int timeout_ms) {
  struct timespec until;
  if (timeout_ms >= 0) {
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
      until.tv_sec++;
      until.tv_nsec -= 1000000000L;
    }
  }
  pthread_mutex_lock(&q->mu);
  while (!q->closed && q->count >= q->cap) {
    if (timeout_ms < 0) {
      pthread_cond_wait(&q->not_full, &q->mu);
    } else if (pthread_cond_timedwait(&q->not_full, &q->mu, &until) ==
               ETIMEDOUT) {
      break;
    }
  }
  int ok = !q->closed && q->count < q->cap;
  pthread_mutex_unlock(&q->mu);
  return ok;
}

void tc_dispatch_queue_close(struct tc_dispatch_queue *q) {
  pthread_mutex_lock(&q->mu);
  q->closed = 1;
  pthread_cond_broadcast(&q->not_empty);
  pthread_cond_broadcast(&q->not_full);
  pthread_mutex_unlock(&q->mu);
}
