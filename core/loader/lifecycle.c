/* loader/lifecycle.c — instances of hooks, net hooks and metrics sinks:
 * create+start in order (nets, hooks, sinks; load order within a kind),
 * stop then destroy in exactly the reverse order; and the net-hook chain
 * (replacing net-hook instances on reload is in reload.c).
 * Start/stop on the main thread; net_prepare from any thread in between. */
#include <stdlib.h>
#include <string.h>

#include "loader/loader_internal.h"

/* The kinds in start order; stop walks this backwards. */
enum lc_kind { LC_NET = 0, LC_HOOK = 1, LC_SINK = 2, LC_KINDS = 3 };

/* A uniform view of one registered instance slot. */
struct lc_slot {
  const char *kind; /* for messages */
  const char *name;
  struct tc_loaded_module *owner;
  void **inst;
  int *created, *started;
  int (*create)(const struct tc_host *, void **, char **);
  int (*start)(void *, char **);
  void (*stop)(void *);
  void (*destroy)(void *);
};

static size_t lc_count(const struct tc_registry *reg, int kind) {
  switch (kind) {
  case LC_NET:
    return reg->net_count;
  case LC_HOOK:
    return reg->hook_count;
  default:
    return reg->sink_count;
  }
}

static struct lc_slot lc_slot(struct tc_registry *reg, int kind, size_t i) {
  struct lc_slot s;
  if (kind == LC_NET) {
    struct tc_registered_net *n = &reg->nets[i];
    s = (struct lc_slot){
        "net hook",  n->vt->name,   n->owner,     &n->inst,    &n->created,
        &n->started, n->vt->create, n->vt->start, n->vt->stop, n->vt->destroy};
  } else if (kind == LC_HOOK) {
    struct tc_registered_hook *h = &reg->hooks[i];
    s = (struct lc_slot){
        "hook",      h->vt->name,   h->owner,     &h->inst,    &h->created,
        &h->started, h->vt->create, h->vt->start, h->vt->stop, h->vt->destroy};
  } else {
    struct tc_registered_sink *k = &reg->sinks[i];
    s = (struct lc_slot){"metrics sink", k->vt->name,  k->owner,
                         &k->inst,       &k->created,  &k->started,
                         k->vt->create,  k->vt->start, k->vt->stop,
                         k->vt->destroy};
  }
  return s;
}

static int lc_start_one(struct lc_slot *s, char **err) {
  char *msg = NULL;
  const char *step = "create";
  int rc = TC_OK;
  if (s->create != NULL) {
    rc = s->create(&s->owner->host, s->inst, &msg);
    if (rc == TC_OK)
      *s->created = 1;
  } else {
    *s->created = 1;
  }
  if (rc == TC_OK && s->start != NULL) {
    step = "start";
    rc = s->start(*s->inst, &msg);
  }
  if (rc == TC_OK) {
    *s->started = 1;
    return 0;
  }
  *err = tc_loader_fmt("%s \"%s\" (module %s): %s failed: %s (%s)", s->kind,
                       s->name, s->owner->desc->name, step,
                       msg ? msg : tc_strerror(rc), tc_errname(rc));
  free(msg);
  return -1;
}

int tc_registry_start(struct tc_registry *reg, char **err) {
  *err = NULL;
  if (reg->started)
    return 0;
  reg->started = 1;
  for (int kind = 0; kind < LC_KINDS; kind++) {
    for (size_t i = 0; i < lc_count(reg, kind); i++) {
      struct lc_slot s = lc_slot(reg, kind, i);
      if (kind == LC_NET && reg->nets[i].live == NULL &&
          (reg->nets[i].live = malloc(sizeof(struct tc_published))) == NULL) {
        *err = tc_loader_fmt("net hook \"%s\": out of memory", s.name);
        tc_registry_stop(reg);
        return -1;
      }
      reg->refreshing =
          kind == LC_NET && tc_net_recreated_on_reload(reg->nets[i].vt);
      int rc = lc_start_one(&s, err);
      reg->refreshing = 0;
      if (kind == LC_NET)
        tc_published_init(reg->nets[i].live, reg->nets[i].inst);
      if (rc != 0) {
        tc_registry_stop(reg);
        return -1;
      }
    }
  }
  return 0;
}

