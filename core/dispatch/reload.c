/* dispatch/reload.c — channel sets: building one for a configuration (at
 * start and on reload), publishing it, reaping replaced instances, and the
 * views the ops listener and readiness read (dispatcher.h).
 *
 * Lifetimes: the published set holds one reference on each of its
 * instances; a command takes its own reference on the instance it runs on
 * (command_exec.c), a view one on the whole set. Commit swaps the published
 * pointer (util/published.h: no reader lock), then moves the instances the
 * new set dropped to d->retired; tc_dispatcher_reap() stops and destroys
 * each once its reference count reached zero. Everything here runs on the
 * main thread except the view functions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch/dispatch_internal.h"
#include "tc/errors.h"
#include "util/log.h"

static char *oom(void) {
  return strdup("dispatcher: out of memory building the channel set");
}

static void strv_free(char **v, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

static int strv_push(char ***v, size_t *n, const char *s) {
  char **g = realloc(*v, (*n + 1) * sizeof(*g));
  if (g == NULL)
    return -1;
  *v = g;
  if ((g[*n] = strdup(s)) == NULL)
    return -1;
  (*n)++;
  return 0;
}

void tc_dispatch_plan_free(struct tc_dispatch_plan *p) {
  if (p == NULL)
    return;
  strv_free(p->added, p->added_count);
  strv_free(p->removed, p->removed_count);
  strv_free(p->changed, p->changed_count);
  free(p->created);
  free(p);
}

/* May the running instance serve `next`? Identical bindings, or the
 * transport says the difference does not concern it (ABI 1.3). */
static int keep_instance(struct tc_dispatch_inst *run,
                         const struct tc_binding *next) {
  if (tc_dispatch_binding_equal(&run->binding, next))
    return 1;
  const struct tc_transport_vtable *vt = run->vt;
  if (!TC_HAS_FIELD(vt, struct tc_transport_vtable, reusable_for) ||
      vt->reusable_for == NULL)
    return 0;
  return vt->reusable_for(run->inst, next) == TC_OK;
}

/* The route for one binding of the new configuration. */
static int plan_route(struct tc_dispatcher *d, struct tc_dispatch_plan *p,
                      struct tc_dispatch_routes *running,
                      const struct tc_config *cfg,
                      const struct tc_binding_cfg *bc,
                      struct tc_dispatch_route *out, char **err) {
  const char *channel = bc->channel != NULL ? bc->channel : "main";
  struct tc_dispatch_route *run = tc_dispatch_routes_find(running, channel);
  const struct tc_registered_transport *rt =
      tc_registry_transport(d->reg, bc->transport != NULL ? bc->transport : "");
  if (run != NULL && rt != NULL && rt->vt == run->inst->vt) {
    struct tc_binding next;
    struct tc_headers extra = TC_HEADERS_INIT, disc = TC_HEADERS_INIT;
    if (tc_dispatch_binding_build(&next, &extra, &disc, cfg, bc) != 0) {
      *err = oom();
      return -1;
    }
    int same = tc_dispatch_binding_equal(&run->inst->binding, &next);
    int keep = same || keep_instance(run->inst, &next);
    tc_dispatch_binding_clear(&next, &extra, &disc);
    if (keep) {
      if (!same)
        tc_log(TC_LOG_INFO, "dispatcher",
               "binding changed in settings its transport does not use; "
               "instance kept",
               "channel", channel, "transport", run->inst->vt->name, NULL);
      tc_dispatch_inst_ref(run->inst);
      tc_dispatch_stats_ref(run->stats);
      out->inst = run->inst;
      out->stats = run->stats;
      return 0;
    }
  }
  struct tc_dispatch_inst *inst = NULL;
  if (tc_dispatch_inst_open(&inst, cfg, bc, d->reg, err) != 0)
    return -1;
  p->created[p->created_count++] = inst;
  struct tc_dispatch_stats *stats = NULL;
  if (run != NULL) {
    stats = run->stats;
    tc_dispatch_stats_ref(stats);
  } else {
    stats = tc_dispatch_stats_new();
  }
  tc_dispatch_inst_ref(inst); /* the set's; the plan keeps the first */
  out->inst = inst;
  out->stats = stats;
  if (stats == NULL ||
      strv_push(run != NULL ? &p->changed : &p->added,
                run != NULL ? &p->changed_count : &p->added_count,
                channel) != 0) {
    *err = oom();
    return -1;
  }
  return 0;
}

