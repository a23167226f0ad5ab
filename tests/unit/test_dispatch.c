/* Unit tests for dispatch/: the queue, routing, one command end to end and
 * drain, against a fake transport (behaviour chosen by the JSON-RPC method)
 * and a fake poster that records every post. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "dispatch/dispatch_internal.h"
#include "dispatch/dispatcher.h"
#include "ops/metrics_registry.h"
#include "tc/errors.h"
#include "tc/hook.h"

/* ---- recorded posts ---------------------------------------------------------
 */

struct rec {
  const char *json_ptr; /* r->resp_json as posted (not a copy) */
  char *request_id;
  char *channel;
  enum tc_cp_resp_type type;
  int code;
  char *json;  /* NULL when none */
  char *ctype; /* Content-Type header, NULL when none */
  char *wwwauth;
  uint64_t deadline_ns;
};

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static struct rec g_recs[512];
static size_t g_nrec;
static atomic_int g_calls;   /* transport call() entries */
static atomic_int g_in_call; /* concurrent call() now (non-serial) */
static atomic_int g_max_in;  /* max of g_in_call */
static atomic_int g_ser_in;  /* concurrent call() on the serial transport */
static atomic_int g_ser_max; /* max of g_ser_in */
static atomic_int g_done;    /* call() returns */
static int g_gate_open;      /* "gate" calls wait for this (g_mu) */
static int g_gate_entered;   /* "gate" calls that started (g_mu) */

static char *dupn(const char *p, size_t n) {
  char *s = malloc(n + 1);
  memcpy(s, p, n);
  s[n] = '\0';
  return s;
}

static int fake_post(void *ud, const struct tc_cp_command *cmd,
                     const struct tc_cp_response *r, uint64_t deadline_ns,
                     const atomic_int *stop_retries, char **err) {
  (void)ud;
  (void)stop_retries;
  (void)err;
  pthread_mutex_lock(&g_mu);
  assert_true(g_nrec < sizeof(g_recs) / sizeof(g_recs[0]));
  struct rec *x = &g_recs[g_nrec++];
  assert_string_equal(r->request_id, cmd->request_id);
  x->request_id = strdup(r->request_id);
  x->channel = strdup(r->channel != NULL ? r->channel : "main");
  x->type = r->type;
  x->code = r->resp_code;
  x->json = r->resp_json != NULL ? dupn(r->resp_json, r->resp_json_len) : NULL;
  x->json_ptr = r->resp_json;
  const char *ct = tc_headers_get(r->resp_headers, "Content-Type", 0);
  x->ctype = ct != NULL ? strdup(ct) : NULL;
  const char *wa = tc_headers_get(r->resp_headers, "Www-Authenticate", 0);
  x->wwwauth = wa != NULL ? strdup(wa) : NULL;
  x->deadline_ns = deadline_ns;
  /* The encoder must accept everything we post. */
  char *e = NULL;
  char *body = tc_cp_response_encode(r, &e);
  assert_non_null(body);
  free(body);
  pthread_cond_broadcast(&g_cv);
  pthread_mutex_unlock(&g_mu);
  return 0;
}

static const struct tc_dispatch_poster g_poster = {NULL, fake_post};

static void reset(void) {
  pthread_mutex_lock(&g_mu);
  for (size_t i = 0; i < g_nrec; i++) {
    free(g_recs[i].request_id);
    free(g_recs[i].channel);
    free(g_recs[i].json);
    free(g_recs[i].ctype);
    free(g_recs[i].wwwauth);
  }
  memset(g_recs, 0, sizeof(g_recs));
  g_nrec = 0;
  g_gate_open = 0;
  g_gate_entered = 0;
  pthread_mutex_unlock(&g_mu);
  atomic_store(&g_calls, 0);
  atomic_store(&g_in_call, 0);
  atomic_store(&g_max_in, 0);
  atomic_store(&g_ser_in, 0);
  atomic_store(&g_ser_max, 0);
  atomic_store(&g_done, 0);
}

static size_t nrec(void) {
  pthread_mutex_lock(&g_mu);
  size_t n = g_nrec;
  pthread_mutex_unlock(&g_mu);
  return n;
}

static void wait_recs(size_t n) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 10;
  pthread_mutex_lock(&g_mu);
  while (g_nrec < n)
    if (pthread_cond_timedwait(&g_cv, &g_mu, &until) != 0)
      break;
  size_t got = g_nrec;
  pthread_mutex_unlock(&g_mu);
  assert_true(got >= n);
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* ---- fake transport
 * ------------------------------------------------------------ */

struct fake_inst {
  char *channel;
  int serial;
};

static int fake_create(const struct tc_host *host, const struct tc_binding *b,
                       void **inst, char **errmsg) {
  (void)host;
  if (b->url != NULL && strcmp(b->url, "refuse") == 0) {
    *errmsg = strdup("bad url");
    return TC_ECONFIG;
  }
  struct fake_inst *fi = calloc(1, sizeof(*fi));
  fi->channel = strdup(b->channel);
  *inst = fi;
  return TC_OK;
}

static int fake_create_serial(const struct tc_host *host,
                              const struct tc_binding *b, void **inst,
                              char **errmsg) {
  int rc = fake_create(host, b, inst, errmsg);
  if (rc == TC_OK)
    ((struct fake_inst *)*inst)->serial = 1;
  return rc;
}

static void fake_destroy(void *inst) {
  struct fake_inst *fi = inst;
  free(fi->channel);
  free(fi);
}

