/* Config validation: every rule with good and bad values; errors name
 * their source (flag, env var, file:line) and never carry a secret. */
#include "config_test_support.h"
#include "tc/host.h"

static const char *const extra_env[] = {
    "TUNNEL_CLIENT_CONFIG", "TUNNEL_CLIENT_PROFILE",
    "TUNNEL_CLIENT_PROFILE_FILE", "TUNNEL_CLIENT_PROFILE_DIR", NULL};

static int setup(void **state) {
  (void)state;
  clear_config_env(extra_env);
  return make_tmpdir("/tmp/tc-cfg-val-XXXXXX");
}

static int teardown(void **state) {
  (void)state;
  clear_config_env(extra_env);
  return remove_tmpdir();
}

/* Expect success in lenient mode; the config is freed. */
static void ok(const char *first, ...) {
  struct tc_config cfg;
  char *err = NULL;
  va_list ap;
  va_start(ap, first);
  char *argv[64];
  int argc = 0;
  for (const char *a = first; a != NULL; a = va_arg(ap, const char *)) {
    argv[argc] = malloc(strlen(a) + 1);
    strcpy(argv[argc++], a);
  }
  va_end(ap);
  int rc = tc_config_load(&cfg, argc, argv, TC_CONFIG_LENIENT, NULL, NULL, NULL,
                          &err);
  if (rc != 0)
    print_error("unexpected error: %s\n", err);
  assert_int_equal(rc, 0);
  tc_config_free(&cfg);
  for (int i = 0; i < argc; i++)
    free(argv[i]);
}

/* Expect failure in `mode`; returns the error (caller frees). The error
 * is one line and never holds the canary. */
static char *fail_mode(enum tc_config_mode mode, ...) {
  struct tc_config cfg;
  char *err = NULL;
  va_list ap;
  va_start(ap, mode);
  int rc = vload(&cfg, mode, &err, ap);
  va_end(ap);
  assert_int_equal(rc, -1);
  assert_non_null(err);
  assert_null(strchr(err, '\n'));
  assert_null(strstr(err, CANARY));
  assert_null(strstr(err, "canary"));
  /* the config was released */
  assert_null(cfg.cp_base_url);
  assert_int_equal(cfg.binding_count, 0);
  return err;
}
#define bad(...) fail_mode(TC_CONFIG_LENIENT, __VA_ARGS__)

static void expect_in(char *err, const char *a, const char *b) {
  if (strstr(err, a) == NULL || (b != NULL && strstr(err, b) == NULL))
    print_error("error \"%s\" lacks \"%s\" / \"%s\"\n", err, a, b ? b : "");
  assert_non_null(strstr(err, a));
  if (b != NULL)
    assert_non_null(strstr(err, b));
  free(err);
}

static void test_tunnel_id(void **state) {
  (void)state;
  const char *why = NULL;
  assert_int_equal(tc_validate_tunnel_id(TID, &why), 0);
  assert_int_equal(tc_validate_tunnel_id("tunnel_0123", &why), -1);
  assert_int_equal(
      tc_validate_tunnel_id("tunnel_0123456789ABCDEF0123456789abcdef", &why),
      -1);
  assert_int_equal(
      tc_validate_tunnel_id("tunnel-0123456789abcdef0123456789abcdef", &why),
      -1);
  assert_non_null(why);

  ok("--control-plane.tunnel-id", " " TID " ", NULL);
  expect_in(bad("--control-plane.tunnel-id", "tunnel_bad", NULL),
            "invalid control plane tunnel id in --control-plane.tunnel-id",
            "\"tunnel_bad\"");
  setenv("CONTROL_PLANE_TUNNEL_ID", "tunnel_xyz", 1);
  expect_in(bad(NULL), "in CONTROL_PLANE_TUNNEL_ID", "tunnel_xyz");
  unsetenv("CONTROL_PLANE_TUNNEL_ID");
  char *prof = write_file("p.yaml", "config_version: 1\ncontrol_plane:\n"
                                    "  tunnel_id: nope\n");
  char where[300];
  snprintf(where, sizeof(where), "%s:3 (control_plane.tunnel_id)", prof);
  expect_in(bad("--config", prof, NULL), where, "\"nope\"");
  free(prof);

  setenv("CONTROL_PLANE_API_KEY", "abc_123", 1);
  setenv("MCP_SERVER_URL", "http://127.0.0.1:9/mcp", 1);
  char *err = fail_mode(TC_CONFIG_RUN, NULL);
  assert_string_equal(err, "control plane tunnel id is required; set "
                           "--control-plane.tunnel-id or "
                           "CONTROL_PLANE_TUNNEL_ID");
  free(err);
}

