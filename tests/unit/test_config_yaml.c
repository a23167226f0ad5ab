/* Strict YAML profiles (unknown keys, wrong types, duplicates, syntax,
 * config_version, with exact file:line) and env:/file: references. */
#include "config_test_support.h"
#include "tc/host.h"

static const char *const extra_env[] = {"TUNNEL_CLIENT_CONFIG",
                                        "TUNNEL_CLIENT_PROFILE",
                                        "TUNNEL_CLIENT_PROFILE_FILE",
                                        "TUNNEL_CLIENT_PROFILE_DIR",
                                        "TC_TEST_FULL_KEY",
                                        "TC_REF_VAR",
                                        NULL};

static int setup(void **state) {
  (void)state;
  clear_config_env(extra_env);
  return make_tmpdir("/tmp/tc-cfg-yaml-XXXXXX");
}

static int teardown(void **state) {
  (void)state;
  clear_config_env(extra_env);
  return remove_tmpdir();
}

/* Load --config path in `mode`; returns rc, *err set on failure. */
static int load_profile(struct tc_config *cfg, char *path,
                        enum tc_config_mode mode, char **err) {
  char *argv[] = {"--config", path, NULL};
  *err = NULL;
  return tc_config_load(cfg, 2, argv, mode, NULL, NULL, NULL, err);
}

/* The error for a profile; asserts failure and one line. */
static char *profile_error(char *path) {
  struct tc_config cfg;
  char *err = NULL;
  assert_int_equal(load_profile(&cfg, path, TC_CONFIG_LENIENT, &err), -1);
  assert_non_null(err);
  assert_null(strchr(err, '\n'));
  assert_null(strstr(err, CANARY));
  return err;
}

static void assert_prefix(const char *err, const char *path, int line,
                          const char *rest) {
  char want[600];
  snprintf(want, sizeof(want), "%s:%d: %s", path, line, rest);
  if (strncmp(err, want, strlen(want)) != 0)
    print_error("got \"%s\"\nwant prefix \"%s\"\n", err, want);
  assert_int_equal(strncmp(err, want, strlen(want)), 0);
}

