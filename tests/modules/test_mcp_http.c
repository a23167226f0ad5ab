/* test_mcp_http.c — the mcp-http module (mcp-http.so from the build tree,
 * loaded through the loader) against the in-process MCP stub and a small
 * libmicrohttpd server that produces the error cases: status and
 * provenance of every outcome, SSE ordering, headers on the wire,
 * deadlines, DELETE and connection reuse. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <microhttpd.h>

#include "config/config.h"
#include "dev/mcp_stub.h"
#include "dispatch/reply_budget.h"
#include "loader/loader.h"

/* ---- the error-case server ----------------------------------------------- */

struct tsrv {
  struct MHD_Daemon *mhd;
  unsigned port;
  atomic_int connections; /* accepted connections */
  atomic_int requests;    /* completed request handlers */
  atomic_int release;     /* /slow returns early when set */
  pthread_mutex_t lock;   /* guards last_headers */
  char last_headers[8192];
};

static struct tsrv g_srv;

static void on_conn(void *cls, struct MHD_Connection *c, void **socket_ctx,
                    enum MHD_ConnectionNotificationCode code) {
  (void)c;
  (void)socket_ctx;
  struct tsrv *s = cls;
  if (code == MHD_CONNECTION_NOTIFY_STARTED)
    atomic_fetch_add(&s->connections, 1);
}

struct hdr_dump {
  char *buf;
  size_t len, cap;
};

