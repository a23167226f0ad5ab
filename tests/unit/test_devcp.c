/* Unit tests for dev/control_plane*.c: the service runs in-process on
 * 127.0.0.1:0; the test plays both the agent (poll/response through libcurl)
 * and the MCP client (ingress calls on their own threads). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>

#include "controlplane/command.h"
#include "dev/control_plane.h"

#define TID "tunnel_abcdefabcdefabcdefabcdefabcdefab"
#define KEY "unit-test-key"
#define AUTH "Authorization: Bearer " KEY

static struct tc_devcp *g_cp;
static const char *g_base;

static int group_setup(void **state) {
  (void)state;
  curl_global_init(CURL_GLOBAL_ALL);
  struct tc_devcp_options o = {.listen_addr = "127.0.0.1:0",
                               .tunnel_id = TID,
                               .api_key = KEY,
                               .response_timeout_ms = 10000};
  char *err = NULL;
  if (tc_devcp_start(&g_cp, &o, &err) != 0) {
    fprintf(stderr, "start: %s\n", err ? err : "?");
    free(err);
    return -1;
  }
  g_base = tc_devcp_base_url(g_cp);
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  tc_devcp_stop(g_cp);
  curl_global_cleanup();
  return 0;
}

/* ---- HTTP helper --------------------------------------------------------- */

struct call {
  const char *method;
  char url[512];
  const char *body;
  const char *headers[8];
  long status;
  CURLcode cc;
  char *resp;
  size_t len;
  char ctype[128], sid[128], www[512], retry[32];
  double ms;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  struct call *c = ud;
  size_t total = size * n;
  char *grown = realloc(c->resp, c->len + total + 1);
  if (grown == NULL)
    return 0;
  c->resp = grown;
  memcpy(c->resp + c->len, p, total);
  c->len += total;
  c->resp[c->len] = '\0';
  return total;
}

static void copy_header(CURL *h, const char *name, char *out, size_t outlen) {
  struct curl_header *hd = NULL;
  if (curl_easy_header(h, name, 0, CURLH_HEADER, -1, &hd) == CURLHE_OK)
    snprintf(out, outlen, "%s", hd->value);
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void do_call(struct call *c) {
  CURL *h = curl_easy_init();
  struct curl_slist *hs = NULL;
  for (size_t i = 0; i < 8 && c->headers[i]; i++)
    hs = curl_slist_append(hs, c->headers[i]);
  curl_easy_setopt(h, CURLOPT_URL, c->url);
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, c->method);
  if (c->body != NULL)
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->body);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hs);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  double t0 = now_ms();
  c->cc = curl_easy_perform(h);
  c->ms = now_ms() - t0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &c->status);
  copy_header(h, "Content-Type", c->ctype, sizeof(c->ctype));
  copy_header(h, "Mcp-Session-Id", c->sid, sizeof(c->sid));
  copy_header(h, "WWW-Authenticate", c->www, sizeof(c->www));
  copy_header(h, "Retry-After", c->retry, sizeof(c->retry));
  curl_slist_free_all(hs);
  curl_easy_cleanup(h);
}

static void *call_thread(void *ud) {
  do_call(ud);
  return NULL;
}

static void call_free(struct call *c) {
  free(c->resp);
  c->resp = NULL;
  c->len = 0;
}

static struct call *ingress_start(pthread_t *th, const char *suffix,
                                  const char *accept, const char *body) {
  struct call *c = calloc(1, sizeof(*c));
  c->method = "POST";
  snprintf(c->url, sizeof(c->url), "%s/v1/mcp/%s%s", g_base, TID, suffix);
  c->body = body;
  c->headers[0] = "Content-Type: application/json";
  c->headers[1] = accept;
  pthread_create(th, NULL, call_thread, c);
  return c;
}

static void ingress_join(pthread_t th, struct call *c) {
  pthread_join(th, NULL);
  assert_int_equal(c->cc, CURLE_OK);
}

/* GET .../poll with `query`; returns the decoded body (NULL for 204). */
static json_t *poll_q(const char *query, long *status) {
  struct call c = {.method = "GET", .headers = {AUTH}};
  snprintf(c.url, sizeof(c.url), "%s/v1/tunnels/%s/poll?%s", g_base, TID,
           query);
  do_call(&c);
  assert_int_equal(c.cc, CURLE_OK);
  *status = c.status;
  json_t *v = c.len ? json_loadb(c.resp, c.len, 0, NULL) : NULL;
  call_free(&c);
  return v;
}

/* Poll until exactly one command arrives (5 s budget). */
static json_t *poll_one(const char *query) {
  long st = 0;
  json_t *v = poll_q(query, &st);
  assert_int_equal(st, 200);
  json_t *cmds = json_object_get(v, "commands");
  assert_int_equal(json_array_size(cmds), 1);
  json_t *cmd = json_incref(json_array_get(cmds, 0));
  json_decref(v);
  return cmd;
}

static long post_response_raw(const char *shard, const char *body,
                              struct call *out) {
  char sh[128];
  snprintf(sh, sizeof(sh), "X-Tunnel-Shard-Token: %s", shard ? shard : "");
  struct call c = {
      .method = "POST",
      .body = body,
      .headers = {AUTH, "Content-Type: application/json", shard ? sh : NULL}};
  snprintf(c.url, sizeof(c.url), "%s/v1/tunnels/%s/response", g_base, TID);
  do_call(&c);
  long st = c.status;
  if (out != NULL)
    *out = c;
  else
    call_free(&c);
  return st;
}

/* Post a response for `cmd`; extra is the JSON members after request_id. */
static long respond(json_t *cmd, const char *members) {
  char body[4096];
  snprintf(body, sizeof(body), "{\"request_id\":\"%s\",\"channel\":\"%s\",%s}",
           json_string_value(json_object_get(cmd, "request_id")),
           json_string_value(json_object_get(cmd, "channel")), members);
  return post_response_raw(
      json_string_value(json_object_get(cmd, "shard_token")), body, NULL);
}

static json_t *dev_get(const char *what) {
  struct call c = {.method = "GET", .headers = {AUTH}};
  snprintf(c.url, sizeof(c.url), "%s/_dev/%s", g_base, what);
  do_call(&c);
  assert_int_equal(c.status, 200);
  json_t *v = json_loadb(c.resp, c.len, 0, NULL);
  call_free(&c);
  assert_non_null(v);
  return v;
}

