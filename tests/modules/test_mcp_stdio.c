/* test_mcp_stdio.c — the mcp-stdio module (mcp-stdio.so from the build
 * tree, loaded through the loader) driving tests/modules/stdio_server.mjs
 * under node: command quoting, id multiplexing with equal ids, notification
 * routing and order, server->client requests, timeouts with late replies,
 * child exit with restart and initialize replay, 64 concurrent calls with
 * colliding ids, a child killed mid-call (probe() TC_AGAIN during the
 * restart), initialize failing closed, and stop() forwarding SIGTERM. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "config/config.h"
#include "config/config_internal.h" /* tc_kvlist_set: a module config: map */
#include "dispatch/reply_budget.h"
#include "loader/loader.h"

static struct tc_registry g_reg;
static const struct tc_transport_vtable *g_vt;
static const struct tc_host *g_host;

/* ---- recording sink --------------------------------------------------------
 */

struct rec {
  int notifies, completes;
  int order_ok; /* no notify after complete */
  char log[8192];
  int status;
  char *body;
  char source[32], kind[48], ctype[64];
};

static void rec_log(struct rec *r, char tag, const struct tc_response *m) {
  size_t used = strlen(r->log);
  snprintf(r->log + used, sizeof(r->log) - used, "%c %.*s\n", tag,
           (int)m->body_len, m->body ? m->body : "");
}

static int rec_notify(const struct tc_sink *sink, const struct tc_response *m) {
  struct rec *r = sink->core;
  if (r->completes > 0)
    r->order_ok = 0;
  r->notifies++;
  rec_log(r, 'N', m);
  return TC_OK;
}

static int rec_complete(const struct tc_sink *sink,
                        const struct tc_response *m) {
  struct rec *r = sink->core;
  r->completes++;
  r->status = m->status;
  free(r->body);
  r->body = m->body ? strndup(m->body, m->body_len) : NULL;
  snprintf(r->source, sizeof(r->source), "%s",
           m->failure_source ? m->failure_source : "");
  snprintf(r->kind, sizeof(r->kind), "%s",
           m->failure_kind ? m->failure_kind : "");
  const char *ct = tc_headers_get(m->headers, "Content-Type", 0);
  snprintf(r->ctype, sizeof(r->ctype), "%s", ct ? ct : "");
  rec_log(r, 'C', m);
  return TC_OK;
}

static int never_canceled(const struct tc_request *req) {
  (void)req;
  return 0;
}

static int do_call(void *inst, const char *body, int64_t deadline_ms,
                   struct rec *r) {
  memset(r, 0, sizeof(*r));
  r->order_ok = 1;
  struct tc_request req;
  memset(&req, 0, sizeof(req));
  req.struct_size = sizeof(req);
  req.type = "jsonrpc";
  req.channel = "main";
  req.request_id = "req_test";
  req.body = body;
  req.body_len = strlen(body);
  req.is_canceled = never_canceled;
  if (deadline_ms > 0)
    req.deadline_ns = g_host->monotonic_ns() + (uint64_t)deadline_ms * 1000000u;
  struct tc_sink sink = {sizeof(sink), r, rec_notify, rec_complete};
  return g_vt->call(inst, &req, &sink);
}

#define SERVER_CMD TC_NODE " " TC_STDIO_SERVER

static void *new_inst(const char *command) {
  struct tc_binding b;
  memset(&b, 0, sizeof(b));
  b.struct_size = sizeof(b);
  b.channel = "main";
  b.transport = "stdio";
  b.command = command;
  b.max_concurrent_requests = 8;
  void *inst = NULL;
  char *err = NULL;
  if (g_vt->create(g_host, &b, &inst, &err) != TC_OK)
    fail_msg("create: %s", err ? err : "?");
  if (g_vt->start(inst, &err) != TC_OK)
    fail_msg("start: %s", err ? err : "?");
  return inst;
}

static void end_inst(void *inst) {
  g_vt->stop(inst);
  g_vt->destroy(inst);
  /* stop() reaped the child: this process has no children left. */
  errno = 0;
  assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
  assert_int_equal(errno, ECHILD);
}

static void assert_contains(const char *text, const char *needle) {
  if (text == NULL || strstr(text, needle) == NULL)
    fail_msg("expected \"%s\" in: %s", needle, text ? text : "(null)");
}

