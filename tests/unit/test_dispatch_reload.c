/* Unit tests for dispatch/reload.c: replacing the channel set of a running
 * dispatcher. Fake transports name the instance that answered (its URL) in
 * every result, and "gate" calls block until the test opens the gate, so a
 * test can hold calls in flight across a reload and check that each is
 * answered once, by the instance it started on; that unchanged channels
 * keep their instance; that replaced and removed instances are destroyed
 * only after their last call (and view); and that a failed plan changes
 * nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "dispatch/dispatch_internal.h"
#include "dispatch/dispatcher.h"
#include "tc/errors.h"

/* ---- recorded posts ------------------------------------------------------ */

struct rec {
  char *request_id;
  int code;
  char *json;
};

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static struct rec g_recs[128];
static size_t g_nrec;
static int g_gate_open, g_gate_entered; /* g_mu */
static atomic_int g_created, g_destroyed, g_asked;

static int fake_post(void *ud, const struct tc_cp_command *cmd,
                     const struct tc_cp_response *r, uint64_t deadline_ns,
                     const atomic_int *stop_retries, char **err) {
  (void)ud;
  (void)cmd;
  (void)deadline_ns;
  (void)stop_retries;
  (void)err;
  pthread_mutex_lock(&g_mu);
  assert_true(g_nrec < sizeof(g_recs) / sizeof(g_recs[0]));
  struct rec *x = &g_recs[g_nrec++];
  x->request_id = strdup(r->request_id);
  x->code = r->resp_code;
  x->json =
      r->resp_json != NULL ? strndup(r->resp_json, r->resp_json_len) : NULL;
  pthread_cond_broadcast(&g_cv);
  pthread_mutex_unlock(&g_mu);
  return 0;
}

static const struct tc_dispatch_poster g_poster = {NULL, fake_post};

