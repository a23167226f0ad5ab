/* Unit tests for util/host_pattern.c: the --health.allowed-hosts grammar
 * (names, .suffixes, IPv4, [IPv6], optional ports; what is refused and
 * why) and matching against the host and port of a Host header. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "util/host_pattern.h"

static struct tc_host_pattern parse_ok(const char *entry) {
  struct tc_host_pattern p;
  const char *why = NULL;
  int rc = tc_host_pattern_parse(entry, &p, &why);
  if (rc != 0)
    fail_msg("\"%s\" refused: %s", entry, why);
  return p;
}

static void refused(const char *entry, const char *want) {
  struct tc_host_pattern p;
  const char *why = NULL;
  if (tc_host_pattern_parse(entry, &p, &why) == 0)
    fail_msg("\"%s\" accepted", entry);
  assert_non_null(why);
  if (strstr(why, want) == NULL)
    fail_msg("\"%s\": reason \"%s\" lacks \"%s\"", entry, why, want);
}

static bool matches(const char *entry, const char *host, unsigned port) {
  struct tc_host_pattern p = parse_ok(entry);
  return tc_host_pattern_match(&p, host, strlen(host), port);
}

static void test_parse(void **state) {
  (void)state;
  struct tc_host_pattern p = parse_ok("UI.Example.com");
  assert_int_equal(p.kind, TC_HOST_NAME);
  assert_string_equal(p.name, "ui.example.com");
  assert_int_equal(p.port, 0);
  p = parse_ok("tunnel-client.ns.svc.cluster.local:8080");
  assert_int_equal(p.kind, TC_HOST_NAME);
  assert_int_equal(p.port, 8080);
  p = parse_ok(".corp.example");
  assert_int_equal(p.kind, TC_HOST_SUFFIX);
  assert_string_equal(p.name, "corp.example");
  p = parse_ok("example.com.");
  assert_string_equal(p.name, "example.com");
  p = parse_ok("10.1.2.3:18080");
  assert_int_equal(p.kind, TC_HOST_IPV4);
  assert_int_equal(p.port, 18080);
  p = parse_ok("[fd00::5]:8080");
  assert_int_equal(p.kind, TC_HOST_IPV6);
  assert_int_equal(p.port, 8080);
  p = parse_ok("fd00::5");
  assert_int_equal(p.kind, TC_HOST_IPV6);
  assert_int_equal(p.port, 0);
  p = parse_ok("my_host");
  assert_int_equal(p.kind, TC_HOST_NAME);
}

static void test_refused(void **state) {
  (void)state;
  refused("", "empty entry");
  refused("https://ui.example.com", "without a scheme");
  refused("*", "wildcards are not supported");
  refused("*.example.com", "write .example.com");
  refused("ui.example.com/ui", "not a host");
  refused("user@ui.example.com", "not a host");
  refused("a.example,b.example", "list separator");
  refused("ui example", "not a host");
  refused("ui.example.com:0", "1 to 65535");
  refused("ui.example.com:65536", "1 to 65535");
  refused("ui.example.com:80x", "1 to 65535");
  refused("ui.example.com:", "1 to 65535");
  refused(":8080", "empty host name");
  refused(".", "empty host name");
  refused("a..b", "empty label");
  refused(".a..b", "empty label");
  refused("ui!.example", "only letters, digits");
  refused("300.1.2.3", "not a valid IPv4 address");
  refused("1.2.3", "not a valid IPv4 address");
  refused("[fd00::5", "in brackets");
  refused("[fd00::5]x", "in brackets");
  refused("[not-v6]", "not a valid IPv6 address");
  refused("[fd00::5]:0", "1 to 65535");
  refused("fd00::zz", "not a valid IPv6 address");
  char label[80];
  memset(label, 'a', 64);
  label[64] = '\0';
  refused(label, "longer than 63");
  char name[300];
  memset(name, 'a', sizeof(name) - 1);
  for (size_t i = 50; i < sizeof(name) - 1; i += 51)
    name[i] = '.';
  name[sizeof(name) - 1] = '\0';
  refused(name, "longer than 253");
}

static void test_match(void **state) {
  (void)state;
  /* Names: any letter case, any port unless one is given. */
  assert_true(matches("ui.example.com", "UI.EXAMPLE.COM", 443));
  assert_true(matches("ui.example.com", "ui.example.com.", 80));
  assert_false(matches("ui.example.com", "x.ui.example.com", 80));
  assert_false(matches("ui.example.com", "ui.example.co", 80));
  assert_true(matches("ui.example.com:8080", "ui.example.com", 8080));
  assert_false(matches("ui.example.com:8080", "ui.example.com", 80));
  /* Suffixes: the name and every name under it, nothing else. */
  assert_true(matches(".corp.example", "corp.example", 80));
  assert_true(matches(".corp.example", "a.b.corp.example", 80));
  assert_false(matches(".corp.example", "evilcorp.example", 80));
  assert_false(matches(".corp.example", "corp.example.evil", 80));
  assert_true(matches(".svc.cluster.local:8080",
                      "tunnel-client.ns.svc.cluster.local", 8080));
  assert_false(matches(".svc.cluster.local:8080",
                       "tunnel-client.ns.svc.cluster.local", 9090));
  /* Addresses compare as addresses. */
  assert_true(matches("10.1.2.3", "10.1.2.3", 8080));
  assert_false(matches("10.1.2.3", "10.1.2.4", 8080));
  assert_false(matches("10.1.2.3", "10.1.2.3.nip.io", 8080));
  assert_true(matches("[fd00::5]", "fd00:0:0::5", 80));
  assert_false(matches("[fd00::5]", "fd00::6", 80));
  assert_false(matches("[::1]", "127.0.0.1", 80));
  assert_true(matches("127.0.0.1:18080", "127.0.0.1", 18080));
  assert_false(matches("127.0.0.1:18080", "127.0.0.1", 8080));
  assert_false(matches("ui.example.com", "", 80));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse),
      cmocka_unit_test(test_refused),
      cmocka_unit_test(test_match),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
