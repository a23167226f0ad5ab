/* Unit tests for controlplane/client.c against an in-test HTTP server
 * (libmicrohttpd on 127.0.0.1:0): the §1.2 headers on every request, the
 * poll URL and query, 204/200/error handling, the response POST headers and
 * body, the retry table (503, 429 + Retry-After, 404, 400, notify), the
 * response deadline, interrupting a hanging poll, and no secret in logs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "config/config.h"
#include "controlplane/client.h"
#include "ops/core_metrics.h"
#include "ops/metrics_registry.h"
#include "tc/errors.h"
#include "util/log.h"
#include "util/net_listen.h"
#include "util/sbuf.h"

#define TUNNEL "tunnel_0123456789abcdef0123456789abcdef"
#define API_KEY "test-api-key-0123"
#define SHARD "shard-secret-token-xyz"
#define MAX_RECORDS 16
#define MAX_STEPS 8

#include "cp_test_service.h"

/* ---- log capture: no secret may ever appear --------------------------------
 */

static char g_logs[16384];
static size_t g_loglen;

static void on_log(void *ud, int level, const char *line) {
  (void)ud;
  (void)level;
  size_t n = strlen(line);
  if (g_loglen + n + 1 < sizeof(g_logs)) {
    memcpy(g_logs + g_loglen, line, n);
    g_loglen += n;
    g_logs[g_loglen++] = '\n';
    g_logs[g_loglen] = '\0';
  }
}

/* ---- fixtures ------------------------------------------------------------ */

static struct tc_binding_cfg g_bindings[2];
static char *g_channels[2];
static struct tc_config g_cfg;
static struct tc_cp_client *g_client;

static int setup(void **state) {
  (void)state;
  pthread_mutex_init(&g.lock, NULL);
  struct tc_net_listener l;
  char *err = NULL;
  struct tc_net_listen_names names = {"test", "--test", NULL};
  if (tc_net_listen_tcp("127.0.0.1:0", &names, &l, &err) != 0)
    return -1;
  g.base_url = l.base_url;
  g.mhd = MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL,
      NULL, handler, NULL, MHD_OPTION_LISTEN_SOCKET, l.fd,
      MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL, MHD_OPTION_NOTIFY_COMPLETED,
      on_done, NULL, MHD_OPTION_END);
  if (g.mhd == NULL)
    return -1;

  g_bindings[0] = (struct tc_binding_cfg){
      .channel = "main", .transport = "http", .url = "http://127.0.0.1:1/mcp"};
  g_bindings[1] = (struct tc_binding_cfg){
      .channel = "beta", .transport = "stdio", .command = "cat"};
  g_channels[0] = "main";
  g_channels[1] = "beta";
  memset(&g_cfg, 0, sizeof(g_cfg));
  static char base[256];
  snprintf(base, sizeof(base), "%s/ignored/path", g.base_url);
  g_cfg.cp_base_url = base;
  g_cfg.cp_url_path = " /gw/dev/ ";
  g_cfg.cp_tunnel_id = TUNNEL;
  g_cfg.cp_api_key = API_KEY;
  g_cfg.cp_organization_id = "org-123";
  g_cfg.cp_poll_timeout_ms = 5000;
  g_cfg.cp_poll_deadline_guardrail_ms = 1000;
  g_cfg.cp_max_inflight = 20;
  g_cfg.cp_poll_channels = g_channels;
  g_cfg.cp_poll_channel_count = 2;
  tc_headers_add(&g_cfg.cp_extra_headers, "X-Extra", "extra-one");
  g_cfg.bindings = g_bindings;
  g_cfg.binding_count = 2;
  if (tc_cp_client_new(&g_client, &g_cfg, NULL, &err) != 0) {
    fprintf(stderr, "client: %s\n", err);
    free(err);
    return -1;
  }
  tc_log_set_observer(on_log, NULL);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  tc_log_set_observer(NULL, NULL);
  atomic_store(&g.closing, 1);
  tc_cp_client_free(g_client);
  MHD_stop_daemon(g.mhd);
  clear_records();
  free(g.base_url);
  tc_headers_clear(&g_cfg.cp_extra_headers);
  /* The key and shard token never reach a log line. */
  assert_null(strstr(g_logs, API_KEY));
  assert_null(strstr(g_logs, SHARD));
  return 0;
}

static int reset(void **state) {
  (void)state;
  clear_records();
  return 0;
}

static uint64_t ms_since(uint64_t t0) {
  return (tc_cp_now_ns() - t0) / 1000000ull;
}

/* ---- assertions ---------------------------------------------------------- */

static const char *hdr(size_t i, const char *name) {
  return tc_headers_get(&g.rec[i].headers, name, 0);
}