static void nap_ms(long ms) {
  struct timespec nap = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&nap, NULL);
}

static json_int_t stat_of(const char *name) {
  json_t *v = dev_get("stats");
  json_int_t n = json_integer_value(json_object_get(v, name));
  json_decref(v);
  return n;
}

static long dev_faults(const char *body) {
  struct call c = {.method = "POST", .body = body, .headers = {AUTH}};
  snprintf(c.url, sizeof(c.url), "%s/_dev/faults", g_base);
  do_call(&c);
  call_free(&c);
  return c.status;
}

static const char *error_code(const char *body) {
  static char code[64];
  json_t *v = json_loads(body ? body : "", 0, NULL);
  snprintf(
      code, sizeof(code), "%s",
      json_string_value(json_object_get(json_object_get(v, "error"), "code"))
          ?: "(none)");
  json_decref(v);
  return code;
}

/* ---- tests --------------------------------------------------------------- */

static void test_metadata_and_auth(void **state) {
  (void)state;
  struct call c = {.method = "GET"};
  snprintf(c.url, sizeof(c.url), "%s/v1/tunnels/%s", g_base, TID);
  do_call(&c);
  assert_int_equal(c.status, 401);
  assert_non_null(strstr(c.resp, "\"error\""));
  assert_null(strstr(c.resp, KEY));
  call_free(&c);

  c.headers[0] = "Authorization: Bearer wrong-key";
  do_call(&c);
  assert_int_equal(c.status, 401);
  call_free(&c);

  c.headers[0] = AUTH;
  do_call(&c);
  assert_int_equal(c.status, 200);
  json_t *v = json_loadb(c.resp, c.len, 0, NULL);
  assert_string_equal(json_string_value(json_object_get(v, "id")), TID);
  assert_true(json_is_string(json_object_get(v, "name")));
  assert_true(json_is_string(json_object_get(v, "description")));
  json_decref(v);
  call_free(&c);

  snprintf(c.url, sizeof(c.url), "%s/v1/tunnels/tunnel_other", g_base);
  do_call(&c);
  assert_int_equal(c.status, 404);
  assert_non_null(strstr(c.resp, "\"error\""));
  call_free(&c);

  /* the poll route needs the key too */
  long st = 0;
  c.headers[0] = NULL;
  snprintf(c.url, sizeof(c.url), "%s/v1/tunnels/%s/poll?timeout_ms=0", g_base,
           TID);
  do_call(&c);
  assert_int_equal(c.status, 401);
  call_free(&c);
  (void)st;
}

static void test_poll_timeout_and_bad_args(void **state) {
  (void)state;
  json_int_t empty0 = stat_of("polls_empty");
  long st = 0;
  double t0 = now_ms();
  json_t *v = poll_q("limit=5&timeout_ms=200", &st);
  double ms = now_ms() - t0;
  assert_int_equal(st, 204);
  assert_null(v);
  assert_true(ms >= 180.0);
  assert_true(ms < 3000.0);
  assert_int_equal(stat_of("polls_empty"), empty0 + 1);
  assert_int_equal(stat_of("polls_waiting"), 0);

  const char *bad[] = {"limit=0&timeout_ms=10",  "limit=abc&timeout_ms=10",
                       "limit=26&timeout_ms=10", "limit=1&timeout_ms=-1",
                       "limit=1&timeout_ms=1x",  "limit=1&channel=Bad!"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    v = poll_q(bad[i], &st);
    assert_int_equal(st, 400);
    assert_non_null(json_object_get(v, "error"));
    json_decref(v);
  }
}

/* A poll waiting when the ingress queues a command returns at once; the
 * JSON reply carries the terminal response's status, headers and body;
 * notifications are skipped for a JSON-only caller. */
static void test_long_poll_wakes_and_json_reply(void **state) {
  (void)state;
  struct call pc = {.method = "GET", .headers = {AUTH}};
  snprintf(pc.url, sizeof(pc.url),
           "%s/v1/tunnels/%s/poll?limit=5&timeout_ms=8000", g_base, TID);
  pthread_t pth, ith;
  json_int_t polls0 = stat_of("polls");
  pthread_create(&pth, NULL, call_thread, &pc);
  /* The poll is parked (counted as waiting) before the command exists. */
  for (int i = 0; i < 500 && stat_of("polls_waiting") < 1; i++)
    nap_ms(20);
  assert_int_equal(stat_of("polls_waiting"), 1);
  assert_int_equal(stat_of("polls"), polls0 + 1);
  struct call *ic =
      ingress_start(&ith, "", "Accept: application/json",
                    "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/list\"}");
  pthread_join(pth, NULL);
  assert_int_equal(pc.status, 200);
  assert_true(pc.ms < 4000.0);
  json_t *v = json_loadb(pc.resp, pc.len, 0, NULL);
  call_free(&pc);
  json_t *cmd = json_incref(json_array_get(json_object_get(v, "commands"), 0));
  json_decref(v);
  assert_non_null(cmd);
  assert_string_equal(json_string_value(json_object_get(cmd, "command_type")),
                      "jsonrpc");
  assert_string_equal(json_string_value(json_object_get(cmd, "channel")),
                      "main");
  assert_true(strlen(json_string_value(json_object_get(cmd, "request_id"))) >
              8);
  assert_true(strlen(json_string_value(json_object_get(cmd, "shard_token"))) >=
              32);
  assert_string_equal(
      json_string_value(json_object_get(cmd, "response_timeout")), "10s");
  const char *created = json_string_value(json_object_get(cmd, "created_at"));
  assert_non_null(created);
  assert_int_equal(strlen(created), 20);
  assert_int_equal(created[19], 'Z');
  assert_int_equal(json_integer_value(
                       json_object_get(json_object_get(cmd, "jsonrpc"), "id")),
                   7);

  assert_int_equal(
      respond(cmd,
              "\"resp_json\":{\"jsonrpc\":\"2.0\",\"method\":\"notifications/"
              "progress\"},\"resp_code\":200,\"resp_type\":\"jsonrpc_notify\""),
      200);
  assert_int_equal(
      respond(
          cmd,
          "\"resp_json\":{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"tools\":"
          "[]}},\"resp_headers\":{\"Content-Type\":[\"application/json\"],"
          "\"Mcp-Session-Id\":[\"sess-1\"],\"Connection\":[\"close\"]},"
          "\"resp_code\":201,\"resp_type\":\"jsonrpc_response\""),
      200);
  ingress_join(ith, ic);
  assert_int_equal(ic->status, 201);
  assert_string_equal(ic->sid, "sess-1");
  assert_string_equal(ic->ctype, "application/json");
  assert_string_equal(
      ic->resp, "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"tools\":[]}}");
  call_free(ic);
  free(ic);
  json_decref(cmd);

  /* every posted body was recorded */
  json_t *rs = dev_get("responses");
  assert_true(json_array_size(rs) >= 2);
  json_t *last = json_array_get(rs, json_array_size(rs) - 1);
  assert_string_equal(json_string_value(json_object_get(last, "resp_type")),
                      "jsonrpc_response");
  json_decref(rs);
}

