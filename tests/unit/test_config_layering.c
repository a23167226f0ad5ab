/* Config layering: flag > env > YAML > default, the API key layers,
 * empty env vars, command flags and positionals, module dirs, effective
 * values. */
#include "config_test_support.h"
#include "tc/host.h"
#include "util/child_env.h"
#include "util/redact.h"

#define TID2 "tunnel_ffffffffffffffffffffffffffffffff"

static const char *const extra_env[] = {"TUNNEL_CLIENT_CONFIG",
                                        "TUNNEL_CLIENT_PROFILE",
                                        "TUNNEL_CLIENT_PROFILE_FILE",
                                        "TUNNEL_CLIENT_PROFILE_DIR",
                                        "XDG_CONFIG_HOME",
                                        NULL};

static int setup(void **state) {
  (void)state;
  clear_config_env(extra_env);
  return make_tmpdir("/tmp/tc-cfg-layer-XXXXXX");
}

static int teardown(void **state) {
  (void)state;
  clear_config_env(extra_env);
  return remove_tmpdir();
}

static void test_defaults(void **state) {
  (void)state;
  struct tc_config cfg;
  char *err = NULL;
  assert_int_equal(load(&cfg, TC_CONFIG_LENIENT, &err, NULL), 0);
  assert_null(err);
  assert_string_equal(cfg.cp_base_url, "https://api.openai.com");
  assert_string_equal(cfg.cp_url_path, "");
  assert_null(cfg.cp_tunnel_id);
  assert_null(cfg.cp_api_key);
  assert_int_equal(cfg.cp_max_inflight, 20);
  assert_int_equal(cfg.cp_poll_timeout_ms, 30000);
  assert_int_equal(cfg.cp_poll_deadline_guardrail_ms, 5000);
  assert_null(cfg.cp_poll_channels);
  assert_int_equal(cfg.mcp_startup_wait_timeout_ms, 0);
  assert_int_equal(cfg.mcp_connection_max_ttl_ms, 600000);
  assert_int_equal(cfg.mcp_max_concurrent, 10);
  assert_int_equal(cfg.log_level, TC_LOG_INFO);
  assert_int_equal(cfg.log_format, TC_LOG_FORMAT_DEFAULT);
  assert_false(cfg.log_http_raw_unsafe);
  assert_string_equal(cfg.health_listen_addr, "127.0.0.1:8080");
  assert_false(cfg.allow_remote_ui);
  assert_false(cfg.open_web_ui);
  assert_int_equal(cfg.log_buffer_events, 2000);
  assert_int_equal(cfg.proxy_check_interval_ms, 60000);
  assert_int_equal(cfg.binding_count, 0);
  assert_int_equal(cfg.module_count, 0);
  assert_string_equal(tc_config_get(&cfg, "control_plane.poll_timeout"), "30s");
  assert_string_equal(tc_config_get(&cfg, "log.level"), "info");
  assert_null(tc_config_get(&cfg, "control_plane.tunnel_id"));
  assert_null(tc_config_get(&cfg, "no.such.key"));
  tc_config_free(&cfg);
}

/* One key through all four layers. */
static void test_precedence_max_inflight(void **state) {
  (void)state;
  struct tc_config cfg;
  char *err = NULL;
  char *prof = write_file("p.yaml", "control_plane:\n"
                                    "  max_inflight_requests: 30\n"
                                    "  poll_timeout: 45s\n"
                                    "log:\n  level: info\n");
  /* YAML beats the default */
  assert_int_equal(load(&cfg, TC_CONFIG_LENIENT, &err, "--config", prof, NULL),
                   0);
  assert_int_equal(cfg.cp_max_inflight, 30);
  assert_int_equal(cfg.cp_poll_timeout_ms, 45000);
  assert_string_equal(cfg.profile_path, prof);
  tc_config_free(&cfg);
  /* env beats YAML */
  setenv("CONTROL_PLANE_MAX_INFLIGHT_REQUESTS", " 40 ", 1);
  setenv("CONTROL_PLANE_POLL_TIMEOUT", "1m30s", 1);
  assert_int_equal(load(&cfg, TC_CONFIG_LENIENT, &err, "--config", prof, NULL),
                   0);
  assert_int_equal(cfg.cp_max_inflight, 40);
  assert_int_equal(cfg.cp_poll_timeout_ms, 90000);
  tc_config_free(&cfg);
  /* flag beats env */
  assert_int_equal(load(&cfg, TC_CONFIG_LENIENT, &err, "--config", prof,
                        "--control-plane.max-inflight", "50",
                        "--control-plane.poll-timeout=4500ms", NULL),
                   0);
  assert_int_equal(cfg.cp_max_inflight, 50);
  assert_int_equal(cfg.cp_poll_timeout_ms, 4500);
  assert_string_equal(
      tc_config_get(&cfg, "control_plane.max_inflight_requests"), "50");
  tc_config_free(&cfg);
  free(prof);
}

