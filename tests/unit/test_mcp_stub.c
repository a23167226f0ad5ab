/* Unit tests for dev/mcp_stub.c: the stub runs in-process on 127.0.0.1:0
 * and every request is real HTTP through libcurl. Covers initialize and
 * sessions, tools, JSON-RPC errors, the reply-format rule and SSE framing,
 * discovery documents built from the Host header, body limits, methods and
 * routes, listen errors, and concurrent sessions (for TSan). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>

#include "dev/mcp_stub.h"

static struct tc_mcp_stub *g_stub;
static char g_mcp[128];

static int group_setup(void **state) {
  (void)state;
  curl_global_init(CURL_GLOBAL_ALL);
  /* The discovery tests reach it by these names (Host-derived URLs). */
  static const char *const names[] = {"mcp.example.test", "as.example.test"};
  struct tc_mcp_stub_options o = {.listen_addr = "127.0.0.1:0",
                                  .server_name = "stub-under-test",
                                  .server_version = "9.8.7",
                                  .allowed_hosts = names,
                                  .allowed_host_count = 2};
  char *err = NULL;
  if (tc_mcp_stub_start(&g_stub, &o, &err) != 0) {
    fprintf(stderr, "start: %s\n", err ? err : "?");
    free(err);
    return -1;
  }
  snprintf(g_mcp, sizeof(g_mcp), "%s/mcp", tc_mcp_stub_base_url(g_stub));
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  tc_mcp_stub_stop(g_stub);
  curl_global_cleanup();
  return 0;
}

struct reply {
  long status;
  char *body;
  size_t len;
  char ctype[128];
  char session[128];
  char allow[64];
};

static void reply_free(struct reply *r) {
  free(r->body);
  memset(r, 0, sizeof(*r));
}

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  struct reply *r = ud;
  size_t total = size * n;
  char *grown = realloc(r->body, r->len + total + 1);
  if (grown == NULL)
    return 0;
  r->body = grown;
  memcpy(r->body + r->len, p, total);
  r->len += total;
  r->body[r->len] = '\0';
  return total;
}

static void copy_header(CURL *c, const char *name, char *out, size_t outlen) {
  struct curl_header *h = NULL;
  if (curl_easy_header(c, name, 0, CURLH_HEADER, -1, &h) == CURLHE_OK)
    snprintf(out, outlen, "%s", h->value);
}

/* One request. `body` NULL = no body; `len` 0 = strlen(body). `hdrs` are
 * extra "Name: value" strings. Never asserts (usable from any thread). */
static CURLcode request_v(const char *method, const char *url, const char *body,
                          size_t len, struct reply *r, va_list ap) {
  memset(r, 0, sizeof(*r));
  CURL *c = curl_easy_init();
  if (c == NULL)
    return CURLE_OUT_OF_MEMORY;
  struct curl_slist *hdrs = NULL;
  for (const char *h = va_arg(ap, const char *); h != NULL;
       h = va_arg(ap, const char *))
    hdrs = curl_slist_append(hdrs, h);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  if (body != NULL) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                     (curl_off_t)(len ? len : strlen(body)));
  }
  if (strcmp(method, "HEAD") == 0)
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  else if (strcmp(method, body ? "POST" : "GET") != 0)
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  CURLcode rc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
  copy_header(c, "Content-Type", r->ctype, sizeof(r->ctype));
  copy_header(c, "Mcp-Session-Id", r->session, sizeof(r->session));
  copy_header(c, "Allow", r->allow, sizeof(r->allow));
  curl_slist_free_all(hdrs);
  curl_easy_cleanup(c);
  return rc;
}

static CURLcode request_nothrow(const char *method, const char *url,
                                const char *body, size_t len, struct reply *r,
                                ...) {
  va_list ap;
  va_start(ap, r);
  CURLcode rc = request_v(method, url, body, len, r, ap);
  va_end(ap);
  return rc;
}

