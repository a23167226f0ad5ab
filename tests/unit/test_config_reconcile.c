/* Unit tests for config/reconcile.c: every key has a reload class, and a
 * reloaded configuration is compared with the running one — live keys are
 * listed, restart keys are listed and keep their running value (typed field
 * and config_get answer), secrets are compared without being shown. */
#include "config_test_support.h"

#include "config/reconcile.h"
#include "tc/host.h"

static int setup(void **state) {
  (void)state;
  static const char *const extra[] = {"TUNNEL_CLIENT_PROFILE",
                                      "TUNNEL_CLIENT_PROFILE_FILE",
                                      "TUNNEL_CLIENT_CONFIG",
                                      "TUNNEL_CLIENT_PROFILE_DIR",
                                      "HTTPS_PROXY",
                                      "ROTATED_KEY",
                                      NULL};
  clear_config_env(extra);
  return make_tmpdir("/tmp/tc-reconcile-XXXXXX");
}

static int teardown(void **state) {
  (void)state;
  return remove_tmpdir();
}

/* Load the profile `yaml` (written to p.yaml) in run mode. */
static void load_profile(struct tc_config *cfg, const char *yaml) {
  char *path = write_file("p.yaml", yaml);
  char *err = NULL;
  int rc = load(cfg, TC_CONFIG_RUN, &err, "--profile-file", path, NULL);
  if (rc != 0)
    print_error("load failed: %s\n", err);
  assert_int_equal(rc, 0);
  free(err);
  free(path);
}

static const char *const base_yaml =
    "control_plane:\n"
    "  tunnel_id: " TID "\n"
    "  api_key: key-one-1234\n"
    "mcp:\n"
    "  server_urls:\n"
    "    - http://127.0.0.1:9/mcp\n"
    "  commands:\n"
    "    - channel=st,command=mcp-server --flag\n"
    "health:\n"
    "  listen_addr: 127.0.0.1:8080\n"
    "log:\n"
    "  level: info\n";

static int has(char *const *v, size_t n, const char *s) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(v[i], s) == 0)
      return 1;
  return 0;
}

/* Adding a key to the table without deciding whether a reload may apply it
 * fails here: the operator docs list every key's class. */
static void test_every_key_is_classified(void **state) {
  (void)state;
  for (int id = 0; id < tc_config_key_count(); id++) {
    int cls = tc_config_reload_class(id);
    if (cls != TC_RELOAD_LIVE && cls != TC_RELOAD_RESTART)
      print_error("key %s has no reload class (config/reconcile.c)\n",
                  tc_cfg_key_by_id(id)->flag);
    assert_true(cls == TC_RELOAD_LIVE || cls == TC_RELOAD_RESTART);
  }
  assert_int_equal(tc_config_reload_class(TC_K_COUNT), TC_RELOAD_UNCLASSIFIED);
  /* The settings the operator docs promise. */
  assert_int_equal(tc_config_reload_class(TC_K_CP_TUNNEL_ID),
                   TC_RELOAD_RESTART);
  assert_int_equal(tc_config_reload_class(TC_K_HEALTH_ADDR), TC_RELOAD_RESTART);
  assert_int_equal(tc_config_reload_class(TC_K_MCP_SERVER_URLS),
                   TC_RELOAD_LIVE);
  assert_int_equal(tc_config_reload_class(TC_K_LOG_LEVEL), TC_RELOAD_LIVE);
  assert_int_equal(tc_config_reload_class(TC_K_HTTP_PROXY), TC_RELOAD_LIVE);
  assert_null(tc_config_key_name(TC_K_PROFILE));
  assert_string_equal(tc_config_key_name(TC_K_MODULE_DIRS), "modules.dir");
}

static void test_unchanged_reports_nothing(void **state) {
  (void)state;
  struct tc_config run, next;
  load_profile(&run, base_yaml);
  load_profile(&next, base_yaml);
  struct tc_config_changes c;
  char *err = NULL;
  assert_int_equal(tc_config_reconcile(&run, &next, &c, &err), 0);
  assert_int_equal(c.live_count, 0);
  assert_int_equal(c.restart_count, 0);
  tc_config_changes_free(&c);
  tc_config_free(&run);
  tc_config_free(&next);
}