static void test_api_key(void **state) {
  (void)state;
  const char *why = NULL;
  assert_int_equal(tc_validate_api_key("sk-proj_AZaz09", &why), 0);
  assert_int_equal(tc_validate_api_key("sk proj", &why), -1);
  assert_int_equal(tc_validate_api_key("", &why), -1);
  assert_int_equal(tc_validate_api_key("\"sk-x\"", &why), -1);

  setenv("CONTROL_PLANE_API_KEY", CANARY "!", 1);
  expect_in(bad(NULL), "CONTROL_PLANE_API_KEY", "malformed");
  unsetenv("CONTROL_PLANE_API_KEY");
  setenv("OPENAI_API_KEY", "'" CANARY "'", 1);
  expect_in(bad(NULL), "OPENAI_API_KEY", "malformed");
  unsetenv("OPENAI_API_KEY");
  char *prof =
      write_file("p.yaml", "control_plane:\n  api_key: \"" CANARY " x\"\n");
  char where[300];
  snprintf(where, sizeof(where), "%s:2 (control_plane.api_key)", prof);
  expect_in(bad("--config", prof, NULL), where, "malformed");
  free(prof);
  /* a key read from a file reference is checked as well */
  char *kf = write_file("key", CANARY " with space\n");
  char ref[300];
  snprintf(ref, sizeof(ref), "file:%s", kf);
  expect_in(bad("--control-plane.api-key", ref, NULL),
            "--control-plane.api-key", "malformed");
  free(kf);

  setenv("CONTROL_PLANE_TUNNEL_ID", TID, 1);
  setenv("MCP_SERVER_URL", "http://127.0.0.1:9/mcp", 1);
  expect_in(fail_mode(TC_CONFIG_RUN, NULL), "control plane API key is required",
            "CONTROL_PLANE_API_KEY");
}

