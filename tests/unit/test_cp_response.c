/* Unit tests for controlplane/response.c, provenance.c and jsonrpc.c: exact
 * POST bodies, the resp_headers allowlist, synthesized failures (including
 * the 503 text/plain example of protocol.md §1.8), the classifier order,
 * and the byte-exact pass-through predicate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <errno.h>

#include "controlplane/jsonrpc.h"
#include "controlplane/provenance.h"
#include "controlplane/response.h"

static void encodes(const struct tc_cp_response *r, const char *want) {
  char *err = NULL;
  char *got = tc_cp_response_encode(r, &err);
  assert_null(err);
  assert_non_null(got);
  assert_string_equal(got, want);
  free(got);
}

static void refuses(const struct tc_cp_response *r) {
  char *err = NULL;
  assert_null(tc_cp_response_encode(r, &err));
  assert_non_null(err);
  free(err);
}

static void test_body_fields(void **state) {
  const char *rpc = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"v\":0.1}}";
  struct tc_headers h = TC_HEADERS_INIT;
  tc_headers_add(&h, "Mcp-Session-Id", "s1");
  tc_headers_add(&h, "Content-Type", "application/json");
  struct tc_cp_response r = {
      "req-1", "main", rpc, strlen(rpc), &h, 200, TC_CP_RESP_JSONRPC_RESPONSE};
  encodes(&r, "{\"request_id\":\"req-1\",\"channel\":\"main\",\"resp_json\":"
              "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"v\":0.1}},"
              "\"resp_headers\":{\"Content-Type\":[\"application/json\"],"
              "\"Mcp-Session-Id\":[\"s1\"]},\"resp_code\":200,"
              "\"resp_type\":\"jsonrpc_response\"}");

  /* Ack: no resp_json; empty headers omitted; NULL channel -> main. */
  struct tc_headers empty = TC_HEADERS_INIT;
  struct tc_cp_response ack = {
      "n\"1", NULL, NULL, 0, &empty, 202, TC_CP_RESP_NOTIFY_ACK};
  encodes(&ack, "{\"request_id\":\"n\\\"1\",\"channel\":\"main\","
                "\"resp_code\":202,\"resp_type\":\"notify_ack\"}");
  struct tc_cp_response st = {
      "t", "x", "  ", 2, NULL, 204, TC_CP_RESP_SESSION_TERMINATION};
  encodes(&st, "{\"request_id\":\"t\",\"channel\":\"x\",\"resp_code\":204,"
               "\"resp_type\":\"session_termination_response\"}");

  /* Raw bytes are embedded as they are (trimmed at the ends only). */
  const char *spaced = "\n { \"jsonrpc\" : \"2.0\", \"method\":\"p\" } \n";
  struct tc_cp_response n = {"r",
                             "harpoon",
                             spaced,
                             strlen(spaced),
                             NULL,
                             200,
                             TC_CP_RESP_JSONRPC_NOTIFY};
  encodes(&n, "{\"request_id\":\"r\",\"channel\":\"harpoon\",\"resp_json\":"
              "{ \"jsonrpc\" : \"2.0\", \"method\":\"p\" },\"resp_code\":200,"
              "\"resp_type\":\"jsonrpc_notify\"}");

  /* Contract violations are refused. */
  ack.resp_json = "{}";
  ack.resp_json_len = 2;
  refuses(&ack);
  r.resp_json = "[1]";
  r.resp_json_len = 3;
  refuses(&r);
  r.resp_json = "{bad";
  r.resp_json_len = 4;
  refuses(&r);
  r.resp_json = NULL;
  r.request_id = "";
  refuses(&r);
  tc_headers_clear(&h);
}

static void test_wire_fixture_shape(void **state) {
  /* Same fields as tests/data/wire/jsonrpc_notify_response.json (whose
   * empty resp_headers we omit, as the Go client does). */
  const char *rpc = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/"
                    "progress\",\"params\":{\"progress\":0.5}}";
  struct tc_cp_response r = {
      "cmd_fixture_jsonrpc",    "harpoon", rpc, strlen(rpc), NULL, 200,
      TC_CP_RESP_JSONRPC_NOTIFY};
  encodes(&r, "{\"request_id\":\"cmd_fixture_jsonrpc\",\"channel\":"
              "\"harpoon\",\"resp_json\":{\"jsonrpc\":\"2.0\",\"method\":"
              "\"notifications/progress\",\"params\":{\"progress\":0.5}},"
              "\"resp_code\":200,\"resp_type\":\"jsonrpc_notify\"}");
}