static void assert_common_headers(size_t i) {
  char ua[128];
  snprintf(ua, sizeof(ua), "oai-tunnel-client/%s", tc_version_string());
  assert_string_equal(hdr(i, "Authorization"), "Bearer " API_KEY);
  assert_string_equal(hdr(i, "Accept"), "application/json");
  assert_string_equal(hdr(i, "User-Agent"), ua);
  assert_string_equal(hdr(i, "X-Tunnel-Client-Name"), "oai-tunnel-client");
  assert_string_equal(hdr(i, "X-Tunnel-Client-Version"), tc_version_string());
  const char *id = hdr(i, "X-Tunnel-Client-Instance-Id");
  assert_non_null(id);
  assert_int_equal(strlen(id), 32);
  assert_int_equal(strspn(id, "0123456789abcdef"), 32);
  assert_string_equal(id, tc_cp_instance_id());
  assert_string_equal(hdr(i, "X-Tunnel-MCP-Server-Info"),
                      "{\"version\":1,\"channels\":[{\"name\":\"main\"},"
                      "{\"name\":\"beta\",\"proc_affinity\":true}]}");
  assert_string_equal(hdr(i, "OpenAI-Organization"), "org-123");
  assert_string_equal(hdr(i, "X-Extra"), "extra-one");
  assert_null(tc_headers_get(&g.rec[i].headers, "Authorization", 1));
}

/* ---- tests --------------------------------------------------------------- */

static void test_base_url(void **state) {
  (void)state;
  char want[300];
  snprintf(want, sizeof(want), "%s/gw/dev", g.base_url);
  assert_string_equal(tc_cp_client_base(g_client), want);
}

static void test_poll_204_200_and_headers(void **state) {
  (void)state;
  static const char body[] =
      "{\"commands\":[{\"request_id\":\"r1\",\"shard_token\":\"s1\","
      "\"command_type\":\"jsonrpc\",\"channel\":\"main\","
      "\"created_at\":\"2025-01-01T00:00:00Z\",\"headers\":{},"
      "\"jsonrpc\":{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}},"
      "{\"request_id\":\"r2\",\"shard_token\":\"s2\","
      "\"command_type\":\"bogus\"}]}";
  struct step steps[] = {{204, NULL, NULL, 0}, {200, body, NULL, 0}};
  script(steps, 2);

  struct tc_cp_poll_result r;
  uint64_t before = tc_cp_now_ns();
  assert_int_equal(tc_cp_poll_once(g_client, 5, &r), 0);
  assert_int_equal(r.status, 204);
  assert_int_equal(r.commands.count, 0);
  assert_null(r.error);
  assert_true(r.receipt_ns >= before && r.receipt_ns <= tc_cp_now_ns());
  assert_string_equal(r.service_request_id, "svc-req-1");
  tc_cp_poll_result_clear(&r);

  assert_int_equal(tc_cp_poll_once(g_client, 99, &r), 0);
  assert_int_equal(r.status, 200);
  assert_int_equal(r.commands.count, 1);
  assert_string_equal(r.commands.items[0].request_id, "r1");
  assert_string_equal(r.commands.items[0].shard_token, "s1");
  assert_int_equal(r.commands.dropped_count, 1);
  assert_non_null(strstr(r.commands.dropped[0], "r2"));
  tc_cp_poll_result_clear(&r);

  char *json = NULL, *err = NULL;
  assert_int_equal(tc_cp_fetch_metadata(g_client, &json, &err), 0);
  assert_null(err);
  assert_string_equal(json, "{\"id\":\"" TUNNEL "\",\"name\":\"t\"}");
  free(json);

  assert_int_equal(nrecords(), 3);
  assert_string_equal(g.rec[0].method, "GET");
  assert_string_equal(g.rec[0].uri, "/gw/dev/v1/tunnels/" TUNNEL
                                    "/poll?channel=beta&channel=main&limit=5"
                                    "&timeout_ms=5000");
  /* limit is capped at 25 */
  assert_string_equal(g.rec[1].uri, "/gw/dev/v1/tunnels/" TUNNEL
                                    "/poll?channel=beta&channel=main&limit=25"
                                    "&timeout_ms=5000");
  assert_string_equal(g.rec[2].uri, "/gw/dev/v1/tunnels/" TUNNEL);
  for (size_t i = 0; i < 3; i++) {
    assert_common_headers(i);
    assert_null(hdr(i, "X-Tunnel-Shard-Token"));
  }
}

