/* loader/loader.c — open modules with libltdl, validate the descriptor,
 * fill the declarative config, run init(), and release everything at the
 * end. Main thread only, before any other thread starts (libltdl is not
 * thread-safe). */
#include "loader/loader.h"

#include <ltdl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "loader/loader_internal.h"
#include "util/log.h"
#include "util/sbuf.h"

const char *const tc_builtin_modules[] = {
    "mcp-http",           "mcp-stdio",      "auth-oauth", "proxy",
    "metrics-prometheus", "metrics-statsd", NULL};

char *tc_loader_fmt(const char *fmt, ...) {
  struct tc_sbuf b = TC_SBUF_INIT;
  va_list ap;
  va_start(ap, fmt);
  tc_sbuf_vprintf(&b, fmt, ap);
  va_end(ap);
  return tc_sbuf_finish(&b);
}

static int ld_fail(char **err, char *msg) {
  *err = msg != NULL ? msg : strdup("out of memory");
  return -1;
}

/* Open `path` with local symbol scope, resident. NULL + *err on failure. */
static lt_dlhandle ld_open(const char *path, char **err) {
  static int ltdl_ready;
  if (!ltdl_ready) {
    if (lt_dlinit() != 0) {
      const char *why = lt_dlerror();
      ld_fail(err, tc_loader_fmt("module %s: cannot initialise libltdl: %s "
                                 "(check the libltdl installation)",
                                 path, why ? why : "unknown error"));
      return NULL;
    }
    ltdl_ready = 1;
  }
  lt_dladvise advise;
  lt_dlhandle h = NULL;
  if (lt_dladvise_init(&advise) == 0) {
    if (lt_dladvise_local(&advise) == 0 && lt_dladvise_resident(&advise) == 0)
      h = lt_dlopenadvise(path, advise);
    lt_dladvise_destroy(&advise);
  }
  if (h == NULL) {
    const char *why = lt_dlerror();
    ld_fail(err, tc_loader_fmt("module %s: cannot be loaded: %s (check that "
                               "it is a shared object built for this "
                               "platform and that its libraries are "
                               "installed)",
                               path, why ? why : "unknown error"));
  }
  return h;
}

/* Replace control characters in a module-supplied message (one line). */
static void ld_one_line(char *s) {
  for (; s != NULL && *s; s++)
    if ((unsigned char)*s < 0x20)
      *s = ' ';
}

/* Run init() for a prepared entry and judge what it registered. */
static int ld_init(struct tc_module_entry *e, char **err) {
  const struct tc_module *d = e->pub.desc;
  char *msg = NULL;
  e->registering = 1;
  int rc = d->init(&e->pub.host, &e->registrar, e->pub.config_block, &msg);
  e->registering = 0;
  ld_one_line(msg);
  void (*fini)(const struct tc_host *) = tc_module_fini_fn(d);
  if (e->reg_error != NULL) {
    ld_fail(err, tc_loader_fmt("module %s: %s", e->pub.path, e->reg_error));
  } else if (rc != TC_OK) {
    ld_fail(err, tc_loader_fmt("module %s: init failed: %s (%s; fix the "
                               "module's settings or see its log lines)",
                               e->pub.path, msg ? msg : tc_strerror(rc),
                               tc_errname(rc)));
  } else if (e->pub.kinds == 0) {
    ld_fail(err, tc_loader_fmt("module %s: init registered nothing (a module "
                               "must register at least one transport, hook, "
                               "net hook or metrics sink during init)",
                               e->pub.path));
  } else {
    free(msg);
    e->pub.initialised = 1;
    return 0;
  }
  free(msg);
  if (rc == TC_OK && fini != NULL)
    fini(&e->pub.host);
  tc_registry_drop_owner(e->reg, &e->pub);
  return -1;
}

static void ld_entry_free(struct tc_module_entry *e) {
  if (e == NULL)
    return;
  tc_module_config_free(e->pub.desc, e->pub.config_block);
  free(e->pub.path);
  free(e->reg_error);
  tc_host_release(e);
  free(e);
}