static void test_sanitizer(void **state) {
  struct tc_headers in = TC_HEADERS_INIT, out = TC_HEADERS_INIT;
  tc_headers_add(&in, "content-type", "text/event-stream");
  tc_headers_add(&in, "WWW-Authenticate", "Bearer resource_metadata=\"x\"");
  tc_headers_add(&in, "last-event-id", "5");
  tc_headers_add(&in, "Set-Cookie", "a=b");
  tc_headers_add(&in, "Connection", "keep-alive, mcp-protocol-version");
  tc_headers_add(&in, "MCP-PROTOCOL-VERSION", "2025-06-18");
  tc_headers_add(&in, "Mcp-Session-Id", "");
  tc_headers_add(&in, "mcp-session-id", "sess");
  tc_headers_add(&in, "access-control-expose-headers", "Mcp-Session-Id");
  tc_headers_add(&in, "X-Request-Id", "r");
  assert_int_equal(tc_cp_sanitize_resp_headers(&in, &out), TC_OK);
  assert_int_equal(out.count, 5);
  const char *want[][2] = {
      {"Content-Type", "text/event-stream"},
      {"Www-Authenticate", "Bearer resource_metadata=\"x\""},
      {"Last-Event-Id", "5"},
      {"Mcp-Session-Id", "sess"},
      {"Access-Control-Expose-Headers", "Mcp-Session-Id"},
  };
  for (size_t i = 0; i < 5; i++) {
    assert_string_equal(out.items[i].name, want[i][0]);
    assert_string_equal(out.items[i].value, want[i][1]);
  }
  /* Encoded with sorted keys, values grouped. */
  tc_headers_add(&out, "Mcp-Session-Id", "second");
  struct tc_cp_response r = {
      "r", "main", NULL, 0, &out, 200, TC_CP_RESP_JSONRPC_RESPONSE};
  encodes(&r, "{\"request_id\":\"r\",\"channel\":\"main\",\"resp_headers\":{"
              "\"Access-Control-Expose-Headers\":[\"Mcp-Session-Id\"],"
              "\"Content-Type\":[\"text/event-stream\"],"
              "\"Last-Event-Id\":[\"5\"],"
              "\"Mcp-Session-Id\":[\"sess\",\"second\"],"
              "\"Www-Authenticate\":[\"Bearer resource_metadata=\\\"x\\\"\"]},"
              "\"resp_code\":200,\"resp_type\":\"jsonrpc_response\"}");
  tc_headers_clear(&in);
  tc_headers_clear(&out);

  /* oauth_discovery_response: raw headers, canonicalised, bad UTF-8 fixed. */
  tc_headers_add(&in, "x-custom", "v\x01\xff");
  tc_headers_add(&in, "cache-control", "no-store");
  struct tc_cp_response o = {"o", "main", "{\"resource\":\"u\"}",    16,
                             &in, 200,    TC_CP_RESP_OAUTH_DISCOVERY};
  encodes(&o, "{\"request_id\":\"o\",\"channel\":\"main\",\"resp_json\":"
              "{\"resource\":\"u\"},\"resp_headers\":{\"Cache-Control\":"
              "[\"no-store\"],\"X-Custom\":[\"v\\u0001\\ufffd\"]},"
              "\"resp_code\":200,\"resp_type\":\"oauth_discovery_response\"}");
  tc_headers_clear(&in);

  char buf[64];
  assert_string_equal(tc_cp_header_canonical("x-REQUEST-id", buf, sizeof buf),
                      "X-Request-Id");
  assert_string_equal(tc_cp_header_canonical("bad name", buf, sizeof buf),
                      "bad name");
}

static void test_e2e_503_text_plain(void **state) {
  struct tc_cp_failure_cause c = {503, TC_CP_KIND_MALFORMED_JSON, false,
                                  TC_CP_KIND_NONE};
  struct tc_cp_failure f;
  tc_cp_classify_failure(&c, &f);
  char *body = tc_cp_synthesize_failure("\"rpc-1\"", 503, &f);
  assert_string_equal(
      body,
      "{\"jsonrpc\":\"2.0\",\"id\":\"rpc-1\",\"error\":{\"code\":-32603,"
      "\"message\":\"Service Unavailable\",\"data\":{\"tunnel_failure\":"
      "{\"version\":1,\"source\":\"target_http\",\"transport_error_kind\":"
      "\"malformed_json\",\"upstream_response_received\":true,"
      "\"upstream_status\":503}}}}");
  free(body);
}

