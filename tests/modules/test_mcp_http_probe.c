/* test_mcp_http_probe.c — the mcp-http module's probe(), unix-socket and
 * mTLS paths against real node servers (tests/modules/http_server.mjs):
 * the startup handshake on the wire and its cached outcome (ready, 401
 * note, 403, connection refused, startup wait that fails and one that
 * succeeds when the server starts late, 2 s timeout note, TC_AGAIN while
 * running); a binding over a unix socket (also started late: ENOENT is
 * waited for); a private CA made with openssl at test time, a server that
 * requires client certificates, and the certificate going only to the
 * binding that has it (redirects are not followed). The CA reaches the
 * module through a net hook (test-ca-net), as a deployment's would. The
 * "streams" group: the server's standalone GET stream per session, its
 * requests answered at once, 405, the session bound and the idle close. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "config/config.h"
#include "loader/loader.h"
#include "util/log.h"

static struct tc_registry g_reg;
static const struct tc_transport_vtable *g_vt;
static const struct tc_host *g_host;
static char g_dir[64]; /* per-run temp directory */

/* ---- server processes ------------------------------------------------------
 */

#define MAX_SERVERS 16
static pid_t g_pids[MAX_SERVERS];

static void kill_servers(void) {
  for (int i = 0; i < MAX_SERVERS; i++) {
    if (g_pids[i] > 0) {
      kill(g_pids[i], SIGTERM);
      waitpid(g_pids[i], NULL, 0);
      g_pids[i] = 0;
    }
  }
}

struct server {
  pid_t pid;
  char url[256];  /* "http(s)://127.0.0.1:PORT" or "unix:PATH" */
  char log[128];  /* request log (JSON lines) */
  char file[128]; /* URL file */
};

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static uint64_t now_ms(void) {
  return g_host->monotonic_ns() / 1000000u;
}

/* Start http_server.mjs with `args` (NULL-terminated) after `delay_ms`;
 * wait for its URL file unless delay_ms > 0. */
static void server_start(struct server *s, const char *name, int delay_ms,
                         const char *const *args) {
  memset(s, 0, sizeof(*s));
  snprintf(s->log, sizeof(s->log), "%s/%s.log", g_dir, name);
  snprintf(s->file, sizeof(s->file), "%s/%s.url", g_dir, name);
  const char *argv[32];
  int n = 0;
  argv[n++] = TC_NODE;
  argv[n++] = TC_HTTP_SERVER;
  argv[n++] = "--url-file";
  argv[n++] = s->file;
  argv[n++] = "--log";
  argv[n++] = s->log;
  for (int i = 0; args != NULL && args[i] != NULL && n < 30; i++)
    argv[n++] = args[i];
  argv[n] = NULL;
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    if (delay_ms > 0)
      sleep_ms(delay_ms);
    execv(TC_NODE, (char *const *)(uintptr_t)argv);
    _exit(127);
  }
  s->pid = pid;
  for (int i = 0; i < MAX_SERVERS; i++)
    if (g_pids[i] == 0) {
      g_pids[i] = pid;
      break;
    }
  if (delay_ms > 0)
    return;
  for (int i = 0; i < 200; i++) { /* up to 10 s on a busy machine */
    FILE *f = fopen(s->file, "r");
    if (f != NULL) {
      size_t got = fread(s->url, 1, sizeof(s->url) - 1, f);
      fclose(f);
      s->url[got] = '\0';
      if (got > 0)
        return;
    }
    sleep_ms(50);
  }
  fail_msg("server %s did not start", name);
}

static void server_stop(struct server *s) {
  if (s->pid <= 0)
    return;
  kill(s->pid, SIGTERM);
  waitpid(s->pid, NULL, 0);
  for (int i = 0; i < MAX_SERVERS; i++)
    if (g_pids[i] == s->pid)
      g_pids[i] = 0;
  s->pid = 0;
}

/* The server's request log as a JSON array (caller decrefs). */
static json_t *server_requests(const struct server *s) {
  json_t *arr = json_array();
  FILE *f = fopen(s->log, "r");
  if (f == NULL)
    return arr;
  char line[4096];
  while (fgets(line, sizeof(line), f) != NULL) {
    json_t *j = json_loads(line, 0, NULL);
    if (j != NULL)
      json_array_append_new(arr, j);
  }
  fclose(f);
  return arr;
}