static enum MHD_Result dump_header(void *cls, enum MHD_ValueKind kind,
                                   const char *key, const char *value) {
  (void)kind;
  struct hdr_dump *d = cls;
  int n = snprintf(d->buf + d->len, d->cap - d->len, "%s=%s\n", key,
                   value ? value : "");
  if (n > 0 && (size_t)n < d->cap - d->len)
    d->len += (size_t)n;
  return MHD_YES;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status,
                             const char *ctype, const char *body,
                             const char *hname, const char *hvalue) {
  struct MHD_Response *r = MHD_create_response_from_buffer(
      strlen(body), (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
  if (ctype != NULL)
    MHD_add_response_header(r, "Content-Type", ctype);
  if (hname != NULL)
    MHD_add_response_header(r, hname, hvalue);
  enum MHD_Result ret = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return ret;
}

/* A stream handed out a few bytes at a time, so events split anywhere. */
static const char tricky_sse[] =
    ": a comment line\n"
    "\n"
    "id: 0\n"
    "data:\n"
    "\n" /* priming event: empty data, skipped */
    "event: message\r\n"
    "id: 1\r\n"
    "retry: 1000\r\n"
    "data: {\"jsonrpc\":\"2.0\",\r\n"
    "data: \"method\":\"notifications/one\"}\r\n"
    "\r\n"
    "event: ping\n"
    "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/skipped\"}\n"
    "\n"
    ":keep-alive\r"
    "data:{\"jsonrpc\":\"2.0\",\"method\":\"notifications/two\"}\r"
    "\r"
    "data: {\"jsonrpc\":\"2.0\",\"id\":\"abc\",\"result\":{\"ok\":true}}\n"
    "\n"
    "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/after\"}\n\n";

static ssize_t tricky_reader(void *cls, uint64_t pos, char *buf, size_t max) {
  (void)cls;
  size_t total = sizeof(tricky_sse) - 1;
  if (pos >= total)
    return MHD_CONTENT_READER_END_OF_STREAM;
  size_t n = total - (size_t)pos;
  if (n > 7)
    n = 7;
  if (n > max)
    n = max;
  memcpy(buf, tricky_sse + pos, n);
  usleep(500);
  return (ssize_t)n;
}

/* The request body, kept for the paths that answer from it. */
struct treq_body {
  char data[8192];
  size_t len;
};

static void on_completed(void *cls, struct MHD_Connection *c, void **req_ctx,
                         enum MHD_RequestTerminationCode toe) {
  (void)cls;
  (void)c;
  (void)toe;
  free(*req_ctx);
  *req_ctx = NULL;
}

/* The exact text of the request's top-level "id" (test requests put it
 * first or after "jsonrpc", with no nesting before it), or "null". */
static void raw_id(const struct treq_body *b, char *out, size_t cap) {
  const char *p = strstr(b->data, "\"id\":");
  snprintf(out, cap, "null");
  if (p == NULL)
    return;
  p += 5;
  size_t n = 0;
  int in_str = *p == '"';
  for (const char *q = p + in_str; *q != '\0'; q++) {
    if (in_str && *q == '\\' && q[1] != '\0') {
      q++;
      continue;
    }
    if (in_str ? *q == '"' : (*q == ',' || *q == '}')) {
      n = (size_t)(q - p) + (size_t)in_str;
      break;
    }
  }
  if (n > 0 && n < cap)
    snprintf(out, cap, "%.*s", (int)n, p);
}

/* Reply bodies generated on demand: `size` bytes of a JSON-RPC result for
 * id 7 whose text value is padding ('x'), as JSON or as one SSE event. */
struct big_reply {
  size_t size;
  int sse;
};

static ssize_t big_reader(void *cls, uint64_t pos, char *buf, size_t max) {
  const struct big_reply *b = cls;
  const char *head = b->sse ? "data: {\"jsonrpc\":\"2.0\",\"id\":7,"
                              "\"result\":{\"pad\":\""
                            : "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":"
                              "{\"pad\":\"";
  const char *tail = b->sse ? "\"}}\n\n" : "\"}}";
  size_t hl = strlen(head), tl = strlen(tail);
  if (pos >= b->size)
    return MHD_CONTENT_READER_END_OF_STREAM;
  size_t n = 0;
  for (; n < max && pos + n < b->size; n++) {
    uint64_t at = pos + n;
    buf[n] = at < hl              ? head[at]
             : at >= b->size - tl ? tail[at - (b->size - tl)]
                                  : 'x';
  }
  return (ssize_t)n;
}

static enum MHD_Result big_response(struct MHD_Connection *c, size_t size,
                                    int sse, int chunked) {
  static struct big_reply replies[2][2];
  struct big_reply *b = &replies[sse][chunked];
  b->size = size;
  b->sse = sse;
  struct MHD_Response *r = MHD_create_response_from_callback(
      chunked ? MHD_SIZE_UNKNOWN : size, 256 * 1024, big_reader, b, NULL);
  MHD_add_response_header(r, "Content-Type",
                          sse ? "text/event-stream" : "application/json");
  enum MHD_Result ret = MHD_queue_response(c, 200, r);
  MHD_destroy_response(r);
  return ret;
}

/* An SSE stream that answers at once and then stays open for 6 s. */
static ssize_t held_reader(void *cls, uint64_t pos, char *buf, size_t max) {
  static const char ev[] =
      "data: {\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"held\":true}}\n\n";
  struct tsrv *s = cls;
  if (pos < sizeof(ev) - 1) {
    size_t n = sizeof(ev) - 1 - (size_t)pos;
    n = n < max ? n : max;
    memcpy(buf, ev + pos, n);
    return (ssize_t)n;
  }
  for (int i = 0; i < 300 && !atomic_load(&s->release); i++)
    usleep(20 * 1000);
  return MHD_CONTENT_READER_END_OF_STREAM;
}

static enum MHD_Result srv_handler(void *cls, struct MHD_Connection *c,
                                   const char *url, const char *method,
                                   const char *version, const char *upload,
                                   size_t *upload_size, void **req_ctx) {
  (void)version;
  struct tsrv *s = cls;
  if (*req_ctx == NULL) {
    *req_ctx = calloc(1, sizeof(struct treq_body));
    return *req_ctx != NULL ? MHD_YES : MHD_NO;
  }
  struct treq_body *rb = *req_ctx;
  if (*upload_size > 0) {
    size_t room = sizeof(rb->data) - 1 - rb->len;
    size_t n = *upload_size < room ? *upload_size : room;
    memcpy(rb->data + rb->len, upload, n);
    rb->len += n;
    rb->data[rb->len] = '\0';
    *upload_size = 0;
    return MHD_YES;
  }
  char dump[4096];
  struct hdr_dump d = {dump, 0, sizeof(dump)};
  dump[0] = '\0';
  MHD_get_connection_values(c, MHD_HEADER_KIND, dump_header, &d);
  pthread_mutex_lock(&s->lock);
  snprintf(s->last_headers, sizeof(s->last_headers), "%s %s\n%s", method, url,
           dump);
  pthread_mutex_unlock(&s->lock);
  atomic_fetch_add(&s->requests, 1);

  if (strcmp(url, "/ok") == 0)
    return reply(c, 200, "application/json",
                 "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}", NULL, NULL);
  if (strcmp(url, "/e503") == 0)
    return reply(c, 503, "text/plain", "Service Unavailable", NULL, NULL);
  if (strcmp(url, "/e401") == 0)
    return reply(c, 401, "application/json",
                 "{\"jsonrpc\":\"2.0\",\"id\":7,\"error\":{\"code\":-32001,"
                 "\"message\":\"auth required\"}}",
                 "WWW-Authenticate", "Bearer realm=\"test\"");
  if (strcmp(url, "/e400-result") == 0)
    return reply(c, 400, "application/json",
                 "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{}}", NULL, NULL);
  if (strcmp(url, "/e500-empty") == 0)
    return reply(c, 500, NULL, "", NULL, NULL);
  if (strcmp(url, "/e500-big") == 0) {
    static char big[200 * 1024 + 1];
    memset(big, 'x', sizeof(big) - 1);
    return reply(c, 500, "text/plain", big, NULL, NULL);
  }
  if (strcmp(url, "/sse-early") == 0)
    return reply(c, 200, "text/event-stream",
                 "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":"
                 "\"notifications/progress\"}\n\n",
                 NULL, NULL);
  if (strcmp(url, "/sse-mismatch") == 0)
    return reply(c, 200, "text/event-stream",
                 "data: {\"jsonrpc\":\"2.0\",\"id\":999,\"result\":{}}\n\n",
                 NULL, NULL);
  if (strcmp(url, "/json-garbage") == 0)
    return reply(c, 200, "application/json", "{not json", NULL, NULL);
  if (strcmp(url, "/sse-tricky") == 0) {
    struct MHD_Response *r = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, 64, tricky_reader, NULL, NULL);
    MHD_add_response_header(r, "Content-Type",
                            "Text/Event-Stream; charset=utf-8");
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
  }
  if (strcmp(url, "/sse-ok") == 0) /* an SSE answer for id 7, then EOF */
    return reply(c, 200, "text/event-stream",
                 "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":"
                 "\"notifications/progress\"}\n\nevent: message\ndata: "
                 "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"ok\":1}}\n\n",
                 NULL, NULL);
  if (strcmp(url, "/sse-held") == 0) {
    struct MHD_Response *r = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, 256, held_reader, s, NULL);
    MHD_add_response_header(r, "Content-Type", "text/event-stream");
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
  }
  if (strcmp(url, "/echo-id") == 0 || strcmp(url, "/sse-echo-id") == 0) {
    char id[512], body[1024];
    raw_id(rb, id, sizeof(id));
    int sse = url[1] == 's';
    snprintf(body, sizeof(body),
             "%s{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"echo\":true}}%s",
             sse ? "data: " : "", id, sse ? "\n\n" : "");
    return reply(c, 200, sse ? "text/event-stream" : "application/json", body,
                 NULL, NULL);
  }
  if (strcmp(url, "/big-json") == 0) /* 3 MiB, Content-Length */
    return big_response(c, 3u << 20, 0, 0);
  if (strcmp(url, "/big-json-chunked") == 0)
    return big_response(c, 3u << 20, 0, 1);
  if (strcmp(url, "/big-sse") == 0)
    return big_response(c, 3u << 20, 1, 1);
  if (strcmp(url, "/slow") == 0) {
    for (int i = 0; i < 100 && !atomic_load(&s->release); i++)
      usleep(20 * 1000);
    return reply(c, 200, "application/json",
                 "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}", NULL, NULL);
  }
  return reply(c, 404, "text/plain", "not found", NULL, NULL);
}