static void bump_max(atomic_int *cur, atomic_int *max) {
  int now = atomic_fetch_add(cur, 1) + 1;
  int m = atomic_load(max);
  while (now > m && !atomic_compare_exchange_weak(max, &m, now)) {
  }
}

static void resp_init(struct tc_response *r, int status, const char *body) {
  memset(r, 0, sizeof(*r));
  r->struct_size = sizeof(*r);
  r->status = status;
  r->body = body;
  r->body_len = body != NULL ? strlen(body) : 0;
}

static char g_own_body[256];

static int fake_behave(struct fake_inst *fi, const struct tc_request *req,
                       const struct tc_sink *sink) {
  json_t *msg = json_loadb(req->body, req->body_len, 0, NULL);
  assert_non_null(msg);
  const char *method = json_string_value(json_object_get(msg, "method"));
  json_t *id = json_object_get(msg, "id");
  char *id_txt = id != NULL ? json_dumps(id, JSON_ENCODE_ANY) : strdup("null");
  json_int_t delay =
      json_integer_value(json_object_get(json_object_get(msg, "params"), "ms"));
  char body[512];
  struct tc_response r;
  int rc = TC_OK;
  if (delay > 0)
    sleep_ms((long)delay);
  if (id == NULL) { /* notification */
    resp_init(&r, 202, NULL);
    rc = sink->complete(sink, &r);
  } else if (strcmp(method, "echo") == 0) {
    snprintf(body, sizeof(body),
             "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"ch\":\"%s\","
             "\"rid\":\"%s\"}}",
             id_txt, fi->channel, req->request_id);
    resp_init(&r, 0, body);
    rc = sink->complete(sink, &r);
  } else if (strcmp(method, "notify2") == 0) {
    for (int i = 0; i < 2; i++) {
      snprintf(body, sizeof(body),
               "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\","
               "\"params\":{\"n\":%d}}",
               i);
      resp_init(&r, 200, body);
      assert_int_equal(sink->notify(sink, &r), TC_OK);
      sleep_ms(5);
    }
    snprintf(body, sizeof(body),
             "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{}}", id_txt);
    resp_init(&r, 200, body);
    rc = sink->complete(sink, &r);
    resp_init(&r, 200, body); /* a late notify is refused */
    assert_true(sink->notify(sink, &r) < 0);
  } else if (strcmp(method, "fail") == 0) {
    resp_init(&r, 502, NULL);
    r.failure_source = "connect";
    r.failure_kind = "connection_refused";
    rc = sink->complete(sink, &r);
  } else if (strcmp(method, "hang") == 0 || strcmp(method, "gate") == 0) {
    int gate = strcmp(method, "gate") == 0;
    if (gate) {
      pthread_mutex_lock(&g_mu);
      g_gate_entered++;
      pthread_cond_broadcast(&g_cv);
      pthread_mutex_unlock(&g_mu);
    }
    for (;;) {
      if (req->is_canceled(req))
        break;
      if (gate) {
        pthread_mutex_lock(&g_mu);
        int open = g_gate_open;
        pthread_mutex_unlock(&g_mu);
        if (open)
          break;
      }
      sleep_ms(2);
    }
    if (req->is_canceled(req)) {
      resp_init(&r, 0, NULL);
      r.failure_source = "timeout";
      r.failure_kind = "canceled";
    } else {
      snprintf(body, sizeof(body),
               "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{}}", id_txt);
      resp_init(&r, 200, body);
    }
    rc = sink->complete(sink, &r);
  } else if (strcmp(method, "own") == 0) {
    /* The transport's buffer: the core must post these very bytes. */
    snprintf(g_own_body, sizeof(g_own_body),
             "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"own\":1}}", id_txt);
    resp_init(&r, 200, g_own_body);
    rc = sink->complete(sink, &r);
  } else if (strcmp(method, "budget") == 0) {
    resp_init(&r, 503, NULL);
    r.failure_source = "client_internal";
    r.failure_kind = "reply_budget_exhausted";
    r.upstream_response_received = 1;
    rc = sink->complete(sink, &r);
  } else if (strcmp(method, "nocomplete") == 0) {
    rc = TC_EIO;
  } else if (strcmp(method, "twice") == 0) {
    snprintf(body, sizeof(body),
             "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"n\":1}}", id_txt);
    resp_init(&r, 200, body);
    assert_int_equal(sink->complete(sink, &r), TC_OK);
    assert_true(sink->complete(sink, &r) < 0);
  } else if (strcmp(method, "err401") == 0) {
    /* Odd spacing on purpose: must pass through byte-exact. */
    snprintf(body, sizeof(body),
             "{ \"jsonrpc\": \"2.0\", \"error\": {\"code\": -32001, "
             "\"message\": \"Unauthorized\"}, \"id\": %s }",
             id_txt);
    struct tc_headers h = TC_HEADERS_INIT;
    tc_headers_add(&h, "WWW-Authenticate", "Bearer resource_metadata=\"x\"");
    tc_headers_add(&h, "Set-Cookie", "no");
    tc_headers_add(&h, "Content-Type", "application/json; charset=utf-8");
    resp_init(&r, 401, body);
    r.headers = &h;
    r.failure_source = "target_http";
    r.upstream_status = 401;
    r.upstream_response_received = 1;
    rc = sink->complete(sink, &r);
    tc_headers_clear(&h);
  } else {
    fail_msg("unknown method %s", method);
  }
  free(id_txt);
  json_decref(msg);
  return rc;
}