static const char *req_str(const json_t *arr, size_t i, const char *key) {
  return json_string_value(json_object_get(json_array_get(arr, i), key));
}

/* A TCP port nothing listens on (bound, then released). */
static unsigned free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  socklen_t len = sizeof(a);
  getsockname(fd, (struct sockaddr *)&a, &len);
  close(fd);
  return ntohs(a.sin_port);
}

/* ---- binding, calls ---------------------------------------------------------
 */

struct rec {
  int completes, status;
  char source[32], kind[48];
  char *body;
};

static int rec_notify(const struct tc_sink *sink, const struct tc_response *m) {
  (void)sink;
  (void)m;
  return TC_OK;
}

static int rec_complete(const struct tc_sink *sink,
                        const struct tc_response *m) {
  struct rec *r = sink->core;
  r->completes++;
  r->status = m->status;
  snprintf(r->source, sizeof(r->source), "%s",
           m->failure_source ? m->failure_source : "");
  snprintf(r->kind, sizeof(r->kind), "%s",
           m->failure_kind ? m->failure_kind : "");
  free(r->body);
  r->body = m->body ? strndup(m->body, m->body_len) : NULL;
  return TC_OK;
}

static int never(const struct tc_request *req) {
  (void)req;
  return 0;
}

static void do_call(void *inst, const char *body, struct rec *r) {
  memset(r, 0, sizeof(*r));
  struct tc_request req;
  memset(&req, 0, sizeof(req));
  req.struct_size = sizeof(req);
  req.type = "jsonrpc";
  req.channel = "main";
  req.request_id = "req_probe_test";
  req.body = body;
  req.body_len = strlen(body);
  req.is_canceled = never;
  req.deadline_ns = g_host->monotonic_ns() + 10000000000ull;
  struct tc_sink sink = {sizeof(sink), r, rec_notify, rec_complete};
  assert_int_equal(g_vt->call(inst, &req, &sink), TC_OK);
}

static const char k_ping[] =
    "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"ping\"}";

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
  if (g_vt->start != NULL && g_vt->start(inst, &err) != TC_OK)
    fail_msg("start: %s", err ? err : "?");
  return inst;
}

static void end_inst(void *inst) {
  g_vt->stop(inst);
  g_vt->destroy(inst);
}

static void assert_contains(const char *text, const char *needle) {
  if (text == NULL || strstr(text, needle) == NULL)
    fail_msg("expected \"%s\" in: %s", needle, text ? text : "(null)");
}

static int probe(void *inst, char **detail) {
  *detail = NULL;
  return g_vt->probe(inst, detail);
}

/* ---- probe outcomes ---------------------------------------------------------
 */

/* One plain server for the ready and outcome cases (distinct paths). */
static struct server g_plain;

static const struct server *plain_server(void) {
  if (g_plain.pid == 0)
    server_start(&g_plain, "plain", 0, NULL);
  return &g_plain;
}