static void test_sse_streams_notify_then_terminal(void **state) {
  (void)state;
  pthread_t th;
  struct call *ic = ingress_start(
      &th, "", "Accept: application/json, text/event-stream",
      "{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"tools/call\"}");
  json_t *cmd = poll_one("limit=1&timeout_ms=5000");
  assert_int_equal(
      respond(cmd, "\"resp_json\":{\"jsonrpc\":\"2.0\",\"method\":\"n1\"},"
                   "\"resp_code\":200,\"resp_type\":\"jsonrpc_notify\""),
      200);
  struct timespec nap = {0, 100 * 1000000L};
  nanosleep(&nap, NULL);
  assert_int_equal(
      respond(cmd, "\"resp_json\":{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"result\":"
                   "{}},\"resp_headers\":{\"Content-Type\":[\"text/"
                   "event-stream\"]},\"resp_code\":200,\"resp_type\":"
                   "\"jsonrpc_response\""),
      200);
  ingress_join(th, ic);
  assert_int_equal(ic->status, 200);
  assert_string_equal(ic->ctype, "text/event-stream");
  assert_string_equal(
      ic->resp, "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"n1\"}"
                "\n\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":\"a\","
                "\"result\":{}}\n\n");
  call_free(ic);
  free(ic);
  json_decref(cmd);
}

static void test_shard_unknown_and_duplicate(void **state) {
  (void)state;
  pthread_t th;
  struct call *ic =
      ingress_start(&th, "", "Accept: application/json",
                    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}");
  json_t *cmd = poll_one("limit=1&timeout_ms=5000");
  char body[512];
  snprintf(body, sizeof(body),
           "{\"request_id\":\"%s\",\"resp_code\":200,\"resp_type\":"
           "\"jsonrpc_response\",\"resp_json\":{\"jsonrpc\":\"2.0\",\"id\":1,"
           "\"result\":{}}}",
           json_string_value(json_object_get(cmd, "request_id")));
  struct call rc;
  assert_int_equal(post_response_raw("not-the-token", body, &rc), 401);
  assert_string_equal(error_code(rc.resp), "tunnel_request_mismatch");
  call_free(&rc);
  assert_int_equal(post_response_raw(NULL, body, NULL), 401);

  assert_int_equal(
      post_response_raw("x",
                        "{\"request_id\":\"nope\",\"resp_code\":200,"
                        "\"resp_type\":\"jsonrpc_response\"}",
                        &rc),
      404);
  assert_string_equal(error_code(rc.resp), "pending_request_not_found");
  call_free(&rc);
  assert_int_equal(post_response_raw("x", "{not json", NULL), 400);
  assert_int_equal(post_response_raw("x", "{\"resp_code\":200}", NULL), 400);

  json_int_t dup0 = stat_of("duplicate_terminal_responses");
  const char *shard = json_string_value(json_object_get(cmd, "shard_token"));
  assert_int_equal(post_response_raw(shard, body, NULL), 200);
  assert_int_equal(post_response_raw(shard, body, NULL), 404);
  ingress_join(th, ic);
  assert_int_equal(ic->status, 200);
  /* after the ingress finished, a third copy is still a duplicate */
  assert_int_equal(post_response_raw(shard, body, NULL), 404);
  assert_int_equal(stat_of("duplicate_terminal_responses"), dup0 + 2);
  json_t *st = dev_get("stats");
  assert_true(json_integer_value(json_object_get(
                  json_object_get(st, "responses"), "jsonrpc_response")) >= 1);
  json_decref(st);
  call_free(ic);
  free(ic);
  json_decref(cmd);
}

static void test_fault_queue(void **state) {
  (void)state;
  assert_int_equal(
      dev_faults("{\"poll\":[{\"status\":503,\"retry_after\":\"1\"},"
                 "{\"status\":429,\"retry_after\":2}]}"),
      200);
  assert_int_equal(dev_faults("{\"poll\":[{\"status\":42}]}"), 400);
  assert_int_equal(dev_faults("[]"), 400);
  struct call c = {.method = "GET", .headers = {AUTH}};
  snprintf(c.url, sizeof(c.url), "%s/v1/tunnels/%s/poll?limit=1&timeout_ms=50",
           g_base, TID);
  do_call(&c);
  assert_int_equal(c.status, 503);
  assert_string_equal(c.retry, "1");
  assert_string_equal(error_code(c.resp), "tunnel_transport_unavailable");
  call_free(&c);
  memset(c.retry, 0, sizeof(c.retry));
  do_call(&c);
  assert_int_equal(c.status, 429);
  assert_string_equal(c.retry, "2");
  assert_string_equal(error_code(c.resp), "rate_limit_exceeded");
  call_free(&c);
  memset(c.retry, 0, sizeof(c.retry));
  do_call(&c);
  assert_int_equal(c.status, 204);
  assert_string_equal(c.retry, "");
  call_free(&c);

  /* response faults: reset closes the connection; the next one is served */
  pthread_t th;
  struct call *ic =
      ingress_start(&th, "", "Accept: application/json",
                    "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/x\"}");
  json_t *cmd = poll_one("limit=1&timeout_ms=5000");
  assert_int_equal(
      dev_faults("{\"response\":[{\"reset\":true},{\"delay_ms\":150}]}"), 200);
  char body[256];
  snprintf(body, sizeof(body),
           "{\"request_id\":\"%s\",\"resp_code\":202,\"resp_type\":"
           "\"notify_ack\"}",
           json_string_value(json_object_get(cmd, "request_id")));
  const char *shard = json_string_value(json_object_get(cmd, "shard_token"));
  struct call rc;
  post_response_raw(shard, body, &rc);
  assert_int_equal(rc.cc, CURLE_GOT_NOTHING);
  call_free(&rc);
  assert_int_equal(post_response_raw(shard, body, &rc), 200);
  assert_true(rc.ms >= 140.0);
  call_free(&rc);
  ingress_join(th, ic);
  assert_int_equal(ic->status, 202);
  assert_int_equal(ic->len, 0);
  call_free(ic);
  free(ic);
  json_decref(cmd);
}

