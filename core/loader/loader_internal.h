/* loader/loader_internal.h — pieces shared by the loader's files; not for
 * the rest of the core (use loader.h). Main thread only unless noted. */
#ifndef TC_LOADER_LOADER_INTERNAL_H
#define TC_LOADER_LOADER_INTERNAL_H

#include <stddef.h>

#include "loader/loader.h"

/* What the loader keeps per module. `pub` comes first: the registry's
 * modules[] point at it and the entry is found back by a cast. */
struct tc_module_entry {
  struct tc_loaded_module pub;
  struct tc_registry *reg;       /* the registry it belongs to */
  struct tc_registrar registrar; /* handed to init(); open only during it */
  int registering;               /* 1 while init() runs */
  char *reg_error;               /* first registrar refusal, malloc()ed */
  /* host_api.c: every distinct string config_get returned (they stay valid
   * until exit, also across reloads), and the keys read outside a
   * refreshing net-hook create/start. Freed with the entry. */
  char **interned;
  size_t interned_count;
  char **fixed_keys;
  size_t fixed_key_count;
};

/* ---- reload.c ------------------------------------------------------------ */

/* 1 when a reload recreates instances of this net hook (ABI 1.3 flag). */
int tc_net_recreated_on_reload(const struct tc_net_vtable *vt);

/* ---- host_api.c (also) --------------------------------------------------- */

/* Release what host_api.c keeps in e. */
void tc_host_release(struct tc_module_entry *e);

/* printf into a malloc()ed string; NULL on ENOMEM. Any thread. */
char *tc_loader_fmt(const char *fmt, ...) TC_PRINTF(1, 2);

/* ---- search_path.c ------------------------------------------------------- */

/* The directories searched for a bare module name, in order (see
 * loader.h). *dirs is malloc()ed, each entry malloc()ed; free with
 * tc_loader_dirs_free(). Returns the count (0 on ENOMEM). */
size_t tc_loader_search_dirs(const struct tc_config *cfg, char ***dirs);
void tc_loader_dirs_free(char **dirs, size_t n);

/* Resolve a spec ("mcp-http", "./x.so", "/p/x.so") to an existing regular
 * file. Returns 0 with *path (malloc()ed, canonical when possible), or -1
 * with *err naming the spec, the places looked at and what to do. */
int tc_loader_resolve(const struct tc_config *cfg, const char *spec,
                      const char *origin, char **path, char **err);

/* ---- descriptor_check.c -------------------------------------------------- */

/* The smallest struct_size a descriptor may declare: ABI 1.0's header
 * (magic .. version) plus init. */
size_t tc_module_min_struct_size(void);

/* Validate a descriptor header against a host ABI version without calling
 * any of its code: magic, major == host_major, minor <= host_minor,
 * struct_size, name, version, init. Returns 0, or -1 with *err
 * ("module <file>: <rule> (<remedy>)"). */
int tc_module_check_header(const struct tc_module *m, const char *file,
                           unsigned host_major, unsigned host_minor,
                           char **err);

/* Optional descriptor fields, read only when inside struct_size. */
const char *tc_module_summary(const struct tc_module *m);
const struct tc_config_field *
tc_module_config_fields(const struct tc_module *m);
size_t tc_module_config_size(const struct tc_module *m);
void (*tc_module_fini_fn(const struct tc_module *m))(const struct tc_host *);

/* ---- module_config.c ----------------------------------------------------- */

/* Check a module's declared config table (types, keys, offsets inside
 * config_size, alignment, parseable in-bounds defaults). 0 or -1 + *err. */
int tc_module_config_check(const struct tc_module *m, const char *file,
                           char **err);

/* Fill a calloc()ed block of config_size bytes from `settings`: defaults
 * first, then each setting (unknown keys refused, naming the key's origin
 * and the module). SECRET values resolve env:NAME / file:PATH and are
 * registered with the redactor. *block is NULL when the module declares no
 * config (then any setting is an unknown key). Returns 0, or -1 + *err
 * (never containing a secret value). Call tc_module_config_check() first. */
int tc_module_config_fill(const struct tc_module *m, const char *file,
                          const struct tc_kvlist *settings, void **block,
                          char **err);

/* Free the strings a filled block owns and the block itself. */
void tc_module_config_free(const struct tc_module *m, void *block);

/* Human text for `modules describe`: the type name, and a field's bounds
 * ("" when unbounded) into buf. Durations print Go-style ("1m30s"). */
const char *tc_config_type_name(int type);
const char *tc_config_field_bounds(const struct tc_config_field *f, char *buf,
                                   size_t len);
/* Milliseconds as a Go-style duration ("0s", "250ms", "1m30s", "2h"). */
const char *tc_format_duration_ms(int64_t ms, char *buf, size_t len);

/* ---- registry.c ---------------------------------------------------------- */

/* Prepare e->registrar (bound to e) for init(). */
void tc_registrar_bind(struct tc_module_entry *e);
/* Forget every vtable registered by `owner` (a refused module). */
void tc_registry_drop_owner(struct tc_registry *reg,
                            const struct tc_loaded_module *owner);
/* Free the registry's vtable arrays (not the modules). */
void tc_registry_free_tables(struct tc_registry *reg);

/* ---- host_api.c ---------------------------------------------------------- */

/* Fill e->pub.host for module e (its name, the registry, every member). */
void tc_host_bind(struct tc_module_entry *e);

#endif /* TC_LOADER_LOADER_INTERNAL_H */