static void test_probe_ready_handshake(void **state) {
  (void)state;
  const struct server *s = plain_server();
  char url[640];
  snprintf(url, sizeof(url), "%s/mcp", s->url);
  struct tc_headers extra = TC_HEADERS_INIT, disc = TC_HEADERS_INIT;
  tc_headers_add(&extra, "X-Extra", "from-extra");
  tc_headers_add(&extra, "X-Discovery", "overridden");
  tc_headers_add(&disc, "X-Discovery", "from-discovery");
  struct tc_binding b;
  binding_init(&b, url);
  b.extra_headers = &extra;
  b.discovery_extra_headers = &disc;
  void *inst = new_inst(&b);
  char *detail = NULL;
  /* The server holds the GET stream open: the probe does not wait on it
   * (else it would end as "timed out"). */
  assert_int_equal(probe(inst, &detail), TC_OK);
  assert_null(detail);

  /* POST initialize, GET, POST notifications/initialized, DELETE. */
  json_t *reqs = server_requests(s);
  assert_int_equal(json_array_size(reqs), 4);
  assert_string_equal(req_str(reqs, 0, "method"), "POST");
  assert_string_equal(req_str(reqs, 0, "rpc"), "initialize");
  json_t *ci = json_object_get(json_array_get(reqs, 0), "client");
  assert_string_equal(json_string_value(json_object_get(ci, "name")),
                      "tunnel-client");
  assert_non_null(json_string_value(json_object_get(ci, "version")));
  assert_string_equal(req_str(reqs, 0, "extra"), "from-extra");
  assert_string_equal(req_str(reqs, 0, "discovery"), "from-discovery");
  assert_string_equal(req_str(reqs, 1, "method"), "GET");
  assert_string_equal(req_str(reqs, 1, "accept"), "text/event-stream");
  assert_string_equal(req_str(reqs, 1, "session"), "sess-1");
  assert_string_equal(req_str(reqs, 1, "protocol"), "2025-06-18");
  assert_string_equal(req_str(reqs, 2, "rpc"), "notifications/initialized");
  assert_string_equal(req_str(reqs, 2, "session"), "sess-1");
  assert_string_equal(req_str(reqs, 2, "discovery"), "from-discovery");
  assert_string_equal(req_str(reqs, 3, "method"), "DELETE");
  assert_string_equal(req_str(reqs, 3, "session"), "sess-1");
  json_decref(reqs);

  /* Later calls answer from the cache: no new request. */
  assert_int_equal(probe(inst, &detail), TC_OK);
  assert_null(detail);
  reqs = server_requests(s);
  assert_int_equal(json_array_size(reqs), 4);
  json_decref(reqs);
  /* Runtime calls get the extra headers, not the discovery ones. */
  struct rec r;
  do_call(inst, k_ping, &r);
  assert_int_equal(r.status, 200);
  free(r.body);
  reqs = server_requests(s);
  assert_string_equal(req_str(reqs, 4, "discovery"), "overridden");
  json_decref(reqs);
  end_inst(inst);
  tc_headers_clear(&extra);
  tc_headers_clear(&disc);
}

static void expect_probe(const char *url, int64_t wait_ms, int want_ok,
                         const char *want_detail, const char *secret) {
  struct tc_headers disc = TC_HEADERS_INIT;
  tc_headers_add(&disc, "Authorization", secret);
  struct tc_binding b;
  binding_init(&b, url);
  b.discovery_extra_headers = &disc;
  b.startup_wait_timeout_ms = wait_ms;
  void *inst = new_inst(&b);
  char *detail = NULL;
  int rc = probe(inst, &detail);
  if (want_ok)
    assert_int_equal(rc, TC_OK);
  else
    assert_true(rc < 0);
  assert_non_null(detail);
  if (strncmp(detail, want_detail, strlen(want_detail)) != 0)
    fail_msg("detail \"%s\" does not start with \"%s\"", detail, want_detail);
  assert_null(strstr(detail, secret)); /* header values never in details */
  char *again = NULL;
  assert_int_equal(probe(inst, &again), rc);
  assert_string_equal(again, detail);
  free(again);
  free(detail);
  end_inst(inst);
  tc_headers_clear(&disc);
}

static void test_probe_outcomes(void **state) {
  (void)state;
  const struct server *s = plain_server();
  char url[640];
  snprintf(url, sizeof(url), "%s/auth", s->url);
  expect_probe(url, 0, 1, "mcp initialize requires auth: HTTP 401",
               "Bearer sekrit-1");
  snprintf(url, sizeof(url), "%s/forbidden", s->url);
  expect_probe(url, 0, 0, "mcp probe failed: initialize answered HTTP 403",
               "Bearer sekrit-2");
  uint64_t t0 = now_ms();
  snprintf(url, sizeof(url), "%s/slow", s->url);
  expect_probe(url, 0, 1, "mcp startup probe timed out: ", "Bearer sekrit-3");
  uint64_t took = now_ms() - t0;
  assert_true(took >= 1900 && took < 8000);

  snprintf(url, sizeof(url), "http://127.0.0.1:%u/mcp", free_port());
  expect_probe(url, 0, 0, "mcp probe failed: connection refused",
               "Bearer sekrit-4");
  /* Waiting retries refusals, then gives up with its own reason. */
  t0 = now_ms();
  expect_probe(url, 600, 0, "mcp startup wait failed: connection refused",
               "Bearer sekrit-5");
  took = now_ms() - t0;
  assert_true(took >= 600 && took < 8000);
}