static int fake_call(void *inst, const struct tc_request *req,
                     const struct tc_sink *sink) {
  struct fake_inst *fi = inst;
  atomic_fetch_add(&g_calls, 1);
  assert_string_equal(req->channel, fi->channel);
  if (fi->serial)
    bump_max(&g_ser_in, &g_ser_max);
  else
    bump_max(&g_in_call, &g_max_in);
  int rc = fake_behave(fi, req, sink);
  if (fi->serial)
    atomic_fetch_sub(&g_ser_in, 1);
  else
    atomic_fetch_sub(&g_in_call, 1);
  atomic_fetch_add(&g_done, 1);
  return rc;
}

static int fake_terminate(void *inst, const struct tc_request *req,
                          int *status) {
  (void)inst;
  assert_string_equal(req->type, "session_termination");
  assert_non_null(tc_headers_get(req->headers, "Mcp-Session-Id", 0));
  *status = 204;
  return TC_OK;
}

static const struct tc_transport_vtable vt_fake = {
    .struct_size = sizeof(struct tc_transport_vtable),
    .name = "fake",
    .create = fake_create,
    .call = fake_call,
    .terminate_session = fake_terminate,
    .destroy = fake_destroy,
};

static const struct tc_transport_vtable vt_serial = {
    .struct_size = sizeof(struct tc_transport_vtable),
    .name = "fake-serial",
    .flags = TC_TRANSPORT_SERIAL,
    .create = fake_create_serial,
    .call = fake_call,
    .destroy = fake_destroy,
};

/* ---- a hook: claims oauth_discovery, rewrites "rewrite" results ---------- */

static int hk_on_command(void *inst, const struct tc_request *req,
                         const struct tc_sink *sink) {
  (void)inst;
  if (strcmp(req->type, "oauth_discovery") != 0)
    return TC_DECLINED;
  struct tc_response r;
  resp_init(&r, 200, "{\"resource\":\"https://mcp.example\"}");
  return sink->complete(sink, &r);
}

static int hk_on_response(void *inst, const struct tc_request *req,
                          const struct tc_response *res, char **nb,
                          size_t *nl) {
  (void)inst;
  (void)res;
  if (req->body == NULL || strstr(req->body, "\"rewrite\"") == NULL)
    return TC_DECLINED;
  *nb = strdup("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"rewritten\":1}}");
  *nl = strlen(*nb);
  return TC_OK;
}

static const struct tc_hook_vtable vt_hook = {
    .struct_size = sizeof(struct tc_hook_vtable),
    .name = "test-hook",
    .on_command = hk_on_command,
    .on_response = hk_on_response,
};

/* ---- fixtures ---------------------------------------------------------------
 */

static struct tc_registered_transport g_transports[2];
static struct tc_registered_hook g_hooks[1];
static struct tc_registry g_reg;
static struct tc_binding_cfg g_bindings[3];
static struct tc_config g_cfg;

static void setup_cfg(int inflight, int workers, int with_hook) {
  memset(&g_reg, 0, sizeof(g_reg));
  g_transports[0].vt = &vt_fake;
  g_transports[1].vt = &vt_serial;
  g_reg.transports = g_transports;
  g_reg.transport_count = 2;
  g_hooks[0].vt = &vt_hook;
  g_reg.hooks = g_hooks;
  g_reg.hook_count = with_hook ? 1 : 0;
  memset(g_bindings, 0, sizeof(g_bindings));
  g_bindings[0].channel = (char *)(uintptr_t) "main";
  g_bindings[0].transport = (char *)(uintptr_t) "fake";
  g_bindings[1].channel = (char *)(uintptr_t) "alt";
  g_bindings[1].transport = (char *)(uintptr_t) "fake";
  g_bindings[2].channel = (char *)(uintptr_t) "ser";
  g_bindings[2].transport = (char *)(uintptr_t) "fake-serial";
  memset(&g_cfg, 0, sizeof(g_cfg));
  g_cfg.bindings = g_bindings;
  g_cfg.binding_count = 3;
  g_cfg.cp_max_inflight = inflight;
  g_cfg.mcp_max_concurrent = workers;
  g_cfg.mcp_connection_max_ttl_ms = 600000;
  reset();
}

static struct tc_dispatcher *start(int inflight, int workers, int with_hook) {
  setup_cfg(inflight, workers, with_hook);
  struct tc_dispatcher *d = NULL;
  char *err = NULL;
  assert_int_equal(tc_dispatcher_new(&d, &g_cfg, &g_reg, &g_poster, &err), 0);
  assert_null(err);
  assert_non_null(d);
  return d;
}

/* A jsonrpc command; `json` is the message, `id` its id text or NULL. */
static void mk(struct tc_cp_command *c, const char *rid, const char *channel,
               const char *json, const char *id) {
  memset(c, 0, sizeof(*c));
  c->request_id = strdup(rid);
  c->shard_token = strdup("shard-secret");
  c->type = TC_CP_CMD_JSONRPC;
  snprintf(c->channel, sizeof(c->channel), "%s", channel);
  if (json != NULL) {
    c->jsonrpc = strdup(json);
    c->jsonrpc_len = strlen(json);
  }
  c->rpc_kind = id != NULL ? TC_CP_RPC_CALL : TC_CP_RPC_NOTIFICATION;
  c->rpc_id = id != NULL ? strdup(id) : NULL;
}

