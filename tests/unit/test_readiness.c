/* Unit tests for ops/readiness.c: the /readyz order (hooks first, then the
 * startup probe runner, then the control plane), the reasons list, the
 * ready gauge, the control-plane transitions (not reached -> refused on
 * 401/403/404 -> ready on the next success; transient errors change
 * nothing; the poll outranks the metadata fetch), and a channel a reload
 * adds: not ready until its startup probe ran. Channel probes are covered
 * end to end by tests/integration/ops.sh and reload.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <time.h>

#include "dispatch/dispatcher.h"
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
                      "poll to http://127.0.0.1:9 failed: Couldn't connect",
                      NULL, 0);
  const char *down[] = {"control plane not reached: poll to "
                        "http://127.0.0.1:9 failed: Couldn't connect"};
  expect(r, 0, down[0], down, 1);

  tc_cp_status_record(TC_CP_STATUS_METADATA, 401, false, "HTTP 401", NULL, 0);
  const char *rejected[] = {
      "control plane rejected the API key (HTTP 401): set "
      "control_plane.api_key (CONTROL_PLANE_API_KEY) to a runtime API key of "
      "the organization that owns the tunnel"};
  expect(r, 0, rejected[0], rejected, 1);
  tc_cp_status_record(TC_CP_STATUS_POLL, 403, false, "HTTP 403",
                      "tunnel_use_forbidden", 0);
  const char *rejected403[] = {
      "control plane refuses this tunnel to the API key (HTTP 403 "
      "tunnel_use_forbidden): use a runtime API key of the organization or "
      "project that owns the tunnel, and set control_plane.organization_id "
      "when the tunnel belongs to an organization"};
  expect(r, 0, rejected403[0], rejected403, 1);

  tc_cp_status_record(TC_CP_STATUS_POLL, 204, true, NULL, NULL, 0);
  expect(r, 1, "ready", NULL, 0);
  /* Once reached, a later network error does not unready. */
  tc_cp_status_record(TC_CP_STATUS_POLL, 0, false, "reset", NULL, 0);
  expect(r, 1, "ready", NULL, 0);

  struct tc_cp_status st;
  tc_cp_status_get(&st);
  assert_true(st.reached);
  assert_false(st.rejected);
  assert_int_equal(st.polls_total, 4);
  assert_int_equal(st.poll_errors_total, 3);
  assert_string_equal(st.last_error, "reset");
  assert_true(st.last_poll_unix_ms > 0);
  assert_true(st.last_poll_ok_unix_ms > 0);
  tc_readiness_free(r);
}

static const char unknown_tunnel[] =
    "control plane does not know this tunnel id (HTTP 404): check "
    "control_plane.tunnel_id against "
    "https://platform.openai.com/settings/organization/tunnels, and that "
    "control_plane.base_url and url_path name the service that hosts it";

/* A well-formed tunnel id the service does not know: every answer is 404.
 * Never ready, and nothing but a success clears it. */
static void test_unknown_tunnel(void **state) {
  (void)state;
  tc_cp_status_reset();
  struct tc_readiness *r = NULL;
  assert_int_equal(tc_readiness_new(&r, NULL, NULL), 0);
  char *err = NULL;
  assert_int_equal(tc_readiness_start_probes(r, &err), 0);
  assert_true(tc_readiness_wait_probes(r, 5000));

  /* The metadata fetch answers first; it decides until a poll does. */
  tc_cp_status_record(TC_CP_STATUS_METADATA, 404, false,
                      "tunnel metadata fetch failed", NULL, 0);
  const char *refused[] = {unknown_tunnel};
  expect(r, 0, unknown_tunnel, refused, 1);
  for (int i = 0; i < 3; i++)
    tc_cp_status_record(TC_CP_STATUS_POLL, 404, false,
                        "poll to http://127.0.0.1:9 failed: HTTP 404", NULL, 0);
  expect(r, 0, unknown_tunnel, refused, 1);
  /* Transient answers say nothing about the tunnel. */
  tc_cp_status_record(TC_CP_STATUS_POLL, 503, false, "HTTP 503", NULL, 0);
  tc_cp_status_record(TC_CP_STATUS_POLL, 429, false, "HTTP 429", NULL, 0);
  tc_cp_status_record(TC_CP_STATUS_POLL, 0, false, "reset", NULL, 0);
  expect(r, 0, unknown_tunnel, refused, 1);
  /* Once a poll decided, a late metadata success does not override it. */
  tc_cp_status_record(TC_CP_STATUS_METADATA, 200, true, NULL, NULL, 0);
  expect(r, 0, unknown_tunnel, refused, 1);

  struct tc_cp_status st;
  tc_cp_status_get(&st);
  assert_true(st.reached && st.rejected);
  assert_int_equal(st.refused_status, 404);
  assert_int_equal(st.last_poll_ok_unix_ms, 0); /* no poll succeeded */
  assert_true(st.last_poll_unix_ms > 0);
  bool oom = true;
  char *why = tc_cp_status_refusal(&st, &oom);
  assert_false(oom);
  assert_string_equal(why, unknown_tunnel);
  free(why);

  /* The tunnel appears (created): the next successful poll clears it. */
  tc_cp_status_record(TC_CP_STATUS_POLL, 200, true, NULL, NULL, 1);
  expect(r, 1, "ready", NULL, 0);
  tc_cp_status_get(&st);
  assert_true(st.last_poll_ok_unix_ms > 0);
  assert_null(tc_cp_status_refusal(&st, &oom));
  tc_readiness_free(r);
}