struct bg_probe {
  void *inst;
  atomic_int entered;
  int rc;
  char *detail;
};

static void *bg_probe_main(void *arg) {
  struct bg_probe *p = arg;
  atomic_store(&p->entered, 1);
  p->rc = probe(p->inst, &p->detail);
  return NULL;
}

static void test_startup_wait_server_starts_late(void **state) {
  (void)state;
  unsigned port = free_port();
  char portstr[16], url[64];
  snprintf(portstr, sizeof(portstr), "%u", port);
  snprintf(url, sizeof(url), "http://127.0.0.1:%u/mcp", port);
  struct tc_binding b;
  binding_init(&b, url);
  b.startup_wait_timeout_ms = 15000;
  void *inst = new_inst(&b);
  struct server s;
  const char *args[] = {"--listen", portstr, NULL};
  uint64_t t0 = now_ms();
  server_start(&s, "late", 700, args);
  struct bg_probe p;
  memset(&p, 0, sizeof(p));
  p.inst = inst;
  atomic_init(&p.entered, 0);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, bg_probe_main, &p), 0);
  while (!atomic_load(&p.entered))
    sleep_ms(5);
  sleep_ms(100); /* the server starts 700 ms late: the probe is waiting */
  /* While the startup probe runs, readiness asks get TC_AGAIN at once. */
  char *detail = NULL;
  uint64_t t1 = now_ms();
  assert_int_equal(probe(inst, &detail), TC_AGAIN);
  assert_true(now_ms() - t1 < 1000);
  free(detail);
  pthread_join(th, NULL);
  assert_int_equal(p.rc, TC_OK);
  assert_null(p.detail);
  assert_true(now_ms() - t0 >= 700);
  assert_int_equal(probe(inst, &detail), TC_OK);
  end_inst(inst);
  server_stop(&s);
}

/* ---- unix socket ------------------------------------------------------------
 */

static void test_unix_socket(void **state) {
  (void)state;
  char sock[128];
  snprintf(sock, sizeof(sock), "%s/mcp.sock", g_dir);
  struct tc_binding b;
  /* The URL names the origin; the bytes go over the socket. */
  binding_init(&b, "http://mcp.internal/mcp");
  b.unix_socket = sock;
  b.startup_wait_timeout_ms = 15000;
  void *inst = new_inst(&b);
  struct server s;
  const char *args[] = {"--unix", sock, NULL};
  server_start(&s, "unix", 500, args); /* ENOENT until it listens */
  char *detail = NULL;
  assert_int_equal(probe(inst, &detail), TC_OK);
  assert_null(detail);
  struct rec r;
  do_call(inst, k_ping, &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.source, "");
  assert_contains(r.body, "\"echo\":\"ping\"");
  free(r.body);
  end_inst(inst);
  server_stop(&s);
  unlink(sock);

  /* Nothing at the path and no wait: a clear failure. */
  binding_init(&b, "http://mcp.internal/mcp");
  b.unix_socket = sock;
  inst = new_inst(&b);
  assert_true(probe(inst, &detail) < 0);
  assert_string_equal(detail, "mcp probe failed: unix socket does not exist");
  free(detail);
  end_inst(inst);
}

/* ---- mTLS -------------------------------------------------------------------
 */

static void pki_path(char *out, size_t len, const char *name) {
  snprintf(out, len, "%s/pki/%s", g_dir, name);
}

