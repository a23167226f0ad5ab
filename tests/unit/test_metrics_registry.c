/* test_metrics_registry.c — registration rules, update semantics, visit
 * order, and concurrent updates (also run under TSan). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ops/metrics_registry.h"

static struct tc_metric_desc desc(const char *name, int kind,
                                  const char *const *labels) {
  struct tc_metric_desc d = {sizeof(d), name, "help", kind, labels, NULL, 0};
  return d;
}

static void expect_refused(struct tc_metrics_registry *r,
                           const struct tc_metric_desc *d, const char *want) {
  char *err = NULL;
  assert_null(tc_metrics_register(r, d, &err));
  if (err == NULL || strstr(err, want) == NULL)
    fail_msg("expected \"%s\" in: %s", want, err ? err : "(null)");
  free(err);
}

static void test_register_validation(void **state) {
  struct tc_metrics_registry *r = tc_metrics_registry_new();
  struct tc_metric_desc d = desc("1abc", TC_METRIC_COUNTER, NULL);
  expect_refused(r, &d, "metric \"1abc\": invalid name");
  d.name = "a-b";
  expect_refused(r, &d, "metric \"a-b\": invalid name");
  d.name = NULL;
  expect_refused(r, &d, "invalid name");
  d.name = "ok:name_1";
  d.kind = 7;
  expect_refused(r, &d, "unknown kind 7");
  const char *const reserved[] = {"__x", NULL};
  d = desc("m", TC_METRIC_GAUGE, reserved);
  expect_refused(r, &d, "invalid label name \"__x\"");
  const char *const colon[] = {"a:b", NULL};
  d = desc("m", TC_METRIC_GAUGE, colon);
  expect_refused(r, &d, "invalid label name \"a:b\"");
  const char *const dup[] = {"a", "a", NULL};
  d = desc("m", TC_METRIC_GAUGE, dup);
  expect_refused(r, &d, "duplicate label name \"a\"");
  const char *const le[] = {"le", NULL};
  d = desc("h", TC_METRIC_HISTOGRAM, le);
  expect_refused(r, &d, "label \"le\" is reserved");
  const double down[] = {1, 0.5};
  d = desc("h", TC_METRIC_HISTOGRAM, NULL);
  d.buckets = down;
  d.bucket_count = 2;
  expect_refused(r, &d, "strictly ascending");
  d = desc("m", TC_METRIC_GAUGE, NULL);
  d.struct_size = 8;
  expect_refused(r, &d, "struct_size 8 is smaller");
  /* Nothing above was registered. */
  assert_null(tc_metrics_register(r, NULL, NULL));
  tc_metrics_registry_free(r);
}

static void test_reregistration(void **state) {
  struct tc_metrics_registry *r = tc_metrics_registry_new();
  const char *const labels[] = {"channel", NULL};
  struct tc_metric_desc d = desc("tc_req_total", TC_METRIC_COUNTER, labels);
  char *err = NULL;
  struct tc_metric *a = tc_metrics_register(r, &d, &err);
  assert_non_null(a);
  /* Identical (different storage, same content): same handle. */
  const char *const labels2[] = {"channel", NULL};
  struct tc_metric_desc d2 = desc("tc_req_total", TC_METRIC_COUNTER, labels2);
  assert_ptr_equal(tc_metrics_register(r, &d2, &err), a);
  d2.kind = TC_METRIC_GAUGE;
  expect_refused(r, &d2, "already registered with a different kind");
  d2 = desc("tc_req_total", TC_METRIC_COUNTER, NULL);
  expect_refused(r, &d2, "different label names");
  d2 = desc("tc_req_total", TC_METRIC_COUNTER, labels);
  d2.help = "other";
  expect_refused(r, &d2, "different help text");
  /* Histogram defaults equal explicit default buckets. */
  struct tc_metric_desc h = desc("tc_lat", TC_METRIC_HISTOGRAM, NULL);
  struct tc_metric *hm = tc_metrics_register(r, &h, &err);
  assert_non_null(hm);
  assert_int_equal(tc_metric_desc(hm)->bucket_count,
                   tc_metrics_default_bucket_count);
  h.buckets = tc_metrics_default_buckets;
  h.bucket_count = tc_metrics_default_bucket_count;
  assert_ptr_equal(tc_metrics_register(r, &h, &err), hm);
  const double one[] = {1};
  h.buckets = one;
  h.bucket_count = 1;
  expect_refused(r, &h, "different buckets");
  tc_metrics_registry_free(r);
}

/* Collects "name{v1,v2}=value" lines. */
struct collect {
  char text[4096];
  int stop_after; /* stop the walk after this many samples (0 = never) */
  int seen;
  struct tc_metric *update; /* updated from inside the visitor */
};