static void test_base_url_and_path(void **state) {
  (void)state;
  ok("--control-plane.base-url", "http://localhost:8080", NULL);
  ok("--control-plane.base-url", "https://cp.example/", NULL);
  const char *bad[] = {"ftp://cp.example",
                       "cp.example",
                       "https://",
                       "https://cp.example/v1",
                       "https://cp.example?x=1",
                       "https://cp.example:0"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    expect_in(bad("--control-plane.base-url", bad[i], NULL),
              "invalid control plane base URL in --control-plane.base-url",
              NULL);
  /* credentials in the URL are not echoed */
  char *err = bad("--control-plane.base-url",
                  "https://user:" CANARY "@cp.example", NULL);
  free(err);
  setenv("CONTROL_PLANE_BASE_URL", "api.openai.com", 1);
  expect_in(bad(NULL), "CONTROL_PLANE_BASE_URL", "http");
  unsetenv("CONTROL_PLANE_BASE_URL");

  ok("--control-plane.url-path", "/tunnel/api", NULL);
  ok("--control-plane.url-path", "", NULL);
  const char *badp[] = {"tunnel", "/p?q=1", "/p#f", "https://x/p", "//x/p"};
  for (size_t i = 0; i < sizeof(badp) / sizeof(badp[0]); i++)
    expect_in(bad("--control-plane.url-path", badp[i], NULL),
              "invalid control plane URL path in --control-plane.url-path",
              NULL);
}

static void test_numbers(void **state) {
  (void)state;
  ok("--control-plane.max-inflight", "1", NULL);
  ok("--control-plane.max-inflight", "10000", NULL);
  expect_in(bad("--control-plane.max-inflight", "0", NULL),
            "invalid max inflight requests in --control-plane.max-inflight: "
            "\"0\"",
            "1 to 10000");
  expect_in(bad("--control-plane.max-inflight", "10001", NULL),
            "--control-plane.max-inflight", "10001");
  setenv("CONTROL_PLANE_MAX_INFLIGHT_REQUESTS", "lots", 1);
  expect_in(bad(NULL), "in CONTROL_PLANE_MAX_INFLIGHT_REQUESTS", "\"lots\"");
  unsetenv("CONTROL_PLANE_MAX_INFLIGHT_REQUESTS");
  char *prof = write_file("p.yaml", "# comment\ncontrol_plane:\n"
                                    "  max_inflight_requests: -5\n");
  char where[300];
  snprintf(where, sizeof(where),
           "in %s:3 (control_plane.max_inflight_requests)", prof);
  expect_in(bad("--config", prof, NULL), where, "\"-5\"");
  free(prof);

  expect_in(bad("--mcp.max-concurrent-requests", "0", NULL),
            "--mcp.max-concurrent-requests", NULL);
  expect_in(bad("--admin-ui.log-buffer-events", "100001", NULL),
            "--admin-ui.log-buffer-events", "1 to 100000");
}

static void test_durations(void **state) {
  (void)state;
  int64_t ms = -1;
  const char *why = NULL;
  struct {
    const char *in;
    int64_t ms;
  } good[] = {
      {"30s", 30000}, {"4500ms", 4500},      {"1m30s", 90000}, {"0", 0},
      {"1.5s", 1500}, {"2h", 7200000},       {"10m", 600000},  {"500us", 0},
      {"-1s", -1000}, {"1h2m3s4ms", 3723004}};
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
    assert_int_equal(tc_parse_duration_ms(good[i].in, &ms, &why), 0);
    assert_int_equal(ms, good[i].ms);
  }
  const char *bad[] = {
      "", "5", "s", "1x", "1.s5", "abc", "1s ", ".s", "99999999999999999999h"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    why = NULL;
    assert_int_equal(tc_parse_duration_ms(bad[i], &ms, &why), -1);
    assert_non_null(why);
  }

  ok("--control-plane.poll-timeout", "9m",
     "--control-plane."
     "poll-deadline-guardrail",
     "59s", NULL);
  expect_in(bad("--control-plane.poll-timeout", "0", NULL),
            "invalid poll timeout in --control-plane.poll-timeout", NULL);
  expect_in(bad("--control-plane.poll-timeout", "30", NULL),
            "--control-plane.poll-timeout", "Go duration");
  expect_in(bad("--control-plane.poll-deadline-guardrail", "0s", NULL),
            "--control-plane.poll-deadline-guardrail", NULL);
  expect_in(bad("--control-plane.poll-deadline-guardrail", "60s", NULL),
            "--control-plane.poll-deadline-guardrail", "below 60s");
  setenv("CONTROL_PLANE_POLL_DEADLINE_GUARDRAIL", "31s", 1);
  expect_in(bad("--control-plane.poll-timeout", "9m30s", NULL), "exceed 10m",
            "CONTROL_PLANE_POLL_DEADLINE_GUARDRAIL");
  unsetenv("CONTROL_PLANE_POLL_DEADLINE_GUARDRAIL");
  ok("--mcp.startup-wait-timeout", "0s", NULL);
  expect_in(bad("--mcp.startup-wait-timeout", "-1s", NULL),
            "--mcp.startup-wait-timeout", NULL);
  expect_in(bad("--mcp.connection-max-ttl", "0", NULL),
            "--mcp.connection-max-ttl", NULL);
  expect_in(bad("--proxy.check-interval", "0s", NULL), "--proxy.check-interval",
            NULL);
}

