/* Unit tests for controlplane/command.c: poll bodies (the contract's wire
 * fixture included), per-command drops with reasons that never show the
 * shard token, malformed JSON-RPC kept for an error reply, exact jsonrpc
 * bytes, deadlines, headers, and the error envelope. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "controlplane/command.h"

static char *read_data(const char *rel, size_t *len) {
  const char *dir = getenv("TC_TEST_DATA");
  char path[1024];
  snprintf(path, sizeof(path), "%s/%s", dir ? dir : "tests/data", rel);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  char *buf = malloc(1 << 16);
  assert_non_null(buf);
  *len = fread(buf, 1, (1 << 16) - 1, f);
  buf[*len] = '\0';
  fclose(f);
  return buf;
}

static int decode(const char *body, struct tc_cp_command_list *l) {
  char *err = NULL;
  int rc = tc_cp_decode_poll_body(body, strlen(body), l, &err);
  if (rc != 0) {
    assert_non_null(err);
    free(err);
  } else {
    assert_null(err);
  }
  return rc;
}

static void test_wire_fixture(void **state) {
  size_t len;
  char *body = read_data("wire/poll_command_envelope.json", &len);
  struct tc_cp_command_list l;
  char *err = NULL;
  assert_int_equal(tc_cp_decode_poll_body(body, len, &l, &err), 0);
  assert_int_equal(l.count, 2);
  assert_int_equal(l.dropped_count, 0);
  struct tc_cp_command *c = &l.items[0];
  assert_string_equal(c->request_id, "cmd_fixture_jsonrpc");
  assert_string_equal(c->shard_token, "fixture:jsonrpc");
  assert_int_equal(c->type, TC_CP_CMD_JSONRPC);
  assert_string_equal(c->channel, "harpoon");
  assert_true(c->has_created_at);
  assert_true(c->created_at_unix_ms == 1781266394000LL);
  assert_false(c->has_deadline);
  assert_int_equal(c->headers.count, 1);
  assert_string_equal(tc_headers_get(&c->headers, "X-Test", 0), "alpha");
  assert_int_equal(c->rpc_kind, TC_CP_RPC_CALL);
  assert_string_equal(c->rpc_id, "\"rpc-1\"");
  assert_string_equal(c->rpc_method, "tools/list");
  assert_null(c->invalid);
  /* The member's exact bytes, indentation and all. */
  const char *js = strstr(body, "{\n        \"jsonrpc\": \"2.0\"");
  assert_non_null(js);
  assert_int_equal(c->jsonrpc_len, strlen(c->jsonrpc));
  assert_memory_equal(c->jsonrpc, js, c->jsonrpc_len);
  assert_int_equal(c->jsonrpc[c->jsonrpc_len - 1], '}');

  c = &l.items[1];
  assert_string_equal(c->request_id, "cmd_fixture_session_end");
  assert_int_equal(c->type, TC_CP_CMD_SESSION_TERMINATION);
  assert_string_equal(c->channel, "main");
  assert_int_equal(c->headers.count, 0);
  assert_null(c->jsonrpc);
  assert_int_equal(c->rpc_kind, TC_CP_RPC_NONE);
  /* No Mcp-Session-Id: kept, but flagged for an error reply. */
  assert_non_null(c->invalid);
  tc_cp_command_list_free(&l);
  assert_int_equal(l.count, 0);
  free(body);
}

static void test_empty_bodies(void **state) {
  struct tc_cp_command_list l;
  const char *empty[] = {"{\"commands\":[]}", "{\"commands\":null}", "{}",
                         " {\"commands\" : [ ] , \"x\":1}"};
  for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
    assert_int_equal(decode(empty[i], &l), 0);
    assert_int_equal(l.count, 0);
    assert_int_equal(l.dropped_count, 0);
    tc_cp_command_list_free(&l);
  }
  const char *bad[] = {"",
                       "not json",
                       "[]",
                       "{\"commands\":{}}",
                       "{\"commands\":\"x\"}",
                       "{\"commands\":[}"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(decode(bad[i], &l), -1);
    assert_int_equal(l.count, 0);
  }
}

#define GOOD_RPC                                                               \
  "\"jsonrpc\":{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\"}"
#define CMD(extra)                                                             \
  "{\"request_id\":\"r1\",\"shard_token\":\"SECRET-SHARD\","                   \
  "\"command_type\":\"jsonrpc\"," extra "}"