static void assert_lacks(const char *text, const char *needle) {
  if (text != NULL && strstr(text, needle) != NULL)
    fail_msg("did not expect \"%s\" in: %s", needle, text);
}

static const char k_init[] =
    "{\"jsonrpc\":\"2.0\",\"id\":\"init-1\",\"method\":\"initialize\","
    "\"params\":{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"
    "\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}";

static const char k_state[] =
    "{\"jsonrpc\":\"2.0\",\"id\":{\"k\":[1,2]},\"method\":\"tools/call\","
    "\"params\":{\"name\":\"state\"}}";

static char *echo_body(int id, const char *input, int delay_ms,
                       const char *extra) {
  char *s = NULL;
  if (asprintf(
          &s,
          "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\","
          "\"params\":{\"name\":\"echo\",\"_meta\":{\"progressToken\":"
          "\"tok-%s\"},\"arguments\":{\"input\":\"%s\",\"delay_ms\":%d%s}}}",
          id, input, input, delay_ms, extra ? extra : "") < 0)
    fail_msg("asprintf");
  return s;
}

/* The "state" tool's result object (caller decrefs the root). */
static json_t *get_state(void *inst, json_t **root) {
  struct rec r;
  do_call(inst, k_state, 10000, &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.source, "");
  *root = json_loads(r.body, 0, NULL);
  free(r.body);
  assert_non_null(*root);
  /* The object id comes back as the same JSON value. */
  json_t *want = json_loads("{\"k\":[1,2]}", 0, NULL);
  assert_true(json_equal(json_object_get(*root, "id"), want));
  json_decref(want);
  return json_object_get(*root, "result");
}

/* ---- tests ------------------------------------------------------------------
 */

static void test_create_errors(void **state) {
  (void)state;
  struct tc_binding b;
  memset(&b, 0, sizeof(b));
  b.struct_size = sizeof(b);
  b.channel = "main";
  void *inst = NULL;
  char *err = NULL;
  assert_int_equal(g_vt->create(g_host, &b, &inst, &err), TC_ECONFIG);
  assert_contains(err, "--mcp.command");
  free(err);
  err = NULL;
  b.command = "node 'unterminated";
  assert_int_equal(g_vt->create(g_host, &b, &inst, &err), TC_ECONFIG);
  assert_contains(err, "unterminated single quote");
  free(err);
  err = NULL;
  b.command = "/nonexistent/mcp-server --x";
  assert_int_equal(g_vt->create(g_host, &b, &inst, &err), TC_OK);
  assert_int_not_equal(g_vt->start(inst, &err), TC_OK);
  assert_contains(err, "/nonexistent/mcp-server");
  free(err);
  g_vt->stop(inst);
  g_vt->destroy(inst);
}

static void test_quoting_and_initialize(void **state) {
  (void)state;
  void *inst = new_inst(SERVER_CMD " 'a b' x;y \"\\$HOME|z\" c\\\"d \"\"");
  struct rec r;
  assert_int_equal(do_call(inst, k_init, 10000, &r), TC_OK);
  assert_int_equal(r.completes, 1);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.ctype, "application/json");
  assert_contains(r.body, "\"id\":\"init-1\"");
  assert_contains(r.body, "\"protocolVersion\":\"2025-06-18\"");
  free(r.body);
  json_t *root;
  json_t *st = get_state(inst, &root);
  json_t *want =
      json_loads("[\"a b\",\"x;y\",\"$HOME|z\",\"c\\\"d\",\"\"]", 0, NULL);
  if (!json_equal(json_object_get(st, "argv"), want)) {
    char *got = json_dumps(json_object_get(st, "argv"), 0);
    fail_msg("argv: %s", got);
  }
  json_decref(want);
  json_decref(root);
  end_inst(inst);
}

struct par {
  void *inst;
  int idx;
  struct rec r;
};

static void *par_worker(void *arg) {
  struct par *p = arg;
  char input[16];
  snprintf(input, sizeof(input), "t%d", p->idx);
  /* Later threads answer sooner: replies come back out of order. */
  char *body = echo_body(1, input, 40 * (8 - p->idx), NULL);
  do_call(p->inst, body, 10000, &p->r);
  free(body);
  return NULL;
}