/* request_v() that asserts the transfer worked. */
static void request(const char *method, const char *url, const char *body,
                    size_t len, struct reply *r, ...) {
  va_list ap;
  va_start(ap, r);
  CURLcode rc = request_v(method, url, body, len, r, ap);
  va_end(ap);
  if (rc != CURLE_OK)
    fprintf(stderr, "curl %s %s: %s\n", method, url, curl_easy_strerror(rc));
  assert_int_equal(rc, CURLE_OK);
}

#define JSON_ACCEPT "Accept: application/json, text/event-stream"
#define CTYPE_JSON "Content-Type: application/json"

/* POST a JSON-RPC message with the usual client headers (+ one extra). */
static void rpc(const char *body, const char *extra, struct reply *r) {
  request("POST", g_mcp, body, 0, r, CTYPE_JSON, JSON_ACCEPT, extra, NULL);
}

static json_t *parse(const struct reply *r) {
  json_error_t e;
  json_t *v = json_loads(r->body ? r->body : "", 0, &e);
  if (v == NULL)
    fprintf(stderr, "bad JSON (%s): %s\n", e.text, r->body ? r->body : "");
  assert_non_null(v);
  return v;
}

/* json_object_get along a dotted path; "content.0.text" indexes arrays. */
static json_t *at(json_t *v, const char *path) {
  char buf[256];
  snprintf(buf, sizeof(buf), "%s", path);
  char *save = NULL;
  for (char *k = strtok_r(buf, ".", &save); k != NULL && v != NULL;
       k = strtok_r(NULL, ".", &save))
    v = json_is_array(v) ? json_array_get(v, strtoul(k, NULL, 10))
                         : json_object_get(v, k);
  return v;
}

static const char *str_at(json_t *v, const char *path) {
  const char *s = json_string_value(at(v, path));
  assert_non_null(s);
  return s;
}

static long long int_at(json_t *v, const char *path) {
  json_t *n = at(v, path);
  assert_true(json_is_integer(n));
  return json_integer_value(n);
}

static void initialize(char sid[128]) {
  struct reply r;
  rpc("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\","
      "\"params\":{\"protocolVersion\":\"2025-06-18\"}}",
      NULL, &r);
  assert_int_equal(r.status, 200);
  assert_int_equal(strlen(r.session), 32);
  snprintf(sid, 128, "%s", r.session);
  reply_free(&r);
}

/* ---- tests ----------------------------------------------------------------
 */

static void test_initialize(void **state) {
  (void)state;
  struct reply r;
  rpc("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
      "\"protocolVersion\":\"2025-03-26\",\"capabilities\":{},"
      "\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}",
      NULL, &r);
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.ctype, "application/json"));
  assert_int_equal(strlen(r.session), 32);
  assert_int_equal(strspn(r.session, "0123456789abcdef"), 32);
  json_t *v = parse(&r);
  assert_string_equal(str_at(v, "jsonrpc"), "2.0");
  assert_int_equal(int_at(v, "id"), 1);
  assert_string_equal(str_at(v, "result.protocolVersion"), "2025-03-26");
  assert_true(json_is_object(at(v, "result.capabilities.tools")));
  assert_string_equal(str_at(v, "result.serverInfo.name"), "stub-under-test");
  assert_string_equal(str_at(v, "result.serverInfo.version"), "9.8.7");
  json_decref(v);
  char first[128];
  snprintf(first, sizeof(first), "%s", r.session);
  reply_free(&r);

  /* An unsupported version gets the newest; every initialize is a new
   * session. */
  rpc("{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"initialize\","
      "\"params\":{\"protocolVersion\":\"1999-01-01\"}}",
      NULL, &r);
  v = parse(&r);
  assert_string_equal(str_at(v, "result.protocolVersion"), "2025-06-18");
  assert_string_equal(str_at(v, "id"), "x");
  assert_int_equal(strlen(r.session), 32);
  assert_string_not_equal(r.session, first);
  json_decref(v);
  reply_free(&r);

  rpc("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"initialize\","
      "\"params\":{\"protocolVersion\":\"2024-11-05\"}}",
      NULL, &r);
  v = parse(&r);
  assert_string_equal(str_at(v, "result.protocolVersion"), "2024-11-05");
  json_decref(v);
  reply_free(&r);
}