static void test_full_profile(void **state) {
  (void)state;
  char *path = data_file("full.yaml");
  struct tc_config cfg;
  char *err = NULL;
  setenv("TC_TEST_FULL_KEY", "sk-full_key-1", 1);
  int rc = load_profile(&cfg, path, TC_CONFIG_RUN, &err);
  if (rc != 0)
    print_error("%s\n", err);
  assert_int_equal(rc, 0);
  assert_string_equal(cfg.cp_base_url, "https://cp.example.test");
  assert_string_equal(cfg.cp_url_path, "/tunnel");
  assert_string_equal(cfg.cp_tunnel_id, TID);
  assert_string_equal(cfg.cp_api_key, "sk-full_key-1");
  assert_string_equal(cfg.cp_organization_id, "org-123");
  assert_null(cfg.cp_client_cert);
  assert_string_equal(cfg.cp_http_proxy, "http://cp-proxy.internal:8080");
  assert_string_equal(cfg.http_proxy, "http://proxy.internal:3128");
  assert_null(cfg.ca_bundle);
  assert_int_equal(cfg.cp_max_inflight, 64);
  assert_int_equal(cfg.cp_poll_timeout_ms, 20000);
  assert_int_equal(cfg.cp_poll_deadline_guardrail_ms, 2000);
  assert_int_equal(cfg.cp_poll_channel_count, 2);
  assert_string_equal(cfg.cp_poll_channels[1], "tools");
  assert_string_equal(tc_headers_get(&cfg.cp_extra_headers, "x-team", 0),
                      "platform");
  assert_int_equal(cfg.log_level, TC_LOG_DEBUG);
  assert_int_equal(cfg.log_format, TC_LOG_FORMAT_JSON);
  assert_null(cfg.log_file);
  assert_string_equal(cfg.health_listen_addr, "127.0.0.1:0");
  assert_string_equal(cfg.health_url_file, "/tmp/tc-health-url");
  assert_string_equal(cfg.pid_file, "/tmp/tc.pid");
  assert_true(cfg.open_web_ui);
  assert_int_equal(cfg.log_buffer_events, 500);
  assert_int_equal(cfg.proxy_check_interval_ms, 120000);
  assert_int_equal(cfg.mcp_startup_wait_timeout_ms, 2000);
  assert_int_equal(cfg.mcp_connection_max_ttl_ms, 300000);
  assert_int_equal(cfg.mcp_max_concurrent, 16);
  assert_int_equal(cfg.mcp_extra_headers.count, 1);
  assert_int_equal(cfg.mcp_discovery_extra_headers.count, 1);

  assert_int_equal(cfg.binding_count, 3);
  assert_string_equal(cfg.bindings[0].channel, "main");
  assert_string_equal(cfg.bindings[0].transport, "http");
  assert_string_equal(cfg.bindings[0].url, "http://127.0.0.1:3000/mcp");
  assert_string_equal(cfg.bindings[1].channel, "docs");
  assert_string_equal(cfg.bindings[1].url, "https://docs.example.test/mcp");
  assert_string_equal(cfg.bindings[2].channel, "tools");
  assert_string_equal(cfg.bindings[2].transport, "stdio");
  assert_string_equal(cfg.bindings[2].command, "node server.js --stdio");

  /* modules with origins and settings */
  assert_int_equal(cfg.module_count, 3);
  assert_string_equal(cfg.modules[0].spec, "mcp-http");
  char origin[600];
  snprintf(origin, sizeof(origin), "%s:77", path);
  assert_string_equal(cfg.modules[0].origin, origin);
  assert_null(cfg.modules[0].settings);
  assert_string_equal(cfg.modules[1].spec, "proxy");
  assert_non_null(cfg.modules[1].settings);
  assert_int_equal(cfg.modules[1].settings->count, 2);
  assert_string_equal(cfg.modules[1].settings->items[0].key, "mode");
  assert_string_equal(cfg.modules[1].settings->items[0].value, "strict");
  snprintf(origin, sizeof(origin), "%s:80", path);
  assert_string_equal(cfg.modules[1].settings->items[0].origin, origin);
  assert_string_equal(cfg.modules[1].settings->items[1].value, "3");
  assert_string_equal(cfg.modules[2].spec, "/opt/tc/modules/custom.so");

  /* effective values, including the harpoon/cloudflared keys we only keep */
  assert_string_equal(tc_config_get(&cfg, "harpoon.max_redirects"), "3");
  assert_string_equal(tc_config_get(&cfg, "harpoon.hosts_include_private"),
                      "false");
  assert_string_equal(tc_config_get(&cfg, "cloudflared.path"),
                      "/usr/local/bin/cloudflared");
  assert_null(tc_config_get(&cfg, "cloudflared.token"));
  assert_null(tc_config_get(&cfg, "control_plane.api_key"));
  assert_string_equal(tc_config_get(&cfg, "log.format"), "json");
  assert_string_equal(tc_config_get(&cfg, "control_plane.poll_channels"),
                      "main,tools");
  assert_non_null(strstr(tc_config_get(&cfg, "harpoon.targets"), "label=docs"));
  tc_config_free(&cfg);

  /* --module replaces the profile's list */
  char *argv[] = {"--config", path, "--module", "only-this", NULL};
  assert_int_equal(
      tc_config_load(&cfg, 4, argv, TC_CONFIG_LENIENT, NULL, NULL, NULL, &err),
      0);
  assert_int_equal(cfg.module_count, 1);
  assert_string_equal(cfg.modules[0].spec, "only-this");
  tc_config_free(&cfg);
  free(path);
}

