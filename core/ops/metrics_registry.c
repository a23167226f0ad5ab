/* ops/metrics_registry.c — counter/gauge/histogram families with labels
 * (see metrics_registry.h). One mutex for the family list, one per family
 * for its series; the two are never held together. */
#include "ops/metrics_registry.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/sbuf.h"

const double tc_metrics_default_buckets[] = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
const size_t tc_metrics_default_bucket_count =
    sizeof(tc_metrics_default_buckets) / sizeof(tc_metrics_default_buckets[0]);

struct mr_series {
  char **values;     /* label values, family arity; immutable once created */
  double value;      /* counter / gauge */
  uint64_t count;    /* histogram observations */
  double sum;        /* histogram sum */
  uint64_t *buckets; /* histogram, per bucket (not cumulative), +Inf last */
};

struct tc_metric {
  struct tc_metric_desc desc; /* points into the owned copies below */
  char *name, *help;
  char **label_names; /* NULL-terminated copy, or NULL */
  size_t arity;
  double *buckets;
  pthread_mutex_t lock; /* guards series, nseries, cap and series values */
  struct mr_series **series;
  size_t nseries, cap;
};

struct tc_metrics_registry {
  pthread_mutex_t lock; /* guards families, count, cap */
  struct tc_metric **families;
  size_t count, cap;
};

static char *mr_fmt(const char *fmt, ...) TC_PRINTF(1, 2);
static char *mr_fmt(const char *fmt, ...) {
  struct tc_sbuf b = TC_SBUF_INIT;
  va_list ap;
  va_start(ap, fmt);
  tc_sbuf_vprintf(&b, fmt, ap);
  va_end(ap);
  return tc_sbuf_finish(&b);
}

static void mr_set_err(char **err, char *msg) {
  if (err != NULL)
    *err = msg;
  else
    free(msg);
}

struct tc_metrics_registry *tc_metrics_registry_new(void) {
  struct tc_metrics_registry *r = calloc(1, sizeof(*r));
  if (r == NULL)
    return NULL;
  if (pthread_mutex_init(&r->lock, NULL) != 0) {
    free(r);
    return NULL;
  }
  return r;
}

static void mr_series_free(struct mr_series *s, size_t arity) {
  if (s == NULL)
    return;
  for (size_t i = 0; i < arity; i++)
    free(s->values[i]);
  free(s->values);
  free(s->buckets);
  free(s);
}

static void mr_family_free(struct tc_metric *m) {
  if (m == NULL)
    return;
  for (size_t i = 0; i < m->nseries; i++)
    mr_series_free(m->series[i], m->arity);
  free(m->series);
  if (m->label_names != NULL)
    for (size_t i = 0; i < m->arity; i++)
      free(m->label_names[i]);
  free(m->label_names);
  free(m->buckets);
  free(m->name);
  free(m->help);
  pthread_mutex_destroy(&m->lock);
  free(m);
}

void tc_metrics_registry_free(struct tc_metrics_registry *r) {
  if (r == NULL)
    return;
  for (size_t i = 0; i < r->count; i++)
    mr_family_free(r->families[i]);
  free(r->families);
  pthread_mutex_destroy(&r->lock);
  free(r);
}

static struct tc_metrics_registry *mr_global;
static pthread_once_t mr_global_once = PTHREAD_ONCE_INIT;

static void mr_global_init(void) {
  mr_global = tc_metrics_registry_new();
}

struct tc_metrics_registry *tc_metrics_registry_global(void) {
  pthread_once(&mr_global_once, mr_global_init);
  return mr_global;
}

/* ---- validation ---------------------------------------------------------- */

static int mr_valid_name(const char *s, int allow_colon) {
  if (s == NULL || *s == '\0')
    return 0;
  for (const char *p = s; *p; p++) {
    char c = *p;
    int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                (allow_colon && c == ':');
    if (!alpha && !(p != s && c >= '0' && c <= '9'))
      return 0;
  }
  return 1;
}

static size_t mr_arity(const struct tc_metric_desc *d) {
  size_t n = 0;
  if (d->label_names != NULL)
    while (d->label_names[n] != NULL)
      n++;
  return n;
}

