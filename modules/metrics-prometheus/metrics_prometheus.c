/* metrics-prometheus — the "prometheus" pull sink: renders the metrics
 * registry as Prometheus text exposition format 0.0.4 for /metrics.
 *
 * render() may run on several ops threads at once; it keeps all state on
 * its own stack and reads the registry through host->metrics_visit. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tc/tc.h>

static const struct tc_host *mp_host; /* set once in init (main thread) */

/* A growable output buffer; `failed` is sticky on ENOMEM. */
struct mp_buf {
  char *data;
  size_t len, cap;
  int failed;
};

static void mp_put(struct mp_buf *b, const char *s, size_t n) {
  if (b->failed)
    return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n + 1)
      cap *= 2;
    char *p = realloc(b->data, cap);
    if (p == NULL) {
      b->failed = 1;
      return;
    }
    b->data = p;
    b->cap = cap;
  }
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

static void mp_puts(struct mp_buf *b, const char *s) {
  mp_put(b, s, strlen(s));
}

/* Escape for HELP (backslash, newline) or label values (also '"'). */
static void mp_escaped(struct mp_buf *b, const char *s, int quote) {
  for (const char *p = s ? s : ""; *p; p++) {
    if (*p == '\\')
      mp_puts(b, "\\\\");
    else if (*p == '\n')
      mp_puts(b, "\\n");
    else if (quote && *p == '"')
      mp_puts(b, "\\\"");
    else
      mp_put(b, p, 1);
  }
}

/* Shortest text that reads back as the same double; Prometheus spellings
 * for the special values. */
static void mp_number(struct mp_buf *b, double v) {
  char tmp[40];
  if (isnan(v)) {
    mp_puts(b, "NaN");
    return;
  }
  if (isinf(v)) {
    mp_puts(b, v > 0 ? "+Inf" : "-Inf");
    return;
  }
  if (v == floor(v) && fabs(v) < 1e15) { /* integers as integers */
    snprintf(tmp, sizeof(tmp), "%.0f", v);
    mp_puts(b, tmp);
    return;
  }
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
    if (strtod(tmp, NULL) == v)
      break;
  }
  mp_puts(b, tmp);
}

static void mp_u64(struct mp_buf *b, uint64_t v) {
  char tmp[24];
  snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);
  mp_puts(b, tmp);
}

static const char *mp_type(int kind) {
  switch (kind) {
  case TC_METRIC_COUNTER:
    return "counter";
  case TC_METRIC_GAUGE:
    return "gauge";
  case TC_METRIC_HISTOGRAM:
    return "histogram";
  default:
    return "untyped";
  }
}

struct mp_render {
  struct mp_buf out;
  const struct tc_metric_desc *last; /* family of the previous sample */
};

/* name{labels[,le="…"]} — `le` is NULL outside histogram buckets. */
static void mp_series(struct mp_buf *b, const struct tc_metric_sample *s,
                      const char *suffix, const char *le) {
  const struct tc_metric_desc *d = s->desc;
  mp_puts(b, d->name);
  mp_puts(b, suffix);
  size_t n = 0;
  for (; d->label_names != NULL && d->label_names[n] != NULL; n++) {
    mp_puts(b, n ? "," : "{");
    mp_puts(b, d->label_names[n]);
    mp_puts(b, "=\"");
    mp_escaped(b, s->label_values ? s->label_values[n] : "", 1);
    mp_puts(b, "\"");
  }
  if (le != NULL) {
    mp_puts(b, n ? ",le=\"" : "{le=\"");
    mp_puts(b, le);
    mp_puts(b, "\"");
    n++;
  }
  mp_puts(b, n ? "} " : " ");
}

static int mp_visit(void *ud, const struct tc_metric_sample *s) {
  struct mp_render *r = ud;
  struct mp_buf *b = &r->out;
  const struct tc_metric_desc *d = s->desc;
  if (d != r->last) {
    r->last = d;
    mp_puts(b, "# HELP ");
    mp_puts(b, d->name);
    mp_puts(b, " ");
    mp_escaped(b, d->help, 0);
    mp_puts(b, "\n# TYPE ");
    mp_puts(b, d->name);
    mp_puts(b, " ");
    mp_puts(b, mp_type(d->kind));
    mp_puts(b, "\n");
  }
  if (d->kind != TC_METRIC_HISTOGRAM) {
    mp_series(b, s, "", NULL);
    mp_number(b, s->value);
    mp_puts(b, "\n");
  } else {
    for (size_t i = 0; i <= d->bucket_count; i++) {
      struct mp_buf le = {NULL, 0, 0, 0};
      if (i < d->bucket_count)
        mp_number(&le, d->buckets[i]);
      else
        mp_puts(&le, "+Inf");
      mp_series(b, s, "_bucket", le.failed ? "+Inf" : le.data);
      free(le.data);
      mp_u64(b, s->bucket_counts ? s->bucket_counts[i] : 0);
      mp_puts(b, "\n");
    }
    mp_series(b, s, "_sum", NULL);
    mp_number(b, s->sum);
    mp_puts(b, "\n");
    mp_series(b, s, "_count", NULL);
    mp_u64(b, s->count);
    mp_puts(b, "\n");
  }
  return b->failed ? TC_ENOMEM : TC_OK;
}

static int mp_render_fn(void *inst, char **out, size_t *len,
                        const char **content_type) {
  (void)inst;
  struct mp_render r;
  memset(&r, 0, sizeof(r));
  mp_puts(&r.out, ""); /* an empty registry still yields "" */
  int rc = mp_host->metrics_visit(mp_host, mp_visit, &r);
  if (rc != TC_OK || r.out.failed) {
    free(r.out.data);
    return rc != TC_OK ? rc : TC_ENOMEM;
  }
  *out = r.out.data;
  *len = r.out.len;
  *content_type = "text/plain; version=0.0.4; charset=utf-8";
  return TC_OK;
}

static const struct tc_metrics_sink_vtable mp_sink = {
    .struct_size = sizeof(struct tc_metrics_sink_vtable),
    .name = "prometheus",
    .flags = TC_SINK_PULL,
    .render = mp_render_fn,
};

static int mp_init(const struct tc_host *host, struct tc_registrar *reg,
                   const void *config, char **errmsg) {
  (void)config;
  mp_host = host;
  return reg->add_metrics_sink(reg, &mp_sink, errmsg);
}

TC_MODULE_DEFINE(metrics_prometheus, .name = "metrics-prometheus",
                 .version = "0.1.0", .init = mp_init,
                 .summary = "Prometheus text exposition 0.0.4 of every metric "
                            "at /metrics (pull sink \"prometheus\")");