static int srv_start(struct tsrv *s) {
  memset(s, 0, sizeof(*s));
  pthread_mutex_init(&s->lock, NULL);
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  s->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
                                MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL,
                            0, NULL, NULL, srv_handler, s, MHD_OPTION_SOCK_ADDR,
                            &a, MHD_OPTION_NOTIFY_CONNECTION, on_conn, s,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                            MHD_OPTION_END);
  if (s->mhd == NULL)
    return -1;
  const union MHD_DaemonInfo *info =
      MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
  s->port = info ? info->port : 0;
  return s->port ? 0 : -1;
}

static void srv_last_headers(char *out, size_t len) {
  pthread_mutex_lock(&g_srv.lock);
  size_t n = strnlen(g_srv.last_headers, sizeof(g_srv.last_headers));
  if (n >= len)
    n = len - 1;
  memcpy(out, g_srv.last_headers, n);
  out[n] = '\0';
  pthread_mutex_unlock(&g_srv.lock);
}

/* ---- module, stub and recording sink ------------------------------------- */

static struct tc_registry g_reg;
static const struct tc_transport_vtable *g_vt;
static const struct tc_host *g_host;
static struct tc_mcp_stub *g_stub;

static char *url_of(const char *path) {
  static char buf[8][256];
  static int next;
  char *b = buf[next++ % 8];
  snprintf(b, sizeof(buf[0]), "http://127.0.0.1:%u%s", g_srv.port, path);
  return b;
}

static char *stub_url(void) {
  static char buf[256];
  snprintf(buf, sizeof(buf), "%s/mcp", tc_mcp_stub_base_url(g_stub));
  return buf;
}

struct rec {
  int notifies, completes;
  int order_ok;   /* no notify after complete */
  char log[8192]; /* "N <body>\n" / "C <body>\n" */
  int status, notify_status;
  char *body;
  char source[32], kind[48];
  int received, upstream_status;
  struct tc_headers headers; /* copy of complete()'s headers */
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
  r->notify_status = m->status;
  assert_null(m->failure_source);
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
  r->received = m->upstream_response_received;
  r->upstream_status = m->upstream_status;
  tc_headers_clear(&r->headers);
  for (size_t i = 0; m->headers != NULL && i < m->headers->count; i++)
    tc_headers_add(&r->headers, m->headers->items[i].name,
                   m->headers->items[i].value);
  rec_log(r, 'C', m);
  return TC_OK;
}

static void rec_free(struct rec *r) {
  free(r->body);
  tc_headers_clear(&r->headers);
}

/* A request whose is_canceled turns true `cancel_after_ms` after the call
 * started (0 = never). */
struct treq {
  struct tc_request req;
  uint64_t cancel_at_ns;
};

static int treq_canceled(const struct tc_request *req) {
  const struct treq *t = req->core;
  return t->cancel_at_ns != 0 && g_host->monotonic_ns() >= t->cancel_at_ns;
}

struct call_opts {
  const struct tc_headers *headers;
  int64_t deadline_ms; /* from now; 0 none, < 0 already past */
  int64_t cancel_after_ms;
};

static int do_call(void *inst, const char *body, const struct call_opts *o,
                   struct rec *r) {
  memset(r, 0, sizeof(*r));
  r->order_ok = 1;
  struct treq t;
  memset(&t, 0, sizeof(t));
  t.req.struct_size = sizeof(t.req);
  t.req.type = "jsonrpc";
  t.req.channel = "main";
  t.req.request_id = "req_test";
  t.req.body = body;
  t.req.body_len = strlen(body);
  t.req.headers = o ? o->headers : NULL;
  t.req.is_canceled = treq_canceled;
  t.req.core = &t;
  uint64_t now = g_host->monotonic_ns();
  if (o != NULL && o->deadline_ms > 0)
    t.req.deadline_ns = now + (uint64_t)o->deadline_ms * 1000000u;
  else if (o != NULL && o->deadline_ms < 0)
    t.req.deadline_ns = now - 1000000u;
  if (o != NULL && o->cancel_after_ms > 0)
    t.cancel_at_ns = now + (uint64_t)o->cancel_after_ms * 1000000u;
  struct tc_sink sink = {sizeof(sink), r, rec_notify, rec_complete};
  return g_vt->call(inst, &t.req, &sink);
}

static void binding_init(struct tc_binding *b, const char *url) {
  memset(b, 0, sizeof(*b));
  b->struct_size = sizeof(*b);
  b->channel = "main";
  b->transport = "http";
  b->url = url;
  b->max_concurrent_requests = 4;
}

static void *new_inst(const struct tc_binding *b) {
  void *inst = NULL;
  char *err = NULL;
  if (g_vt->create(g_host, b, &inst, &err) != TC_OK)
    fail_msg("create: %s", err ? err : "?");
  return inst;
}