static void mk_call(struct tc_cp_command *c, const char *rid,
                    const char *channel, const char *method, int id, int ms) {
  char json[256], idt[32];
  snprintf(json, sizeof(json),
           "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"%s\","
           "\"params\":{\"ms\":%d}}",
           id, method, ms);
  snprintf(idt, sizeof(idt), "%d", id);
  mk(c, rid, channel, json, idt);
}

static void submit(struct tc_dispatcher *d, struct tc_cp_command *c,
                   uint64_t receipt) {
  assert_int_equal(tc_dispatcher_submit(d, c, receipt), 0);
  assert_null(c->request_id); /* moved */
}

static const struct rec *find(const char *rid, size_t nth) {
  for (size_t i = 0; i < g_nrec; i++)
    if (strcmp(g_recs[i].request_id, rid) == 0 && nth-- == 0)
      return &g_recs[i];
  return NULL;
}

static size_t count_for(const char *rid) {
  size_t n = 0;
  for (size_t i = 0; i < g_nrec; i++)
    n += strcmp(g_recs[i].request_id, rid) == 0;
  return n;
}

/* ---- tests
 * ---------------------------------------------------------------------- */

static void test_concurrent_correlation(void **state) {
  (void)state;
  struct tc_dispatcher *d = start(64, 4, 0);
  struct tc_cp_command c;
  for (int i = 0; i < 50; i++) {
    char rid[16];
    snprintf(rid, sizeof(rid), "r%d", i);
    mk_call(&c, rid, i % 2 ? "alt" : "main", "echo", i, (i * 7) % 11);
    submit(d, &c, tc_dispatch_now_ns());
  }
  wait_recs(50);
  tc_dispatcher_drain(d, 5000);
  assert_int_equal(nrec(), 50);
  int out_of_order = 0;
  for (int i = 0; i < 50; i++) {
    char rid[16], want[160];
    snprintf(rid, sizeof(rid), "r%d", i);
    const struct rec *r = find(rid, 0);
    assert_non_null(r);
    assert_int_equal(count_for(rid), 1);
    assert_int_equal(r->type, TC_CP_RESP_JSONRPC_RESPONSE);
    assert_int_equal(r->code, 200);
    assert_string_equal(r->channel, i % 2 ? "alt" : "main");
    snprintf(want, sizeof(want),
             "{\"jsonrpc\":\"2.0\",\"id\":%d,\"result\":{\"ch\":\"%s\","
             "\"rid\":\"%s\"}}",
             i, i % 2 ? "alt" : "main", rid);
    assert_string_equal(r->json, want);
    assert_string_equal(r->ctype, "application/json");
    assert_int_equal(r->deadline_ns, 0);
    if (r != &g_recs[i])
      out_of_order = 1;
  }
  assert_true(out_of_order);
  assert_true(atomic_load(&g_max_in) >= 2);
  assert_true(atomic_load(&g_max_in) <= 4);
  tc_dispatcher_free(d);
  reset();
}

static void test_serial_transport_never_overlaps(void **state) {
  (void)state;
  struct tc_dispatcher *d = start(16, 4, 0);
  struct tc_cp_command c;
  for (int i = 0; i < 8; i++) {
    char rid[16];
    snprintf(rid, sizeof(rid), "s%d", i);
    mk_call(&c, rid, "ser", "echo", i, 10);
    submit(d, &c, tc_dispatch_now_ns());
  }
  tc_dispatcher_drain(d, 10000);
  assert_int_equal(nrec(), 8);
  assert_int_equal(atomic_load(&g_ser_max), 1);
  tc_dispatcher_free(d);
  reset();
}

static void test_notifies_before_terminal(void **state) {
  (void)state;
  struct tc_dispatcher *d = start(16, 4, 0);
  struct tc_cp_command c;
  for (int i = 0; i < 6; i++) {
    char rid[16];
    snprintf(rid, sizeof(rid), "n%d", i);
    mk_call(&c, rid, "main", "notify2", i, 0);
    submit(d, &c, tc_dispatch_now_ns());
  }
  tc_dispatcher_drain(d, 5000);
  assert_int_equal(nrec(), 18);
  for (int i = 0; i < 6; i++) {
    char rid[16];
    snprintf(rid, sizeof(rid), "n%d", i);
    assert_int_equal(count_for(rid), 3);
    for (size_t k = 0; k < 2; k++) {
      const struct rec *r = find(rid, k);
      char want[128];
      snprintf(want, sizeof(want),
               "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\","
               "\"params\":{\"n\":%zu}}",
               k);
      assert_int_equal(r->type, TC_CP_RESP_JSONRPC_NOTIFY);
      assert_string_equal(r->json, want);
      assert_string_equal(r->ctype, "text/event-stream");
      assert_int_equal(r->code, 200);
    }
    assert_int_equal(find(rid, 2)->type, TC_CP_RESP_JSONRPC_RESPONSE);
  }
  tc_dispatcher_free(d);
  reset();
}