static void expect_drop(const char *cmd, const char *reason_part) {
  char body[2048];
  snprintf(body, sizeof(body), "{\"commands\":[%s," CMD(GOOD_RPC) "]}", cmd);
  struct tc_cp_command_list l;
  assert_int_equal(decode(body, &l), 0);
  assert_int_equal(l.count, 1); /* the good one survives */
  assert_string_equal(l.items[0].request_id, "r1");
  assert_int_equal(l.dropped_count, 1);
  const char *why = l.dropped[0];
  assert_non_null(strstr(why, "#0"));
  assert_non_null(strstr(why, reason_part));
  assert_null(strstr(why, "SECRET"));
  tc_cp_command_list_free(&l);
}

static void test_drops(void **state) {
  expect_drop("{\"request_id\":\"a1\",\"shard_token\":\"SECRET-1\","
              "\"command_type\":\"bogus\"}",
              "unknown command_type");
  expect_drop("{\"request_id\":\"a1\",\"shard_token\":\"SECRET-1\"}",
              "command_type is missing");
  expect_drop("{\"request_id\":\"a1\",\"shard_token\":\"SECRET-1\","
              "\"command_type\":5}",
              "command_type is not a string");
  expect_drop("{\"request_id\":\"\",\"shard_token\":\"SECRET-1\","
              "\"command_type\":\"jsonrpc\"," GOOD_RPC "}",
              "request_id");
  expect_drop("{\"request_id\":\"a1\",\"shard_token\":\"\","
              "\"command_type\":\"jsonrpc\"," GOOD_RPC "}",
              "shard_token");
  expect_drop("{\"request_id\":\"a1\",\"shard_token\":\"SECRET-1\","
              "\"command_type\":\"jsonrpc\",\"channel\":7," GOOD_RPC "}",
              "channel is not a string");
  expect_drop("{\"request_id\":\"a1\",\"shard_token\":\"SECRET-1\","
              "\"command_type\":\"jsonrpc\",\"channel\":\"no/way\"," GOOD_RPC
              "}",
              "channel is not a valid name");
  expect_drop(
      "{\"request_id\":\"a1\",\"shard_token\":\"SECRET-1\","
      "\"command_type\":\"jsonrpc\",\"created_at\":\"yesterday\"," GOOD_RPC "}",
      "created_at");
  expect_drop("{\"request_id\":\"a1\",\"shard_token\":\"SECRET-1\","
              "\"command_type\":\"jsonrpc\",\"created_at\":1," GOOD_RPC "}",
              "created_at is not a string");
  expect_drop("{\"request_id\":\"a1\",\"shard_token\":\"SECRET-1\","
              "\"command_type\":\"jsonrpc\",\"headers\":{\"a\":\"b\"}," GOOD_RPC
              "}",
              "headers");
  expect_drop("{\"request_id\":\"a1\",\"shard_token\":\"SECRET-1\","
              "\"command_type\":\"jsonrpc\",\"headers\":[]," GOOD_RPC "}",
              "headers");
  expect_drop("\"just a string\"", "not a JSON object");
  /* The request id appears JSON-quoted in the reason. */
  expect_drop("{\"request_id\":\"req-\\n42\",\"shard_token\":\"SECRET-1\","
              "\"command_type\":\"nope\"}",
              "(request_id \"req-\\n42\")");
}

static struct tc_cp_command *one(const char *cmd,
                                 struct tc_cp_command_list *l) {
  char body[4096];
  snprintf(body, sizeof(body), "{\"commands\":[%s]}", cmd);
  assert_int_equal(decode(body, l), 0);
  assert_int_equal(l->dropped_count, 0);
  assert_int_equal(l->count, 1);
  return &l->items[0];
}