static void assert_contains(const char *text, const char *needle) {
  if (text == NULL || strstr(text, needle) == NULL)
    fail_msg("expected \"%s\" in: %s", needle, text ? text : "(null)");
}

static void assert_lacks(const char *text, const char *needle) {
  if (text != NULL && strstr(text, needle) != NULL)
    fail_msg("did not expect \"%s\" in: %s", needle, text);
}

static void assert_failure(const struct rec *r, const char *source,
                           const char *kind) {
  assert_int_equal(r->completes, 1);
  assert_string_equal(r->source, source);
  assert_string_equal(r->kind, kind);
  assert_null(r->body);
}

static const char k_echo[] =
    "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":"
    "{\"name\":\"echo\",\"arguments\":{\"input\":\"hi\"}}}";

/* ---- tests against the MCP stub ------------------------------------------ */

static void test_initialize_json_and_session(void **state) {
  struct tc_binding b;
  binding_init(&b, stub_url());
  void *inst = new_inst(&b);
  struct rec r;
  const char *init = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\","
                     "\"params\":{\"protocolVersion\":\"2025-06-18\","
                     "\"capabilities\":{},\"clientInfo\":{\"name\":\"t\","
                     "\"version\":\"1\"}}}";
  assert_int_equal(do_call(inst, init, NULL, &r), TC_OK);
  assert_int_equal(r.completes, 1);
  assert_int_equal(r.notifies, 0);
  assert_string_equal(r.source, "");
  assert_int_equal(r.status, 200);
  assert_contains(r.body, "\"protocolVersion\":\"2025-06-18\"");
  assert_contains(r.body, "\"id\":1");
  const char *sid = tc_headers_get(&r.headers, "mcp-session-id", 0);
  assert_non_null(sid);
  assert_int_equal(strlen(sid), 32);
  assert_contains(tc_headers_get(&r.headers, "Content-Type", 0),
                  "application/json");

  /* The session id goes back with the command headers: the stub knows it
   * (an unknown one would be 404). */
  struct tc_headers h = TC_HEADERS_INIT;
  tc_headers_add(&h, "Mcp-Session-Id", sid);
  struct call_opts o = {&h, 5000, 0};
  struct rec r2;
  const char *list = "{\"jsonrpc\":\"2.0\",\"id\":\"L\",\"method\":"
                     "\"tools/list\"}";
  do_call(inst, list, &o, &r2);
  assert_int_equal(r2.status, 200);
  assert_contains(r2.body, "\"echo\"");

  /* terminate_session: DELETE with the command headers -> 204, then the
   * session is gone (404 on the second DELETE). */
  struct treq t;
  memset(&t, 0, sizeof(t));
  t.req.struct_size = sizeof(t.req);
  t.req.type = "session_termination";
  t.req.headers = &h;
  t.req.is_canceled = treq_canceled;
  t.req.core = &t;
  int status = -1;
  assert_int_equal(g_vt->terminate_session(inst, &t.req, &status), TC_OK);
  assert_int_equal(status, 204);
  assert_int_equal(g_vt->terminate_session(inst, &t.req, &status), TC_OK);
  assert_int_equal(status, 404);

  tc_headers_clear(&h);
  rec_free(&r);
  rec_free(&r2);
  g_vt->destroy(inst);
}

static void test_sse_progress_order(void **state) {
  struct tc_binding b;
  binding_init(&b, stub_url());
  void *inst = new_inst(&b);
  struct tc_headers h = TC_HEADERS_INIT;
  tc_headers_add(&h, "Accept", "text/event-stream, application/json");
  struct call_opts o = {&h, 5000, 0};
  struct rec r;
  const char *call =
      "{\"jsonrpc\":\"2.0\",\"id\":42,\"method\":\"tools/call\",\"params\":"
      "{\"name\":\"echo\",\"arguments\":{\"input\":\"x\",\"progress\":3}}}";
  do_call(inst, call, &o, &r);
  assert_int_equal(r.notifies, 3);
  assert_int_equal(r.completes, 1);
  assert_true(r.order_ok);
  assert_int_equal(r.notify_status, 200);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.source, "");
  assert_contains(tc_headers_get(&r.headers, "content-type", 0),
                  "text/event-stream");
  /* N 1, N 2, N 3, then C with the result, in that order. */
  const char *p1 = strstr(r.log, "N {\"jsonrpc\":\"2.0\",\"method\":"
                                 "\"notifications/progress\"");
  assert_non_null(p1);
  const char *s1 = strstr(r.log, "\"progress\":1"),
             *s2 = strstr(r.log, "\"progress\":2"),
             *s3 = strstr(r.log, "\"progress\":3"), *c = strstr(r.log, "C {");
  assert_true(s1 && s2 && s3 && c && s1 < s2 && s2 < s3 && s3 < c);
  assert_contains(r.body, "\"id\":42");
  assert_contains(r.body, "\"result\"");
  tc_headers_clear(&h);
  rec_free(&r);
  g_vt->destroy(inst);
}

static void test_notification_accepted(void **state) {
  struct tc_binding b;
  binding_init(&b, stub_url());
  void *inst = new_inst(&b);
  struct rec r;
  do_call(inst,
          "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}",
          NULL, &r);
  assert_int_equal(r.completes, 1);
  assert_int_equal(r.status, 202);
  assert_string_equal(r.source, "");
  assert_null(r.body);
  rec_free(&r);
  g_vt->destroy(inst);
}

struct par_arg {
  void *inst;
  int thread;
  int failures;
};

