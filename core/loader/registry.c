/* loader/registry.c — the registrar handed to init() (validates and records
 * vtables) and the registry lookups. Registration happens on the main
 * thread during init() only; lookups are read-only afterwards. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "loader/loader_internal.h"

/* ---- refusals ------------------------------------------------------------ */

/* Record a refusal: give the module its copy, keep the first for the
 * loader's own message. Returns rc. */
static int rg_refuse(struct tc_module_entry *e, char **errmsg, int rc,
                     char *msg) {
  if (e != NULL && e->reg_error == NULL && msg != NULL)
    e->reg_error = strdup(msg);
  if (errmsg != NULL)
    *errmsg = msg;
  else
    free(msg);
  return rc;
}

/* State, NULL-vtable, struct_size and name checks shared by every kind.
 * `name` is read by the caller only when struct_size covers it. */
static int rg_precheck(struct tc_registrar *r, const char *kind, const void *vt,
                       size_t struct_size, size_t abi_size, const char *name,
                       char **errmsg, struct tc_module_entry **out) {
  struct tc_module_entry *e = r != NULL ? r->core : NULL;
  *out = e;
  if (errmsg != NULL)
    *errmsg = NULL;
  if (e == NULL)
    return rg_refuse(NULL, errmsg, TC_EINVAL,
                     tc_loader_fmt("%s: registrar is not valid", kind));
  if (!e->registering)
    return rg_refuse(e, errmsg, TC_ESTATE,
                     tc_loader_fmt("%s \"%s\": registration after init() is "
                                   "not allowed (register every vtable "
                                   "inside init)",
                                   kind, vt && name ? name : "?"));
  if (vt == NULL)
    return rg_refuse(e, errmsg, TC_EINVAL,
                     tc_loader_fmt("%s: NULL vtable (pass a static const "
                                   "vtable)",
                                   kind));
  if (struct_size < abi_size)
    return rg_refuse(e, errmsg, TC_EINVAL,
                     tc_loader_fmt("%s \"%s\": vtable struct_size %zu is "
                                   "smaller than the ABI 1.0 size %zu (set "
                                   ".struct_size = sizeof(the vtable) and "
                                   "rebuild against the SDK)",
                                   kind, name ? name : "?", struct_size,
                                   abi_size));
  if (name == NULL || name[0] == '\0')
    return rg_refuse(e, errmsg, TC_EINVAL,
                     tc_loader_fmt("%s: vtable has no name (set .name)", kind));
  return TC_OK;
}

static int rg_missing(struct tc_module_entry *e, char **errmsg,
                      const char *kind, const char *name, const char *member) {
  return rg_refuse(e, errmsg, TC_EINVAL,
                   tc_loader_fmt("%s \"%s\": missing mandatory member %s "
                                 "(set .%s in the vtable)",
                                 kind, name, member, member));
}

static int rg_duplicate(struct tc_module_entry *e, char **errmsg,
                        const char *kind, const char *name,
                        const struct tc_loaded_module *other) {
  return rg_refuse(e, errmsg, TC_EEXIST,
                   tc_loader_fmt("%s \"%s\": already registered by module "
                                 "\"%s\" (%s) (names must be unique per "
                                 "kind; rename one or load only one of the "
                                 "modules)",
                                 kind, name, other->desc->name, other->path));
}

/* Grow a registry table by one slot. */
static void *rg_grow(void *items, size_t count, size_t elem) {
  return realloc(items, (count + 1) * elem);
}

#define RG_NAME(vt, type)                                                      \
  ((vt) != NULL && TC_HAS_FIELD(vt, type, name) ? (vt)->name : NULL)
#define RG_SIZE(vt) ((vt) != NULL ? (vt)->struct_size : 0)

static int rg_add_transport(struct tc_registrar *r,
                            const struct tc_transport_vtable *vt,
                            char **errmsg) {
  const char *kind = "transport";
  const char *name = RG_NAME(vt, struct tc_transport_vtable);
  struct tc_module_entry *e;
  int rc = rg_precheck(r, kind, vt, RG_SIZE(vt),
                       offsetof(struct tc_transport_vtable, admin_state), name,
                       errmsg, &e);
  if (rc != TC_OK)
    return rc;
  if (vt->create == NULL)
    return rg_missing(e, errmsg, kind, name, "create");
  if (vt->call == NULL)
    return rg_missing(e, errmsg, kind, name, "call");
  if (vt->destroy == NULL)
    return rg_missing(e, errmsg, kind, name, "destroy");
  const struct tc_registered_transport *dup =
      tc_registry_transport(e->reg, name);
  if (dup != NULL)
    return rg_duplicate(e, errmsg, kind, name, dup->owner);
  struct tc_registry *reg = e->reg;
  struct tc_registered_transport *t =
      rg_grow(reg->transports, reg->transport_count, sizeof(*t));
  if (t == NULL)
    return rg_refuse(e, errmsg, TC_ENOMEM, tc_loader_fmt("out of memory"));
  reg->transports = t;
  t[reg->transport_count].vt = vt;
  t[reg->transport_count].owner = &e->pub;
  reg->transport_count++;
  e->pub.kinds |= TC_KIND_TRANSPORT;
  return TC_OK;
}

