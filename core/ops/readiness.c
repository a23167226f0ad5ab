/* ops/readiness.c — the startup probe runner and the /readyz verdict (see
 * readiness.h).
 *
 * The runner works on views of the dispatcher's channels (dispatcher.h): it
 * probes every instance whose startup probe has not run, marks it probed
 * (the mark lives on the instance, so a channel a reload keeps is not
 * probed again), and sleeps until tc_readiness_probe_new() wakes it after
 * a reload. "Startup probes finished" means: every channel of the current
 * view is marked. */
#include "ops/readiness.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dispatch/dispatcher.h"
#include "loader/loader.h"
#include "ops/core_metrics.h"
#include "ops/cp_status.h"
#include "tc/errors.h"
#include "tc/hook.h"
#include "util/log.h"
#include "util/sbuf.h"

struct tc_readiness {
  const struct tc_registry *reg;
  struct tc_dispatcher *disp;
  pthread_mutex_t mu;
  pthread_cond_t work; /* the runner: a new pass was asked for, or stop */
  pthread_cond_t done; /* waiters: a probe finished */
  unsigned pending;    /* passes asked for; guarded by mu */
  bool stopping;       /* guarded by mu */
  pthread_t thread;
  atomic_bool started; /* the runner exists (set before the ops listener) */
};

int tc_readiness_new(struct tc_readiness **out, const struct tc_registry *reg,
                     struct tc_dispatcher *d) {
  *out = NULL;
  struct tc_readiness *r = calloc(1, sizeof(*r));
  if (r == NULL)
    return -1;
  r->reg = reg;
  r->disp = d;
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_mutex_init(&r->mu, NULL);
  pthread_cond_init(&r->work, &ca);
  pthread_cond_init(&r->done, &ca);
  pthread_condattr_destroy(&ca);
  atomic_init(&r->started, false);
  *out = r;
  return 0;
}

/* 1 when every channel of the current view had its startup probe. */
static bool all_probed(struct tc_readiness *r) {
  struct tc_dispatch_routes *v = tc_dispatcher_view(r->disp);
  bool all = true;
  for (size_t i = 0; all && i < tc_dispatch_view_count(v); i++) {
    struct tc_dispatch_channel_info info;
    all = tc_dispatch_view_info(v, i, &info) == 0 && info.probed;
  }
  tc_dispatch_view_release(v);
  return all;
}

/* One pass over the current view: probe what was never probed. */
static void probe_pass(struct tc_readiness *r) {
  struct tc_dispatch_routes *v = tc_dispatcher_view(r->disp);
  for (size_t i = 0; i < tc_dispatch_view_count(v); i++) {
    struct tc_dispatch_channel_info info;
    if (tc_dispatch_view_info(v, i, &info) != 0 || info.probed)
      continue;
    char *detail = NULL;
    int rc = tc_dispatch_view_probe(v, i, &detail);
    if (rc != TC_ENOTSUP) {
      const char *what = rc == TC_OK      ? "mcp startup probe ok"
                         : rc == TC_AGAIN ? "mcp startup probe still pending"
                                          : "mcp startup probe failed";
      tc_log(rc < 0 ? TC_LOG_WARN : TC_LOG_INFO, "mcpclient", what, "channel",
             info.name, "detail", detail != NULL ? detail : tc_strerror(rc),
             NULL);
    }
    free(detail);
    tc_dispatch_view_mark_probed(v, i);
    pthread_mutex_lock(&r->mu);
    pthread_cond_broadcast(&r->done);
    pthread_mutex_unlock(&r->mu);
  }
  tc_dispatch_view_release(v);
}

static void *runner_main(void *arg) {
  struct tc_readiness *r = arg;
  pthread_mutex_lock(&r->mu);
  for (;;) {
    while (r->pending == 0 && !r->stopping)
      pthread_cond_wait(&r->work, &r->mu);
    if (r->stopping)
      break;
    r->pending = 0;
    pthread_mutex_unlock(&r->mu);
    probe_pass(r);
    pthread_mutex_lock(&r->mu);
    pthread_cond_broadcast(&r->done);
  }
  pthread_mutex_unlock(&r->mu);
  return NULL;
}

int tc_readiness_start_probes(struct tc_readiness *r, char **err) {
  r->pending = 1;
  int rc = pthread_create(&r->thread, NULL, runner_main, r);
  if (rc != 0) {
    if (asprintf(err, "cannot start the startup probe thread: %s",
                 strerror(rc)) < 0)
      *err = NULL;
    return -1;
  }
  atomic_store(&r->started, true);
  return 0;
}

void tc_readiness_probe_new(struct tc_readiness *r) {
  if (r == NULL)
    return;
  pthread_mutex_lock(&r->mu);
  r->pending++;
  pthread_cond_signal(&r->work);
  pthread_mutex_unlock(&r->mu);
}

bool tc_readiness_wait_probes(struct tc_readiness *r, int timeout_ms) {
  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_sec += timeout_ms / 1000;
  until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  for (;;) {
    if (all_probed(r))
      return true;
    pthread_mutex_lock(&r->mu);
    /* A probe that finished between the check and here broadcast before
     * we waited: bound each wait so it is seen on the next round. */
    struct timespec slice;
    clock_gettime(CLOCK_MONOTONIC, &slice);
    slice.tv_nsec += 50 * 1000000L;
    if (slice.tv_nsec >= 1000000000L) {
      slice.tv_sec++;
      slice.tv_nsec -= 1000000000L;
    }
    bool last = slice.tv_sec > until.tv_sec || (slice.tv_sec == until.tv_sec &&
                                                slice.tv_nsec >= until.tv_nsec);
    int rc = pthread_cond_timedwait(&r->done, &r->mu, last ? &until : &slice);
    pthread_mutex_unlock(&r->mu);
    if (last && rc == ETIMEDOUT)
      return all_probed(r);
  }
}

