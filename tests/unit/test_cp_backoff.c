/* Unit tests for controlplane/backoff.c: bounds, growth and jitter with a
 * fixed random source, reset, and the default source staying in range. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "controlplane/backoff.h"

static double fixed(void *ctx) {
  return *(double *)ctx;
}

static void test_first_wait_is_min(void **state) {
  struct tc_backoff b;
  double r = 0.999;
  tc_backoff_init(&b, 0, 0);
  assert_true(b.min_ms == 200 && b.max_ms == 10000);
  tc_backoff_set_random(&b, fixed, &r);
  assert_int_equal(tc_backoff_next_ms(&b), 200);
}

static void test_growth_upper_edge(void **state) {
  /* r just below 1: the top of each jitter window, 200*2^n - 1. */
  struct tc_backoff b;
  double r = 0.999999;
  tc_backoff_init(&b, 0, 0);
  tc_backoff_set_random(&b, fixed, &r);
  int64_t want[] = {200, 399, 799, 1599, 3199, 6399, 10000, 10000, 10000};
  for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
    assert_int_equal(tc_backoff_next_ms(&b), want[i]);
}

static void test_growth_midpoint_and_floor(void **state) {
  struct tc_backoff b;
  double r = 0.5;
  tc_backoff_init(&b, 0, 0);
  tc_backoff_set_random(&b, fixed, &r);
  /* 200 + 0.5*(200*2^n - 200) */
  int64_t want[] = {200, 300, 500, 900, 1700, 3300, 6500, 10000};
  for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
    assert_int_equal(tc_backoff_next_ms(&b), want[i]);
  r = 0.0; /* the floor of every window is min */
  for (int i = 0; i < 20; i++)
    assert_int_equal(tc_backoff_next_ms(&b), 200);
}

static void test_reset(void **state) {
  struct tc_backoff b;
  double r = 0.5;
  tc_backoff_init(&b, 0, 0);
  tc_backoff_set_random(&b, fixed, &r);
  for (int i = 0; i < 5; i++)
    tc_backoff_next_ms(&b);
  assert_int_equal(tc_backoff_next_ms(&b), 3300);
  tc_backoff_reset(&b);
  assert_int_equal(tc_backoff_next_ms(&b), 200);
  assert_int_equal(tc_backoff_next_ms(&b), 300);
}

static void test_custom_bounds_and_bad_source(void **state) {
  struct tc_backoff b;
  double r = 0.5;
  tc_backoff_init(&b, 10, 50); /* dev proxy override */
  tc_backoff_set_random(&b, fixed, &r);
  int64_t want[] = {10, 15, 25, 45, 50, 50};
  for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
    assert_int_equal(tc_backoff_next_ms(&b), want[i]);
  tc_backoff_init(&b, 500, 100); /* min >= max: always max */
  assert_int_equal(tc_backoff_next_ms(&b), 100);
  tc_backoff_init(&b, 0, 0);
  r = 7.0; /* out of range: treated as 0 */
  tc_backoff_set_random(&b, fixed, &r);
  tc_backoff_next_ms(&b);
  assert_int_equal(tc_backoff_next_ms(&b), 200);
}

static void test_default_source_in_range(void **state) {
  struct tc_backoff b;
  tc_backoff_init(&b, 0, 0);
  for (unsigned n = 0; n < 200; n++) {
    int64_t lo = 200, hi = 200;
    for (unsigned k = 0; k < n && hi < 10000; k++)
      hi *= 2;
    if (hi > 10000)
      hi = 10000;
    int64_t w = tc_backoff_for_attempt(&b, n);
    assert_true(w >= lo && w <= hi);
    if (n == 0)
      assert_int_equal(w, 200);
  }
  /* The jitter really varies: 20 draws for attempt 5 are not all equal. */
  int64_t first = tc_backoff_for_attempt(&b, 5);
  int differ = 0;
  for (int i = 0; i < 20; i++)
    differ += tc_backoff_for_attempt(&b, 5) != first;
  assert_true(differ > 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_first_wait_is_min),
      cmocka_unit_test(test_growth_upper_edge),
      cmocka_unit_test(test_growth_midpoint_and_floor),
      cmocka_unit_test(test_reset),
      cmocka_unit_test(test_custom_bounds_and_bad_source),
      cmocka_unit_test(test_default_source_in_range),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
