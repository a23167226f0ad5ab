/* MCP bindings (--mcp.server-url / --mcp.command, env and YAML forms) and
 * the profile's modules list. */
#include "config_test_support.h"

static const char *const extra_env[] = {"TUNNEL_CLIENT_CONFIG",
                                        "TUNNEL_CLIENT_PROFILE",
                                        "TUNNEL_CLIENT_PROFILE_FILE", NULL};

static int setup(void **state) {
  (void)state;
  clear_config_env(extra_env);
  return make_tmpdir("/tmp/tc-cfg-bind-XXXXXX");
}

static int teardown(void **state) {
  (void)state;
  clear_config_env(extra_env);
  return remove_tmpdir();
}

/* Load and expect success. */
static void load_ok(struct tc_config *cfg, ...) {
  char *err = NULL;
  va_list ap;
  va_start(ap, cfg);
  int rc = vload(cfg, TC_CONFIG_LENIENT, &err, ap);
  va_end(ap);
  if (rc != 0)
    print_error("unexpected error: %s\n", err);
  assert_int_equal(rc, 0);
}

/* Load, expect failure with `want` in the one-line error. */
static void load_bad(const char *want, ...) {
  va_list ap;
  va_start(ap, want);
  char *err = vload_error(want, ap);
  va_end(ap);
  assert_null(strstr(err, CANARY));
  free(err);
}

static void test_bare_and_qualified_urls(void **state) {
  (void)state;
  struct tc_config cfg;
  load_ok(&cfg, "--mcp.server-url", "http://127.0.0.1:3000/mcp",
          "--mcp.server-url",
          "channel=Docs,url=https://docs.example/mcp?a=1,b=2,unix-socket=/run/"
          "docs.sock",
          "--mcp.server-url",
          "url=https://x.example/mcp,channel=x,http-proxy=http://p:3128,"
          "client-cert=/c.pem,client-key=/k.pem",
          NULL);
  assert_int_equal(cfg.binding_count, 3);
  assert_string_equal(cfg.bindings[0].channel, "main");
  assert_string_equal(cfg.bindings[0].transport, "http");
  assert_string_equal(cfg.bindings[0].url, "http://127.0.0.1:3000/mcp");
  assert_null(cfg.bindings[0].command);
  assert_string_equal(cfg.bindings[1].channel, "docs");
  /* a comma not followed by a known key stays in the value */
  assert_string_equal(cfg.bindings[1].url, "https://docs.example/mcp?a=1,b=2");
  assert_string_equal(cfg.bindings[1].unix_socket, "/run/docs.sock");
  assert_string_equal(cfg.bindings[2].channel, "x");
  assert_string_equal(cfg.bindings[2].http_proxy, "http://p:3128");
  assert_string_equal(cfg.bindings[2].client_cert, "/c.pem");
  assert_string_equal(cfg.bindings[2].client_key, "/k.pem");
  /* effective: channel=url without query */
  assert_string_equal(tc_config_get(&cfg, "mcp.server_urls"),
                      "main=http://127.0.0.1:3000/mcp,docs=https://"
                      "docs.example/mcp?...,x=https://x.example/mcp");
  tc_config_free(&cfg);
}

static void test_commands(void **state) {
  (void)state;
  struct tc_config cfg;
  load_ok(&cfg, "--mcp.command", "npx -y server --flag a,b", "--mcp.command",
          "command=python -c 'print(1,2)',channel=Py", "--mcp.command",
          "channel=node,command=node srv.js --x=1,y", NULL);
  assert_int_equal(cfg.binding_count, 3);
  assert_string_equal(cfg.bindings[0].channel, "main");
  assert_string_equal(cfg.bindings[0].transport, "stdio");
  assert_string_equal(cfg.bindings[0].command, "npx -y server --flag a,b");
  assert_null(cfg.bindings[0].url);
  assert_string_equal(cfg.bindings[1].channel, "py");
  assert_string_equal(cfg.bindings[1].command, "python -c 'print(1,2)'");
  assert_string_equal(cfg.bindings[2].channel, "node");
  assert_string_equal(cfg.bindings[2].command, "node srv.js --x=1,y");
  tc_config_free(&cfg);
  /* inside command= a ",channel=" ends the command: here it repeats */
  load_bad("channel= is given twice", "--mcp.command",
           "channel=a,command=cat,channel=b", NULL);
}