static void test_prmd_through_oauth_discovery(void **state) {
  (void)state;
  struct call *c = calloc(1, sizeof(*c));
  c->method = "GET";
  snprintf(c->url, sizeof(c->url),
           "%s/.well-known/oauth-protected-resource/v1/mcp/%s", g_base, TID);
  pthread_t th;
  pthread_create(&th, NULL, call_thread, c);
  json_t *cmd = poll_one("limit=1&timeout_ms=5000");
  assert_string_equal(json_string_value(json_object_get(cmd, "command_type")),
                      "oauth_discovery");
  assert_string_equal(json_string_value(json_object_get(cmd, "channel")),
                      "main");
  assert_null(json_object_get(cmd, "jsonrpc"));
  assert_int_equal(
      respond(cmd, "\"resp_json\":{\"resource\":\"http://upstream/mcp\","
                   "\"authorization_servers\":[\"http://as.example\"]},"
                   "\"resp_headers\":{\"Content-Type\":[\"application/json\"],"
                   "\"Content-Length\":[\"999\"]},\"resp_code\":200,"
                   "\"resp_type\":\"oauth_discovery_response\""),
      200);
  ingress_join(th, c);
  assert_int_equal(c->status, 200);
  json_t *doc = json_loadb(c->resp, c->len, 0, NULL);
  char want[512];
  snprintf(want, sizeof(want), "%s/v1/mcp/%s", g_base, TID);
  assert_string_equal(json_string_value(json_object_get(doc, "resource")),
                      want);
  assert_string_equal(json_string_value(json_array_get(
                          json_object_get(doc, "authorization_servers"), 0)),
                      "http://as.example");
  json_decref(doc);
  call_free(c);
  free(c);
  json_decref(cmd);
}

static void test_header_blocklist_and_www_authenticate(void **state) {
  (void)state;
  struct call *c = calloc(1, sizeof(*c));
  c->method = "POST";
  snprintf(c->url, sizeof(c->url), "%s/v1/mcp/%s", g_base, TID);
  c->body = "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\"}";
  c->headers[0] = "Cookie: session=secret";
  c->headers[1] = "X-Forwarded-For: 10.0.0.1";
  c->headers[2] = "Authorization: Bearer user-token";
  c->headers[3] = "Mcp-Session-Id: sess-42";
  c->headers[4] = "Connection: keep-alive, X-Hop";
  c->headers[5] = "X-Hop: 1";
  c->headers[6] = "X-Keep: yes";
  c->headers[7] = "X-Openai-Internal-Caller: x";
  pthread_t th;
  pthread_create(&th, NULL, call_thread, c);
  json_t *cmd = poll_one("limit=1&timeout_ms=5000");
  json_t *h = json_object_get(cmd, "headers");
  assert_null(json_object_get(h, "Cookie"));
  assert_null(json_object_get(h, "X-Forwarded-For"));
  assert_null(json_object_get(h, "X-Hop"));
  assert_null(json_object_get(h, "Connection"));
  assert_null(json_object_get(h, "Host"));
  assert_null(json_object_get(h, "Content-Type"));
  assert_null(json_object_get(h, "X-Openai-Internal-Caller"));
  assert_string_equal(
      json_string_value(json_array_get(json_object_get(h, "Authorization"), 0)),
      "Bearer user-token");
  assert_string_equal(json_string_value(json_array_get(
                          json_object_get(h, "Mcp-Session-Id"), 0)),
                      "sess-42");
  assert_string_equal(
      json_string_value(json_array_get(json_object_get(h, "X-Keep"), 0)),
      "yes");
  assert_int_equal(
      respond(cmd,
              "\"resp_json\":{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":"
              "-32001,\"message\":\"unauthorized\"}},\"resp_headers\":{"
              "\"Www-Authenticate\":[\"Bearer realm=\\\"x\\\", "
              "resource_metadata=\\\"https://elsewhere/prm\\\", "
              "scope=\\\"a\\\"\"]},\"resp_code\":401,\"resp_type\":"
              "\"jsonrpc_response\""),
      200);
  ingress_join(th, c);
  assert_int_equal(c->status, 401);
  char want[512];
  snprintf(want, sizeof(want),
           "Bearer realm=\"x\", resource_metadata=\"%s/.well-known/"
           "oauth-protected-resource/v1/mcp/%s\", scope=\"a\"",
           g_base, TID);
  assert_string_equal(c->www, want);
  call_free(c);
  free(c);
  json_decref(cmd);
}

static void test_channel_filter_and_limit(void **state) {
  (void)state;
  pthread_t th[3];
  struct call *ic[3];
  ic[0] = ingress_start(&th[0], "/alpha", "Accept: application/json",
                        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\"}");
  long st = 0;
  /* wait until the command is queued */
  for (int i = 0; i < 100 && stat_of("pending") < 1; i++) {
    struct timespec nap = {0, 20 * 1000000L};
    nanosleep(&nap, NULL);
  }
  json_t *v = poll_q("channel=beta&limit=5&timeout_ms=150", &st);
  assert_int_equal(st, 204);
  json_decref(v);
  json_t *cmd = poll_one("channel=alpha&channel=beta&limit=5&timeout_ms=2000");
  assert_string_equal(json_string_value(json_object_get(cmd, "channel")),
                      "alpha");
  assert_int_equal(
      respond(cmd, "\"resp_json\":{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}},"
                   "\"resp_code\":200,\"resp_type\":\"jsonrpc_response\""),
      200);
  json_decref(cmd);
  ingress_join(th[0], ic[0]);
  assert_int_equal(ic[0]->status, 200);
  call_free(ic[0]);
  free(ic[0]);

  json_int_t queued0 = stat_of("commands_queued");
  for (int i = 0; i < 3; i++)
    ic[i] = ingress_start(&th[i], "", "Accept: application/json",
                          "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"b\"}");
  for (int i = 0; i < 200 && stat_of("commands_queued") < queued0 + 3; i++) {
    struct timespec nap = {0, 20 * 1000000L};
    nanosleep(&nap, NULL);
  }
  v = poll_q("limit=2&timeout_ms=1000", &st);
  assert_int_equal(st, 200);
  json_t *first = json_incref(json_object_get(v, "commands"));
  json_decref(v);
  assert_int_equal(json_array_size(first), 2);
  json_t *third = poll_one("limit=2&timeout_ms=1000");
  json_array_append_new(first, third);
  size_t i;
  json_array_foreach(first, i, cmd) {
    assert_int_equal(
        respond(cmd,
                "\"resp_json\":{\"jsonrpc\":\"2.0\",\"id\":9,\"result\":"
                "{}},\"resp_code\":200,\"resp_type\":\"jsonrpc_response\""),
        200);
  }
  json_decref(first);
  for (int k = 0; k < 3; k++) {
    ingress_join(th[k], ic[k]);
    assert_int_equal(ic[k]->status, 200);
    call_free(ic[k]);
    free(ic[k]);
  }
}

