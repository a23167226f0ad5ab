/* Unit tests for util/redact.c: registered secrets, secret shapes, URL
 * origins, ordinary text left alone, long inputs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/redact.h"

static void check(const char *in, const char *want) {
  char *got = tc_redact(in);
  assert_non_null(got);
  assert_string_equal(got, want);
  /* Idempotent: redacting the output again changes nothing. */
  char *again = tc_redact(got);
  assert_non_null(again);
  assert_string_equal(again, want);
  free(again);
  free(got);
}

static int reset(void **state) {
  tc_redact_reset();
  return 0;
}

static void test_registered_secrets(void **state) {
  tc_redact_add_secret("hunter2-very-secret");
  tc_redact_add_secret("abc"); /* too short: ignored */
  check("password is hunter2-very-secret, ok", "password is [REDACTED], ok");
  check("twice hunter2-very-secrethunter2-very-secret",
        "twice [REDACTED][REDACTED]");
  check("abc is fine", "abc is fine");
  /* Longest registered value wins when one contains another. */
  tc_redact_add_secret("token-1234");
  tc_redact_add_secret("token-1234-extended");
  check("x token-1234-extended y token-1234 z", "x [REDACTED] y [REDACTED] z");
  /* Duplicates are harmless. */
  tc_redact_add_secret("token-1234");
  check("token-1234", "[REDACTED]");
  tc_redact_reset();
  check("token-1234 hunter2-very-secret", "token-1234 hunter2-very-secret");
  tc_redact_add_secret(NULL);
}

static void test_headers(void **state) {
  check("Authorization: Bearer abc.def.ghi",
        "Authorization: Bearer [REDACTED]");
  check("authorization:Basic dXNlcjpwYXNz", "authorization:Basic [REDACTED]");
  check("Authorization: opaque-credential", "Authorization: [REDACTED]");
  check("Proxy-Authorization: Basic Zm9vOmJhcg==",
        "Proxy-Authorization: Basic [REDACTED]");
  check("X-Tunnel-Shard-Token: shard-xyz-123",
        "X-Tunnel-Shard-Token: [REDACTED]");
  check("Cookie: session=abc; theme=dark", "Cookie: [REDACTED]");
  check("Set-Cookie: sid=xyz; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Secure",
        "Set-Cookie: [REDACTED]");
  /* Values end at a line break, a quote or a backslash. */
  check("GET / HTTP/1.1\r\nCookie: a=b\r\nHost: x\r\n",
        "GET / HTTP/1.1\r\nCookie: [REDACTED]\r\nHost: x\r\n");
  check("{\"msg\":\"sent Cookie: a=b\",\"k\":\"v\"}",
        "{\"msg\":\"sent Cookie: [REDACTED]\",\"k\":\"v\"}");
  check("dump=\"Authorization: Bearer xyz\\r\\nAccept: */*\"",
        "dump=\"Authorization: Bearer [REDACTED]\\r\\nAccept: */*\"");
}

static void test_bearer(void **state) {
  check("token Bearer eyJhbGciOi.payload.sig end",
        "token Bearer [REDACTED] end");
  check("bearer   abc123", "bearer   [REDACTED]");
  check("[\"Bearer tok_1\",\"x\"]", "[\"Bearer [REDACTED]\",\"x\"]");
  /* Prose about bearer tokens is not a credential. */
  check("missing bearer token in request", "missing bearer token in request");
  check("use Bearer auth", "use Bearer auth");
  check("Bearers abc", "Bearers abc");
  check("xBearer abc", "xBearer abc");
}

static void test_sk_keys(void **state) {
  check("key sk-proj-AbC123_xyz used", "key sk-REDACTED used");
  check("(sk-abcdefgh)", "(sk-REDACTED)");
  check("sk-abc", "sk-abc"); /* too short to be a key */
  check("task-list disk-usage risk-free", "task-list disk-usage risk-free");
}

static void test_key_values(void **state) {
  check("https://h/cb?code=AbC-123&state=s1",
        "https://h/cb?code=[REDACTED]&state=s1");
  check("https://h/p?api_key=abc&x=1", "https://h/p?api_key=[REDACTED]&x=1");
  check("/p?api-key=abc#frag", "/p?api-key=[REDACTED]#frag");
  check("grant_type=refresh_token&refresh_token=r1&client_secret=cs",
        "grant_type=refresh_token&refresh_token=[REDACTED]&client_secret="
        "[REDACTED]");
  check("{\"access_token\":\"abc\",\"token_type\":\"Bearer\"}",
        "{\"access_token\":\"[REDACTED]\",\"token_type\":\"Bearer\"}");
  check("{\"id_token\": \"a\\\"b\", \"x\": 1}",
        "{\"id_token\": \"[REDACTED]\", \"x\": 1}");
  check("{'password': 'pw'}", "{'password': '[REDACTED]'}");
  /* JSON inside a JSON string (escaped quotes). */
  check("{\"msg\":\"body {\\\"secret\\\":\\\"s3\\\",\\\"n\\\":1}\"}",
        "{\"msg\":\"body {\\\"secret\\\":\\\"[REDACTED]\\\",\\\"n\\\":1}\"}");
  /* logfmt / struct-text. */
  check("shard_token=st1 other=2", "shard_token=[REDACTED] other=2");
  check("password=\"p w\" next=1", "password=\"[REDACTED]\" next=1");
  check("\"Authorization\":\"tok\"", "\"Authorization\":\"[REDACTED]\"");
  /* Numeric codes are not secrets; similar key names are not matched. */
  check("exit code=1 status_code=500 code=-32603",
        "exit code=1 status_code=500 code=-32603");
  check("{\"code\":-32603,\"message\":\"x\"}",
        "{\"code\":-32603,\"message\":\"x\"}");
  check("secret_name=a my_password=b codes=c",
        "secret_name=a my_password=b codes=c");
  check("api_key= empty", "api_key= empty");
}