static void test_binding_errors(void **state) {
  (void)state;
  load_bad("channel \"main\" is bound more than once", "--mcp.server-url",
           "http://a.example/mcp", "--mcp.server-url", "http://b.example/mcp",
           NULL);
  load_bad("channel \"main\" is bound more than once", "--mcp.server-url",
           "http://a.example/mcp", "--mcp.command", "channel=MAIN,command=cat",
           NULL);
  load_bad("channel \"harpoon\" is reserved", "--mcp.server-url",
           "channel=harpoon,url=http://a.example", NULL);
  load_bad("channel \"__unknown__\" is reserved", "--mcp.command",
           "channel=__unknown__,command=cat", NULL);
  load_bad("invalid channel name in --mcp.server-url: \"a b\"",
           "--mcp.server-url", "channel=a b,url=http://a.example", NULL);
  load_bad("unix-socket and http-proxy are mutually exclusive in "
           "--mcp.server-url",
           "--mcp.server-url",
           "url=http://a.example,unix-socket=/s,http-proxy=http://p:1", NULL);
  load_bad(
      "stdio binding in --mcp.command cannot take http-proxy=", "--mcp.command",
      "channel=x,http-proxy=http://p:1,command=cat", NULL);
  load_bad("stdio binding in --mcp.command cannot take unix-socket=",
           "--mcp.command", "unix-socket=/s,command=cat", NULL);
  load_bad("stdio binding in --mcp.command cannot take client-cert=",
           "--mcp.command", "client-cert=/c,client-key=/k,command=cat", NULL);
  load_bad("client-cert and client-key must be set together",
           "--mcp.server-url", "url=https://a.example,client-cert=/c.pem",
           NULL);
  load_bad("invalid MCP server URL in --mcp.server-url: \"ftp://a.example\"",
           "--mcp.server-url", "ftp://a.example", NULL);
  load_bad("invalid MCP server URL", "--mcp.server-url",
           "gopher://u:" CANARY "@a.example/p", NULL);
  load_bad("missing url in --mcp.server-url", "--mcp.server-url", "channel=x",
           NULL);
  load_bad("url= is given twice", "--mcp.server-url",
           "url=http://a.example,url=http://b.example", NULL);
  load_bad("unterminated quote", "--mcp.command", "python -c 'oops", NULL);
  load_bad("command= does not belong", "--mcp.server-url",
           "channel=x,command=cat", NULL);
  load_bad("invalid http-proxy", "--mcp.server-url",
           "url=http://a.example,http-proxy=socks5://p:1", NULL);
  load_bad("empty MCP server URL in --mcp.server-url", "--mcp.server-url", "",
           NULL);
}