static void test_one_terminal_and_failures(void **state) {
  (void)state;
  struct tc_dispatcher *d = start(16, 2, 0);
  struct tc_cp_command c;
  mk_call(&c, "twice", "main", "twice", 1, 0);
  submit(d, &c, tc_dispatch_now_ns());
  mk_call(&c, "nocomplete", "main", "nocomplete", 2, 0);
  submit(d, &c, tc_dispatch_now_ns());
  mk_call(&c, "fail", "main", "fail", 3, 0);
  submit(d, &c, tc_dispatch_now_ns());
  tc_dispatcher_drain(d, 5000);
  assert_int_equal(nrec(), 3);
  const struct rec *r = find("twice", 0);
  assert_int_equal(count_for("twice"), 1);
  assert_string_equal(r->json,
                      "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"n\":1}}");
  r = find("nocomplete", 0);
  assert_int_equal(r->code, 502);
  assert_string_equal(
      r->json, "{\"jsonrpc\":\"2.0\",\"id\":2,\"error\":{\"code\":-32603,"
               "\"message\":\"Bad Gateway\",\"data\":{\"tunnel_failure\":{"
               "\"version\":1,\"source\":\"client_internal\","
               "\"upstream_response_received\":false}}}}");
  r = find("fail", 0);
  assert_int_equal(r->code, 502);
  assert_string_equal(r->ctype, "application/json");
  assert_string_equal(
      r->json, "{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":-32603,"
               "\"message\":\"Bad Gateway\",\"data\":{\"tunnel_failure\":{"
               "\"version\":1,\"source\":\"connect\",\"transport_error_kind\":"
               "\"connection_refused\",\"upstream_response_received\":false}}}"
               "}");
  tc_dispatcher_free(d);
  reset();
}

/* A transport's reply is posted from the transport's own buffer (held
 * once, never copied), and a reply over the in-flight budget becomes a 503
 * with its own transport_error_kind. */
static void test_reply_held_once_and_budget_kind(void **state) {
  (void)state;
  struct tc_dispatcher *d = start(4, 1, 0);
  struct tc_cp_command c;
  mk_call(&c, "own", "main", "own", 5, 0);
  submit(d, &c, tc_dispatch_now_ns());
  mk_call(&c, "budget", "main", "budget", 6, 0);
  submit(d, &c, tc_dispatch_now_ns());
  tc_dispatcher_drain(d, 5000);
  assert_int_equal(nrec(), 2);
  const struct rec *r = find("own", 0);
  assert_string_equal(r->json,
                      "{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{\"own\":1}}");
  assert_ptr_equal(r->json_ptr, g_own_body);
  r = find("budget", 0);
  assert_int_equal(r->code, 503);
  assert_string_equal(
      r->json, "{\"jsonrpc\":\"2.0\",\"id\":6,\"error\":{\"code\":-32603,"
               "\"message\":\"Service Unavailable\",\"data\":{"
               "\"tunnel_failure\":{\"version\":1,\"source\":"
               "\"client_internal\",\"transport_error_kind\":"
               "\"reply_budget_exhausted\",\"upstream_response_received\":"
               "true}}}}");
  tc_dispatcher_free(d);
  reset();
}

static void test_error_passthrough_401(void **state) {
  (void)state;
  struct tc_dispatcher *d = start(4, 1, 0);
  struct tc_cp_command c;
  mk(&c, "e401", "main",
     "{\"jsonrpc\":\"2.0\",\"id\":\"abc\",\"method\":\"err401\"}", "\"abc\"");
  submit(d, &c, tc_dispatch_now_ns());
  tc_dispatcher_drain(d, 5000);
  assert_int_equal(nrec(), 1);
  const struct rec *r = find("e401", 0);
  assert_int_equal(r->code, 401);
  assert_int_equal(r->type, TC_CP_RESP_JSONRPC_RESPONSE);
  assert_string_equal(r->json,
                      "{ \"jsonrpc\": \"2.0\", \"error\": {\"code\": -32001, "
                      "\"message\": \"Unauthorized\"}, \"id\": \"abc\" }");
  assert_string_equal(r->wwwauth, "Bearer resource_metadata=\"x\"");
  assert_string_equal(r->ctype, "application/json");
  tc_dispatcher_free(d);
  reset();
}

static void test_deadlines(void **state) {
  (void)state;
  struct tc_dispatcher *d = start(8, 2, 0);
  struct tc_cp_command c;
  /* Expired before dispatch: no call, no post. */
  mk_call(&c, "expired", "main", "echo", 1, 0);
  c.has_deadline = true;
  c.response_timeout_ns = 1000000; /* 1 ms */
  submit(d, &c, tc_dispatch_now_ns() - 1000000000ull);
  /* Expires mid-call: canceled, nothing posted late. */
  mk_call(&c, "midcall", "main", "hang", 2, 0);
  c.has_deadline = true;
  c.response_timeout_ns = 100000000; /* 100 ms */
  uint64_t t0 = tc_dispatch_now_ns();
  submit(d, &c, t0);
  /* Still within its deadline: posted, with the deadline handed over. */
  mk_call(&c, "intime", "main", "echo", 3, 0);
  c.has_deadline = true;
  c.response_timeout_ns = 30000000000ll;
  submit(d, &c, t0);
  tc_dispatcher_drain(d, 5000);
  assert_true(tc_dispatch_now_ns() - t0 >= 100000000ull);
  assert_int_equal(atomic_load(&g_calls), 2); /* midcall + intime */
  assert_int_equal(atomic_load(&g_done), 2);
  assert_int_equal(nrec(), 1);
  const struct rec *r = find("intime", 0);
  assert_non_null(r);
  assert_int_equal(r->deadline_ns, t0 + 30000000000ull);
  tc_dispatcher_free(d);
  reset();
}

