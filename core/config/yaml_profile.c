/* config/yaml_profile.c — the strict YAML profile reader (libyaml).
 *
 * The whole file is loaded as one document; the schema comes from the key
 * table (sections are the parts before the first '.'), plus `config_version`
 * (optional, must be 1) and `modules`. Unknown keys, duplicate keys, wrong
 * node kinds and syntax errors are one line starting "<file>:<line>: ".
 * Nodes stay in the document; struct tc_cfg_profile maps keys to them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config_internal.h"

#define TC_PROFILE_MAX (1024 * 1024)

/* Keys allowed inside list items of the structured keys. */
static const char *const urlbind_keys[] = {
    "channel",     "url",        "unix_socket", "http_proxy",
    "client_cert", "client_key", "transport",   NULL};
static const char *const cmdbind_keys[] = {"channel", "command", "transport",
                                           NULL};
static const char *const target_keys[] = {"label", "url", "unix_socket",
                                          "description", NULL};
static const char *const module_keys[] = {"name", "path", "config", NULL};

static const char schema_hint[] =
    "see 'tunnel-client help' and docs/ for the profile schema";

const char *tc_cfg_yaml_scalar(const yaml_node_t *n) {
  if (n == NULL || n->type != YAML_SCALAR_NODE)
    return NULL;
  return (const char *)n->data.scalar.value;
}

int tc_cfg_yaml_line(const yaml_node_t *n) {
  return n != NULL ? (int)n->start_mark.line + 1 : 0;
}