static void test_mtls(void **state) {
  (void)state;
  char cert[128], key[128], scert[128], skey[128], ca[128];
  pki_path(cert, sizeof(cert), "client.pem");
  pki_path(key, sizeof(key), "client.key");
  pki_path(scert, sizeof(scert), "server.pem");
  pki_path(skey, sizeof(skey), "server.key");
  pki_path(ca, sizeof(ca), "ca.pem");
  /* "other": another origin that asks for (but does not require) a client
   * certificate and records whether one came. */
  struct server other, mtls;
  const char *oargs[] = {"--tls-cert", scert, "--tls-key",     skey,
                         "--tls-ca",   ca,    "--client-cert", "optional",
                         NULL};
  server_start(&other, "other", 0, oargs);
  char redirect_to[300];
  snprintf(redirect_to, sizeof(redirect_to), "%s/mcp", other.url);
  const char *margs[] = {
      "--tls-cert",    scert,      "--tls-key",     skey,        "--tls-ca", ca,
      "--client-cert", "required", "--redirect-to", redirect_to, NULL};
  server_start(&mtls, "mtls", 0, margs);
  char url[640];
  snprintf(url, sizeof(url), "%s/mcp", mtls.url);

  /* With the binding's pair: probe and call succeed, the server saw it. */
  struct tc_binding b;
  binding_init(&b, url);
  b.client_cert = cert;
  b.client_key = key;
  void *inst = new_inst(&b);
  char *detail = NULL;
  assert_int_equal(probe(inst, &detail), TC_OK);
  assert_null(detail);
  struct rec r;
  do_call(inst, k_ping, &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.source, "");
  assert_contains(r.body, "\"cert\":\"tunnel-test-client\"");
  free(r.body);
  json_t *reqs = server_requests(&mtls);
  assert_true(json_array_size(reqs) >= 4);
  for (size_t i = 0; i < json_array_size(reqs); i++)
    assert_string_equal(req_str(reqs, i, "cert"), "tunnel-test-client");
  json_decref(reqs);
  end_inst(inst);

  /* A redirect elsewhere is not followed: the other origin never sees the
   * certificate (nor the request). */
  char rurl[300];
  snprintf(rurl, sizeof(rurl), "%s/redirect", mtls.url);
  binding_init(&b, rurl);
  b.client_cert = cert;
  b.client_key = key;
  inst = new_inst(&b);
  do_call(inst, k_ping, &r);
  assert_string_not_equal(r.source, "");
  free(r.body);
  end_inst(inst);
  reqs = server_requests(&other);
  assert_int_equal(json_array_size(reqs), 0);
  json_decref(reqs);

  /* Without the pair: a tls failure, and a probe failure naming tls. */
  binding_init(&b, url);
  inst = new_inst(&b);
  do_call(inst, k_ping, &r);
  assert_int_equal(r.completes, 1);
  assert_string_equal(r.source, "tls");
  assert_int_equal(r.status, 502);
  free(r.body);
  assert_true(probe(inst, &detail) < 0);
  assert_contains(detail, "mcp probe failed: initialize: tls");
  free(detail);
  end_inst(inst);

  /* Another binding (no pair) next to one with a pair, used in turn: the
   * other origin gets no certificate. */
  struct tc_binding b1, b2;
  binding_init(&b1, url);
  b1.client_cert = cert;
  b1.client_key = key;
  binding_init(&b2, redirect_to);
  void *i1 = new_inst(&b1), *i2 = new_inst(&b2);
  do_call(i1, k_ping, &r);
  assert_int_equal(r.status, 200);
  free(r.body);
  do_call(i2, k_ping, &r);
  assert_int_equal(r.status, 200);
  assert_contains(r.body, "\"cert\":null");
  free(r.body);
  end_inst(i1);
  end_inst(i2);
  reqs = server_requests(&other);
  assert_int_equal(json_array_size(reqs), 1);
  assert_true(json_is_null(json_object_get(json_array_get(reqs, 0), "cert")));
  json_decref(reqs);
  server_stop(&mtls);
  server_stop(&other);
}

/* ---- main -------------------------------------------------------------------
 */

static int g_with_pki; /* the mTLS group needs the private CA */

/* ---- the server's standalone streams ("streams" group) --------------------
 */

static int g_streams_group; /* mcp-http loaded with max 2 sessions, 1 s idle */

/* A call with a session id and a deadline; returns how long it took. */
static uint64_t session_call(void *inst, const char *sid, const char *body,
                             int64_t deadline_ms, struct rec *r) {
  memset(r, 0, sizeof(*r));
  struct tc_headers h = TC_HEADERS_INIT;
  tc_headers_add(&h, "Mcp-Session-Id", sid);
  tc_headers_add(&h, "MCP-Protocol-Version", "2025-06-18");
  tc_headers_add(&h, "Authorization", "Bearer caller-token");
  struct tc_request req;
  memset(&req, 0, sizeof(req));
  req.struct_size = sizeof(req);
  req.type = "jsonrpc";
  req.channel = "main";
  req.request_id = "req_stream_test";
  req.body = body;
  req.body_len = strlen(body);
  req.headers = &h;
  req.is_canceled = never;
  uint64_t t0 = now_ms();
  req.deadline_ns = g_host->monotonic_ns() + (uint64_t)deadline_ms * 1000000u;
  struct tc_sink sink = {sizeof(sink), r, rec_notify, rec_complete};
  assert_int_equal(g_vt->call(inst, &req, &sink), TC_OK);
  tc_headers_clear(&h);
  return now_ms() - t0;
}