static void test_userinfo(void **state) {
  check("proxy http://user:pa55@proxy.local:3128/x",
        "proxy http://[REDACTED]@proxy.local:3128/x");
  check("https://ghp_token@github.com/o/r",
        "https://[REDACTED]@github.com/o/r");
  check("https://host/path?email=a@b.c", "https://host/path?email=a@b.c");
  check("https://host/x and me@example.com",
        "https://host/x and me@example.com");
}

static void test_ordinary_text(void **state) {
  const char *plain[] = {
      "tunnel-client started version=0.1.0 tunnel_id=tunnel_abc",
      "poll ok: 3 commands in 12ms",
      "the secret garden; a password manager; my code review",
      "2026/11/22 10:00:00 INFO shutting down signal=SIGTERM",
      "url=https://api.openai.com/v1/tunnels/x/poll",
      "{\"time\":\"2026-01-01T00:00:00Z\",\"level\":\"INFO\",\"msg\":1}",
      "",
      "ünïcödé 日本語 text",
  };
  for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
    check(plain[i], plain[i]);
  char *r = tc_redact(NULL);
  assert_non_null(r);
  assert_string_equal(r, "");
  free(r);
}

static void test_long_input(void **state) {
  tc_redact_add_secret("LONGSECRETVALUE");
  size_t reps = 20000;
  const char *unit = "abc LONGSECRETVALUE ?api_key=k&z Bearer t ";
  const char *want_unit =
      "abc [REDACTED] ?api_key=[REDACTED]&z Bearer [REDACTED] ";
  size_t ul = strlen(unit), wl = strlen(want_unit);
  char *in = malloc(ul * reps + 1);
  char *want = malloc(wl * reps + 1);
  assert_non_null(in);
  assert_non_null(want);
  for (size_t i = 0; i < reps; i++) {
    memcpy(in + i * ul, unit, ul);
    memcpy(want + i * wl, want_unit, wl);
  }
  in[ul * reps] = '\0';
  want[wl * reps] = '\0';
  char *got = tc_redact(in);
  assert_non_null(got);
  assert_int_equal(strlen(got), strlen(want));
  assert_true(strcmp(got, want) == 0);
  free(got);
  /* An unterminated quoted value runs to the end. */
  in[0] = '\0';
  strcpy(in, "\"password\":\"");
  memset(in + 12, 'x', 100000);
  in[100012] = '\0';
  got = tc_redact(in);
  assert_non_null(got);
  assert_string_equal(got, "\"password\":\"[REDACTED]");
  free(got);
  free(in);
  free(want);
}

static void test_key_is_secret(void **state) {
  assert_true(tc_redact_key_is_secret("api_key"));
  assert_true(tc_redact_key_is_secret("API-KEY"));
  assert_true(tc_redact_key_is_secret("Authorization"));
  assert_true(tc_redact_key_is_secret("set-cookie"));
  assert_true(tc_redact_key_is_secret("x_tunnel_shard_token"));
  assert_false(tc_redact_key_is_secret("code"));
  assert_false(tc_redact_key_is_secret("tunnel_id"));
  assert_false(tc_redact_key_is_secret("api_keys"));
  assert_false(tc_redact_key_is_secret(NULL));
}

static void origin(const char *url, const char *want) {
  char buf[128];
  assert_string_equal(tc_url_origin(url, buf, sizeof(buf)), want);
}

static void test_url_origin(void **state) {
  origin("https://user:pw@Example.com:8443/p?q=1#f",
         "https://Example.com:8443");
  origin("HTTP://h", "http://h");
  origin("http://[::1]:8080/mcp", "http://[::1]:8080");
  origin("http://[::1]/", "http://[::1]");
  origin("https://api.openai.com?x=1", "https://api.openai.com");
  origin("http+unix://L3RtcC9zb2Nr/ui", "http+unix://L3RtcC9zb2Nr");
  origin("not a url", "<invalid url>");
  origin("http://", "<invalid url>");
  origin("http://user@/x", "<invalid url>");
  origin("http://h:99999999/", "<invalid url>");
  origin("http://h:8a/", "<invalid url>");
  origin("http://h x/", "<invalid url>");
  origin("://h", "<invalid url>");
  origin(NULL, "<invalid url>");
  char small[8];
  assert_string_equal(
      tc_url_origin("https://example.com", small, sizeof(small)), "<invali");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_registered_secrets, reset),
      cmocka_unit_test_setup(test_headers, reset),
      cmocka_unit_test_setup(test_bearer, reset),
      cmocka_unit_test_setup(test_sk_keys, reset),
      cmocka_unit_test_setup(test_key_values, reset),
      cmocka_unit_test_setup(test_userinfo, reset),
      cmocka_unit_test_setup(test_ordinary_text, reset),
      cmocka_unit_test_setup(test_long_input, reset),
      cmocka_unit_test(test_key_is_secret),
      cmocka_unit_test(test_url_origin),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
