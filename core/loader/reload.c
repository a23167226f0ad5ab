/* loader/reload.c — what a configuration reload does to module instances
 * (loader.h "reload"): net hooks flagged TC_NET_RECREATE_ON_RELOAD get a
 * new instance, published for prepare() calls without a reader lock; every
 * other instance stays, and the settings it read are reported as needing a
 * restart when they change. Main thread. */
#include <stdlib.h>
#include <string.h>

#include "loader/loader_internal.h"

struct tc_registry_reload {
  const struct tc_config *prev_cfg;
  size_t count;  /* reg->net_count */
  void **fresh;  /* per net hook: the new instance */
  char *made;    /* per net hook: 1 when fresh[i] was created */
  char *started; /* per net hook: 1 when fresh[i] was started */
};

int tc_net_recreated_on_reload(const struct tc_net_vtable *vt) {
  return vt != NULL && TC_HAS_FIELD(vt, struct tc_net_vtable, flags) &&
         (vt->flags & TC_NET_RECREATE_ON_RELOAD) != 0;
}

size_t tc_registry_reloadable_nets(const struct tc_registry *reg) {
  size_t n = 0;
  for (size_t i = 0; reg != NULL && i < reg->net_count; i++)
    n += tc_net_recreated_on_reload(reg->nets[i].vt) && reg->nets[i].started;
  return n;
}

static void rl_free(struct tc_registry_reload *r) {
  free(r->fresh);
  free(r->made);
  free(r->started);
  free(r);
}

/* Stop, then destroy, what the reload made (reverse order). */
static void rl_discard(struct tc_registry *reg, struct tc_registry_reload *r) {
  for (size_t i = r->count; i-- > 0;)
    if (r->started[i] && reg->nets[i].vt->stop != NULL)
      reg->nets[i].vt->stop(r->fresh[i]);
  for (size_t i = r->count; i-- > 0;)
    if (r->made[i] && reg->nets[i].vt->destroy != NULL)
      reg->nets[i].vt->destroy(r->fresh[i]);
}

int tc_registry_reload_prepare(struct tc_registry *reg,
                               const struct tc_config *next,
                               struct tc_registry_reload **out, char **err) {
  *out = NULL;
  *err = NULL;
  struct tc_registry_reload *r = calloc(1, sizeof(*r));
  size_t n = reg->net_count;
  if (r == NULL || (n > 0 && ((r->fresh = calloc(n, sizeof(void *))) == NULL ||
                              (r->made = calloc(n, 1)) == NULL ||
                              (r->started = calloc(n, 1)) == NULL))) {
    if (r != NULL)
      rl_free(r);
    *err = tc_loader_fmt("reload: out of memory");
    return -1;
  }
  r->count = n;
  r->prev_cfg = reg->cfg;
  reg->cfg = next;
  for (size_t i = 0; i < n; i++) {
    struct tc_registered_net *net = &reg->nets[i];
    if (!net->started || !tc_net_recreated_on_reload(net->vt))
      continue;
    char *msg = NULL;
    const char *step = "create";
    int rc = TC_OK;
    reg->refreshing = 1;
    if (net->vt->create != NULL)
      rc = net->vt->create(&net->owner->host, &r->fresh[i], &msg);
    r->made[i] = rc == TC_OK;
    if (rc == TC_OK && net->vt->start != NULL) {
      step = "start";
      rc = net->vt->start(r->fresh[i], &msg);
    }
    r->started[i] = r->made[i] && rc == TC_OK;
    reg->refreshing = 0;
    if (rc != TC_OK) {
      *err = tc_loader_fmt("net hook \"%s\" (module %s) refused the reloaded "
                           "settings: %s failed: %s (%s)",
                           net->vt->name, net->owner->desc->name, step,
                           msg != NULL ? msg : tc_strerror(rc), tc_errname(rc));
      free(msg);
      tc_registry_reload_abort(reg, r);
      return -1;
    }
  }
  *out = r;
  return 0;
}

void tc_registry_reload_abort(struct tc_registry *reg,
                              struct tc_registry_reload *r) {
  if (r == NULL)
    return;
  rl_discard(reg, r);
  reg->cfg = r->prev_cfg;
  rl_free(r);
}

void tc_registry_reload_commit(struct tc_registry *reg,
                               struct tc_registry_reload *r) {
  for (size_t i = 0; i < r->count; i++) {
    if (!r->started[i])
      continue;
    const struct tc_net_vtable *vt = reg->nets[i].vt;
    /* Returns once no prepare() runs on the previous instance. */
    void *prev = tc_published_swap(reg->nets[i].live, r->fresh[i]);
    reg->nets[i].inst = r->fresh[i];
    if (vt->stop != NULL)
      vt->stop(prev);
    if (vt->destroy != NULL)
      vt->destroy(prev);
  }
  rl_free(r);
}

static int rl_push(char ***v, size_t *n, char *s) {
  char **g = realloc(*v, (*n + 1) * sizeof(*g));
  if (g == NULL) {
    free(s);
    return -1;
  }
  g[(*n)++] = s;
  *v = g;
  return 0;
}

int tc_registry_fixed_settings(const struct tc_registry *reg,
                               char *const *changed, size_t n, char ***out,
                               size_t *out_count) {
  for (size_t m = 0; reg != NULL && m < reg->module_count; m++) {
    const struct tc_module_entry *e =
        (const struct tc_module_entry *)reg->modules[m];
    for (size_t k = 0; k < e->fixed_key_count; k++) {
      for (size_t c = 0; c < n; c++) {
        if (strcmp(e->fixed_keys[k], changed[c]) != 0)
          continue;
        char *s =
            tc_loader_fmt("%s (module %s)", changed[c], e->pub.desc->name);
        if (s == NULL || rl_push(out, out_count, s) != 0)
          return -1;
      }
    }
  }
  return 0;
}