static void test_poll_error_envelope(void **state) {
  (void)state;
  struct step steps[] = {
      {429,
       "{\"error\":{\"message\":\"slow down\",\"type\":\"rate\",\"param\":null,"
       "\"code\":\"rate_limit_exceeded\"}}",
       "2", 0}};
  script(steps, 1);
  struct tc_cp_poll_result r;
  assert_int_equal(tc_cp_poll_once(g_client, 1, &r), -1);
  assert_int_equal(r.status, 429);
  assert_int_equal(r.tclass, TC_CP_TRANSPORT_OK);
  assert_false(r.interrupted);
  assert_true(r.has_retry_after);
  assert_int_equal(r.retry_after_ms, 2000);
  assert_string_equal(r.api_error.code, "rate_limit_exceeded");
  assert_non_null(strstr(r.error, "429"));
  assert_non_null(strstr(r.error, "rate_limit_exceeded"));
  tc_cp_poll_result_clear(&r);

  /* An invalid 200 body is a body error, retried by the poll loop. */
  struct step bad[] = {{200, "{not json", NULL, 0}};
  script(bad, 1);
  assert_int_equal(tc_cp_poll_once(g_client, 1, &r), -1);
  assert_int_equal(r.status, 200);
  assert_int_equal(r.tclass, TC_CP_TRANSPORT_BAD_BODY);
  tc_cp_poll_result_clear(&r);
}

/* A 100 MB error body: the poll fails with the status and the decoded
 * start of the body, and the client stops reading after 64 KiB instead of
 * taking in (and storing) the rest. */
static void test_poll_huge_error_body_not_read(void **state) {
  (void)state;
  pthread_mutex_lock(&g.lock);
  g.huge_bytes = 100u * 1000u * 1000u;
  atomic_store(&g.huge_sent, 0);
  pthread_mutex_unlock(&g.lock);
  struct tc_cp_poll_result r;
  assert_int_equal(tc_cp_poll_once(g_client, 1, &r), -1);
  assert_int_equal(r.status, 503);
  assert_int_equal(r.tclass, TC_CP_TRANSPORT_OK);
  assert_non_null(strstr(r.error, "HTTP 503"));
  /* What left the server: the 64 KiB decoded plus what the socket
   * buffers held when the client stopped — far below the body. */
  size_t sent = atomic_load(&g.huge_sent);
  if (sent > 16u * 1024u * 1024u)
    fail_msg("the client read %zu bytes of a 100 MB error body", sent);
  tc_cp_poll_result_clear(&r);

  /* The client goes on: the next poll (204) works. */
  assert_int_equal(tc_cp_poll_once(g_client, 1, &r), 0);
  assert_int_equal(r.status, 204);
  tc_cp_poll_result_clear(&r);
}

/* A command as the poll decoder would produce it. */
static void make_cmd(struct tc_cp_command *cmd, const char *xrid) {
  memset(cmd, 0, sizeof(*cmd));
  cmd->request_id = "req-1";
  cmd->shard_token = SHARD;
  cmd->type = TC_CP_CMD_JSONRPC;
  snprintf(cmd->channel, sizeof(cmd->channel), "main");
  if (xrid != NULL)
    tc_headers_add(&cmd->headers, "x-request-id", xrid);
}

static const char rpc_ok[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}";

static void make_resp(struct tc_cp_response *r, enum tc_cp_resp_type t) {
  memset(r, 0, sizeof(*r));
  r->request_id = "req-1";
  r->channel = "main";
  r->resp_code = 200;
  r->type = t;
  if (t == TC_CP_RESP_JSONRPC_RESPONSE || t == TC_CP_RESP_JSONRPC_NOTIFY) {
    r->resp_json = rpc_ok;
    r->resp_json_len = strlen(rpc_ok);
  }
}

static void test_post_headers_and_body(void **state) {
  (void)state;
  struct tc_cp_command cmd;
  struct tc_cp_response r;
  make_cmd(&cmd, "client-rid-7");
  make_resp(&r, TC_CP_RESP_JSONRPC_RESPONSE);
  char *err = NULL;
  assert_int_equal(tc_cp_post(g_client, &cmd, &r, 0, NULL, &err), 0);
  assert_null(err);
  char *want = tc_cp_response_encode(&r, &err);
  assert_non_null(want);
  assert_int_equal(nrecords(), 1);
  assert_string_equal(g.rec[0].method, "POST");
  assert_string_equal(g.rec[0].uri, "/gw/dev/v1/tunnels/" TUNNEL "/response");
  assert_common_headers(0);
  assert_string_equal(hdr(0, "Content-Type"), "application/json");
  assert_string_equal(hdr(0, "X-Tunnel-Shard-Token"), SHARD);
  assert_string_equal(hdr(0, "X-Client-Request-Id"), "client-rid-7");
  assert_null(hdr(0, "Expect"));
  assert_string_equal(g.rec[0].body, want);
  assert_null(strstr(g.rec[0].body, SHARD));
  free(want);
  tc_headers_clear(&cmd.headers);

  /* Without X-Request-Id in the command there is no X-Client-Request-Id. */
  make_cmd(&cmd, NULL);
  make_resp(&r, TC_CP_RESP_NOTIFY_ACK);
  assert_int_equal(tc_cp_post(g_client, &cmd, &r, 0, NULL, &err), 0);
  assert_int_equal(nrecords(), 2);
  assert_null(hdr(1, "X-Client-Request-Id"));
  assert_string_equal(hdr(1, "X-Tunnel-Shard-Token"), SHARD);
  assert_non_null(strstr(g.rec[1].body, "\"resp_type\":\"notify_ack\""));
}

