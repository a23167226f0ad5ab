/* Unit tests for ops/health.c: TCP (ephemeral port, wildcard, IPv6) and
 * unix-socket listeners, /healthz and 404, the URL file, stale and live
 * sockets, and cleanup on stop. Requests are real HTTP through libcurl;
 * the unbound listener (tc_health_serve_fd) gets raw bytes on a
 * socketpair. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config/config.h"
#include "ops/health.h"
#include "util/fs.h"

static char g_dir[64];
static char g_url_file[128];
static char g_sock[128];

static int setup(void **state) {
  strcpy(g_dir, "/tmp/tc-test-health.XXXXXX");
  assert_non_null(mkdtemp(g_dir));
  snprintf(g_url_file, sizeof(g_url_file), "%s/health.url", g_dir);
  snprintf(g_sock, sizeof(g_sock), "%s/ops.sock", g_dir);
  return 0;
}

static int teardown(void **state) {
  unlink(g_url_file);
  unlink(g_sock);
  rmdir(g_dir);
  return 0;
}

struct reply {
  long status;
  char body[256];
  size_t len;
  char ctype[128];
};

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  struct reply *r = ud;
  size_t total = size * n;
  size_t room = sizeof(r->body) - 1 - r->len;
  size_t take = total < room ? total : room;
  memcpy(r->body + r->len, p, take);
  r->len += take;
  r->body[r->len] = '\0';
  return total;
}

/* Perform one request; returns the curl code, fills *r. */
static CURLcode request(const char *method, const char *url,
                        const char *unix_path, struct reply *r) {
  memset(r, 0, sizeof(*r));
  CURL *c = curl_easy_init();
  assert_non_null(c);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  if (strcmp(method, "HEAD") == 0)
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  else if (strcmp(method, "POST") == 0)
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, "some=body");
  if (unix_path != NULL)
    curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, unix_path);
  CURLcode rc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
  char *ct = NULL;
  curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
  if (ct != NULL)
    snprintf(r->ctype, sizeof(r->ctype), "%s", ct);
  curl_easy_cleanup(c);
  return rc;
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return NULL;
  char *buf = calloc(1, 4096);
  assert_non_null(buf);
  size_t n = fread(buf, 1, 4095, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

static void assert_mode(const char *path, unsigned mode) {
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, mode);
}

static int exists(const char *path) {
  struct stat st;
  return lstat(path, &st) == 0;
}

static void check_routes(const char *base, const char *unix_path) {
  char url[256];
  struct reply r;
  snprintf(url, sizeof(url), "%s/healthz", base);
  assert_int_equal(request("GET", url, unix_path, &r), CURLE_OK);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, "live");
  assert_non_null(strstr(r.ctype, "text/plain"));
  assert_int_equal(request("HEAD", url, unix_path, &r), CURLE_OK);
  assert_int_equal(r.status, 200);
  assert_int_equal(r.len, 0);
  assert_int_equal(request("POST", url, unix_path, &r), CURLE_OK);
  assert_int_equal(r.status, 200);
  snprintf(url, sizeof(url), "%s/nope", base);
  assert_int_equal(request("GET", url, unix_path, &r), CURLE_OK);
  assert_int_equal(r.status, 404);
  assert_string_equal(r.body, "not found");
  snprintf(url, sizeof(url), "%s/healthz/extra", base);
  assert_int_equal(request("GET", url, unix_path, &r), CURLE_OK);
  assert_int_equal(r.status, 404);
}

static void test_tcp_ephemeral(void **state) {
  struct tc_config cfg = {0};
  cfg.health_listen_addr = "127.0.0.1:0";
  cfg.health_url_file = g_url_file;
  struct tc_health_server *srv = NULL;
  char *err = NULL;
  assert_int_equal(tc_health_start(&srv, &cfg, &err), 0);
  assert_null(err);
  const char *base = tc_health_base_url(srv);
  unsigned port = 0;
  assert_int_equal(sscanf(base, "http://127.0.0.1:%u", &port), 1);
  assert_true(port > 0 && port < 65536);
  char *file = slurp(g_url_file);
  assert_non_null(file);
  assert_string_equal(file, base); /* no trailing newline */
  free(file);
  assert_mode(g_url_file, 0600);
  check_routes(base, NULL);

  char url[256];
  snprintf(url, sizeof(url), "%s/healthz", base);
  tc_health_stop(srv);
  assert_false(exists(g_url_file));
  struct reply r;
  assert_int_not_equal(request("GET", url, NULL, &r), CURLE_OK);
  tc_health_stop(NULL);
}

