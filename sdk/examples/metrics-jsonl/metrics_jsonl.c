/* metrics_jsonl.c — an example out-of-tree metrics sink: every `interval`
 * it appends one JSON line per series of the registry to `path`.
 *
 *   modules:
 *     - name: metrics-jsonl
 *       config: {path: /var/log/tunnel-client/metrics.jsonl, interval: 10s}
 *
 * A line: {"ts":<ms since epoch>,"name":"...","labels":{"k":"v"},
 * "value":<counter/gauge>} — histograms carry "count" and "sum" instead of
 * "value". A final snapshot is written at stop, so short runs leave data.
 *
 * Threads: start() opens the file and starts one exporter thread; stop()
 * wakes it, joins it and closes the file. The registry is read only through
 * host->metrics_visit, which is safe from any thread.
 * Errors: an unwritable path fails start() with a clear message; a later
 * write error is logged once per occurrence and the sink keeps trying. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tc/tc.h>

#include "metrics_jsonl.h"

static const struct tc_host *host;
static struct metrics_jsonl_config config;

struct mj_inst {
  FILE *out;
  pthread_t thread;
  int running;
  int stopping; /* guarded by mu */
  pthread_mutex_t mu;
  pthread_cond_t wake;
};

/* JSON string with the escapes RFC 8259 requires. */
static void put_string(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\')
      fprintf(f, "\\%c", *p);
    else if (*p < 0x20)
      fprintf(f, "\\u%04x", *p);
    else
      fputc(*p, f);
  }
  fputc('"', f);
}

struct visit_ctx {
  FILE *out;
  int64_t ts;
};

static int write_series(void *ud, const struct tc_metric_sample *s) {
  struct visit_ctx *v = ud;
  fprintf(v->out, "{\"ts\":%lld,\"name\":", (long long)v->ts);
  put_string(v->out, s->desc->name);
  fputs(",\"labels\":{", v->out);
  for (size_t i = 0; s->desc->label_names && s->desc->label_names[i]; i++) {
    if (i)
      fputc(',', v->out);
    put_string(v->out, s->desc->label_names[i]);
    fputc(':', v->out);
    put_string(v->out, s->label_values[i]);
  }
  if (s->desc->kind == TC_METRIC_HISTOGRAM)
    fprintf(v->out, "},\"count\":%llu,\"sum\":%.17g}\n",
            (unsigned long long)s->count, s->sum);
  else
    fprintf(v->out, "},\"value\":%.17g}\n", s->value);
  return TC_OK;
}

static void export_once(struct mj_inst *mi) {
  struct visit_ctx v = {mi->out, host->wall_ms()};
  int rc = host->metrics_visit(host, write_series, &v);
  if (rc != TC_OK || fflush(mi->out) != 0 || ferror(mi->out)) {
    host->log(host, TC_LOG_WARN, NULL, "could not write metrics to %s: %s",
              config.path, rc != TC_OK ? tc_strerror(rc) : strerror(errno));
    clearerr(mi->out);
  }
}

static void *exporter(void *arg) {
  struct mj_inst *mi = arg;
  pthread_mutex_lock(&mi->mu);
  while (!mi->stopping) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += config.interval_ms / 1000;
    until.tv_nsec += (config.interval_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
      until.tv_sec++;
      until.tv_nsec -= 1000000000L;
    }
    int rc = 0;
    while (!mi->stopping && rc == 0)
      rc = pthread_cond_timedwait(&mi->wake, &mi->mu, &until);
    if (mi->stopping)
      break;
    pthread_mutex_unlock(&mi->mu);
    export_once(mi);
    pthread_mutex_lock(&mi->mu);
  }
  pthread_mutex_unlock(&mi->mu);
  return NULL;
}

static int mj_create(const struct tc_host *h, void **inst, char **errmsg) {
  (void)h, (void)errmsg;
  struct mj_inst *mi = calloc(1, sizeof(*mi));
  if (mi == NULL)
    return TC_ENOMEM;
  pthread_mutex_init(&mi->mu, NULL);
  pthread_cond_init(&mi->wake, NULL);
  *inst = mi;
  return TC_OK;
}

static int mj_start(void *inst, char **errmsg) {
  struct mj_inst *mi = inst;
  mi->out = fopen(config.path, "a");
  if (mi->out == NULL) {
    *errmsg = host->format("metrics-jsonl: cannot open %s: %s", config.path,
                           strerror(errno));
    return TC_ECONFIG;
  }
  if (pthread_create(&mi->thread, NULL, exporter, mi) != 0) {
    fclose(mi->out);
    mi->out = NULL;
    *errmsg = host->format("metrics-jsonl: cannot start its thread");
    return TC_ERR;
  }
  mi->running = 1;
  host->log(host, TC_LOG_INFO, NULL, "writing metrics to %s every %lld ms",
            config.path, (long long)config.interval_ms);
  return TC_OK;
}

static void mj_stop(void *inst) {
  struct mj_inst *mi = inst;
  if (!mi->running)
    return;
  pthread_mutex_lock(&mi->mu);
  mi->stopping = 1;
  pthread_cond_signal(&mi->wake);
  pthread_mutex_unlock(&mi->mu);
  pthread_join(mi->thread, NULL);
  mi->running = 0;
  export_once(mi); /* the final snapshot */
  fclose(mi->out);
  mi->out = NULL;
}

static void mj_destroy(void *inst) {
  struct mj_inst *mi = inst;
  pthread_cond_destroy(&mi->wake);
  pthread_mutex_destroy(&mi->mu);
  free(mi);
}

static const struct tc_metrics_sink_vtable metrics_jsonl_sink = {
    .struct_size = sizeof(struct tc_metrics_sink_vtable),
    .name = "jsonl",
    .flags = TC_SINK_PUSH,
    .create = mj_create,
    .start = mj_start,
    .stop = mj_stop,
    .destroy = mj_destroy,
};

static const struct tc_config_field metrics_jsonl_fields[] = {
    {"path", TC_CFG_STRING, NULL, offsetof(struct metrics_jsonl_config, path),
     "file the JSON lines are appended to (required)", 0, 0},
    {"interval", TC_CFG_DURATION, "10s",
     offsetof(struct metrics_jsonl_config, interval_ms),
     "time between two snapshots", 100, 3600000},
    TC_CONFIG_END};

static int mj_init(const struct tc_host *h, struct tc_registrar *reg,
                   const void *cfg, char **errmsg) {
  host = h;
  config = *(const struct metrics_jsonl_config *)cfg;
  if (config.path == NULL || config.path[0] == '\0') {
    *errmsg = h->format("metrics-jsonl needs config.path (the file to "
                        "append metrics to)");
    return TC_ECONFIG;
  }
  return reg->add_metrics_sink(reg, &metrics_jsonl_sink, errmsg);
}

TC_MODULE_DEFINE(metrics_jsonl, .name = "metrics-jsonl", .version = "1.0.0",
                 .summary = "example: metrics as JSON lines in a file",
                 .init = mj_init, .config = metrics_jsonl_fields,
                 .config_size = sizeof(struct metrics_jsonl_config));