static void test_rejections(void **state) {
  (void)state;
  struct tc_dispatcher *d = start(16, 2, 0);
  struct tc_cp_command c;
  mk_call(&c, "unk", "x", "echo", 7, 0);
  submit(d, &c, tc_dispatch_now_ns());
  mk(&c, "unkst", "x", NULL, NULL);
  c.type = TC_CP_CMD_SESSION_TERMINATION;
  c.rpc_kind = TC_CP_RPC_NONE;
  tc_headers_add(&c.headers, "Mcp-Session-Id", "s1");
  submit(d, &c, tc_dispatch_now_ns());
  mk(&c, "inv", "main", "{\"jsonrpc\":\"1.0\",\"id\":5,\"method\":\"x\"}", "5");
  c.rpc_kind = TC_CP_RPC_INVALID;
  c.invalid = "\"jsonrpc\" must be \"2.0\"";
  submit(d, &c, tc_dispatch_now_ns());
  mk(&c, "nosid", "main", NULL, NULL);
  c.type = TC_CP_CMD_SESSION_TERMINATION;
  c.rpc_kind = TC_CP_RPC_NONE;
  c.invalid = "session_termination without Mcp-Session-Id";
  submit(d, &c, tc_dispatch_now_ns());
  mk(&c, "respkind", "main", "{\"jsonrpc\":\"2.0\",\"id\":9,\"result\":{}}",
     "9");
  c.rpc_kind = TC_CP_RPC_RESPONSE;
  submit(d, &c, tc_dispatch_now_ns());
  tc_dispatcher_drain(d, 5000);
  assert_int_equal(atomic_load(&g_calls), 0);
  assert_int_equal(nrec(), 4); /* nothing for the response kind */
  const struct rec *r = find("unk", 0);
  assert_int_equal(r->code, 400);
  assert_int_equal(r->type, TC_CP_RESP_JSONRPC_RESPONSE);
  assert_string_equal(r->channel, "x");
  assert_string_equal(
      r->json, "{\"jsonrpc\":\"2.0\",\"id\":7,\"error\":{\"code\":-32603,"
               "\"message\":\"Bad Request: unsupported channel "
               "\\\"x\\\"\"}}");
  r = find("unkst", 0);
  assert_int_equal(r->code, 400);
  assert_int_equal(r->type, TC_CP_RESP_SESSION_TERMINATION);
  assert_null(r->json);
  r = find("inv", 0);
  assert_int_equal(r->code, 400);
  assert_string_equal(
      r->json, "{\"jsonrpc\":\"2.0\",\"id\":5,\"error\":{\"code\":-32600,"
               "\"message\":\"Invalid Request: \\\"jsonrpc\\\" must be "
               "\\\"2.0\\\"\"}}");
  r = find("nosid", 0);
  assert_int_equal(r->code, 400);
  assert_int_equal(r->type, TC_CP_RESP_SESSION_TERMINATION);
  assert_null(r->json);
  tc_dispatcher_free(d);
  reset();
}

/* Series in the global registry, all families. */
static int count_series_visit(void *ud, const struct tc_metric_sample *s) {
  (void)s;
  (*(size_t *)ud)++;
  return TC_OK;
}

static size_t series_count(void) {
  size_t n = 0;
  assert_int_equal(
      tc_metrics_visit(tc_metrics_registry_global(), count_series_visit, &n),
      TC_OK);
  return n;
}

/* Channel names come from the wire: 10,000 distinct names no binding
 * serves must not create 10,000 metric series (each would stay for the
 * life of the process). They all share the one "__unknown__" label. */
static void test_unknown_channels_share_one_series(void **state) {
  (void)state;
  struct tc_dispatcher *d = start(256, 4, 0);
  struct tc_cp_command c;
  /* Warm up: the first unknown channel creates the __unknown__ series. */
  mk_call(&c, "unk-warm", "nobody-0", "echo", 1, 0);
  submit(d, &c, tc_dispatch_now_ns());
  wait_recs(1);
  reset();
  size_t before = series_count();
  const size_t total = 10000, batch = 250;
  for (size_t done = 0; done < total; done += batch) {
    for (size_t i = 0; i < batch; i++) {
      char rid[48], chan[48];
      snprintf(rid, sizeof(rid), "unk-%zu", done + i);
      snprintf(chan, sizeof(chan), "nobody-%zu", done + i + 1);
      mk_call(&c, rid, chan, "echo", 1, 0);
      submit(d, &c, tc_dispatch_now_ns());
    }
    wait_recs(batch);
    for (size_t i = 0; i < batch; i++)
      assert_int_equal(g_recs[i].code, 400);
    reset();
  }
  assert_int_equal(atomic_load(&g_calls), 0);
  assert_int_equal(series_count(), before);
  tc_dispatcher_free(d);
  reset();
}

static void test_session_termination_and_notification(void **state) {
  (void)state;
  struct tc_dispatcher *d = start(16, 2, 0);
  struct tc_cp_command c;
  mk(&c, "st-main", "main", NULL, NULL);
  c.type = TC_CP_CMD_SESSION_TERMINATION;
  c.rpc_kind = TC_CP_RPC_NONE;
  tc_headers_add(&c.headers, "Mcp-Session-Id", "s1");
  submit(d, &c, tc_dispatch_now_ns());
  mk(&c, "st-ser", "ser", NULL, NULL); /* transport without terminate */
  c.type = TC_CP_CMD_SESSION_TERMINATION;
  c.rpc_kind = TC_CP_RPC_NONE;
  tc_headers_add(&c.headers, "Mcp-Session-Id", "s1");
  submit(d, &c, tc_dispatch_now_ns());
  mk(&c, "notif", "main",
     "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", NULL);
  submit(d, &c, tc_dispatch_now_ns());
  tc_dispatcher_drain(d, 5000);
  assert_int_equal(nrec(), 3);
  const struct rec *r = find("st-main", 0);
  assert_int_equal(r->type, TC_CP_RESP_SESSION_TERMINATION);
  assert_int_equal(r->code, 204);
  r = find("st-ser", 0);
  assert_int_equal(r->type, TC_CP_RESP_SESSION_TERMINATION);
  assert_int_equal(r->code, 405);
  r = find("notif", 0);
  assert_int_equal(r->type, TC_CP_RESP_NOTIFY_ACK);
  assert_int_equal(r->code, 202);
  assert_null(r->json);
  assert_int_equal(atomic_load(&g_calls), 1);
  tc_dispatcher_free(d);
  reset();
}

