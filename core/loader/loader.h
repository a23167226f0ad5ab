/* loader/loader.h — find, validate and initialise modules; the registry.
 *
 * Modules are opened with libltdl (local symbol scope, resident) on the main
 * thread before any other thread starts. The descriptor `tc_module` is
 * checked (magic, ABI major/minor, struct_size, name, version, init) before
 * any module code runs; then init() registers vtables through the
 * registrar; after the last init the registry is frozen.
 *
 * Search path, first match wins for a bare name:
 *   1. every --modules.dir (in order)
 *   2. every TUNNEL_CLIENT_MODULE_PATH entry (colon-separated)
 *   3. the build tree: <directory of the executable>/modules
 *   4. the installed module directory (TC_MODULE_INSTALL_FULL_DIR)
 * A spec containing '/' or ending in ".so" is a path and is opened as is.
 *
 * Every refusal is one line: "module <file>: <rule> (<what to do>)". */
#ifndef TC_LOADER_LOADER_H
#define TC_LOADER_LOADER_H

#include <stddef.h>

#include "config/config.h"
#include "tc/tc.h"
#include "util/published.h"

struct tc_metrics_registry;

enum tc_module_kind_bits {
  TC_KIND_TRANSPORT = 1u << 0,
  TC_KIND_HOOK = 1u << 1,
  TC_KIND_NET = 1u << 2,
  TC_KIND_METRICS_SINK = 1u << 3
};

struct tc_loaded_module {
  const struct tc_module *desc; /* inside the resident .so */
  char *path;                   /* resolved file */
  void *handle;                 /* lt_dlhandle */
  struct tc_host host;          /* this module's host table copy */
  void *config_block;           /* filled declarative config, or NULL */
  unsigned kinds;               /* enum tc_module_kind_bits registered */
  int initialised;
};

struct tc_registered_transport {
  const struct tc_transport_vtable *vt;
  struct tc_loaded_module *owner;
};
/* Hooks, net hooks and sinks have one instance each, made by
 * tc_registry_start() (inst stays NULL when the vtable has no create). */
struct tc_registered_hook {
  const struct tc_hook_vtable *vt;
  struct tc_loaded_module *owner;
  void *inst;
  int created, started;
};
struct tc_registered_net {
  const struct tc_net_vtable *vt;
  struct tc_loaded_module *owner;
  void *inst; /* the current instance; main thread */
  int created, started;
  /* What prepare() calls use: `inst`, published without a reader lock so a
   * reload can replace it (TC_NET_RECREATE_ON_RELOAD). Allocated by
   * tc_registry_start(), freed with the registry. */
  struct tc_published *live;
};
struct tc_registered_sink {
  const struct tc_metrics_sink_vtable *vt;
  struct tc_loaded_module *owner;
  void *inst;
  int created, started;
};

struct tc_registry {
  struct tc_loaded_module **modules;
  size_t module_count;
  struct tc_registered_transport *transports;
  size_t transport_count;
  struct tc_registered_hook *hooks;
  size_t hook_count;
  struct tc_registered_net *nets;
  size_t net_count;
  struct tc_registered_sink *sinks;
  size_t sink_count;
  int frozen;
  const struct tc_config *cfg; /* borrowed, for host->config_get */
  /* Registry behind host->metric_* and metrics_visit; NULL (the default)
   * means tc_metrics_registry_global(). Set before loading (tests). */
  struct tc_metrics_registry *metrics;
  int started; /* between tc_registry_start() and tc_registry_stop() */
  /* Set while a net hook that a reload recreates runs create()/start():
   * what it reads through config_get is re-read on every reload. */
  int refreshing;
};

/* The modules loaded when neither the profile nor --module selects any. */
extern const char *const tc_builtin_modules[];

/* A registry starts zeroed (`struct tc_registry reg = {0};`) and must not
 * move while modules are loaded: each module's host table points at it.
 * Loading, start, stop and free run on the main thread. */

/* Load what cfg selects (or the built-ins), validate, init; freeze.
 * Returns 0, or -1 with *err (malloc()ed, one line). On error everything
 * already loaded stays in *reg and tc_registry_free() releases it. */
int tc_loader_load_all(struct tc_registry *reg, const struct tc_config *cfg,
                       char **err);

/* Load a single module by name or path using cfg's search path (cfg may be
 * NULL: then only the executable's and the installed directory are
 * searched). `settings` is the module's config map (NULL = none), `origin`
 * says who asked for it ("--module", "<file>:<line>"; may be NULL).
 * Refused once the registry is frozen. Returns 0 or -1 with *err. */
int tc_loader_load_one(struct tc_registry *reg, const struct tc_config *cfg,
                       const char *spec, const struct tc_kvlist *settings,
                       const char *origin, char **err);