static void test_post_503_then_200(void **state) {
  (void)state;
  struct step steps[] = {{503, "{}", NULL, 0},
                         {200, "{\"status\":\"ok\"}", NULL, 0}};
  script(steps, 2);
  struct tc_cp_command cmd;
  struct tc_cp_response r;
  make_cmd(&cmd, NULL);
  make_resp(&r, TC_CP_RESP_JSONRPC_RESPONSE);
  char *err = NULL;
  assert_int_equal(tc_cp_post(g_client, &cmd, &r, 0, NULL, &err), 0);
  assert_null(err);
  assert_int_equal(nrecords(), 2);
  /* Identical body and headers; the first backoff is exactly 200 ms. */
  assert_string_equal(g.rec[0].body, g.rec[1].body);
  assert_string_equal(hdr(1, "X-Tunnel-Shard-Token"), SHARD);
  assert_true(g.rec[1].at_ns - g.rec[0].at_ns >= 190000000ull);
}

static void test_post_429_retry_after(void **state) {
  (void)state;
  struct step steps[] = {{429, "{}", "1", 0},
                         {200, "{\"status\":\"ok\"}", NULL, 0}};
  script(steps, 2);
  struct tc_cp_command cmd;
  struct tc_cp_response r;
  make_cmd(&cmd, NULL);
  make_resp(&r, TC_CP_RESP_JSONRPC_RESPONSE);
  uint64_t t0 = tc_cp_now_ns();
  assert_int_equal(tc_cp_post(g_client, &cmd, &r, 0, NULL, NULL), 0);
  assert_true(ms_since(t0) >= 900);
  assert_int_equal(nrecords(), 2);
}

static void test_post_404_is_terminal(void **state) {
  (void)state;
  struct step steps[] = {
      {404, "{\"error\":{\"code\":\"pending_request_not_found\"}}", NULL, 0}};
  script(steps, 1);
  struct tc_cp_command cmd;
  struct tc_cp_response r;
  make_cmd(&cmd, NULL);
  make_resp(&r, TC_CP_RESP_JSONRPC_RESPONSE);
  char *err = NULL;
  assert_int_equal(tc_cp_post(g_client, &cmd, &r, 0, NULL, &err), 0);
  assert_null(err);
  usleep(300000); /* a retry would have happened by now */
  assert_int_equal(nrecords(), 1);
}

static void test_post_400_fails_at_once(void **state) {
  (void)state;
  struct step steps[] = {
      {400, "{\"error\":{\"message\":\"bad\",\"code\":\"invalid_body\"}}", NULL,
       0}};
  script(steps, 1);
  struct tc_cp_command cmd;
  struct tc_cp_response r;
  make_cmd(&cmd, NULL);
  make_resp(&r, TC_CP_RESP_JSONRPC_RESPONSE);
  char *err = NULL;
  assert_int_equal(tc_cp_post(g_client, &cmd, &r, 0, NULL, &err), -1);
  assert_non_null(err);
  assert_non_null(strstr(err, "req-1"));
  assert_non_null(strstr(err, "HTTP 400"));
  assert_non_null(strstr(err, "invalid_body"));
  assert_null(strstr(err, SHARD));
  assert_null(strstr(err, API_KEY));
  free(err);
  assert_int_equal(nrecords(), 1);
}

/* tunnel_client_response_posts_abandoned_total{reason} now. */
struct abandoned_q {
  const char *reason;
  double value;
};

static int abandoned_visit(void *ud, const struct tc_metric_sample *s) {
  struct abandoned_q *q = ud;
  if (strcmp(s->desc->name, "tunnel_client_response_posts_abandoned_total") ==
          0 &&
      strcmp(s->label_values[0], q->reason) == 0)
    q->value = s->value;
  return TC_OK;
}

static double abandoned(const char *reason) {
  struct abandoned_q q = {reason, 0};
  (void)tc_core_metrics();
  tc_metrics_visit(tc_metrics_registry_global(), abandoned_visit, &q);
  return q.value;
}

/* A control plane that is down for a while (five 503s, a few seconds of
 * backoff) does not lose a terminal response: it is retried until it gets
 * its 200, and never posted again after that. */