static void test_tools_list(void **state) {
  (void)state;
  struct reply r;
  rpc("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/list\"}", NULL, &r);
  assert_int_equal(r.status, 200);
  json_t *v = parse(&r);
  json_t *tools = at(v, "result.tools");
  assert_int_equal(json_array_size(tools), 3);
  const char *want[] = {"echo", "uppercase", "server_info"};
  for (size_t i = 0; i < 3; i++) {
    json_t *t = json_array_get(tools, i);
    assert_string_equal(str_at(t, "name"), want[i]);
    assert_string_equal(str_at(t, "inputSchema.type"), "object");
    assert_true(json_is_object(at(t, "inputSchema.properties")));
    assert_non_null(str_at(t, "description"));
  }
  /* echo and uppercase require input. */
  assert_string_equal(str_at(tools, "0.inputSchema.required.0"), "input");
  assert_string_equal(str_at(tools, "1.inputSchema.properties.input.type"),
                      "string");
  json_decref(v);
  reply_free(&r);
}

static void test_tools_call(void **state) {
  (void)state;
  struct reply r;
  rpc("{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{"
      "\"name\":\"echo\",\"arguments\":{\"input\":\"hello tunnel\"}}}",
      NULL, &r);
  assert_int_equal(r.status, 200);
  json_t *v = parse(&r);
  assert_int_equal(int_at(v, "id"), 3);
  assert_string_equal(str_at(v, "result.content.0.type"), "text");
  assert_string_equal(str_at(v, "result.content.0.text"), "hello tunnel");
  assert_string_equal(str_at(v, "result.structuredContent.echoed"),
                      "hello tunnel");
  json_decref(v);
  reply_free(&r);

  rpc("{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\",\"params\":{"
      "\"name\":\"uppercase\",\"arguments\":{\"input\":\"h\\u00e9llo 42\"}}}",
      NULL, &r);
  v = parse(&r);
  assert_string_equal(str_at(v, "result.structuredContent.uppercase"),
                      "H\xc3\xa9LLO 42");
  assert_string_equal(str_at(v, "result.content.0.text"), "H\xc3\xa9LLO 42");
  json_decref(v);
  reply_free(&r);

  rpc("{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{"
      "\"name\":\"server_info\"}}",
      NULL, &r);
  v = parse(&r);
  assert_string_equal(str_at(v, "result.structuredContent.name"),
                      "stub-under-test");
  assert_string_equal(str_at(v, "result.structuredContent.version"), "9.8.7");
  assert_int_equal(
      json_array_size(at(v, "result.structuredContent.available_tools")), 3);
  assert_true(
      json_array_size(at(v, "result.structuredContent.sample_prompts")) > 0);
  /* The text content is the same document. */
  json_t *text = json_loads(str_at(v, "result.content.0.text"), 0, NULL);
  assert_non_null(text);
  assert_true(json_equal(text, at(v, "result.structuredContent")));
  json_decref(text);
  json_decref(v);
  reply_free(&r);

  rpc("{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"ping\"}", NULL, &r);
  v = parse(&r);
  assert_true(json_is_object(at(v, "result")));
  assert_int_equal(json_object_size(at(v, "result")), 0);
  json_decref(v);
  reply_free(&r);
}

