/* dispatch/dispatcher.c — lifecycle: transports, queue, worker pool, drain.
 *
 * Workers pop commands until the queue is closed and empty. Drain closes
 * the queue, waits up to the grace for every worker to exit, then raises
 * env.cancel_all: in-flight calls see is_canceled() and still-queued
 * commands are answered without running (see command_exec.c), after which
 * the workers are joined. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dispatch/dispatch_internal.h"
#include "ops/core_metrics.h"
#include "tc/errors.h"
#include "util/log.h"

struct tc_dispatcher {
  struct tc_dispatch_queue queue;
  struct tc_dispatch_routes routes;
  struct tc_dispatch_env env;
  struct tc_dispatch_recent recent; /* request ids already submitted */
  pthread_t *threads;
  size_t thread_count;
  pthread_mutex_t mu;     /* guards live */
  pthread_cond_t all_out; /* live dropped to 0 */
  size_t live;            /* workers that have not finished their loop */
  int drained;            /* main thread only */
};

static void *worker_main(void *arg) {
  struct tc_dispatcher *d = arg;
  struct tc_dispatch_item it;
  const struct tc_core_metrics *m = tc_core_metrics();
  while (tc_dispatch_queue_pop(&d->queue, &it) == 0) {
    tc_metric_add(m->queue_depth, NULL, -1);
    tc_metric_add(m->workers_busy, NULL, 1);
    int aborting = atomic_load(&d->env.cancel_all) != 0;
    tc_dispatch_exec(&d->env, &it.cmd, it.receipt_ns, aborting);
    tc_cp_command_clear(&it.cmd);
    tc_metric_add(m->workers_busy, NULL, -1);
  }
  pthread_mutex_lock(&d->mu);
  if (--d->live == 0)
    pthread_cond_broadcast(&d->all_out);
  pthread_mutex_unlock(&d->mu);
  return NULL;
}

static const char *cmd_type_name(enum tc_cp_command_type t) {
  switch (t) {
  case TC_CP_CMD_JSONRPC:
    return "jsonrpc";
  case TC_CP_CMD_SESSION_TERMINATION:
    return "session_termination";
  case TC_CP_CMD_OAUTH_DISCOVERY:
    return "oauth_discovery";
  }
  return "unknown";
}

static char *oom(void) {
  return strdup("dispatcher: out of memory");
}

static void join_all(struct tc_dispatcher *d) {
  for (size_t i = 0; i < d->thread_count; i++)
    pthread_join(d->threads[i], NULL);
  d->thread_count = 0;
}

int tc_dispatcher_new(struct tc_dispatcher **out, const struct tc_config *cfg,
                      struct tc_registry *reg,
                      const struct tc_dispatch_poster *poster, char **err) {
  *out = NULL;
  if (poster == NULL || poster->post == NULL) {
    *err = strdup("dispatcher: no response poster given (internal error)");
    return -1;
  }
  struct tc_dispatcher *d = calloc(1, sizeof(*d));
  if (d == NULL) {
    *err = oom();
    return -1;
  }
  size_t cap = cfg->cp_max_inflight > 0 ? (size_t)cfg->cp_max_inflight : 20;
  size_t workers =
      cfg->mcp_max_concurrent > 0 ? (size_t)cfg->mcp_max_concurrent : 10;
  tc_dispatch_recent_init(&d->recent);
  if (tc_dispatch_queue_init(&d->queue, cap) != 0) {
    tc_dispatch_recent_destroy(&d->recent);
    free(d);
    *err = oom();
    return -1;
  }
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_mutex_init(&d->mu, NULL);
  pthread_cond_init(&d->all_out, &ca);
  pthread_condattr_destroy(&ca);
  d->env.routes = &d->routes;
  d->env.reg = reg;
  d->env.poster = *poster;
  atomic_init(&d->env.cancel_all, 0);
  if (tc_dispatch_routes_open(&d->routes, cfg, reg, err) != 0)
    goto fail;
  d->threads = calloc(workers, sizeof(*d->threads));
  if (d->threads == NULL) {
    *err = oom();
    goto fail;
  }
  for (size_t i = 0; i < workers; i++) {
    pthread_mutex_lock(&d->mu);
    d->live++;
    pthread_mutex_unlock(&d->mu);
    int rc = pthread_create(&d->threads[i], NULL, worker_main, d);
    if (rc != 0) {
      pthread_mutex_lock(&d->mu);
      d->live--;
      pthread_mutex_unlock(&d->mu);
      char buf[160];
      snprintf(buf, sizeof(buf),
               "dispatcher: cannot start worker thread %zu of %zu: %s "
               "(lower mcp.max_concurrent_requests)",
               i + 1, workers, strerror(rc));
      *err = strdup(buf);
      tc_dispatch_queue_close(&d->queue);
      join_all(d);
      goto fail;
    }
    d->thread_count = i + 1;
  }
  tc_logf(TC_LOG_DEBUG, "dispatcher", "started %zu workers, %zu queue slots",
          workers, cap);
  tc_metric_set(tc_core_metrics()->workers, NULL, (double)workers);
  tc_metric_set(tc_core_metrics()->queue_capacity, NULL, (double)cap);
  *out = d;
  return 0;
fail:
  tc_dispatch_routes_close(&d->routes);
  free(d->threads);
  pthread_cond_destroy(&d->all_out);
  pthread_mutex_destroy(&d->mu);
  tc_dispatch_queue_destroy(&d->queue);
  tc_dispatch_recent_destroy(&d->recent);
  free(d);
  return -1;
}