static void *par_worker(void *p) {
  struct par_arg *a = p;
  for (int i = 0; i < 10; i++) {
    char body[256], want[64];
    snprintf(body, sizeof(body),
             "{\"jsonrpc\":\"2.0\",\"id\":\"t%d-%d\",\"method\":\"tools/call\","
             "\"params\":{\"name\":\"uppercase\",\"arguments\":{\"input\":"
             "\"w%d\"}}}",
             a->thread, i, i);
    snprintf(want, sizeof(want), "\"id\":\"t%d-%d\"", a->thread, i);
    struct rec r;
    do_call(a->inst, body, NULL, &r);
    char upper[16];
    snprintf(upper, sizeof(upper), "W%d", i);
    if (r.completes != 1 || r.status != 200 || r.body == NULL ||
        strstr(r.body, want) == NULL || strstr(r.body, upper) == NULL)
      a->failures++;
    rec_free(&r);
  }
  return NULL;
}

static void test_concurrent_calls(void **state) {
  struct tc_binding b;
  binding_init(&b, stub_url());
  void *inst = new_inst(&b);
  pthread_t th[4];
  struct par_arg args[4];
  for (int i = 0; i < 4; i++) {
    args[i] = (struct par_arg){inst, i, 0};
    assert_int_equal(pthread_create(&th[i], NULL, par_worker, &args[i]), 0);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(args[i].failures, 0);
  }
  g_vt->destroy(inst);
}

/* ---- error cases --------------------------------------------------------- */

static void test_upstream_503_text(void **state) {
  struct tc_binding b;
  binding_init(&b, url_of("/e503"));
  void *inst = new_inst(&b);
  struct rec r;
  do_call(inst, k_echo, NULL, &r);
  assert_failure(&r, "target_http", "malformed_json");
  assert_int_equal(r.received, 1);
  assert_int_equal(r.upstream_status, 503);
  assert_int_equal(r.status, 503);
  rec_free(&r);
  g_vt->destroy(inst);
}

static void test_upstream_401_jsonrpc_error_passes(void **state) {
  struct tc_binding b;
  binding_init(&b, url_of("/e401"));
  void *inst = new_inst(&b);
  struct rec r;
  do_call(inst, k_echo, NULL, &r);
  assert_int_equal(r.completes, 1);
  assert_string_equal(r.source, "");
  assert_int_equal(r.status, 401);
  assert_string_equal(r.body, "{\"jsonrpc\":\"2.0\",\"id\":7,\"error\":{"
                              "\"code\":-32001,\"message\":\"auth "
                              "required\"}}");
  assert_string_equal(tc_headers_get(&r.headers, "WWW-Authenticate", 0),
                      "Bearer realm=\"test\"");
  rec_free(&r);
  /* The same error for another id is not this request's answer. */
  do_call(inst,
          "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"tools/call\","
          "\"params\":{}}",
          NULL, &r);
  assert_failure(&r, "target_http", "invalid_mcp_error");
  assert_int_equal(r.upstream_status, 401);
  rec_free(&r);
  g_vt->destroy(inst);
}

static void test_upstream_bad_bodies(void **state) {
  static const struct {
    const char *path, *kind;
    int status;
  } cases[] = {
      {"/e400-result", "non_protocol_response", 400},
      {"/e500-empty", "response_body_missing", 500},
      {"/e500-big", "response_body_too_large", 500},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct tc_binding b;
    binding_init(&b, url_of(cases[i].path));
    void *inst = new_inst(&b);
    struct rec r;
    do_call(inst, k_echo, NULL, &r);
    assert_failure(&r, "target_http", cases[i].kind);
    assert_int_equal(r.upstream_status, cases[i].status);
    assert_int_equal(r.received, 1);
    rec_free(&r);
    g_vt->destroy(inst);
  }
}

static void test_protocol_failures(void **state) {
  static const struct {
    const char *path, *kind;
  } cases[] = {
      {"/sse-mismatch", "invalid_protocol_response"},
      {"/json-garbage", "malformed_json"},
      {"/ok", "invalid_protocol_response"}, /* answers id 1, not 7 */
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct tc_binding b;
    binding_init(&b, url_of(cases[i].path));
    void *inst = new_inst(&b);
    struct rec r;
    do_call(inst, k_echo, NULL, &r);
    assert_failure(&r, "protocol", cases[i].kind);
    assert_int_equal(r.status, 502);
    assert_int_equal(r.upstream_status, 0);
    rec_free(&r);
    g_vt->destroy(inst);
  }
}

static void test_connection_refused(void **state) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  socklen_t len = sizeof(a);
  getsockname(fd, (struct sockaddr *)&a, &len);
  close(fd); /* nothing listens on that port now */
  char url[64];
  snprintf(url, sizeof(url), "http://127.0.0.1:%u/mcp", ntohs(a.sin_port));
  struct tc_binding b;
  binding_init(&b, url);
  void *inst = new_inst(&b);
  struct rec r;
  do_call(inst, k_echo, NULL, &r);
  assert_failure(&r, "connect", "connection_refused");
  assert_int_equal(r.status, 502);
  assert_int_equal(r.received, 0);
  rec_free(&r);
  /* A notification gets the same provenance. */
  do_call(inst, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/x\"}", NULL,
          &r);
  assert_failure(&r, "connect", "connection_refused");
  rec_free(&r);
  /* DELETE: status 0 and TC_ECONNECT. */
  struct treq t;
  memset(&t, 0, sizeof(t));
  t.req.struct_size = sizeof(t.req);
  t.req.core = &t;
  t.req.is_canceled = treq_canceled;
  int status = -1;
  assert_int_equal(g_vt->terminate_session(inst, &t.req, &status), TC_ECONNECT);
  assert_int_equal(status, 0);
  g_vt->destroy(inst);
}

