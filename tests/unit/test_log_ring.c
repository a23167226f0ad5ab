/* Unit tests for the admin log ring buffer in util/log.c: sequence numbers,
 * wrap-around at the capacity, since/limit/next paging, resizing, level
 * filtering, redaction of message and attributes, and the disabled state. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <fcntl.h>
#include <unistd.h>

#include "config/config.h"
#include "util/log.h"
#include "util/redact.h"

static int setup(void **state) {
  (void)state;
  /* Lines go to /dev/null; only the ring matters here. */
  struct tc_log_options o = {.level = TC_LOG_INFO,
                             .format = TC_LOG_FORMAT_DEFAULT,
                             .file = "/dev/null"};
  char *err = NULL;
  assert_int_equal(tc_log_open(&o, &err), 0);
  tc_redact_reset();
  return 0;
}

static int teardown(void **state) {
  (void)state;
  tc_log_ring_disable();
  tc_log_close();
  tc_redact_reset();
  return 0;
}

/* Read everything after `since`; returns the count and fills e / next. */
static size_t read_all(unsigned long long since, size_t limit,
                       struct tc_log_entry **e, unsigned long long *next) {
  size_t n = tc_log_ring_read(since, limit, e, next);
  assert_true(n != (size_t)-1);
  return n;
}

static void test_wrap_and_paging(void **state) {
  (void)state;
  assert_int_equal(tc_log_ring_enable(3), 0);
  struct tc_log_entry *e = NULL;
  unsigned long long next = 0;
  size_t n = read_all(0, 100, &e, &next);
  unsigned long long base = next; /* lines of earlier tests were counted */
  tc_log_entries_free(e, n);
  assert_int_equal(n, 0);
  for (int i = 1; i <= 5; i++)
    tc_logf(TC_LOG_INFO, "test", "line %d", i);
  n = read_all(0, 100, &e, &next);
  assert_int_equal(n, 3); /* the oldest two were overwritten */
  assert_string_equal(e[0].text, "line 3");
  assert_string_equal(e[2].text, "line 5");
  assert_int_equal(e[0].seq, base + 3);
  assert_int_equal(e[2].seq, base + 5);
  assert_int_equal(next, base + 5);
  assert_string_equal(e[0].component, "test");
  assert_int_equal(e[0].level, TC_LOG_INFO);
  assert_int_equal(strlen(e[0].time), strlen("2026-11-27T23:00:00.000Z"));
  assert_int_equal(e[0].time[strlen(e[0].time) - 1], 'Z');
  tc_log_entries_free(e, n);

  n = read_all(base + 3, 1, &e, &next); /* one after seq base+3 */
  assert_int_equal(n, 1);
  assert_string_equal(e[0].text, "line 4");
  assert_int_equal(next, base + 4);
  tc_log_entries_free(e, n);

  n = read_all(base + 5, 10, &e, &next); /* nothing new */
  assert_int_equal(n, 0);
  assert_int_equal(next, base + 5);
  n = read_all(base + 999, 10, &e, &next); /* a cursor from the future */
  assert_int_equal(n, 0);
  assert_int_equal(next, base + 5);

  /* Growing keeps what is there; shrinking keeps the newest. */
  assert_int_equal(tc_log_ring_enable(10), 0);
  tc_logf(TC_LOG_INFO, NULL, "line 6");
  n = read_all(0, 100, &e, &next);
  assert_int_equal(n, 4);
  assert_string_equal(e[0].text, "line 3");
  assert_string_equal(e[3].text, "line 6");
  assert_string_equal(e[3].component, "");
  tc_log_entries_free(e, n);
  assert_int_equal(tc_log_ring_enable(2), 0);
  n = read_all(0, 100, &e, &next);
  assert_int_equal(n, 2);
  assert_string_equal(e[0].text, "line 5");
  assert_int_equal(e[1].seq, base + 6);
  tc_log_entries_free(e, n);
}

static void test_levels_attrs_redaction(void **state) {
  (void)state;
  assert_int_equal(tc_log_ring_enable(10), 0);
  unsigned long long since = 0;
  struct tc_log_entry *e = NULL;
  size_t n = read_all(0, 100, &e, &since);
  tc_log_entries_free(e, n);
  tc_redact_add_secret("canary-s3cr3t-value");
  tc_log(TC_LOG_DEBUG, "test", "hidden at info", NULL);
  tc_log(TC_LOG_WARN, "controlplane", "poll failed canary-s3cr3t-value",
         "status", "503", "api_key", "abc", "note", "two words", NULL);
  tc_log_set_level(TC_LOG_DEBUG);
  tc_log(TC_LOG_DEBUG, "test", "shown at debug", NULL);
  tc_log_set_level(TC_LOG_INFO);
  n = read_all(since, 100, &e, &since);
  assert_int_equal(n, 2);
  assert_int_equal(e[0].level, TC_LOG_WARN);
  assert_string_equal(e[0].component, "controlplane");
  assert_null(strstr(e[0].text, "canary-s3cr3t-value"));
  assert_null(strstr(e[0].text, "abc"));
  assert_non_null(strstr(e[0].text, "poll failed "));
  assert_non_null(strstr(e[0].text, " status=503"));
  assert_non_null(strstr(e[0].text, " api_key=[REDACTED]"));
  assert_non_null(strstr(e[0].text, " note=\"two words\""));
  assert_null(strstr(e[0].text, "component="));
  assert_string_equal(e[1].text, "shown at debug");
  assert_int_equal(e[1].level, TC_LOG_DEBUG);
  unsigned long long last = e[1].seq;
  tc_log_entries_free(e, n);

  /* Disabled: nothing kept; numbering resumes where it stopped. */
  tc_log_ring_disable();
  tc_logf(TC_LOG_INFO, NULL, "not kept");
  n = read_all(0, 100, &e, &since);
  assert_int_equal(n, 0);
  assert_int_equal(tc_log_ring_enable(4), 0);
  tc_logf(TC_LOG_INFO, NULL, "kept again");
  n = read_all(0, 100, &e, &since);
  assert_int_equal(n, 1);
  assert_int_equal(e[0].seq, last + 1); /* numbering resumes */
  tc_log_entries_free(e, n);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_wrap_and_paging, setup, teardown),
      cmocka_unit_test_setup_teardown(test_levels_attrs_redaction, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