/* --mcp.max-inflight-reply-bytes: bytes, optionally KiB/MiB/GiB, through
 * every layer; out of range and malformed values are refused with the
 * setting's name and what to write instead. */
static void test_reply_budget_setting(void **state) {
  (void)state;
  struct tc_config cfg;
  char *err = NULL;
  assert_int_equal(load(&cfg, TC_CONFIG_LENIENT, &err, NULL), 0);
  assert_int_equal(cfg.mcp_max_inflight_reply_bytes, 256ll * 1024 * 1024);
  assert_string_equal(tc_config_get(&cfg, "mcp.max_inflight_reply_bytes"),
                      "268435456");
  tc_config_free(&cfg);
  char *prof =
      write_file("p.yaml", "mcp:\n  max_inflight_reply_bytes: 64MiB\n");
  assert_int_equal(load(&cfg, TC_CONFIG_LENIENT, &err, "--config", prof, NULL),
                   0);
  assert_int_equal(cfg.mcp_max_inflight_reply_bytes, 64ll * 1024 * 1024);
  tc_config_free(&cfg);
  setenv("MCP_MAX_INFLIGHT_REPLY_BYTES", "2 GiB", 1);
  assert_int_equal(load(&cfg, TC_CONFIG_LENIENT, &err, "--config", prof, NULL),
                   0);
  assert_int_equal(cfg.mcp_max_inflight_reply_bytes, 2ll * 1024 * 1024 * 1024);
  tc_config_free(&cfg);
  assert_int_equal(load(&cfg, TC_CONFIG_LENIENT, &err, "--config", prof,
                        "--mcp.max-inflight-reply-bytes", "1048576", NULL),
                   0);
  assert_int_equal(cfg.mcp_max_inflight_reply_bytes, 1048576);
  tc_config_free(&cfg);
  unsetenv("MCP_MAX_INFLIGHT_REPLY_BYTES");
  static const char *const bad[] = {
      "512KiB", "12abc", "1TB", "-5", "99999999999999999999", "1 ", ""};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    err = NULL;
    if (load(&cfg, TC_CONFIG_LENIENT, &err, "--mcp.max-inflight-reply-bytes",
             bad[i], NULL) == 0)
      fail_msg("\"%s\" was accepted", bad[i]);
    assert_non_null(err);
    assert_non_null(strstr(err, "MCP in-flight reply budget"));
    assert_non_null(strstr(err, "MiB"));
    free(err);
  }
  free(prof);
}

