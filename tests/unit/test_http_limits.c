/* Unit tests for util/http_limits.c through util/http_server.c: a real
 * libmicrohttpd listener on 127.0.0.1 with small limits (1 s deadlines, 4
 * connections per address and 6 in all, 300 ms grace): idle connections and
 * unfinished headers or bodies are cut at their deadline, a newcomer over
 * a cap makes the oldest idle connection go (not one within its grace, not
 * a busy one), a request sent at once is always served, and the counters
 * say what happened. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/http_server.h"
#include "util/net_listen.h"

static struct tc_http_server *g_srv;
static unsigned g_port;

static enum MHD_Result handler(void *cls, struct MHD_Connection *c,
                               const char *url, const char *method,
                               const char *version, const char *upload,
                               size_t *upload_size, void **req_cls) {
  (void)cls;
  (void)url;
  (void)method;
  (void)version;
  (void)upload;
  if (*req_cls == NULL) {
    *req_cls = c; /* headers in */
    return MHD_YES;
  }
  if (*upload_size != 0) {
    *upload_size = 0;
    return MHD_YES;
  }
  static const char ok[] = "ok";
  struct MHD_Response *r = MHD_create_response_from_buffer(
      2, (void *)(uintptr_t)ok, MHD_RESPMEM_PERSISTENT);
  enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
  MHD_destroy_response(r);
  return ret;
}

static int setup(void **state) {
  (void)state;
  static const struct tc_net_listen_names names = {"test", "--listen", NULL};
  static const struct tc_http_limits limits = {.header_timeout_s = 1,
                                               .body_timeout_s = 1,
                                               .per_address = 4,
                                               .max_connections = 6,
                                               .grace_ms = 300,
                                               .hard_per_address = 16,
                                               .hard_max_connections = 24};
  struct tc_net_listener l;
  char *err = NULL;
  if (tc_net_listen_tcp("127.0.0.1:0", &names, &l, &err) != 0)
    return -1;
  g_port = l.port;
  free(l.base_url);
  const struct tc_http_server_spec spec = {.component = "test",
                                           .listen_fd = l.fd,
                                           .family = l.family,
                                           .handler = handler,
                                           .connection_timeout_s = 30,
                                           .connection_limit = 64,
                                           .polling_threads = 2,
                                           .limits = &limits};
  g_srv = tc_http_server_start(&spec);
  return g_srv != NULL ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  tc_http_server_stop(g_srv);
  return 0;
}

static void nap_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* A connection from `src` (an address in 127/8). */
static int dial(const char *src) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  struct sockaddr_in from = {.sin_family = AF_INET};
  inet_pton(AF_INET, src, &from.sin_addr);
  assert_int_equal(bind(fd, (struct sockaddr *)&from, sizeof(from)), 0);
  struct sockaddr_in to = {.sin_family = AF_INET,
                           .sin_port = htons((uint16_t)g_port)};
  inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  assert_int_equal(connect(fd, (struct sockaddr *)&to, sizeof(to)), 0);
  return fd;
}

/* 1 when the listener closed fd within `ms` (EOF or reset). */
static int closed_within(int fd, int ms) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  if (poll(&p, 1, ms) <= 0)
    return 0;
  char buf[256];
  ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno == ECONNRESET);
}

/* A whole GET sent at once: 1 when answered 200. */
static int probe(const char *src) {
  int fd = dial(src);
  char req[128];
  int n = snprintf(req, sizeof(req),
                   "GET / HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
                   "Connection: close\r\n\r\n",
                   g_port);
  assert_int_equal(write(fd, req, (size_t)n), n);
  char buf[512] = {0};
  size_t len = 0;
  struct pollfd p = {.fd = fd, .events = POLLIN};
  while (len < sizeof(buf) - 1 && poll(&p, 1, 5000) > 0) {
    ssize_t r = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
    if (r <= 0)
      break;
    len += (size_t)r;
  }
  close(fd);
  return strncmp(buf, "HTTP/1.1 200 ", 13) == 0;
}

