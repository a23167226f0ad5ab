/* The auth-oauth module (modules/auth-oauth) loaded through the loader and
 * driven through its hook vtable and tc_registry_admin_state() against the
 * in-process MCP stub (dev/mcp_stub.h) on 127.0.0.1:0: startup discovery
 * and readiness, the issuer-mismatch diagnostic in the admin state,
 * oauth_discovery commands (main only, PRMD body and status unmodified),
 * declining other commands, and a failed discovery. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "config/config_internal.h"
#include "dev/mcp_stub.h"
#include "loader/loader.h"
#include "tc/tc.h"

struct fixture {
  struct tc_config cfg;
  struct tc_registry reg;
  struct tc_mcp_stub *stub;
  const struct tc_registered_hook *hook;
};

/* Load auth-oauth with `main_url` as the main binding and start it. */
static void start_module(struct fixture *f, const char *main_url) {
  memset(f, 0, sizeof(*f));
  char *list = NULL;
  assert_true(asprintf(&list, "main=%s", main_url) > 0);
  assert_int_equal(
      tc_kvlist_set(&f->cfg.effective, "mcp.server_urls", list, NULL), 0);
  free(list);
  char *err = NULL;
  if (tc_loader_load_one(&f->reg, &f->cfg, TC_BUILD_MODULE_DIR "/auth-oauth.so",
                         NULL, "test", &err) != 0)
    fail_msg("load auth-oauth: %s", err);
  f->hook = tc_registry_hook(&f->reg, "oauth");
  assert_non_null(f->hook);
  if (tc_registry_start(&f->reg, &err) != 0)
    fail_msg("start: %s", err);
}

static void stop_module(struct fixture *f) {
  tc_registry_free(&f->reg);
  tc_kvlist_free(&f->cfg.effective);
  tc_mcp_stub_stop(f->stub);
}

static void start_stub(struct fixture *f, int mismatch, char *url, size_t len) {
  struct tc_mcp_stub_options o = {.oauth_issuer_mismatch = mismatch};
  char *err = NULL;
  struct tc_mcp_stub *s = NULL;
  if (tc_mcp_stub_start(&s, &o, &err) != 0)
    fail_msg("stub: %s", err);
  f->stub = s;
  snprintf(url, len, "%s/mcp", tc_mcp_stub_base_url(s));
}

/* Poll readiness until it leaves TC_AGAIN (at most 10 s). */
static int wait_settled(const struct fixture *f, char **reason) {
  for (int i = 0; i < 1000; i++) {
    *reason = NULL;
    int rc = f->hook->vt->readiness(f->hook->inst, reason);
    if (rc != TC_AGAIN)
      return rc;
    assert_string_equal(*reason, "oauth discovery pending");
    free(*reason);
    nanosleep(&(struct timespec){0, 10000000}, NULL);
  }
  fail_msg("oauth discovery still pending after 10s");
  return TC_AGAIN;
}

static json_t *admin_state(const struct fixture *f) {
  char *text = NULL;
  assert_int_equal(tc_registry_admin_state(&f->reg, "auth-oauth", &text),
                   TC_OK);
  json_t *doc = json_loads(text, 0, NULL);
  free(text);
  assert_true(json_is_object(doc));
  return doc;
}

static void test_ready_with_matching_issuer(void **state) {
  (void)state;
  struct fixture f;
  char url[256];
  memset(&f, 0, sizeof(f));
  start_stub(&f, 0, url, sizeof(url));
  struct tc_mcp_stub *stub = f.stub;
  start_module(&f, url);
  f.stub = stub;
  char *reason = NULL;
  assert_int_equal(wait_settled(&f, &reason), TC_OK);
  free(reason);
  json_t *doc = admin_state(&f);
  assert_string_equal(json_string_value(json_object_get(doc, "state")),
                      "ready");
  json_t *prmd = json_object_get(doc, "prmd");
  assert_int_equal(json_integer_value(json_object_get(prmd, "status")), 200);
  json_t *as = json_object_get(doc, "authorization_server");
  assert_true(json_is_false(json_object_get(as, "issuer_mismatch")));
  assert_non_null(json_string_value(json_object_get(as, "token_endpoint")));
  json_decref(doc);
  assert_int_equal(
      tc_registry_admin_state(&f.reg, "no-such-module", &(char *){NULL}),
      TC_ENOENT);
  stop_module(&f);
}