/* Checks everything but name uniqueness; *err on failure. */
static int mr_validate(const struct tc_metric_desc *d, char **err) {
  if (d == NULL) {
    mr_set_err(err, mr_fmt("metric: NULL description"));
    return -1;
  }
  if (d->struct_size < sizeof(struct tc_metric_desc)) {
    mr_set_err(err, mr_fmt("metric: description struct_size %zu is smaller "
                           "than the ABI 1.0 size %zu (rebuild against the "
                           "SDK)",
                           d->struct_size, sizeof(struct tc_metric_desc)));
    return -1;
  }
  if (!mr_valid_name(d->name, 1)) {
    mr_set_err(err, mr_fmt("metric \"%s\": invalid name (use "
                           "[a-zA-Z_:][a-zA-Z0-9_:]*)",
                           d->name ? d->name : ""));
    return -1;
  }
  if (d->kind != TC_METRIC_COUNTER && d->kind != TC_METRIC_GAUGE &&
      d->kind != TC_METRIC_HISTOGRAM) {
    mr_set_err(err, mr_fmt("metric \"%s\": unknown kind %d (use "
                           "TC_METRIC_COUNTER, _GAUGE or _HISTOGRAM)",
                           d->name, d->kind));
    return -1;
  }
  size_t n = mr_arity(d);
  for (size_t i = 0; i < n; i++) {
    const char *l = d->label_names[i];
    if (!mr_valid_name(l, 0) || strncmp(l, "__", 2) == 0) {
      mr_set_err(err, mr_fmt("metric \"%s\": invalid label name \"%s\" (use "
                             "[a-zA-Z_][a-zA-Z0-9_]*, not starting with __)",
                             d->name, l));
      return -1;
    }
    if (d->kind == TC_METRIC_HISTOGRAM && strcmp(l, "le") == 0) {
      mr_set_err(err, mr_fmt("metric \"%s\": label \"le\" is reserved for "
                             "histogram buckets (rename the label)",
                             d->name));
      return -1;
    }
    for (size_t j = 0; j < i; j++)
      if (strcmp(d->label_names[j], l) == 0) {
        mr_set_err(err, mr_fmt("metric \"%s\": duplicate label name \"%s\"",
                               d->name, l));
        return -1;
      }
  }
  if (d->kind == TC_METRIC_HISTOGRAM && d->bucket_count > 0) {
    if (d->buckets == NULL) {
      mr_set_err(err, mr_fmt("metric \"%s\": bucket_count %zu but no buckets",
                             d->name, d->bucket_count));
      return -1;
    }
    for (size_t i = 0; i < d->bucket_count; i++) {
      if (!isfinite(d->buckets[i]) ||
          (i > 0 && !(d->buckets[i] > d->buckets[i - 1]))) {
        mr_set_err(err, mr_fmt("metric \"%s\": histogram buckets must be "
                               "finite and strictly ascending (bucket %zu)",
                               d->name, i));
        return -1;
      }
    }
  }
  return 0;
}

/* Buckets a histogram description resolves to (defaults when none). */
static void mr_buckets(const struct tc_metric_desc *d, const double **b,
                       size_t *n) {
  if (d->kind != TC_METRIC_HISTOGRAM) {
    *b = NULL;
    *n = 0;
  } else if (d->bucket_count == 0) {
    *b = tc_metrics_default_buckets;
    *n = tc_metrics_default_bucket_count;
  } else {
    *b = d->buckets;
    *n = d->bucket_count;
  }
}

/* Identical description? `d` is validated. */
static int mr_same(const struct tc_metric *m, const struct tc_metric_desc *d,
                   const char **what) {
  if (m->desc.kind != d->kind) {
    *what = "kind";
    return 0;
  }
  if (strcmp(m->help, d->help ? d->help : "") != 0) {
    *what = "help text";
    return 0;
  }
  size_t n = mr_arity(d);
  int labels_same = n == m->arity;
  for (size_t i = 0; labels_same && i < n; i++)
    labels_same = strcmp(m->label_names[i], d->label_names[i]) == 0;
  if (!labels_same) {
    *what = "label names";
    return 0;
  }
  const double *b;
  size_t nb;
  mr_buckets(d, &b, &nb);
  int buckets_same = nb == m->desc.bucket_count;
  for (size_t i = 0; buckets_same && i < nb; i++)
    buckets_same = b[i] == m->buckets[i];
  if (!buckets_same) {
    *what = "buckets";
    return 0;
  }
  return 1;
}

static struct mr_series *mr_series_new(const struct tc_metric *m,
                                       const char *const *values);

