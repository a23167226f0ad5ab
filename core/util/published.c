/* util/published.c — see published.h. Every atomic is sequentially
 * consistent: a reader's count-in precedes its generation re-check, and the
 * writer's generation store precedes its count read, so a reader the
 * writer does not wait for has seen the new generation and retries. */
#include "util/published.h"

#include <sched.h>
#include <time.h>

void tc_published_init(struct tc_published *p, void *initial) {
  atomic_init(&p->gen, 0);
  atomic_init(&p->ptr[0], initial);
  atomic_init(&p->ptr[1], NULL);
  atomic_init(&p->readers[0], 0);
  atomic_init(&p->readers[1], 0);
}

void *tc_published_enter(struct tc_published *p, unsigned *slot) {
  for (;;) {
    unsigned g = atomic_load(&p->gen);
    unsigned i = g & 1u;
    atomic_fetch_add(&p->readers[i], 1);
    if (atomic_load(&p->gen) == g) {
      *slot = i;
      return atomic_load(&p->ptr[i]);
    }
    atomic_fetch_sub(&p->readers[i], 1); /* a swap moved on: retry */
  }
}

void tc_published_exit(struct tc_published *p, unsigned slot) {
  atomic_fetch_sub(&p->readers[slot & 1u], 1);
}

/* Yield first; after a while sleep briefly, so a preempted reader gets the
 * CPU back on a loaded machine. */
static void wait_zero(atomic_int *count) {
  for (unsigned spins = 0; atomic_load(count) != 0; spins++) {
    if (spins < 64) {
      sched_yield();
    } else {
      struct timespec ts = {0, 100 * 1000};
      nanosleep(&ts, NULL);
    }
  }
}

void *tc_published_swap(struct tc_published *p, void *next) {
  unsigned g = atomic_load(&p->gen);
  unsigned cur = g & 1u, other = cur ^ 1u;
  /* Readers that saw an older generation may still count themselves into
   * `other` for a moment; they re-check, fail and leave. */
  wait_zero(&p->readers[other]);
  atomic_store(&p->ptr[other], next);
  atomic_store(&p->gen, g + 1u);
  void *old = atomic_load(&p->ptr[cur]);
  wait_zero(&p->readers[cur]);
  atomic_store(&p->ptr[cur], NULL);
  return old;
}

void *tc_published_peek(struct tc_published *p) {
  return atomic_load(&p->ptr[atomic_load(&p->gen) & 1u]);
}
