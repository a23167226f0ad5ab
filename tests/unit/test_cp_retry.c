/* Unit tests for controlplane/retry_after.c and retry_policy.c: both
 * Retry-After forms, past dates, garbage, the 60 s cap, max(backoff, RA),
 * and every row of the protocol's retry table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "controlplane/retry_after.h"
#include "controlplane/retry_policy.h"

/* 1994-11-06T08:49:37Z */
#define T0_S 784111777LL

static void ra_ok(const char *v, int64_t now_ms, int64_t want) {
  int64_t w = -1;
  assert_int_equal(tc_cp_parse_retry_after(v, now_ms, &w), 1);
  assert_true(w == want);
}

static void ra_none(const char *v, int64_t now_ms) {
  int64_t w = -1;
  assert_int_equal(tc_cp_parse_retry_after(v, now_ms, &w), 0);
  assert_true(w == -1);
}

static void test_http_dates(void **state) {
  int64_t t;
  assert_int_equal(tc_cp_parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT", &t),
                   1);
  assert_true(t == T0_S);
  assert_int_equal(tc_cp_parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT", &t),
                   1);
  assert_true(t == T0_S);
  assert_int_equal(tc_cp_parse_http_date("Sun Nov  6 08:49:37 1994", &t), 1);
  assert_true(t == T0_S);
  assert_int_equal(tc_cp_parse_http_date("Thu Feb 29 00:00:00 2024", &t), 1);
  assert_true(t == 1709164800LL);
  assert_int_equal(tc_cp_parse_http_date("Wed, 01 Jan 2025 00:00:00 GMT", &t),
                   1);
  assert_true(t == 1735689600LL);
  assert_int_equal(tc_cp_parse_http_date("Friday, 01-Jan-10 00:00:00 GMT", &t),
                   1); /* two-digit year 10 -> 2010 */
  assert_true(t == 1262304000LL);
  const char *bad[] = {"Sun, 06 Nov 1994 08:49:37 UTC",
                       "Sun, 6 Nov 1994 08:49:37 GMT",
                       "Sun, 31 Nov 1994 08:49:37 GMT",
                       "Sun, 06 Nov 1994 24:00:00 GMT",
                       "Sun, 06 Foo 1994 08:49:37 GMT",
                       "sun, 06 Nov 1994 08:49:37 GMT",
                       "Sun, 06 Nov 1994 08:49:37 GMT x",
                       "Sun Nov 6 08:49:37 1994",
                       "Sunday, 06-Nov-1994 08:49:37 GMT",
                       "Fri, 29 Feb 2023 00:00:00 GMT",
                       "2025-01-01T00:00:00Z",
                       ""};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    assert_int_equal(tc_cp_parse_http_date(bad[i], &t), 0);
}

static void test_retry_after_seconds(void **state) {
  ra_ok("0", 0, 0);
  ra_ok("5", 0, 5000);
  ra_ok("  7\t", 0, 7000);
  ra_ok("60", 0, 60000);
  ra_ok("61", 0, 60000);
  ra_ok("3600", 0, 60000);
  ra_ok("99999999999999999999999999999999999999999999999999999999999999999999",
        0, 60000); /* overflow caps too */
  ra_none("-5", 0);
  ra_none("+5", 0);
  ra_none("1.5", 0);
  ra_none("5s", 0);
  ra_none("5 6", 0);
  ra_none("", 0);
  ra_none("   ", 0);
  ra_none(NULL, 0);
  ra_none("soon", 0);
}

static void test_retry_after_dates(void **state) {
  int64_t now = T0_S * 1000;
  ra_ok("Sun, 06 Nov 1994 08:49:47 GMT", now, 10000);
  ra_ok("Sun, 06 Nov 1994 08:49:47 GMT", now + 250, 9750);
  ra_ok("Sunday, 06-Nov-94 08:50:07 GMT", now, 30000);
  ra_ok("Sun Nov  6 08:49:40 1994", now, 3000);
  ra_ok(" Sun, 06 Nov 1994 09:49:37 GMT ", now, 60000); /* cap */
  ra_ok("Mon, 07 Nov 1994 08:49:37 GMT", now, 60000);
  ra_none("Sun, 06 Nov 1994 08:49:37 GMT", now);     /* now: ignored */
  ra_none("Sun, 06 Nov 1994 08:40:00 GMT", now);     /* past */
  ra_none("Sun, 06 Nov 1994 08:49:37 GMT", now + 1); /* just past */
  ra_none("Sun, 06 Nov 1994 08:49:99 GMT", now);
  ra_none("Sun, 06 Nov 1994", now);
}

static void test_wait_is_max(void **state) {
  assert_true(tc_cp_retry_wait_ms(200, 0, 0) == 200);
  assert_true(tc_cp_retry_wait_ms(200, 1, 5000) == 5000);
  assert_true(tc_cp_retry_wait_ms(6400, 1, 5000) == 6400);
  assert_true(tc_cp_retry_wait_ms(300, 1, 0) == 300);
  assert_true(tc_cp_retry_wait_ms(300, 0, 9000) == 300);
}

static void expect(enum tc_cp_request_kind k, int status,
                   enum tc_cp_transport_class tc, int attempts,
                   enum tc_cp_retry_action action, bool ra, bool op) {
  struct tc_cp_retry_decision d = tc_cp_retry_decide(k, status, tc, attempts);
  assert_int_equal(d.action, action);
  assert_int_equal(d.honour_retry_after, ra);
  assert_int_equal(d.needs_operator, op);
}

