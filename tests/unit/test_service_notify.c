/* Unit tests for ops/service_notify.c against a real unix datagram socket
 * standing in for the service manager: READY=1 only once the readiness
 * check says ready (STATUS= carries the reason before), WATCHDOG=1 only
 * while alive() is true (withheld when the request path is wedged, resumed
 * after), STOPPING=1 last, and nothing at all without $NOTIFY_SOCKET. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ops/service_notify.h"

static atomic_bool g_ready, g_alive;
static atomic_int g_checks;

static int fake_check(void *ud, bool *ready, char **text) {
  (void)ud;
  atomic_fetch_add(&g_checks, 1);
  *ready = atomic_load(&g_ready);
  *text = strdup(*ready ? "ready" : "control plane not reached: refused");
  return *text != NULL ? 0 : -1;
}

static bool fake_alive(void *ud) {
  (void)ud;
  return atomic_load(&g_alive);
}

struct sink {
  char dir[64];
  char path[96];
  int fd;
};

static void sink_open(struct sink *s) {
  snprintf(s->dir, sizeof(s->dir), "/tmp/tc-notify-unit.XXXXXX");
  assert_non_null(mkdtemp(s->dir));
  snprintf(s->path, sizeof(s->path), "%s/notify.sock", s->dir);
  s->fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  assert_true(s->fd >= 0);
  struct sockaddr_un a;
  memset(&a, 0, sizeof(a));
  a.sun_family = AF_UNIX;
  snprintf(a.sun_path, sizeof(a.sun_path), "%s", s->path);
  assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
}

static void sink_close(struct sink *s) {
  close(s->fd);
  unlink(s->path);
  rmdir(s->dir);
}

/* The next message within timeout_ms into buf; false on timeout. */
static bool sink_next(struct sink *s, char *buf, size_t cap, int timeout_ms) {
  struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ssize_t n = recv(s->fd, buf, cap - 1, 0);
  if (n < 0)
    return false;
  buf[n] = '\0';
  return true;
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Read for window_ms; count messages containing `what`. */
static int count_for(struct sink *s, int window_ms, const char *what) {
  uint64_t end = now_ms() + (uint64_t)window_ms;
  int n = 0;
  char buf[1024];
  for (uint64_t t = now_ms(); t < end; t = now_ms())
    if (sink_next(s, buf, sizeof(buf), (int)(end - t) + 1) &&
        strstr(buf, what) != NULL)
      n++;
  return n;
}

/* Wait up to timeout_ms for a message containing `what`; copy it out. */
static bool wait_for(struct sink *s, const char *what, char *out, size_t cap,
                     int timeout_ms) {
  uint64_t end = now_ms() + (uint64_t)timeout_ms;
  for (uint64_t t = now_ms(); t < end; t = now_ms())
    if (sink_next(s, out, cap, (int)(end - t) + 1) && strstr(out, what) != NULL)
      return true;
  return false;
}

static const struct tc_service_notify_ops ops = {
    .ud = NULL, .check = fake_check, .alive = fake_alive};

static void test_ready_only_when_ready(void **state) {
  (void)state;
  struct sink s;
  sink_open(&s);
  setenv("NOTIFY_SOCKET", s.path, 1);
  unsetenv("WATCHDOG_USEC");
  unsetenv("WATCHDOG_PID");
  atomic_store(&g_ready, false);
  atomic_store(&g_alive, true);
  atomic_store(&g_checks, 0);
  struct tc_service_notify *n = NULL;
  char *err = NULL;
  assert_int_equal(tc_service_notify_start(&n, &ops, &err), 0);
  assert_non_null(n);
  char msg[1024];
  assert_true(wait_for(&s, "STATUS=", msg, sizeof(msg), 2000));
  assert_string_equal(msg, "STATUS=control plane not reached: refused");
  /* Many checks while not ready, and no READY=1. */
  assert_int_equal(count_for(&s, 300, "READY=1"), 0);
  assert_true(atomic_load(&g_checks) >= 3);
  atomic_store(&g_ready, true);
  assert_true(wait_for(&s, "READY=1", msg, sizeof(msg), 2000));
  assert_string_equal(msg, "READY=1\nSTATUS=ready");
  /* Sent once. */
  assert_int_equal(count_for(&s, 200, "READY=1"), 0);
  tc_service_notify_stopping(n, "draining");
  assert_true(sink_next(&s, msg, sizeof(msg), 2000));
  assert_string_equal(msg, "STOPPING=1\nSTATUS=draining");
  assert_false(sink_next(&s, msg, sizeof(msg), 200)); /* nothing after */
  unsetenv("NOTIFY_SOCKET");
  sink_close(&s);
}

static void test_watchdog_follows_alive(void **state) {
  (void)state;
  struct sink s;
  sink_open(&s);
  char pid[32];
  snprintf(pid, sizeof(pid), "%ld", (long)getpid());
  setenv("NOTIFY_SOCKET", s.path, 1);
  setenv("WATCHDOG_USEC", "100000", 1); /* pings every 50 ms */
  setenv("WATCHDOG_PID", pid, 1);
  atomic_store(&g_ready, true);
  atomic_store(&g_alive, true);
  struct tc_service_notify *n = NULL;
  char *err = NULL;
  assert_int_equal(tc_service_notify_start(&n, &ops, &err), 0);
  assert_true(count_for(&s, 400, "WATCHDOG=1") >= 2);
  /* Wedged: no ping over many intervals. */
  atomic_store(&g_alive, false);
  (void)count_for(&s, 100, "WATCHDOG=1"); /* a ping already in flight */
  assert_int_equal(count_for(&s, 400, "WATCHDOG=1"), 0);
  /* Moving again: pings resume. */
  atomic_store(&g_alive, true);
  char msg[1024];
  assert_true(wait_for(&s, "WATCHDOG=1", msg, sizeof(msg), 2000));
  tc_service_notify_stopping(n, NULL);
  assert_true(wait_for(&s, "STOPPING=1", msg, sizeof(msg), 2000));
  assert_string_equal(msg, "STOPPING=1");
  assert_false(sink_next(&s, msg, sizeof(msg), 200));
  unsetenv("NOTIFY_SOCKET");
  unsetenv("WATCHDOG_USEC");
  unsetenv("WATCHDOG_PID");
  sink_close(&s);
}

static void test_watchdog_other_pid(void **state) {
  (void)state;
  struct sink s;
  sink_open(&s);
  setenv("NOTIFY_SOCKET", s.path, 1);
  setenv("WATCHDOG_USEC", "100000", 1);
  setenv("WATCHDOG_PID", "1", 1); /* not us */
  atomic_store(&g_ready, true);
  atomic_store(&g_alive, true);
  struct tc_service_notify *n = NULL;
  char *err = NULL;
  assert_int_equal(tc_service_notify_start(&n, &ops, &err), 0);
  assert_int_equal(count_for(&s, 400, "WATCHDOG=1"), 0);
  tc_service_notify_stopping(n, NULL);
  unsetenv("NOTIFY_SOCKET");
  unsetenv("WATCHDOG_USEC");
  unsetenv("WATCHDOG_PID");
  sink_close(&s);
}

static void test_without_notify_socket(void **state) {
  (void)state;
  unsetenv("NOTIFY_SOCKET");
  atomic_store(&g_checks, 0);
  struct tc_service_notify *n = (struct tc_service_notify *)&n;
  char *err = NULL;
  assert_int_equal(tc_service_notify_start(&n, &ops, &err), 0);
  assert_null(n);
  assert_null(err);
  tc_service_notify_stopping(n, "draining"); /* no-op */
  assert_int_equal(atomic_load(&g_checks), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ready_only_when_ready),
      cmocka_unit_test(test_watchdog_follows_alive),
      cmocka_unit_test(test_watchdog_other_pid),
      cmocka_unit_test(test_without_notify_socket),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