static void test_delete_and_duplicate_delivery(void **state) {
  (void)state;
  assert_int_equal(dev_faults("{\"duplicate_delivery\":true}"), 200);
  struct call *c = calloc(1, sizeof(*c));
  c->method = "DELETE";
  snprintf(c->url, sizeof(c->url), "%s/v1/mcp/%s", g_base, TID);
  c->headers[0] = "Mcp-Session-Id: sess-9";
  pthread_t th;
  pthread_create(&th, NULL, call_thread, c);
  json_t *cmd = poll_one("limit=5&timeout_ms=5000");
  assert_string_equal(json_string_value(json_object_get(cmd, "command_type")),
                      "session_termination");
  json_t *again = poll_one("limit=5&timeout_ms=1000");
  assert_string_equal(json_string_value(json_object_get(again, "request_id")),
                      json_string_value(json_object_get(cmd, "request_id")));
  assert_int_equal(respond(cmd, "\"resp_code\":204,\"resp_type\":"
                                "\"session_termination_response\""),
                   200);
  ingress_join(th, c);
  assert_int_equal(c->status, 204);
  call_free(c);
  free(c);
  json_decref(again);
  json_decref(cmd);

  /* without Mcp-Session-Id nothing is queued */
  struct call d = {.method = "DELETE"};
  snprintf(d.url, sizeof(d.url), "%s/v1/mcp/%s", g_base, TID);
  do_call(&d);
  assert_int_equal(d.status, 400);
  assert_string_equal(error_code(d.resp), "missing_mcp_session_id");
  call_free(&d);
  /* bad channel and unknown tunnel */
  snprintf(d.url, sizeof(d.url), "%s/v1/mcp/%s/Bad%%21", g_base, TID);
  d.method = "POST";
  d.body = "{}";
  do_call(&d);
  assert_int_equal(d.status, 404);
  call_free(&d);
  snprintf(d.url, sizeof(d.url), "%s/v1/mcp/tunnel_x", g_base);
  do_call(&d);
  assert_int_equal(d.status, 404);
  call_free(&d);
  snprintf(d.url, sizeof(d.url), "%s/v1/mcp/%s", g_base, TID);
  d.body = "not json";
  do_call(&d);
  assert_int_equal(d.status, 400);
  call_free(&d);
  assert_int_equal(stat_of("pending"), 0);
}

static void test_ingress_timeout_504(void **state) {
  (void)state;
  struct tc_devcp *cp = NULL;
  struct tc_devcp_options o = {.response_timeout_ms = 300};
  char *err = NULL;
  assert_int_equal(tc_devcp_start(&cp, &o, &err), 0);
  struct call c = {.method = "POST",
                   .body = "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"x\"}"};
  snprintf(c.url, sizeof(c.url),
           "%s/v1/mcp/tunnel_22222222222222222222222222222222",
           tc_devcp_base_url(cp));
  do_call(&c);
  assert_int_equal(c.status, 504);
  assert_true(c.ms >= 280.0);
  json_t *v = json_loadb(c.resp, c.len, 0, NULL);
  assert_int_equal(json_integer_value(json_object_get(v, "id")), 5);
  assert_int_equal(
      json_integer_value(json_object_get(json_object_get(v, "error"), "code")),
      -32603);
  json_decref(v);
  call_free(&c);
  /* the default key works on the second instance */
  c.method = "GET";
  c.body = NULL;
  c.headers[0] = "Authorization: Bearer local-tunnel-client-dev-proxy";
  snprintf(c.url, sizeof(c.url),
           "%s/v1/tunnels/tunnel_22222222222222222222222222222222/poll?limit=1&"
           "timeout_ms=0",
           tc_devcp_base_url(cp));
  do_call(&c);
  assert_int_equal(c.status, 204);
  call_free(&c);
  /* stop wakes a waiting poll */
  snprintf(c.url, sizeof(c.url),
           "%s/v1/tunnels/tunnel_22222222222222222222222222222222/poll?limit=1&"
           "timeout_ms=600000",
           tc_devcp_base_url(cp));
  pthread_t th;
  pthread_create(&th, NULL, call_thread, &c);
  struct timespec nap = {0, 200 * 1000000L};
  nanosleep(&nap, NULL);
  double t0 = now_ms();
  tc_devcp_stop(cp);
  assert_true(now_ms() - t0 < 5000.0);
  pthread_join(th, NULL);
  call_free(&c);

  o.tunnel_id = "bad id";
  assert_int_equal(tc_devcp_start(&cp, &o, &err), -1);
  assert_null(cp);
  assert_non_null(strstr(err, "--tunnel-id"));
  free(err);
}