int tc_registry_create_nets(struct tc_registry *reg, char **err) {
  *err = NULL;
  if (reg->started)
    return 0;
  reg->started = 1;
  for (size_t i = 0; i < reg->net_count; i++) {
    struct lc_slot s = lc_slot(reg, LC_NET, i);
    char *msg = NULL;
    int rc = TC_OK;
    if (s.create != NULL)
      rc = s.create(&s.owner->host, s.inst, &msg);
    if (rc != TC_OK) {
      *err = tc_loader_fmt("%s \"%s\" (module %s): create failed: %s (%s)",
                           s.kind, s.name, s.owner->desc->name,
                           msg ? msg : tc_strerror(rc), tc_errname(rc));
      free(msg);
      tc_registry_stop(reg);
      return -1;
    }
    *s.created = 1;
  }
  return 0;
}

void tc_registry_stop(struct tc_registry *reg) {
  if (reg == NULL || !reg->started)
    return;
  /* Every stop first (instances may still use each other), then destroy. */
  for (int pass = 0; pass < 2; pass++) {
    for (int kind = LC_KINDS - 1; kind >= 0; kind--) {
      for (size_t i = lc_count(reg, kind); i-- > 0;) {
        struct lc_slot s = lc_slot(reg, kind, i);
        if (pass == 0 && *s.started) {
          if (s.stop != NULL)
            s.stop(*s.inst);
          *s.started = 0;
        } else if (pass == 1 && *s.created) {
          if (s.destroy != NULL)
            s.destroy(*s.inst);
          *s.created = 0;
          *s.inst = NULL;
        }
      }
    }
  }
  reg->started = 0;
}

int tc_registry_net_prepare(const struct tc_registry *reg, void *curl_easy,
                            int purpose, const char *url,
                            const struct tc_binding *binding, char **errmsg) {
  if (errmsg != NULL)
    *errmsg = NULL;
  if (reg == NULL)
    return TC_OK;
  struct tc_net_target t = {sizeof(t), purpose, url, binding};
  for (size_t i = 0; i < reg->net_count; i++) {
    const struct tc_registered_net *n = &reg->nets[i];
    if (n->vt->create != NULL && !n->created) {
      if (errmsg != NULL)
        *errmsg = tc_loader_fmt("net hook \"%s\" (module %s) is not started "
                                "yet (start the registry before connecting)",
                                n->vt->name, n->owner->desc->name);
      return TC_ESTATE;
    }
    char *msg = NULL;
    /* Held across prepare(), which must not block on the network: a
     * reload waits for it before stopping the instance. */
    struct tc_published *live = n->live; /* NULL before the registry start */
    unsigned slot = 0;
    void *inst = live != NULL ? tc_published_enter(live, &slot) : n->inst;
    int rc = n->vt->prepare(inst, curl_easy, &t, &msg);
    if (live != NULL)
      tc_published_exit(live, slot);
    if (rc >= 0) {
      free(msg);
      continue;
    }
    if (errmsg != NULL)
      *errmsg = msg != NULL ? msg
                            : tc_loader_fmt("net hook \"%s\" (module %s) "
                                            "refused the connection: %s",
                                            n->vt->name, n->owner->desc->name,
                                            tc_strerror(rc));
    else
      free(msg);
    return rc;
  }
  return TC_OK;
}

int tc_registry_admin_state(const struct tc_registry *reg, const char *module,
                            char **json) {
  if (json != NULL)
    *json = NULL;
  if (reg == NULL || module == NULL || json == NULL)
    return TC_EINVAL;
  for (size_t i = 0; i < reg->hook_count; i++) {
    const struct tc_registered_hook *h = &reg->hooks[i];
    if (h->owner == NULL || h->owner->desc == NULL ||
        strcmp(h->owner->desc->name, module) != 0 || !h->started)
      continue;
    if (!TC_HAS_FIELD(h->vt, struct tc_hook_vtable, admin_state) ||
        h->vt->admin_state == NULL)
      continue;
    return h->vt->admin_state(h->inst, json);
  }
  return TC_ENOENT;
}