/* initialize without a session: the server's new session id. */
static void new_session(void *inst, char *sid, size_t cap) {
  static int n;
  struct rec r;
  do_call(inst,
          "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":"
          "{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"
          "\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}",
          &r);
  assert_int_equal(r.status, 200);
  free(r.body);
  /* http_server.mjs numbers its sessions */
  snprintf(sid, cap, "sess-%d", ++n);
}

/* How many log lines of `method` (and session, when not NULL) the server
 * wrote, waiting up to 5 s for at least `want` of them. */
static size_t wait_logged(const struct server *s, const char *method,
                          const char *sid, size_t want) {
  size_t n = 0;
  for (int i = 0; i < 100; i++) {
    json_t *reqs = server_requests(s);
    n = 0;
    for (size_t k = 0; k < json_array_size(reqs); k++)
      n += strcmp(req_str(reqs, k, "method"), method) == 0 &&
           (sid == NULL || (req_str(reqs, k, "session") != NULL &&
                            strcmp(req_str(reqs, k, "session"), sid) == 0));
    json_decref(reqs);
    if (n >= want)
      break;
    sleep_ms(50);
  }
  return n;
}

static const char k_ask_sampling[] =
    "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":"
    "{\"name\":\"ask-client\",\"arguments\":{}}}";
static const char k_ask_ping[] =
    "{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"tools/call\",\"params\":"
    "{\"name\":\"ask-client\",\"arguments\":{\"method\":\"ping\"}}}";

/* A tool that asks the client something on the session's stream: the
 * tunnel answers at once, so the call ends with the server's own text
 * long before its deadline instead of timing out. */
static void test_server_requests_answered(void **state) {
  (void)state;
  struct server s;
  const char *log_streams[] = {"--log-streams", "1", NULL};
  server_start(&s, "streams", 0, log_streams);
  char url[640], sid[32];
  snprintf(url, sizeof(url), "%s/mcp", s.url);
  struct tc_binding b;
  binding_init(&b, url);
  void *inst = new_inst(&b);
  new_session(inst, sid, sizeof(sid));
  struct rec r;
  uint64_t took = session_call(inst, sid, k_ask_sampling, 8000, &r);
  printf("sampling request on the server stream: call answered in %llu ms "
         "(deadline 8000 ms)\n",
         (unsigned long long)took);
  assert_int_equal(r.completes, 1);
  if (r.source[0] != '\0')
    fail_msg("the call failed (%s/%s) after %llu ms", r.source, r.kind,
             (unsigned long long)took);
  assert_int_equal(r.status, 200);
  assert_contains(r.body, "client error: sampling/createMessage is not "
                          "available: tunnel-client cannot pass requests");
  assert_contains(r.body, "\"isError\":true");
  assert_true(took < 4000);
  free(r.body);
  /* ping gets an empty result; the stream stays one per session. */
  took = session_call(inst, sid, k_ask_ping, 8000, &r);
  assert_string_equal(r.source, "");
  assert_contains(r.body, "client result: {}");
  assert_true(took < 4000);
  free(r.body);
  assert_int_equal(wait_logged(&s, "GET", sid, 1), 1);
  /* The stream carries the session's own headers. */
  json_t *reqs = server_requests(&s);
  for (size_t k = 0; k < json_array_size(reqs); k++)
    if (strcmp(req_str(reqs, k, "method"), "GET") == 0) {
      assert_string_equal(req_str(reqs, k, "accept"), "text/event-stream");
      assert_string_equal(req_str(reqs, k, "protocol"), "2025-06-18");
    }
  json_decref(reqs);

  /* session_termination closes the session's stream. */
  struct tc_headers h = TC_HEADERS_INIT;
  tc_headers_add(&h, "Mcp-Session-Id", sid);
  struct tc_request req;
  memset(&req, 0, sizeof(req));
  req.struct_size = sizeof(req);
  req.type = "session_termination";
  req.headers = &h;
  req.is_canceled = never;
  int status = 0;
  assert_int_equal(g_vt->terminate_session(inst, &req, &status), TC_OK);
  assert_int_equal(status, 204);
  tc_headers_clear(&h);
  assert_int_equal(wait_logged(&s, "STREAM-CLOSED", sid, 1), 1);
  end_inst(inst);
  server_stop(&s);
}