static void test_tcp_wildcard_host(void **state) {
  struct tc_config cfg = {0};
  cfg.health_listen_addr = ":0";
  struct tc_health_server *srv = NULL;
  char *err = NULL;
  assert_int_equal(tc_health_start(&srv, &cfg, &err), 0);
  const char *base = tc_health_base_url(srv);
  unsigned port = 0;
  assert_int_equal(sscanf(base, "http://localhost:%u", &port), 1);
  char url[128];
  snprintf(url, sizeof(url), "http://127.0.0.1:%u/healthz", port);
  struct reply r;
  assert_int_equal(request("GET", url, NULL, &r), CURLE_OK);
  assert_int_equal(r.status, 200);
  tc_health_stop(srv);
}

static void test_tcp_ipv6(void **state) {
  int probe = socket(AF_INET6, SOCK_STREAM, 0);
  struct sockaddr_in6 lo = {.sin6_family = AF_INET6,
                            .sin6_addr = IN6ADDR_LOOPBACK_INIT};
  int ok =
      probe >= 0 && bind(probe, (const struct sockaddr *)&lo, sizeof(lo)) == 0;
  if (probe >= 0)
    close(probe);
  if (!ok)
    skip(); /* no IPv6 loopback in this environment */
  struct tc_config cfg = {0};
  cfg.health_listen_addr = "[::1]:0";
  struct tc_health_server *srv = NULL;
  char *err = NULL;
  assert_int_equal(tc_health_start(&srv, &cfg, &err), 0);
  const char *base = tc_health_base_url(srv);
  assert_true(strncmp(base, "http://[::1]:", 13) == 0);
  check_routes(base, NULL);
  tc_health_stop(srv);
}