static void test_live_and_restart_keys(void **state) {
  (void)state;
  struct tc_config run, next;
  load_profile(&run, base_yaml);
  load_profile(&next, "control_plane:\n"
                      "  tunnel_id: tunnel_ffffffffffffffffffffffffffffffff\n"
                      "  api_key: key-two-5678\n"
                      "  extra_headers:\n"
                      "    X-Team: blue\n"
                      "  poll_channels: [main, st]\n"
                      "mcp:\n"
                      "  server_urls:\n"
                      "    - http://127.0.0.1:9/mcp\n"
                      "    - channel=alt,url=http://127.0.0.1:10/mcp\n"
                      "  commands:\n"
                      "    - channel=st,command=mcp-server --flag\n"
                      "  max_concurrent_requests: 3\n"
                      "  max_inflight_reply_bytes: 64MiB\n"
                      "health:\n"
                      "  listen_addr: 127.0.0.1:9090\n"
                      "log:\n"
                      "  level: debug\n"
                      "  format: json\n"
                      "http_proxy: http://proxy.example:3128\n");
  struct tc_config_changes c;
  char *err = NULL;
  assert_int_equal(tc_config_reconcile(&run, &next, &c, &err), 0);
  /* Live: listed, and next keeps the new values. */
  assert_true(has(c.live, c.live_count, "control_plane.api_key"));
  assert_true(has(c.live, c.live_count, "control_plane.extra_headers"));
  assert_true(has(c.live, c.live_count, "control_plane.poll_channels"));
  assert_true(has(c.live, c.live_count, "mcp.server_urls"));
  assert_false(has(c.live, c.live_count, "mcp.commands")); /* same command */
  assert_true(has(c.live, c.live_count, "log.level"));
  assert_true(has(c.live, c.live_count, "log.format"));
  assert_true(has(c.live, c.live_count, "http_proxy"));
  assert_true(has(c.live, c.live_count, "mcp.max_inflight_reply_bytes"));
  assert_int_equal(next.log_level, TC_LOG_DEBUG);
  assert_string_equal(next.cp_api_key, "key-two-5678");
  assert_int_equal(next.binding_count, 3);
  /* Restart: listed, and next is back to the running value everywhere. */
  assert_true(has(c.restart, c.restart_count, "control_plane.tunnel_id"));
  assert_true(has(c.restart, c.restart_count, "health.listen_addr"));
  assert_true(has(c.restart, c.restart_count, "mcp.max_concurrent_requests"));
  assert_int_equal(c.restart_count, 3);
  assert_string_equal(next.cp_tunnel_id, TID);
  assert_string_equal(tc_config_get(&next, "control_plane.tunnel_id"), TID);
  assert_string_equal(next.health_listen_addr, "127.0.0.1:8080");
  assert_string_equal(tc_config_get(&next, "health.listen_addr"),
                      "127.0.0.1:8080");
  assert_int_equal(next.mcp_max_concurrent, run.mcp_max_concurrent);
  assert_string_equal(tc_config_get(&next, "mcp.max_concurrent_requests"),
                      tc_config_get(&run, "mcp.max_concurrent_requests"));
  /* Names only: no value, and the key never appears. */
  for (size_t i = 0; i < c.live_count; i++)
    assert_null(strstr(c.live[i], "key-two"));
  tc_config_changes_free(&c);

  /* A second reload of the same file names the restart keys again: the
   * process still runs the old values. */
  struct tc_config again;
  load_profile(&again, "control_plane:\n"
                       "  tunnel_id: tunnel_ffffffffffffffffffffffffffffffff\n"
                       "  api_key: key-two-5678\n"
                       "mcp:\n"
                       "  server_urls:\n"
                       "    - http://127.0.0.1:9/mcp\n"
                       "health:\n"
                       "  listen_addr: 127.0.0.1:9090\n");
  assert_int_equal(tc_config_reconcile(&next, &again, &c, &err), 0);
  assert_true(has(c.restart, c.restart_count, "control_plane.tunnel_id"));
  assert_true(has(c.restart, c.restart_count, "health.listen_addr"));
  assert_true(has(c.live, c.live_count, "mcp.commands")); /* removed */
  tc_config_changes_free(&c);
  tc_config_free(&again);
  tc_config_free(&run);
  tc_config_free(&next);
}