static int rg_add_hook(struct tc_registrar *r, const struct tc_hook_vtable *vt,
                       char **errmsg) {
  const char *kind = "hook";
  const char *name = RG_NAME(vt, struct tc_hook_vtable);
  struct tc_module_entry *e;
  int rc = rg_precheck(r, kind, vt, RG_SIZE(vt),
                       offsetof(struct tc_hook_vtable, admin_state), name,
                       errmsg, &e);
  if (rc != TC_OK)
    return rc;
  if (vt->on_command == NULL && vt->on_response == NULL &&
      vt->readiness == NULL)
    return rg_refuse(e, errmsg, TC_EINVAL,
                     tc_loader_fmt("%s \"%s\": missing mandatory member: "
                                   "none of on_command, on_response, "
                                   "readiness is set (set at least one)",
                                   kind, name));
  const struct tc_registered_hook *dup = tc_registry_hook(e->reg, name);
  if (dup != NULL)
    return rg_duplicate(e, errmsg, kind, name, dup->owner);
  struct tc_registry *reg = e->reg;
  struct tc_registered_hook *h =
      rg_grow(reg->hooks, reg->hook_count, sizeof(*h));
  if (h == NULL)
    return rg_refuse(e, errmsg, TC_ENOMEM, tc_loader_fmt("out of memory"));
  reg->hooks = h;
  memset(&h[reg->hook_count], 0, sizeof(*h));
  h[reg->hook_count].vt = vt;
  h[reg->hook_count].owner = &e->pub;
  reg->hook_count++;
  e->pub.kinds |= TC_KIND_HOOK;
  return TC_OK;
}

static int rg_add_net(struct tc_registrar *r, const struct tc_net_vtable *vt,
                      char **errmsg) {
  const char *kind = "net hook";
  const char *name = RG_NAME(vt, struct tc_net_vtable);
  struct tc_module_entry *e;
  int rc = rg_precheck(r, kind, vt, RG_SIZE(vt),
                       offsetof(struct tc_net_vtable, flags), name, errmsg, &e);
  if (rc != TC_OK)
    return rc;
  if (vt->prepare == NULL)
    return rg_missing(e, errmsg, kind, name, "prepare");
  const struct tc_registered_net *dup = tc_registry_net(e->reg, name);
  if (dup != NULL)
    return rg_duplicate(e, errmsg, kind, name, dup->owner);
  struct tc_registry *reg = e->reg;
  struct tc_registered_net *n = rg_grow(reg->nets, reg->net_count, sizeof(*n));
  if (n == NULL)
    return rg_refuse(e, errmsg, TC_ENOMEM, tc_loader_fmt("out of memory"));
  reg->nets = n;
  memset(&n[reg->net_count], 0, sizeof(*n));
  n[reg->net_count].vt = vt;
  n[reg->net_count].owner = &e->pub;
  reg->net_count++;
  e->pub.kinds |= TC_KIND_NET;
  return TC_OK;
}

static int rg_add_sink(struct tc_registrar *r,
                       const struct tc_metrics_sink_vtable *vt, char **errmsg) {
  const char *kind = "metrics sink";
  const char *name = RG_NAME(vt, struct tc_metrics_sink_vtable);
  struct tc_module_entry *e;
  int rc = rg_precheck(r, kind, vt, RG_SIZE(vt),
                       sizeof(struct tc_metrics_sink_vtable), name, errmsg, &e);
  if (rc != TC_OK)
    return rc;
  if ((vt->flags & (TC_SINK_PULL | TC_SINK_PUSH)) == 0)
    return rg_refuse(e, errmsg, TC_EINVAL,
                     tc_loader_fmt("%s \"%s\": flags set neither "
                                   "TC_SINK_PULL nor TC_SINK_PUSH (set at "
                                   "least one)",
                                   kind, name));
  if ((vt->flags & TC_SINK_PULL) && vt->render == NULL)
    return rg_missing(e, errmsg, kind, name, "render");
  if ((vt->flags & TC_SINK_PUSH) && vt->start == NULL)
    return rg_missing(e, errmsg, kind, name, "start");
  const struct tc_registered_sink *dup = tc_registry_sink(e->reg, name);
  if (dup != NULL)
    return rg_duplicate(e, errmsg, kind, name, dup->owner);
  struct tc_registry *reg = e->reg;
  struct tc_registered_sink *s =
      rg_grow(reg->sinks, reg->sink_count, sizeof(*s));
  if (s == NULL)
    return rg_refuse(e, errmsg, TC_ENOMEM, tc_loader_fmt("out of memory"));
  reg->sinks = s;
  memset(&s[reg->sink_count], 0, sizeof(*s));
  s[reg->sink_count].vt = vt;
  s[reg->sink_count].owner = &e->pub;
  reg->sink_count++;
  e->pub.kinds |= TC_KIND_METRICS_SINK;
  return TC_OK;
}