int tc_dispatcher_plan(struct tc_dispatcher *d, const struct tc_config *cfg,
                       struct tc_dispatch_plan **out, char **err) {
  *out = NULL;
  struct tc_dispatch_plan *p = calloc(1, sizeof(*p));
  size_t n = cfg->binding_count;
  if (p == NULL ||
      (n > 0 && (p->created = calloc(n, sizeof(*p->created))) == NULL) ||
      (p->next = tc_dispatch_routes_alloc(n)) == NULL) {
    if (p != NULL)
      free(p->created);
    free(p);
    *err = oom();
    return -1;
  }
  /* The writer (this thread) may read the published set directly. */
  struct tc_dispatch_routes *running = tc_published_peek(&d->routes);
  for (size_t i = 0; i < n; i++) {
    if (plan_route(d, p, running, cfg, &cfg->bindings[i],
                   &p->next->items[p->next->count], err) != 0) {
      struct tc_dispatch_route *half = &p->next->items[p->next->count];
      if (half->inst != NULL)
        p->next->count++; /* its references are released with the set */
      tc_dispatcher_abandon(d, p);
      return -1;
    }
    p->next->count++;
  }
  for (size_t i = 0; running != NULL && i < running->count; i++) {
    const char *ch = running->items[i].inst->channel;
    if (tc_dispatch_routes_find(p->next, ch) == NULL &&
        strv_push(&p->removed, &p->removed_count, ch) != 0) {
      tc_dispatcher_abandon(d, p);
      *err = oom();
      return -1;
    }
  }
  *out = p;
  return 0;
}

void tc_dispatcher_abandon(struct tc_dispatcher *d,
                           struct tc_dispatch_plan *p) {
  (void)d;
  if (p == NULL)
    return;
  tc_dispatch_routes_unref(p->next);
  for (size_t i = p->created_count; i-- > 0;)
    tc_dispatch_inst_stop(p->created[i]);
  for (size_t i = p->created_count; i-- > 0;)
    tc_dispatch_inst_close(p->created[i]);
  tc_dispatch_plan_free(p);
}

static int in_set(const struct tc_dispatch_routes *rs,
                  const struct tc_dispatch_inst *inst) {
  for (size_t i = 0; rs != NULL && i < rs->count; i++)
    if (rs->items[i].inst == inst)
      return 1;
  return 0;
}

void tc_dispatcher_commit(struct tc_dispatcher *d, struct tc_dispatch_plan *p) {
  struct tc_dispatch_routes *old = tc_published_swap(&d->routes, p->next);
  p->next = NULL;
  /* The plan's own reference on what it created goes; the set keeps one. */
  for (size_t i = 0; i < p->created_count; i++)
    tc_dispatch_inst_unref(p->created[i]);
  for (size_t i = 0; old != NULL && i < old->count; i++) {
    struct tc_dispatch_inst *inst = old->items[i].inst;
    if (in_set(tc_published_peek(&d->routes), inst))
      continue;
    inst->next_retired = d->retired;
    d->retired = inst;
  }
  tc_dispatch_routes_unref(old);
  p->created_count = 0; /* the set owns them now */
  tc_dispatcher_reap(d);
}

size_t tc_dispatcher_reap(struct tc_dispatcher *d) {
  size_t waiting = 0;
  struct tc_dispatch_inst **link = &d->retired;
  while (*link != NULL) {
    struct tc_dispatch_inst *inst = *link;
    if (atomic_load(&inst->refs) != 0) {
      waiting++;
      link = &inst->next_retired;
      continue;
    }
    *link = inst->next_retired;
    tc_log(TC_LOG_INFO, "dispatcher",
           "replaced transport instance stopped after its last call", "channel",
           inst->channel, "transport", inst->vt->name, NULL);
    tc_dispatch_inst_close(inst);
  }
  return waiting;
}