/* A metadata refusal before any poll answered, then a poll success: the
 * poll decides. An envelope code that is not a plain token is dropped. */
static void test_metadata_then_poll(void **state) {
  (void)state;
  tc_cp_status_reset();
  struct tc_readiness *r = NULL;
  assert_int_equal(tc_readiness_new(&r, NULL, NULL), 0);
  char *err = NULL;
  assert_int_equal(tc_readiness_start_probes(r, &err), 0);
  assert_true(tc_readiness_wait_probes(r, 5000));
  tc_cp_status_record(TC_CP_STATUS_METADATA, 404, false, "HTTP 404", "<script>",
                      0);
  const char *refused[] = {unknown_tunnel};
  expect(r, 0, unknown_tunnel, refused, 1);
  tc_cp_status_record(TC_CP_STATUS_POLL, 204, true, NULL, NULL, 0);
  expect(r, 1, "ready", NULL, 0);
  tc_readiness_free(r);
}

/* ---- a channel added by a reload --------------------------------------- */

static pthread_mutex_t g_gate_mu = PTHREAD_MUTEX_INITIALIZER;
static int g_gate_open;

static int tp_create(const struct tc_host *host, const struct tc_binding *b,
                     void **inst, char **errmsg) {
  (void)host;
  (void)errmsg;
  *inst = strdup(b->channel);
  return TC_OK;
}

static int tp_call(void *inst, const struct tc_request *req,
                   const struct tc_sink *sink) {
  (void)inst;
  (void)req;
  return sink->complete(sink, NULL);
}

/* "slow" channels: the startup probe waits for the gate (a server coming
 * up); afterwards every probe answers at once. */
static int tp_probe(void *inst, char **detail) {
  (void)detail;
  if (strcmp(inst, "slow") != 0)
    return TC_OK;
  for (;;) {
    pthread_mutex_lock(&g_gate_mu);
    int open = g_gate_open;
    pthread_mutex_unlock(&g_gate_mu);
    if (open)
      return TC_OK;
    struct timespec ts = {0, 2 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
}

static void tp_destroy(void *inst) {
  free(inst);
}

static const struct tc_transport_vtable tp_vt = {
    .struct_size = sizeof(struct tc_transport_vtable),
    .name = "probed",
    .create = tp_create,
    .call = tp_call,
    .probe = tp_probe,
    .destroy = tp_destroy,
};

static int no_post(void *ud, const struct tc_cp_command *cmd,
                   const struct tc_cp_response *r, uint64_t deadline_ns,
                   const atomic_int *stop_retries, char **err) {
  (void)ud;
  (void)cmd;
  (void)r;
  (void)deadline_ns;
  (void)stop_retries;
  (void)err;
  return 0;
}

static void test_reload_adds_unprobed_channel(void **state) {
  (void)state;
  tc_cp_status_reset();
  tc_cp_status_record(TC_CP_STATUS_POLL, 204, true, NULL, NULL, 0);
  struct tc_registered_transport tr = {&tp_vt, NULL};
  struct tc_registry reg;
  memset(&reg, 0, sizeof(reg));
  reg.transports = &tr;
  reg.transport_count = 1;
  struct tc_binding_cfg b[2];
  memset(b, 0, sizeof(b));
  b[0].channel = (char *)(uintptr_t) "main";
  b[0].transport = (char *)(uintptr_t) "probed";
  b[1].channel = (char *)(uintptr_t) "slow";
  b[1].transport = (char *)(uintptr_t) "probed";
  struct tc_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  cfg.bindings = b;
  cfg.binding_count = 1;
  cfg.cp_max_inflight = 4;
  cfg.mcp_max_concurrent = 2;
  struct tc_dispatch_poster poster = {NULL, no_post};
  struct tc_dispatcher *d = NULL;
  char *err = NULL;
  assert_int_equal(tc_dispatcher_new(&d, &cfg, &reg, &poster, &err), 0);
  struct tc_readiness *r = NULL;
  assert_int_equal(tc_readiness_new(&r, &reg, d), 0);
  assert_int_equal(tc_readiness_start_probes(r, &err), 0);
  assert_true(tc_readiness_wait_probes(r, 5000));
  expect(r, 1, "ready", NULL, 0);

  cfg.binding_count = 2;
  struct tc_dispatch_plan *p = NULL;
  assert_int_equal(tc_dispatcher_plan(d, &cfg, &p, &err), 0);
  tc_dispatcher_commit(d, p);
  tc_dispatch_plan_free(p);
  tc_readiness_probe_new(r);
  const char *pending[] = {"mcp startup probe pending"};
  expect(r, 0, pending[0], pending, 1);
  assert_false(tc_readiness_wait_probes(r, 100));
  pthread_mutex_lock(&g_gate_mu);
  g_gate_open = 1;
  pthread_mutex_unlock(&g_gate_mu);
  assert_true(tc_readiness_wait_probes(r, 5000));
  expect(r, 1, "ready", NULL, 0);
  tc_readiness_free(r);
  tc_dispatcher_drain(d, 1000);
  tc_dispatcher_free(d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_order_and_transitions),
      cmocka_unit_test(test_unknown_tunnel),
      cmocka_unit_test(test_metadata_then_poll),
      cmocka_unit_test(test_reload_adds_unprobed_channel),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