static int collect_fn(void *ud, const struct tc_metric_sample *s) {
  struct collect *c = ud;
  size_t n = strlen(c->text);
  char labels[256] = "";
  for (size_t i = 0; s->desc->label_names && s->desc->label_names[i]; i++) {
    size_t l = strlen(labels);
    snprintf(labels + l, sizeof(labels) - l, "%s%s", i ? "," : "",
             s->label_values[i]);
  }
  if (s->desc->kind == TC_METRIC_HISTOGRAM) {
    snprintf(c->text + n, sizeof(c->text) - n, "%s{%s}=n%llu,s%g,b",
             s->desc->name, labels, (unsigned long long)s->count, s->sum);
    for (size_t b = 0; b <= s->desc->bucket_count; b++) {
      n = strlen(c->text);
      snprintf(c->text + n, sizeof(c->text) - n, "%s%llu", b ? "/" : "",
               (unsigned long long)s->bucket_counts[b]);
    }
    n = strlen(c->text);
    snprintf(c->text + n, sizeof(c->text) - n, " ");
  } else {
    snprintf(c->text + n, sizeof(c->text) - n, "%s{%s}=%g ", s->desc->name,
             labels, s->value);
  }
  if (c->update != NULL)
    tc_metric_add(c->update, NULL, 1);
  c->seen++;
  return c->stop_after && c->seen >= c->stop_after ? TC_ECANCELED : TC_OK;
}

static void test_updates_and_visit_order(void **state) {
  struct tc_metrics_registry *r = tc_metrics_registry_new();
  const char *const labels[] = {"ch", "code", NULL};
  struct tc_metric_desc cd = desc("c_total", TC_METRIC_COUNTER, labels);
  struct tc_metric_desc gd = desc("g", TC_METRIC_GAUGE, NULL);
  const double bounds[] = {1, 5};
  struct tc_metric_desc hd = desc("h", TC_METRIC_HISTOGRAM, NULL);
  hd.buckets = bounds;
  hd.bucket_count = 2;
  struct tc_metric *c = tc_metrics_register(r, &cd, NULL);
  struct tc_metric *g = tc_metrics_register(r, &gd, NULL);
  struct tc_metric *h = tc_metrics_register(r, &hd, NULL);
  assert_non_null(c);
  assert_non_null(g);
  assert_non_null(h);

  struct collect col;
  memset(&col, 0, sizeof(col));
  assert_int_equal(tc_metrics_visit(r, collect_fn, &col), TC_OK);
  /* Label-less families exist from registration on; labelled series only
   * after their first update. */
  assert_string_equal(col.text, "g{}=0 h{}=n0,s0,b0/0/0 ");

  const char *const b200[] = {"b", "200"};
  const char *const a500[] = {"a", "500"};
  tc_metric_add(c, b200, 2);
  tc_metric_add(c, a500, 1);
  tc_metric_add(c, b200, 0.5);
  tc_metric_add(c, b200, -3);    /* counters never decrease */
  tc_metric_set(c, a500, 0.5);   /* ... not even through set */
  tc_metric_set(c, a500, 4);     /* but may be set forward */
  tc_metric_observe(c, b200, 1); /* wrong kind: ignored */
  tc_metric_set(g, NULL, 7);
  tc_metric_add(g, NULL, -9);
  tc_metric_observe(h, NULL, 0.5);
  tc_metric_observe(h, NULL, 1); /* le is inclusive */
  tc_metric_observe(h, NULL, 3);
  tc_metric_observe(h, NULL, 100);
  tc_metric_add(h, NULL, 1);    /* wrong kind: ignored */
  tc_metric_add(NULL, NULL, 1); /* no-op */

  memset(&col, 0, sizeof(col));
  assert_int_equal(tc_metrics_visit(r, collect_fn, &col), TC_OK);
  assert_string_equal(col.text, "c_total{b,200}=2.5 c_total{a,500}=4 g{}=-2 "
                                "h{}=n4,s104.5,b2/3/4 ");

  /* Stopping early returns the visitor's code. */
  memset(&col, 0, sizeof(col));
  col.stop_after = 2;
  assert_int_equal(tc_metrics_visit(r, collect_fn, &col), TC_ECANCELED);
  assert_int_equal(col.seen, 2);

  /* A visitor may update metrics (no lock is held while it runs). */
  memset(&col, 0, sizeof(col));
  col.update = g;
  assert_int_equal(tc_metrics_visit(r, collect_fn, &col), TC_OK);
  assert_int_equal(col.seen, 4);
  tc_metrics_registry_free(r);
}

static void test_series_cap(void **state) {
  struct tc_metrics_registry *r = tc_metrics_registry_new();
  const char *const labels[] = {"id", NULL};
  struct tc_metric_desc d = desc("capped", TC_METRIC_GAUGE, labels);
  struct tc_metric *m = tc_metrics_register(r, &d, NULL);
  char v[32];
  for (int i = 0; i < TC_METRICS_MAX_SERIES + 5; i++) {
    snprintf(v, sizeof(v), "%d", i);
    const char *const vals[] = {v};
    tc_metric_set(m, vals, 1);
  }
  struct collect col;
  memset(&col, 0, sizeof(col));
  tc_metrics_visit(r, collect_fn, &col);
  assert_int_equal(col.seen, TC_METRICS_MAX_SERIES);
  /* Existing series still update at the cap. */
  const char *const first[] = {"0"};
  tc_metric_set(m, first, 3);
  tc_metrics_registry_free(r);
}