int tc_loader_load_one(struct tc_registry *reg, const struct tc_config *cfg,
                       const char *spec, const struct tc_kvlist *settings,
                       const char *origin, char **err) {
  *err = NULL;
  if (reg->frozen)
    return ld_fail(err, tc_loader_fmt("module \"%s\": modules can only be "
                                      "loaded at start-up (the registry is "
                                      "frozen)",
                                      spec ? spec : ""));
  if (reg->cfg == NULL)
    reg->cfg = cfg;
  char *path = NULL;
  if (tc_loader_resolve(cfg, spec, origin, &path, err) != 0)
    return -1;
  lt_dlhandle h = ld_open(path, err);
  if (h == NULL) {
    free(path);
    return -1;
  }
  const struct tc_module *d = lt_dlsym(h, "tc_module");
  if (d == NULL) {
    ld_fail(err, tc_loader_fmt("module %s: not a tunnel-client module: it "
                               "exports no \"tc_module\" symbol (define the "
                               "descriptor with TC_MODULE_DEFINE and build "
                               "with tc_add_module)",
                               path));
    free(path);
    return -1;
  }
  /* Everything below reads data only: no module code runs before init. */
  if (tc_module_check_header(d, path, TC_ABI_MAJOR, TC_ABI_MINOR, err) != 0) {
    free(path);
    return -1;
  }
  struct tc_loaded_module *other = tc_registry_module(reg, d->name);
  if (other != NULL) {
    ld_fail(err, tc_loader_fmt("module %s: duplicate module name \"%s\": "
                               "already loaded from %s (list each module "
                               "once, and keep one of the two files)",
                               path, d->name, other->path));
    free(path);
    return -1;
  }
  void *block = NULL;
  if (tc_module_config_check(d, path, err) != 0 ||
      tc_module_config_fill(d, path, settings, &block, err) != 0) {
    free(path);
    return -1;
  }
  struct tc_loaded_module **mods =
      realloc(reg->modules, (reg->module_count + 1) * sizeof(*mods));
  struct tc_module_entry *e = calloc(1, sizeof(*e));
  if (mods != NULL)
    reg->modules = mods;
  if (mods == NULL || e == NULL) {
    free(e);
    tc_module_config_free(d, block);
    free(path);
    return ld_fail(err, tc_loader_fmt("module %s: out of memory", spec));
  }
  e->pub.desc = d;
  e->pub.path = path;
  e->pub.handle = h;
  e->pub.config_block = block;
  e->reg = reg;
  tc_host_bind(e);
  tc_registrar_bind(e);
  if (ld_init(e, err) != 0) {
    ld_entry_free(e);
    return -1;
  }
  reg->modules[reg->module_count++] = &e->pub;
  tc_logf(TC_LOG_DEBUG, "loader", "loaded module %s %s (ABI %u.%u) from %s",
          d->name, d->version, (unsigned)d->abi_major, (unsigned)d->abi_minor,
          e->pub.path);
  return 0;
}

int tc_loader_load_all(struct tc_registry *reg, const struct tc_config *cfg,
                       char **err) {
  *err = NULL;
  reg->cfg = cfg;
  if (cfg != NULL && cfg->module_count > 0) {
    for (size_t i = 0; i < cfg->module_count; i++) {
      const struct tc_module_req *r = &cfg->modules[i];
      if (tc_loader_load_one(reg, cfg, r->spec, r->settings, r->origin, err) !=
          0)
        return -1;
    }
  } else {
    for (size_t i = 0; tc_builtin_modules[i] != NULL; i++)
      if (tc_loader_load_one(reg, cfg, tc_builtin_modules[i], NULL,
                             "the built-in module list", err) != 0)
        return -1;
  }
  reg->frozen = 1;
  return 0;
}

void tc_registry_free(struct tc_registry *reg) {
  if (reg == NULL)
    return;
  tc_registry_stop(reg);
  for (size_t i = reg->module_count; i-- > 0;) {
    struct tc_module_entry *e = (struct tc_module_entry *)reg->modules[i];
    void (*fini)(const struct tc_host *) = tc_module_fini_fn(e->pub.desc);
    if (e->pub.initialised && fini != NULL)
      fini(&e->pub.host);
    ld_entry_free(e);
  }
  free(reg->modules);
  tc_registry_free_tables(reg);
  memset(reg, 0, sizeof(*reg));
}