static void test_concurrent_equal_ids(void **state) {
  (void)state;
  void *inst = new_inst(SERVER_CMD);
  struct par ps[8];
  pthread_t th[8];
  for (int i = 0; i < 8; i++) {
    ps[i].inst = inst;
    ps[i].idx = i;
    assert_int_equal(pthread_create(&th[i], NULL, par_worker, &ps[i]), 0);
  }
  for (int i = 0; i < 8; i++)
    pthread_join(th[i], NULL);
  for (int i = 0; i < 8; i++) {
    char want[32];
    snprintf(want, sizeof(want), "\"text\":\"t%d\"", i);
    assert_int_equal(ps[i].r.completes, 1);
    assert_int_equal(ps[i].r.status, 200);
    assert_contains(ps[i].r.body, want);
    assert_contains(ps[i].r.body, "\"id\":1,");
    free(ps[i].r.body);
  }
  end_inst(inst);
}

static void test_notifications_and_server_requests(void **state) {
  (void)state;
  void *inst = new_inst(SERVER_CMD);
  struct rec r;
  char *body = echo_body(5, "n1", 50, ",\"notify\":true,\"ask\":true");
  do_call(inst, body, 10000, &r);
  free(body);
  assert_int_equal(r.notifies, 1);
  assert_int_equal(r.completes, 1);
  assert_true(r.order_ok);
  assert_int_equal(r.status, 200);
  assert_contains(r.log, "N {\"jsonrpc\":\"2.0\",\"method\":"
                         "\"notifications/progress\"");
  assert_contains(r.log, "\"progressToken\":\"tok-n1\"");
  assert_true(strstr(r.log, "\nC ") != NULL);
  assert_contains(r.body, "\"id\":5");
  assert_contains(r.body, "\"text\":\"n1\"");
  free(r.body);

  /* The server's roots/list request was answered -32601. */
  json_t *root;
  json_t *st = get_state(inst, &root);
  json_t *ans = json_object_get(st, "answer");
  assert_string_equal(json_string_value(json_object_get(ans, "id")), "srv-1");
  assert_int_equal(json_integer_value(
                       json_object_get(json_object_get(ans, "error"), "code")),
                   -32601);
  json_decref(root);

  /* A notification from the tunnel: written, 202 at once. */
  do_call(inst,
          "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}",
          5000, &r);
  assert_int_equal(r.status, 202);
  assert_string_equal(r.source, "");
  assert_null(r.body);
  st = get_state(inst, &root);
  assert_true(json_is_true(json_object_get(st, "initialized")));
  json_decref(root);
  end_inst(inst);
}

/* Ids beyond 64 bits (and any other id text) come back exactly; the
 * request and the reply are forwarded as the bytes they are, only the id
 * swapped (no decoding and re-encoding: 1.0, \u00e9 and a 30-digit
 * number stay as they were). */
static void test_big_ids_and_exact_bytes(void **state) {
  (void)state;
  void *inst = new_inst(SERVER_CMD);
  static const char *const ids[] = {
      "18446744073709551617", "-9223372036854775809", "12345678901234567890123",
      "\"\\u0061\\n\""};
  for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
    char body[512], want[512];
    snprintf(body, sizeof(body),
             "{\"jsonrpc\":\"2.0\",\"id\":%s,\"method\":\"tools/call\","
             "\"params\":{\"name\":\"echo\",\"arguments\":{\"raw\":"
             "\"{\\\"result\\\":{\\\"n\\\":1.0, \\\"s\\\":\\\"\\\\u00e9\\\","
             "\\\"big\\\":123456789012345678901234567890},\\\"jsonrpc\\\":"
             "\\\"2.0\\\",\\\"id\\\":$ID}\"}}}",
             ids[i]);
    snprintf(want, sizeof(want),
             "{\"result\":{\"n\":1.0, \"s\":\"\\u00e9\",\"big\":"
             "123456789012345678901234567890},\"jsonrpc\":\"2.0\",\"id\":%s}",
             ids[i]);
    struct rec r;
    do_call(inst, body, 10000, &r);
    assert_int_equal(r.completes, 1);
    if (r.source[0] != '\0')
      fail_msg("id %s: failed with %s/%s", ids[i], r.source, r.kind);
    assert_string_equal(r.body, want);
    free(r.body);
  }
  end_inst(inst);
}

/* A reply over the in-flight budget fails its own call (503,
 * reply_budget_exhausted) whether its id comes first or last, and the
 * child keeps serving; with room the same reply goes through, held in the
 * buffer it was read into, and no budget stays reserved. */
