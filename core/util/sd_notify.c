/* util/sd_notify.c — see sd_notify.h. */
#include "util/sd_notify.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <systemd/sd-daemon.h>
#include <time.h>

bool tc_sd_notify_enabled(void) {
  const char *s = getenv("NOTIFY_SOCKET");
  return s != NULL && s[0] != '\0';
}

int tc_sd_notify(const char *state) {
  if (!tc_sd_notify_enabled())
    return 0;
  int rc = sd_notify(0, state);
  return rc > 0 ? 1 : rc;
}

int tc_sd_notifyf(const char *fmt, ...) {
  if (!tc_sd_notify_enabled())
    return 0;
  va_list ap;
  va_start(ap, fmt);
  char *s = NULL;
  int n = vasprintf(&s, fmt, ap);
  va_end(ap);
  if (n < 0)
    return -ENOMEM;
  int rc = tc_sd_notify(s);
  free(s);
  return rc;
}

int tc_sd_notify_reloading(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  unsigned long long usec = (unsigned long long)ts.tv_sec * 1000000ull +
                            (unsigned long long)ts.tv_nsec / 1000ull;
  return tc_sd_notifyf("RELOADING=1\nMONOTONIC_USEC=%llu", usec);
}

uint64_t tc_sd_watchdog_usec(void) {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0)
    return 0;
  return usec;
}