void tc_registrar_bind(struct tc_module_entry *e) {
  memset(&e->registrar, 0, sizeof(e->registrar));
  e->registrar.struct_size = sizeof(e->registrar);
  e->registrar.core = e;
  e->registrar.add_transport = rg_add_transport;
  e->registrar.add_hook = rg_add_hook;
  e->registrar.add_net = rg_add_net;
  e->registrar.add_metrics_sink = rg_add_sink;
}

/* ---- bookkeeping -----------------------------------------------------------
 */

/* Remove every element whose owner is `owner`, keeping order. */
#define RG_DROP(items, count, owner)                                           \
  do {                                                                         \
    size_t w_ = 0;                                                             \
    for (size_t i_ = 0; i_ < (count); i_++)                                    \
      if ((items)[i_].owner != (owner))                                        \
        (items)[w_++] = (items)[i_];                                           \
    (count) = w_;                                                              \
  } while (0)

void tc_registry_drop_owner(struct tc_registry *reg,
                            const struct tc_loaded_module *owner) {
  RG_DROP(reg->transports, reg->transport_count, owner);
  RG_DROP(reg->hooks, reg->hook_count, owner);
  RG_DROP(reg->nets, reg->net_count, owner);
  RG_DROP(reg->sinks, reg->sink_count, owner);
}

void tc_registry_free_tables(struct tc_registry *reg) {
  for (size_t i = 0; i < reg->net_count; i++)
    free(reg->nets[i].live);
  free(reg->transports);
  free(reg->hooks);
  free(reg->nets);
  free(reg->sinks);
  reg->transports = NULL;
  reg->hooks = NULL;
  reg->nets = NULL;
  reg->sinks = NULL;
  reg->transport_count = reg->hook_count = reg->net_count = 0;
  reg->sink_count = 0;
}

/* ---- lookups ---------------------------------------------------------------
 */

#define RG_FIND(items, count, name)                                            \
  do {                                                                         \
    if (reg == NULL || (name) == NULL)                                         \
      return NULL;                                                             \
    for (size_t i_ = 0; i_ < (count); i_++)                                    \
      if (strcmp((items)[i_].vt->name, (name)) == 0)                           \
        return &(items)[i_];                                                   \
    return NULL;                                                               \
  } while (0)

const struct tc_registered_transport *
tc_registry_transport(const struct tc_registry *reg, const char *name) {
  RG_FIND(reg->transports, reg->transport_count, name);
}

const struct tc_registered_hook *tc_registry_hook(const struct tc_registry *reg,
                                                  const char *name) {
  RG_FIND(reg->hooks, reg->hook_count, name);
}

const struct tc_registered_net *tc_registry_net(const struct tc_registry *reg,
                                                const char *name) {
  RG_FIND(reg->nets, reg->net_count, name);
}

const struct tc_registered_sink *tc_registry_sink(const struct tc_registry *reg,
                                                  const char *name) {
  RG_FIND(reg->sinks, reg->sink_count, name);
}

struct tc_loaded_module *tc_registry_module(const struct tc_registry *reg,
                                            const char *name) {
  if (reg == NULL || name == NULL)
    return NULL;
  for (size_t i = 0; i < reg->module_count; i++)
    if (strcmp(reg->modules[i]->desc->name, name) == 0)
      return reg->modules[i];
  return NULL;
}

const char *tc_kind_name(unsigned kind_bit) {
  switch (kind_bit) {
  case TC_KIND_TRANSPORT:
    return "transport";
  case TC_KIND_HOOK:
    return "hook";
  case TC_KIND_NET:
    return "net";
  case TC_KIND_METRICS_SINK:
    return "metrics-sink";
  default:
    return "unknown";
  }
}

const char *tc_kinds_string(unsigned kinds, char *buf, size_t len) {
  size_t used = 0;
  if (len == 0)
    return buf;
  buf[0] = '\0';
  for (unsigned bit = 1; bit <= TC_KIND_METRICS_SINK; bit <<= 1) {
    if (!(kinds & bit))
      continue;
    const char *n = tc_kind_name(bit);
    size_t nl = strlen(n) + (used ? 1 : 0);
    if (used + nl + 1 > len)
      break;
    if (used)
      buf[used++] = ',';
    memcpy(buf + used, n, strlen(n) + 1);
    used += strlen(n);
  }
  return buf;
}