/* The client's own decoder accepts every command type this service emits. */
static void test_commands_decode_with_client_decoder(void **state) {
  (void)state;
  pthread_t th[3];
  struct call *c[3];
  c[0] = ingress_start(&th[0], "/side", "Accept: application/json",
                       "{\"jsonrpc\":\"2.0\",\"id\":\"q\",\"method\":\"m\"}");
  c[1] = calloc(1, sizeof(*c[1]));
  c[1]->method = "DELETE";
  snprintf(c[1]->url, sizeof(c[1]->url), "%s/v1/mcp/%s", g_base, TID);
  c[1]->headers[0] = "Mcp-Session-Id: s-1";
  pthread_create(&th[1], NULL, call_thread, c[1]);
  c[2] = calloc(1, sizeof(*c[2]));
  c[2]->method = "GET";
  snprintf(c[2]->url, sizeof(c[2]->url),
           "%s/.well-known/oauth-protected-resource/v1/mcp/%s", g_base, TID);
  pthread_create(&th[2], NULL, call_thread, c[2]);
  for (int i = 0; i < 200 && stat_of("pending") < 3; i++) {
    struct timespec nap = {0, 20 * 1000000L};
    nanosleep(&nap, NULL);
  }
  struct call pc = {.method = "GET", .headers = {AUTH}};
  snprintf(pc.url, sizeof(pc.url),
           "%s/v1/tunnels/%s/poll?limit=25&timeout_ms=1000", g_base, TID);
  do_call(&pc);
  assert_int_equal(pc.status, 200);
  struct tc_cp_command_list l = {0};
  char *err = NULL;
  assert_int_equal(tc_cp_decode_poll_body(pc.resp, pc.len, &l, &err), 0);
  assert_int_equal(l.count, 3);
  assert_int_equal(l.dropped_count, 0);
  int seen = 0;
  for (size_t i = 0; i < l.count; i++) {
    struct tc_cp_command *cmd = &l.items[i];
    assert_null(cmd->invalid);
    assert_true(cmd->has_created_at);
    assert_true(cmd->has_deadline);
    assert_true(cmd->response_timeout_ns == 10000000000LL);
    if (cmd->type == TC_CP_CMD_JSONRPC) {
      assert_string_equal(cmd->channel, "side");
      assert_int_equal(cmd->rpc_kind, TC_CP_RPC_CALL);
      assert_string_equal(cmd->rpc_id, "\"q\"");
    }
    seen |= 1 << cmd->type;
  }
  assert_int_equal(seen, (1 << TC_CP_CMD_JSONRPC) |
                             (1 << TC_CP_CMD_SESSION_TERMINATION) |
                             (1 << TC_CP_CMD_OAUTH_DISCOVERY));
  tc_cp_command_list_free(&l);
  json_t *v = json_loadb(pc.resp, pc.len, 0, NULL);
  call_free(&pc);
  size_t i;
  json_t *cmd;
  json_array_foreach(json_object_get(v, "commands"), i, cmd) {
    const char *type = json_string_value(json_object_get(cmd, "command_type"));
    if (strcmp(type, "jsonrpc") == 0)
      assert_int_equal(respond(cmd, "\"resp_json\":{\"jsonrpc\":\"2.0\",\"id\":"
                                    "\"q\",\"result\":{}},\"resp_code\":200,"
                                    "\"resp_type\":\"jsonrpc_response\""),
                       200);
    else if (strcmp(type, "session_termination") == 0)
      assert_int_equal(respond(cmd, "\"resp_code\":404,\"resp_type\":"
                                    "\"session_termination_response\""),
                       200);
    else
      assert_int_equal(respond(cmd, "\"resp_json\":{\"resource\":\"x\"},"
                                    "\"resp_code\":200,\"resp_type\":"
                                    "\"oauth_discovery_response\""),
                       200);
  }
  json_decref(v);
  for (int k = 0; k < 3; k++)
    ingress_join(th[k], c[k]);
  assert_int_equal(c[0]->status, 200);
  assert_int_equal(c[1]->status, 404);
  assert_int_equal(c[2]->status, 200);
  for (int k = 0; k < 3; k++) {
    call_free(c[k]);
    free(c[k]);
  }
  assert_int_equal(stat_of("pending"), 0);
}

static long dev_post(const char *what, const char *auth, const char *body,
                     json_t **out) {
  struct call c = {.method = "POST", .body = body, .headers = {auth}};
  snprintf(c.url, sizeof(c.url), "%s/_dev/%s", g_base, what);
  do_call(&c);
  assert_int_equal(c.cc, CURLE_OK);
  if (out != NULL)
    *out = c.len ? json_loadb(c.resp, c.len, 0, NULL) : NULL;
  call_free(&c);
  return c.status;
}

/* POST /_dev/commands queues raw commands as given (ids generated only when
 * absent), their responses are recorded without an ingress call, and every
 * poll's limit shows up in /_dev/stats. */