static void test_terminal_post_outlasts_an_outage(void **state) {
  (void)state;
  struct step steps[] = {
      {503, "", NULL, 0}, {503, "", NULL, 0},
      {503, "", NULL, 0}, {503, "", NULL, 0},
      {503, "", NULL, 0}, {200, "{\"status\":\"ok\"}", NULL, 0}};
  script(steps, 6);
  struct tc_cp_command cmd;
  struct tc_cp_response r;
  make_cmd(&cmd, NULL);
  make_resp(&r, TC_CP_RESP_JSONRPC_RESPONSE);
  char *err = NULL;
  assert_int_equal(tc_cp_post(g_client, &cmd, &r, 0, NULL, &err), 0);
  assert_null(err);
  assert_int_equal(nrecords(), 6);
  for (size_t i = 1; i < 6; i++) {
    assert_string_equal(g.rec[i].body, g.rec[0].body);
    /* no wait longer than the 2 s backoff cap */
    assert_true(g.rec[i].at_ns - g.rec[i - 1].at_ns < 2500000000ull);
  }
  usleep(300000); /* a post after the 200 would have happened by now */
  assert_int_equal(nrecords(), 6);
}

/* Notifications keep the official limit of 3 attempts. */
static void test_notify_three_attempts_max(void **state) {
  (void)state;
  struct step steps[] = {{429, "", NULL, 0},
                         {429, "", NULL, 0},
                         {429, "", NULL, 0},
                         {200, "", NULL, 0}};
  script(steps, 4);
  struct tc_cp_command cmd;
  struct tc_cp_response r;
  make_cmd(&cmd, NULL);
  make_resp(&r, TC_CP_RESP_JSONRPC_NOTIFY);
  char *err = NULL;
  assert_int_equal(tc_cp_post(g_client, &cmd, &r, 0, NULL, &err), -1);
  assert_non_null(strstr(err, "3 attempt"));
  free(err);
  assert_int_equal(nrecords(), 3);
}

/* Without a deadline the retry budget bounds a terminal response; giving
 * up is counted. */
static void test_terminal_post_budget(void **state) {
  (void)state;
  struct step steps[16];
  for (size_t i = 0; i < 16; i++)
    steps[i] = (struct step){503, "", NULL, 0};
  script(steps, 16);
  /* The client reads its settings when they are applied (a reload). */
  struct tc_cp_settings *st = NULL;
  char *serr = NULL;
  g_cfg.cp_response_retry_budget_ms = 1000;
  assert_int_equal(tc_cp_settings_new(&g_cfg, &st, &serr), 0);
  tc_cp_client_apply(g_client, st);
  double before = abandoned("budget");
  struct tc_cp_command cmd;
  struct tc_cp_response r;
  make_cmd(&cmd, NULL);
  make_resp(&r, TC_CP_RESP_JSONRPC_RESPONSE);
  char *err = NULL;
  uint64_t t0 = tc_cp_now_ns();
  assert_int_equal(tc_cp_post(g_client, &cmd, &r, 0, NULL, &err), -1);
  g_cfg.cp_response_retry_budget_ms = 0;
  assert_int_equal(tc_cp_settings_new(&g_cfg, &st, &serr), 0);
  tc_cp_client_apply(g_client, st);
  assert_true(ms_since(t0) < 1500);
  assert_true(nrecords() >= 2);
  assert_non_null(strstr(err, "retry budget"));
  free(err);
  assert_true(abandoned("budget") == before + 1);
}

static void *stop_later(void *arg) {
  usleep(300000);
  atomic_store((atomic_int *)arg, 1);
  return NULL;
}

/* Once the shutdown grace ran out the retries stop at once. */
static void test_terminal_post_stops_at_shutdown(void **state) {
  (void)state;
  struct step steps[16];
  for (size_t i = 0; i < 16; i++)
    steps[i] = (struct step){503, "", "30", 0};
  script(steps, 16);
  double before = abandoned("shutdown");
  atomic_int stop = 0;
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, stop_later, &stop), 0);
  struct tc_cp_command cmd;
  struct tc_cp_response r;
  make_cmd(&cmd, NULL);
  make_resp(&r, TC_CP_RESP_JSONRPC_RESPONSE);
  char *err = NULL;
  uint64_t t0 = tc_cp_now_ns();
  assert_int_equal(tc_cp_post(g_client, &cmd, &r, 0, &stop, &err), -1);
  pthread_join(t, NULL);
  assert_true(ms_since(t0) < 2000); /* not the 30 s Retry-After */
  assert_int_equal(nrecords(), 1);
  assert_non_null(strstr(err, "shutdown grace"));
  free(err);
  assert_true(abandoned("shutdown") == before + 1);
}