static void test_rpc_errors(void **state) {
  (void)state;
  static const struct {
    const char *body;
    int code;
  } cases[] = {
      {"{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"resources/list\"}", -32601},
      {"{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{"
       "\"name\":\"nope\",\"arguments\":{}}}",
       -32602},
      {"{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{"
       "\"name\":\"echo\",\"arguments\":{}}}",
       -32602},
      {"{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{"
       "\"name\":\"echo\",\"arguments\":{\"input\":5}}}",
       -32602},
      {"{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{"
       "\"name\":\"echo\",\"arguments\":{\"input\":\"a\",\"progress\":101}}}",
       -32602},
      {"{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{"
       "\"arguments\":{}}}",
       -32602},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct reply r;
    rpc(cases[i].body, NULL, &r);
    assert_int_equal(r.status, 200);
    json_t *v = parse(&r);
    assert_int_equal(int_at(v, "id"), 9);
    assert_int_equal(int_at(v, "error.code"), cases[i].code);
    assert_true(strlen(str_at(v, "error.message")) > 0);
    assert_null(at(v, "result"));
    json_decref(v);
    reply_free(&r);
  }
}

static void test_bad_messages(void **state) {
  (void)state;
  static const struct {
    const char *body;
    int code;
    int id; /* 0: the error's id must be null */
  } cases[] = {
      {"{\"jsonrpc\":\"2.0\",\"id\":1,", -32700, 0},
      {"not json at all", -32700, 0},
      {"", -32700, 0},
      {"{\"a\":1} trailing", -32700, 0},
      {"[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]", -32600, 0},
      {"42", -32600, 0},
      {"{\"id\":1,\"method\":\"ping\"}", -32600, 1},
      {"{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ping\"}", -32600, 1},
      {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":7}", -32600, 1},
      {"{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}", -32600, 0},
      {"{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"ping\"}", -32600, 0},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct reply r;
    rpc(cases[i].body, NULL, &r);
    assert_int_equal(r.status, 400);
    json_t *v = parse(&r);
    assert_int_equal(int_at(v, "error.code"), cases[i].code);
    if (cases[i].id == 0)
      assert_true(json_is_null(at(v, "id")));
    else
      assert_int_equal(int_at(v, "id"), cases[i].id);
    json_decref(v);
    reply_free(&r);
  }
}

static void test_notification(void **state) {
  (void)state;
  struct reply r;
  rpc("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", NULL,
      &r);
  assert_int_equal(r.status, 202);
  assert_int_equal(r.len, 0);
  reply_free(&r);
  /* A client's response to a server request is acknowledged the same way. */
  rpc("{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{}}", NULL, &r);
  assert_int_equal(r.status, 202);
  assert_int_equal(r.len, 0);
  reply_free(&r);
}

static void test_sessions(void **state) {
  (void)state;
  char sid[128], hdr[160];
  initialize(sid);
  snprintf(hdr, sizeof(hdr), "Mcp-Session-Id: %s", sid);
  const char *ping = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}";
  struct reply r;

  rpc(ping, hdr, &r);
  assert_int_equal(r.status, 200);
  reply_free(&r);

  request("DELETE", g_mcp, NULL, 0, &r, hdr, NULL);
  assert_int_equal(r.status, 204);
  reply_free(&r);

  rpc(ping, hdr, &r);
  assert_int_equal(r.status, 404);
  json_t *v = parse(&r);
  assert_int_equal(int_at(v, "error.code"), -32001);
  json_decref(v);
  reply_free(&r);

  request("DELETE", g_mcp, NULL, 0, &r, hdr, NULL);
  assert_int_equal(r.status, 404);
  reply_free(&r);

  request("DELETE", g_mcp, NULL, 0, &r, NULL);
  assert_int_equal(r.status, 400);
  reply_free(&r);

  /* Never issued -> 404; no header -> served (stateless clients). */
  rpc(ping, "Mcp-Session-Id: 0123456789abcdef0123456789abcdef", &r);
  assert_int_equal(r.status, 404);
  reply_free(&r);
  rpc(ping, NULL, &r);
  assert_int_equal(r.status, 200);
  reply_free(&r);
}