static struct tc_metric *mr_family_new(const struct tc_metric_desc *d) {
  struct tc_metric *m = calloc(1, sizeof(*m));
  if (m == NULL)
    return NULL;
  if (pthread_mutex_init(&m->lock, NULL) != 0) {
    free(m);
    return NULL;
  }
  m->arity = mr_arity(d);
  m->name = strdup(d->name);
  m->help = strdup(d->help ? d->help : "");
  int ok = m->name != NULL && m->help != NULL;
  if (ok && m->arity > 0) {
    m->label_names = calloc(m->arity + 1, sizeof(char *));
    ok = m->label_names != NULL;
    for (size_t i = 0; ok && i < m->arity; i++) {
      m->label_names[i] = strdup(d->label_names[i]);
      ok = m->label_names[i] != NULL;
    }
  }
  const double *b;
  size_t nb;
  mr_buckets(d, &b, &nb);
  if (ok && nb > 0) {
    m->buckets = malloc(nb * sizeof(double));
    ok = m->buckets != NULL;
    if (ok)
      memcpy(m->buckets, b, nb * sizeof(double));
  }
  m->desc.struct_size = sizeof(m->desc);
  m->desc.name = m->name;
  m->desc.help = m->help;
  m->desc.kind = d->kind;
  m->desc.label_names = (const char *const *)m->label_names;
  m->desc.buckets = m->buckets;
  m->desc.bucket_count = nb;
  if (ok && m->arity == 0) {
    /* The single series exists from the start so it renders as 0. */
    m->series = malloc(sizeof(*m->series));
    ok = m->series != NULL;
    if (ok) {
      m->series[0] = mr_series_new(m, NULL);
      ok = m->series[0] != NULL;
      m->cap = 1;
      m->nseries = ok ? 1 : 0;
    }
  }
  if (!ok) {
    mr_family_free(m);
    return NULL;
  }
  return m;
}

struct tc_metric *tc_metrics_register(struct tc_metrics_registry *r,
                                      const struct tc_metric_desc *desc,
                                      char **err) {
  if (err != NULL)
    *err = NULL;
  if (r == NULL) {
    mr_set_err(err, mr_fmt("metric: no registry (out of memory at start-up)"));
    return NULL;
  }
  if (mr_validate(desc, err) != 0)
    return NULL;
  struct tc_metric *found = NULL, *created = NULL;
  const char *what = NULL;
  pthread_mutex_lock(&r->lock);
  for (size_t i = 0; i < r->count && found == NULL; i++)
    if (strcmp(r->families[i]->name, desc->name) == 0)
      found = r->families[i];
  if (found == NULL) {
    if (r->count == r->cap) {
      size_t cap = r->cap ? r->cap * 2 : 16;
      struct tc_metric **n = realloc(r->families, cap * sizeof(*n));
      if (n != NULL) {
        r->families = n;
        r->cap = cap;
      }
    }
    if (r->count < r->cap)
      created = mr_family_new(desc);
    if (created != NULL)
      r->families[r->count++] = created;
  }
  pthread_mutex_unlock(&r->lock);
  if (found != NULL) {
    if (mr_same(found, desc, &what))
      return found;
    mr_set_err(err, mr_fmt("metric \"%s\": already registered with a "
                           "different %s (use another name or the same "
                           "description)",
                           desc->name, what));
    return NULL;
  }
  if (created == NULL)
    mr_set_err(err, mr_fmt("metric \"%s\": out of memory", desc->name));
  return created;
}

const struct tc_metric_desc *tc_metric_desc(const struct tc_metric *m) {
  return m ? &m->desc : NULL;
}

/* ---- updates ---------------------------------------------------------------
 */

static const char *mr_label(const char *const *values, size_t i) {
  if (values == NULL || values[i] == NULL)
    return "";
  return values[i];
}

static struct mr_series *mr_series_new(const struct tc_metric *m,
                                       const char *const *values) {
  struct mr_series *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return NULL;
  int ok = 1;
  if (m->arity > 0) {
    s->values = calloc(m->arity, sizeof(char *));
    ok = s->values != NULL;
    for (size_t i = 0; ok && i < m->arity; i++) {
      s->values[i] = strdup(mr_label(values, i));
      ok = s->values[i] != NULL;
    }
  }
  if (ok && m->desc.kind == TC_METRIC_HISTOGRAM) {
    s->buckets = calloc(m->desc.bucket_count + 1, sizeof(uint64_t));
    ok = s->buckets != NULL;
  }
  if (!ok) {
    if (s->values != NULL)
      for (size_t i = 0; i < m->arity; i++)
        free(s->values[i]);
    free(s->values);
    free(s->buckets);
    free(s);
    return NULL;
  }
  return s;
}

/* The series for `values`, created when missing. Caller holds m->lock.
 * NULL on ENOMEM or when the family is at TC_METRICS_MAX_SERIES. */