static void test_dev_commands_injected_as_given(void **state) {
  (void)state;
  json_t *v = NULL;
  assert_int_equal(dev_post("commands", NULL, "[{}]", NULL), 401);
  assert_int_equal(dev_post("commands", AUTH, "{}", NULL), 400);
  assert_int_equal(dev_post("commands", AUTH, "[]", NULL), 400);
  assert_int_equal(dev_post("commands", AUTH, "[1]", NULL), 400);
  assert_int_equal(dev_post("commands", AUTH, "[{\"request_id\":5}]", NULL),
                   400);
  assert_int_equal(dev_post("commands", AUTH,
                            "[{\"request_id\":\"d\"},{\"request_id\":\"d\"}]",
                            NULL),
                   400);
  assert_int_equal(stat_of("pending"), 0);

  static const char first[] =
      "{\"request_id\":\"inj-1\",\"shard_token\":\"tok1\",\"command_type\":"
      "\"bogus\",\"channel\":\"main\",\"response_timeout\":\"0s\"}";
  char body[1024];
  snprintf(body, sizeof(body),
           "[%s,{\"command_type\":\"jsonrpc\",\"channel\":\"main\","
           "\"response_timeout\":null,\"headers\":{},\"jsonrpc\":{\"jsonrpc\":"
           "\"2.0\",\"id\":3,\"method\":\"tools/list\"}}]",
           first);
  assert_int_equal(dev_post("commands", AUTH, body, &v), 200);
  json_t *ids = json_object_get(v, "request_ids");
  assert_int_equal(json_array_size(ids), 2);
  assert_string_equal(json_string_value(json_array_get(ids, 0)), "inj-1");
  char second_id[64];
  snprintf(second_id, sizeof(second_id), "%s",
           json_string_value(json_array_get(ids, 1)));
  assert_int_equal(strncmp(second_id, "devreq_", 7), 0);
  json_decref(v);
  /* the same id again while it is pending */
  snprintf(body, sizeof(body), "[%s]", first);
  assert_int_equal(dev_post("commands", AUTH, body, NULL), 400);
  assert_int_equal(stat_of("pending"), 2);

  json_t *cmd = poll_one("limit=1&timeout_ms=2000");
  json_t *want = json_loads(first, 0, NULL);
  assert_true(json_equal(cmd, want)); /* nothing added or changed */
  json_decref(want);
  json_t *cmd2 = poll_one("limit=7&timeout_ms=2000");
  assert_string_equal(json_string_value(json_object_get(cmd2, "request_id")),
                      second_id);
  assert_true(json_is_null(json_object_get(cmd2, "response_timeout")));
  assert_null(json_object_get(cmd2, "created_at"));
  assert_int_equal(
      strlen(json_string_value(json_object_get(cmd2, "shard_token"))), 32);

  /* a notify is recorded and keeps the entry; the terminal one ends it */
  assert_int_equal(respond(cmd2,
                           "\"resp_json\":{\"jsonrpc\":\"2.0\",\"method\":"
                           "\"n\"},\"resp_code\":200,\"resp_type\":"
                           "\"jsonrpc_notify\""),
                   200);
  assert_int_equal(respond(cmd2, "\"resp_json\":{\"jsonrpc\":\"2.0\",\"id\":3,"
                                 "\"result\":{}},\"resp_code\":200,"
                                 "\"resp_type\":\"jsonrpc_response\""),
                   200);
  assert_int_equal(stat_of("pending"), 1);
  assert_int_equal(respond(cmd2, "\"resp_json\":{\"jsonrpc\":\"2.0\",\"id\":3,"
                                 "\"result\":{}},\"resp_code\":200,"
                                 "\"resp_type\":\"jsonrpc_response\""),
                   404);
  json_t *rs = dev_get("responses");
  size_t n = json_array_size(rs);
  assert_true(n >= 3);
  json_t *last_ok = json_array_get(rs, n - 2);
  assert_string_equal(json_string_value(json_object_get(last_ok, "request_id")),
                      second_id);
  assert_string_equal(json_string_value(json_object_get(last_ok, "resp_type")),
                      "jsonrpc_response");
  json_decref(rs);
  /* a wrong shard token is refused for injected commands too */
  char wrong[512];
  snprintf(wrong, sizeof(wrong),
           "{\"request_id\":\"inj-1\",\"channel\":\"main\",\"resp_code\":200,"
           "\"resp_type\":\"jsonrpc_response\"}");
  assert_int_equal(post_response_raw("tok2", wrong, NULL), 401);
  assert_int_equal(post_response_raw("tok1", wrong, NULL), 200);
  assert_int_equal(stat_of("pending"), 0);

  /* the two polls' limits were recorded, the last one without a limit */
  long st = 0;
  json_decref(poll_q("timeout_ms=0", &st));
  assert_int_equal(st, 204);
  v = dev_get("stats");
  json_t *limits = json_object_get(v, "poll_limits");
  size_t nl = json_array_size(limits);
  assert_true(nl >= 3);
  assert_int_equal(json_integer_value(json_array_get(limits, nl - 3)), 1);
  assert_int_equal(json_integer_value(json_array_get(limits, nl - 2)), 7);
  assert_true(json_is_null(json_array_get(limits, nl - 1)));
  assert_true(json_integer_value(json_object_get(v, "commands_injected")) >= 2);
  json_decref(v);
  json_decref(cmd2);
  json_decref(cmd);
}

/* POST /v1/mcp/{id}/ (empty channel) is the main channel. */
static void test_trailing_slash_is_main(void **state) {
  (void)state;
  pthread_t th;
  struct call *c =
      ingress_start(&th, "/", "Accept: application/json",
                    "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"x\"}");
  json_t *cmd = poll_one("limit=5&timeout_ms=5000");
  assert_string_equal(json_string_value(json_object_get(cmd, "channel")),
                      "main");
  assert_int_equal(respond(cmd, "\"resp_json\":{\"jsonrpc\":\"2.0\",\"id\":4,"
                                "\"result\":{}},\"resp_code\":200,"
                                "\"resp_type\":\"jsonrpc_response\""),
                   200);
  ingress_join(th, c);
  assert_int_equal(c->status, 200);
  call_free(c);
  free(c);
  json_decref(cmd);
}

/* A long poll whose client went away does not swallow the next command:
 * a later poll gets it, exactly once. */
static void test_aborted_poll_loses_nothing(void **state) {
  (void)state;
  int port = atoi(strrchr(g_base, ':') + 1);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  char req[512];
  int len = snprintf(req, sizeof(req),
                     "GET /v1/tunnels/%s/poll?limit=4&timeout_ms=10000 "
                     "HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s\r\n\r\n",
                     TID, port, AUTH);
  json_int_t polls0 = stat_of("polls");
  json_int_t abandoned0 = stat_of("polls_abandoned");
  assert_int_equal(write(fd, req, (size_t)len), len);
  for (int i = 0; i < 100 && stat_of("polls") < polls0 + 1; i++)
    nap_ms(20);
  assert_int_equal(stat_of("polls"), polls0 + 1); /* it is waiting */
  assert_int_equal(stat_of("polls_waiting"), 1);
  close(fd);
  for (int i = 0; i < 100 && stat_of("polls_abandoned") < abandoned0 + 1; i++)
    nap_ms(20);
  assert_int_equal(stat_of("polls_abandoned"), abandoned0 + 1);
  assert_int_equal(stat_of("polls_waiting"), 0);

  json_t *v = NULL;
  assert_int_equal(dev_post("commands", AUTH,
                            "[{\"request_id\":\"after-abort\",\"command_type\":"
                            "\"session_termination\",\"channel\":\"main\"}]",
                            &v),
                   200);
  json_decref(v);
  json_t *cmd = poll_one("limit=4&timeout_ms=3000");
  assert_string_equal(json_string_value(json_object_get(cmd, "request_id")),
                      "after-abort");
  long st = 0;
  json_decref(poll_q("limit=4&timeout_ms=300", &st));
  assert_int_equal(st, 204); /* delivered once */
  assert_int_equal(respond(cmd, "\"resp_code\":204,\"resp_type\":"
                                "\"session_termination_response\""),
                   200);
  assert_int_equal(stat_of("pending"), 0);
  json_decref(cmd);
}