/* A file: reference resolved again: the secret changed though the profile
 * text did not. */
static void test_rotated_file_secret_is_a_change(void **state) {
  (void)state;
  char *key = write_file("key", "key-one-1234\n");
  char *yaml = NULL;
  assert_true(asprintf(&yaml,
                       "control_plane:\n"
                       "  tunnel_id: " TID "\n"
                       "  api_key: file:%s\n"
                       "mcp:\n"
                       "  server_urls: [http://127.0.0.1:9/mcp]\n",
                       key) > 0);
  struct tc_config run, next;
  load_profile(&run, yaml);
  free(write_file("key", "key-two-5678\n"));
  load_profile(&next, yaml);
  struct tc_config_changes c;
  char *err = NULL;
  assert_int_equal(tc_config_reconcile(&run, &next, &c, &err), 0);
  assert_int_equal(c.live_count, 1);
  assert_string_equal(c.live[0], "control_plane.api_key");
  assert_int_equal(c.restart_count, 0);
  tc_config_changes_free(&c);
  tc_config_free(&run);
  tc_config_free(&next);
  free(yaml);
  free(key);
}

/* Modules and module directories are bound at start: the running list is
 * kept (specs and their config maps). */
static void test_modules_keep_running_list(void **state) {
  (void)state;
  struct tc_config run, next;
  load_profile(&run, base_yaml);
  char *yaml = NULL;
  assert_true(asprintf(&yaml,
                       "%smodules:\n"
                       "  - name: mcp-http\n"
                       "    config:\n"
                       "      probe_timeout: 3s\n",
                       base_yaml) > 0);
  load_profile(&next, yaml);
  assert_int_equal(next.module_count, 1);
  struct tc_config_changes c;
  char *err = NULL;
  assert_int_equal(tc_config_reconcile(&run, &next, &c, &err), 0);
  assert_int_equal(c.restart_count, 1);
  assert_string_equal(c.restart[0], "modules");
  assert_int_equal(next.module_count, 0);
  assert_null(next.modules);
  tc_config_changes_free(&c);
  /* The other way round: the running list comes back whole. */
  struct tc_config plain;
  load_profile(&plain, base_yaml);
  struct tc_config with;
  load_profile(&with, yaml);
  assert_int_equal(tc_config_reconcile(&with, &plain, &c, &err), 0);
  assert_int_equal(plain.module_count, 1);
  assert_string_equal(plain.modules[0].spec, "mcp-http");
  assert_non_null(plain.modules[0].settings);
  assert_string_equal(plain.modules[0].settings->items[0].key, "probe_timeout");
  tc_config_changes_free(&c);
  tc_config_free(&with);
  tc_config_free(&plain);
  tc_config_free(&run);
  tc_config_free(&next);
  free(yaml);
}

/* Header lists: order and values count, name case does not. */
static void test_headers_equal(void **state) {
  (void)state;
  struct tc_headers a = TC_HEADERS_INIT, b = TC_HEADERS_INIT;
  tc_headers_add(&a, "X-One", "1");
  tc_headers_add(&a, "X-Two", "2");
  tc_headers_add(&b, "x-one", "1");
  tc_headers_add(&b, "X-TWO", "2");
  assert_true(tc_config_headers_equal(&a, &b));
  tc_headers_clear(&b);
  tc_headers_add(&b, "X-Two", "2");
  tc_headers_add(&b, "X-One", "1");
  assert_false(tc_config_headers_equal(&a, &b));
  tc_headers_clear(&b);
  tc_headers_add(&b, "X-One", "1");
  tc_headers_add(&b, "X-Two", "two");
  assert_false(tc_config_headers_equal(&a, &b));
  tc_headers_clear(&a);
  tc_headers_clear(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_key_is_classified),
      cmocka_unit_test_setup_teardown(test_unchanged_reports_nothing, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_live_and_restart_keys, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_rotated_file_secret_is_a_change,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_modules_keep_running_list, setup,
                                      teardown),
      cmocka_unit_test(test_headers_equal),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