static void test_precedence_strings(void **state) {
  (void)state;
  struct tc_config cfg;
  char *err = NULL;
  char *prof = write_file("p.yaml", "control_plane:\n"
                                    "  tunnel_id: " TID "\n"
                                    "  base_url: https://yaml.example\n"
                                    "health:\n"
                                    "  listen_addr: 127.0.0.1:9000\n");
  setenv("CONTROL_PLANE_BASE_URL", "https://env.example/", 1);
  assert_int_equal(load(&cfg, TC_CONFIG_LENIENT, &err, "--config", prof,
                        "--health.listen-addr", "[::1]:0", NULL),
                   0);
  assert_string_equal(cfg.cp_tunnel_id, TID);                  /* YAML */
  assert_string_equal(cfg.cp_base_url, "https://env.example"); /* env */
  assert_string_equal(cfg.health_listen_addr, "[::1]:0");      /* flag */
  tc_config_free(&cfg);

  /* an empty env var counts as unset: YAML applies */
  setenv("CONTROL_PLANE_BASE_URL", "", 1);
  setenv("HEALTH_LISTEN_ADDR", "  ", 1);
  assert_int_equal(load(&cfg, TC_CONFIG_LENIENT, &err, "--config", prof, NULL),
                   0);
  assert_string_equal(cfg.cp_base_url, "https://yaml.example");
  assert_string_equal(cfg.health_listen_addr, "127.0.0.1:9000");
  tc_config_free(&cfg);

  /* the hidden dash alias applies only when the canonical flag is unset */
  assert_int_equal(load(&cfg, TC_CONFIG_LENIENT, &err,
                        "--control-plane-tunnel-id", TID2, NULL),
                   0);
  assert_string_equal(cfg.cp_tunnel_id, TID2);
  tc_config_free(&cfg);
  assert_int_equal(load(&cfg, TC_CONFIG_LENIENT, &err,
                        "--control-plane-tunnel-id", TID2,
                        "--control-plane.tunnel-id", TID, NULL),
                   0);
  assert_string_equal(cfg.cp_tunnel_id, TID);
  tc_config_free(&cfg);
  free(prof);
}

static void test_bool_flags(void **state) {
  (void)state;
  struct tc_config cfg;
  char *err = NULL;
  setenv("ALLOW_REMOTE_UI", "true", 1);
  setenv("OPEN_WEB_UI", "1", 1);
  assert_int_equal(load(&cfg, TC_CONFIG_LENIENT, &err, "--log.http-raw-unsafe",
                        "--open-web-ui=false", NULL),
                   0);
  assert_true(cfg.log_http_raw_unsafe);
  assert_true(cfg.allow_remote_ui); /* env */
  assert_false(cfg.open_web_ui);    /* flag beats env */
  assert_string_equal(tc_config_get(&cfg, "admin_ui.open_browser"), "false");
  tc_config_free(&cfg);

  assert_int_equal(
      load(&cfg, TC_CONFIG_LENIENT, &err, "--open-web-ui=maybe", NULL), -1);
  assert_non_null(strstr(err, "--open-web-ui"));
  free(err);
  setenv("ALLOW_REMOTE_UI", "yes please", 1);
  assert_int_equal(load(&cfg, TC_CONFIG_LENIENT, &err, NULL), -1);
  assert_non_null(strstr(err, "ALLOW_REMOTE_UI"));
  free(err);
}

/* flag (reference) > CONTROL_PLANE_API_KEY > YAML > OPENAI_API_KEY. */
static void test_api_key_layers(void **state) {
  (void)state;
  struct tc_config cfg;
  char *err = NULL;
  char *prof = write_file("p.yaml", "control_plane:\n"
                                    "  api_key: sk-from-yaml-1\n");
  setenv("OPENAI_API_KEY", "sk-from-openai-1", 1);
  assert_int_equal(load(&cfg, TC_CONFIG_LENIENT, &err, NULL), 0);
  assert_string_equal(cfg.cp_api_key, "sk-from-openai-1");
  assert_null(tc_config_get(&cfg, "control_plane.api_key")); /* secret */
  tc_config_free(&cfg);

  /* YAML fills the CONTROL_PLANE_API_KEY layer: it beats OPENAI_API_KEY */
  assert_int_equal(load(&cfg, TC_CONFIG_LENIENT, &err, "--config", prof, NULL),
                   0);
  assert_string_equal(cfg.cp_api_key, "sk-from-yaml-1");
  tc_config_free(&cfg);

  setenv("CONTROL_PLANE_API_KEY", "sk-from-cp-env-1", 1);
  assert_int_equal(load(&cfg, TC_CONFIG_LENIENT, &err, "--config", prof, NULL),
                   0);
  assert_string_equal(cfg.cp_api_key, "sk-from-cp-env-1");
  tc_config_free(&cfg);

  setenv("MY_KEY_VAR", "sk-from-flag-ref-1", 1);
  assert_int_equal(load(&cfg, TC_CONFIG_LENIENT, &err, "--config", prof,
                        "--control-plane.api-key", "ENV:MY_KEY_VAR", NULL),
                   0);
  assert_string_equal(cfg.cp_api_key, "sk-from-flag-ref-1");
  tc_config_free(&cfg);

  char *keyfile = write_file("key.txt", "sk-from-file-1\n");
  char *ref = malloc(300);
  snprintf(ref, 300, "file:%s", keyfile);
  assert_int_equal(
      load(&cfg, TC_CONFIG_LENIENT, &err, "--control-plane.api-key", ref, NULL),
      0);
  assert_string_equal(cfg.cp_api_key, "sk-from-file-1");
  tc_config_free(&cfg);

  /* a literal on the flag is refused without echoing it */
  assert_int_equal(load(&cfg, TC_CONFIG_LENIENT, &err,
                        "--control-plane.api-key=" CANARY, NULL),
                   -1);
  assert_non_null(strstr(err, "--control-plane.api-key"));
  assert_non_null(strstr(err, "env:NAME"));
  assert_null(strstr(err, "canary"));
  free(err);

  /* the YAML value may itself be a reference */
  char *prof2 = write_file("p2.yaml", "control_plane:\n"
                                      "  api_key: env:MY_KEY_VAR\n");
  unsetenv("CONTROL_PLANE_API_KEY");
  assert_int_equal(load(&cfg, TC_CONFIG_LENIENT, &err, "--config", prof2, NULL),
                   0);
  assert_string_equal(cfg.cp_api_key, "sk-from-flag-ref-1");
  tc_config_free(&cfg);

  /* empty=err for CONTROL_PLANE_API_KEY */
  setenv("CONTROL_PLANE_API_KEY", "", 1);
  assert_int_equal(load(&cfg, TC_CONFIG_LENIENT, &err, NULL), -1);
  assert_non_null(strstr(err, "CONTROL_PLANE_API_KEY"));
  free(err);
  free(prof);
  free(prof2);
  free(ref);
  free(keyfile);
}

