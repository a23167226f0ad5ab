/* Unit tests for ops/readiness.c: the /readyz order (hooks first, then the
 * startup probe runner, then the control plane), the reasons list, the
 * ready gauge, and the control-plane transitions (not reached -> rejected
 * on 401/403 -> ready on the next answer). Channels and probes are covered
 * end to end by tests/integration/ops.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "loader/loader.h"
#include "ops/core_metrics.h"
#include "ops/cp_status.h"
#include "ops/readiness.h"

static int g_hook_rc;
static const char *g_hook_reason;

static int hook_readiness(void *inst, char **reason) {
  (void)inst;
  if (g_hook_reason != NULL)
    *reason = strdup(g_hook_reason);
  return g_hook_rc;
}

static const struct tc_hook_vtable hook_vt = {
    .struct_size = sizeof(struct tc_hook_vtable),
    .name = "gate",
    .readiness = hook_readiness,
};

struct ready_gauge {
  double value;
  int seen;
};

static int find_ready(void *ud, const struct tc_metric_sample *s) {
  struct ready_gauge *g = ud;
  if (strcmp(s->desc->name, "tunnel_client_ready") == 0) {
    g->value = s->value;
    g->seen = 1;
  }
  return TC_OK;
}

static double ready_gauge(void) {
  struct ready_gauge g = {0, 0};
  tc_metrics_visit(tc_metrics_registry_global(), find_ready, &g);
  assert_true(g.seen);
  return g.value;
}

/* Check the verdict: ready flag, body text, and the reasons in order. */
static void expect(struct tc_readiness *r, int ready, const char *text,
                   const char *const *reasons, size_t n) {
  struct tc_readiness_verdict v;
  assert_int_equal(tc_readiness_check(r, &v), 0);
  assert_int_equal(v.ready, ready);
  assert_string_equal(v.text, text);
  assert_int_equal(v.reason_count, n);
  for (size_t i = 0; i < n; i++)
    assert_string_equal(v.reasons[i], reasons[i]);
  tc_readiness_verdict_clear(&v);
  assert_true(ready_gauge() == (ready ? 1.0 : 0.0));
}

static void test_order_and_transitions(void **state) {
  (void)state;
  tc_cp_status_reset();
  struct tc_registered_hook hook = {&hook_vt, NULL, NULL, 1, 1};
  struct tc_registry reg;
  memset(&reg, 0, sizeof(reg));
  reg.hooks = &hook;
  reg.hook_count = 1;
  struct tc_readiness *r = NULL;
  assert_int_equal(tc_readiness_new(&r, &reg, NULL), 0);

  /* Before the runner started, the probe is pending (after the hook). */
  g_hook_rc = TC_AGAIN;
  g_hook_reason = "oauth discovery pending";
  const char *three[] = {"oauth discovery pending", "mcp startup probe pending",
                         "control plane not reached: no answer yet"};
  expect(r, 0, "oauth discovery pending", three, 3);

  char *err = NULL;
  assert_int_equal(tc_readiness_start_probes(r, &err), 0);
  assert_true(tc_readiness_wait_probes(r, 5000)); /* no channels: at once */

  const char *hook_and_cp[] = {"oauth discovery pending",
                               "control plane not reached: no answer yet"};
  expect(r, 0, "oauth discovery pending", hook_and_cp, 2);
  g_hook_rc = -1;
  g_hook_reason = NULL; /* the core names the hook */
  const char *failed[] = {"gate not ready",
                          "control plane not reached: no answer yet"};
  expect(r, 0, "gate not ready", failed, 2);

  g_hook_rc = TC_OK;
  const char *cp_only[] = {"control plane not reached: no answer yet"};
  expect(r, 0, cp_only[0], cp_only, 1);

  tc_cp_status_record(TC_CP_STATUS_POLL, 0, false,
                      "poll to http://127.0.0.1:9 failed: Couldn't connect", 0);
  const char *down[] = {"control plane not reached: poll to "
                        "http://127.0.0.1:9 failed: Couldn't connect"};
  expect(r, 0, down[0], down, 1);

  tc_cp_status_record(TC_CP_STATUS_METADATA, 401, false, "HTTP 401", 0);
  const char *rejected[] = {"control plane rejected the API key (HTTP 401)"};
  expect(r, 0, rejected[0], rejected, 1);
  tc_cp_status_record(TC_CP_STATUS_POLL, 403, false, "HTTP 403", 0);
  const char *rejected403[] = {"control plane rejected the API key (HTTP 403)"};
  expect(r, 0, rejected403[0], rejected403, 1);

  tc_cp_status_record(TC_CP_STATUS_POLL, 204, true, NULL, 0);
  expect(r, 1, "ready", NULL, 0);
  /* Once reached, a later network error does not unready. */
  tc_cp_status_record(TC_CP_STATUS_POLL, 0, false, "reset", 0);
  expect(r, 1, "ready", NULL, 0);

  struct tc_cp_status st;
  tc_cp_status_get(&st);
  assert_true(st.reached);
  assert_false(st.rejected);
  assert_int_equal(st.polls_total, 4);
  assert_int_equal(st.poll_errors_total, 3);
  assert_string_equal(st.last_error, "reset");
  assert_true(st.last_poll_unix_ms > 0);
  tc_readiness_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_order_and_transitions),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