static void test_fields(void **state) {
  struct tc_cp_command_list l;
  struct tc_cp_command *c =
      one(CMD("\"channel\":\"  Extra_1 \",\"response_timeout\":\"4500ms\","
              "\"created_at\":\"2026-06-12T14:13:14.5+02:00\","
              "\"headers\":{\"X-Request-Id\":[\"x1\"],\"Accept\":[\"a\",\"b\"],"
              "\"Empty\":null},\"future_field\":{\"x\":1},"
              "\"jsonrpc\" : {\"method\":\"n\",\"jsonrpc\":\"2.0\","
              "\"params\":{\"v\":0.1,\"w\":1e3}}"),
          &l);
  assert_string_equal(c->channel, "extra_1");
  assert_true(c->has_deadline);
  assert_true(c->response_timeout_ns == 4500000000LL);
  assert_true(c->created_at_unix_ms == 1781266394500LL);
  assert_int_equal(c->headers.count, 3);
  assert_string_equal(tc_headers_get(&c->headers, "x-request-id", 0), "x1");
  assert_string_equal(tc_headers_get(&c->headers, "accept", 1), "b");
  assert_int_equal(c->rpc_kind, TC_CP_RPC_NOTIFICATION);
  assert_null(c->rpc_id);
  assert_string_equal(c->rpc_method, "n");
  /* Numbers are not re-encoded (jansson would write 0.10000000000000001). */
  assert_string_equal(c->jsonrpc, "{\"method\":\"n\",\"jsonrpc\":\"2.0\","
                                  "\"params\":{\"v\":0.1,\"w\":1e3}}");
  tc_cp_command_list_free(&l);

  /* Deadline cases: 0s is a real (expired) deadline; the rest mean none. */
  c = one(CMD("\"response_timeout\":\"0s\"," GOOD_RPC), &l);
  assert_true(c->has_deadline && c->response_timeout_ns == 0);
  assert_string_equal(c->rpc_id, "7");
  assert_int_equal(c->rpc_kind, TC_CP_RPC_CALL);
  tc_cp_command_list_free(&l);
  const char *none[] = {"\"0s \"", "null", "30", "\"1m30s\"", "{}", "\"-1s\""};
  for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
    char cmd[512];
    snprintf(cmd, sizeof(cmd), CMD("\"response_timeout\":%s," GOOD_RPC),
             none[i]);
    c = one(cmd, &l);
    assert_false(c->has_deadline);
    tc_cp_command_list_free(&l);
  }

  /* Duplicate member: the last one counts, for the bytes too. */
  c = one(CMD("\"jsonrpc\":{\"x\":1},\"jsonrpc\":{\"jsonrpc\":\"2.0\","
              "\"id\":\"a\\\"b\",\"method\":\"m\"}"),
          &l);
  assert_int_equal(c->rpc_kind, TC_CP_RPC_CALL);
  assert_string_equal(c->rpc_id, "\"a\\\"b\"");
  assert_string_equal(
      c->jsonrpc, "{\"jsonrpc\":\"2.0\",\"id\":\"a\\\"b\",\"method\":\"m\"}");
  tc_cp_command_list_free(&l);

  /* oauth_discovery and session_termination with a session id. */
  c = one("{\"request_id\":\"o1\",\"shard_token\":\"s\","
          "\"command_type\":\"oauth_discovery\"}",
          &l);
  assert_int_equal(c->type, TC_CP_CMD_OAUTH_DISCOVERY);
  assert_null(c->invalid);
  tc_cp_command_list_free(&l);
  c = one("{\"request_id\":\"t1\",\"shard_token\":\"s\","
          "\"command_type\":\"session_termination\","
          "\"headers\":{\"mcp-session-id\":[\"abc\"]}}",
          &l);
  assert_null(c->invalid);
  tc_cp_command_list_free(&l);
}

/* Escaped strings are decoded; of duplicate members the last counts (as a
 * decoder would keep it); numbers beyond 64 bits are valid JSON and pass
 * through byte-exact. */
/* Hop-by-hop headers, the properties of the agent's own request, caller
 * address claims and cookies never reach a transport; the rest passes in
 * order (docs/protocol.md, "Command headers"). */