static void test_notify_retries_only_429(void **state) {
  (void)state;
  struct step steps[] = {{503, "", NULL, 0}};
  script(steps, 1);
  struct tc_cp_command cmd;
  struct tc_cp_response r;
  make_cmd(&cmd, NULL);
  make_resp(&r, TC_CP_RESP_JSONRPC_NOTIFY);
  char *err = NULL;
  assert_int_equal(tc_cp_post(g_client, &cmd, &r, 0, NULL, &err), -1);
  free(err);
  assert_int_equal(nrecords(), 1);
}

static void test_post_deadline_stops_retries(void **state) {
  (void)state;
  struct step steps[] = {
      {503, "", "5", 0}, {503, "", "5", 0}, {503, "", "5", 0}};
  script(steps, 3);
  struct tc_cp_command cmd;
  struct tc_cp_response r;
  make_cmd(&cmd, NULL);
  make_resp(&r, TC_CP_RESP_JSONRPC_RESPONSE);
  char *err = NULL;
  uint64_t t0 = tc_cp_now_ns();
  assert_int_equal(
      tc_cp_post(g_client, &cmd, &r, t0 + 1000ull * 1000000ull, NULL, &err),
      -1);
  /* Retry-After 5 s would pass the 1 s deadline: give up without sleeping. */
  assert_true(ms_since(t0) < 900);
  assert_non_null(strstr(err, "deadline"));
  free(err);
  assert_int_equal(nrecords(), 1);

  /* An already expired deadline sends nothing. */
  clear_records();
  err = NULL;
  assert_int_equal(
      tc_cp_post(g_client, &cmd, &r, tc_cp_now_ns() - 1, NULL, &err), -1);
  free(err);
  assert_int_equal(nrecords(), 0);
}

static void *interrupt_later(void *arg) {
  usleep(200000);
  tc_cp_client_interrupt(arg);
  return NULL;
}

static void test_interrupt_hanging_poll(void **state) {
  (void)state;
  struct step steps[] = {{204, NULL, NULL, 4000}};
  script(steps, 1);
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, interrupt_later, g_client), 0);
  uint64_t t0 = tc_cp_now_ns();
  struct tc_cp_poll_result r;
  assert_int_equal(tc_cp_poll_once(g_client, 1, &r), -1);
  uint64_t took = ms_since(t0);
  pthread_join(t, NULL);
  assert_true(r.interrupted);
  assert_true(took >= 150 && took < 1000);
  tc_cp_poll_result_clear(&r);

  /* The next request runs normally (interrupt is not sticky). */
  script(NULL, 0);
  assert_int_equal(tc_cp_poll_once(g_client, 1, &r), 0);
  assert_int_equal(r.status, 204);
  tc_cp_poll_result_clear(&r);
}

static void test_cancel_flag(void **state) {
  (void)state;
  atomic_int cancel;
  atomic_init(&cancel, 1);
  struct tc_cp_poll_result r;
  assert_int_equal(tc_cp_poll_once_cancel(g_client, 1, &cancel, &r), -1);
  assert_true(r.interrupted);
  tc_cp_poll_result_clear(&r);
  assert_int_equal(nrecords(), 0);
}

/* ---- leaving a poll: a raw TCP service that controls when its reply is
 * written relative to the client's stop. */

struct raw_service {
  int lfd, port;
  int reply;                 /* 1: reply when told; 0: close at EOF */
  atomic_int got_request;    /* the poll request was read */
  atomic_int write_now;      /* the test lets the reply go */
  atomic_int saw_half_close; /* read EOF from the client */
  pthread_t thread;
};

static void raw_wait(atomic_int *flag) {
  for (int i = 0; i < 500 && !atomic_load(flag); i++)
    usleep(10000);
  assert_true(atomic_load(flag));
}