static void test_unknown_key(void **state) {
  (void)state;
  char *path = data_file("unknown_key.yaml");
  char *err = profile_error(path);
  assert_prefix(err, path, 3, "unknown key \"control_plane.tunel_id\"");
  assert_non_null(strstr(err, "did you mean \"control_plane.tunnel_id\"?"));
  free(err);
  free(path);

  char *p2 = write_file("top.yaml", "log:\n  level: info\nfrobnicate: 1\n");
  err = profile_error(p2);
  assert_prefix(err, p2, 3, "unknown key \"frobnicate\"");
  assert_non_null(strstr(err, "control_plane"));
  free(err);
  free(p2);

  char *p3 = write_file("item.yaml", "mcp:\n  server_urls:\n"
                                     "    - channel: main\n"
                                     "      urll: http://x\n");
  err = profile_error(p3);
  assert_prefix(err, p3, 4, "unknown key \"mcp.server_urls[0].urll\"");
  assert_non_null(strstr(err, "did you mean"));
  free(err);
  free(p3);

  char *p4 = write_file("mod.yaml", "modules:\n  - name: x\n    confg: {}\n");
  err = profile_error(p4);
  assert_prefix(err, p4, 3, "unknown key \"modules[0].confg\"");
  free(err);
  free(p4);
}

static void test_wrong_type(void **state) {
  (void)state;
  char *path = data_file("wrong_type.yaml");
  char *err = profile_error(path);
  assert_prefix(err, path, 4,
                "control_plane.tunnel_id must be a single value, not a "
                "mapping");
  free(err);
  free(path);

  char *p2 = write_file("list.yaml", "control_plane:\n  extra_headers:\n"
                                     "    - \"X-A: b\"\n");
  err = profile_error(p2);
  assert_prefix(err, p2, 3,
                "control_plane.extra_headers must be a mapping, not a list");
  free(err);
  free(p2);

  char *p3 = write_file("seq.yaml", "control_plane:\n  poll_channels: main\n");
  err = profile_error(p3);
  assert_prefix(err, p3, 2, "control_plane.poll_channels must be a list");
  free(err);
  free(p3);

  char *p4 = write_file("sect.yaml", "log: debug\n");
  err = profile_error(p4);
  assert_prefix(err, p4, 1, "log must be a mapping, not a single value");
  free(err);
  free(p4);

  char *p5 = write_file("root.yaml", "- a\n- b\n");
  err = profile_error(p5);
  assert_prefix(err, p5, 1, "a profile must be a mapping");
  free(err);
  free(p5);

  char *p6 = write_file("modcfg.yaml", "modules:\n  - name: x\n    config:\n"
                                       "      nested: {a: 1}\n");
  err = profile_error(p6);
  assert_prefix(err, p6, 4, "modules[0].config.nested must be a single value");
  free(err);
  free(p6);

  /* a YAML value of the right shape but a wrong value names file:line */
  char *p7 = write_file("val.yaml", "admin_ui:\n  open_browser: sometimes\n");
  err = profile_error(p7);
  char want[600];
  snprintf(want, sizeof(want), "in %s:2 (admin_ui.open_browser)", p7);
  assert_non_null(strstr(err, want));
  free(err);
  free(p7);
}

static void test_duplicate_key(void **state) {
  (void)state;
  char *path = data_file("duplicate_key.yaml");
  char *err = profile_error(path);
  assert_prefix(err, path, 4,
                "duplicate key \"log.level\" (first set at line 2");
  free(err);
  free(path);

  char *p2 = write_file("dup.yaml", "mcp:\n  http_proxy: http://a:1\n"
                                    "mcp:\n  http_proxy: http://b:1\n");
  err = profile_error(p2);
  assert_prefix(err, p2, 3, "duplicate key \"mcp\"");
  free(err);
  free(p2);
}