static void test_listen_addr(void **state) {
  (void)state;
  const char *why = NULL;
  const char *good[] = {"127.0.0.1:8080",  ":0",        "[::1]:8080",
                        "localhost:65535", "0.0.0.0:0", "[fe80::1%eth0]:9"};
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
    assert_int_equal(tc_validate_listen_addr(good[i], &why), 0);
  const char *bad[] = {"127.0.0.1", "127.0.0.1:65536", "::1:80",
                       "[::1]",     "host:abc",        "",
                       "[::1]8080", "a b:80",          "h:-1"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    assert_int_equal(tc_validate_listen_addr(bad[i], &why), -1);
  expect_in(bad("--health.listen-addr", "localhost", NULL),
            "invalid health listen address in --health.listen-addr",
            "\"localhost\"");
  setenv("HEALTH_LISTEN_ADDR", "127.0.0.1:99999", 1);
  expect_in(bad(NULL), "HEALTH_LISTEN_ADDR", "65535");
}

static void test_channel_canonical(void **state) {
  (void)state;
  char out[72];
  const char *why = NULL;
  assert_int_equal(tc_channel_canonical(" Main ", out, sizeof(out), &why), 0);
  assert_string_equal(out, "main");
  assert_int_equal(tc_channel_canonical("", out, 5, &why), 0);
  assert_string_equal(out, "main");
  assert_int_equal(tc_channel_canonical("Ex_tra-1", out, sizeof(out), &why), 0);
  assert_string_equal(out, "ex_tra-1");
  assert_int_equal(tc_channel_canonical("a b", out, sizeof(out), &why), -1);
  assert_int_equal(tc_channel_canonical("caf\xc3\xa9", out, sizeof(out), &why),
                   -1);
  char longname[80];
  memset(longname, 'a', 65);
  longname[65] = '\0';
  assert_int_equal(tc_channel_canonical(longname, out, sizeof(out), &why), -1);
  longname[64] = '\0';
  assert_int_equal(tc_channel_canonical(longname, out, sizeof(out), &why), 0);
}

static void test_poll_channels(void **state) {
  (void)state;
  ok("--mcp.server-url", "http://127.0.0.1:1/mcp", "--mcp.command",
     "channel=extra,command=cat", "--control-plane.poll-channel", "main",
     "--control-plane.poll-channel", "extra", NULL);
  expect_in(bad("--mcp.server-url", "http://127.0.0.1:1/mcp",
                "--control-plane.poll-channel", "main",
                "--control-plane.poll-channel", "main", NULL),
            "duplicate poll channel in --control-plane.poll-channel", "main");
  expect_in(bad("--mcp.server-url", "http://127.0.0.1:1/mcp",
                "--control-plane.poll-channel", "Main", NULL),
            "non-canonical poll channel", "\"main\"");
  setenv("CONTROL_PLANE_POLL_CHANNELS", "main,,x", 1);
  expect_in(bad("--mcp.server-url", "http://127.0.0.1:1/mcp", NULL),
            "blank poll channel in CONTROL_PLANE_POLL_CHANNELS", NULL);
  setenv("CONTROL_PLANE_POLL_CHANNELS", "main, other", 1);
  expect_in(bad("--mcp.server-url", "http://127.0.0.1:1/mcp", NULL),
            "poll channel \"other\" has no binding",
            "CONTROL_PLANE_POLL_CHANNELS");
  unsetenv("CONTROL_PLANE_POLL_CHANNELS");
  expect_in(bad("--control-plane.poll-channel", "harpoon", NULL), "\"harpoon\"",
            "target");
  ok("--mcp.server-url", "http://127.0.0.1:1/mcp",
     "--control-plane.poll-channel", "harpoon", "--control-plane.poll-channel",
     "main", NULL);
  ok("--control-plane.poll-channel", "harpoon", "--harpoon.target",
     "label=docs,url=https://docs.example", NULL);

  /* RUN: with poll channels no main binding is needed */
  setenv("CONTROL_PLANE_TUNNEL_ID", TID, 1);
  setenv("CONTROL_PLANE_API_KEY", "abc_123", 1);
  struct tc_config cfg;
  char *err = NULL;
  char *argv[] = {"--mcp.command", "channel=x,command=cat",
                  "--control-plane.poll-channel", "x", NULL};
  assert_int_equal(
      tc_config_load(&cfg, 4, argv, TC_CONFIG_RUN, NULL, NULL, NULL, &err), 0);
  assert_int_equal(cfg.cp_poll_channel_count, 1);
  assert_string_equal(cfg.cp_poll_channels[0], "x");
  tc_config_free(&cfg);
  err =
      fail_mode(TC_CONFIG_RUN, "--mcp.command", "channel=x,command=cat", NULL);
  assert_string_equal(err, "main channel is required; set --mcp.server-url or "
                           "--mcp.command, or MCP_SERVER_URL or MCP_COMMAND");
  free(err);
  ok("--mcp.command", "cat", NULL);
}

static void test_extra_headers(void **state) {
  (void)state;
  ok("--control-plane.extra-headers", "X-Team: " CANARY, NULL);
  const char *reserved[] = {"Authorization",
                            "accept",
                            "USER-AGENT",
                            "X-Tunnel-Client-Name",
                            "x-tunnel-client-version",
                            "X-Tunnel-MCP-Server-Info"};
  for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
    char h[128];
    snprintf(h, sizeof(h), "%s: " CANARY, reserved[i]);
    expect_in(bad("--control-plane.extra-headers", h, NULL), "reserved header",
              "--control-plane.extra-headers");
  }
  /* reserved only for the control plane: MCP may send Authorization */
  ok("--mcp.extra-headers", "Authorization: Bearer " CANARY, NULL);
  expect_in(bad("--mcp.extra-headers", "X-A: " CANARY, "--mcp.extra-headers",
                "x-a: " CANARY, NULL),
            "duplicate header X-A in --mcp.extra-headers", NULL);
  setenv("CONTROL_PLANE_EXTRA_HEADERS", "X-A: 1; X-B " CANARY, 1);
  expect_in(bad(NULL), "CONTROL_PLANE_EXTRA_HEADERS", "Name: value");
  setenv("CONTROL_PLANE_EXTRA_HEADERS", "X-A: a\rb" CANARY, 1);
  expect_in(bad(NULL), "control characters", "CONTROL_PLANE_EXTRA_HEADERS");
  unsetenv("CONTROL_PLANE_EXTRA_HEADERS");
  expect_in(bad("--mcp.discovery-extra-headers", CANARY " x: y", NULL),
            "invalid header name in --mcp.discovery-extra-headers", NULL);
  char *kf = write_file("hv", CANARY "\n" CANARY "\n");
  char h[300];
  snprintf(h, sizeof(h), "X-Key: file:%s", kf);
  expect_in(bad("--mcp.extra-headers", h, NULL), "more than one line", NULL);
  free(kf);
  char *prof = write_file("p.yaml", "control_plane:\n  extra_headers:\n"
                                    "    X-One: a\n    x-one: " CANARY "\n");
  char where[300];
  snprintf(where, sizeof(where), "%s:4 (control_plane.extra_headers.x-one)",
           prof);
  expect_in(bad("--config", prof, NULL), "duplicate header X-One", where);
  free(prof);
}