/* Split an SSE body into events; checks the framing of each. Returns the
 * data of event i (new reference) in out[i]. */
static size_t parse_sse(const char *body, json_t **out, size_t max) {
  size_t n = 0;
  const char *p = body;
  while (*p != '\0') {
    const char *end = strstr(p, "\n\n");
    assert_non_null(end); /* every event ends with a blank line */
    assert_true(n < max);
    char want_id[32];
    snprintf(want_id, sizeof(want_id), "id: %zu\n", n + 1);
    assert_true(strncmp(p, "event: message\n", 15) == 0);
    p += 15;
    assert_true(strncmp(p, want_id, strlen(want_id)) == 0);
    p += strlen(want_id);
    assert_true(strncmp(p, "data: ", 6) == 0);
    p += 6;
    assert_null(memchr(p, '\n', (size_t)(end - p))); /* one data line */
    json_error_t e;
    out[n] = json_loadb(p, (size_t)(end - p), 0, &e);
    assert_non_null(out[n]);
    n++;
    p = end + 2;
  }
  return n;
}

static void test_sse_progress(void **state) {
  (void)state;
  struct reply r;
  request("POST", g_mcp,
          "{\"jsonrpc\":\"2.0\",\"id\":11,\"method\":\"tools/call\","
          "\"params\":{\"_meta\":{\"progressToken\":\"tok\"},\"name\":"
          "\"echo\",\"arguments\":{\"input\":\"streamed\",\"progress\":3}}}",
          0, &r, CTYPE_JSON, "Accept: text/event-stream, application/json",
          NULL);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.ctype, "text/event-stream");
  json_t *ev[8];
  size_t n = parse_sse(r.body, ev, 8);
  assert_int_equal(n, 4);
  for (size_t i = 0; i < 3; i++) {
    assert_string_equal(str_at(ev[i], "method"), "notifications/progress");
    assert_null(at(ev[i], "id"));
    assert_string_equal(str_at(ev[i], "params.progressToken"), "tok");
    assert_int_equal(int_at(ev[i], "params.progress"), (long long)i + 1);
    assert_int_equal(int_at(ev[i], "params.total"), 3);
  }
  assert_int_equal(int_at(ev[3], "id"), 11);
  assert_string_equal(str_at(ev[3], "result.structuredContent.echoed"),
                      "streamed");
  for (size_t i = 0; i < n; i++)
    json_decref(ev[i]);
  reply_free(&r);

  /* arguments.stream=true with the usual Accept order also streams; the
   * progress token falls back to the request id. */
  rpc("{\"jsonrpc\":\"2.0\",\"id\":12,\"method\":\"tools/call\",\"params\":{"
      "\"name\":\"uppercase\",\"arguments\":{\"input\":\"ab\",\"stream\":true,"
      "\"progress\":1}}}",
      NULL, &r);
  assert_string_equal(r.ctype, "text/event-stream");
  n = parse_sse(r.body, ev, 8);
  assert_int_equal(n, 2);
  assert_int_equal(int_at(ev[0], "params.progressToken"), 12);
  assert_string_equal(str_at(ev[1], "result.structuredContent.uppercase"),
                      "AB");
  json_decref(ev[0]);
  json_decref(ev[1]);
  reply_free(&r);

  /* The usual Accept order without stream=true: JSON, progress ignored. */
  rpc("{\"jsonrpc\":\"2.0\",\"id\":13,\"method\":\"tools/call\",\"params\":{"
      "\"name\":\"echo\",\"arguments\":{\"input\":\"x\",\"progress\":2}}}",
      NULL, &r);
  assert_string_equal(r.ctype, "application/json");
  json_t *v = parse(&r);
  assert_string_equal(str_at(v, "result.structuredContent.echoed"), "x");
  json_decref(v);
  reply_free(&r);

  /* stream=true but the client cannot take a stream: JSON. */
  request("POST", g_mcp,
          "{\"jsonrpc\":\"2.0\",\"id\":14,\"method\":\"tools/call\","
          "\"params\":{\"name\":\"echo\",\"arguments\":{\"input\":\"y\","
          "\"stream\":true}}}",
          0, &r, CTYPE_JSON, "Accept: application/json", NULL);
  assert_string_equal(r.ctype, "application/json");
  reply_free(&r);

  /* initialize on a stream still carries the session header. */
  request("POST", g_mcp,
          "{\"jsonrpc\":\"2.0\",\"id\":15,\"method\":\"initialize\","
          "\"params\":{}}",
          0, &r, CTYPE_JSON, "Accept: text/event-stream", NULL);
  assert_string_equal(r.ctype, "text/event-stream");
  assert_int_equal(strlen(r.session), 32);
  n = parse_sse(r.body, ev, 8);
  assert_int_equal(n, 1);
  assert_string_equal(str_at(ev[0], "result.serverInfo.name"),
                      "stub-under-test");
  json_decref(ev[0]);
  reply_free(&r);
}