static void test_syntax_and_version(void **state) {
  (void)state;
  char *path = data_file("syntax_error.yaml");
  char *err = profile_error(path);
  char want[600];
  snprintf(want, sizeof(want), "%s:", path);
  assert_int_equal(strncmp(err, want, strlen(want)), 0);
  assert_non_null(strstr(err, "invalid YAML"));
  /* the unterminated quote opens on line 2; libyaml reports where it
   * stopped, which must be a real line of the file */
  int line = atoi(err + strlen(want));
  assert_true(line >= 2 && line <= 4);
  free(err);
  free(path);

  char *p2 = write_file("tab.yaml", "log:\n\tlevel: info\n");
  err = profile_error(p2);
  assert_prefix(err, p2, 2, "invalid YAML");
  free(err);
  free(p2);

  char *p3 = write_file("map.yaml", "log:\n  level: info\n  format: json: x\n");
  err = profile_error(p3);
  assert_prefix(err, p3, 3, "invalid YAML");
  free(err);
  free(p3);

  path = data_file("version2.yaml");
  err = profile_error(path);
  assert_prefix(err, path, 1, "unsupported config_version \"2\"");
  free(err);
  free(path);

  char *p4 = write_file("two.yaml", "log:\n  level: info\n---\nlog: {}\n");
  err = profile_error(p4);
  assert_prefix(err, p4, 4, "the profile holds more than one YAML document");
  free(err);
  free(p4);

  /* version 1, absent version, empty files and null sections are fine */
  const char *fine[] = {"config_version: 1\n",
                        "",
                        "# only a comment\n",
                        "log:\n",
                        "control_plane: ~\n",
                        "---\nlog:\n  level: info\n",
                        "---\n",
                        "log: {}\n---\n"};
  for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++) {
    char *p = write_file("fine.yaml", fine[i]);
    struct tc_config cfg;
    assert_int_equal(load_profile(&cfg, p, TC_CONFIG_LENIENT, &err), 0);
    tc_config_free(&cfg);
    free(p);
  }
}

static void test_refs_unit(void **state) {
  (void)state;
  char *out = NULL, *err = NULL;
  bool was_ref = false;
  assert_int_equal(
      tc_cfg_ref_resolve("plain", TC_CFG_REF_VALUE, "W", &out, &was_ref, &err),
      0);
  assert_false(was_ref);
  assert_string_equal(out, "plain");
  free(out);

  setenv("TC_REF_VAR", "  value-1  ", 1);
  assert_int_equal(tc_cfg_ref_resolve("Env:TC_REF_VAR", TC_CFG_REF_VALUE, "W",
                                      &out, &was_ref, &err),
                   0);
  assert_true(was_ref);
  assert_string_equal(out, "value-1");
  free(out);

  setenv("TC_REF_VAR", "", 1);
  assert_int_equal(tc_cfg_ref_resolve("env:TC_REF_VAR", TC_CFG_REF_VALUE, "--x",
                                      &out, &was_ref, &err),
                   -1);
  assert_non_null(strstr(err, "env:TC_REF_VAR is empty"));
  assert_non_null(strstr(err, "--x"));
  free(err);
  err = NULL;
  unsetenv("TC_REF_VAR");
  assert_int_equal(tc_cfg_ref_resolve("env:TC_REF_VAR", TC_CFG_REF_VALUE, "--x",
                                      &out, &was_ref, &err),
                   -1);
  assert_non_null(strstr(err, "env:TC_REF_VAR is not set"));
  free(err);
  err = NULL;
  assert_int_equal(tc_cfg_ref_resolve("env:1BAD", TC_CFG_REF_VALUE, "--x", &out,
                                      &was_ref, &err),
                   -1);
  assert_non_null(strstr(err, "env:1BAD is not a valid variable name"));
  free(err);
  err = NULL;
  assert_int_equal(tc_cfg_ref_resolve("env:A-B", TC_CFG_REF_VALUE, "--x", &out,
                                      &was_ref, &err),
                   -1);
  free(err);
  err = NULL;

  char *f = write_file("val", CANARY "\r\n");
  char ref[300];
  snprintf(ref, sizeof(ref), "FILE:%s", f);
  assert_int_equal(
      tc_cfg_ref_resolve(ref, TC_CFG_REF_VALUE, "W", &out, &was_ref, &err), 0);
  assert_string_equal(out, CANARY);
  free(out);
  /* a path reference keeps the path */
  assert_int_equal(
      tc_cfg_ref_resolve(ref, TC_CFG_REF_PATH, "W", &out, &was_ref, &err), 0);
  assert_string_equal(out, f);
  free(out);
  free(f);

  char *empty = write_file("empty", "\n");
  snprintf(ref, sizeof(ref), "file:%s", empty);
  assert_int_equal(
      tc_cfg_ref_resolve(ref, TC_CFG_REF_VALUE, "W", &out, &was_ref, &err), -1);
  assert_non_null(strstr(err, "is empty"));
  assert_non_null(strstr(err, empty));
  free(err);
  err = NULL;
  free(empty);

  snprintf(ref, sizeof(ref), "file:%s/missing", tmpdir);
  assert_int_equal(
      tc_cfg_ref_resolve(ref, TC_CFG_REF_VALUE, "W", &out, &was_ref, &err), -1);
  assert_non_null(strstr(err, "cannot read file:"));
  free(err);
  err = NULL;
  /* a directory is not readable as a value */
  snprintf(ref, sizeof(ref), "file:%s", tmpdir);
  assert_int_equal(
      tc_cfg_ref_resolve(ref, TC_CFG_REF_PATH, "W", &out, &was_ref, &err), -1);
  free(err);
  err = NULL;
  assert_int_equal(
      tc_cfg_ref_resolve("file:", TC_CFG_REF_VALUE, "W", &out, &was_ref, &err),
      -1);
  free(err);
}

