/* tc/module.h — the module descriptor, declarative config and the registrar.
 *
 * Every module .so exports exactly one data symbol, `tc_module`, defined with
 * TC_MODULE_DEFINE(). The loader validates its header (magic, ABI version,
 * struct_size, name, init) BEFORE running any module code, then calls init()
 * once on the main thread, before any other thread exists. During init the
 * module registers its const vtables through the registrar; after init
 * returns the registry is frozen. Modules stay resident until exit.
 *
 * Struct rule: every struct crossing the boundary starts with (or carries in
 * its header) a `struct_size`; fields are only appended. A reader uses a
 * field only when TC_HAS_FIELD() says it lies inside struct_size. */
#ifndef TC_MODULE_H
#define TC_MODULE_H

#include <stddef.h>
#include <stdint.h>

#include "tc/errors.h"
#include "tc/version.h"

#ifdef __cplusplus
extern "C" {
#endif

struct tc_host;
struct tc_registrar;
struct tc_transport_vtable;
struct tc_hook_vtable;
struct tc_net_vtable;
struct tc_metrics_sink_vtable;

#if defined(__GNUC__) || defined(__clang__)
#define TC_MODULE_EXPORT __attribute__((visibility("default")))
#define TC_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define TC_MODULE_EXPORT
#define TC_PRINTF(fmt, args)
#endif

/* True when `field` of *ptr lies inside the size the other side declared. */
#define TC_HAS_FIELD(ptr, type, field)                                         \
  ((ptr)->struct_size >= offsetof(type, field) + sizeof(((type *)0)->field))

/* ---- Declarative configuration ------------------------------------------
 * A module lists its settings; the core reads them from the profile's
 * `modules:` entry (`config:` map), applies defaults, validates and fills a
 * zeroed block of `config_size` bytes that init() receives. Strings in that
 * block are owned by the core and live until exit. */
enum tc_config_type {
  TC_CFG_STRING = 1,   /* char *, NULL when unset and no default      */
  TC_CFG_BOOL = 2,     /* int, 0 or 1 ("true"/"false"/"1"/"0")        */
  TC_CFG_INT = 3,      /* int64_t, within [min, max] when min < max   */
  TC_CFG_DURATION = 4, /* int64_t milliseconds, "30s", "4500ms", "2m" */
  TC_CFG_SECRET = 5    /* char *, like STRING but never printed/logged;
                          accepts env:NAME and file:PATH references   */
};

struct tc_config_field {
  const char *key;           /* YAML key under `config:`; NULL ends the list */
  int type;                  /* enum tc_config_type */
  const char *default_value; /* textual default, or NULL for none */
  size_t offset;             /* offsetof() into the module's config block */
  const char *help;          /* one line for `modules describe` */
  int64_t min, max; /* TC_CFG_INT/DURATION bounds; ignored if min >= max */
};

#define TC_CONFIG_END                                                          \
  { NULL, 0, NULL, 0, NULL, 0, 0 }

/* ---- The descriptor ------------------------------------------------------ */
struct tc_module {
  /* Header: validated before any module code runs. Never reorder. */
  uint32_t magic;       /* TC_MODULE_MAGIC */
  uint16_t abi_major;   /* must equal the host's TC_ABI_MAJOR */
  uint16_t abi_minor;   /* must be <= the host's TC_ABI_MINOR */
  uint32_t struct_size; /* sizeof(struct tc_module) the module was built with */
  const char *name;     /* unique; = directory name = .so basename */
  const char *version;  /* the module's own version, e.g. "1.0.0" */

  /* Mandatory. Main thread, once, before any thread starts. Register vtables
   * through `reg`; validate `config` (the filled config block, or NULL when
   * the module declares none). No network or child processes here.
   * `host` is valid until exit and may be kept. On failure return < 0 and
   * optionally set *errmsg to a malloc()ed message the core frees. */
  int (*init)(const struct tc_host *host, struct tc_registrar *reg,
              const void *config, char **errmsg);

  /* Optional. Main thread, after every instance was stopped and destroyed. */
  void (*fini)(const struct tc_host *host);

  /* Optional, appended in 1.0. */
  const char *summary;                  /* one line for `modules list` */
  const struct tc_config_field *config; /* TC_CONFIG_END-terminated, or NULL */
  size_t config_size;                   /* bytes of the config block */
};

#ifdef TC_STATIC_MODULE
#define TC_MODULE_SYMBOL_(ident) tc_module_##ident
#else
#define TC_MODULE_SYMBOL_(ident) tc_module
#endif

/* TC_MODULE_DEFINE(mcp_http, .name = "mcp-http", .version = "1.0.0",
 *                  .init = mh_init);
 * `ident` only names the symbol under TC_STATIC_MODULE (tc_module_<ident>),
 * so built-ins and tests can link several modules into one binary. */
#define TC_MODULE_DEFINE(ident, ...)                                           \
  TC_MODULE_EXPORT extern const struct tc_module TC_MODULE_SYMBOL_(ident);     \
  TC_MODULE_EXPORT const struct tc_module TC_MODULE_SYMBOL_(ident) = {         \
      .magic = TC_MODULE_MAGIC,                                                \
      .abi_major = TC_ABI_MAJOR,                                               \
      .abi_minor = TC_ABI_MINOR,                                               \
      .struct_size = (uint32_t)sizeof(struct tc_module),                       \
      __VA_ARGS__}

/* ---- Registrar: valid only during init() --------------------------------
 * Each add_* validates the vtable (struct_size, name, mandatory members) and
 * returns TC_OK, TC_EINVAL (missing member: *errmsg names it), TC_EEXIST
 * (duplicate name within the kind) or TC_ESTATE (called after init).
 * The vtable is borrowed forever: keep it `static const`. */
struct tc_registrar {
  size_t struct_size;
  void *core; /* private to the core */
  int (*add_transport)(struct tc_registrar *reg,
                       const struct tc_transport_vtable *vt, char **errmsg);
  int (*add_hook)(struct tc_registrar *reg, const struct tc_hook_vtable *vt,
                  char **errmsg);
  int (*add_net)(struct tc_registrar *reg, const struct tc_net_vtable *vt,
                 char **errmsg);
  int (*add_metrics_sink)(struct tc_registrar *reg,
                          const struct tc_metrics_sink_vtable *vt,
                          char **errmsg);
};

#ifdef __cplusplus
}
#endif
#endif /* TC_MODULE_H */