static void test_discovery(void **state) {
  (void)state;
  const char *base = tc_mcp_stub_base_url(g_stub);
  char url[256], want[256];
  const char *prmd[] = {"/.well-known/oauth-protected-resource",
                        "/.well-known/oauth-protected-resource/mcp"};
  struct reply r;
  for (size_t i = 0; i < 2; i++) {
    snprintf(url, sizeof(url), "%s%s", base, prmd[i]);
    request("GET", url, NULL, 0, &r, "Host: mcp.example.test:8443", NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.ctype, "application/json"));
    json_t *v = parse(&r);
    assert_string_equal(str_at(v, "resource"),
                        "http://mcp.example.test:8443/mcp");
    assert_string_equal(str_at(v, "authorization_servers.0"),
                        "http://mcp.example.test:8443");
    assert_int_equal(json_array_size(at(v, "authorization_servers")), 1);
    assert_string_equal(str_at(v, "scopes_supported.0"), "read");
    assert_string_equal(str_at(v, "scopes_supported.1"), "write");
    json_decref(v);
    reply_free(&r);
  }

  /* curl's own Host header is the listener's host:port. */
  snprintf(url, sizeof(url), "%s%s", base, prmd[1]);
  request("GET", url, NULL, 0, &r, NULL);
  json_t *v = parse(&r);
  snprintf(want, sizeof(want), "%s/mcp", base);
  assert_string_equal(str_at(v, "resource"), want);
  json_decref(v);
  reply_free(&r);
  /* A Host that is not host[:port] is refused, never reflected. */
  request("GET", url, NULL, 0, &r, "Host: evil.test/x?y", NULL);
  assert_int_equal(r.status, 403);
  assert_null(strstr(r.body, "evil.test"));
  reply_free(&r);

  snprintf(url, sizeof(url), "%s/.well-known/oauth-authorization-server", base);
  request("GET", url, NULL, 0, &r, "Host: as.example.test", NULL);
  assert_int_equal(r.status, 200);
  v = parse(&r);
  assert_string_equal(str_at(v, "issuer"), "http://as.example.test");
  assert_string_equal(str_at(v, "authorization_endpoint"),
                      "http://as.example.test/authorize");
  assert_string_equal(str_at(v, "token_endpoint"),
                      "http://as.example.test/token");
  assert_string_equal(str_at(v, "registration_endpoint"),
                      "http://as.example.test/register");
  assert_string_equal(str_at(v, "jwks_uri"), "http://as.example.test/jwks");
  assert_string_equal(str_at(v, "code_challenge_methods_supported.0"), "S256");
  assert_int_equal(json_array_size(at(v, "code_challenge_methods_supported")),
                   1);
  assert_string_equal(str_at(v, "token_endpoint_auth_methods_supported.0"),
                      "none");
  assert_string_equal(str_at(v, "token_endpoint_auth_methods_supported.1"),
                      "client_secret_post");
  json_decref(v);
  reply_free(&r);

  snprintf(url, sizeof(url), "%s/jwks", base);
  request("GET", url, NULL, 0, &r, NULL);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, "{\"keys\":[]}");
  reply_free(&r);
}