static void *raw_main(void *arg) {
  struct raw_service *s = arg;
  int fd = accept(s->lfd, NULL, NULL);
  if (fd < 0)
    return NULL;
  char buf[8192];
  size_t len = 0;
  while (len < sizeof(buf) - 1) {
    ssize_t n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
    if (n <= 0)
      break;
    len += (size_t)n;
    buf[len] = '\0';
    if (strstr(buf, "\r\n\r\n") != NULL)
      break;
  }
  atomic_store(&s->got_request, 1);
  if (s->reply) {
    while (!atomic_load(&s->write_now))
      usleep(1000);
    static const char body[] =
        "{\"commands\":[{\"request_id\":\"held\",\"shard_token\":\"s1\","
        "\"command_type\":\"jsonrpc\",\"channel\":\"main\","
        "\"created_at\":\"2025-01-01T00:00:00Z\",\"headers\":{},"
        "\"jsonrpc\":{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}}]}";
    char reply[1024];
    int n = snprintf(reply, sizeof(reply),
                     "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     strlen(body), body);
    assert_int_equal(send(fd, reply, (size_t)n, MSG_NOSIGNAL), n);
  }
  /* Then wait for the client's half-close (EOF), 5 s at most. */
  struct timeval tv = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (recv(fd, buf, sizeof(buf), 0) == 0)
    atomic_store(&s->saw_half_close, 1);
  close(fd);
  return NULL;
}

static struct tc_cp_client *raw_start(struct raw_service *s, int reply) {
  memset(s, 0, sizeof(*s));
  s->reply = reply;
  s->lfd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
  assert_int_equal(listen(s->lfd, 4), 0);
  socklen_t al = sizeof(a);
  getsockname(s->lfd, (struct sockaddr *)&a, &al);
  s->port = ntohs(a.sin_port);
  assert_int_equal(pthread_create(&s->thread, NULL, raw_main, s), 0);
  static char base[64];
  snprintf(base, sizeof(base), "http://127.0.0.1:%d", s->port);
  static struct tc_config cfg; /* borrowed by the client */
  cfg = g_cfg;
  cfg.cp_base_url = base;
  cfg.cp_url_path = NULL;
  struct tc_cp_client *c = NULL;
  char *err = NULL;
  assert_int_equal(tc_cp_client_new(&c, &cfg, NULL, &err), 0);
  return c;
}

struct poll_run {
  struct tc_cp_client *c;
  atomic_int cancel;
  struct tc_cp_poll_result r;
  int rc;
};

static void *poll_thread(void *arg) {
  struct poll_run *p = arg;
  p->rc = tc_cp_poll_once_cancel(p->c, 5, &p->cancel, &p->r);
  return NULL;
}

/* The service wrote its reply just after the agent was told to stop, before
 * the agent read it: the service counts those commands as delivered, so
 * the agent must read and return them, not drop them with the connection. */
static void test_stop_keeps_reply_already_sent(void **state) {
  (void)state;
  struct raw_service s;
  struct poll_run p = {.c = raw_start(&s, 1)};
  atomic_init(&p.cancel, 0);
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, poll_thread, &p), 0);
  raw_wait(&s.got_request);
  atomic_store(&p.cancel, 1); /* stop, not yet noticed: no wake-up */
  atomic_store(&s.write_now, 1);
  pthread_join(t, NULL);
  pthread_join(s.thread, NULL);
  assert_int_equal(p.rc, 0);
  assert_false(p.r.interrupted);
  assert_int_equal(p.r.status, 200);
  assert_int_equal(p.r.commands.count, 1);
  assert_string_equal(p.r.commands.items[0].request_id, "held");
  assert_true(atomic_load(&s.saw_half_close));
  tc_cp_poll_result_clear(&p.r);
  tc_cp_client_free(p.c);
  close(s.lfd);
}

/* A service that answers the half-close by closing: the poll ends at once
 * as interrupted, without waiting out the leave time. */
static void test_stop_half_closes_and_ends_at_eof(void **state) {
  (void)state;
  struct raw_service s;
  struct poll_run p = {.c = raw_start(&s, 0)};
  atomic_init(&p.cancel, 0);
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, poll_thread, &p), 0);
  raw_wait(&s.got_request);
  uint64_t t0 = tc_cp_now_ns();
  atomic_store(&p.cancel, 1);
  tc_cp_client_wake_poll(p.c);
  pthread_join(t, NULL);
  uint64_t took = ms_since(t0);
  pthread_join(s.thread, NULL);
  assert_int_equal(p.rc, -1);
  assert_true(p.r.interrupted);
  assert_int_equal(p.r.commands.count, 0);
  assert_true(atomic_load(&s.saw_half_close));
  assert_true(took < 450); /* ended by the EOF, not the 500 ms bound */
  tc_cp_poll_result_clear(&p.r);
  tc_cp_client_free(p.c);
  close(s.lfd);
}

static void test_new_rejects_bad_config(void **state) {
  (void)state;
  struct tc_config cfg = g_cfg;
  struct tc_cp_client *c = NULL;
  char *err = NULL;
  cfg.cp_api_key = "bad key with spaces";
  assert_int_equal(tc_cp_client_new(&c, &cfg, NULL, &err), -1);
  assert_null(c);
  assert_non_null(strstr(err, "api-key"));
  assert_null(strstr(err, "bad key with spaces"));
  free(err);
  cfg = g_cfg;
  cfg.cp_tunnel_id = "tunnel_XYZ";
  assert_int_equal(tc_cp_client_new(&c, &cfg, NULL, &err), -1);
  assert_non_null(strstr(err, "tunnel-id"));
  free(err);
  cfg = g_cfg;
  cfg.cp_base_url = "ftp://example.com";
  assert_int_equal(tc_cp_client_new(&c, &cfg, NULL, &err), -1);
  assert_non_null(strstr(err, "base-url"));
  free(err);
}