bool tc_cfg_yaml_is_null(const yaml_node_t *n) {
  if (n == NULL)
    return true;
  if (n->type != YAML_SCALAR_NODE ||
      n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
    return false;
  const char *v = tc_cfg_yaml_scalar(n);
  return strcmp(v, "") == 0 || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
         strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

static yaml_node_t *node_at(const struct tc_cfg_profile *p, int index) {
  yaml_node_t *start = p->doc.nodes.start;
  if (index < 1 || start + index - 1 >= p->doc.nodes.top)
    return NULL;
  return start + index - 1;
}

yaml_node_t *tc_cfg_yaml_map_get(const struct tc_cfg_profile *p,
                                 const yaml_node_t *map, const char *key,
                                 int *line) {
  if (map == NULL || map->type != YAML_MAPPING_NODE)
    return NULL;
  for (yaml_node_pair_t *pr = map->data.mapping.pairs.start;
       pr < map->data.mapping.pairs.top; pr++) {
    yaml_node_t *k = node_at(p, pr->key);
    const char *ks = tc_cfg_yaml_scalar(k);
    if (ks != NULL && strcmp(ks, key) == 0) {
      if (line != NULL)
        *line = tc_cfg_yaml_line(k);
      return node_at(p, pr->value);
    }
  }
  return NULL;
}

char *tc_cfg_yaml_where(const struct tc_cfg_profile *prof, const yaml_node_t *n,
                        const char *key) {
  return tc_cfg_printf("%s:%d (%s)", prof->path, tc_cfg_yaml_line(n), key);
}

static int yfail(const struct tc_cfg_profile *p, const yaml_node_t *n,
                 char **err, const char *what, const char *key,
                 const char *fix) {
  return tc_cfg_fail(err, "%s:%d: %s \"%s\" (%s)", p->path, tc_cfg_yaml_line(n),
                     what, key, fix);
}

static const char *kind_name(const yaml_node_t *n) {
  switch (n->type) {
  case YAML_MAPPING_NODE:
    return "a mapping";
  case YAML_SEQUENCE_NODE:
    return "a list";
  default:
    return "a single value";
  }
}

static int wrong_kind(const struct tc_cfg_profile *p, const yaml_node_t *n,
                      const char *key, const char *want, const char *fix,
                      char **err) {
  return tc_cfg_fail(err, "%s:%d: %s must be %s, not %s (%s)", p->path,
                     tc_cfg_yaml_line(n), key, want, kind_name(n), fix);
}

/* Every key of `map` is a distinct plain string without NUL bytes. */
static int check_map_keys(const struct tc_cfg_profile *p,
                          const yaml_node_t *map, const char *path,
                          char **err) {
  for (yaml_node_pair_t *a = map->data.mapping.pairs.start;
       a < map->data.mapping.pairs.top; a++) {
    yaml_node_t *ka = node_at(p, a->key);
    const char *sa = tc_cfg_yaml_scalar(ka);
    if (sa == NULL || strlen(sa) != ka->data.scalar.length)
      return tc_cfg_fail(err,
                         "%s:%d: keys under %s must be plain strings (write "
                         "key: value)",
                         p->path, tc_cfg_yaml_line(ka),
                         *path != '\0' ? path : "the top level");
    for (yaml_node_pair_t *b = map->data.mapping.pairs.start; b < a; b++) {
      yaml_node_t *kb = node_at(p, b->key);
      if (strcmp(sa, tc_cfg_yaml_scalar(kb)) == 0) {
        char *full = *path != '\0' ? tc_cfg_printf("%s.%s", path, sa)
                                   : tc_cfg_strdup(sa);
        tc_cfg_fail(err,
                    "%s:%d: duplicate key \"%s\" (first set at line %d; keep "
                    "only one)",
                    p->path, tc_cfg_yaml_line(ka), full ? full : sa,
                    tc_cfg_yaml_line(kb));
        free(full);
        return -1;
      }
    }
  }
  return 0;
}

static int check_scalar(const struct tc_cfg_profile *p, const yaml_node_t *n,
                        const char *key, char **err) {
  if (n->type != YAML_SCALAR_NODE)
    return wrong_kind(p, n, key, "a single value", "write key: value", err);
  if (strlen(tc_cfg_yaml_scalar(n)) != n->data.scalar.length)
    return tc_cfg_fail(err, "%s:%d: %s contains a NUL byte (remove it)",
                       p->path, tc_cfg_yaml_line(n), key);
  return 0;
}

/* The closest candidate to `word`, when it is close enough. */
static const char *closest(const char *word, const char *const *cands,
                           size_t n) {
  const char *best = NULL;
  size_t wl = strlen(word);
  int limit = wl / 3 > 2 ? (int)(wl / 3) : 2;
  int best_d = limit + 1;
  for (size_t i = 0; i < n; i++) {
    int d = tc_cfg_edit_distance(word, cands[i]);
    if (d < best_d) {
      best_d = d;
      best = cands[i];
    }
  }
  return best;
}

/* "unknown key" with a did-you-mean among `cands` (full names) or the list
 * of valid keys. */
static int unknown_key(const struct tc_cfg_profile *p, const yaml_node_t *k,
                       const char *prefix, const char *name,
                       const char *const *cands, size_t n, char **err) {
  char *full = *prefix != '\0' ? tc_cfg_printf("%s.%s", prefix, name)
                               : tc_cfg_strdup(name);
  if (full == NULL)
    return tc_cfg_fail(err, "out of memory");
  const char *near = closest(name, cands, n);
  if (near != NULL) {
    char *fix = *prefix != '\0' ? tc_cfg_printf("did you mean \"%s.%s\"? %s",
                                                prefix, near, schema_hint)
                                : tc_cfg_printf("did you mean \"%s\"? %s", near,
                                                schema_hint);
    yfail(p, k, err, "unknown key", full, fix ? fix : schema_hint);
    free(fix);
  } else {
    size_t len = 64;
    for (size_t i = 0; i < n; i++)
      len += strlen(cands[i]) + 2;
    char *list = malloc(len);
    if (list != NULL) {
      size_t o = 0;
      o += (size_t)snprintf(list, len, "valid keys%s%s: ",
                            *prefix ? " under " : " at the top level", prefix);
      for (size_t i = 0; i < n && o < len; i++)
        o += (size_t)snprintf(list + o, len - o, "%s%s", i ? ", " : "",
                              cands[i]);
    }
    yfail(p, k, err, "unknown key", full, list ? list : schema_hint);
    free(list);
  }
  free(full);
  return -1;
}

/* A list item that is a mapping with keys from `allowed`, scalar values
 * (or, for modules, a `config:` mapping of scalars). */
static int check_item_map(const struct tc_cfg_profile *p,
                          const yaml_node_t *item, const char *path,
                          const char *const *allowed, char **err) {
  if (check_map_keys(p, item, path, err) != 0)
    return -1;
  size_t na = 0;
  while (allowed[na] != NULL)
    na++;
  for (yaml_node_pair_t *pr = item->data.mapping.pairs.start;
       pr < item->data.mapping.pairs.top; pr++) {
    yaml_node_t *k = node_at(p, pr->key), *v = node_at(p, pr->value);
    const char *ks = tc_cfg_yaml_scalar(k);
    bool known = false;
    for (size_t i = 0; i < na; i++)
      known = known || strcmp(ks, allowed[i]) == 0;
    if (!known)
      return unknown_key(p, k, path, ks, allowed, na, err);
    char *full = tc_cfg_printf("%s.%s", path, ks);
    if (full == NULL)
      return tc_cfg_fail(err, "out of memory");
    int rc = 0;
    if (allowed == module_keys && strcmp(ks, "config") == 0) {
      if (v->type != YAML_MAPPING_NODE && !tc_cfg_yaml_is_null(v)) {
        rc = wrong_kind(p, v, full, "a mapping", "write config: {key: value}",
                        err);
      } else if (v->type == YAML_MAPPING_NODE) {
        rc = check_map_keys(p, v, full, err);
        for (yaml_node_pair_t *c = v->data.mapping.pairs.start;
             rc == 0 && c < v->data.mapping.pairs.top; c++) {
          char *cf = tc_cfg_printf("%s.%s", full,
                                   tc_cfg_yaml_scalar(node_at(p, c->key)));
          rc = check_scalar(p, node_at(p, c->value), cf ? cf : full, err);
          free(cf);
        }
      }
    } else {
      rc = check_scalar(p, v, full, err);
    }
    free(full);
    if (rc != 0)
      return -1;
  }
  return 0;
}

/* Check the node of one key against its type. */
static int check_shape(const struct tc_cfg_profile *p,
                       const struct tc_cfg_key *k, const yaml_node_t *n,
                       char **err) {
  const char *const *item_keys = NULL;
  switch (k->type) {
  case TC_T_LIST:
    break;
  case TC_T_HEADERS:
    if (n->type != YAML_MAPPING_NODE)
      return wrong_kind(p, n, k->yaml, "a mapping",
                        "write one \"Header-Name: value\" per line under it",
                        err);
    if (check_map_keys(p, n, k->yaml, err) != 0)
      return -1;
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start;
         pr < n->data.mapping.pairs.top; pr++) {
      char *full = tc_cfg_printf("%s.%s", k->yaml,
                                 tc_cfg_yaml_scalar(node_at(p, pr->key)));
      int rc =
          check_scalar(p, node_at(p, pr->value), full ? full : k->yaml, err);
      free(full);
      if (rc != 0)
        return -1;
    }
    return 0;
  case TC_T_URLBIND:
    item_keys = urlbind_keys;
    break;
  case TC_T_CMDBIND:
    item_keys = cmdbind_keys;
    break;
  case TC_T_TARGETS:
    item_keys = target_keys;
    break;
  case TC_T_MODULES:
    item_keys = module_keys;
    break;
  default:
    return check_scalar(p, n, k->yaml, err);
  }
  if (n->type != YAML_SEQUENCE_NODE)
    return wrong_kind(p, n, k->yaml, "a list", "write one \"- item\" per line",
                      err);
  size_t idx = 0;
  for (yaml_node_item_t *it = n->data.sequence.items.start;
       it < n->data.sequence.items.top; it++, idx++) {
    yaml_node_t *item = node_at(p, *it);
    char *path = tc_cfg_printf("%s[%zu]", k->yaml, idx);
    if (path == NULL)
      return tc_cfg_fail(err, "out of memory");
    int rc;
    if (item_keys != NULL && item->type == YAML_MAPPING_NODE)
      rc = check_item_map(p, item, path, item_keys, err);
    else if (item_keys != NULL && item->type != YAML_SCALAR_NODE)
      rc = wrong_kind(p, item, path, "a value or a mapping",
                      "write - value or - {key: value}", err);
    else
      rc = check_scalar(p, item, path, err);
    free(path);
    if (rc != 0)
      return -1;
  }
  return 0;
}

/* Names valid at the top level. */
static const char *const top_names[] = {
    "config_version", "control_plane", "mcp",     "http_proxy",
    "ca_bundle",      "log",           "health",  "process",
    "admin_ui",       "proxy",         "harpoon", "cloudflared",
    "modules"};

/* Candidate names under a section ("" = top level), pointing into the key
 * table or top_names. */
static size_t section_names(const char *section, const char **out, size_t cap) {
  size_t n = 0, sl = strlen(section);
  if (sl == 0) {
    for (size_t i = 0; i < sizeof(top_names) / sizeof(top_names[0]); i++)
      if (n < cap)
        out[n++] = top_names[i];
    return n;
  }
  for (int id = 0; id < TC_K_COUNT && n < cap; id++) {
    const struct tc_cfg_key *k = tc_cfg_key_by_id(id);
    if (k->yaml != NULL && strncmp(k->yaml, section, sl) == 0 &&
        k->yaml[sl] == '.')
      out[n++] = k->yaml + sl + 1;
  }
  return n;
}

static bool is_section(const char *name) {
  size_t l = strlen(name);
  for (int id = 0; id < TC_K_COUNT; id++) {
    const struct tc_cfg_key *k = tc_cfg_key_by_id(id);
    if (k->yaml != NULL && strncmp(k->yaml, name, l) == 0 && k->yaml[l] == '.')
      return true;
  }
  return false;
}

static int store(struct tc_cfg_profile *p, const struct tc_cfg_key *k,
                 yaml_node_t *v, char **err) {
  if (tc_cfg_yaml_is_null(v))
    return 0; /* `key:` with no value = not set */
  if (check_shape(p, k, v, err) != 0)
    return -1;
  p->nodes[k->id] = v;
  return 0;
}

static int walk_section(struct tc_cfg_profile *p, const char *section,
                        yaml_node_t *map, char **err) {
  if (map->type != YAML_MAPPING_NODE)
    return wrong_kind(p, map, section, "a mapping", "indent its keys under it",
                      err);
  if (check_map_keys(p, map, section, err) != 0)
    return -1;
  for (yaml_node_pair_t *pr = map->data.mapping.pairs.start;
       pr < map->data.mapping.pairs.top; pr++) {
    yaml_node_t *k = node_at(p, pr->key), *v = node_at(p, pr->value);
    const char *name = tc_cfg_yaml_scalar(k);
    char *full = tc_cfg_printf("%s.%s", section, name);
    if (full == NULL)
      return tc_cfg_fail(err, "out of memory");
    const struct tc_cfg_key *key = tc_cfg_key_by_yaml(full);
    free(full);
    if (key == NULL) {
      const char *cands[64];
      size_t n = section_names(section, cands, 64);
      return unknown_key(p, k, section, name, cands, n, err);
    }
    if (store(p, key, v, err) != 0)
      return -1;
  }
  return 0;
}

static int check_version(const struct tc_cfg_profile *p, const yaml_node_t *v,
                         char **err) {
  if (tc_cfg_yaml_is_null(v))
    return 0;
  if (v->type != YAML_SCALAR_NODE)
    return wrong_kind(p, v, "config_version", "a number",
                      "write config_version: 1", err);
  const char *s = tc_cfg_yaml_scalar(v);
  if (strcmp(s, "1") != 0)
    return tc_cfg_fail(err,
                       "%s:%d: unsupported config_version \"%.32s\" (this "
                       "tunnel-client reads config_version: 1; set it to 1 "
                       "or remove it)",
                       p->path, tc_cfg_yaml_line(v), s);
  return 0;
}

static int walk_top(struct tc_cfg_profile *p, yaml_node_t *root, char **err) {
  if (root->type != YAML_MAPPING_NODE)
    return tc_cfg_fail(err,
                       "%s:%d: a profile must be a mapping of keys, not %s "
                       "(start with config_version: 1 and key: value lines)",
                       p->path, tc_cfg_yaml_line(root), kind_name(root));
  if (check_map_keys(p, root, "", err) != 0)
    return -1;
  for (yaml_node_pair_t *pr = root->data.mapping.pairs.start;
       pr < root->data.mapping.pairs.top; pr++) {
    yaml_node_t *k = node_at(p, pr->key), *v = node_at(p, pr->value);
    const char *name = tc_cfg_yaml_scalar(k);
    if (strcmp(name, "config_version") == 0) {
      if (check_version(p, v, err) != 0)
        return -1;
      continue;
    }
    const struct tc_cfg_key *key = tc_cfg_key_by_yaml(name);
    if (key != NULL) {
      if (store(p, key, v, err) != 0)
        return -1;
      continue;
    }
    if (is_section(name)) {
      if (!tc_cfg_yaml_is_null(v) && walk_section(p, name, v, err) != 0)
        return -1;
      continue;
    }
    const char *cands[64];
    size_t n = section_names("", cands, 64);
    return unknown_key(p, k, "", name, cands, n, err);
  }
  return 0;
}

static int read_all(const char *path, char **buf, size_t *len, char **err) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return tc_cfg_fail(err,
                       "cannot read profile %s: %s (check --config / "
                       "--profile-file / --profile and the file's "
                       "permissions)",
                       path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return tc_cfg_fail(err,
                       "cannot read profile %s: not a regular file "
                       "(point the option at a YAML file)",
                       path);
  }
  if (st.st_size > TC_PROFILE_MAX) {
    close(fd);
    return tc_cfg_fail(err,
                       "profile %s is larger than 1 MiB (is it the "
                       "right file?)",
                       path);
  }
  *buf = malloc((size_t)st.st_size + 1);
  if (*buf == NULL) {
    close(fd);
    return tc_cfg_fail(err, "out of memory");
  }
  size_t got = 0;
  while (got < (size_t)st.st_size) {
    ssize_t n = read(fd, *buf + got, (size_t)st.st_size - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    got += (size_t)n;
  }
  close(fd);
  (*buf)[got] = '\0';
  *len = got;
  return 0;
}

static int syntax_error(const struct tc_cfg_profile *p, const yaml_parser_t *ps,
                        char **err) {
  const char *problem = ps->problem != NULL ? ps->problem : "unreadable YAML";
  size_t line = ps->problem_mark.line + 1;
  if (ps->context != NULL)
    return tc_cfg_fail(err,
                       "%s:%zu: invalid YAML: %s %s started at line %zu (fix "
                       "the YAML syntax; indent with spaces and quote values "
                       "with special characters)",
                       p->path, line, problem, ps->context,
                       ps->context_mark.line + 1);
  return tc_cfg_fail(err,
                     "%s:%zu: invalid YAML: %s (fix the YAML syntax; indent "
                     "with spaces and quote values with special characters)",
                     p->path, line, problem);
}

int tc_cfg_profile_read(struct tc_cfg_profile *p, const char *path,
                        char **err) {
  memset(p, 0, sizeof(*p));
  p->path = tc_cfg_strdup(path);
  if (p->path == NULL)
    return tc_cfg_fail(err, "out of memory");
  char *buf = NULL;
  size_t len = 0;
  if (read_all(path, &buf, &len, err) != 0)
    return -1;
  yaml_parser_t ps;
  if (!yaml_parser_initialize(&ps)) {
    free(buf);
    return tc_cfg_fail(err, "out of memory");
  }
  yaml_parser_set_input_string(&ps, (const unsigned char *)buf, len);
  int rc = 0;
  if (!yaml_parser_load(&ps, &p->doc)) {
    rc = syntax_error(p, &ps, err);
  } else {
    p->loaded = true;
    yaml_node_t *root = yaml_document_get_root_node(&p->doc);
    if (root != NULL) {
      /* A second document is refused (and a syntax error after the first
       * one is still reported). */
      yaml_document_t extra;
      if (!yaml_parser_load(&ps, &extra)) {
        rc = syntax_error(p, &ps, err);
      } else {
        yaml_node_t *r2 = yaml_document_get_root_node(&extra);
        if (r2 != NULL && !tc_cfg_yaml_is_null(r2))
          rc = tc_cfg_fail(err,
                           "%s:%d: the profile holds more than one YAML "
                           "document (keep one; remove the '---' line)",
                           p->path, tc_cfg_yaml_line(r2));
        yaml_document_delete(&extra);
      }
      if (rc == 0 && !tc_cfg_yaml_is_null(root))
        rc = walk_top(p, root, err);
    }
  }
  yaml_parser_delete(&ps);
  free(buf);
  return rc;
}

void tc_cfg_profile_free(struct tc_cfg_profile *p) {
  if (p->loaded)
    yaml_document_delete(&p->doc);
  free(p->path);
  memset(p, 0, sizeof(*p));
}