static void test_tcp_errors(void **state) {
  const char *bad[] = {"nonsense", "127.0.0.1:",   "127.0.0.1:99999",
                       "::1:80",   "127.0.0.1:8o", "[::1]80"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    struct tc_config cfg = {0};
    cfg.health_listen_addr = (char *)(uintptr_t)bad[i];
    struct tc_health_server *srv = NULL;
    char *err = NULL;
    assert_int_equal(tc_health_start(&srv, &cfg, &err), -1);
    assert_null(srv);
    assert_non_null(err);
    assert_non_null(strstr(err, bad[i]));
    assert_null(strchr(err, '\n'));
    free(err);
  }

  /* A port that is taken: the error names the address. */
  int busy = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in in = {.sin_family = AF_INET,
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(bind(busy, (const struct sockaddr *)&in, sizeof(in)), 0);
  assert_int_equal(listen(busy, 1), 0);
  socklen_t sl = sizeof(in);
  getsockname(busy, (struct sockaddr *)&in, &sl);
  char addr[64];
  snprintf(addr, sizeof(addr), "127.0.0.1:%u", ntohs(in.sin_port));
  struct tc_config cfg = {0};
  cfg.health_listen_addr = addr;
  cfg.health_url_file = g_url_file;
  struct tc_health_server *srv = NULL;
  char *err = NULL;
  assert_int_equal(tc_health_start(&srv, &cfg, &err), -1);
  assert_non_null(strstr(err, addr));
  assert_non_null(strstr(err, "in use"));
  assert_false(exists(g_url_file));
  free(err);
  close(busy);

  /* Unresolvable host. */
  cfg.health_listen_addr = "no-such-host.invalid:0";
  cfg.health_url_file = NULL;
  err = NULL;
  assert_int_equal(tc_health_start(&srv, &cfg, &err), -1);
  assert_non_null(strstr(err, "no-such-host.invalid"));
  free(err);
}

static void test_unix_socket(void **state) {
  struct tc_config cfg = {0};
  cfg.health_listen_addr = "127.0.0.1:0"; /* ignored: the socket wins */
  cfg.health_unix_socket = g_sock;
  cfg.health_url_file = g_url_file;
  struct tc_health_server *srv = NULL;
  char *err = NULL;
  assert_int_equal(tc_health_start(&srv, &cfg, &err), 0);
  const char *base = tc_health_base_url(srv);
  assert_true(strncmp(base, "http+unix://", 12) == 0);
  unsigned char *decoded = NULL;
  size_t dlen = 0;
  assert_int_equal(tc_base64url_decode(base + 12, &decoded, &dlen), 0);
  assert_string_equal((char *)decoded, g_sock);
  assert_int_equal(dlen, strlen(g_sock));
  free(decoded);
  assert_null(strpbrk(base + 12, "+/="));
  char *file = slurp(g_url_file);
  assert_non_null(file);
  assert_string_equal(file, base);
  free(file);
  assert_mode(g_url_file, 0600);
  assert_mode(g_sock, 0600);
  check_routes("http://localhost", g_sock);
  tc_health_stop(srv);
  assert_false(exists(g_sock));
  assert_false(exists(g_url_file));
}

static int bind_unix(const char *path, int do_listen) {
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un sun = {.sun_family = AF_UNIX};
  assert_true(strlen(path) < sizeof(sun.sun_path));
  memcpy(sun.sun_path, path, strlen(path) + 1);
  assert_int_equal(bind(fd, (const struct sockaddr *)&sun, sizeof(sun)), 0);
  if (do_listen)
    assert_int_equal(listen(fd, 4), 0);
  return fd;
}

static void test_unix_stale_replaced(void **state) {
  close(bind_unix(g_sock, 0)); /* leaves a dead socket file behind */
  assert_true(exists(g_sock));
  struct tc_config cfg = {0};
  cfg.health_unix_socket = g_sock;
  struct tc_health_server *srv = NULL;
  char *err = NULL;
  assert_int_equal(tc_health_start(&srv, &cfg, &err), 0);
  assert_null(err);
  struct reply r;
  assert_int_equal(request("GET", "http://localhost/healthz", g_sock, &r),
                   CURLE_OK);
  assert_int_equal(r.status, 200);
  tc_health_stop(srv);
  assert_false(exists(g_sock));
}

static void test_unix_live_refused(void **state) {
  int live = bind_unix(g_sock, 1);
  struct tc_config cfg = {0};
  cfg.health_unix_socket = g_sock;
  cfg.health_url_file = g_url_file;
  struct tc_health_server *srv = NULL;
  char *err = NULL;
  assert_int_equal(tc_health_start(&srv, &cfg, &err), -1);
  assert_null(srv);
  assert_non_null(err);
  char want[256];
  snprintf(want, sizeof(want),
           "health unix socket %s is in use by a running process", g_sock);
  assert_non_null(strstr(err, want));
  free(err);
  assert_true(exists(g_sock)); /* the other process keeps its socket */
  assert_false(exists(g_url_file));
  close(live);

  /* A regular file at the path is not ours to delete. */
  unlink(g_sock);
  FILE *f = fopen(g_sock, "w");
  assert_non_null(f);
  fclose(f);
  err = NULL;
  assert_int_equal(tc_health_start(&srv, &cfg, &err), -1);
  assert_non_null(strstr(err, "is not a socket"));
  free(err);
  assert_true(exists(g_sock));
}

static void test_url_file_unwritable(void **state) {
  struct tc_config cfg = {0};
  cfg.health_unix_socket = g_sock;
  cfg.health_url_file = "/nonexistent-dir/health.url";
  struct tc_health_server *srv = NULL;
  char *err = NULL;
  assert_int_equal(tc_health_start(&srv, &cfg, &err), -1);
  assert_non_null(strstr(err, "/nonexistent-dir/health.url"));
  free(err);
  assert_false(exists(g_sock)); /* released again */
}

/* ---- the unbound listener (in-process drivers such as the fuzz target) -- */

/* Send `req` on a socketpair handed to srv as a connection from `peer`,
 * running the listener on this thread until it closes; the reply in out. */
static void unbound_exchange(struct tc_health_server *srv,
                             const struct sockaddr *peer, socklen_t peer_len,
                             const char *req, char *out, size_t cap) {
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  assert_int_equal(tc_health_serve_fd(srv, sv[1], peer, peer_len), 0);
  assert_int_equal(write(sv[0], req, strlen(req)), (ssize_t)strlen(req));
  shutdown(sv[0], SHUT_WR);
  size_t len = 0;
  int eof = 0;
  for (int i = 0; i < 200 && !eof; i++) { /* 10 s at most */
    assert_int_equal(tc_health_run(srv, 50), 0);
    ssize_t n = recv(sv[0], out + len, cap - 1 - len, MSG_DONTWAIT);
    if (n > 0)
      len += (size_t)n;
    eof = n == 0;
    assert_true(len < cap - 1);
  }
  assert_true(eof); /* the listener closed the connection */
  out[len] = '\0';
  close(sv[0]);
}

static void test_unbound_serve_fd(void **state) {
  struct tc_config cfg = {0};
  struct tc_health_server *srv = NULL;
  char *err = NULL;
  assert_int_equal(tc_health_start_unbound(&srv, &cfg, NULL, "nonsense", &err),
                   -1);
  assert_null(srv);
  assert_non_null(strstr(err, "nonsense"));
  free(err);
  err = NULL;
  assert_int_equal(
      tc_health_start_unbound(&srv, &cfg, NULL, "http://127.0.0.1:8080", &err),
      0);
  assert_string_equal(tc_health_base_url(srv), "http://127.0.0.1:8080");

  struct sockaddr_in lo = {.sin_family = AF_INET,
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  struct sockaddr_in remote = {.sin_family = AF_INET};
  inet_pton(AF_INET, "203.0.113.7", &remote.sin_addr);
  char out[4096];

  /* Two pipelined requests from loopback: both answered, then closed. */
  unbound_exchange(srv, (const struct sockaddr *)&lo, sizeof(lo),
                   "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"
                   "GET /nope HTTP/1.1\r\nHost: localhost:8080\r\n\r\n",
                   out, sizeof(out));
  assert_true(strncmp(out, "HTTP/1.1 200 ", 13) == 0);
  assert_non_null(strstr(out, "\r\n\r\nliveHTTP/1.1 404 "));

  /* The guards see the address handed in and the base URL's port. */
  unbound_exchange(srv, (const struct sockaddr *)&remote, sizeof(remote),
                   "GET /nope HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"
                   "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n",
                   out, sizeof(out));
  assert_true(strncmp(out, "HTTP/1.1 403 ", 13) == 0);
  assert_non_null(strstr(out, "restricted to loopback"));
  /* /healthz is public: answered right after the 403's body. */
  assert_non_null(strstr(out, "overrideHTTP/1.1 200 "));
  assert_string_equal(out + strlen(out) - 8, "\r\n\r\nlive");
  /* A probe by another name or port is answered; an admin route is not. */
  unbound_exchange(srv, (const struct sockaddr *)&lo, sizeof(lo),
                   "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:9090\r\n\r\n", out,
                   sizeof(out));
  assert_true(strncmp(out, "HTTP/1.1 200 ", 13) == 0);
  unbound_exchange(srv, (const struct sockaddr *)&lo, sizeof(lo),
                   "GET /nope HTTP/1.1\r\nHost: 127.0.0.1:9090\r\n\r\n", out,
                   sizeof(out));
  assert_true(strncmp(out, "HTTP/1.1 403 ", 13) == 0);
  assert_non_null(strstr(out, "Host header does not name this listener"));
  /* Any other method keeps the Host guard, also on /healthz. */
  unbound_exchange(srv, (const struct sockaddr *)&lo, sizeof(lo),
                   "POST /healthz HTTP/1.1\r\nHost: pod.example:8080\r\n"
                   "Content-Length: 0\r\n\r\n",
                   out, sizeof(out));
  assert_true(strncmp(out, "HTTP/1.1 403 ", 13) == 0);
  tc_health_stop(srv);

  /* --health.allowed-hosts names reach the admin routes. */
  char *allowed[] = {"ui.example", ".svc.local:8080"};
  cfg.health_allowed_hosts = allowed;
  cfg.health_allowed_host_count = 2;
  assert_int_equal(
      tc_health_start_unbound(&srv, &cfg, NULL, "http://127.0.0.1:8080", &err),
      0);
  unbound_exchange(srv, (const struct sockaddr *)&lo, sizeof(lo),
                   "GET /nope HTTP/1.1\r\nHost: UI.example:1234\r\n\r\n"
                   "GET /nope HTTP/1.1\r\nHost: tc.ns.svc.local:8080\r\n\r\n",
                   out, sizeof(out));
  assert_true(strncmp(out, "HTTP/1.1 404 ", 13) == 0); /* past the guard */
  assert_non_null(strstr(out + 13, "HTTP/1.1 404 "));
  unbound_exchange(srv, (const struct sockaddr *)&lo, sizeof(lo),
                   "GET /nope HTTP/1.1\r\nHost: tc.ns.svc.local:8081\r\n\r\n",
                   out, sizeof(out));
  assert_true(strncmp(out, "HTTP/1.1 403 ", 13) == 0);
  tc_health_stop(srv);
  /* An entry the loader would have refused is refused here too. */
  char *bad[] = {"*.example"};
  cfg.health_allowed_hosts = bad;
  cfg.health_allowed_host_count = 1;
  assert_int_equal(
      tc_health_start_unbound(&srv, &cfg, NULL, "http://127.0.0.1:8080", &err),
      -1);
  assert_null(srv);
  assert_non_null(strstr(err, "wildcards are not supported"));
  free(err);
}

/* Two Host or two Origin headers are malformed (RFC 9112 §3.2): 400 on any
 * route, whichever comes first; Sec-Fetch-Site is compared in any case. */
static void test_unbound_duplicates_and_fetch_site(void **state) {
  (void)state;
  struct tc_config cfg = {0};
  struct tc_health_server *srv = NULL;
  char *err = NULL;
  assert_int_equal(
      tc_health_start_unbound(&srv, &cfg, NULL, "http://127.0.0.1:8080", &err),
      0);
  struct sockaddr_in lo = {.sin_family = AF_INET,
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  char out[4096];
  static const char *const dup[] = {
      "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
      "Host: evil.example\r\n\r\n",
      "GET /api/status HTTP/1.1\r\nHost: evil.example\r\n"
      "Host: 127.0.0.1:8080\r\n\r\n",
      "PUT /api/log-level HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
      "Origin: http://127.0.0.1:8080\r\nOrigin: http://evil.example\r\n"
      "Content-Length: 16\r\n\r\n{\"level\":\"info\"}",
  };
  for (size_t i = 0; i < sizeof(dup) / sizeof(dup[0]); i++) {
    unbound_exchange(srv, (const struct sockaddr *)&lo, sizeof(lo), dup[i], out,
                     sizeof(out));
    if (strncmp(out, "HTTP/1.1 400 ", 13) != 0 ||
        strstr(out, "more than one Host or Origin") == NULL)
      fail_msg("request %zu answered: %.200s", i, out);
  }
  /* A cross-site fetch is refused whatever the letter case. */
  unbound_exchange(srv, (const struct sockaddr *)&lo, sizeof(lo),
                   "PUT /api/log-level HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
                   "Sec-Fetch-Site: Cross-Site\r\nContent-Length: 16\r\n\r\n"
                   "{\"level\":\"info\"}",
                   out, sizeof(out));
  if (strncmp(out, "HTTP/1.1 403 ", 13) != 0 ||
      strstr(out, "cross-origin") == NULL)
    fail_msg("Sec-Fetch-Site: Cross-Site answered: %.200s", out);
  tc_health_stop(srv);
}

int main(void) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_tcp_ephemeral, setup, teardown),
      cmocka_unit_test(test_unbound_duplicates_and_fetch_site),
      cmocka_unit_test_setup_teardown(test_tcp_wildcard_host, setup, teardown),
      cmocka_unit_test_setup_teardown(test_tcp_ipv6, setup, teardown),
      cmocka_unit_test_setup_teardown(test_tcp_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unix_socket, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unix_stale_replaced, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_unix_live_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_url_file_unwritable, setup,
                                      teardown),
      cmocka_unit_test(test_unbound_serve_fd),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  curl_global_cleanup();
  return rc;
}
