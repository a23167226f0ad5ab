/* dispatch/dispatcher.c — lifecycle: queue, worker pool, drain (the
 * channel sets and their transports are in reload.c).
 *
 * The pool grows on demand up to mcp.max_concurrent_requests: it starts
 * with a couple of workers, and submit() starts another whenever more
 * commands are queued than workers are waiting (a thread start costs far
 * less than a command). An idle agent so holds few threads and stacks, and
 * starts faster. Workers never exit before drain.
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
#include "dispatch/reply_budget.h"
#include "ops/core_metrics.h"
#include "tc/errors.h"
#include "util/child_env.h"
#include "util/log.h"

extern char **environ;

/* Workers started with the dispatcher; the rest start on demand. */
#define TC_DISPATCH_INITIAL_WORKERS 2

static void *worker_main(void *arg) {
  struct tc_dispatcher *d = arg;
  struct tc_dispatch_item it;
  const struct tc_core_metrics *m = tc_core_metrics();
  for (;;) {
    atomic_fetch_add(&d->idle, 1);
    int rc = tc_dispatch_queue_pop(&d->queue, &it);
    atomic_fetch_sub(&d->idle, 1);
    if (rc != 0)
      break;
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
  pthread_mutex_lock(&d->mu);
  d->no_spawn = 1;
  size_t n = d->thread_count;
  pthread_mutex_unlock(&d->mu);
  for (size_t i = 0; i < n; i++)
    pthread_join(d->threads[i], NULL);
  d->thread_count = 0;
}

/* Start one more worker; the caller holds d->mu. 0 or the pthread error. */
static int spawn_worker_locked(struct tc_dispatcher *d) {
  d->live++;
  int rc = pthread_create(&d->threads[d->thread_count], NULL, worker_main, d);
  if (rc != 0) {
    d->live--;
    return rc;
  }
  d->thread_count++;
  tc_metric_set(tc_core_metrics()->workers, NULL, (double)d->thread_count);
  return 0;
}

/* After a push: start a worker when more commands wait than workers do. */
static void grow_if_needed(struct tc_dispatcher *d) {
  pthread_mutex_lock(&d->mu);
  size_t queued = d->queue_cap - tc_dispatch_queue_free_slots(&d->queue);
  if (!d->no_spawn && d->thread_count < d->thread_max &&
      queued > atomic_load(&d->idle)) {
    int rc = spawn_worker_locked(d);
    if (rc != 0)
      tc_logf(TC_LOG_WARN, "dispatcher",
              "cannot start worker thread %zu of %zu: %s (the running "
              "workers carry on; lower mcp.max_concurrent_requests)",
              d->thread_count + 1, d->thread_max, strerror(rc));
  }
  pthread_mutex_unlock(&d->mu);
}

/* Say once which variables stdio children start without (names only). */
static void log_withheld_env(const struct tc_config *cfg) {
  int spawns = 0;
  for (size_t i = 0; i < cfg->binding_count; i++)
    spawns |= cfg->bindings[i].command != NULL;
  if (!spawns)
    return;
  char *dropped = tc_child_env_dropped(environ, cfg->mcp_command_pass_env,
                                       cfg->mcp_command_pass_env_count);
  if (dropped != NULL && dropped[0] != '\0')
    tc_log(TC_LOG_INFO, "dispatcher",
           "MCP server processes start without the agent's secret variables "
           "(pass one with --mcp.command-pass-env NAME)",
           "withheld", dropped, NULL);
  free(dropped);
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
  tc_reply_budget_configure(cfg->mcp_max_inflight_reply_bytes > 0
                                ? (uint64_t)cfg->mcp_max_inflight_reply_bytes
                                : 0);
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
  tc_published_init(&d->routes, NULL);
  d->reg = reg;
  d->env.routes = &d->routes;
  d->env.reg = reg;
  d->env.poster = *poster;
  atomic_init(&d->env.cancel_all, 0);
  atomic_init(&d->idle, 0);
  struct tc_dispatch_plan *plan = NULL;
  if (tc_dispatcher_plan(d, cfg, &plan, err) != 0)
    goto fail;
  tc_dispatcher_commit(d, plan);
  tc_dispatch_plan_free(plan);
  log_withheld_env(cfg);
  d->threads = calloc(workers, sizeof(*d->threads));
  if (d->threads == NULL) {
    *err = oom();
    goto fail;
  }
  d->thread_max = workers;
  d->queue_cap = cap;
  size_t initial = workers < TC_DISPATCH_INITIAL_WORKERS
                       ? workers
                       : TC_DISPATCH_INITIAL_WORKERS;
  for (size_t i = 0; i < initial; i++) {
    pthread_mutex_lock(&d->mu);
    int rc = spawn_worker_locked(d);
    pthread_mutex_unlock(&d->mu);
    if (rc != 0) {
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
  }
  tc_logf(TC_LOG_DEBUG, "dispatcher",
          "up to %zu workers (%zu started, more on demand), %zu queue slots",
          workers, initial, cap);
  tc_metric_set(tc_core_metrics()->queue_capacity, NULL, (double)cap);
  *out = d;
  return 0;
fail:
  tc_dispatch_close_all(d);
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
  char channel[TC_DISPATCH_LABEL_MAX];
  tc_dispatch_channel_label(&d->routes, cmd->channel, channel, sizeof(channel));
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
  grow_if_needed(d);
  const struct tc_core_metrics *m = tc_core_metrics();
  const char *labels[] = {channel, type};
  tc_metric_add(m->commands_received, labels, 1);
  tc_metric_add(m->queue_depth, NULL, 1);
  return 0;
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
  tc_dispatch_close_all(d);
  free(d->threads);
  pthread_cond_destroy(&d->all_out);
  pthread_mutex_destroy(&d->mu);
  tc_dispatch_queue_destroy(&d->queue);
  tc_dispatch_recent_destroy(&d->recent);
  free(d);
}