static void test_poll_rows(void **state) {
  const enum tc_cp_request_kind P = TC_CP_REQ_POLL;
  const enum tc_cp_transport_class OK = TC_CP_TRANSPORT_OK;
  assert_int_equal(tc_cp_retry_max_attempts(P), 0);
  expect(P, 200, OK, 1, TC_CP_DONE, false, false);
  expect(P, 204, OK, 1, TC_CP_DONE, false, false);
  int statuses[] = {201, 400, 404, 408, 429, 500, 502, 503, 504};
  for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++)
    expect(P, statuses[i], OK, 1000000, TC_CP_RETRY, true, false);
  expect(P, 401, OK, 5, TC_CP_RETRY, true, true);
  expect(P, 403, OK, 5, TC_CP_RETRY, true, true);
  expect(P, 200, TC_CP_TRANSPORT_BAD_BODY, 1, TC_CP_RETRY, true, false);
  expect(P, 0, TC_CP_TRANSPORT_NOT_SENT, 99, TC_CP_RETRY, false, false);
  expect(P, 0, TC_CP_TRANSPORT_SENT, 99, TC_CP_RETRY, false, false);
}

static void test_response_rows(void **state) {
  const enum tc_cp_request_kind R = TC_CP_REQ_RESPONSE;
  const enum tc_cp_transport_class OK = TC_CP_TRANSPORT_OK;
  /* No attempt limit: the caller bounds terminal retries by time. */
  assert_int_equal(tc_cp_retry_max_attempts(R), 0);
  expect(R, 200, OK, 1, TC_CP_DONE, false, false);
  expect(R, 404, OK, 1, TC_CP_DONE_GONE, false, false);
  int retry[] = {408, 429, 502, 503, 504};
  for (size_t i = 0; i < sizeof(retry) / sizeof(retry[0]); i++) {
    expect(R, retry[i], OK, 1, TC_CP_RETRY, true, false);
    expect(R, retry[i], OK, 3, TC_CP_RETRY, true, false);
    expect(R, retry[i], OK, 50, TC_CP_RETRY, true, false);
  }
  int fail[] = {201, 202, 204, 400, 409, 413, 500, 501};
  for (size_t i = 0; i < sizeof(fail) / sizeof(fail[0]); i++)
    expect(R, fail[i], OK, 1, TC_CP_FAIL, false, false);
  expect(R, 401, OK, 1, TC_CP_FAIL, false, true);
  expect(R, 403, OK, 1, TC_CP_FAIL, false, true);
  expect(R, 0, TC_CP_TRANSPORT_NOT_SENT, 1, TC_CP_RETRY, false, false);
  expect(R, 0, TC_CP_TRANSPORT_SENT, 2, TC_CP_RETRY, false, false);
  expect(R, 0, TC_CP_TRANSPORT_SENT, 30, TC_CP_RETRY, false, false);
}

static void test_notify_rows(void **state) {
  const enum tc_cp_request_kind N = TC_CP_REQ_NOTIFY;
  const enum tc_cp_transport_class OK = TC_CP_TRANSPORT_OK;
  expect(N, 200, OK, 1, TC_CP_DONE, false, false);
  expect(N, 404, OK, 1, TC_CP_DONE_GONE, false, false);
  expect(N, 429, OK, 1, TC_CP_RETRY, true, false);
  expect(N, 429, OK, 3, TC_CP_FAIL, false, false);
  int fail[] = {408, 500, 502, 503, 504, 400};
  for (size_t i = 0; i < sizeof(fail) / sizeof(fail[0]); i++)
    expect(N, fail[i], OK, 1, TC_CP_FAIL, false, false);
  expect(N, 0, TC_CP_TRANSPORT_NOT_SENT, 1, TC_CP_RETRY, false, false);
  expect(N, 0, TC_CP_TRANSPORT_SENT, 1, TC_CP_FAIL, false, false);
}

static void test_other_kinds(void **state) {
  const enum tc_cp_transport_class OK = TC_CP_TRANSPORT_OK;
  expect(TC_CP_REQ_METADATA, 200, OK, 1, TC_CP_DONE, false, false);
  expect(TC_CP_REQ_METADATA, 503, OK, 1, TC_CP_FAIL, false, false);
  expect(TC_CP_REQ_METADATA, 0, TC_CP_TRANSPORT_NOT_SENT, 1, TC_CP_FAIL, false,
         false);
  const enum tc_cp_request_kind C = TC_CP_REQ_CLOUDFLARE;
  expect(C, 200, OK, 1, TC_CP_DONE, false, false);
  expect(C, 500, OK, 1, TC_CP_RETRY, true, false);
  expect(C, 599, OK, 2, TC_CP_RETRY, true, false);
  expect(C, 429, OK, 3, TC_CP_FAIL, false, false);
  expect(C, 404, OK, 1, TC_CP_FAIL, false, false);
  expect(C, 0, TC_CP_TRANSPORT_SENT, 1, TC_CP_RETRY, false, false);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_http_dates),
      cmocka_unit_test(test_retry_after_seconds),
      cmocka_unit_test(test_retry_after_dates),
      cmocka_unit_test(test_wait_is_max),
      cmocka_unit_test(test_poll_rows),
      cmocka_unit_test(test_response_rows),
      cmocka_unit_test(test_notify_rows),
      cmocka_unit_test(test_other_kinds),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
