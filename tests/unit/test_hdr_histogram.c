/* Unit tests for util/hdr_histogram.c: exact small values, bounded relative
 * error over the whole range, percentiles of known distributions, merge,
 * clamping, and the empty histogram. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "util/hdr_histogram.h"

static struct tc_hist *new_hist(void) {
  struct tc_hist *h = malloc(sizeof(*h));
  assert_non_null(h);
  tc_hist_init(h);
  return h;
}

static void test_empty(void **state) {
  (void)state;
  struct tc_hist *h = new_hist();
  assert_int_equal(h->count, 0);
  assert_int_equal(tc_hist_percentile(h, 50), 0);
  assert_int_equal(tc_hist_percentile(h, 100), 0);
  assert_true(tc_hist_mean(h) == 0.0);
  free(h);
}

static void test_small_values_exact(void **state) {
  (void)state;
  struct tc_hist *h = new_hist();
  for (uint64_t v = 1; v <= 100; v++)
    tc_hist_record(h, v);
  assert_int_equal(h->count, 100);
  assert_int_equal(tc_hist_percentile(h, 50), 50);
  assert_int_equal(tc_hist_percentile(h, 95), 95);
  assert_int_equal(tc_hist_percentile(h, 99), 99);
  assert_int_equal(tc_hist_percentile(h, 100), 100);
  assert_int_equal(tc_hist_percentile(h, 0), 1);
  assert_true(tc_hist_mean(h) == 50.5);
  free(h);
}

/* A single value anywhere in range reads back within 1/64 (and never below
 * the value: percentiles report the bucket's highest equivalent value). */
static void test_relative_error_bound(void **state) {
  (void)state;
  struct tc_hist *h = new_hist();
  for (uint64_t v = 1; v < (UINT64_C(1) << 40); v = v * 3 + 7) {
    tc_hist_init(h);
    tc_hist_record(h, v);
    tc_hist_record(h, v + v / 1000 + 1); /* max above v */
    uint64_t got = tc_hist_percentile(h, 50);
    assert_true(got >= v);
    assert_true((double)(got - v) <= (double)v / 64.0 + 1.0);
  }
  free(h);
}

static void test_percentiles_of_uniform_range(void **state) {
  (void)state;
  struct tc_hist *h = new_hist();
  for (uint64_t v = 1; v <= 100000; v++) /* 1 us .. 100 ms */
    tc_hist_record(h, v);
  struct {
    double p;
    uint64_t want;
  } cases[] = {{50, 50000}, {95, 95000}, {99, 99000}, {99.9, 99900}};
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    uint64_t got = tc_hist_percentile(h, cases[i].p);
    assert_true(got >= cases[i].want);
    assert_true(got <= cases[i].want + cases[i].want / 64 + 1);
  }
  assert_int_equal(tc_hist_percentile(h, 100), 100000);
  assert_int_equal(h->min, 1);
  free(h);
}

static void test_merge_equals_single(void **state) {
  (void)state;
  struct tc_hist *a = new_hist(), *b = new_hist(), *all = new_hist();
  for (uint64_t v = 0; v < 5000; v++) {
    uint64_t x = (v * 2654435761u) % 1000000u;
    tc_hist_record((v & 1) ? a : b, x);
    tc_hist_record(all, x);
  }
  tc_hist_merge(a, b);
  assert_int_equal(a->count, all->count);
  assert_int_equal(a->min, all->min);
  assert_int_equal(a->max, all->max);
  for (double p = 1; p < 100; p += 7)
    assert_int_equal(tc_hist_percentile(a, p), tc_hist_percentile(all, p));
  struct tc_hist *empty = new_hist();
  tc_hist_merge(a, empty);
  assert_int_equal(a->count, all->count);
  free(a);
  free(b);
  free(all);
  free(empty);
}

static void test_clamps_huge_values(void **state) {
  (void)state;
  struct tc_hist *h = new_hist();
  tc_hist_record(h, UINT64_MAX);
  tc_hist_record(h, 0);
  assert_int_equal(h->count, 2);
  assert_int_equal(h->max, (UINT64_C(1) << 40) - 1);
  assert_int_equal(tc_hist_percentile(h, 100), (UINT64_C(1) << 40) - 1);
  assert_int_equal(tc_hist_percentile(h, 50), 0);
  free(h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_empty),
      cmocka_unit_test(test_small_values_exact),
      cmocka_unit_test(test_relative_error_bound),
      cmocka_unit_test(test_percentiles_of_uniform_range),
      cmocka_unit_test(test_merge_equals_single),
      cmocka_unit_test(test_clamps_huge_values),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