static void test_body_limit(void **state) {
  (void)state;
  size_t max = 1024 * 1024;
  char *big = malloc(max + 2);
  assert_non_null(big);
  memset(big, ' ', max + 1);
  big[max + 1] = '\0';
  struct reply r;
  /* One byte over, announced: curl waits for 100 Continue and gets 413. */
  request("POST", g_mcp, big, max + 1, &r, CTYPE_JSON, JSON_ACCEPT, NULL);
  assert_int_equal(r.status, 413);
  json_t *v = parse(&r);
  assert_int_equal(int_at(v, "error.code"), -32600);
  json_decref(v);
  reply_free(&r);
  /* Sent without waiting: read, dropped, then 413. */
  request("POST", g_mcp, big, max + 1, &r, CTYPE_JSON, JSON_ACCEPT,
          "Expect:", NULL);
  assert_int_equal(r.status, 413);
  reply_free(&r);
  /* Chunked (no Content-Length to check up front). */
  request("POST", g_mcp, big, max + 1, &r, CTYPE_JSON, JSON_ACCEPT,
          "Transfer-Encoding: chunked", NULL);
  assert_int_equal(r.status, 413);
  reply_free(&r);
  /* Exactly 1 MiB is read (and is not JSON). */
  request("POST", g_mcp, big, max, &r, CTYPE_JSON, JSON_ACCEPT, NULL);
  assert_int_equal(r.status, 400);
  v = parse(&r);
  assert_int_equal(int_at(v, "error.code"), -32700);
  json_decref(v);
  reply_free(&r);
  /* A 1 MiB message that is valid JSON-RPC works. */
  const char *head = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
                     "\"params\":{\"name\":\"echo\",\"arguments\":{\"input\":"
                     "\"";
  const char *tail = "\"}}}";
  memset(big, 'a', max);
  memcpy(big, head, strlen(head));
  memcpy(big + max - strlen(tail), tail, strlen(tail));
  big[max] = '\0';
  request("POST", g_mcp, big, max, &r, CTYPE_JSON, JSON_ACCEPT, NULL);
  assert_int_equal(r.status, 200);
  v = parse(&r);
  assert_int_equal(strlen(str_at(v, "result.structuredContent.echoed")),
                   max - strlen(head) - strlen(tail));
  json_decref(v);
  reply_free(&r);
  free(big);
}

static void test_routes_and_methods(void **state) {
  (void)state;
  const char *base = tc_mcp_stub_base_url(g_stub);
  char url[256];
  struct reply r;
  /* No server-initiated stream: GET /mcp is 405. */
  request("GET", g_mcp, NULL, 0, &r, "Accept: text/event-stream", NULL);
  assert_int_equal(r.status, 405);
  assert_string_equal(r.allow, "POST, DELETE");
  reply_free(&r);
  request("PUT", g_mcp, "{}", 0, &r, NULL);
  assert_int_equal(r.status, 405);
  reply_free(&r);

  snprintf(url, sizeof(url), "%s/.well-known/oauth-protected-resource", base);
  request("POST", url, "{}", 0, &r, NULL);
  assert_int_equal(r.status, 405);
  assert_string_equal(r.allow, "GET, HEAD");
  reply_free(&r);
  request("HEAD", url, NULL, 0, &r, NULL);
  assert_int_equal(r.status, 200);
  reply_free(&r);

  const char *missing[] = {
      "/",          "/mcp/",  "/mcp/extra",
      "/authorize", "/token", "/.well-known/oauth-protected-resource/other"};
  for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
    snprintf(url, sizeof(url), "%s%s", base, missing[i]);
    request("GET", url, NULL, 0, &r, NULL);
    assert_int_equal(r.status, 404);
    reply_free(&r);
  }
}

