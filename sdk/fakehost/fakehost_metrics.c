/* fakehost_metrics.c — a small in-memory metrics registry behind the fake
 * host's metric_* members, with tc_fakehost_metric_value() to read it.
 * Same rules as the daemon's registry where a module can observe them:
 * identical re-registration returns the same handle, a conflicting one is
 * refused, counters never go down, a visitor sees cumulative buckets. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fakehost_internal.h"

struct fh_series {
  struct fh_series *next;
  char **labels; /* arity of the family */
  double value;
  uint64_t count;
  double sum;
  uint64_t *buckets; /* per bucket (not cumulative), bucket_count + 1 */
};

struct tc_metric { /* one family */
  struct tc_metric *next;
  struct tc_fakehost *fh;
  struct tc_metric_desc desc; /* deep copy */
  size_t arity;
  struct fh_series *series;
};

static struct tc_fakehost *owner(const struct tc_host *h) {
  return (struct tc_fakehost *)h->core;
}

static char *dup_or_empty(const char *s) {
  return strdup(s ? s : "");
}

static void family_free(struct tc_metric *m) {
  for (struct fh_series *s = m->series, *n; s != NULL; s = n) {
    n = s->next;
    for (size_t i = 0; i < m->arity; i++)
      free(s->labels[i]);
    free(s->labels);
    free(s->buckets);
    free(s);
  }
  for (size_t i = 0; i < m->arity; i++)
    free((char *)(uintptr_t)m->desc.label_names[i]);
  free((void *)(uintptr_t)m->desc.label_names);
  free((void *)(uintptr_t)m->desc.buckets);
  free((char *)(uintptr_t)m->desc.name);
  free((char *)(uintptr_t)m->desc.help);
  free(m);
}

static int same_desc(const struct tc_metric *m,
                     const struct tc_metric_desc *d) {
  size_t arity = 0;
  while (d->label_names && d->label_names[arity])
    arity++;
  if (m->desc.kind != d->kind || m->arity != arity ||
      m->desc.bucket_count != d->bucket_count)
    return 0;
  for (size_t i = 0; i < arity; i++)
    if (strcmp(m->desc.label_names[i], d->label_names[i]) != 0)
      return 0;
  for (size_t i = 0; i < d->bucket_count; i++)
    if (m->desc.buckets[i] != d->buckets[i])
      return 0;
  return 1;
}

static struct tc_metric *fh_register(const struct tc_host *h,
                                     const struct tc_metric_desc *d,
                                     char **errmsg) {
  struct tc_fakehost *fh = owner(h);
  if (d == NULL || d->name == NULL || d->name[0] == '\0' ||
      d->kind < TC_METRIC_COUNTER || d->kind > TC_METRIC_HISTOGRAM) {
    if (errmsg)
      *errmsg = strdup("metric description needs a name and a kind");
    return NULL;
  }
  pthread_mutex_lock(&fh->metrics_mu);
  struct tc_metric **tail = &fh->families;
  for (struct tc_metric *m = *tail; m != NULL; m = m->next) {
    if (strcmp(m->desc.name, d->name) == 0) {
      pthread_mutex_unlock(&fh->metrics_mu);
      if (same_desc(m, d))
        return m;
      if (errmsg)
        *errmsg = strdup("metric registered again with another description");
      return NULL;
    }
    tail = &m->next;
  }
  struct tc_metric *m = calloc(1, sizeof(*m));
  size_t arity = 0;
  while (d->label_names && d->label_names[arity])
    arity++;
  int ok = m != NULL;
  if (ok) {
    m->fh = fh;
    m->arity = arity;
    m->desc = *d;
    m->desc.struct_size = sizeof(m->desc);
    m->desc.name = strdup(d->name);
    m->desc.help = dup_or_empty(d->help);
    char **names = calloc(arity + 1, sizeof(char *));
    m->desc.label_names = (const char *const *)names;
    ok = m->desc.name && m->desc.help && names;
    for (size_t i = 0; ok && i < arity; i++)
      ok = (names[i] = strdup(d->label_names[i])) != NULL;
    double *b = calloc(d->bucket_count + 1, sizeof(double));
    m->desc.buckets = b;
    ok = ok && b != NULL;
    if (ok && d->bucket_count)
      memcpy(b, d->buckets, d->bucket_count * sizeof(double));
  }
  if (!ok) {
    if (m)
      family_free(m);
    pthread_mutex_unlock(&fh->metrics_mu);
    if (errmsg)
      *errmsg = strdup("out of memory");
    return NULL;
  }
  *tail = m;
  pthread_mutex_unlock(&fh->metrics_mu);
  return m;
}