static void classify(int status, enum tc_cp_failure_kind np, bool proto,
                     enum tc_cp_failure_kind err, enum tc_cp_failure_source src,
                     enum tc_cp_failure_kind kind, bool received,
                     int up_status) {
  struct tc_cp_failure_cause c = {status, np, proto, err};
  struct tc_cp_failure f;
  tc_cp_classify_failure(&c, &f);
  assert_int_equal(f.source, src);
  assert_int_equal(f.kind, kind);
  assert_int_equal(f.upstream_response_received, received);
  assert_int_equal(f.upstream_status, up_status);
}

static void test_classifier_order(void **state) {
  const enum tc_cp_failure_kind N = TC_CP_KIND_NONE;
  classify(500, N, false, N, TC_CP_SRC_TARGET_HTTP, TC_CP_KIND_HTTP_STATUS,
           true, 500);
  classify(401, TC_CP_KIND_NON_PROTOCOL_RESPONSE, false, N,
           TC_CP_SRC_TARGET_HTTP, TC_CP_KIND_NON_PROTOCOL_RESPONSE, true, 401);
  classify(200, TC_CP_KIND_RESPONSE_BODY_TOO_LARGE, false, N,
           TC_CP_SRC_PROTOCOL, TC_CP_KIND_RESPONSE_BODY_TOO_LARGE, true, 0);
  classify(200, N, true, N, TC_CP_SRC_PROTOCOL,
           TC_CP_KIND_INVALID_PROTOCOL_RESPONSE, true, 0);
  /* status wins over a low-level error */
  classify(502, N, false, TC_CP_KIND_CONNECTION_RESET, TC_CP_SRC_TARGET_HTTP,
           TC_CP_KIND_HTTP_STATUS, true, 502);
  classify(0, N, false, TC_CP_KIND_CONNECTION_RESET, TC_CP_SRC_TRANSPORT_CLOSED,
           TC_CP_KIND_CONNECTION_RESET, false, 0);
  classify(200, N, false, TC_CP_KIND_UNEXPECTED_EOF, TC_CP_SRC_TRANSPORT_CLOSED,
           TC_CP_KIND_UNEXPECTED_EOF, false, 0);
  classify(0, N, false, TC_CP_KIND_DNS, TC_CP_SRC_DNS, TC_CP_KIND_DNS, false,
           0);
  classify(0, N, false, TC_CP_KIND_TLS, TC_CP_SRC_TLS, TC_CP_KIND_TLS, false,
           0);
  classify(0, N, false, TC_CP_KIND_TIMEOUT, TC_CP_SRC_TIMEOUT,
           TC_CP_KIND_TIMEOUT, false, 0);
  classify(0, N, false, TC_CP_KIND_CONNECTION_REFUSED, TC_CP_SRC_CONNECT,
           TC_CP_KIND_CONNECTION_REFUSED, false, 0);
  classify(0, N, false, TC_CP_KIND_DIAL, TC_CP_SRC_CONNECT, TC_CP_KIND_DIAL,
           false, 0);
  classify(0, N, false, TC_CP_KIND_CANCELED, TC_CP_SRC_CLIENT_INTERNAL,
           TC_CP_KIND_CANCELED, false, 0);
  classify(0, N, false, N, TC_CP_SRC_CLIENT_INTERNAL, TC_CP_KIND_UNKNOWN, false,
           0);

  /* Wire shapes: transport_closed without status; canceled kind omitted. */
  struct tc_cp_failure f = {TC_CP_SRC_TRANSPORT_CLOSED, TC_CP_KIND_EOF, false,
                            0};
  char *b = tc_cp_synthesize_failure("7", 502, &f);
  assert_string_equal(
      b, "{\"jsonrpc\":\"2.0\",\"id\":7,\"error\":{\"code\":-32603,\"message\":"
         "\"Bad Gateway\",\"data\":{\"tunnel_failure\":{\"version\":1,"
         "\"source\":\"transport_closed\",\"transport_error_kind\":\"eof\","
         "\"upstream_response_received\":false}}}}");
  free(b);
  struct tc_cp_failure g = {TC_CP_SRC_CLIENT_INTERNAL, TC_CP_KIND_CANCELED,
                            false, 0};
  b = tc_cp_synthesize_failure(NULL, 0, &g);
  assert_string_equal(
      b, "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32603,"
         "\"message\":\"Internal Server Error\",\"data\":{\"tunnel_failure\":"
         "{\"version\":1,\"source\":\"client_internal\","
         "\"upstream_response_received\":false}}}}");
  free(b);
  b = tc_cp_jsonrpc_error_body("\"c\"", -32603,
                               "Bad Request: unsupported channel \"x\"", NULL);
  assert_string_equal(b, "{\"jsonrpc\":\"2.0\",\"id\":\"c\",\"error\":{"
                         "\"code\":-32603,\"message\":\"Bad Request: "
                         "unsupported channel \\\"x\\\"\"}}");
  free(b);
  b = tc_cp_jsonrpc_error_body("{\"no\":1}", -32600, "Invalid Request", NULL);
  assert_non_null(strstr(b, "\"id\":null"));
  free(b);
}

