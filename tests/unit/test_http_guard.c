/* Unit tests for util/http_guard.c: which Host and Origin values name a
 * listener (its own address, loopback names with its port, allowed
 * entries; unix sockets), the same-origin rule of the ops listener, and
 * refusing malformed allowed entries. The checks that need a live request
 * (duplicates, Sec-Fetch-Site) are covered by test_health.c and the
 * integration tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/http_guard.h"

static void init_ok(struct tc_http_guard *g, const char *base,
                    const char *const *allowed, size_t n) {
  char *err = NULL;
  if (tc_http_guard_init(g, base, allowed, n, "--allowed-hosts", &err) != 0)
    fail_msg("init %s: %s", base ? base : "(unix)", err ? err : "?");
}

static void test_host(void **state) {
  (void)state;
  struct tc_http_guard g;
  init_ok(&g, "http://127.0.0.1:8080", NULL, 0);
  assert_true(tc_http_guard_host_ok(&g, NULL, "127.0.0.1:8080"));
  assert_true(tc_http_guard_host_ok(&g, NULL, "localhost:8080"));
  assert_true(tc_http_guard_host_ok(&g, NULL, "LOCALHOST:8080"));
  assert_true(tc_http_guard_host_ok(&g, NULL, "[::1]:8080"));
  /* DNS rebinding: the attacker's name, with or without the port. */
  assert_false(tc_http_guard_host_ok(&g, NULL, "evil.example.com:8080"));
  assert_false(tc_http_guard_host_ok(&g, NULL, "evil.example.com"));
  /* Another port is another listener; no port means 80. */
  assert_false(tc_http_guard_host_ok(&g, NULL, "127.0.0.1:8081"));
  assert_false(tc_http_guard_host_ok(&g, NULL, "127.0.0.1"));
  /* Malformed values name nothing. */
  assert_false(tc_http_guard_host_ok(&g, NULL, NULL));
  assert_false(tc_http_guard_host_ok(&g, NULL, ""));
  assert_false(tc_http_guard_host_ok(&g, NULL, "::1:8080"));
  assert_false(tc_http_guard_host_ok(&g, NULL, "127.0.0.1:80x"));
  assert_false(tc_http_guard_host_ok(&g, NULL, "127.0.0.1:99999"));
  assert_false(tc_http_guard_host_ok(&g, NULL, "[::1"));
  tc_http_guard_clear(&g);

  /* A listener advertised by name, plus allowed entries. */
  static const char *const allowed[] = {"devcp.ns.svc", ".corp.example:443"};
  init_ok(&g, "http://tc.example:9000", allowed, 2);
  assert_true(tc_http_guard_host_ok(&g, NULL, "tc.example:9000"));
  assert_true(tc_http_guard_host_ok(&g, NULL, "localhost:9000"));
  assert_true(tc_http_guard_host_ok(&g, NULL, "devcp.ns.svc:1234"));
  assert_true(tc_http_guard_host_ok(&g, NULL, "devcp.ns.svc"));
  assert_true(tc_http_guard_host_ok(&g, NULL, "a.corp.example:443"));
  assert_false(tc_http_guard_host_ok(&g, NULL, "a.corp.example:80"));
  assert_false(tc_http_guard_host_ok(&g, NULL, "tc.example:9001"));
  tc_http_guard_clear(&g);

  /* A unix socket: any loopback name, any port. */
  init_ok(&g, "http+unix://L3RtcC9zb2Nr", NULL, 0);
  assert_true(tc_http_guard_host_ok(&g, NULL, "localhost"));
  assert_true(tc_http_guard_host_ok(&g, NULL, "127.0.0.1:1"));
  assert_false(tc_http_guard_host_ok(&g, NULL, "evil.example"));
  tc_http_guard_clear(&g);
}

