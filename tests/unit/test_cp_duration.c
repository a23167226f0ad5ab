/* Unit tests for controlplane/duration.c: the response_timeout grammar. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "controlplane/duration.h"

static void valid(const char *s, int64_t want) {
  int64_t ns = -42;
  assert_int_equal(tc_cp_parse_response_timeout(s, &ns), 1);
  assert_true(ns == want);
}

static void invalid(const char *s) {
  int64_t ns = -42;
  assert_int_equal(tc_cp_parse_response_timeout(s, &ns), 0);
  assert_true(ns == -42); /* untouched */
}

static void test_valid_values(void **state) {
  valid("30s", 30000000000LL);
  valid("4500ms", 4500000000LL);
  valid("0s", 0);
  valid("9223372036854775807ns", INT64_MAX);
  valid("1ns", 1);
  valid("7us", 7000);
  valid("2m", 120000000000LL);
  valid("1h", 3600000000000LL);
  valid("0007s", 7000000000LL);
  valid("2562047h", 2562047LL * 3600 * 1000000000LL); /* largest whole hour */
}

static void test_invalid_values(void **state) {
  invalid(NULL);
  invalid("");
  invalid("-1s");
  invalid("+1s");
  invalid("4.5s");
  invalid("1m30s");
  invalid(" 1s");
  invalid("0s ");
  invalid("1e3s");
  invalid("1d");
  invalid("s");
  invalid("10");
  invalid("10S");
  invalid("10µs");
  invalid("9223372036854775808ns"); /* INT64_MAX + 1 */
  invalid("2562048h");              /* overflows as nanoseconds */
  invalid("9223372036854775807s");
  invalid("99999999999999999999999999ms");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_valid_values),
      cmocka_unit_test(test_invalid_values),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
