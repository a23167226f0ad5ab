/* Module test for metrics-statsd: the real module from the build tree,
 * loaded through the loader with its settings (address, interval, prefix),
 * exporting a private metrics registry to a real UDP socket on 127.0.0.1.
 * Checks the exact StatsD/DogStatsD lines of successive exports: counter
 * increases (not totals), gauges (a negative one reset to 0 first),
 * histogram _count/_sum increases, tags and their escaping, the prefix, the
 * interval, and the final export at stop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "loader/loader.h"
#include "ops/metrics_registry.h"

static struct tc_kv kv(const char *k, const char *v) {
  struct tc_kv x = {(char *)(uintptr_t)k, (char *)(uintptr_t)v,
                    (char *)(uintptr_t) "test.yaml:1"};
  return x;
}

static int udp_listener(char *addr, size_t len) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  socklen_t sl = sizeof(sa);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
  struct timeval tv = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  snprintf(addr, len, "127.0.0.1:%u", ntohs(sa.sin_port));
  return fd;
}

/* One datagram (= one export: every line here fits one packet). */
static void recv_export(int fd, char *buf, size_t len) {
  ssize_t n = recv(fd, buf, len - 1, 0);
  if (n <= 0)
    fail_msg("no statsd datagram within 5s");
  buf[n] = '\0';
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void test_bad_address_refused(void **state) {
  (void)state;
  struct tc_registry reg = {0};
  struct tc_kv items[] = {kv("address", "no-port-here")};
  struct tc_kvlist settings = {1, items};
  char *err = NULL;
  assert_int_equal(tc_loader_load_one(&reg, NULL,
                                      TC_BUILD_MODULE_DIR "/metrics-statsd.so",
                                      &settings, "test", &err),
                   -1);
  assert_non_null(strstr(err, "must be host:port"));
  assert_null(strchr(err, '\n'));
  free(err);
  tc_registry_free(&reg);
}

static void test_exact_lines(void **state) {
  (void)state;
  char addr[64];
  int ufd = udp_listener(addr, sizeof(addr));
  struct tc_kv items[] = {kv("address", addr), kv("interval", "200ms"),
                          kv("prefix", "tct")};
  struct tc_kvlist settings = {3, items};
  struct tc_registry reg = {0};
  struct tc_metrics_registry *mr = tc_metrics_registry_new();
  reg.metrics = mr;
  char *err = NULL;
  if (tc_loader_load_one(&reg, NULL, TC_BUILD_MODULE_DIR "/metrics-statsd.so",
                         &settings, "test", &err) != 0)
    fail_msg("%s", err);
  const struct tc_host *h = &reg.modules[0]->host;
  const char *const chan[] = {"channel", NULL};
  const char *const two[] = {"channel", "outcome", NULL};
  static const double buckets[] = {1, 2};
  struct tc_metric_desc cd = {
      sizeof(cd), "sent_total", "Sent.", TC_METRIC_COUNTER, chan, NULL, 0};
  struct tc_metric_desc od = {
      sizeof(od), "done_total", "Done.", TC_METRIC_COUNTER, two, NULL, 0};
  struct tc_metric_desc gd = {sizeof(gd), "depth", "Depth.", TC_METRIC_GAUGE,
                              NULL,       NULL,    0};
  struct tc_metric_desc nd = {sizeof(nd), "temp", "Temp.", TC_METRIC_GAUGE,
                              NULL,       NULL,   0};
  struct tc_metric_desc hd = {
      sizeof(hd), "latency_seconds", "Latency.", TC_METRIC_HISTOGRAM,
      chan,       buckets,           2};
  struct tc_metric *c = h->metric_register(h, &cd, &err);
  struct tc_metric *o = h->metric_register(h, &od, &err);
  struct tc_metric *g = h->metric_register(h, &gd, &err);
  struct tc_metric *n = h->metric_register(h, &nd, &err);
  struct tc_metric *hi = h->metric_register(h, &hd, &err);
  assert_true(c && o && g && n && hi);
  const char *const main_ch[] = {"main"};
  const char *const odd[] = {"a,b|c#d", "ok"};
  h->metric_add(c, main_ch, 5);
  h->metric_add(o, odd, 1);
  h->metric_set(g, NULL, 4);
  h->metric_set(n, NULL, -2.5);
  h->metric_observe(hi, main_ch, 0.5);
  h->metric_observe(hi, main_ch, 1.5);

  uint64_t t0 = now_ms();
  assert_int_equal(tc_registry_start(&reg, &err), 0);
  char buf[2048];
  recv_export(ufd, buf, sizeof(buf));
  uint64_t first_ms = now_ms() - t0;
  /* First export: totals so far, in registration order. */
  assert_string_equal(buf, "tct.sent_total:5|c|#channel:main\n"
                           "tct.done_total:1|c|#channel:a_b_c_d,outcome:ok\n"
                           "tct.depth:4|g\n"
                           "tct.temp:0|g\n"
                           "tct.temp:-2.5|g\n"
                           "tct.latency_seconds_count:2|c|#channel:main\n"
                           "tct.latency_seconds_sum:2|c|#channel:main");
  assert_true(first_ms >= 150); /* the interval, not at once */

  /* Later exports: only increases; unchanged counters send nothing. */
  h->metric_add(c, main_ch, 3);
  h->metric_set(n, NULL, 7);
  for (;;) {
    recv_export(ufd, buf, sizeof(buf));
    if (strstr(buf, "sent_total") != NULL)
      break;
    assert_string_equal(buf, "tct.depth:4|g\ntct.temp:0|g\ntct.temp:-2.5|g");
  }
  assert_string_equal(buf, "tct.sent_total:3|c|#channel:main\n"
                           "tct.depth:4|g\n"
                           "tct.temp:7|g");
  uint64_t t1 = now_ms();
  recv_export(ufd, buf, sizeof(buf));
  uint64_t gap = now_ms() - t1;
  assert_string_equal(buf, "tct.depth:4|g\ntct.temp:7|g");
  assert_true(gap >= 100 && gap < 2000);

  /* Stop sends a final export with what changed since the last one. */
  h->metric_add(c, main_ch, 2);
  tc_registry_stop(&reg);
  for (;;) {
    recv_export(ufd, buf, sizeof(buf));
    if (strstr(buf, "sent_total") != NULL)
      break;
  }
  assert_string_equal(buf, "tct.sent_total:2|c|#channel:main\n"
                           "tct.depth:4|g\n"
                           "tct.temp:7|g");
  tc_registry_free(&reg);
  tc_metrics_registry_free(mr);
  close(ufd);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bad_address_refused),
      cmocka_unit_test(test_exact_lines),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