/* ---- concurrency -----------------------------------------------------------
 */

#define MT_THREADS 8
#define MT_ITERS 20000

struct mt_ctx {
  struct tc_metrics_registry *r;
  struct tc_metric *c, *h;
  volatile int stop;
  pthread_mutex_t lock;
};

static void *mt_worker(void *arg) {
  struct mt_ctx *ctx = arg;
  char label[16];
  for (int i = 0; i < MT_ITERS; i++) {
    snprintf(label, sizeof(label), "ch%d", i % 3);
    const char *const vals[] = {label};
    tc_metric_add(ctx->c, vals, 1);
    tc_metric_observe(ctx->h, NULL, (double)(i % 10));
  }
  return NULL;
}

static int mt_count(void *ud, const struct tc_metric_sample *s) {
  (*(int *)ud)++;
  return TC_OK;
}

static void *mt_visitor(void *arg) {
  struct mt_ctx *ctx = arg;
  for (;;) {
    pthread_mutex_lock(&ctx->lock);
    int stop = ctx->stop;
    pthread_mutex_unlock(&ctx->lock);
    if (stop)
      break;
    int n = 0;
    tc_metrics_visit(ctx->r, mt_count, &n);
    /* Registration from another thread while updates run. */
    struct tc_metric_desc d = desc("late_gauge", TC_METRIC_GAUGE, NULL);
    tc_metric_set(tc_metrics_register(ctx->r, &d, NULL), NULL, n);
  }
  return NULL;
}

struct mt_sum {
  double counter_total;
  uint64_t hist_count;
  double hist_sum;
};

static int mt_sum_fn(void *ud, const struct tc_metric_sample *s) {
  struct mt_sum *m = ud;
  if (strcmp(s->desc->name, "mt_total") == 0)
    m->counter_total += s->value;
  if (strcmp(s->desc->name, "mt_hist") == 0) {
    m->hist_count = s->count;
    m->hist_sum = s->sum;
    assert_int_equal(s->bucket_counts[s->desc->bucket_count], s->count);
  }
  return TC_OK;
}

static void test_concurrent_updates(void **state) {
  struct mt_ctx ctx;
  memset(&ctx, 0, sizeof(ctx));
  pthread_mutex_init(&ctx.lock, NULL);
  ctx.r = tc_metrics_registry_new();
  const char *const labels[] = {"channel", NULL};
  struct tc_metric_desc cd = desc("mt_total", TC_METRIC_COUNTER, labels);
  struct tc_metric_desc hd = desc("mt_hist", TC_METRIC_HISTOGRAM, NULL);
  ctx.c = tc_metrics_register(ctx.r, &cd, NULL);
  ctx.h = tc_metrics_register(ctx.r, &hd, NULL);
  pthread_t workers[MT_THREADS], visitor;
  assert_int_equal(pthread_create(&visitor, NULL, mt_visitor, &ctx), 0);
  for (int i = 0; i < MT_THREADS; i++)
    assert_int_equal(pthread_create(&workers[i], NULL, mt_worker, &ctx), 0);
  for (int i = 0; i < MT_THREADS; i++)
    pthread_join(workers[i], NULL);
  pthread_mutex_lock(&ctx.lock);
  ctx.stop = 1;
  pthread_mutex_unlock(&ctx.lock);
  pthread_join(visitor, NULL);

  struct mt_sum sum = {0, 0, 0};
  tc_metrics_visit(ctx.r, mt_sum_fn, &sum);
  assert_true(sum.counter_total == (double)MT_THREADS * MT_ITERS);
  assert_int_equal(sum.hist_count, (uint64_t)MT_THREADS * MT_ITERS);
  /* Each thread observes 0..9 repeatedly: 45 per 10 iterations. */
  assert_true(sum.hist_sum == (double)MT_THREADS * (MT_ITERS / 10) * 45);
  tc_metrics_registry_free(ctx.r);
  pthread_mutex_destroy(&ctx.lock);
}

static void test_global_registry(void **state) {
  struct tc_metrics_registry *g = tc_metrics_registry_global();
  assert_non_null(g);
  assert_ptr_equal(tc_metrics_registry_global(), g);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_register_validation),
      cmocka_unit_test(test_reregistration),
      cmocka_unit_test(test_updates_and_visit_order),
      cmocka_unit_test(test_series_cap),
      cmocka_unit_test(test_concurrent_updates),
      cmocka_unit_test(test_global_registry),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
