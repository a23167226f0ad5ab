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

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "config/config.h"
#include "controlplane/client.h"
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
  assert_int_equal(tc_cp_post(g_client, &cmd, &r, 0, &err), 0);
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
  assert_int_equal(tc_cp_post(g_client, &cmd, &r, 0, &err), 0);
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
  assert_int_equal(tc_cp_post(g_client, &cmd, &r, 0, &err), 0);
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
  assert_int_equal(tc_cp_post(g_client, &cmd, &r, 0, NULL), 0);
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
  assert_int_equal(tc_cp_post(g_client, &cmd, &r, 0, &err), 0);
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
  assert_int_equal(tc_cp_post(g_client, &cmd, &r, 0, &err), -1);
  assert_non_null(err);
  assert_non_null(strstr(err, "req-1"));
  assert_non_null(strstr(err, "HTTP 400"));
  assert_non_null(strstr(err, "invalid_body"));
  assert_null(strstr(err, SHARD));
  assert_null(strstr(err, API_KEY));
  free(err);
  assert_int_equal(nrecords(), 1);
}

static void test_post_three_attempts_max(void **state) {
  (void)state;
  struct step steps[] = {{502, "", NULL, 0},
                         {502, "", NULL, 0},
                         {502, "", NULL, 0},
                         {200, "", NULL, 0}};
  script(steps, 4);
  struct tc_cp_command cmd;
  struct tc_cp_response r;
  make_cmd(&cmd, NULL);
  make_resp(&r, TC_CP_RESP_JSONRPC_RESPONSE);
  char *err = NULL;
  assert_int_equal(tc_cp_post(g_client, &cmd, &r, 0, &err), -1);
  assert_non_null(strstr(err, "3 attempt"));
  free(err);
  assert_int_equal(nrecords(), 3);
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
  assert_int_equal(tc_cp_post(g_client, &cmd, &r, 0, &err), -1);
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
      tc_cp_post(g_client, &cmd, &r, t0 + 1000ull * 1000000ull, &err), -1);
  /* Retry-After 5 s would pass the 1 s deadline: give up without sleeping. */
  assert_true(ms_since(t0) < 900);
  assert_non_null(strstr(err, "deadline"));
  free(err);
  assert_int_equal(nrecords(), 1);

  /* An already expired deadline sends nothing. */
  clear_records();
  err = NULL;
  assert_int_equal(tc_cp_post(g_client, &cmd, &r, tc_cp_now_ns() - 1, &err),
                   -1);
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
  assert_int_equal(tc_cp_post(g_client, &cmd, &resp, 0, &err), 0);
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
      cmocka_unit_test_setup(test_post_headers_and_body, reset),
      cmocka_unit_test_setup(test_post_503_then_200, reset),
      cmocka_unit_test_setup(test_post_429_retry_after, reset),
      cmocka_unit_test_setup(test_post_404_is_terminal, reset),
      cmocka_unit_test_setup(test_post_400_fails_at_once, reset),
      cmocka_unit_test_setup(test_post_three_attempts_max, reset),
      cmocka_unit_test_setup(test_notify_retries_only_429, reset),
      cmocka_unit_test_setup(test_post_deadline_stops_retries, reset),
      cmocka_unit_test_setup(test_interrupt_hanging_poll, reset),
      cmocka_unit_test_setup(test_cancel_flag, reset),
      cmocka_unit_test_setup(test_new_rejects_bad_config, reset),
      cmocka_unit_test_setup(test_reloaded_settings, reset),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