static void reset(void) {
  pthread_mutex_lock(&g_mu);
  for (size_t i = 0; i < g_nrec; i++) {
    free(g_recs[i].request_id);
    free(g_recs[i].json);
  }
  g_nrec = 0;
  g_gate_open = g_gate_entered = 0;
  pthread_mutex_unlock(&g_mu);
  atomic_store(&g_created, 0);
  atomic_store(&g_destroyed, 0);
  atomic_store(&g_asked, 0);
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static void wait_until(int (*cond)(void), const char *what) {
  for (int i = 0; i < 10000 && !cond(); i++)
    sleep_ms(1);
  if (!cond())
    fail_msg("timed out waiting for %s", what);
}

static size_t g_want;
static int recs_reached(void) {
  pthread_mutex_lock(&g_mu);
  int ok = g_nrec >= g_want;
  pthread_mutex_unlock(&g_mu);
  return ok;
}
static int gates_reached(void) {
  pthread_mutex_lock(&g_mu);
  int ok = (size_t)g_gate_entered >= g_want;
  pthread_mutex_unlock(&g_mu);
  return ok;
}

static void wait_recs(size_t n) {
  g_want = n;
  wait_until(recs_reached, "posts");
}
static void wait_gates(size_t n) {
  g_want = n;
  wait_until(gates_reached, "gate calls");
}
static void open_gate(void) {
  pthread_mutex_lock(&g_mu);
  g_gate_open = 1;
  pthread_mutex_unlock(&g_mu);
}

/* The body of the one post for `rid` (asserting there is exactly one). */
static const char *answer(const char *rid) {
  const char *body = NULL;
  int n = 0;
  pthread_mutex_lock(&g_mu);
  for (size_t i = 0; i < g_nrec; i++)
    if (strcmp(g_recs[i].request_id, rid) == 0) {
      body = g_recs[i].json;
      n++;
    }
  pthread_mutex_unlock(&g_mu);
  if (n != 1)
    fail_msg("request %s answered %d times", rid, n);
  return body;
}

/* ---- fake transports ----------------------------------------------------- */

struct fake {
  char *url;
};

static int fake_create(const struct tc_host *host, const struct tc_binding *b,
                       void **inst, char **errmsg) {
  (void)host;
  if (b->url != NULL && strcmp(b->url, "refuse") == 0) {
    *errmsg = strdup("bad url");
    return TC_ECONFIG;
  }
  struct fake *f = calloc(1, sizeof(*f));
  f->url = strdup(b->url != NULL ? b->url : "");
  *inst = f;
  atomic_fetch_add(&g_created, 1);
  return TC_OK;
}

static void fake_destroy(void *inst) {
  struct fake *f = inst;
  free(f->url);
  free(f);
  atomic_fetch_add(&g_destroyed, 1);
}

/* Any call answers {"url": <instance url>}; a "gate" call first waits for
 * the gate. */
static int fake_call(void *inst, const struct tc_request *req,
                     const struct tc_sink *sink) {
  struct fake *f = inst;
  if (strstr(req->body, "\"gate\"") != NULL) {
    pthread_mutex_lock(&g_mu);
    g_gate_entered++;
    while (!g_gate_open) {
      pthread_mutex_unlock(&g_mu);
      sleep_ms(1);
      pthread_mutex_lock(&g_mu);
    }
    pthread_mutex_unlock(&g_mu);
  }
  char body[256];
  snprintf(body, sizeof(body),
           "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"url\":\"%s\"}}",
           f->url);
  struct tc_response r;
  memset(&r, 0, sizeof(r));
  r.struct_size = sizeof(r);
  r.status = 200;
  r.body = body;
  r.body_len = strlen(body);
  return sink->complete(sink, &r);
}

/* Keeps the instance when only the headers changed. */
static int fake_reusable_for(void *inst, const struct tc_binding *next) {
  struct fake *f = inst;
  atomic_fetch_add(&g_asked, 1);
  return next->url != NULL && strcmp(next->url, f->url) == 0 ? TC_OK
                                                             : TC_DECLINED;
}

static const struct tc_transport_vtable vt_fake = {
    .struct_size = sizeof(struct tc_transport_vtable),
    .name = "fake",
    .create = fake_create,
    .call = fake_call,
    .destroy = fake_destroy,
};

static const struct tc_transport_vtable vt_reuse = {
    .struct_size = sizeof(struct tc_transport_vtable),
    .name = "reuse",
    .create = fake_create,
    .call = fake_call,
    .destroy = fake_destroy,
    .reusable_for = fake_reusable_for,
};

/* Built against ABI 1.2: reusable_for lies beyond its struct_size and must
 * never be called. */
static const struct tc_transport_vtable vt_old = {
    .struct_size = offsetof(struct tc_transport_vtable, reusable_for),
    .name = "old",
    .create = fake_create,
    .call = fake_call,
    .destroy = fake_destroy,
    .reusable_for = fake_reusable_for,
};

static struct tc_registered_transport g_transports[3];
static struct tc_registry g_reg;

/* ---- configurations ------------------------------------------------------ */

struct cfgb {
  struct tc_config cfg;
  struct tc_binding_cfg b[4];
};

/* A configuration of `n` (channel, transport, url) triples. */
static void mkcfg(struct cfgb *c, size_t n, ...) {
  memset(c, 0, sizeof(*c));
  va_list ap;
  va_start(ap, n);
  for (size_t i = 0; i < n; i++) {
    c->b[i].channel = va_arg(ap, char *);
    c->b[i].transport = va_arg(ap, char *);
    c->b[i].url = va_arg(ap, char *);
  }
  va_end(ap);
  c->cfg.bindings = c->b;
  c->cfg.binding_count = n;
  c->cfg.cp_max_inflight = 16;
  c->cfg.mcp_max_concurrent = 8;
  c->cfg.mcp_connection_max_ttl_ms = 600000;
}

static struct tc_dispatcher *start(const struct cfgb *c) {
  reset();
  memset(&g_reg, 0, sizeof(g_reg));
  g_transports[0].vt = &vt_fake;
  g_transports[1].vt = &vt_reuse;
  g_transports[2].vt = &vt_old;
  g_reg.transports = g_transports;
  g_reg.transport_count = 3;
  struct tc_dispatcher *d = NULL;
  char *err = NULL;
  assert_int_equal(tc_dispatcher_new(&d, &c->cfg, &g_reg, &g_poster, &err), 0);
  return d;
}

static void call(struct tc_dispatcher *d, const char *rid, const char *channel,
                 const char *method) {
  struct tc_cp_command c;
  memset(&c, 0, sizeof(c));
  c.request_id = strdup(rid);
  c.shard_token = strdup("shard");
  c.type = TC_CP_CMD_JSONRPC;
  snprintf(c.channel, sizeof(c.channel), "%s", channel);
  char json[128];
  snprintf(json, sizeof(json),
           "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\"}", method);
  c.jsonrpc = strdup(json);
  c.jsonrpc_len = strlen(json);
  c.rpc_kind = TC_CP_RPC_CALL;
  c.rpc_id = strdup("1");
  assert_int_equal(tc_dispatcher_submit(d, &c, tc_dispatch_now_ns()), 0);
}

static void reload(struct tc_dispatcher *d, const struct cfgb *c,
                   struct tc_dispatch_plan **out) {
  char *err = NULL;
  int rc = tc_dispatcher_plan(d, &c->cfg, out, &err);
  if (rc != 0)
    fail_msg("plan failed: %s", err);
}

static int names_are(char *const *v, size_t n, const char *want) {
  char buf[256] = "";
  for (size_t i = 0; i < n; i++)
    snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s",
             i > 0 ? "," : "", v[i]);
  if (strcmp(buf, want) != 0)
    print_error("names \"%s\", want \"%s\"\n", buf, want);
  return strcmp(buf, want) == 0;
}

