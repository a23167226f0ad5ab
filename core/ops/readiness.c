/* ops/readiness.c — the startup probe runner and the /readyz verdict (see
 * readiness.h). */
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
  size_t channels;
  atomic_bool *probed; /* per channel: startup probe finished */
  pthread_mutex_t mu;
  pthread_cond_t cond; /* runner finished */
  bool finished;       /* guarded by mu */
  pthread_t thread;
  bool started;
};

int tc_readiness_new(struct tc_readiness **out, const struct tc_registry *reg,
                     struct tc_dispatcher *d) {
  *out = NULL;
  struct tc_readiness *r = calloc(1, sizeof(*r));
  if (r == NULL)
    return -1;
  r->reg = reg;
  r->disp = d;
  r->channels = tc_dispatcher_channel_count(d);
  r->probed = calloc(r->channels ? r->channels : 1, sizeof(*r->probed));
  if (r->probed == NULL) {
    free(r);
    return -1;
  }
  for (size_t i = 0; i < r->channels; i++)
    atomic_init(&r->probed[i], false);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_mutex_init(&r->mu, NULL);
  pthread_cond_init(&r->cond, &ca);
  pthread_condattr_destroy(&ca);
  *out = r;
  return 0;
}

static void *runner_main(void *arg) {
  struct tc_readiness *r = arg;
  for (size_t i = 0; i < r->channels; i++) {
    struct tc_dispatch_channel_info info;
    tc_dispatcher_channel_info(r->disp, i, &info);
    char *detail = NULL;
    int rc = tc_dispatcher_channel_probe(r->disp, i, &detail);
    if (rc != TC_ENOTSUP) {
      const char *what = rc == TC_OK      ? "mcp startup probe ok"
                         : rc == TC_AGAIN ? "mcp startup probe still pending"
                                          : "mcp startup probe failed";
      tc_log(rc < 0 ? TC_LOG_WARN : TC_LOG_INFO, "mcpclient", what, "channel",
             info.name, "detail", detail != NULL ? detail : tc_strerror(rc),
             NULL);
    }
    free(detail);
    atomic_store(&r->probed[i], true);
  }
  pthread_mutex_lock(&r->mu);
  r->finished = true;
  pthread_cond_broadcast(&r->cond);
  pthread_mutex_unlock(&r->mu);
  return NULL;
}

int tc_readiness_start_probes(struct tc_readiness *r, char **err) {
  int rc = pthread_create(&r->thread, NULL, runner_main, r);
  if (rc != 0) {
    if (asprintf(err, "cannot start the startup probe thread: %s",
                 strerror(rc)) < 0)
      *err = NULL;
    return -1;
  }
  r->started = true;
  return 0;
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
  pthread_mutex_lock(&r->mu);
  while (!r->finished && r->started) {
    if (pthread_cond_timedwait(&r->cond, &r->mu, &until) == ETIMEDOUT)
      break;
  }
  bool done = r->finished;
  pthread_mutex_unlock(&r->mu);
  return done;
}

bool tc_readiness_channel_probed(struct tc_readiness *r, size_t i) {
  return r != NULL && i < r->channels && atomic_load(&r->probed[i]);
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

static int check_channels(struct tc_readiness *r,
                          struct tc_readiness_verdict *v,
                          struct tc_sbuf *notes) {
  for (size_t i = 0; i < r->channels; i++) {
    char *detail = NULL;
    int rc = tc_dispatcher_channel_probe(r->disp, i, &detail);
    if (rc == TC_ENOTSUP) {
      free(detail);
      continue;
    }
    if (rc == TC_OK) {
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
      text = rc == TC_AGAIN ? strdup("mcp startup probe pending")
                            : fmt("mcp probe failed: %s", tc_strerror(rc));
    if (add_reason(v, text) != 0)
      return -1;
  }
  return 0;
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
  bool probes_done = true;
  if (rc == 0) {
    pthread_mutex_lock(&r->mu);
    probes_done = r->finished;
    pthread_mutex_unlock(&r->mu);
    if (!probes_done)
      rc = add_reason(v, strdup("mcp startup probe pending"));
    else
      rc = check_channels(r, v, &notes);
  }
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
  if (r->started)
    pthread_join(r->thread, NULL);
  pthread_cond_destroy(&r->cond);
  pthread_mutex_destroy(&r->mu);
  free(r->probed);
  free(r);
}