/* Two instances (a reload's replacement, or a replica) on one session: the
 * second gets 409 while the first holds the stream, its calls go on, and
 * it takes the stream over once the first one is gone. */
static void test_stream_taken_over_after_409(void **state) {
  (void)state;
  struct server s;
  const char *log_streams[] = {"--log-streams", "1", NULL};
  server_start(&s, "busy", 0, log_streams);
  char url[640], sid[32];
  snprintf(url, sizeof(url), "%s/mcp", s.url);
  struct tc_binding b;
  binding_init(&b, url);
  void *first = new_inst(&b);
  void *second = new_inst(&b);
  new_session(first, sid, sizeof(sid));
  struct rec r;
  session_call(first, sid, k_ask_ping, 8000, &r);
  assert_contains(r.body, "client result: {}");
  free(r.body);
  session_call(second, sid, k_ping, 8000, &r); /* its GET gets 409 */
  assert_int_equal(r.status, 200);
  free(r.body);
  end_inst(first); /* its stream closes */
  assert_int_equal(wait_logged(&s, "STREAM-CLOSED", sid, 1), 1);
  /* Within the backoff (1 s) a command of the session reopens it. */
  int ok = 0;
  for (int i = 0; i < 40 && !ok; i++) {
    session_call(second, sid, k_ping, 8000, &r);
    free(r.body);
    sleep_ms(100);
    ok = wait_logged(&s, "GET", sid, 3) >= 3;
  }
  assert_true(ok);
  session_call(second, sid, k_ask_ping, 8000, &r);
  assert_string_equal(r.source, "");
  assert_contains(r.body, "client result: {}");
  free(r.body);
  end_inst(second);
  server_stop(&s);
}

/* A server that offers no stream (405) is asked once per session; calls
 * are not held up. Sessions are bounded (max 2 here): a third evicts the
 * least recently used stream, and an idle one (1 s here) is closed. */
static void test_streams_refused_bounded_idle(void **state) {
  (void)state;
  struct server s;
  const char *no_get[] = {"--no-get", "1", NULL};
  const char *log_streams[] = {"--log-streams", "1", NULL};
  server_start(&s, "noget", 0, no_get);
  char url[640], sid[32];
  snprintf(url, sizeof(url), "%s/mcp", s.url);
  struct tc_binding b;
  binding_init(&b, url);
  void *inst = new_inst(&b);
  new_session(inst, sid, sizeof(sid));
  for (int i = 0; i < 3; i++) {
    struct rec r;
    session_call(inst, sid, k_ping, 8000, &r);
    assert_int_equal(r.status, 200);
    free(r.body);
  }
  assert_int_equal(wait_logged(&s, "GET", sid, 1), 1);
  end_inst(inst);
  server_stop(&s);

  server_start(&s, "bounded", 0, log_streams);
  snprintf(url, sizeof(url), "%s/mcp", s.url);
  binding_init(&b, url);
  inst = new_inst(&b);
  char sids[3][32];
  for (int i = 0; i < 3; i++) {
    new_session(inst, sids[i], sizeof(sids[i]));
    struct rec r;
    session_call(inst, sids[i], k_ask_ping, 8000, &r); /* the stream works */
    assert_string_equal(r.source, "");
    assert_contains(r.body, "client result: {}");
    free(r.body);
    assert_int_equal(wait_logged(&s, "GET", sids[i], 1), 1);
    if (i < 2)
      assert_int_equal(wait_logged(&s, "STREAM-CLOSED", sids[0], 0), 0);
  }
  /* The third session evicted the first one's stream. */
  assert_int_equal(wait_logged(&s, "STREAM-CLOSED", sids[0], 1), 1);
  /* No command for 1 s: the other two close as idle. */
  assert_int_equal(wait_logged(&s, "STREAM-CLOSED", sids[1], 1), 1);
  assert_int_equal(wait_logged(&s, "STREAM-CLOSED", sids[2], 1), 1);
  end_inst(inst);
  server_stop(&s);
}