/* References through the loader, for several keys and sources. */
static void test_refs_in_config(void **state) {
  (void)state;
  struct tc_config cfg;
  char *err = NULL;
  setenv("TC_REF_VAR", "https://ref.example", 1);
  char *cmdfile = write_file("cmd", "node srv.js\n");
  char *prof_text = malloc(1024);
  snprintf(prof_text, 1024,
           "control_plane:\n"
           "  base_url: env:TC_REF_VAR\n"
           "mcp:\n"
           "  commands:\n"
           "    - channel: main\n"
           "      command: file:%s\n"
           "  extra_headers:\n"
           "    X-Secret: env:TC_REF_VAR\n",
           cmdfile);
  char *prof = write_file("p.yaml", prof_text);
  assert_int_equal(load_profile(&cfg, prof, TC_CONFIG_LENIENT, &err), 0);
  assert_string_equal(cfg.cp_base_url, "https://ref.example");
  assert_string_equal(cfg.bindings[0].command, "node srv.js");
  assert_string_equal(cfg.mcp_extra_headers.items[0].value,
                      "https://ref.example");
  tc_config_free(&cfg);

  /* an unset reference names the reference and where it was written */
  unsetenv("TC_REF_VAR");
  assert_int_equal(load_profile(&cfg, prof, TC_CONFIG_LENIENT, &err), -1);
  char want[600];
  snprintf(want, sizeof(want), "%s:2 (control_plane.base_url)", prof);
  assert_non_null(strstr(err, want));
  assert_non_null(strstr(err, "env:TC_REF_VAR is not set"));
  free(err);

  /* tunnel ids are not references: env:X is just an invalid id */
  char *argv[] = {"--control-plane.tunnel-id", "env:TC_REF_VAR", NULL};
  assert_int_equal(
      tc_config_load(&cfg, 2, argv, TC_CONFIG_LENIENT, NULL, NULL, NULL, &err),
      -1);
  assert_non_null(strstr(err, "invalid control plane tunnel id"));
  free(err);

  /* a secret read through a reference never shows up in errors */
  setenv("TC_REF_VAR", CANARY " bad", 1);
  char *argv2[] = {"--control-plane.api-key", "env:TC_REF_VAR", NULL};
  assert_int_equal(
      tc_config_load(&cfg, 2, argv2, TC_CONFIG_LENIENT, NULL, NULL, NULL, &err),
      -1);
  assert_non_null(strstr(err, "malformed"));
  assert_null(strstr(err, "canary"));
  free(err);

  /* cloudflared.token must be a reference in YAML */
  char *p2 = write_file("cf.yaml", "cloudflared:\n  token: " CANARY "\n");
  assert_int_equal(load_profile(&cfg, p2, TC_CONFIG_LENIENT, &err), -1);
  assert_non_null(strstr(err, "cloudflared token"));
  assert_null(strstr(err, "canary"));
  free(err);
  free(p2);
  free(prof);
  free(prof_text);
  free(cmdfile);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_full_profile, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unknown_key, setup, teardown),
      cmocka_unit_test_setup_teardown(test_wrong_type, setup, teardown),
      cmocka_unit_test_setup_teardown(test_duplicate_key, setup, teardown),
      cmocka_unit_test_setup_teardown(test_syntax_and_version, setup, teardown),
      cmocka_unit_test_setup_teardown(test_refs_unit, setup, teardown),
      cmocka_unit_test_setup_teardown(test_refs_in_config, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