static void test_empty_err_env(void **state) {
  (void)state;
  struct tc_config cfg;
  char *err = NULL;
  const char *vars[] = {"CONTROL_PLANE_TUNNEL_ID",
                        "CONTROL_PLANE_MAX_INFLIGHT_REQUESTS",
                        "CONTROL_PLANE_POLL_CHANNELS"};
  for (size_t i = 0; i < 3; i++) {
    setenv(vars[i], "", 1);
    assert_int_equal(load(&cfg, TC_CONFIG_LENIENT, &err, NULL), -1);
    assert_non_null(strstr(err, vars[i]));
    assert_non_null(strstr(err, "empty"));
    free(err);
    unsetenv(vars[i]);
  }
}

static void test_secret_registration(void **state) {
  (void)state;
  struct tc_config cfg;
  char *err = NULL;
  tc_redact_reset();
  setenv("CONTROL_PLANE_API_KEY", "plainkeyvalue_77", 1);
  setenv("MCP_EXTRA_HEADERS", "X-Team: hdrsecretvalue42", 1);
  setenv("TUNNEL_CLIENT_HTTP_PROXY", "http://bob:proxypass99@proxy:3128", 1);
  assert_int_equal(load(&cfg, TC_CONFIG_LENIENT, &err, NULL), 0);
  char *r = tc_redact("a plainkeyvalue_77 b hdrsecretvalue42 c proxypass99");
  assert_non_null(r);
  assert_null(strstr(r, "plainkeyvalue_77"));
  assert_null(strstr(r, "hdrsecretvalue42"));
  assert_null(strstr(r, "proxypass99"));
  free(r);
  /* a proxy URL with credentials is not exposed through config_get */
  assert_null(tc_config_get(&cfg, "http_proxy"));
  assert_null(tc_config_get(&cfg, "mcp.extra_headers"));
  assert_string_equal(cfg.http_proxy, "http://bob:proxypass99@proxy:3128");
  tc_config_free(&cfg);
  tc_redact_reset();
}