/* Append a reason (takes ownership); -1 on ENOMEM. */
static int add_reason(struct tc_readiness_verdict *v, char *reason) {
  if (reason == NULL)
    return -1;
  char **n = realloc(v->reasons, (v->reason_count + 1) * sizeof(*n));
  if (n == NULL) {
    free(reason);
    return -1;
  }
  v->reasons = n;
  v->reasons[v->reason_count++] = reason;
  return 0;
}

static char *fmt(const char *f, ...) TC_PRINTF(1, 2);
static char *fmt(const char *f, ...) {
  va_list ap;
  va_start(ap, f);
  char *s = NULL;
  if (vasprintf(&s, f, ap) < 0)
    s = NULL;
  va_end(ap);
  return s;
}

static int check_hooks(const struct tc_registry *reg,
                       struct tc_readiness_verdict *v) {
  for (size_t i = 0; reg != NULL && i < reg->hook_count; i++) {
    const struct tc_registered_hook *h = &reg->hooks[i];
    if (h->vt == NULL || h->vt->readiness == NULL || !h->started)
      continue;
    char *reason = NULL;
    int rc = h->vt->readiness(h->inst, &reason);
    if (rc == TC_OK || rc == TC_DECLINED) {
      free(reason);
      continue;
    }
    char *text =
        reason != NULL
            ? reason
            : fmt(rc == TC_AGAIN ? "%s pending" : "%s not ready", h->vt->name);
    if (add_reason(v, text) != 0)
      return -1;
  }
  return 0;
}

/* Stages 2 and 3 on one view, so a reload between them cannot mix sets. */
static int check_channels(struct tc_readiness *r,
                          struct tc_readiness_verdict *v,
                          struct tc_sbuf *notes) {
  struct tc_dispatch_routes *view = tc_dispatcher_view(r->disp);
  size_t n = tc_dispatch_view_count(view);
  int rc = 0;
  bool probes_done = atomic_load(&r->started);
  for (size_t i = 0; probes_done && i < n; i++) {
    struct tc_dispatch_channel_info info;
    probes_done = tc_dispatch_view_info(view, i, &info) == 0 && info.probed;
  }
  if (!probes_done) {
    rc = add_reason(v, strdup("mcp startup probe pending"));
    n = 0;
  }
  for (size_t i = 0; rc == 0 && i < n; i++) {
    char *detail = NULL;
    int prc = tc_dispatch_view_probe(view, i, &detail);
    if (prc == TC_ENOTSUP) {
      free(detail);
      continue;
    }
    if (prc == TC_OK) {
      if (detail != NULL && detail[0] != '\0') {
        if (notes->len > 0)
          tc_sbuf_puts(notes, "; ");
        tc_sbuf_puts(notes, detail);
      }
      free(detail);
      continue;
    }
    char *text = detail;
    if (text == NULL)
      text = prc == TC_AGAIN ? strdup("mcp startup probe pending")
                             : fmt("mcp probe failed: %s", tc_strerror(prc));
    rc = add_reason(v, text);
  }
  tc_dispatch_view_release(view);
  return rc;
}

static int check_control_plane(struct tc_readiness_verdict *v) {
  struct tc_cp_status st;
  tc_cp_status_get(&st);
  if (!st.reached)
    return add_reason(v,
                      fmt("control plane not reached: %s",
                          st.last_error[0] ? st.last_error : "no answer yet"));
  bool oom = false;
  char *refusal = tc_cp_status_refusal(&st, &oom);
  if (oom)
    return -1;
  return refusal != NULL ? add_reason(v, refusal) : 0;
}

int tc_readiness_check(struct tc_readiness *r, struct tc_readiness_verdict *v) {
  memset(v, 0, sizeof(*v));
  struct tc_sbuf notes = TC_SBUF_INIT;
  int rc = check_hooks(r->reg, v);
  if (rc == 0)
    rc = check_channels(r, v, &notes);
  if (rc == 0)
    rc = check_control_plane(v);
  char *note = tc_sbuf_finish(&notes);
  if (rc == 0 && note == NULL)
    rc = -1;
  if (rc == 0) {
    v->ready = v->reason_count == 0;
    if (!v->ready)
      v->text = strdup(v->reasons[0]);
    else if (note[0] != '\0')
      v->text = fmt("ready (%s)", note);
    else
      v->text = strdup("ready");
    if (v->text == NULL)
      rc = -1;
  }
  free(note);
  if (rc != 0) {
    tc_readiness_verdict_clear(v);
    return -1;
  }
  tc_metric_set(tc_core_metrics()->ready, NULL, v->ready ? 1 : 0);
  return 0;
}

void tc_readiness_verdict_clear(struct tc_readiness_verdict *v) {
  for (size_t i = 0; i < v->reason_count; i++)
    free(v->reasons[i]);
  free(v->reasons);
  free(v->text);
  memset(v, 0, sizeof(*v));
}

void tc_readiness_free(struct tc_readiness *r) {
  if (r == NULL)
    return;
  if (atomic_load(&r->started)) {
    pthread_mutex_lock(&r->mu);
    r->stopping = true;
    pthread_cond_signal(&r->work);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
  }
  pthread_cond_destroy(&r->work);
  pthread_cond_destroy(&r->done);
  pthread_mutex_destroy(&r->mu);
  free(r);
}