static void test_origin(void **state) {
  (void)state;
  struct tc_http_guard g;
  init_ok(&g, "http://127.0.0.1:8080", NULL, 0);
  assert_true(tc_http_guard_origin_ok(&g, NULL, "http://127.0.0.1:8080"));
  assert_true(tc_http_guard_origin_ok(&g, NULL, "http://localhost:8080"));
  assert_true(tc_http_guard_origin_ok(&g, NULL, "HTTP://LocalHost:8080/"));
  assert_true(tc_http_guard_origin_ok(&g, NULL, "http://[::1]:8080"));
  assert_false(tc_http_guard_origin_ok(&g, NULL, "http://evil.example.com"));
  assert_false(tc_http_guard_origin_ok(&g, NULL, "http://evil.example:8080"));
  /* Another local page (another port) is another origin. */
  assert_false(tc_http_guard_origin_ok(&g, NULL, "http://localhost:3000"));
  /* The scheme's default port: http 80, https 443. */
  assert_false(tc_http_guard_origin_ok(&g, NULL, "http://localhost"));
  assert_false(tc_http_guard_origin_ok(&g, NULL, "null"));
  assert_false(tc_http_guard_origin_ok(&g, NULL, "file://"));
  assert_false(tc_http_guard_origin_ok(&g, NULL, "http://a@localhost:8080"));
  assert_false(tc_http_guard_origin_ok(&g, NULL, "http://localhost:8080/x"));
  assert_false(tc_http_guard_origin_ok(&g, NULL, NULL));
  tc_http_guard_clear(&g);

  static const char *const allowed[] = {"app.example"};
  init_ok(&g, "https://127.0.0.1:8443", allowed, 1);
  assert_true(tc_http_guard_origin_ok(&g, NULL, "https://127.0.0.1:8443"));
  assert_true(tc_http_guard_origin_ok(&g, NULL, "https://app.example"));
  assert_true(tc_http_guard_origin_ok(&g, NULL, "http://app.example:3000"));
  tc_http_guard_clear(&g);
}

static void test_same_origin(void **state) {
  (void)state;
  assert_true(tc_http_same_origin("http://127.0.0.1:8080", "127.0.0.1:8080"));
  assert_true(tc_http_same_origin("https://UI.example", "ui.example"));
  assert_false(tc_http_same_origin("http://evil.example", "127.0.0.1:8080"));
  assert_false(tc_http_same_origin("ftp://127.0.0.1:8080", "127.0.0.1:8080"));
  assert_false(tc_http_same_origin(NULL, "127.0.0.1:8080"));
  assert_false(tc_http_same_origin("http://127.0.0.1:8080", NULL));
}

static void test_bad_entry_and_messages(void **state) {
  (void)state;
  struct tc_http_guard g;
  static const char *const bad[] = {"ok.example", "*.example"};
  char *err = NULL;
  assert_int_equal(tc_http_guard_init(&g, "http://127.0.0.1:1", bad, 2,
                                      "--allowed-hosts", &err),
                   -1);
  assert_non_null(err);
  assert_non_null(strstr(err, "--allowed-hosts entry \"*.example\""));
  assert_non_null(strstr(err, "wildcards are not supported"));
  free(err);
  init_ok(&g, "http://127.0.0.1:1", NULL, 0);
  char buf[256];
  assert_int_equal(tc_http_guard_status(TC_GUARD_DUPLICATE), 400);
  assert_int_equal(tc_http_guard_status(TC_GUARD_HOST), 403);
  assert_int_equal(tc_http_guard_status(TC_GUARD_ORIGIN), 403);
  assert_int_equal(tc_http_guard_status(TC_GUARD_CROSS_SITE), 403);
  assert_non_null(
      strstr(tc_http_guard_message(&g, TC_GUARD_HOST, buf, sizeof(buf)),
             "add the name to --allowed-hosts"));
  assert_non_null(strstr(
      tc_http_guard_message(&g, TC_GUARD_ORIGIN, buf, sizeof(buf)), "Origin"));
  tc_http_guard_clear(&g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_host),
      cmocka_unit_test(test_origin),
      cmocka_unit_test(test_same_origin),
      cmocka_unit_test(test_bad_entry_and_messages),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
