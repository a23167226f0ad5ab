/* cli/cmd_doctor_progress.c — a spinner on stderr while a slow doctor
 * check runs (only when stderr is a terminal and the output is text; the
 * caller decides). The first frame is drawn before start returns, then a
 * thread redraws every 100 ms; stop erases the line. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cmd_doctor.h"

struct tc_progress {
  pthread_t thread;
  atomic_int stop;
  char label[64];
};

static void draw(const struct tc_progress *p, unsigned frame) {
  static const char frames[] = "|/-\\";
  char line[96];
  int n = snprintf(line, sizeof(line), "\r%c checking %s ...",
                   frames[frame % 4], p->label);
  if (n > 0)
    (void)!write(STDERR_FILENO, line,
                 (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static void *spin(void *arg) {
  struct tc_progress *p = arg;
  const struct timespec tick = {0, 100 * 1000 * 1000};
  for (unsigned frame = 1; !atomic_load(&p->stop); frame++) {
    nanosleep(&tick, NULL);
    if (!atomic_load(&p->stop))
      draw(p, frame);
  }
  return NULL;
}

struct tc_progress *tc_progress_start(const char *label, bool enabled) {
  if (!enabled)
    return NULL;
  struct tc_progress *p = calloc(1, sizeof(*p));
  if (p == NULL)
    return NULL;
  atomic_init(&p->stop, 0);
  snprintf(p->label, sizeof(p->label), "%s", label);
  draw(p, 0);
  if (pthread_create(&p->thread, NULL, spin, p) != 0) {
    free(p);
    static const char erase[] = "\r\033[K";
    (void)!write(STDERR_FILENO, erase, sizeof(erase) - 1);
    return NULL;
  }
  return p;
}

void tc_progress_stop(struct tc_progress *p) {
  if (p == NULL)
    return;
  atomic_store(&p->stop, 1);
  pthread_join(p->thread, NULL);
  static const char erase[] = "\r\033[K";
  (void)!write(STDERR_FILENO, erase, sizeof(erase) - 1);
  free(p);
}