static void test_env_and_yaml_bindings(void **state) {
  (void)state;
  struct tc_config cfg;
  setenv("MCP_SERVER_URL",
         "http://a.example/mcp\nchannel=b,url=http://b.example\n", 1);
  setenv("MCP_COMMAND", "channel=c,command=cat", 1);
  load_ok(&cfg, NULL);
  assert_int_equal(cfg.binding_count, 3);
  assert_string_equal(cfg.bindings[1].channel, "b");
  assert_string_equal(cfg.bindings[2].channel, "c");
  tc_config_free(&cfg);

  /* the flag replaces the env list for its key only */
  load_ok(&cfg, "--mcp.server-url", "channel=z,url=http://z.example", NULL);
  assert_int_equal(cfg.binding_count, 2);
  assert_string_equal(cfg.bindings[0].channel, "z");
  assert_string_equal(cfg.bindings[1].channel, "c");
  tc_config_free(&cfg);
  unsetenv("MCP_SERVER_URL");
  unsetenv("MCP_COMMAND");

  setenv("TC_SOCK_PATH", "/run/ref.sock", 1);
  char *p = write_file("p.yaml", "mcp:\n"
                                 "  server_urls:\n"
                                 "    - http://main.example/mcp\n"
                                 "    - channel: Sock\n"
                                 "      url: http://localhost/mcp\n"
                                 "      unix_socket: env:TC_SOCK_PATH\n"
                                 "    - channel: custom\n"
                                 "      url: http://c.example\n"
                                 "      transport: my-transport\n"
                                 "  commands:\n"
                                 "    - \"command=cat,channel=cmd\"\n");
  load_ok(&cfg, "--config", p, NULL);
  assert_int_equal(cfg.binding_count, 4);
  assert_string_equal(cfg.bindings[0].channel, "main");
  assert_string_equal(cfg.bindings[1].channel, "sock");
  assert_string_equal(cfg.bindings[1].unix_socket, "/run/ref.sock");
  assert_string_equal(cfg.bindings[2].transport, "my-transport");
  assert_string_equal(cfg.bindings[3].command, "cat");
  tc_config_free(&cfg);
  unsetenv("TC_SOCK_PATH");

  /* YAML errors carry file:line and the list index */
  char *p2 = write_file("p2.yaml", "mcp:\n"
                                   "  commands:\n"
                                   "    - channel: x\n"
                                   "      command: cat\n"
                                   "    - channel: X\n"
                                   "      command: cat\n");
  char want[600];
  snprintf(want, sizeof(want), "again in %s:5 (mcp.commands[1])", p2);
  load_bad(want, "--config", p2, NULL);
  free(p);
  free(p2);
}

static void test_modules_list(void **state) {
  (void)state;
  struct tc_config cfg;
  char *p = write_file("m.yaml", "modules:\n"
                                 "  - mcp-stdio\n"
                                 "  - path: ./mods/x.so\n"
                                 "  - name: auth-oauth\n"
                                 "    config:\n"
                                 "      issuer: https://issuer.example\n"
                                 "      enabled: true\n"
                                 "      empty:\n");
  load_ok(&cfg, "--config", p, NULL);
  assert_int_equal(cfg.module_count, 3);
  char origin[600];
  snprintf(origin, sizeof(origin), "%s:2", p);
  assert_string_equal(cfg.modules[0].spec, "mcp-stdio");
  assert_string_equal(cfg.modules[0].origin, origin);
  assert_string_equal(cfg.modules[1].spec, "./mods/x.so");
  assert_null(cfg.modules[1].settings);
  assert_string_equal(cfg.modules[2].spec, "auth-oauth");
  const struct tc_kvlist *s = cfg.modules[2].settings;
  assert_non_null(s);
  assert_int_equal(s->count, 3);
  assert_string_equal(s->items[0].key, "issuer");
  assert_string_equal(s->items[0].value, "https://issuer.example");
  snprintf(origin, sizeof(origin), "%s:6", p);
  assert_string_equal(s->items[0].origin, origin);
  assert_string_equal(s->items[1].value, "true");
  assert_null(s->items[2].value);
  tc_config_free(&cfg);

  char *bad1 =
      write_file("b1.yaml", "modules:\n  - name: a\n    path: /b.so\n");
  load_bad("exactly one of name: or path:", "--config", bad1, NULL);
  char *bad2 = write_file("b2.yaml", "modules:\n  - config: {a: 1}\n");
  load_bad("exactly one of name: or path:", "--config", bad2, NULL);
  char *bad3 = write_file("b3.yaml", "modules:\n  - name: a/b\n");
  load_bad("invalid module name", "--config", bad3, NULL);
  char *bad4 = write_file("b4.yaml", "modules:\n  - \"\"\n");
  load_bad("empty module", "--config", bad4, NULL);
  char *bad5 = write_file("b5.yaml", "modules: mcp-http\n");
  load_bad("modules must be a list", "--config", bad5, NULL);
  load_bad("empty value in --modules.dir", "--modules.dir", " ", NULL);
  free(p);
  free(bad1);
  free(bad2);
  free(bad3);
  free(bad4);
  free(bad5);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_bare_and_qualified_urls, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_commands, setup, teardown),
      cmocka_unit_test_setup_teardown(test_binding_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_env_and_yaml_bindings, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_modules_list, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