static void test_error_mapping(void **state) {
  assert_int_equal(tc_cp_error_from_errno(0), TC_CP_KIND_NONE);
  assert_int_equal(tc_cp_error_from_errno(EPIPE), TC_CP_KIND_CLOSED_PIPE);
  assert_int_equal(tc_cp_error_from_errno(ECONNRESET),
                   TC_CP_KIND_CONNECTION_RESET);
  assert_int_equal(tc_cp_error_from_errno(ECONNABORTED),
                   TC_CP_KIND_CONNECTION_ABORTED);
  assert_int_equal(tc_cp_error_from_errno(EHOSTUNREACH),
                   TC_CP_KIND_HOST_UNREACHABLE);
  assert_int_equal(tc_cp_error_from_errno(EINVAL), TC_CP_KIND_UNKNOWN);
  assert_int_equal(tc_cp_error_from_curl(CURLE_COULDNT_RESOLVE_HOST, 0),
                   TC_CP_KIND_DNS);
  assert_int_equal(tc_cp_error_from_curl(CURLE_COULDNT_CONNECT, ECONNREFUSED),
                   TC_CP_KIND_CONNECTION_REFUSED);
  assert_int_equal(tc_cp_error_from_curl(CURLE_COULDNT_CONNECT, 0),
                   TC_CP_KIND_DIAL);
  assert_int_equal(tc_cp_error_from_curl(CURLE_PEER_FAILED_VERIFICATION, 0),
                   TC_CP_KIND_TLS);
  assert_int_equal(tc_cp_error_from_curl(CURLE_OPERATION_TIMEDOUT, 0),
                   TC_CP_KIND_TIMEOUT);
  assert_int_equal(tc_cp_error_from_curl(CURLE_RECV_ERROR, ECONNRESET),
                   TC_CP_KIND_CONNECTION_RESET);
  assert_int_equal(tc_cp_error_from_curl(CURLE_GOT_NOTHING, 0), TC_CP_KIND_EOF);
  assert_int_equal(tc_cp_error_from_curl(CURLE_PARTIAL_FILE, 0),
                   TC_CP_KIND_UNEXPECTED_EOF);
  assert_string_equal(tc_cp_http_reason(413), "Request Entity Too Large");
  assert_string_equal(tc_cp_http_reason(504), "Gateway Timeout");
}

static void passthrough(const char *body, const char *id, bool want) {
  assert_int_equal(tc_cp_jsonrpc_is_error_reply(body, strlen(body), id), want);
}

static void test_passthrough(void **state) {
  const char *ok = "{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":-32003,"
                   "\"message\":\"denied\",\"data\":{}}}";
  passthrough(ok, "3", true);
  passthrough(ok, "\"3\"", false); /* id type differs */
  passthrough(ok, "4", false);
  passthrough(ok, NULL, false);
  passthrough("{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"error\":{\"code\":1,"
              "\"message\":\"m\"}}",
              "\"a\"", true);
  passthrough("{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":1.5,"
              "\"message\":\"m\"}}",
              "3", false);
  passthrough("{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":1}}", "3",
              false);
  passthrough("{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{},\"error\":{"
              "\"code\":1,\"message\":\"m\"}}",
              "3", false);
  passthrough("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"x\",\"error\":{"
              "\"code\":1,\"message\":\"m\"}}",
              "3", false);
  passthrough("{\"jsonrpc\":\"1.0\",\"id\":3,\"error\":{\"code\":1,"
              "\"message\":\"m\"}}",
              "3", false);
  passthrough("{\"id\":3,\"error\":{\"code\":1,\"message\":\"m\"}}", "3",
              false);
  passthrough("Service Unavailable", "3", false);
}