static void test_oauth_discovery_and_hooks(void **state) {
  (void)state;
  struct tc_dispatcher *d = start(16, 2, 0);
  struct tc_cp_command c;
  mk(&c, "od", "main", NULL, NULL);
  c.type = TC_CP_CMD_OAUTH_DISCOVERY;
  c.rpc_kind = TC_CP_RPC_NONE;
  submit(d, &c, tc_dispatch_now_ns());
  tc_dispatcher_drain(d, 5000);
  assert_int_equal(nrec(), 1);
  const struct rec *r = find("od", 0);
  assert_int_equal(r->type, TC_CP_RESP_OAUTH_DISCOVERY);
  assert_int_equal(r->code, 501);
  assert_string_equal(r->json,
                      "{\"error\":{\"message\":\"no module handles "
                      "oauth_discovery\",\"code\":\"unsupported_command\"}}");
  tc_dispatcher_free(d);

  d = start(16, 2, 1);
  mk(&c, "od", "main", NULL, NULL);
  c.type = TC_CP_CMD_OAUTH_DISCOVERY;
  c.rpc_kind = TC_CP_RPC_NONE;
  submit(d, &c, tc_dispatch_now_ns());
  mk_call(&c, "rw", "main", "echo", 1, 0);
  free(c.jsonrpc);
  c.jsonrpc = strdup("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\","
                     "\"params\":{\"rewrite\":1}}");
  c.jsonrpc_len = strlen(c.jsonrpc);
  submit(d, &c, tc_dispatch_now_ns());
  tc_dispatcher_drain(d, 5000);
  assert_int_equal(nrec(), 2);
  r = find("od", 0);
  assert_int_equal(r->code, 200);
  assert_string_equal(r->json, "{\"resource\":\"https://mcp.example\"}");
  r = find("rw", 0);
  assert_string_equal(r->json, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{"
                               "\"rewritten\":1}}");
  assert_int_equal(atomic_load(&g_calls), 1); /* hook declined the call */
  tc_dispatcher_free(d);
  reset();
}

static void wait_gate_entered(int n) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 10;
  pthread_mutex_lock(&g_mu);
  while (g_gate_entered < n)
    if (pthread_cond_timedwait(&g_cv, &g_mu, &until) != 0)
      break;
  int got = g_gate_entered;
  pthread_mutex_unlock(&g_mu);
  assert_int_equal(got, n);
}

static void open_gate(void) {
  pthread_mutex_lock(&g_mu);
  g_gate_open = 1;
  pthread_mutex_unlock(&g_mu);
}

static void test_slots(void **state) {
  (void)state;
  struct tc_dispatcher *d = start(2, 1, 0);
  struct tc_cp_command c;
  assert_int_equal(tc_dispatcher_free_slots(d), 2);
  mk_call(&c, "g", "main", "gate", 1, 0);
  submit(d, &c, tc_dispatch_now_ns());
  wait_gate_entered(1); /* the worker holds it; the queue is empty again */
  assert_int_equal(tc_dispatcher_free_slots(d), 2);
  mk_call(&c, "q1", "main", "echo", 2, 0);
  submit(d, &c, tc_dispatch_now_ns());
  assert_int_equal(tc_dispatcher_free_slots(d), 1);
  mk_call(&c, "q2", "main", "echo", 3, 0);
  submit(d, &c, tc_dispatch_now_ns());
  assert_int_equal(tc_dispatcher_free_slots(d), 0);
  mk_call(&c, "q3", "main", "echo", 4, 0);
  assert_int_equal(tc_dispatcher_submit(d, &c, tc_dispatch_now_ns()), -1);
  assert_string_equal(c.request_id, "q3"); /* untouched, still ours */
  assert_int_equal(tc_dispatcher_wait_slot(d, 50), 0);
  open_gate();
  assert_int_equal(tc_dispatcher_wait_slot(d, 5000), 1);
  assert_int_equal(tc_dispatcher_submit(d, &c, tc_dispatch_now_ns()), 0);
  tc_dispatcher_drain(d, 5000);
  assert_int_equal(tc_dispatcher_free_slots(d), 0);
  assert_int_equal(tc_dispatcher_wait_slot(d, 10), 0);
  mk_call(&c, "late", "main", "echo", 5, 0);
  assert_int_equal(tc_dispatcher_submit(d, &c, tc_dispatch_now_ns()), -1);
  tc_cp_command_clear(&c);
  assert_int_equal(nrec(), 4);
  for (size_t i = 0; i < 4; i++)
    assert_int_equal(g_recs[i].code, 200);
  tc_dispatcher_free(d);
  reset();
}

/* The pool starts small and grows on demand: six commands that all block
 * run at once with six workers allowed, and never more than six run. */