static void test_reply_budget_and_limit(void **state) {
  (void)state;
  void *inst = new_inst(SERVER_CMD);
  json_t *root;
  json_int_t pid =
      json_integer_value(json_object_get(get_state(inst, &root), "pid"));
  json_decref(root);
  tc_reply_budget_configure(1u << 20);
  static const char *const layouts[] = {"head", "tail"};
  for (int i = 0; i < 2; i++) {
    char body[256];
    snprintf(body, sizeof(body),
             "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"tools/call\","
             "\"params\":{\"name\":\"echo\",\"arguments\":{\"bytes\":%u,"
             "\"layout\":\"%s\"}}}",
             40 + i, 3u << 20, layouts[i]);
    struct rec r;
    do_call(inst, body, 20000, &r);
    assert_int_equal(r.completes, 1);
    assert_string_equal(r.source, "client_internal");
    assert_string_equal(r.kind, "reply_budget_exhausted");
    assert_int_equal(r.status, 503);
    free(r.body);
  }
  tc_reply_budget_configure(0);
  char body[256];
  snprintf(body, sizeof(body),
           "{\"jsonrpc\":\"2.0\",\"id\":\"big\",\"method\":\"tools/call\","
           "\"params\":{\"name\":\"echo\",\"arguments\":{\"bytes\":%u}}}",
           3u << 20);
  struct rec r;
  do_call(inst, body, 20000, &r);
  assert_string_equal(r.source, "");
  assert_int_equal(strlen(r.body), (3u << 20) + 48);
  assert_true(strcmp(r.body + strlen(r.body) - 12, ",\"id\":\"big\"}") == 0);
  free(r.body);
  assert_int_equal(tc_reply_budget_used(), 0);

  /* Over the limit of one message (message_max, 4 MiB here): that call
   * fails, nothing else. */
  snprintf(body, sizeof(body),
           "{\"jsonrpc\":\"2.0\",\"id\":43,\"method\":\"tools/call\","
           "\"params\":{\"name\":\"echo\",\"arguments\":{\"bytes\":%u}}}",
           5u << 20);
  do_call(inst, body, 60000, &r);
  assert_string_equal(r.source, "protocol");
  assert_string_equal(r.kind, "response_body_too_large");
  free(r.body);
  assert_int_equal(
      json_integer_value(json_object_get(get_state(inst, &root), "pid")), pid);
  json_decref(root);

  /* A message that cannot be held and whose id cannot be told from its
   * ends: the child is restarted, so the call fails now instead of
   * waiting. */
  tc_reply_budget_configure(1u << 20);
  snprintf(body, sizeof(body),
           "{\"jsonrpc\":\"2.0\",\"id\":44,\"method\":\"tools/call\","
           "\"params\":{\"name\":\"echo\",\"arguments\":{\"bytes\":%u,"
           "\"layout\":\"middle\"}}}",
           3u << 20);
  do_call(inst, body, 60000, &r);
  assert_string_equal(r.source, "transport_closed");
  free(r.body);
  tc_reply_budget_configure(0);
  assert_int_equal(tc_reply_budget_used(), 0);
  end_inst(inst);
}

static void test_timeout_and_late_reply(void **state) {
  (void)state;
  void *inst = new_inst(SERVER_CMD);
  struct rec r;
  char *body = echo_body(1, "slow", 600, NULL);
  uint64_t t0 = g_host->monotonic_ns();
  do_call(inst, body, 150, &r);
  uint64_t took_ms = (g_host->monotonic_ns() - t0) / 1000000u;
  free(body);
  assert_int_equal(r.completes, 1);
  assert_int_equal(r.status, 504);
  assert_string_equal(r.source, "timeout");
  assert_null(r.body);
  assert_true(took_ms >= 140 && took_ms < 500);
  /* The late reply to the retired id arrives while this call (same
   * original id) is in flight: it must not be taken for this one. */
  body = echo_body(1, "after", 700, NULL);
  do_call(inst, body, 10000, &r);
  free(body);
  assert_int_equal(r.status, 200);
  assert_contains(r.body, "\"text\":\"after\"");
  assert_lacks(r.body, "slow");
  free(r.body);
  end_inst(inst);
}