static void test_log(void **state) {
  (void)state;
  ok("--log.level", "debug", "--log.format", "struct-text", NULL);
  ok("--log.level", "INFO", NULL);
  expect_in(bad("--log.level", "debug", NULL),
            "log level \"debug\" needs a log format in --log.level",
            "--log.format");
  setenv("LOG_LEVEL", "warn", 1);
  expect_in(bad(NULL), "in LOG_LEVEL", "LOG_FORMAT");
  unsetenv("LOG_LEVEL");
  expect_in(bad("--log.level", "verbose", NULL),
            "invalid log level in --log.level: \"verbose\"", "debug");
  expect_in(bad("--log.format", "xml", NULL),
            "invalid log format in --log.format", "struct-text or json");
  /* a log file makes the format struct-text, so debug is fine */
  ok("--log.level", "error", "--log.file", "/tmp/tc.log", NULL);
}

static void test_cert_pairs_and_proxies(void **state) {
  (void)state;
  expect_in(bad("--control-plane.client-cert", "/c.pem", NULL),
            "control plane client certificate is set in "
            "--control-plane.client-cert",
            "--control-plane.client-key");
  setenv("MCP_CLIENT_KEY", "/k.pem", 1);
  expect_in(bad("--mcp.server-url", "https://m.example/mcp", NULL),
            "MCP client key is set in MCP_CLIENT_KEY", "--mcp.client-cert");
  unsetenv("MCP_CLIENT_KEY");
  ok("--mcp.client-cert", "/c.pem", "--mcp.client-key", "/k.pem",
     "--mcp.server-url", "https://m.example/mcp", NULL);
  expect_in(bad("--mcp.client-cert", "/c.pem", "--mcp.client-key", "/k.pem",
                "--mcp.command", "cat", NULL),
            "no HTTP binding", "--mcp.client-cert");

  ok("--http-proxy", "http://proxy.example:3128", NULL);
  expect_in(bad("--http-proxy", "socks5://proxy:1080", NULL),
            "invalid HTTP proxy in --http-proxy", NULL);
  char *err =
      bad("--control-plane.http-proxy", "ftp://u:" CANARY "@proxy:21", NULL);
  assert_non_null(strstr(err, "--control-plane.http-proxy"));
  assert_non_null(strstr(err, "[REDACTED]@proxy"));
  free(err);
  setenv("MCP_HTTP_PROXY", "proxy.example:3128", 1);
  expect_in(bad(NULL), "MCP_HTTP_PROXY", NULL);
  unsetenv("MCP_HTTP_PROXY");

  expect_in(bad("--control-plane.organization-id", "org\nx", NULL),
            "--control-plane.organization-id", "CR or LF");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_tunnel_id, setup, teardown),
      cmocka_unit_test_setup_teardown(test_api_key, setup, teardown),
      cmocka_unit_test_setup_teardown(test_base_url_and_path, setup, teardown),
      cmocka_unit_test_setup_teardown(test_numbers, setup, teardown),
      cmocka_unit_test_setup_teardown(test_durations, setup, teardown),
      cmocka_unit_test_setup_teardown(test_listen_addr, setup, teardown),
      cmocka_unit_test_setup_teardown(test_channel_canonical, setup, teardown),
      cmocka_unit_test_setup_teardown(test_poll_channels, setup, teardown),
      cmocka_unit_test_setup_teardown(test_extra_headers, setup, teardown),
      cmocka_unit_test_setup_teardown(test_log, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cert_pairs_and_proxies, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
