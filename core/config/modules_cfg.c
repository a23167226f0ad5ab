/* config/modules_cfg.c — which modules to load and where to look.
 *
 * --module NAME|PATH (repeatable) replaces the profile's `modules:` list.
 * A list entry is a string (name or path) or a mapping {name: X} or
 * {path: P} with an optional `config:` mapping of scalar settings, kept with
 * "<file>:<line>" origins for the loader's messages.
 * Module directories: every --modules.dir, then every entry of
 * TUNNEL_CLIENT_MODULE_PATH (colon-separated, empty entries skipped). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"

static int push_dir(struct tc_config *cfg, const char *dir, char **err) {
  char **n =
      realloc(cfg->module_dirs, (cfg->module_dir_count + 1) * sizeof(*n));
  if (n == NULL)
    return tc_cfg_fail(err, "out of memory");
  cfg->module_dirs = n;
  n[cfg->module_dir_count] = tc_cfg_strdup(dir);
  if (n[cfg->module_dir_count] == NULL)
    return tc_cfg_fail(err, "out of memory");
  cfg->module_dir_count++;
  return 0;
}

static int load_dirs(struct tc_config *cfg, const struct tc_cfg_flagset *fs,
                     char **err) {
  const char *spelled = NULL;
  const struct tc_cfg_flagvals *fv =
      tc_cfg_flags_get(fs, TC_K_MODULE_DIRS, &spelled);
  for (size_t i = 0; fv != NULL && i < fv->count; i++) {
    char *d = tc_cfg_trimdup(fv->vals[i]);
    if (d == NULL)
      return tc_cfg_fail(err, "out of memory");
    int rc = *d == '\0'
                 ? tc_cfg_fail(err, "empty value in --modules.dir (give a "
                                    "directory or drop the flag)")
                 : push_dir(cfg, d, err);
    free(d);
    if (rc != 0)
      return -1;
  }
  const char *env = getenv("TUNNEL_CLIENT_MODULE_PATH");
  for (const char *p = env; p != NULL && *p != '\0';) {
    size_t n = strcspn(p, ":");
    char *raw = tc_cfg_strndup(p, n);
    char *d = raw != NULL ? tc_cfg_trimdup(raw) : NULL;
    free(raw);
    if (d == NULL)
      return tc_cfg_fail(err, "out of memory");
    int rc = *d != '\0' ? push_dir(cfg, d, err) : 0;
    free(d);
    if (rc != 0)
      return -1;
    p += n;
    if (*p == ':')
      p++;
  }
  return 0;
}

static struct tc_module_req *new_req(struct tc_config *cfg, char **err) {
  struct tc_module_req *n =
      realloc(cfg->modules, (cfg->module_count + 1) * sizeof(*n));
  if (n == NULL) {
    tc_cfg_fail(err, "out of memory");
    return NULL;
  }
  cfg->modules = n;
  memset(&n[cfg->module_count], 0, sizeof(n[0]));
  return &n[cfg->module_count++];
}

static bool module_name_ok(const char *v) {
  if (*v == '\0' || strlen(v) > 128)
    return false;
  for (const char *p = v; *p != '\0'; p++)
    if (!(isalnum((unsigned char)*p) || *p == '-' || *p == '_' || *p == '.'))
      return false;
  return true;
}

static int settings_from_map(const struct tc_cfg_profile *prof,
                             const yaml_node_t *map, struct tc_kvlist **out,
                             char **err) {
  *out = calloc(1, sizeof(**out));
  if (*out == NULL)
    return tc_cfg_fail(err, "out of memory");
  for (yaml_node_pair_t *pr = map->data.mapping.pairs.start;
       pr < map->data.mapping.pairs.top; pr++) {
    const yaml_node_t *k = prof->doc.nodes.start + pr->key - 1;
    const yaml_node_t *v = prof->doc.nodes.start + pr->value - 1;
    char *origin = tc_cfg_printf("%s:%d", prof->path, tc_cfg_yaml_line(k));
    char *value =
        tc_cfg_yaml_is_null(v) ? NULL : tc_cfg_trimdup(tc_cfg_yaml_scalar(v));
    int rc = origin != NULL
                 ? tc_kvlist_set(*out, tc_cfg_yaml_scalar(k), value, origin)
                 : -1;
    free(origin);
    free(value);
    if (rc != 0)
      return tc_cfg_fail(err, "out of memory");
  }
  return 0;
}

static int from_map(struct tc_config *cfg, const struct tc_cfg_profile *prof,
                    const struct tc_cfg_item *it, char **err) {
  int line = 0;
  const yaml_node_t *name = tc_cfg_yaml_map_get(prof, it->node, "name", &line);
  const yaml_node_t *path = tc_cfg_yaml_map_get(prof, it->node, "path", &line);
  const yaml_node_t *conf =
      tc_cfg_yaml_map_get(prof, it->node, "config", &line);
  if (tc_cfg_yaml_is_null(name))
    name = NULL;
  if (tc_cfg_yaml_is_null(path))
    path = NULL;
  if ((name == NULL) == (path == NULL))
    return tc_cfg_fail(err,
                       "%s: a modules entry needs exactly one of name: or "
                       "path: (write - name: mcp-http or - path: "
                       "/path/to/module.so)",
                       it->where);
  char *spec = tc_cfg_trimdup(tc_cfg_yaml_scalar(name != NULL ? name : path));
  if (spec == NULL)
    return tc_cfg_fail(err, "out of memory");
  if (name != NULL && !module_name_ok(spec)) {
    tc_cfg_bad(err, "invalid module name", it->where, spec,
               "a module name is letters, digits, '-', '_' or '.'; use path: "
               "for a file");
    free(spec);
    return -1;
  }
  if (*spec == '\0') {
    free(spec);
    return tc_cfg_fail(err, "empty module path in %s (give the .so path)",
                       it->where);
  }
  struct tc_module_req *r = new_req(cfg, err);
  if (r == NULL) {
    free(spec);
    return -1;
  }
  r->spec = spec;
  r->origin = tc_cfg_printf("%s:%d", prof->path, tc_cfg_yaml_line(it->node));
  if (r->origin == NULL)
    return tc_cfg_fail(err, "out of memory");
  if (conf != NULL && conf->type == YAML_MAPPING_NODE)
    return settings_from_map(prof, conf, &r->settings, err);
  return 0;
}

int tc_cfg_modules_load(struct tc_config *cfg, const struct tc_cfg_flagset *fs,
                        const struct tc_cfg_profile *prof, char **err) {
  if (load_dirs(cfg, fs, err) != 0)
    return -1;
  struct tc_cfg_pick pick;
  int rc =
      tc_cfg_pick_key(tc_cfg_key_by_id(TC_K_MODULES), fs, prof, &pick, err);
  for (size_t i = 0; rc == 0 && i < pick.count; i++) {
    const struct tc_cfg_item *it = &pick.items[i];
    if (it->node != NULL && it->node->type == YAML_MAPPING_NODE) {
      rc = from_map(cfg, prof, it, err);
      continue;
    }
    if (it->text == NULL || *it->text == '\0') {
      rc = tc_cfg_fail(err,
                       "empty module in %s (give a module name or a .so "
                       "path)",
                       it->where);
      continue;
    }
    struct tc_module_req *r = new_req(cfg, err);
    if (r == NULL) {
      rc = -1;
      continue;
    }
    r->spec = tc_cfg_strdup(it->text);
    r->origin =
        pick.layer == TC_L_FLAG
            ? tc_cfg_strdup("--module")
            : tc_cfg_printf("%s:%d", prof->path, tc_cfg_yaml_line(it->node));
    if (r->spec == NULL || r->origin == NULL)
      rc = tc_cfg_fail(err, "out of memory");
  }
  tc_cfg_pick_free(&pick);
  return rc;
}
