/* config/layers.c — which source wins for one key: an explicitly set flag,
 * then a non-empty env var, then the YAML profile, then a late env var
 * (OPENAI_API_KEY, which YAML api_key beats), then the default. Every value
 * is trimmed; list env vars are split on the key's separators. */
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"

void tc_cfg_pick_free(struct tc_cfg_pick *p) {
  for (size_t i = 0; i < p->count; i++) {
    free(p->items[i].text);
    free(p->items[i].where);
  }
  free(p->items);
  memset(p, 0, sizeof(*p));
}

static int add_item(struct tc_cfg_pick *p, char *text, char *where,
                    const yaml_node_t *node) {
  struct tc_cfg_item *n = realloc(p->items, (p->count + 1) * sizeof(*n));
  if (n == NULL || where == NULL) {
    if (n != NULL)
      p->items = n;
    free(text);
    free(where);
    return -1;
  }
  p->items = n;
  p->items[p->count].text = text;
  p->items[p->count].where = where;
  p->items[p->count].node = node;
  p->count++;
  return 0;
}

static bool is_list_type(int type) {
  return type == TC_T_LIST || type == TC_T_HEADERS || type == TC_T_URLBIND ||
         type == TC_T_CMDBIND || type == TC_T_TARGETS || type == TC_T_DIRS;
}

/* Split an env value into items. */
static int split_env(const struct tc_cfg_key *k, const char *name,
                     const char *v, struct tc_cfg_pick *out) {
  const char *p = v;
  for (;;) {
    size_t n = strcspn(p, k->env_split);
    char *piece = tc_cfg_strndup(p, n);
    char *t = piece != NULL ? tc_cfg_trimdup(piece) : NULL;
    free(piece);
    if (t == NULL)
      return -1;
    if (*t != '\0' || (k->flags & TC_F_KEEP_BLANKS)) {
      if (add_item(out, t, tc_cfg_strdup(name), NULL) != 0)
        return -1;
    } else {
      free(t);
    }
    if (p[n] == '\0')
      break;
    p += n + 1;
  }
  return 0;
}

/* 1 = the env var decided the key, 0 = unset (try the next layer). */
static int from_env(const struct tc_cfg_key *k, const char *name, bool late,
                    struct tc_cfg_pick *out, char **err) {
  const char *v = getenv(name);
  if (v == NULL)
    return 0;
  char *t = tc_cfg_trimdup(v);
  if (t == NULL)
    return tc_cfg_fail(err, "out of memory");
  out->layer = TC_L_ENV;
  out->source = name;
  if (*t == '\0') {
    free(t);
    if (k->type == TC_T_HEADERS)
      return 1; /* set but empty: drops the YAML map */
    if ((k->flags & TC_F_EMPTY_ERR) && !late)
      return tc_cfg_fail(err, "empty value in %s (unset %s or give it a value)",
                         name, name);
    out->layer = TC_L_NONE;
    out->source = NULL;
    return 0;
  }
  if (k->env_split != NULL && is_list_type(k->type)) {
    int rc = split_env(k, name, t, out);
    free(t);
    return rc == 0 ? 1 : tc_cfg_fail(err, "out of memory");
  }
  if (add_item(out, t, tc_cfg_strdup(name), NULL) != 0)
    return tc_cfg_fail(err, "out of memory");
  return 1;
}

static int from_yaml(const struct tc_cfg_key *k,
                     const struct tc_cfg_profile *prof,
                     struct tc_cfg_pick *out) {
  const yaml_node_t *n = prof->nodes[k->id];
  out->layer = TC_L_YAML;
  out->source = prof->path;
  if (n->type == YAML_SEQUENCE_NODE) {
    size_t idx = 0;
    for (yaml_node_item_t *it = n->data.sequence.items.start;
         it < n->data.sequence.items.top; it++, idx++) {
      const yaml_node_t *item = prof->doc.nodes.start + *it - 1;
      const char *s = tc_cfg_yaml_scalar(item);
      char *text = NULL;
      if (s != NULL && (text = tc_cfg_trimdup(s)) == NULL)
        return -1;
      char *where = tc_cfg_printf("%s:%d (%s[%zu])", prof->path,
                                  tc_cfg_yaml_line(item), k->yaml, idx);
      if (add_item(out, text, where, item) != 0)
        return -1;
    }
    return 0;
  }
  const char *s = tc_cfg_yaml_scalar(n);
  char *text = NULL;
  if (s != NULL && (text = tc_cfg_trimdup(s)) == NULL)
    return -1;
  return add_item(out, text, tc_cfg_yaml_where(prof, n, k->yaml), n);
}

int tc_cfg_pick_key(const struct tc_cfg_key *k, const struct tc_cfg_flagset *fs,
                    const struct tc_cfg_profile *prof, struct tc_cfg_pick *out,
                    char **err) {
  memset(out, 0, sizeof(*out));
  const char *spelled = NULL;
  const struct tc_cfg_flagvals *fv =
      fs != NULL ? tc_cfg_flags_get(fs, k->id, &spelled) : NULL;
  if (fv != NULL) {
    out->layer = TC_L_FLAG;
    out->source = spelled;
    for (size_t i = 0; i < fv->count; i++)
      if (add_item(out, tc_cfg_trimdup(fv->vals[i]),
                   tc_cfg_printf("--%s", spelled), NULL) != 0)
        goto oom;
    return 0;
  }
  if (k->env != NULL) {
    int rc = from_env(k, k->env, false, out, err);
    if (rc != 0)
      return rc < 0 ? -1 : 0;
  }
  if (prof != NULL && prof->nodes[k->id] != NULL) {
    if (from_yaml(k, prof, out) != 0)
      goto oom;
    return 0;
  }
  if (k->env_late != NULL) {
    int rc = from_env(k, k->env_late, true, out, err);
    if (rc != 0)
      return rc < 0 ? -1 : 0;
  }
  if (k->def != NULL) {
    out->layer = TC_L_DEFAULT;
    out->source = "default";
    if (add_item(out, tc_cfg_strdup(k->def), tc_cfg_strdup("default"), NULL) !=
        0)
      goto oom;
  }
  return 0;
oom:
  tc_cfg_pick_free(out);
  return tc_cfg_fail(err, "out of memory");
}