static struct tc_http_conns_stats stats(void) {
  struct tc_http_conns_stats s;
  tc_http_server_stats(g_srv, &s);
  return s;
}

static void test_deadlines(void **state) {
  (void)state;
  int idle = dial("127.0.0.2");
  int drip = dial("127.0.0.3");
  int body = dial("127.0.0.4");
  assert_int_equal(write(drip, "GET / HTTP/1.1\r\nHost: x", 23), 23);
  static const char put[] = "PUT / HTTP/1.1\r\nHost: x\r\n"
                            "Content-Length: 100\r\n\r\nabc";
  assert_int_equal(write(body, put, strlen(put)), (ssize_t)strlen(put));
  /* Within the deadline nothing is cut. */
  assert_false(closed_within(idle, 500));
  assert_int_equal(write(drip, "y", 1), 1);
  assert_int_equal(write(body, "d", 1), 1);
  /* Past it every one is (1 s + the reaper's granularity, with slack). */
  assert_true(closed_within(idle, 3000));
  assert_true(closed_within(drip, 3000));
  assert_true(closed_within(body, 3000));
  close(idle);
  close(drip);
  close(body);
  struct tc_http_conns_stats s = stats();
  assert_int_equal(s.header_timeouts, 2);
  assert_int_equal(s.body_timeouts, 1);
  assert_true(probe("127.0.0.1"));
}

static void test_per_address_eviction(void **state) {
  (void)state;
  struct tc_http_conns_stats s0 = stats();
  int fd[4];
  for (int i = 0; i < 4; i++)
    fd[i] = dial("127.0.0.5");
  nap_ms(500); /* past the grace time */
  /* A fifth from the same address: the oldest idle one goes. */
  int fifth = dial("127.0.0.5");
  assert_true(closed_within(fd[0], 2000));
  for (int i = 1; i < 4; i++)
    assert_false(closed_within(fd[i], 0));
  /* A probe from that address makes room too, and is served. */
  nap_ms(500);
  assert_true(probe("127.0.0.5"));
  assert_true(closed_within(fd[1], 2000));
  /* Newcomers within their grace stay, over the soft cap (they and the
   * probe come within the 300 ms). */
  int burst[4];
  for (int i = 0; i < 4; i++)
    burst[i] = dial("127.0.0.5");
  assert_true(probe("127.0.0.5"));
  for (int i = 0; i < 4; i++)
    assert_false(closed_within(burst[i], 0));
  struct tc_http_conns_stats s = stats();
  assert_true(s.evicted >= s0.evicted + 2);
  assert_int_equal(s.refused, s0.refused);
  for (int i = 0; i < 4; i++) {
    close(fd[i]);
    close(burst[i]);
  }
  close(fifth);
}

static void test_total_cap_spares_light_address(void **state) {
  (void)state;
  /* 6 idle connections, the total cap: 2 from one address, 4 from
   * another (then the one holding the most). */
  int a[2], b[4];
  for (int i = 0; i < 4; i++) {
    if (i < 2)
      a[i] = dial("127.0.0.6");
    b[i] = dial("127.0.0.7");
  }
  nap_ms(500);
  /* A probe from an address of its own makes the heaviest address give
   * way — its oldest idle connection — and is served. */
  assert_true(probe("127.0.0.8"));
  assert_true(closed_within(b[0], 2000));
  for (int i = 0; i < 2; i++)
    assert_false(closed_within(a[i], 0));
  for (int i = 1; i < 4; i++)
    assert_false(closed_within(b[i], 0));
  for (int i = 0; i < 4; i++) {
    if (i < 2)
      close(a[i]);
    close(b[i]);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_deadlines, setup, teardown),
      cmocka_unit_test_setup_teardown(test_per_address_eviction, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_total_cap_spares_light_address,
                                      setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