static void test_headers_layers(void **state) {
  (void)state;
  struct tc_config cfg;
  char *err = NULL;
  char *prof = write_file("p.yaml", "mcp:\n"
                                    "  extra_headers:\n"
                                    "    x-yaml-one: a\n"
                                    "    X-Yaml-Two: b\n");
  assert_int_equal(load(&cfg, TC_CONFIG_LENIENT, &err, "--config", prof, NULL),
                   0);
  assert_int_equal(cfg.mcp_extra_headers.count, 2);
  assert_string_equal(cfg.mcp_extra_headers.items[0].name, "X-Yaml-One");
  assert_string_equal(cfg.mcp_extra_headers.items[0].value, "a");
  tc_config_free(&cfg);

  /* env set (even empty) drops the YAML map whole */
  setenv("MCP_EXTRA_HEADERS", "", 1);
  assert_int_equal(load(&cfg, TC_CONFIG_LENIENT, &err, "--config", prof, NULL),
                   0);
  assert_int_equal(cfg.mcp_extra_headers.count, 0);
  tc_config_free(&cfg);

  setenv("MCP_EXTRA_HEADERS", "X-A: 1, X-B: 2; X-C: 3", 1);
  assert_int_equal(load(&cfg, TC_CONFIG_LENIENT, &err, "--config", prof, NULL),
                   0);
  assert_int_equal(cfg.mcp_extra_headers.count, 3);
  assert_string_equal(tc_headers_get(&cfg.mcp_extra_headers, "x-c", 0), "3");
  tc_config_free(&cfg);

  /* the flag wins over env */
  assert_int_equal(load(&cfg, TC_CONFIG_LENIENT, &err, "--config", prof,
                        "--mcp.extra-headers", "Authorization: Bearer abc",
                        "--mcp.extra-headers=X-Other: q", NULL),
                   0);
  assert_int_equal(cfg.mcp_extra_headers.count, 2);
  assert_string_equal(
      tc_headers_get(&cfg.mcp_extra_headers, "authorization", 0), "Bearer abc");
  tc_config_free(&cfg);
  free(prof);
}

static void test_extra_flags_and_positionals(void **state) {
  (void)state;
  struct tc_config cfg;
  char *err = NULL;
  bool json = false;
  const char *name = NULL;
  struct tc_cmd_flag extra[] = {{"json", false, &json, NULL},
                                {"name", true, NULL, &name},
                                {NULL, false, NULL, NULL}};
  char *argv[] = {
      "list",         "--json", "--name", "foo",          "--log.level=warn",
      "--log.format", "JSON",   "--",     "--not-a-flag", NULL};
  char **pos = NULL;
  size_t npos = 0;
  assert_int_equal(tc_config_load(&cfg, 9, argv, TC_CONFIG_LENIENT, extra, &pos,
                                  &npos, &err),
                   0);
  assert_true(json);
  assert_string_equal(name, "foo");
  assert_int_equal(npos, 2);
  assert_string_equal(pos[0], "list");
  assert_string_equal(pos[1], "--not-a-flag");
  assert_int_equal(cfg.log_level, TC_LOG_WARN);
  assert_int_equal(cfg.log_format, TC_LOG_FORMAT_JSON);
  free(pos);
  tc_config_free(&cfg);

  /* positionals refused when the command takes none */
  char *argv2[] = {"stray", NULL};
  assert_int_equal(
      tc_config_load(&cfg, 1, argv2, TC_CONFIG_LENIENT, NULL, NULL, NULL, &err),
      -1);
  assert_non_null(strstr(err, "stray"));
  free(err);

  /* unknown flag with a suggestion; a missing value */
  assert_int_equal(load(&cfg, TC_CONFIG_LENIENT, &err,
                        "--control-plane.tunel-id", TID, NULL),
                   -1);
  assert_non_null(strstr(err, "unknown flag --control-plane.tunel-id"));
  assert_non_null(strstr(err, "--control-plane.tunnel-id"));
  free(err);
  assert_int_equal(load(&cfg, TC_CONFIG_LENIENT, &err, "--log.file", NULL), -1);
  assert_non_null(strstr(err, "--log.file"));
  free(err);
}