static int setup_all(void **state) {
  (void)state;
  signal(SIGPIPE, SIG_IGN);
  if (getenv("TC_TEST_DEBUG_LOG") != NULL)
    tc_log_set_level(TC_LOG_DEBUG);
  snprintf(g_dir, sizeof(g_dir), "/tmp/tc-mcp-http-XXXXXX");
  if (mkdtemp(g_dir) == NULL)
    return -1;
  char ca[128];
  pki_path(ca, sizeof(ca), "ca.pem");
  if (g_with_pki) {
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "mkdir -p %s/pki && sh %s %s/pki", g_dir,
             TC_MAKE_PKI, g_dir);
    if (system(cmd) != 0) {
      fprintf(stderr, "cannot make the test PKI with openssl\n");
      return -1;
    }
  }
  char *err = NULL;
  struct tc_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  char k_max[] = "server_streams_max", v_max[] = "2";
  char k_idle[] = "server_stream_idle_timeout", v_idle[] = "1s";
  char k_origin[] = "test";
  struct tc_kv stream_kv[2] = {{k_max, v_max, k_origin},
                               {k_idle, v_idle, k_origin}};
  struct tc_kvlist stream_settings = {2, stream_kv};
  if (tc_loader_load_one(&g_reg, &cfg, TC_BUILD_MODULE_DIR "/mcp-http.so",
                         g_streams_group ? &stream_settings : NULL, "test",
                         &err) != 0) {
    fprintf(stderr, "load mcp-http: %s\n", err);
    return -1;
  }
  char key[] = "ca_file", origin[] = "test";
  struct tc_kv kv = {key, ca, origin};
  struct tc_kvlist settings = {1, &kv};
  if (g_with_pki && tc_loader_load_one(&g_reg, &cfg, TC_TEST_CA_NET, &settings,
                                       "test", &err) != 0) {
    fprintf(stderr, "load test-ca-net: %s\n", err);
    return -1;
  }
  const struct tc_registered_transport *t =
      tc_registry_transport(&g_reg, "http");
  if (t == NULL)
    return -1;
  g_vt = t->vt;
  g_host = &t->owner->host;
  atexit(kill_servers);
  return 0;
}

static int teardown_all(void **state) {
  (void)state;
  kill_servers();
  tc_registry_free(&g_reg);
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf %s", g_dir);
  if (system(cmd) != 0)
    fprintf(stderr, "could not remove %s\n", g_dir);
  return 0;
}

/* Three groups, so each ctest entry stays short: no argument = probe and
 * unix-socket cases; "mtls" = the client-certificate cases; "streams" =
 * the server's standalone streams. */
int main(int argc, char **argv) {
  const struct CMUnitTest probe_tests[] = {
      cmocka_unit_test(test_probe_ready_handshake),
      cmocka_unit_test(test_probe_outcomes),
      cmocka_unit_test(test_startup_wait_server_starts_late),
      cmocka_unit_test(test_unix_socket),
  };
  const struct CMUnitTest mtls_tests[] = {
      cmocka_unit_test(test_mtls),
  };
  const struct CMUnitTest stream_tests[] = {
      cmocka_unit_test(test_server_requests_answered),
      cmocka_unit_test(test_streams_refused_bounded_idle),
      cmocka_unit_test(test_stream_taken_over_after_409),
  };
  if (argc > 1 && strcmp(argv[1], "streams") == 0) {
    g_streams_group = 1;
    return cmocka_run_group_tests(stream_tests, setup_all, teardown_all);
  }
  if (argc > 1 && strcmp(argv[1], "mtls") == 0) {
    g_with_pki = 1;
    return cmocka_run_group_tests(mtls_tests, setup_all, teardown_all);
  }
  return cmocka_run_group_tests(probe_tests, setup_all, teardown_all);
}