size_t tc_dispatcher_free_slots(struct tc_dispatcher *d) {
  return tc_dispatch_queue_free_slots(&d->queue);
}

int tc_dispatcher_wait_slot(struct tc_dispatcher *d, int timeout_ms) {
  return tc_dispatch_queue_wait_slot(&d->queue, timeout_ms);
}

int tc_dispatcher_submit(struct tc_dispatcher *d, struct tc_cp_command *cmd,
                         uint64_t receipt_ns) {
  if (cmd == NULL)
    return -1;
  /* The labels are copied first: once queued, a worker owns the command. */
  char channel[72];
  snprintf(channel, sizeof(channel), "%s",
           cmd->channel[0] != '\0' ? cmd->channel : "main");
  const char *type = cmd_type_name(cmd->type);
  /* A request id submitted recently is a duplicate delivery: drop it, so
   * it runs and is answered once. Recorded only once actually queued. */
  uint64_t h =
      cmd->request_id != NULL ? tc_dispatch_recent_hash(cmd->request_id) : 0;
  pthread_mutex_lock(&d->recent.mu);
  if (h != 0 && tc_dispatch_recent_seen_locked(&d->recent, h)) {
    pthread_mutex_unlock(&d->recent.mu);
    tc_log(TC_LOG_WARN, "dispatcher",
           "command delivered twice; running it once", "request_id",
           cmd->request_id, NULL);
    tc_cp_command_clear(cmd);
    return 0;
  }
  int rc = tc_dispatch_queue_push(&d->queue, cmd, receipt_ns);
  if (rc == 0 && h != 0)
    tc_dispatch_recent_add_locked(&d->recent, h);
  pthread_mutex_unlock(&d->recent.mu);
  if (rc != 0)
    return -1;
  const struct tc_core_metrics *m = tc_core_metrics();
  const char *labels[] = {channel, type};
  tc_metric_add(m->commands_received, labels, 1);
  tc_metric_add(m->queue_depth, NULL, 1);
  return 0;
}

size_t tc_dispatcher_channel_count(const struct tc_dispatcher *d) {
  return d != NULL ? d->routes.count : 0;
}

int tc_dispatcher_channel_info(struct tc_dispatcher *d, size_t i,
                               struct tc_dispatch_channel_info *out) {
  memset(out, 0, sizeof(*out));
  if (d == NULL || i >= d->routes.count)
    return -1;
  struct tc_dispatch_route *r = &d->routes.items[i];
  out->name = r->channel;
  out->transport = r->vt != NULL ? r->vt->name : "";
  out->binding = &r->binding;
  out->in_flight = (uint64_t)atomic_load(&r->in_flight);
  out->requests_total = (uint64_t)atomic_load(&r->requests_total);
  out->errors_total = (uint64_t)atomic_load(&r->errors_total);
  out->has_probe = r->vt != NULL && r->vt->probe != NULL;
  pthread_mutex_lock(&r->stat_mu);
  snprintf(out->last_error, sizeof(out->last_error), "%s", r->last_error);
  pthread_mutex_unlock(&r->stat_mu);
  return 0;
}

int tc_dispatcher_channel_probe(struct tc_dispatcher *d, size_t i,
                                char **detail) {
  *detail = NULL;
  if (d == NULL || i >= d->routes.count)
    return TC_EINVAL;
  struct tc_dispatch_route *r = &d->routes.items[i];
  if (r->vt == NULL || r->vt->probe == NULL || !r->started)
    return TC_ENOTSUP;
  return r->vt->probe(r->inst, detail);
}

void tc_dispatcher_drain(struct tc_dispatcher *d, int64_t grace_ms) {
  if (d == NULL || d->drained)
    return;
  d->drained = 1;
  tc_dispatch_queue_close(&d->queue);
  if (grace_ms < 0)
    grace_ms = 0;
  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_sec += (time_t)(grace_ms / 1000);
  until.tv_nsec += (long)(grace_ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&d->mu);
  while (d->live > 0) {
    if (pthread_cond_timedwait(&d->all_out, &d->mu, &until) == ETIMEDOUT)
      break;
  }
  size_t left = d->live;
  pthread_mutex_unlock(&d->mu);
  if (left > 0) {
    tc_logf(TC_LOG_WARN, "dispatcher",
            "shutdown grace of %lld ms ran out; canceling in-flight commands",
            (long long)grace_ms);
    atomic_store(&d->env.cancel_all, 1);
  }
  join_all(d);
}

void tc_dispatcher_free(struct tc_dispatcher *d) {
  if (d == NULL)
    return;
  tc_dispatcher_drain(d, 0);
  tc_dispatch_routes_close(&d->routes);
  free(d->threads);
  pthread_cond_destroy(&d->all_out);
  pthread_mutex_destroy(&d->mu);
  tc_dispatch_queue_destroy(&d->queue);
  tc_dispatch_recent_destroy(&d->recent);
  free(d);
}