static struct mr_series *mr_series_get(struct tc_metric *m,
                                       const char *const *values) {
  if (m->arity == 0)
    return m->nseries > 0 ? m->series[0] : NULL;
  for (size_t i = 0; i < m->nseries; i++) {
    struct mr_series *s = m->series[i];
    size_t k = 0;
    while (k < m->arity && strcmp(s->values[k], mr_label(values, k)) == 0)
      k++;
    if (k == m->arity)
      return s;
  }
  if (m->nseries >= TC_METRICS_MAX_SERIES)
    return NULL;
  if (m->nseries == m->cap) {
    size_t cap = m->cap ? m->cap * 2 : 8;
    struct mr_series **n = realloc(m->series, cap * sizeof(*n));
    if (n == NULL)
      return NULL;
    m->series = n;
    m->cap = cap;
  }
  struct mr_series *s = mr_series_new(m, values);
  if (s != NULL)
    m->series[m->nseries++] = s;
  return s;
}

void tc_metric_add(struct tc_metric *m, const char *const *label_values,
                   double delta) {
  if (m == NULL || m->desc.kind == TC_METRIC_HISTOGRAM || isnan(delta))
    return;
  if (m->desc.kind == TC_METRIC_COUNTER && delta < 0)
    return;
  pthread_mutex_lock(&m->lock);
  struct mr_series *s = mr_series_get(m, label_values);
  if (s != NULL)
    s->value += delta;
  pthread_mutex_unlock(&m->lock);
}

void tc_metric_set(struct tc_metric *m, const char *const *label_values,
                   double value) {
  if (m == NULL || m->desc.kind == TC_METRIC_HISTOGRAM || isnan(value))
    return;
  pthread_mutex_lock(&m->lock);
  struct mr_series *s = mr_series_get(m, label_values);
  if (s != NULL && (m->desc.kind == TC_METRIC_GAUGE || value >= s->value))
    s->value = value;
  pthread_mutex_unlock(&m->lock);
}

void tc_metric_observe(struct tc_metric *m, const char *const *label_values,
                       double value) {
  if (m == NULL || m->desc.kind != TC_METRIC_HISTOGRAM || isnan(value))
    return;
  size_t idx = 0;
  while (idx < m->desc.bucket_count && value > m->buckets[idx])
    idx++;
  pthread_mutex_lock(&m->lock);
  struct mr_series *s = mr_series_get(m, label_values);
  if (s != NULL) {
    s->buckets[idx]++;
    s->count++;
    s->sum += value;
  }
  pthread_mutex_unlock(&m->lock);
}

/* ---- visiting ------------------------------------------------------------ */

static struct tc_metric *mr_family_at(struct tc_metrics_registry *r, size_t i) {
  struct tc_metric *m = NULL;
  pthread_mutex_lock(&r->lock);
  if (i < r->count)
    m = r->families[i];
  pthread_mutex_unlock(&r->lock);
  return m;
}

static int mr_visit_family(struct tc_metric *m, tc_metric_visit_fn fn,
                           void *ud) {
  uint64_t *cum = NULL;
  if (m->desc.kind == TC_METRIC_HISTOGRAM) {
    cum = calloc(m->desc.bucket_count + 1, sizeof(uint64_t));
    if (cum == NULL)
      return TC_ENOMEM;
  }
  int rc = TC_OK;
  for (size_t j = 0; rc == TC_OK; j++) {
    struct tc_metric_sample smp;
    memset(&smp, 0, sizeof(smp));
    smp.struct_size = sizeof(smp);
    smp.desc = &m->desc;
    pthread_mutex_lock(&m->lock);
    if (j >= m->nseries) {
      pthread_mutex_unlock(&m->lock);
      break;
    }
    const struct mr_series *s = m->series[j];
    smp.label_values = (const char *const *)s->values; /* immutable */
    smp.value = s->value;
    smp.count = s->count;
    smp.sum = s->sum;
    if (cum != NULL) {
      uint64_t acc = 0;
      for (size_t b = 0; b <= m->desc.bucket_count; b++) {
        acc += s->buckets[b];
        cum[b] = acc;
      }
      smp.bucket_counts = cum;
    }
    pthread_mutex_unlock(&m->lock);
    rc = fn(ud, &smp);
  }
  free(cum);
  return rc;
}

int tc_metrics_visit(struct tc_metrics_registry *r, tc_metric_visit_fn fn,
                     void *ud) {
  if (r == NULL || fn == NULL)
    return TC_EINVAL;
  int rc = TC_OK;
  for (size_t i = 0; rc == TC_OK; i++) {
    struct tc_metric *m = mr_family_at(r, i);
    if (m == NULL)
      break;
    rc = mr_visit_family(m, fn, ud);
  }
  return rc;
}