static void test_sse_closed_early(void **state) {
  struct tc_binding b;
  binding_init(&b, url_of("/sse-early"));
  void *inst = new_inst(&b);
  struct rec r;
  do_call(inst, k_echo, NULL, &r);
  assert_int_equal(r.notifies, 1);
  assert_true(r.order_ok);
  assert_failure(&r, "transport_closed", "eof");
  assert_int_equal(r.received, 0);
  assert_int_equal(r.upstream_status, 0);
  rec_free(&r);
  g_vt->destroy(inst);
}

static void test_sse_parser_edges(void **state) {
  struct tc_binding b;
  binding_init(&b, url_of("/sse-tricky"));
  void *inst = new_inst(&b);
  struct rec r;
  do_call(inst,
          "{\"jsonrpc\":\"2.0\",\"id\":\"abc\",\"method\":\"tools/call\"}",
          NULL, &r);
  assert_int_equal(r.completes, 1);
  assert_string_equal(r.source, "");
  assert_int_equal(r.notifies, 2);
  /* multi-line data joined by \n, CRLF and CR line ends, comments, the
   * priming and the "ping" event skipped; nothing after the answer. */
  assert_string_equal(r.log,
                      "N {\"jsonrpc\":\"2.0\",\n\"method\":\"notifications/"
                      "one\"}\n"
                      "N {\"jsonrpc\":\"2.0\",\"method\":\"notifications/"
                      "two\"}\n"
                      "C {\"jsonrpc\":\"2.0\",\"id\":\"abc\",\"result\":{"
                      "\"ok\":true}}\n");
  rec_free(&r);
  g_vt->destroy(inst);
}

static void test_id_types_compared_as_json(void **state) {
  struct tc_binding b;
  binding_init(&b, url_of("/ok")); /* answers "id":1 (a number) */
  void *inst = new_inst(&b);
  struct rec r;
  do_call(inst, "{\"jsonrpc\":\"2.0\",\"id\":\"1\",\"method\":\"ping\"}", NULL,
          &r);
  assert_failure(&r, "protocol", "invalid_protocol_response");
  rec_free(&r);
  do_call(inst, "{\"jsonrpc\":\"2.0\",\"id\": 1 ,\"method\":\"ping\"}", NULL,
          &r);
  assert_int_equal(r.completes, 1);
  assert_string_equal(r.source, "");
  assert_string_equal(r.body, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}");
  rec_free(&r);
  g_vt->destroy(inst);
}

static void test_deadlines(void **state) {
  struct tc_binding b;
  binding_init(&b, url_of("/slow"));
  void *inst = new_inst(&b);
  struct rec r;
  /* Already past: no request at all. */
  int before = atomic_load(&g_srv.requests);
  struct call_opts past = {NULL, -1, 0};
  do_call(inst, k_echo, &past, &r);
  assert_failure(&r, "timeout", "timeout");
  assert_int_equal(atomic_load(&g_srv.requests), before);
  rec_free(&r);

  /* Short deadline against a slow server. */
  uint64_t t0 = g_host->monotonic_ns();
  struct call_opts shortd = {NULL, 300, 0};
  do_call(inst, k_echo, &shortd, &r);
  uint64_t took_ms = (g_host->monotonic_ns() - t0) / 1000000u;
  assert_failure(&r, "timeout", "timeout");
  assert_true(took_ms >= 250 && took_ms < 1500);
  rec_free(&r);

  /* Canceled (no deadline): is_canceled is polled during the transfer. */
  t0 = g_host->monotonic_ns();
  struct call_opts cancel = {NULL, 0, 200};
  do_call(inst, k_echo, &cancel, &r);
  took_ms = (g_host->monotonic_ns() - t0) / 1000000u;
  assert_failure(&r, "timeout", "timeout");
  assert_true(took_ms < 1800);
  rec_free(&r);
  g_vt->destroy(inst);
}