/* ---- tests --------------------------------------------------------------- */

static void test_reload_with_calls_in_flight(void **state) {
  (void)state;
  struct cfgb c0, c1;
  mkcfg(&c0, 3, "main", "fake", "http://a", "alt", "fake", "http://alt1",
        "gone", "fake", "http://gone");
  struct tc_dispatcher *d = start(&c0);
  assert_int_equal(atomic_load(&g_created), 3);
  call(d, "main-1", "main", "gate");
  call(d, "alt-1", "alt", "gate");
  call(d, "gone-1", "gone", "gate");
  wait_gates(3);

  /* main unchanged, alt points elsewhere, gone removed, extra added. */
  mkcfg(&c1, 3, "main", "fake", "http://a", "alt", "fake", "http://alt2",
        "extra", "fake", "http://extra");
  struct tc_dispatch_plan *p = NULL;
  reload(d, &c1, &p);
  assert_true(names_are(p->added, p->added_count, "extra"));
  assert_true(names_are(p->removed, p->removed_count, "gone"));
  assert_true(names_are(p->changed, p->changed_count, "alt"));
  assert_int_equal(atomic_load(&g_created), 5); /* alt2 and extra only */
  tc_dispatcher_commit(d, p);
  tc_dispatch_plan_free(p);
  /* alt1 and gone still have a call each: nothing destroyed yet. */
  assert_int_equal(atomic_load(&g_destroyed), 0);
  assert_int_equal(tc_dispatcher_reap(d), 2);

  /* New commands go to the new set. */
  call(d, "alt-2", "alt", "echo");
  call(d, "extra-1", "extra", "echo");
  call(d, "gone-2", "gone", "echo");
  wait_recs(3);
  assert_non_null(strstr(answer("alt-2"), "http://alt2"));
  assert_non_null(strstr(answer("extra-1"), "http://extra"));
  assert_non_null(strstr(answer("gone-2"), "unsupported channel"));

  /* The held calls finish on the instances they started on, once each. */
  open_gate();
  wait_recs(6);
  assert_non_null(strstr(answer("main-1"), "http://a"));
  assert_non_null(strstr(answer("alt-1"), "http://alt1"));
  assert_non_null(strstr(answer("gone-1"), "http://gone"));
  /* Workers drop their references right after posting. */
  for (int i = 0; i < 5000 && tc_dispatcher_reap(d) > 0; i++)
    sleep_ms(1);
  assert_int_equal(tc_dispatcher_reap(d), 0);
  assert_int_equal(atomic_load(&g_destroyed), 2);

  /* The view is the new set, in config order, counters carried over. */
  struct tc_dispatch_routes *v = tc_dispatcher_view(d);
  assert_int_equal(tc_dispatch_view_count(v), 3);
  struct tc_dispatch_channel_info info;
  assert_int_equal(tc_dispatch_view_info(v, 0, &info), 0);
  assert_string_equal(info.name, "main");
  assert_int_equal(info.requests_total, 1);
  assert_int_equal(tc_dispatch_view_info(v, 1, &info), 0);
  assert_string_equal(info.name, "alt");
  assert_string_equal(info.binding->url, "http://alt2");
  assert_int_equal(info.requests_total, 2); /* alt-1 and alt-2 */
  assert_int_equal(tc_dispatch_view_info(v, 2, &info), 0);
  assert_string_equal(info.name, "extra");
  tc_dispatch_view_release(v);

  tc_dispatcher_drain(d, 5000);
  tc_dispatcher_free(d);
  assert_int_equal(atomic_load(&g_destroyed), 5);
  reset();
}