/* Create and start the hook, net-hook and metrics-sink instances: net
 * hooks first, then hooks, then sinks, each kind in load order (create,
 * then start). On failure everything already started is stopped and
 * destroyed, and -1 is returned with *err naming the module and vtable.
 * Transports are not touched: the core creates one instance per binding. */
int tc_registry_start(struct tc_registry *reg, char **err);
/* For preflight checks (`doctor`): create the net-hook instances only, in
 * load order, without starting anything (no threads, no I/O), so that
 * tc_registry_net_prepare() prepares handles exactly as the agent would.
 * Same errors as tc_registry_start(); tc_registry_stop() destroys them.
 * Instead of tc_registry_start(), never after it. */
int tc_registry_create_nets(struct tc_registry *reg, char **err);
/* Stop, then destroy, every instance tc_registry_start() (or
 * tc_registry_create_nets()) made, in exactly the reverse order.
 * Idempotent. */
void tc_registry_stop(struct tc_registry *reg);

/* Run the net-hook chain on a libcurl easy handle (see host->net_prepare):
 * each net hook's prepare() in load order; TC_DECLINED moves on, < 0 stops
 * with *errmsg (malloc()ed). Hooks with a create() must have been started.
 * Any thread once started. */
int tc_registry_net_prepare(const struct tc_registry *reg, void *curl_easy,
                            int purpose, const char *url,
                            const struct tc_binding *binding, char **errmsg);

/* The admin-API state of the hook(s) registered by `module` (ABI 1.2
 * tc_hook_vtable.admin_state): the first started hook of that module with
 * an admin_state member fills *json (malloc()ed JSON object, caller frees).
 * Returns TC_OK; TC_ENOENT when the module is not loaded or has no such
 * hook (or it is not started); < 0 from the hook otherwise. Any thread
 * while the registry is started. */
int tc_registry_admin_state(const struct tc_registry *reg, const char *module,
                            char **json);

/* ---- reload (SIGHUP) -----------------------------------------------------
 * Net hooks flagged TC_NET_RECREATE_ON_RELOAD (ABI 1.3) get a new instance
 * that reads `next` through host->config_get; the others keep theirs, and
 * so do hooks and metrics sinks. Main thread. */
struct tc_registry_reload;

/* Point config_get at `next` and create+start the new net-hook instances.
 * Returns 0, or -1 with *err naming the net hook and module; then nothing
 * changed (config_get reads the previous configuration again). `next` must
 * stay valid until the following reload committed (or exit). */
int tc_registry_reload_prepare(struct tc_registry *reg,
                               const struct tc_config *next,
                               struct tc_registry_reload **out, char **err);
/* Route prepare() calls to the new instances; stop and destroy the old
 * ones once no prepare() runs on them. Frees r. Cannot fail. */
void tc_registry_reload_commit(struct tc_registry *reg,
                               struct tc_registry_reload *r);
/* Undo a prepare: the new instances are stopped and destroyed and
 * config_get reads the previous configuration. NULL is a no-op. */
void tc_registry_reload_abort(struct tc_registry *reg,
                              struct tc_registry_reload *r);
/* How many net hooks a reload recreates. */
size_t tc_registry_reloadable_nets(const struct tc_registry *reg);

/* Settings a reload cannot apply to the modules that read them: for each
 * key in `changed` that a module read through host->config_get in init(),
 * or in the create()/start() of an instance no reload recreates, one entry
 * "<key> (module <name>)" appended to *out (malloc()ed strings). 0, or -1
 * on ENOMEM. */
int tc_registry_fixed_settings(const struct tc_registry *reg,
                               char *const *changed, size_t n, char ***out,
                               size_t *out_count);

/* Stop (if started), call fini() in reverse load order, release config
 * blocks and bookkeeping, and zero *reg. Modules stay mapped (resident). */
void tc_registry_free(struct tc_registry *reg);

/* Lookups; NULL when absent. */
const struct tc_registered_transport *
tc_registry_transport(const struct tc_registry *reg, const char *name);
struct tc_loaded_module *tc_registry_module(const struct tc_registry *reg,
                                            const char *name);
const struct tc_registered_hook *tc_registry_hook(const struct tc_registry *reg,
                                                  const char *name);
const struct tc_registered_net *tc_registry_net(const struct tc_registry *reg,
                                                const char *name);
const struct tc_registered_sink *tc_registry_sink(const struct tc_registry *reg,
                                                  const char *name);

/* "transport,hook" style list of kinds (names: transport, hook, net,
 * metrics-sink), into buf; returns buf. */
const char *tc_kinds_string(unsigned kinds, char *buf, size_t len);
/* The name of one kind bit ("transport", ...), "unknown" otherwise. */
const char *tc_kind_name(unsigned kind_bit);

#endif /* TC_LOADER_LOADER_H */