static void test_child_exit_and_restart(void **state) {
  (void)state;
  void *inst = new_inst(SERVER_CMD);
  struct rec r;
  do_call(inst, k_init, 10000, &r);
  assert_int_equal(r.status, 200);
  free(r.body);
  do_call(inst,
          "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}",
          5000, &r);
  assert_int_equal(r.status, 202);
  json_t *root;
  json_t *st = get_state(inst, &root);
  json_int_t pid1 = json_integer_value(json_object_get(st, "pid"));
  json_decref(root);

  char *body = echo_body(9, "bye", 0, ",\"exit\":true");
  do_call(inst, body, 10000, &r);
  free(body);
  assert_int_equal(r.completes, 1);
  assert_int_equal(r.status, 502);
  assert_string_equal(r.source, "transport_closed");
  assert_string_equal(r.kind, "eof");

  /* The next call waits for the restart; initialize was replayed. */
  st = get_state(inst, &root);
  json_int_t pid2 = json_integer_value(json_object_get(st, "pid"));
  assert_true(pid2 > 0 && pid2 != pid1);
  assert_int_equal(json_integer_value(json_object_get(st, "inits")), 1);
  assert_true(json_is_true(json_object_get(st, "initialized")));
  json_decref(root);
  end_inst(inst);
  assert_int_equal(kill((pid_t)pid2, 0), -1);
  assert_int_equal(errno, ESRCH);
}

/* ---- 64 concurrent calls, colliding ids ------------------------------------
 */

#define MANY 64

struct many {
  void *inst;
  int idx;
  struct rec r;
  char body[512];
};

static void *many_worker(void *arg) {
  struct many *m = arg;
  do_call(m->inst, m->body, 20000, &m->r);
  return NULL;
}

static void test_64_concurrent_colliding_ids(void **state) {
  (void)state;
  void *inst = new_inst(SERVER_CMD);
  struct many *ms = calloc(MANY, sizeof(*ms));
  pthread_t th[MANY];
  assert_non_null(ms);
  for (int i = 0; i < MANY; i++) {
    ms[i].inst = inst;
    ms[i].idx = i;
    /* Only four distinct ids (two numbers, two strings) across 64 calls;
     * replies come back in a scrambled order. */
    const char *ids[4] = {"1", "2", "\"a\"", "\"b\""};
    snprintf(ms[i].body, sizeof(ms[i].body),
             "{\"jsonrpc\":\"2.0\",\"id\":%s,\"method\":\"tools/call\","
             "\"params\":{\"name\":\"echo\",\"arguments\":{\"input\":"
             "\"call-%d\",\"delay_ms\":%d}}}",
             ids[i % 4], i, (i * 37) % 150);
    assert_int_equal(pthread_create(&th[i], NULL, many_worker, &ms[i]), 0);
  }
  for (int i = 0; i < MANY; i++)
    pthread_join(th[i], NULL);
  for (int i = 0; i < MANY; i++) {
    const char *ids[4] = {"\"id\":1,", "\"id\":2,", "\"id\":\"a\"",
                          "\"id\":\"b\""};
    char want[48];
    snprintf(want, sizeof(want), "\"text\":\"call-%d\"", i);
    assert_int_equal(ms[i].r.completes, 1);
    assert_int_equal(ms[i].r.status, 200);
    assert_string_equal(ms[i].r.source, "");
    assert_contains(ms[i].r.body, want);
    assert_contains(ms[i].r.body, ids[i % 4]);
    free(ms[i].r.body);
  }
  free(ms);
  end_inst(inst);
}

/* ---- killed mid-call --------------------------------------------------------
 */

static int probe_rc(void *inst, char **detail) {
  *detail = NULL;
  return g_vt->probe(inst, detail);
}

struct slow_call {
  void *inst;
  struct rec r;
  atomic_int notified; /* the child got the call (it sent progress) */
};

static int slow_notify(const struct tc_sink *sink,
                       const struct tc_response *m) {
  struct slow_call *c = sink->core;
  (void)m;
  atomic_store(&c->notified, 1);
  return TC_OK;
}

static int slow_complete(const struct tc_sink *sink,
                         const struct tc_response *m) {
  struct slow_call *c = sink->core;
  struct tc_sink inner = {sizeof(inner), &c->r, rec_notify, rec_complete};
  return rec_complete(&inner, m);
}