static void test_headers_on_the_wire(void **state) {
  struct tc_headers extra = TC_HEADERS_INIT;
  tc_headers_add(&extra, "X-Test", "from-extra");
  tc_headers_add(&extra, "X-Only-Extra", "e1");
  struct tc_binding b;
  binding_init(&b, url_of("/ok"));
  b.extra_headers = &extra;
  void *inst = new_inst(&b);
  struct tc_headers h = TC_HEADERS_INIT;
  tc_headers_add(&h, "x-test", "from-command");
  tc_headers_add(&h, "X-Multi", "a");
  tc_headers_add(&h, "X-Multi", "b");
  tc_headers_add(&h, "Host", "evil.example");
  tc_headers_add(&h, "Content-Length", "99999");
  tc_headers_add(&h, "X-Bad", "line\r\nInjected: yes");
  tc_headers_add(&h, "Authorization", "Bearer tok");
  struct call_opts o = {&h, 5000, 0};
  struct rec r;
  do_call(inst, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", &o, &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.source, "");
  char seen[4096];
  srv_last_headers(seen, sizeof(seen));
  assert_contains(seen, "POST /ok\n");
  assert_contains(seen, "x-test=from-command\n");
  assert_lacks(seen, "from-extra");
  assert_contains(seen, "X-Only-Extra=e1\n");
  assert_contains(seen, "X-Multi=a\n");
  assert_contains(seen, "X-Multi=b\n");
  assert_contains(seen, "Authorization=Bearer tok\n");
  assert_contains(seen, "Accept=application/json, text/event-stream\n");
  assert_contains(seen, "Content-Type=application/json\n");
  assert_lacks(seen, "evil.example");
  assert_lacks(seen, "99999");
  assert_lacks(seen, "Injected");
  assert_lacks(seen, "Expect");
  rec_free(&r);

  /* An Accept from the command is kept as is. */
  tc_headers_clear(&h);
  tc_headers_add(&h, "Accept", "application/json");
  do_call(inst, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", &o, &r);
  srv_last_headers(seen, sizeof(seen));
  assert_contains(seen, "Accept=application/json\n");
  assert_lacks(seen, "text/event-stream");
  rec_free(&r);

  /* DELETE carries the command headers too. */
  struct treq t;
  memset(&t, 0, sizeof(t));
  t.req.struct_size = sizeof(t.req);
  t.req.headers = &h;
  t.req.core = &t;
  t.req.is_canceled = treq_canceled;
  tc_headers_add(&h, "Mcp-Session-Id", "s-123");
  int status = 0;
  assert_int_equal(g_vt->terminate_session(inst, &t.req, &status), TC_OK);
  assert_int_equal(status, 200); /* the test server answers any method */
  srv_last_headers(seen, sizeof(seen));
  assert_contains(seen, "DELETE /ok\n");
  assert_contains(seen, "Mcp-Session-Id=s-123\n");
  assert_contains(seen, "X-Only-Extra=e1\n");
  tc_headers_clear(&h);
  tc_headers_clear(&extra);
  g_vt->destroy(inst);
}

static void test_keep_alive(void **state) {
  struct tc_binding b;
  binding_init(&b, url_of("/ok"));
  void *inst = new_inst(&b);
  int before = atomic_load(&g_srv.connections);
  for (int i = 0; i < 20; i++) {
    struct rec r;
    do_call(inst, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", NULL,
            &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.source, "");
    rec_free(&r);
  }
  assert_int_equal(atomic_load(&g_srv.connections) - before, 1);
  g_vt->destroy(inst);
}

/* An SSE answer is read to the end of its stream, so the connection is
 * reused: many calls, one connection per concurrent caller at most. */
static void *sse_worker(void *p) {
  void **a = p;
  for (int i = 0; i < 15; i++) {
    struct rec r;
    do_call(a[0], k_echo, NULL, &r);
    if (r.completes != 1 || r.status != 200 || r.source[0] != '\0' ||
        r.notifies != 1 || strstr(r.body ? r.body : "", "\"ok\":1") == NULL)
      atomic_fetch_add((atomic_int *)a[1], 1);
    rec_free(&r);
  }
  return NULL;
}

static void test_sse_keep_alive(void **state) {
  struct tc_binding b;
  binding_init(&b, url_of("/sse-ok"));
  void *inst = new_inst(&b);
  int before = atomic_load(&g_srv.connections);
  for (int i = 0; i < 30; i++) {
    struct rec r;
    do_call(inst, k_echo, NULL, &r);
    assert_int_equal(r.completes, 1);
    assert_string_equal(r.source, "");
    assert_int_equal(r.notifies, 1);
    assert_contains(r.body, "\"ok\":1");
    rec_free(&r);
  }
  int used = atomic_load(&g_srv.connections) - before;
  if (used != 1)
    fail_msg("30 sequential SSE calls opened %d connections, want 1", used);

  /* Four callers at once: at most one connection each. */
  before = atomic_load(&g_srv.connections);
  atomic_int bad;
  atomic_init(&bad, 0);
  void *args[2] = {inst, &bad};
  pthread_t th[4];
  for (int i = 0; i < 4; i++)
    assert_int_equal(pthread_create(&th[i], NULL, sse_worker, args), 0);
  for (int i = 0; i < 4; i++)
    pthread_join(th[i], NULL);
  assert_int_equal(atomic_load(&bad), 0);
  used = atomic_load(&g_srv.connections) - before;
  if (used > 4)
    fail_msg("60 SSE calls by 4 callers opened %d connections, want <= 4",
             used);
  g_vt->destroy(inst);
}

/* A server that keeps the stream open after the answer: the call is
 * answered at once; the transfer is cut after the drain bound. */
static void test_sse_held_open_after_answer(void **state) {
  struct tc_binding b;
  binding_init(&b, url_of("/sse-held"));
  void *inst = new_inst(&b);
  uint64_t t0 = g_host->monotonic_ns();
  struct rec r;
  do_call(inst, k_echo, NULL, &r);
  uint64_t took_ms = (g_host->monotonic_ns() - t0) / 1000000u;
  assert_int_equal(r.completes, 1);
  assert_string_equal(r.source, "");
  assert_contains(r.body, "\"held\":true");
  if (took_ms > 4500)
    fail_msg("call() returned after %llu ms; the stream is held for 6 s",
             (unsigned long long)took_ms);
  rec_free(&r);
  g_vt->destroy(inst);
}

/* Ids are matched by their exact JSON text: integers beyond 64 bits, and
 * a string id equal to the request's once decoded. */
static void test_big_and_exact_ids(void **state) {
  static const char *const ids[] = {"18446744073709551617",
                                    "-9223372036854775809",
                                    "12345678901234567890123", "\"abc\""};
  for (int sse = 0; sse < 2; sse++) {
    struct tc_binding b;
    binding_init(&b, url_of(sse ? "/sse-echo-id" : "/echo-id"));
    void *inst = new_inst(&b);
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
      char body[256], want[256];
      snprintf(body, sizeof(body),
               "{\"jsonrpc\":\"2.0\",\"id\":%s,\"method\":\"tools/call\","
               "\"params\":{\"name\":\"echo\"}}",
               ids[i]);
      snprintf(want, sizeof(want),
               "{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"echo\":true}}",
               ids[i]);
      struct rec r;
      do_call(inst, body, NULL, &r);
      assert_int_equal(r.completes, 1);
      if (r.source[0] != '\0')
        fail_msg("id %s (%s): failed with %s/%s", ids[i], sse ? "SSE" : "JSON",
                 r.source, r.kind);
      assert_string_equal(r.body, want);
      rec_free(&r);
    }
    g_vt->destroy(inst);
  }
  /* "\u0061bc" is the id "abc": a reply naming "abc" answers it. */
  struct tc_binding b;
  binding_init(&b, url_of("/sse-tricky")); /* answers id "abc" */
  void *inst = new_inst(&b);
  struct rec r;
  do_call(
      inst,
      "{\"jsonrpc\":\"2.0\",\"id\":\"\\u0061bc\",\"method\":\"tools/call\"}",
      NULL, &r);
  assert_int_equal(r.completes, 1);
  assert_string_equal(r.source, "");
  rec_free(&r);
  g_vt->destroy(inst);
}

/* The in-flight reply budget: a reply that does not fit fails that call
 * with client_internal/reply_budget_exhausted (503), whether its length
 * is declared, chunked or an SSE event; nothing stays reserved; with
 * room, the same reply goes through. */
static void test_reply_budget(void **state) {
  static const char *const paths[] = {"/big-json", "/big-json-chunked",
                                      "/big-sse"};
  tc_reply_budget_configure(2u << 20); /* 2 MiB; the replies are 3 MiB */
  for (size_t i = 0; i < 3; i++) {
    struct tc_binding b;
    binding_init(&b, url_of(paths[i]));
    void *inst = new_inst(&b);
    struct rec r;
    do_call(inst, k_echo, NULL, &r);
    assert_failure(&r, "client_internal", "reply_budget_exhausted");
    assert_int_equal(r.status, 503);
    assert_int_equal(r.received, 1);
    assert_int_equal(tc_reply_budget_used(), 0);
    rec_free(&r);
    g_vt->destroy(inst);
  }
  tc_reply_budget_configure(8u << 20);
  for (size_t i = 0; i < 3; i++) {
    struct tc_binding b;
    binding_init(&b, url_of(paths[i]));
    void *inst = new_inst(&b);
    struct rec r;
    do_call(inst, k_echo, NULL, &r);
    assert_int_equal(r.completes, 1);
    assert_string_equal(r.source, "");
    assert_int_equal(strlen(r.body), (3u << 20) - (i == 2 ? 8 : 0));
    assert_true(tc_reply_budget_peak() >= (3u << 20));
    assert_int_equal(tc_reply_budget_used(), 0);
    rec_free(&r);
    g_vt->destroy(inst);
  }
  tc_reply_budget_configure(0);
}

static void test_stop_cancels(void **state) {
  struct tc_binding b;
  binding_init(&b, url_of("/slow"));
  void *inst = new_inst(&b);
  g_vt->stop(inst);
  struct rec r;
  do_call(inst, k_echo, NULL, &r);
  assert_int_equal(r.completes, 1);
  assert_string_equal(r.source, "timeout");
  rec_free(&r);
  g_vt->destroy(inst);
}

static void test_create_needs_url(void **state) {
  struct tc_binding b;
  binding_init(&b, NULL);
  void *inst = NULL;
  char *err = NULL;
  assert_int_equal(g_vt->create(g_host, &b, &inst, &err), TC_ECONFIG);
  assert_contains(err, "needs an MCP server URL");
  free(err);
}

/* ---- main ---------------------------------------------------------------- */

static int setup_all(void **state) {
  char *err = NULL;
  struct tc_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  if (tc_loader_load_one(&g_reg, &cfg, TC_BUILD_MODULE_DIR "/mcp-http.so", NULL,
                         "test", &err) != 0) {
    fprintf(stderr, "load mcp-http: %s\n", err);
    return -1;
  }
  const struct tc_registered_transport *t =
      tc_registry_transport(&g_reg, "http");
  if (t == NULL)
    return -1;
  g_vt = t->vt;
  g_host = &t->owner->host;
  if (tc_mcp_stub_start(&g_stub, NULL, &err) != 0) {
    fprintf(stderr, "mcp stub: %s\n", err);
    return -1;
  }
  return srv_start(&g_srv);
}

static int teardown_all(void **state) {
  atomic_store(&g_srv.release, 1);
  if (g_srv.mhd != NULL)
    MHD_stop_daemon(g_srv.mhd);
  pthread_mutex_destroy(&g_srv.lock);
  tc_mcp_stub_stop(g_stub);
  tc_registry_free(&g_reg);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_create_needs_url),
      cmocka_unit_test(test_initialize_json_and_session),
      cmocka_unit_test(test_sse_progress_order),
      cmocka_unit_test(test_notification_accepted),
      cmocka_unit_test(test_concurrent_calls),
      cmocka_unit_test(test_upstream_503_text),
      cmocka_unit_test(test_upstream_401_jsonrpc_error_passes),
      cmocka_unit_test(test_upstream_bad_bodies),
      cmocka_unit_test(test_protocol_failures),
      cmocka_unit_test(test_connection_refused),
      cmocka_unit_test(test_sse_closed_early),
      cmocka_unit_test(test_sse_parser_edges),
      cmocka_unit_test(test_id_types_compared_as_json),
      cmocka_unit_test(test_deadlines),
      cmocka_unit_test(test_headers_on_the_wire),
      cmocka_unit_test(test_keep_alive),
      cmocka_unit_test(test_sse_keep_alive),
      cmocka_unit_test(test_sse_held_open_after_answer),
      cmocka_unit_test(test_big_and_exact_ids),
      cmocka_unit_test(test_reply_budget),
      cmocka_unit_test(test_stop_cancels),
  };
  return cmocka_run_group_tests(tests, setup_all, teardown_all);
}