static void test_pool_grows_to_its_limit(void **state) {
  (void)state;
  struct tc_dispatcher *d = start(16, 6, 0);
  struct tc_cp_command c;
  for (int i = 0; i < 8; i++) {
    char rid[16];
    snprintf(rid, sizeof(rid), "g%d", i);
    mk_call(&c, rid, "main", "gate", i, 0);
    submit(d, &c, tc_dispatch_now_ns());
  }
  wait_gate_entered(6);
  struct timespec pause = {0, 100 * 1000 * 1000};
  nanosleep(&pause, NULL); /* room for a seventh, which must not start */
  pthread_mutex_lock(&g_mu);
  int running = g_gate_entered;
  pthread_mutex_unlock(&g_mu);
  assert_int_equal(running, 6);
  open_gate();
  tc_dispatcher_drain(d, 5000);
  assert_int_equal(nrec(), 8);
  tc_dispatcher_free(d);
  reset();
}

static void test_drain_finishes_inflight(void **state) {
  (void)state;
  struct tc_dispatcher *d = start(16, 2, 0);
  struct tc_cp_command c;
  for (int i = 0; i < 6; i++) {
    char rid[16];
    snprintf(rid, sizeof(rid), "d%d", i);
    mk_call(&c, rid, "main", "echo", i, 50);
    submit(d, &c, tc_dispatch_now_ns());
  }
  tc_dispatcher_drain(d, 5000); /* 3 rounds of 50 ms fit easily */
  assert_int_equal(nrec(), 6);
  for (size_t i = 0; i < 6; i++)
    assert_int_equal(g_recs[i].code, 200);
  tc_dispatcher_free(d);
  reset();
}

static void test_drain_cancels_after_grace(void **state) {
  (void)state;
  struct tc_dispatcher *d = start(16, 1, 0);
  struct tc_cp_command c;
  mk_call(&c, "hang", "main", "hang", 1, 0);
  submit(d, &c, tc_dispatch_now_ns());
  for (int i = 0; i < 5000 && atomic_load(&g_calls) == 0; i++)
    sleep_ms(1);
  assert_int_equal(atomic_load(&g_calls), 1);
  mk_call(&c, "queued", "main", "echo", 2, 0);
  submit(d, &c, tc_dispatch_now_ns());
  mk_call(&c, "queued-expired", "main", "echo", 3, 0);
  c.has_deadline = true;
  c.response_timeout_ns = 20000000; /* 20 ms: gone by the end of the grace */
  submit(d, &c, tc_dispatch_now_ns());
  uint64_t t0 = tc_dispatch_now_ns();
  tc_dispatcher_drain(d, 150);
  uint64_t took = tc_dispatch_now_ns() - t0;
  assert_true(took >= 150000000ull);
  assert_true(took < 5000000000ull);
  assert_int_equal(atomic_load(&g_calls), 1); /* queued ones never ran */
  assert_int_equal(nrec(), 2);
  const struct rec *r = find("hang", 0);
  assert_int_equal(r->code, 502);
  assert_non_null(strstr(r->json, "\"source\":\"timeout\""));
  r = find("queued", 0);
  assert_int_equal(r->code, 503);
  assert_string_equal(
      r->json, "{\"jsonrpc\":\"2.0\",\"id\":2,\"error\":{\"code\":-32603,"
               "\"message\":\"Service Unavailable\",\"data\":{"
               "\"tunnel_failure\":{\"version\":1,\"source\":"
               "\"client_internal\",\"upstream_response_received\":false}}}}");
  assert_null(find("queued-expired", 0));
  tc_dispatcher_free(d);
  reset();
}

static void test_new_errors(void **state) {
  (void)state;
  setup_cfg(4, 1, 0);
  g_bindings[1].transport = (char *)(uintptr_t) "nope";
  struct tc_dispatcher *d = NULL;
  char *err = NULL;
  assert_int_equal(tc_dispatcher_new(&d, &g_cfg, &g_reg, &g_poster, &err), -1);
  assert_null(d);
  assert_non_null(err);
  assert_non_null(strstr(err, "channel \"alt\""));
  assert_non_null(strstr(err, "transport \"nope\""));
  free(err);
  err = NULL;
  g_bindings[1].transport = (char *)(uintptr_t) "fake";
  g_bindings[2].transport = (char *)(uintptr_t) "fake";
  g_bindings[2].url = (char *)(uintptr_t) "refuse";
  assert_int_equal(tc_dispatcher_new(&d, &g_cfg, &g_reg, &g_poster, &err), -1);
  assert_non_null(strstr(err, "channel \"ser\""));
  assert_non_null(strstr(err, "bad url"));
  free(err);
  tc_dispatcher_free(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_concurrent_correlation),
      cmocka_unit_test(test_serial_transport_never_overlaps),
      cmocka_unit_test(test_notifies_before_terminal),
      cmocka_unit_test(test_one_terminal_and_failures),
      cmocka_unit_test(test_error_passthrough_401),
      cmocka_unit_test(test_reply_held_once_and_budget_kind),
      cmocka_unit_test(test_deadlines),
      cmocka_unit_test(test_rejections),
      cmocka_unit_test(test_unknown_channels_share_one_series),
      cmocka_unit_test(test_session_termination_and_notification),
      cmocka_unit_test(test_oauth_discovery_and_hooks),
      cmocka_unit_test(test_slots),
      cmocka_unit_test(test_pool_grows_to_its_limit),
      cmocka_unit_test(test_drain_finishes_inflight),
      cmocka_unit_test(test_drain_cancels_after_grace),
      cmocka_unit_test(test_new_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
