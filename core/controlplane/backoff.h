/* controlplane/backoff.h — jittered exponential backoff (protocol.md §2.1).
 *
 * Attempt n (0-based) waits d = min * factor^n, jittered to
 * min + U[0,1) * (d - min) and clamped to [min, max]. So the first wait is
 * exactly `min`, then U[min, 2min), U[min, 4min), ... up to `max`.
 * Defaults: min 200 ms, max 10 s, factor 2, jitter on.
 *
 * Threads: a struct tc_backoff is owned by one thread (the poll loop keeps
 * one for its lifetime; each response POST takes a fresh one). The random
 * source is injectable for tests; the default is a per-instance xorshift
 * generator seeded from the clock and the instance address (jitter only,
 * not security-sensitive). */
#ifndef TC_CONTROLPLANE_BACKOFF_H
#define TC_CONTROLPLANE_BACKOFF_H

#include <stdint.h>

#define TC_BACKOFF_DEFAULT_MIN_MS 200
#define TC_BACKOFF_DEFAULT_MAX_MS 10000

/* Returns a value in [0, 1). */
typedef double (*tc_backoff_random_fn)(void *ctx);

struct tc_backoff {
  int64_t min_ms;
  int64_t max_ms;
  double factor;
  unsigned attempt; /* attempts handed out since the last reset */
  tc_backoff_random_fn random;
  void *random_ctx;
  uint64_t seed; /* state of the default generator */
};

/* Set up with min/max in ms (<= 0 selects the default) and the default
 * random source. If min >= max every wait is `max`. */
void tc_backoff_init(struct tc_backoff *b, int64_t min_ms, int64_t max_ms);
/* Replace the random source (NULL restores the default). */
void tc_backoff_set_random(struct tc_backoff *b, tc_backoff_random_fn fn,
                           void *ctx);
/* The wait for `attempt` without advancing (pure apart from the draw). */
int64_t tc_backoff_for_attempt(struct tc_backoff *b, unsigned attempt);
/* The next wait in ms; advances the attempt counter. */
int64_t tc_backoff_next_ms(struct tc_backoff *b);
/* Start over at `min` (after any success). */
void tc_backoff_reset(struct tc_backoff *b);

#endif /* TC_CONTROLPLANE_BACKOFF_H */