void tc_dispatch_close_all(struct tc_dispatcher *d) {
  struct tc_dispatch_routes *cur = tc_published_swap(&d->routes, NULL);
  for (size_t i = 0; cur != NULL && i < cur->count; i++) {
    struct tc_dispatch_inst *inst = cur->items[i].inst;
    inst->next_retired = d->retired;
    d->retired = inst;
  }
  tc_dispatch_routes_unref(cur);
  /* The list now runs newest first: current channels in reverse config
   * order, then what earlier reloads replaced. Every stop, then every
   * destroy (instances may still use each other while stopping). */
  for (struct tc_dispatch_inst *i = d->retired; i != NULL; i = i->next_retired)
    tc_dispatch_inst_stop(i);
  while (d->retired != NULL) {
    struct tc_dispatch_inst *inst = d->retired;
    d->retired = inst->next_retired;
    if (atomic_load(&inst->refs) != 0)
      tc_log(TC_LOG_WARN, "dispatcher",
             "transport instance still referenced at shutdown; destroying it "
             "anyway",
             "channel", inst->channel, NULL);
    tc_dispatch_inst_close(inst);
  }
}

/* ---- views ----------------------------------------------------------------
 */

struct tc_dispatch_routes *tc_dispatcher_view(struct tc_dispatcher *d) {
  if (d == NULL)
    return NULL;
  unsigned slot;
  struct tc_dispatch_routes *rs = tc_published_enter(&d->routes, &slot);
  if (rs != NULL)
    tc_dispatch_routes_ref(rs);
  tc_published_exit(&d->routes, slot);
  return rs;
}

void tc_dispatch_view_release(struct tc_dispatch_routes *v) {
  tc_dispatch_routes_unref(v);
}

size_t tc_dispatch_view_count(const struct tc_dispatch_routes *v) {
  return v != NULL ? v->count : 0;
}

int tc_dispatch_view_info(struct tc_dispatch_routes *v, size_t i,
                          struct tc_dispatch_channel_info *out) {
  memset(out, 0, sizeof(*out));
  if (v == NULL || i >= v->count)
    return -1;
  const struct tc_dispatch_inst *inst = v->items[i].inst;
  struct tc_dispatch_stats *s = v->items[i].stats;
  out->name = inst->channel;
  out->transport = inst->vt->name != NULL ? inst->vt->name : "";
  out->binding = &inst->binding;
  out->in_flight = (uint64_t)atomic_load(&s->in_flight);
  out->requests_total = (uint64_t)atomic_load(&s->requests_total);
  out->errors_total = (uint64_t)atomic_load(&s->errors_total);
  out->has_probe = inst->vt->probe != NULL;
  out->probed = atomic_load(&inst->probed);
  pthread_mutex_lock(&s->mu);
  snprintf(out->last_error, sizeof(out->last_error), "%s", s->last_error);
  pthread_mutex_unlock(&s->mu);
  return 0;
}

int tc_dispatch_view_probe(struct tc_dispatch_routes *v, size_t i,
                           char **detail) {
  *detail = NULL;
  if (v == NULL || i >= v->count)
    return TC_EINVAL;
  struct tc_dispatch_inst *inst = v->items[i].inst;
  if (inst->vt->probe == NULL || !inst->started)
    return TC_ENOTSUP;
  return inst->vt->probe(inst->inst, detail);
}

int tc_dispatch_view_admin_state(struct tc_dispatch_routes *v, size_t i,
                                 char **json) {
  *json = NULL;
  if (v == NULL || i >= v->count)
    return TC_EINVAL;
  struct tc_dispatch_inst *inst = v->items[i].inst;
  if (!inst->started ||
      !TC_HAS_FIELD(inst->vt, struct tc_transport_vtable, admin_state) ||
      inst->vt->admin_state == NULL)
    return TC_ENOTSUP;
  return inst->vt->admin_state(inst->inst, json);
}

void tc_dispatch_view_mark_probed(struct tc_dispatch_routes *v, size_t i) {
  if (v != NULL && i < v->count)
    atomic_store(&v->items[i].inst->probed, true);
}