static void test_module_dirs_and_modules(void **state) {
  (void)state;
  struct tc_config cfg;
  char *err = NULL;
  setenv("TUNNEL_CLIENT_MODULE_PATH", "/env/one::/env/two", 1);
  assert_int_equal(load(&cfg, TC_CONFIG_LENIENT, &err, "--modules.dir", "/f1",
                        "--modules.dir=/f2", "--module", "mcp-http", "--module",
                        "/x/custom.so", NULL),
                   0);
  assert_int_equal(cfg.module_dir_count, 4);
  assert_string_equal(cfg.module_dirs[0], "/f1");
  assert_string_equal(cfg.module_dirs[1], "/f2");
  assert_string_equal(cfg.module_dirs[2], "/env/one");
  assert_string_equal(cfg.module_dirs[3], "/env/two");
  assert_int_equal(cfg.module_count, 2);
  assert_string_equal(cfg.modules[0].spec, "mcp-http");
  assert_string_equal(cfg.modules[0].origin, "--module");
  assert_null(cfg.modules[0].settings);
  assert_string_equal(cfg.modules[1].spec, "/x/custom.so");
  tc_config_free(&cfg);
  unsetenv("TUNNEL_CLIENT_MODULE_PATH");
}

static void test_log_file_sets_format(void **state) {
  (void)state;
  struct tc_config cfg;
  char *err = NULL;
  assert_int_equal(load(&cfg, TC_CONFIG_LENIENT, &err, "--log.file",
                        "/tmp/x.log", "--log.level", "DEBUG", NULL),
                   0);
  assert_int_equal(cfg.log_format, TC_LOG_FORMAT_TEXT);
  assert_int_equal(cfg.log_level, TC_LOG_DEBUG);
  assert_string_equal(tc_config_get(&cfg, "log.format"), "struct-text");
  tc_config_free(&cfg);
}

static void test_mtls_base_url(void **state) {
  (void)state;
  struct tc_config cfg;
  char *err = NULL;
  assert_int_equal(load(&cfg, TC_CONFIG_LENIENT, &err,
                        "--control-plane.client-cert", "/c.pem",
                        "--control-plane.client-key", "/k.pem", NULL),
                   0);
  assert_string_equal(cfg.cp_base_url, "https://mtls.api.openai.com");
  assert_string_equal(tc_config_get(&cfg, "control_plane.base_url"),
                      "https://mtls.api.openai.com");
  tc_config_free(&cfg);
  assert_int_equal(load(&cfg, TC_CONFIG_LENIENT, &err,
                        "--control-plane.client-cert", "/c.pem",
                        "--control-plane.client-key", "/k.pem",
                        "--control-plane.base-url", "https://cp.example", NULL),
                   0);
  assert_string_equal(cfg.cp_base_url, "https://cp.example");
  tc_config_free(&cfg);
}

/* Our shutdown grace period: default 15s, YAML < env < flag, bounded. */
static void test_shutdown_grace(void **state) {
  (void)state;
  struct tc_config cfg;
  char *err = NULL;
  assert_int_equal(load(&cfg, TC_CONFIG_LENIENT, &err, NULL), 0);
  assert_int_equal(cfg.shutdown_grace_ms, 15000);
  tc_config_free(&cfg);
  char *prof = write_file("g.yaml", "process:\n  shutdown_grace_period: 1s\n");
  assert_int_equal(load(&cfg, TC_CONFIG_LENIENT, &err, "--config", prof, NULL),
                   0);
  assert_int_equal(cfg.shutdown_grace_ms, 1000);
  tc_config_free(&cfg);
  setenv("SHUTDOWN_GRACE_PERIOD", "500ms", 1);
  assert_int_equal(load(&cfg, TC_CONFIG_LENIENT, &err, "--config", prof, NULL),
                   0);
  assert_int_equal(cfg.shutdown_grace_ms, 500);
  tc_config_free(&cfg);
  assert_int_equal(load(&cfg, TC_CONFIG_LENIENT, &err, "--config", prof,
                        "--shutdown.grace-period", "2s", NULL),
                   0);
  assert_int_equal(cfg.shutdown_grace_ms, 2000);
  tc_config_free(&cfg);
  unsetenv("SHUTDOWN_GRACE_PERIOD");
  assert_int_equal(load(&cfg, TC_CONFIG_LENIENT, &err,
                        "--shutdown.grace-period", "11m", NULL),
                   -1);
  assert_non_null(strstr(err, "--shutdown.grace-period"));
  free(err);
  free(prof);
}

static void expect_error(const char *want, ...) {
  va_list ap;
  va_start(ap, want);
  free(vload_error(want, ap));
  va_end(ap);
}