static void test_issuer_mismatch_is_kept_as_diagnostic(void **state) {
  (void)state;
  struct fixture f;
  char url[256];
  memset(&f, 0, sizeof(f));
  start_stub(&f, 1, url, sizeof(url));
  struct tc_mcp_stub *stub = f.stub;
  start_module(&f, url);
  f.stub = stub;
  char *reason = NULL;
  assert_int_equal(wait_settled(&f, &reason), TC_OK);
  free(reason);
  json_t *doc = admin_state(&f);
  json_t *as = json_object_get(doc, "authorization_server");
  assert_true(json_is_true(json_object_get(as, "issuer_mismatch")));
  const char *expected =
      json_string_value(json_object_get(as, "expected_issuer_url"));
  const char *got = json_string_value(json_object_get(as, "metadata_issuer"));
  assert_non_null(expected);
  assert_non_null(got);
  assert_string_not_equal(expected, got);
  assert_non_null(strstr(got, "/other-issuer"));
  assert_true(json_array_size(json_object_get(doc, "warnings")) > 0);
  json_decref(doc);
  stop_module(&f);
}

struct capture {
  struct tc_sink sink;
  int status;
  char *body;
  int completed;
};

static int cap_complete(const struct tc_sink *sink,
                        const struct tc_response *res) {
  struct capture *c = sink->core;
  c->status = res->status;
  c->body = res->body ? strndup(res->body, res->body_len) : NULL;
  c->completed++;
  return TC_OK;
}

static int cap_notify(const struct tc_sink *sink,
                      const struct tc_response *res) {
  (void)sink;
  (void)res;
  return TC_OK;
}

static int not_canceled(const struct tc_request *r) {
  (void)r;
  return 0;
}

static void test_oauth_discovery_command(void **state) {
  (void)state;
  struct fixture f;
  char url[256];
  memset(&f, 0, sizeof(f));
  start_stub(&f, 0, url, sizeof(url));
  struct tc_mcp_stub *stub = f.stub;
  start_module(&f, url);
  f.stub = stub;
  struct tc_request req = {.struct_size = sizeof(req),
                           .type = "oauth_discovery",
                           .channel = "main",
                           .request_id = "r1",
                           .is_canceled = not_canceled};
  struct capture c = {
      {sizeof(struct tc_sink), NULL, cap_notify, cap_complete}, 0, NULL, 0};
  c.sink.core = &c;
  assert_int_equal(f.hook->vt->on_command(f.hook->inst, &req, &c.sink), TC_OK);
  assert_int_equal(c.completed, 1);
  assert_int_equal(c.status, 200);
  json_t *doc = json_loads(c.body, 0, NULL);
  char *want = NULL;
  assert_true(asprintf(&want, "%s/mcp", tc_mcp_stub_base_url(stub)) > 0);
  /* the client never rewrites "resource" */
  assert_string_equal(json_string_value(json_object_get(doc, "resource")),
                      want);
  free(want);
  json_decref(doc);
  free(c.body);

  struct capture d = {
      {sizeof(struct tc_sink), NULL, cap_notify, cap_complete}, 0, NULL, 0};
  d.sink.core = &d;
  req.channel = "other";
  assert_int_equal(f.hook->vt->on_command(f.hook->inst, &req, &d.sink), TC_OK);
  assert_int_equal(d.status, 400);
  assert_non_null(strstr(d.body, "unsupported_channel"));
  free(d.body);

  req.type = "jsonrpc";
  req.channel = "main";
  assert_int_equal(f.hook->vt->on_command(f.hook->inst, &req, &d.sink),
                   TC_DECLINED);
  char *reason = NULL;
  wait_settled(&f, &reason);
  free(reason);
  stop_module(&f);
}

static void test_unreachable_server_fails_readiness(void **state) {
  (void)state;
  struct fixture f;
  /* port 1 on loopback: connection refused */
  start_module(&f, "http://127.0.0.1:1/mcp");
  char *reason = NULL;
  int rc = wait_settled(&f, &reason);
  assert_true(rc < 0);
  assert_non_null(reason);
  assert_non_null(strstr(reason, "oauth discovery failed: "));
  assert_non_null(strstr(reason, "127.0.0.1:1"));
  free(reason);
  json_t *doc = admin_state(&f);
  assert_string_equal(json_string_value(json_object_get(doc, "state")),
                      "failed");
  json_decref(doc);
  stop_module(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ready_with_matching_issuer),
      cmocka_unit_test(test_issuer_mismatch_is_kept_as_diagnostic),
      cmocka_unit_test(test_oauth_discovery_command),
      cmocka_unit_test(test_unreachable_server_fails_readiness),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