static void test_headers_stripped(void **state) {
  (void)state;
  struct tc_cp_command_list l;
  struct tc_cp_command *c = one(
      CMD("\"headers\":{"
          "\"Connection\":[\"keep-alive, X-Hop-A\",\"x-hop-b\"],"
          "\"X-Hop-A\":[\"1\"],\"X-HOP-B\":[\"2\"],\"Keep-Alive\":[\"t=5\"],"
          "\"Proxy-Connection\":[\"x\"],\"te\":[\"trailers\"],"
          "\"Transfer-Encoding\":[\"chunked\"],\"Upgrade\":[\"h2c\"],"
          "\"Trailer\":[\"X\"],\"Proxy-Authorization\":[\"Basic cHJveHk=\"],"
          "\"Proxy-Authenticate\":[\"Basic\"],\"Host\":[\"evil.example\"],"
          "\"Content-Length\":[\"999\"],\"Content-Type\":[\"text/plain\"],"
          "\"Content-Encoding\":[\"gzip\"],\"Expect\":[\"100-continue\"],"
          "\"Accept-Encoding\":[\"gzip\"],\"Forwarded\":[\"for=1.2.3.4\"],"
          "\"X-Forwarded-For\":[\"1.2.3.4\"],\"x-forwarded-proto\":[\"https\"],"
          "\"X-Real-IP\":[\"1.2.3.4\"],\"True-Client-IP\":[\"1.2.3.4\"],"
          "\"CF-Connecting-IP\":[\"1.2.3.4\"],\"X-Client-IP\":[\"1.2.3.4\"],"
          "\"X-Cluster-Client-IP\":[\"1.2.3.4\"],"
          "\"X-Original-Forwarded-For\":[\"1.2.3.4\"],\"Via\":[\"1.1 edge\"],"
          "\"Cookie\":[\"session=abc\"],"
          "\"Authorization\":[\"Bearer tok\"],\"Mcp-Session-Id\":[\"s1\"],"
          "\"Mcp-Protocol-Version\":[\"2025-06-18\"],\"Accept\":[\"a\",\"b\"],"
          "\"Last-Event-ID\":[\"e7\"],\"Origin\":[\"https://app.example\"],"
          "\"User-Agent\":[\"ua\"],\"X-Forwarded\":[\"kept: not a prefix "
          "match\"],\"X-Custom\":[\"c\"]},"
          "\"jsonrpc\":{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}"),
      &l);
  static const char *const kept[][2] = {
      {"Authorization", "Bearer tok"},
      {"Mcp-Session-Id", "s1"},
      {"Mcp-Protocol-Version", "2025-06-18"},
      {"Accept", "a"},
      {"Accept", "b"},
      {"Last-Event-ID", "e7"},
      {"Origin", "https://app.example"},
      {"User-Agent", "ua"},
      {"X-Forwarded", "kept: not a prefix match"},
      {"X-Custom", "c"}};
  size_t n = sizeof(kept) / sizeof(kept[0]);
  for (size_t i = 0; i < c->headers.count && i < n; i++) {
    if (strcmp(c->headers.items[i].name, kept[i][0]) != 0 ||
        strcmp(c->headers.items[i].value, kept[i][1]) != 0)
      fail_msg("header %zu is %s: %s, want %s: %s", i, c->headers.items[i].name,
               c->headers.items[i].value, kept[i][0], kept[i][1]);
  }
  if (c->headers.count != n)
    fail_msg("%zu headers kept, want %zu", c->headers.count, n);
  tc_cp_command_list_free(&l);

  /* A session_termination whose Connection names Mcp-Session-Id has none
   * left: it is answered as invalid, not sent without the header. */
  c = one("{\"request_id\":\"r2\",\"shard_token\":\"t\","
          "\"command_type\":\"session_termination\",\"headers\":{"
          "\"Connection\":[\"Mcp-Session-Id\"],\"Mcp-Session-Id\":[\"s\"]}}",
          &l);
  assert_int_equal(c->headers.count, 0);
  assert_non_null(c->invalid);
  tc_cp_command_list_free(&l);
}

static void test_escapes_duplicates_big_numbers(void **state) {
  (void)state;
  struct tc_cp_command_list l;
  const char *cmd =
      "{\"request_id\":\"r\\u00e9\\n1\",\"shard_token\":\"s\","
      "\"command_type\":\"json\\u0072pc\",\"channel\":\"a\",\"channel\":"
      "\"B\",\"headers\":{\"X-A\":[\"1\"],\"X-B\":[\"\\\"q\\\"\"],"
      "\"X-A\":[\"2\",\"3\"]},\"jsonrpc\":{\"jsonrpc\":\"2.0\",\"id\":"
      "123456789012345678901234567890,\"method\":\"tools/\\u0063all\","
      "\"params\":{\"n\":1e400}}}";
  struct tc_cp_command *c = one(cmd, &l);
  assert_string_equal(c->request_id, "r\xc3\xa9\n1");
  assert_int_equal(c->type, TC_CP_CMD_JSONRPC);
  assert_string_equal(c->channel, "b");
  assert_int_equal(c->headers.count, 3);
  assert_string_equal(tc_headers_get(&c->headers, "X-A", 0), "2");
  assert_string_equal(tc_headers_get(&c->headers, "X-A", 1), "3");
  assert_string_equal(tc_headers_get(&c->headers, "X-B", 0), "\"q\"");
  assert_int_equal(c->rpc_kind, TC_CP_RPC_CALL);
  assert_string_equal(c->rpc_id, "123456789012345678901234567890");
  assert_string_equal(c->rpc_method, "tools/call");
  assert_non_null(strstr(c->jsonrpc, "\"n\":1e400"));
  tc_cp_command_list_free(&l);
}