/* --mcp.command-pass-env through its three layers, and which variables
 * stdio children lose: the API key's, OPENAI_ADMIN_KEY, the variables of
 * secret keys and the NAME behind an env: reference of a secret value. */
static void test_command_pass_env(void **state) {
  (void)state;
  struct tc_config cfg;
  char *err = NULL;
  char *prof = write_file("p.yaml", "mcp:\n"
                                    "  command_pass_env: [YAML_A, YAML_B]\n");
  assert_int_equal(load(&cfg, TC_CONFIG_LENIENT, &err, "--config", prof, NULL),
                   0);
  assert_int_equal(cfg.mcp_command_pass_env_count, 2);
  assert_string_equal(cfg.mcp_command_pass_env[1], "YAML_B");
  tc_config_free(&cfg);
  setenv("MCP_COMMAND_PASS_ENV", "ENV_A,ENV_B,ENV_C", 1);
  assert_int_equal(load(&cfg, TC_CONFIG_LENIENT, &err, "--config", prof, NULL),
                   0);
  assert_int_equal(cfg.mcp_command_pass_env_count, 3);
  assert_string_equal(cfg.mcp_command_pass_env[2], "ENV_C");
  tc_config_free(&cfg);
  setenv("MY_HEADER_SECRET", "hv", 1);
  assert_int_equal(load(&cfg, TC_CONFIG_LENIENT, &err, "--config", prof,
                        "--mcp.command-pass-env", "OPENAI_ADMIN_KEY",
                        "--mcp.extra-headers", "X-Tok: env:MY_HEADER_SECRET",
                        NULL),
                   0);
  assert_int_equal(cfg.mcp_command_pass_env_count, 1);
  assert_true(tc_child_env_is_withheld("CONTROL_PLANE_API_KEY"));
  assert_true(tc_child_env_is_withheld("OPENAI_API_KEY"));
  assert_true(tc_child_env_is_withheld("MCP_EXTRA_HEADERS"));
  assert_true(tc_child_env_is_withheld("MY_HEADER_SECRET"));
  assert_false(tc_child_env_is_withheld("HOME"));
  char *const env[] = {"HOME=/h", "CONTROL_PLANE_API_KEY=k",
                       "OPENAI_ADMIN_KEY=a", "MY_HEADER_SECRET=hv", NULL};
  char **child = tc_child_env_build(env, cfg.mcp_command_pass_env,
                                    cfg.mcp_command_pass_env_count);
  assert_non_null(child);
  assert_string_equal(child[0], "HOME=/h");
  assert_string_equal(child[1], "OPENAI_ADMIN_KEY=a"); /* passed */
  assert_null(child[2]);
  free(child);
  char *dropped = tc_child_env_dropped(env, cfg.mcp_command_pass_env,
                                       cfg.mcp_command_pass_env_count);
  assert_string_equal(dropped, "CONTROL_PLANE_API_KEY, MY_HEADER_SECRET");
  free(dropped);
  tc_config_free(&cfg);
  unsetenv("MY_HEADER_SECRET");
  expect_error("duplicate variable in --mcp.command-pass-env",
               "--mcp.command-pass-env", "A", "--mcp.command-pass-env", "A",
               NULL);
  setenv("MCP_COMMAND_PASS_ENV", "GOOD,9BAD", 1);
  expect_error("invalid variable name in MCP_COMMAND_PASS_ENV", NULL);
  free(prof);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
      cmocka_unit_test_setup_teardown(test_precedence_max_inflight, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_precedence_strings, setup, teardown),
      cmocka_unit_test_setup_teardown(test_reply_budget_setting, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_bool_flags, setup, teardown),
      cmocka_unit_test_setup_teardown(test_api_key_layers, setup, teardown),
      cmocka_unit_test_setup_teardown(test_empty_err_env, setup, teardown),
      cmocka_unit_test_setup_teardown(test_secret_registration, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_headers_layers, setup, teardown),
      cmocka_unit_test_setup_teardown(test_extra_flags_and_positionals, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_module_dirs_and_modules, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_log_file_sets_format, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_mtls_base_url, setup, teardown),
      cmocka_unit_test_setup_teardown(test_shutdown_grace, setup, teardown),
      cmocka_unit_test_setup_teardown(test_command_pass_env, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
