/* ops/service_notify.c — see service_notify.h. */
#include "ops/service_notify.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/log.h"
#include "util/sd_notify.h"

#define READY_POLL_MS 20    /* re-check readiness until it says ready */
#define STATUS_POLL_MS 1000 /* afterwards, for STATUS= changes */
#define NOTIFY_LOG "service"

struct tc_service_notify {
  struct tc_service_notify_ops ops;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cond;       /* CLOCK_MONOTONIC; signalled by stopping */
  bool stop;                 /* guarded by mu */
  bool resend_ready;         /* a reload ended; guarded by mu */
  uint64_t watchdog_half_ns; /* 0 = no watchdog */
};

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* STATUS= carries one line: newlines become spaces. */
static void one_line(char *s) {
  for (; s != NULL && *s != '\0'; s++)
    if (*s == '\n' || *s == '\r')
      *s = ' ';
}

static void report_send_failure(int rc, const char *what, bool *reported) {
  if (rc >= 0 || *reported)
    return;
  *reported = true;
  tc_log(TC_LOG_WARN, NOTIFY_LOG,
         "cannot notify the service manager ($NOTIFY_SOCKET); check the "
         "socket path and that the unit allows AF_UNIX",
         "message", what, "error", strerror(-rc), NULL);
}

/* Wait until `until_ns`, stop or the end of a reload. Returns true when
 * stopped. */
static bool wait_until(struct tc_service_notify *n, uint64_t until_ns) {
  struct timespec ts = {(time_t)(until_ns / 1000000000ull),
                        (long)(until_ns % 1000000000ull)};
  pthread_mutex_lock(&n->mu);
  while (!n->stop && !n->resend_ready) {
    if (pthread_cond_timedwait(&n->cond, &n->mu, &ts) == ETIMEDOUT)
      break;
  }
  bool stop = n->stop;
  pthread_mutex_unlock(&n->mu);
  return stop;
}

static void *watch_main(void *arg) {
  struct tc_service_notify *n = arg;
  bool ready_sent = false, send_failed = false, withheld = false;
  char *last_status = NULL;
  uint64_t next_check = now_ns(), next_ping = next_check;
  for (;;) {
    uint64_t now = now_ns();
    pthread_mutex_lock(&n->mu);
    if (n->resend_ready) {
      n->resend_ready = false;
      ready_sent = false; /* READY=1 again once ready: the reload is over */
      next_check = now;
    }
    pthread_mutex_unlock(&n->mu);
    if (now >= next_check) {
      bool ready = false;
      char *text = NULL;
      if (n->ops.check(n->ops.ud, &ready, &text) == 0 && text != NULL) {
        one_line(text);
        bool changed = last_status == NULL || strcmp(text, last_status) != 0;
        int rc = 0;
        if (ready && !ready_sent) {
          rc = tc_sd_notifyf("READY=1\nSTATUS=%s", text);
          ready_sent = rc > 0;
          report_send_failure(rc, "READY=1", &send_failed);
          if (ready_sent)
            tc_log(TC_LOG_INFO, NOTIFY_LOG,
                   "notified the service manager: READY=1", "status", text,
                   NULL);
        } else if (changed) {
          rc = tc_sd_notifyf("STATUS=%s", text);
          report_send_failure(rc, "STATUS", &send_failed);
        }
        if (changed && rc > 0) {
          free(last_status);
          last_status = text;
          text = NULL;
        }
      }
      free(text);
      next_check =
          now +
          (uint64_t)(ready_sent ? STATUS_POLL_MS : READY_POLL_MS) * 1000000ull;
    }
    if (n->watchdog_half_ns > 0 && now >= next_ping) {
      bool alive = n->ops.alive == NULL || n->ops.alive(n->ops.ud);
      if (alive) {
        report_send_failure(tc_sd_notify("WATCHDOG=1"), "WATCHDOG=1",
                            &send_failed);
        if (withheld)
          tc_log(TC_LOG_INFO, NOTIFY_LOG,
                 "request path moving again: watchdog pings resumed", NULL);
        withheld = false;
      } else if (!withheld) {
        withheld = true;
        tc_log(TC_LOG_ERROR, NOTIFY_LOG,
               "watchdog ping withheld: the control-plane poll loop did not "
               "come back within its own time bound; the service manager "
               "will restart the agent",
               NULL);
      }
      next_ping = now + n->watchdog_half_ns;
    }
    uint64_t wake = next_check;
    if (n->watchdog_half_ns > 0 && next_ping < wake)
      wake = next_ping;
    if (wait_until(n, wake))
      break;
  }
  free(last_status);
  return NULL;
}

void tc_service_notify_reloading(struct tc_service_notify *n) {
  if (n == NULL)
    return;
  int rc = tc_sd_notify_reloading();
  if (rc < 0)
    tc_log(TC_LOG_WARN, NOTIFY_LOG,
           "cannot notify the service manager: RELOADING=1", "error",
           strerror(-rc), NULL);
}

void tc_service_notify_reloaded(struct tc_service_notify *n) {
  if (n == NULL)
    return;
  pthread_mutex_lock(&n->mu);
  n->resend_ready = true;
  pthread_cond_signal(&n->cond);
  pthread_mutex_unlock(&n->mu);
}

int tc_service_notify_start(struct tc_service_notify **out,
                            const struct tc_service_notify_ops *ops,
                            char **err) {
  *out = NULL;
  if (!tc_sd_notify_enabled())
    return 0;
  struct tc_service_notify *n = calloc(1, sizeof(*n));
  if (n == NULL) {
    *err = strdup("out of memory starting the service-manager notifier");
    return -1;
  }
  n->ops = *ops;
  n->watchdog_half_ns = tc_sd_watchdog_usec() * 1000ull / 2u;
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_mutex_init(&n->mu, NULL);
  pthread_cond_init(&n->cond, &ca);
  pthread_condattr_destroy(&ca);
  int rc = pthread_create(&n->thread, NULL, watch_main, n);
  if (rc != 0) {
    if (asprintf(err, "cannot start the service-manager notifier thread: %s",
                 strerror(rc)) < 0)
      *err = NULL;
    pthread_cond_destroy(&n->cond);
    pthread_mutex_destroy(&n->mu);
    free(n);
    return -1;
  }
  if (n->watchdog_half_ns > 0) {
    char ms[32];
    snprintf(ms, sizeof(ms), "%llu",
             (unsigned long long)(n->watchdog_half_ns / 1000000ull));
    tc_log(TC_LOG_INFO, NOTIFY_LOG, "systemd watchdog enabled", "ping_every_ms",
           ms, NULL);
  }
  *out = n;
  return 0;
}

void tc_service_notify_stopping(struct tc_service_notify *n,
                                const char *status) {
  if (n != NULL) {
    pthread_mutex_lock(&n->mu);
    n->stop = true;
    pthread_cond_broadcast(&n->cond);
    pthread_mutex_unlock(&n->mu);
    pthread_join(n->thread, NULL);
    pthread_cond_destroy(&n->cond);
    pthread_mutex_destroy(&n->mu);
    free(n);
  }
  if (!tc_sd_notify_enabled())
    return;
  char *line = status != NULL ? strdup(status) : NULL;
  one_line(line);
  int rc = line != NULL ? tc_sd_notifyf("STOPPING=1\nSTATUS=%s", line)
                        : tc_sd_notify("STOPPING=1");
  free(line);
  if (rc < 0)
    tc_log(TC_LOG_WARN, NOTIFY_LOG,
           "cannot notify the service manager ($NOTIFY_SOCKET)", "message",
           "STOPPING=1", "error", strerror(-rc), NULL);
}