/* Ids beyond 64 bits keep their exact text in synthesized errors and are
 * matched by it (strings by their decoded value). */
static void test_big_ids(void **state) {
  static const char *const ids[] = {"18446744073709551617",
                                    "-9223372036854775809",
                                    "12345678901234567890123"};
  struct tc_cp_failure f = {TC_CP_SRC_PROTOCOL,
                            TC_CP_KIND_INVALID_PROTOCOL_RESPONSE, true, 0};
  for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
    char *b = tc_cp_synthesize_failure(ids[i], 502, &f);
    char want[64];
    snprintf(want, sizeof(want), "{\"jsonrpc\":\"2.0\",\"id\":%s,", ids[i]);
    if (strncmp(b, want, strlen(want)) != 0)
      fail_msg("id %s: synthesized %s", ids[i], b);
    free(b);
    char body[256];
    snprintf(body, sizeof(body),
             "{\"jsonrpc\":\"2.0\",\"id\":%s,\"error\":{\"code\":-32001,"
             "\"message\":\"no\",\"data\":{\"big\":%s}}}",
             ids[i], ids[i]);
    passthrough(body, ids[i], true);
    passthrough(body, "1", false);
  }
  assert_true(tc_cp_jsonrpc_id_equal("\"abc\"", 5, "\"\\u0061bc\"", 10));
  assert_true(tc_cp_jsonrpc_id_equal(" 7 ", 3, "7", 1));
  assert_false(tc_cp_jsonrpc_id_equal("1", 1, "1.0", 3));
  assert_false(tc_cp_jsonrpc_id_equal("1", 1, "1e0", 3));
  assert_false(tc_cp_jsonrpc_id_equal("1", 1, "\"1\"", 3));
  assert_false(tc_cp_jsonrpc_id_equal("", 0, "", 0));
  /* The exact text, not a re-encoding, and a string id stays a string. */
  char *b = tc_cp_jsonrpc_error_body(" \"a\\u0062\" ", -32601, "x", NULL);
  assert_string_equal(b, "{\"jsonrpc\":\"2.0\",\"id\":\"a\\u0062\",\"error\":"
                         "{\"code\":-32601,\"message\":\"x\"}}");
  free(b);
}

/* The body in parts: head + the reply bytes (borrowed, not copied) + tail
 * equals the one-string encoding. */
static void test_parts_borrow_the_reply(void **state) {
  struct tc_headers h = TC_HEADERS_INIT;
  tc_headers_add(&h, "Content-Type", "application/json");
  const char reply[] = "  {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}} \n";
  struct tc_cp_response r;
  memset(&r, 0, sizeof(r));
  r.request_id = "req-1";
  r.channel = "main";
  r.resp_json = reply;
  r.resp_json_len = strlen(reply);
  r.resp_headers = &h;
  r.resp_code = 200;
  r.type = TC_CP_RESP_JSONRPC_RESPONSE;
  struct tc_cp_response_parts p;
  char *err = NULL;
  assert_int_equal(tc_cp_response_encode_parts(&r, &p, &err), 0);
  assert_ptr_equal(p.json, reply + 2); /* the transport's own bytes */
  assert_int_equal(p.json_len, strlen(reply) - 4);
  char *whole = tc_cp_response_encode(&r, &err);
  assert_int_equal(strlen(whole), tc_cp_response_parts_len(&p));
  assert_memory_equal(whole, p.head, p.head_len);
  assert_memory_equal(whole + p.head_len, p.json, p.json_len);
  assert_memory_equal(whole + p.head_len + p.json_len, p.tail, p.tail_len);
  free(whole);
  tc_cp_response_parts_free(&p);
  tc_headers_clear(&h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_big_ids),
      cmocka_unit_test(test_parts_borrow_the_reply),
      cmocka_unit_test(test_body_fields),
      cmocka_unit_test(test_wire_fixture_shape),
      cmocka_unit_test(test_sanitizer),
      cmocka_unit_test(test_e2e_503_text_plain),
      cmocka_unit_test(test_classifier_order),
      cmocka_unit_test(test_error_mapping),
      cmocka_unit_test(test_passthrough),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