/* The series with these label values, created on first use. Lock held. */
static struct fh_series *series_of(struct tc_metric *m, const char *const *lv) {
  struct fh_series **tail = &m->series;
  for (struct fh_series *s = m->series; s != NULL; s = s->next) {
    size_t i = 0;
    while (i < m->arity && strcmp(s->labels[i], lv && lv[i] ? lv[i] : "") == 0)
      i++;
    if (i == m->arity)
      return s;
    tail = &s->next;
  }
  struct fh_series *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return NULL;
  s->labels = calloc(m->arity + 1, sizeof(char *));
  s->buckets = calloc(m->desc.bucket_count + 1, sizeof(uint64_t));
  int ok = s->labels && s->buckets;
  for (size_t i = 0; ok && i < m->arity; i++)
    ok = (s->labels[i] = dup_or_empty(lv ? lv[i] : NULL)) != NULL;
  if (!ok) {
    for (size_t i = 0; s->labels && i < m->arity; i++)
      free(s->labels[i]);
    free(s->labels);
    free(s->buckets);
    free(s);
    return NULL;
  }
  *tail = s;
  return s;
}

static void update(struct tc_metric *m, const char *const *lv, int op,
                   double v) {
  if (m == NULL || isnan(v))
    return;
  pthread_mutex_lock(&m->fh->metrics_mu);
  struct fh_series *s = series_of(m, lv);
  if (s != NULL) {
    if (m->desc.kind == TC_METRIC_HISTOGRAM && op == 'o') {
      size_t i = 0;
      while (i < m->desc.bucket_count && v > m->desc.buckets[i])
        i++;
      s->buckets[i]++;
      s->count++;
      s->sum += v;
    } else if (m->desc.kind == TC_METRIC_COUNTER) {
      if (op == 'a' && v >= 0)
        s->value += v;
      else if (op == 's' && v >= s->value)
        s->value = v;
    } else if (m->desc.kind == TC_METRIC_GAUGE) {
      if (op == 'a')
        s->value += v;
      else if (op == 's')
        s->value = v;
    }
  }
  pthread_mutex_unlock(&m->fh->metrics_mu);
}

static void fh_add(struct tc_metric *m, const char *const *lv, double d) {
  update(m, lv, 'a', d);
}
static void fh_set(struct tc_metric *m, const char *const *lv, double v) {
  update(m, lv, 's', v);
}
static void fh_observe(struct tc_metric *m, const char *const *lv, double v) {
  update(m, lv, 'o', v);
}

/* Visits a snapshot per series with the lock released, like the daemon. */
static int fh_visit(const struct tc_host *h, tc_metric_visit_fn fn, void *ud) {
  struct tc_fakehost *fh = owner(h);
  pthread_mutex_lock(&fh->metrics_mu);
  for (struct tc_metric *m = fh->families; m != NULL; m = m->next) {
    for (struct fh_series *s = m->series; s != NULL; s = s->next) {
      size_t nb = m->desc.bucket_count + 1;
      uint64_t *cum = calloc(nb, sizeof(uint64_t));
      if (cum == NULL) {
        pthread_mutex_unlock(&fh->metrics_mu);
        return TC_ENOMEM;
      }
      uint64_t run = 0;
      for (size_t i = 0; i < nb; i++)
        cum[i] = (run += s->buckets[i]);
      struct tc_metric_sample smp = {
          sizeof(smp), &m->desc, (const char *const *)s->labels,
          s->value,    s->count, s->sum,
          cum};
      /* Families and series are never removed, so the walk may resume
       * after the callback (which may itself update metrics). */
      pthread_mutex_unlock(&fh->metrics_mu);
      int rc = fn(ud, &smp);
      free(cum);
      if (rc != TC_OK)
        return rc;
      pthread_mutex_lock(&fh->metrics_mu);
    }
  }
  pthread_mutex_unlock(&fh->metrics_mu);
  return TC_OK;
}

void tc_fakehost_metrics_bind(struct tc_host *h) {
  pthread_mutex_init(&owner(h)->metrics_mu, NULL);
  h->metric_register = fh_register;
  h->metric_add = fh_add;
  h->metric_set = fh_set;
  h->metric_observe = fh_observe;
  h->metrics_visit = fh_visit;
}

void tc_fakehost_metrics_free(struct tc_fakehost *fh) {
  for (struct tc_metric *m = fh->families, *n; m != NULL; m = n) {
    n = m->next;
    family_free(m);
  }
  fh->families = NULL;
  pthread_mutex_destroy(&fh->metrics_mu);
}

int tc_fakehost_metric_value(struct tc_fakehost *fh, const char *name,
                             const char *const *lv, double *value) {
  int rc = TC_ENOENT;
  pthread_mutex_lock(&fh->metrics_mu);
  for (struct tc_metric *m = fh->families; m != NULL; m = m->next) {
    if (strcmp(m->desc.name, name) != 0)
      continue;
    for (struct fh_series *s = m->series; s != NULL; s = s->next) {
      size_t i = 0;
      while (i < m->arity &&
             strcmp(s->labels[i], lv && lv[i] ? lv[i] : "") == 0)
        i++;
      if (i == m->arity) {
        *value =
            m->desc.kind == TC_METRIC_HISTOGRAM ? (double)s->count : s->value;
        rc = TC_OK;
        break;
      }
    }
    break;
  }
  pthread_mutex_unlock(&fh->metrics_mu);
  return rc;
}