static void *slow_worker(void *arg) {
  struct slow_call *c = arg;
  char *body = echo_body(77, "long", 5000, ",\"notify\":true");
  struct tc_request req;
  memset(&req, 0, sizeof(req));
  req.struct_size = sizeof(req);
  req.type = "jsonrpc";
  req.channel = "main";
  req.request_id = "req_slow";
  req.body = body;
  req.body_len = strlen(body);
  req.is_canceled = never_canceled;
  req.deadline_ns = g_host->monotonic_ns() + 20000000000ull;
  struct tc_sink sink = {sizeof(sink), c, slow_notify, slow_complete};
  g_vt->call(c->inst, &req, &sink);
  free(body);
  return NULL;
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static void test_killed_mid_call_restarts(void **state) {
  (void)state;
  void *inst = new_inst(SERVER_CMD);
  char *detail = NULL;
  assert_int_equal(probe_rc(inst, &detail), TC_OK);
  assert_null(detail);
  struct rec r;
  do_call(inst, k_init, 10000, &r);
  assert_int_equal(r.status, 200);
  free(r.body);
  json_t *root;
  json_t *st = get_state(inst, &root);
  pid_t pid1 = (pid_t)json_integer_value(json_object_get(st, "pid"));
  json_decref(root);

  struct slow_call c;
  memset(&c, 0, sizeof(c));
  c.inst = inst;
  atomic_init(&c.notified, 0);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, slow_worker, &c), 0);
  for (int i = 0; i < 400 && !atomic_load(&c.notified); i++)
    sleep_ms(25); /* until the child has the call */
  assert_true(atomic_load(&c.notified));
  assert_int_equal(kill(pid1, SIGKILL), 0);
  pthread_join(th, NULL);
  assert_int_equal(c.r.completes, 1);
  assert_int_equal(c.r.status, 502);
  assert_string_equal(c.r.source, "transport_closed");
  assert_null(c.r.body);

  /* The restart waits at least 200 ms: readiness says so meanwhile. */
  assert_int_equal(probe_rc(inst, &detail), TC_AGAIN);
  assert_string_equal(detail, "mcp stdio child restarting");
  free(detail);
  int rc = TC_AGAIN;
  for (int i = 0; i < 200 && rc == TC_AGAIN; i++) {
    sleep_ms(25);
    rc = probe_rc(inst, &detail);
    free(detail);
  }
  assert_int_equal(rc, TC_OK);

  /* Serving again: a new process, initialize replayed to it. */
  char *body = echo_body(77, "again", 0, NULL);
  do_call(inst, body, 10000, &r);
  free(body);
  assert_int_equal(r.status, 200);
  assert_contains(r.body, "\"text\":\"again\"");
  free(r.body);
  st = get_state(inst, &root);
  pid_t pid2 = (pid_t)json_integer_value(json_object_get(st, "pid"));
  assert_true(pid2 > 0 && pid2 != pid1);
  assert_int_equal(json_integer_value(json_object_get(st, "inits")), 1);
  json_decref(root);
  end_inst(inst);
}

/* ---- initialize fails closed ------------------------------------------------
 */

static void test_initialize_fails_closed(void **state) {
  (void)state;
  void *inst = new_inst(SERVER_CMD);
  struct rec r;
  do_call(inst, k_init, 10000, &r);
  assert_int_equal(r.status, 200);
  free(r.body);
  json_t *root;
  json_t *st = get_state(inst, &root);
  json_int_t pid1 = json_integer_value(json_object_get(st, "pid"));
  json_decref(root);

  /* A second initialize that gets no reply in time: 504, the child is
   * killed and restarted, and nothing is replayed to the new one. */
  const char *slow_init =
      "{\"jsonrpc\":\"2.0\",\"id\":\"init-2\",\"method\":\"initialize\","
      "\"params\":{\"_meta\":{\"delay_ms\":3000},\"protocolVersion\":"
      "\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\","
      "\"version\":\"1\"}}}";
  do_call(inst, slow_init, 200, &r);
  assert_int_equal(r.status, 504);
  assert_string_equal(r.source, "timeout");
  st = get_state(inst, &root);
  json_int_t pid2 = json_integer_value(json_object_get(st, "pid"));
  assert_true(pid2 > 0 && pid2 != pid1);
  assert_int_equal(json_integer_value(json_object_get(st, "inits")), 0);
  json_decref(root);

  /* initialize, then a refused one: a later restart replays nothing. */
  do_call(inst, k_init, 10000, &r);
  assert_int_equal(r.status, 200);
  free(r.body);
  do_call(inst,
          "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"initialize\",\"params\":"
          "{\"protocolVersion\":\"bad\",\"capabilities\":{},\"clientInfo\":{"
          "\"name\":\"t\",\"version\":\"1\"}}}",
          10000, &r);
  assert_int_equal(r.status, 200);
  assert_contains(r.body, "-32602");
  free(r.body);
  char *body = echo_body(9, "bye", 0, ",\"exit\":true");
  do_call(inst, body, 10000, &r);
  free(body);
  assert_string_equal(r.source, "transport_closed");
  st = get_state(inst, &root);
  json_int_t pid3 = json_integer_value(json_object_get(st, "pid"));
  assert_true(pid3 > 0 && pid3 != pid2);
  assert_int_equal(json_integer_value(json_object_get(st, "inits")), 0);
  json_decref(root);
  end_inst(inst);
}