/* A plan that cannot be built leaves everything as it was. */
static void test_failed_plan_changes_nothing(void **state) {
  (void)state;
  struct cfgb c0, c1;
  mkcfg(&c0, 2, "main", "fake", "http://a", "alt", "fake", "http://alt1");
  struct tc_dispatcher *d = start(&c0);
  mkcfg(&c1, 3, "main", "fake", "http://a2", "new", "fake", "http://new", "bad",
        "fake", "refuse");
  struct tc_dispatch_plan *p = NULL;
  char *err = NULL;
  assert_int_equal(tc_dispatcher_plan(d, &c1.cfg, &p, &err), -1);
  assert_null(p);
  assert_non_null(strstr(err, "channel \"bad\""));
  assert_non_null(strstr(err, "bad url"));
  free(err);
  /* What the plan made is gone; the running set is whole. */
  assert_int_equal(atomic_load(&g_created), 4);
  assert_int_equal(atomic_load(&g_destroyed), 2);
  mkcfg(&c1, 2, "main", "fake", "http://a", "missing", "nope", "http://x");
  assert_int_equal(tc_dispatcher_plan(d, &c1.cfg, &p, &err), -1);
  assert_non_null(strstr(err, "transport \"nope\""));
  free(err);
  call(d, "m", "main", "echo");
  call(d, "a", "alt", "echo");
  wait_recs(2);
  assert_non_null(strstr(answer("m"), "http://a\""));
  assert_non_null(strstr(answer("a"), "http://alt1"));
  assert_int_equal(tc_dispatcher_reap(d), 0);
  tc_dispatcher_drain(d, 5000);
  tc_dispatcher_free(d);
  assert_int_equal(atomic_load(&g_destroyed), 4);
  reset();
}

/* A binding that differs only where the transport does not look keeps its
 * instance when the transport says so, and only when its vtable is new
 * enough to say it. */