static void test_listen_errors(void **state) {
  (void)state;
  struct tc_mcp_stub *s = NULL;
  char *err = NULL;
  struct tc_mcp_stub_options o = {.listen_addr = "no-port-here"};
  assert_int_equal(tc_mcp_stub_start(&s, &o, &err), -1);
  assert_null(s);
  assert_non_null(err);
  assert_non_null(strstr(err, "no-port-here"));
  assert_non_null(strstr(err, "--listen-addr"));
  assert_null(strchr(err, '\n'));
  free(err);

  /* The port of the running stub is taken. */
  const char *base = tc_mcp_stub_base_url(g_stub);
  o.listen_addr = base + strlen("http://");
  err = NULL;
  assert_int_equal(tc_mcp_stub_start(&s, &o, &err), -1);
  assert_non_null(err);
  assert_non_null(strstr(err, o.listen_addr));
  assert_non_null(strstr(err, "in use"));
  free(err);

  /* Defaults: NULL options work and stop frees everything. */
  err = NULL;
  assert_int_equal(tc_mcp_stub_start(&s, NULL, &err), 0);
  assert_true(strncmp(tc_mcp_stub_base_url(s), "http://127.0.0.1:", 17) == 0);
  tc_mcp_stub_stop(s);
  tc_mcp_stub_stop(NULL);
}

/* Runs off the main thread: no cmocka asserts here; returns failures. */
static void *session_worker(void *arg) {
  long *failures = arg;
  const char *init = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
                     "\"initialize\",\"params\":{}}";
  const char *ping = "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}";
  for (int i = 0; i < 10; i++) {
    char hdr[200];
    struct reply r;
    if (request_nothrow("POST", g_mcp, init, 0, &r, CTYPE_JSON, NULL) !=
            CURLE_OK ||
        r.status != 200 || strlen(r.session) != 32)
      (*failures)++;
    snprintf(hdr, sizeof(hdr), "Mcp-Session-Id: %s", r.session);
    reply_free(&r);
    if (request_nothrow("POST", g_mcp, ping, 0, &r, CTYPE_JSON, hdr, NULL) !=
            CURLE_OK ||
        r.status != 200)
      (*failures)++;
    reply_free(&r);
    if (request_nothrow("DELETE", g_mcp, NULL, 0, &r, hdr, NULL) != CURLE_OK ||
        r.status != 204)
      (*failures)++;
    reply_free(&r);
    if (request_nothrow("POST", g_mcp, ping, 0, &r, CTYPE_JSON, hdr, NULL) !=
            CURLE_OK ||
        r.status != 404)
      (*failures)++;
    reply_free(&r);
  }
  return NULL;
}

static void test_concurrent_sessions(void **state) {
  (void)state;
  pthread_t t[4];
  long failures[4] = {0};
  for (size_t i = 0; i < 4; i++)
    assert_int_equal(pthread_create(&t[i], NULL, session_worker, &failures[i]),
                     0);
  for (size_t i = 0; i < 4; i++) {
    pthread_join(t[i], NULL);
    assert_int_equal(failures[i], 0);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_initialize),
      cmocka_unit_test(test_tools_list),
      cmocka_unit_test(test_tools_call),
      cmocka_unit_test(test_rpc_errors),
      cmocka_unit_test(test_bad_messages),
      cmocka_unit_test(test_notification),
      cmocka_unit_test(test_sessions),
      cmocka_unit_test(test_sse_progress),
      cmocka_unit_test(test_discovery),
      cmocka_unit_test(test_body_limit),
      cmocka_unit_test(test_routes_and_methods),
      cmocka_unit_test(test_listen_errors),
      cmocka_unit_test(test_concurrent_sessions),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