/* ---- stop forwards SIGTERM
 * ---------------------------------------------------
 */

static void test_stop_forwards_sigterm(void **state) {
  (void)state;
  char dir[] = "/tmp/tc-stdio-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char file[64], cmd[512];
  snprintf(file, sizeof(file), "%s/term", dir);
  snprintf(cmd, sizeof(cmd), "%s --ignore-eof --term-file %s", SERVER_CMD,
           file);
  void *inst = new_inst(cmd);
  json_t *root;
  get_state(inst, &root); /* the child is up and has installed its handler */
  json_decref(root);
  /* Stateless binding: the core answers session_termination 405 itself. */
  assert_null(g_vt->terminate_session);
  end_inst(inst);
  char buf[16] = {0};
  int fd = open(file, O_RDONLY);
  assert_true(fd >= 0);
  assert_true(read(fd, buf, sizeof(buf) - 1) > 0);
  close(fd);
  assert_string_equal(buf, "SIGTERM");
  unlink(file);
  rmdir(dir);
}

static struct tc_kvlist g_settings; /* the module's config: map */

static int setup_all(void **state) {
  (void)state;
  char *err = NULL;
  struct tc_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  signal(SIGPIPE, SIG_IGN); /* as the core does at startup */
  /* A 4 MiB message limit: the over-the-limit case needs no 64 MiB reply
   * (slow under the sanitizers). */
  if (tc_kvlist_set(&g_settings, "message_max", "4194304", "test") != 0)
    return -1;
  if (tc_loader_load_one(&g_reg, &cfg, TC_BUILD_MODULE_DIR "/mcp-stdio.so",
                         &g_settings, "test", &err) != 0) {
    fprintf(stderr, "load mcp-stdio: %s\n", err);
    return -1;
  }
  const struct tc_registered_transport *t =
      tc_registry_transport(&g_reg, "stdio");
  if (t == NULL)
    return -1;
  g_vt = t->vt;
  g_host = &t->owner->host;
  return 0;
}

static int teardown_all(void **state) {
  (void)state;
  tc_registry_free(&g_reg);
  tc_kvlist_free(&g_settings);
  return 0;
}

/* Two groups, so each ctest entry stays short: no argument = the basics;
 * "recovery" = concurrency at scale, crashes, fail-closed initialize and
 * stop. */
int main(int argc, char **argv) {
  const struct CMUnitTest basic_tests[] = {
      cmocka_unit_test(test_create_errors),
      cmocka_unit_test(test_quoting_and_initialize),
      cmocka_unit_test(test_concurrent_equal_ids),
      cmocka_unit_test(test_notifications_and_server_requests),
      cmocka_unit_test(test_big_ids_and_exact_bytes),
      cmocka_unit_test(test_reply_budget_and_limit),
      cmocka_unit_test(test_timeout_and_late_reply),
      cmocka_unit_test(test_child_exit_and_restart),
  };
  const struct CMUnitTest recovery_tests[] = {
      cmocka_unit_test(test_64_concurrent_colliding_ids),
      cmocka_unit_test(test_killed_mid_call_restarts),
      cmocka_unit_test(test_initialize_fails_closed),
      cmocka_unit_test(test_stop_forwards_sigterm),
  };
  if (argc > 1 && strcmp(argv[1], "recovery") == 0)
    return cmocka_run_group_tests(recovery_tests, setup_all, teardown_all);
  return cmocka_run_group_tests(basic_tests, setup_all, teardown_all);
}