static void test_malformed_jsonrpc_kept(void **state) {
  struct {
    const char *member;
    enum tc_cp_rpc_kind kind;
    const char *id;
  } cases[] = {
      {"", TC_CP_RPC_INVALID, NULL}, /* missing */
      {",\"jsonrpc\":[1]", TC_CP_RPC_INVALID, NULL},
      {",\"jsonrpc\":{\"id\":3,\"method\":\"m\"}", TC_CP_RPC_INVALID, "3"},
      {",\"jsonrpc\":{\"jsonrpc\":\"1.0\",\"id\":3,\"method\":\"m\"}",
       TC_CP_RPC_INVALID, "3"},
      {",\"jsonrpc\":{\"jsonrpc\":\"2.0\",\"id\":\"q\",\"method\":5}",
       TC_CP_RPC_INVALID, "\"q\""},
      {",\"jsonrpc\":{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"m\"}",
       TC_CP_RPC_INVALID, NULL},
      {",\"jsonrpc\":{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"m\"}",
       TC_CP_RPC_INVALID, NULL},
      {",\"jsonrpc\":{\"jsonrpc\":\"2.0\",\"id\":9}", TC_CP_RPC_INVALID, "9"},
      {",\"jsonrpc\":{\"jsonrpc\":\"2.0\",\"id\":9,\"result\":{}}",
       TC_CP_RPC_RESPONSE, "9"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char cmd[512];
    struct tc_cp_command_list l;
    snprintf(cmd, sizeof(cmd),
             "{\"request_id\":\"r\",\"shard_token\":\"s\","
             "\"command_type\":\"jsonrpc\"%s}",
             cases[i].member);
    struct tc_cp_command *c = one(cmd, &l);
    assert_int_equal(c->rpc_kind, cases[i].kind);
    if (cases[i].kind == TC_CP_RPC_INVALID)
      assert_non_null(c->invalid);
    else
      assert_null(c->invalid);
    if (cases[i].id != NULL)
      assert_string_equal(c->rpc_id, cases[i].id);
    else
      assert_null(c->rpc_id);
    tc_cp_command_list_free(&l);
  }
}

static void test_many_commands(void **state) {
  /* More than the poll limit: all are decoded, in order. */
  char body[16384] = "{\"commands\":[";
  for (int i = 0; i < 40; i++) {
    char one_cmd[256];
    snprintf(one_cmd, sizeof(one_cmd),
             "%s{\"request_id\":\"r%d\",\"shard_token\":\"s\","
             "\"command_type\":\"jsonrpc\"," GOOD_RPC "}",
             i ? "," : "", i);
    strcat(body, one_cmd);
  }
  strcat(body, "]}");
  struct tc_cp_command_list l;
  assert_int_equal(decode(body, &l), 0);
  assert_int_equal(l.count, 40);
  assert_string_equal(l.items[39].request_id, "r39");
  assert_string_equal(l.items[39].jsonrpc,
                      "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\"}");
  tc_cp_command_list_free(&l);
}

static void test_api_error(void **state) {
  struct tc_cp_api_error e;
  const char *b1 = "{\"error\":{\"message\":\"Rate limited\",\"type\":"
                   "\"rate_limit_error\",\"param\":null,\"code\":"
                   "\"rate_limit_exceeded\"}}";
  assert_int_equal(tc_cp_decode_api_error(b1, strlen(b1), &e), 1);
  assert_string_equal(e.message, "Rate limited");
  assert_string_equal(e.type, "rate_limit_error");
  assert_null(e.param);
  assert_string_equal(e.code, "rate_limit_exceeded");
  tc_cp_api_error_clear(&e);
  const char *b2 = "{\"detail\":\"Not Found\",\"code\":\"x\"}";
  assert_int_equal(tc_cp_decode_api_error(b2, strlen(b2), &e), 1);
  assert_string_equal(e.message, "Not Found");
  assert_string_equal(e.code, "x");
  tc_cp_api_error_clear(&e);
  const char *bad[] = {"", "<html>", "[1]", "{\"error\":{}}", "{}"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(tc_cp_decode_api_error(bad[i], strlen(bad[i]), &e), 0);
    assert_null(e.message);
    assert_null(e.code);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_wire_fixture),
      cmocka_unit_test(test_empty_bodies),
      cmocka_unit_test(test_drops),
      cmocka_unit_test(test_fields),
      cmocka_unit_test(test_headers_stripped),
      cmocka_unit_test(test_escapes_duplicates_big_numbers),
      cmocka_unit_test(test_malformed_jsonrpc_kept),
      cmocka_unit_test(test_many_commands),
      cmocka_unit_test(test_api_error),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
