/* test_metrics_jsonl.c — the example sink under the fake host: metrics a
 * "core" updates show up as JSON lines, periodically and at stop. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <tc/fakehost.h>

#include "metrics_jsonl.h"

extern const struct tc_module tc_module; /* metrics_jsonl.c */

static int failures;
#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      failures++;                                                              \
    }                                                                          \
  } while (0)

static char *slurp(const char *path) {
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return NULL;
  static char buf[1 << 16];
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

static size_t count_lines(const char *text, const char *needle) {
  size_t n = 0;
  for (const char *p = text; (p = strstr(p, needle)) != NULL; p++)
    n++;
  return n;
}

int main(void) {
  char path[] = "/tmp/metrics-jsonl-test.XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0)
    return 2;
  close(fd);

  struct tc_fakehost *fh = tc_fakehost_new("metrics-jsonl");
  const struct tc_host *h = tc_fakehost_host(fh);
  char *err = NULL;

  /* Without a path init refuses with a message naming the setting. */
  struct metrics_jsonl_config none = {NULL, 1000};
  CHECK(tc_fakehost_init(fh, &tc_module, &none, &err) == TC_ECONFIG);
  CHECK(err != NULL && strstr(err, "config.path") != NULL);
  free(err);
  err = NULL;

  struct metrics_jsonl_config cfg = {path, 100};
  CHECK(tc_fakehost_init(fh, &tc_module, &cfg, &err) == TC_OK);
  const struct tc_metrics_sink_vtable *vt =
      tc_fakehost_metrics_sink(fh, "jsonl");
  CHECK(vt != NULL && (vt->flags & TC_SINK_PUSH));
  if (vt == NULL)
    return 1;

  static const char *const labels[] = {"channel", NULL};
  struct tc_metric_desc d = {
      sizeof(d), "demo_requests_total", "demo", TC_METRIC_COUNTER, labels, NULL,
      0};
  struct tc_metric *m = h->metric_register(h, &d, &err);
  CHECK(m != NULL);
  const char *chan[] = {"a \"quoted\" channel"};
  h->metric_add(m, chan, 3);

  void *inst = NULL;
  CHECK(vt->create(h, &inst, &err) == TC_OK);
  CHECK(vt->start(inst, &err) == TC_OK);
  struct timespec t = {0, 350 * 1000 * 1000};
  nanosleep(&t, NULL); /* about three periodic snapshots */
  h->metric_add(m, chan, 4);
  vt->stop(inst);
  vt->destroy(inst);

  char *text = slurp(path);
  CHECK(text != NULL);
  if (text != NULL) {
    size_t periodic = count_lines(text, "\"value\":3}");
    CHECK(periodic >= 2); /* written while running */
    /* The final snapshot at stop has the last value; labels are escaped. */
    CHECK(strstr(text, "\"name\":\"demo_requests_total\",\"labels\":{"
                       "\"channel\":\"a \\\"quoted\\\" channel\"},"
                       "\"value\":7}\n") != NULL);
  }
  CHECK(tc_fakehost_log_contains(fh, "writing metrics to"));

  /* An unwritable path fails start() with the path in the message. */
  struct tc_fakehost *fh2 = tc_fakehost_new("metrics-jsonl");
  struct metrics_jsonl_config bad = {"/nonexistent/dir/m.jsonl", 100};
  CHECK(tc_fakehost_init(fh2, &tc_module, &bad, &err) == TC_OK);
  vt = tc_fakehost_metrics_sink(fh2, "jsonl");
  CHECK(vt->create(tc_fakehost_host(fh2), &inst, &err) == TC_OK);
  CHECK(vt->start(inst, &err) == TC_ECONFIG);
  CHECK(err != NULL && strstr(err, "/nonexistent/dir/m.jsonl") != NULL);
  free(err);
  vt->destroy(inst);

  tc_fakehost_free(fh2);
  tc_fakehost_free(fh);
  unlink(path);
  if (failures == 0)
    printf("metrics-jsonl: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