static void test_reusable_for(void **state) {
  (void)state;
  struct cfgb c0, c1;
  mkcfg(&c0, 2, "st", "reuse", "cmd://x", "old", "old", "cmd://y");
  struct tc_dispatcher *d = start(&c0);
  mkcfg(&c1, 2, "st", "reuse", "cmd://x", "old", "old", "cmd://y");
  struct tc_headers extra = TC_HEADERS_INIT;
  tc_headers_add(&extra, "X-New", "1");
  c1.cfg.mcp_extra_headers = extra;
  struct tc_dispatch_plan *p = NULL;
  reload(d, &c1, &p);
  assert_int_equal(atomic_load(&g_asked), 1); /* "reuse" only */
  assert_int_equal(p->changed_count, 1);
  assert_string_equal(p->changed[0], "old");
  assert_int_equal(atomic_load(&g_created), 3);
  tc_dispatcher_commit(d, p);
  tc_dispatch_plan_free(p);
  assert_int_equal(atomic_load(&g_destroyed), 1);
  /* A real change is declined: new instance. */
  mkcfg(&c1, 2, "st", "reuse", "cmd://z", "old", "old", "cmd://y");
  c1.cfg.mcp_extra_headers = extra;
  reload(d, &c1, &p);
  assert_int_equal(atomic_load(&g_asked), 2);
  assert_true(names_are(p->changed, p->changed_count, "st"));
  tc_dispatcher_commit(d, p);
  tc_dispatch_plan_free(p);
  tc_headers_clear(&extra);
  /* Identical bindings are never asked. */
  mkcfg(&c1, 2, "st", "reuse", "cmd://z", "old", "old", "cmd://y");
  c1.cfg.mcp_extra_headers = c0.cfg.mcp_extra_headers;
  tc_headers_add(&c1.cfg.mcp_extra_headers, "X-New", "1");
  reload(d, &c1, &p);
  assert_int_equal(atomic_load(&g_asked), 2);
  assert_int_equal(p->changed_count + p->added_count + p->removed_count, 0);
  tc_dispatcher_commit(d, p);
  tc_dispatch_plan_free(p);
  tc_headers_clear(&c1.cfg.mcp_extra_headers);
  tc_dispatcher_drain(d, 5000);
  tc_dispatcher_free(d);
  assert_int_equal(atomic_load(&g_created), atomic_load(&g_destroyed));
  reset();
}

/* A view keeps a removed channel's instance alive until released; a
 * channel kept by a reload keeps its "startup probe ran" mark. */
static void test_view_outlives_reload(void **state) {
  (void)state;
  struct cfgb c0, c1;
  mkcfg(&c0, 2, "main", "fake", "http://a", "gone", "fake", "http://g");
  struct tc_dispatcher *d = start(&c0);
  struct tc_dispatch_routes *v = tc_dispatcher_view(d);
  tc_dispatch_view_mark_probed(v, 0);
  mkcfg(&c1, 1, "main", "fake", "http://a");
  struct tc_dispatch_plan *p = NULL;
  reload(d, &c1, &p);
  tc_dispatcher_commit(d, p);
  tc_dispatch_plan_free(p);
  assert_int_equal(tc_dispatcher_reap(d), 1);
  struct tc_dispatch_channel_info info;
  assert_int_equal(tc_dispatch_view_info(v, 1, &info), 0);
  assert_string_equal(info.name, "gone");
  assert_string_equal(info.binding->url, "http://g");
  tc_dispatch_view_release(v);
  assert_int_equal(tc_dispatcher_reap(d), 0);
  assert_int_equal(atomic_load(&g_destroyed), 1);
  v = tc_dispatcher_view(d);
  assert_int_equal(tc_dispatch_view_info(v, 0, &info), 0);
  assert_true(info.probed);
  tc_dispatch_view_release(v);
  /* An abandoned plan takes back what it created. */
  mkcfg(&c1, 2, "main", "fake", "http://a", "more", "fake", "http://m");
  reload(d, &c1, &p);
  assert_int_equal(atomic_load(&g_created), 3);
  tc_dispatcher_abandon(d, p);
  assert_int_equal(atomic_load(&g_destroyed), 2);
  tc_dispatcher_drain(d, 5000);
  tc_dispatcher_free(d);
  assert_int_equal(atomic_load(&g_destroyed), 3);
  reset();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_reload_with_calls_in_flight),
      cmocka_unit_test(test_failed_plan_changes_nothing),
      cmocka_unit_test(test_reusable_for),
      cmocka_unit_test(test_view_outlives_reload),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