/* /_dev/stats "instances": which agent process (X-Tunnel-Client-Instance-Id)
 * was handed each command, which answered, and which held a command until
 * the ingress gave up on it (the caller's 504). */
static void test_instances_split_and_abandoned(void **state) {
  (void)state;
  struct tc_devcp *cp = NULL;
  struct tc_devcp_options o = {.response_timeout_ms = 1500};
  char *err = NULL;
  assert_int_equal(tc_devcp_start(&cp, &o, &err), 0);
  const char *base = tc_devcp_base_url(cp);
  const char *tid = "tunnel_22222222222222222222222222222222";
  const char *auth = "Authorization: Bearer local-tunnel-client-dev-proxy";
  struct call in1 = {.method = "POST",
                     .body = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\"}",
                     .headers = {"Content-Type: application/json"}};
  struct call in2 = in1;
  in2.body = "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"x\"}";
  snprintf(in1.url, sizeof(in1.url), "%s/v1/mcp/%s", base, tid);
  snprintf(in2.url, sizeof(in2.url), "%s/v1/mcp/%s", base, tid);
  pthread_t t1, t2;
  pthread_create(&t1, NULL, call_thread, &in1);
  /* Agent A takes the first command and never answers it. */
  struct call pa = {.method = "GET",
                    .headers = {auth, "X-Tunnel-Client-Instance-Id: aaaa"}};
  snprintf(pa.url, sizeof(pa.url),
           "%s/v1/tunnels/%s/poll?limit=1&timeout_ms=5000", base, tid);
  do_call(&pa);
  assert_int_equal(pa.status, 200);
  call_free(&pa);
  pthread_create(&t2, NULL, call_thread, &in2);
  /* Agent B takes the second and answers it. */
  struct call pb = pa;
  pb.headers[1] = "X-Tunnel-Client-Instance-Id: bbbb";
  do_call(&pb);
  assert_int_equal(pb.status, 200);
  json_t *v = json_loadb(pb.resp, pb.len, 0, NULL);
  json_t *cmd = json_array_get(json_object_get(v, "commands"), 0);
  char body[512], shard[128];
  snprintf(body, sizeof(body),
           "{\"request_id\":\"%s\",\"channel\":\"main\",\"resp_code\":200,"
           "\"resp_type\":\"jsonrpc_response\",\"resp_json\":{\"jsonrpc\":"
           "\"2.0\",\"id\":2,\"result\":{}}}",
           json_string_value(json_object_get(cmd, "request_id")));
  snprintf(shard, sizeof(shard), "X-Tunnel-Shard-Token: %s",
           json_string_value(json_object_get(cmd, "shard_token")));
  json_decref(v);
  call_free(&pb);
  struct call post = {.method = "POST",
                      .body = body,
                      .headers = {auth, "Content-Type: application/json", shard,
                                  "X-Tunnel-Client-Instance-Id: bbbb"}};
  snprintf(post.url, sizeof(post.url), "%s/v1/tunnels/%s/response", base, tid);
  do_call(&post);
  assert_int_equal(post.status, 200);
  call_free(&post);
  pthread_join(t2, NULL);
  assert_int_equal(in2.status, 200);

  /* While A holds its command: one unanswered, nothing abandoned. */
  struct call st = {.method = "GET", .headers = {auth}};
  snprintf(st.url, sizeof(st.url), "%s/_dev/stats", base);
  do_call(&st);
  v = json_loadb(st.resp, st.len, 0, NULL);
  call_free(&st);
  json_t *ins = json_object_get(v, "instances");
  assert_int_equal(json_array_size(ins), 2);
  json_t *a = json_array_get(ins, 0), *b = json_array_get(ins, 1);
  assert_string_equal(json_string_value(json_object_get(a, "instance_id")),
                      "aaaa");
  assert_int_equal(json_integer_value(json_object_get(a, "delivered")), 1);
  assert_int_equal(json_integer_value(json_object_get(a, "unanswered")), 1);
  assert_int_equal(json_integer_value(json_object_get(a, "abandoned")), 0);
  assert_string_equal(json_string_value(json_object_get(b, "instance_id")),
                      "bbbb");
  assert_int_equal(json_integer_value(json_object_get(b, "delivered")), 1);
  assert_int_equal(json_integer_value(json_object_get(b, "answered")), 1);
  assert_int_equal(json_integer_value(json_object_get(b, "unanswered")), 0);
  json_decref(v);

  /* The ingress gives up on A's command: the caller gets 504, and the
   * command counts as abandoned by A. */
  pthread_join(t1, NULL);
  assert_int_equal(in1.status, 504);
  do_call(&st);
  v = json_loadb(st.resp, st.len, 0, NULL);
  call_free(&st);
  a = json_array_get(json_object_get(v, "instances"), 0);
  assert_int_equal(json_integer_value(json_object_get(a, "polls")), 1);
  assert_int_equal(json_integer_value(json_object_get(a, "answered")), 0);
  assert_int_equal(json_integer_value(json_object_get(a, "unanswered")), 0);
  assert_int_equal(json_integer_value(json_object_get(a, "abandoned")), 1);
  json_decref(v);
  call_free(&in1);
  call_free(&in2);
  tc_devcp_stop(cp);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_metadata_and_auth),
      cmocka_unit_test(test_poll_timeout_and_bad_args),
      cmocka_unit_test(test_long_poll_wakes_and_json_reply),
      cmocka_unit_test(test_sse_streams_notify_then_terminal),
      cmocka_unit_test(test_shard_unknown_and_duplicate),
      cmocka_unit_test(test_fault_queue),
      cmocka_unit_test(test_prmd_through_oauth_discovery),
      cmocka_unit_test(test_header_blocklist_and_www_authenticate),
      cmocka_unit_test(test_channel_filter_and_limit),
      cmocka_unit_test(test_delete_and_duplicate_delivery),
      cmocka_unit_test(test_commands_decode_with_client_decoder),
      cmocka_unit_test(test_ingress_timeout_504),
      cmocka_unit_test(test_dev_commands_injected_as_given),
      cmocka_unit_test(test_trailing_slash_is_main),
      cmocka_unit_test(test_aborted_poll_loses_nothing),
      cmocka_unit_test(test_instances_split_and_abandoned),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