/* A reload's settings apply from the next request on: headers (key,
 * organization, extra headers, server info), poll channels and timeout;
 * the base URL and tunnel id stay. Bad settings are refused whole, without
 * the key in the error. */
static void test_reloaded_settings(void **state) {
  (void)state;
  struct tc_config cfg = g_cfg;
  cfg.cp_api_key = "rotated-key-4567";
  cfg.cp_organization_id = "org-456";
  cfg.cp_extra_headers = (struct tc_headers)TC_HEADERS_INIT;
  tc_headers_add(&cfg.cp_extra_headers, "X-Extra", "extra-two");
  char *one[] = {"main"};
  cfg.cp_poll_channels = one;
  cfg.cp_poll_channel_count = 1;
  cfg.cp_poll_timeout_ms = 2000;
  cfg.binding_count = 1;
  cfg.cp_tunnel_id = "tunnel_ffffffffffffffffffffffffffffffff";
  struct tc_cp_settings *st = NULL;
  char *err = NULL;
  assert_int_equal(tc_cp_settings_new(&cfg, &st, &err), 0);
  tc_cp_client_apply(g_client, st);
  struct step steps[] = {{204, NULL, NULL, 0}};
  script(steps, 1);
  struct tc_cp_poll_result r;
  assert_int_equal(tc_cp_poll_once(g_client, 3, &r), 0);
  tc_cp_poll_result_clear(&r);
  struct tc_cp_command cmd;
  struct tc_cp_response resp;
  make_cmd(&cmd, NULL);
  make_resp(&resp, TC_CP_RESP_JSONRPC_RESPONSE);
  assert_int_equal(tc_cp_post(g_client, &cmd, &resp, 0, NULL, &err), 0);
  tc_headers_clear(&cmd.headers);
  assert_int_equal(nrecords(), 2);
  assert_string_equal(g.rec[0].uri,
                      "/gw/dev/v1/tunnels/" TUNNEL "/poll?channel=main&limit=3"
                      "&timeout_ms=2000");
  for (size_t i = 0; i < 2; i++) {
    assert_string_equal(hdr(i, "Authorization"), "Bearer rotated-key-4567");
    assert_string_equal(hdr(i, "OpenAI-Organization"), "org-456");
    assert_string_equal(hdr(i, "X-Extra"), "extra-two");
    assert_string_equal(hdr(i, "X-Tunnel-MCP-Server-Info"),
                        "{\"version\":1,\"channels\":[{\"name\":\"main\"}]}");
  }
  assert_string_equal(g.rec[1].uri, "/gw/dev/v1/tunnels/" TUNNEL "/response");

  cfg.cp_api_key = "bad key with spaces";
  assert_int_equal(tc_cp_settings_new(&cfg, &st, &err), -1);
  assert_null(st);
  assert_non_null(strstr(err, "api-key"));
  assert_null(strstr(err, "bad key"));
  free(err);
  tc_headers_clear(&cfg.cp_extra_headers);
  /* Back to the start-up settings for the tests that follow. */
  assert_int_equal(tc_cp_settings_new(&g_cfg, &st, &err), 0);
  tc_cp_client_apply(g_client, st);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup(test_base_url, reset),
      cmocka_unit_test_setup(test_poll_204_200_and_headers, reset),
      cmocka_unit_test_setup(test_poll_error_envelope, reset),
      cmocka_unit_test_setup(test_poll_huge_error_body_not_read, reset),
      cmocka_unit_test_setup(test_post_headers_and_body, reset),
      cmocka_unit_test_setup(test_post_503_then_200, reset),
      cmocka_unit_test_setup(test_post_429_retry_after, reset),
      cmocka_unit_test_setup(test_post_404_is_terminal, reset),
      cmocka_unit_test_setup(test_post_400_fails_at_once, reset),
      cmocka_unit_test_setup(test_terminal_post_outlasts_an_outage, reset),
      cmocka_unit_test_setup(test_notify_three_attempts_max, reset),
      cmocka_unit_test_setup(test_terminal_post_budget, reset),
      cmocka_unit_test_setup(test_terminal_post_stops_at_shutdown, reset),
      cmocka_unit_test_setup(test_notify_retries_only_429, reset),
      cmocka_unit_test_setup(test_post_deadline_stops_retries, reset),
      cmocka_unit_test_setup(test_interrupt_hanging_poll, reset),
      cmocka_unit_test_setup(test_cancel_flag, reset),
      cmocka_unit_test_setup(test_stop_keeps_reply_already_sent, reset),
      cmocka_unit_test_setup(test_stop_half_closes_and_ends_at_eof, reset),
      cmocka_unit_test_setup(test_new_rejects_bad_config, reset),
      cmocka_unit_test_setup(test_reloaded_settings, reset),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
