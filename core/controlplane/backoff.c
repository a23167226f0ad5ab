/* controlplane/backoff.c — see backoff.h. */
#include "controlplane/backoff.h"

#include <stddef.h>
#include <time.h>

static double default_random(void *ctx) {
  struct tc_backoff *b = ctx;
  /* xorshift64*: plenty for spreading retries. */
  uint64_t x = b->seed;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  b->seed = x;
  uint64_t r = x * 0x2545F4914F6CDD1DULL;
  return (double)(r >> 11) / 9007199254740992.0; /* 53 bits -> [0,1) */
}

void tc_backoff_set_random(struct tc_backoff *b, tc_backoff_random_fn fn,
                           void *ctx) {
  if (fn == NULL) {
    b->random = default_random;
    b->random_ctx = b;
  } else {
    b->random = fn;
    b->random_ctx = ctx;
  }
}

void tc_backoff_init(struct tc_backoff *b, int64_t min_ms, int64_t max_ms) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  b->min_ms = min_ms > 0 ? min_ms : TC_BACKOFF_DEFAULT_MIN_MS;
  b->max_ms = max_ms > 0 ? max_ms : TC_BACKOFF_DEFAULT_MAX_MS;
  b->factor = 2.0;
  b->attempt = 0;
  b->seed = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^
            (uint64_t)(uintptr_t)b ^ 0x9E3779B97F4A7C15ULL;
  if (b->seed == 0)
    b->seed = 1;
  tc_backoff_set_random(b, NULL, NULL);
}

int64_t tc_backoff_for_attempt(struct tc_backoff *b, unsigned attempt) {
  if (b->min_ms >= b->max_ms)
    return b->max_ms;
  double minf = (double)b->min_ms;
  double d = minf;
  /* min * factor^attempt in full (no libm): jitter spans [min, d), so
   * stopping early at max would change the distribution. */
  for (unsigned i = 0; i < attempt && d < 1e300; i++)
    d *= b->factor;
  double r = b->random(b->random_ctx);
  if (!(r >= 0.0) || r >= 1.0) /* tolerate a misbehaving source (or NaN) */
    r = 0.0;
  d = minf + r * (d - minf);
  if (!(d < (double)b->max_ms)) /* also catches inf/NaN */
    return b->max_ms;
  int64_t ms = (int64_t)d;
  return ms < b->min_ms ? b->min_ms : ms;
}

int64_t tc_backoff_next_ms(struct tc_backoff *b) {
  int64_t ms = tc_backoff_for_attempt(b, b->attempt);
  if (b->attempt < 1000) /* far past the cap; avoids wrap-around */
    b->attempt++;
  return ms;
}

void tc_backoff_reset(struct tc_backoff *b) {
  b->attempt = 0;
}
