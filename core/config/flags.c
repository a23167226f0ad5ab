/* config/flags.c — argv parsing (pflag-style): `--name value`,
 * `--name=value`, booleans as `--flag` or `--flag=true|false`, `--` ends
 * the flags. Config flags come from the key table; the command's own flags
 * (struct tc_cmd_flag) are matched first. Values are borrowed from argv. */
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"

static int push(struct tc_cfg_flagvals *fv, const char *v) {
  const char **n = realloc(fv->vals, (fv->count + 1) * sizeof(*n));
  if (n == NULL)
    return -1;
  n[fv->count++] = v;
  fv->vals = n;
  return 0;
}

void tc_cfg_flags_free(struct tc_cfg_flagset *fs) {
  for (size_t i = 0; i < TC_K_COUNT; i++) {
    free(fs->canon[i].vals);
    free(fs->alias[i].vals);
  }
  memset(fs, 0, sizeof(*fs));
}

const struct tc_cfg_flagvals *tc_cfg_flags_get(const struct tc_cfg_flagset *fs,
                                               int id, const char **spelled) {
  const struct tc_cfg_key *k = tc_cfg_key_by_id(id);
  if (k == NULL)
    return NULL;
  if (fs->canon[id].count > 0) {
    *spelled = k->flag;
    return &fs->canon[id];
  }
  if (fs->alias[id].count > 0) {
    *spelled = k->alias;
    return &fs->alias[id];
  }
  return NULL;
}

static const struct tc_cmd_flag *find_extra(const struct tc_cmd_flag *extra,
                                            const char *name, size_t len) {
  for (; extra != NULL && extra->name != NULL; extra++)
    if (strlen(extra->name) == len && memcmp(extra->name, name, len) == 0)
      return extra;
  return NULL;
}

static int unknown_flag(const char *name, size_t len, char **err) {
  char *n = tc_cfg_strndup(name, len);
  if (n == NULL)
    return tc_cfg_fail(err, "out of memory");
  const char *near = tc_cfg_flag_suggest(n);
  if (near != NULL)
    tc_cfg_fail(err, "unknown flag --%s (did you mean --%s?)", n, near);
  else
    tc_cfg_fail(err,
                "unknown flag --%s (run 'tunnel-client help' to list the "
                "flags)",
                n);
  free(n);
  return -1;
}

/* The value of a valued flag: inline after '=', or the next argument. */
static int take_value(int argc, char *const argv[], int *i, const char *eq,
                      const char *name, size_t len, const char **out,
                      char **err) {
  if (eq != NULL) {
    *out = eq + 1;
    return 0;
  }
  if (*i + 1 >= argc)
    return tc_cfg_fail(err, "flag --%.*s needs a value (use --%.*s VALUE)",
                       (int)len, name, (int)len, name);
  *out = argv[++*i];
  return 0;
}

static int bool_value(const char *eq, const char *name, size_t len, bool *out,
                      char **err) {
  if (eq == NULL) {
    *out = true;
    return 0;
  }
  if (tc_cfg_parse_bool(eq + 1, out) != 0)
    return tc_cfg_fail(err,
                       "invalid boolean in --%.*s: \"%s\" (use --%.*s, "
                       "--%.*s=true or --%.*s=false)",
                       (int)len, name, eq + 1, (int)len, name, (int)len, name,
                       (int)len, name);
  return 0;
}

static int add_positional(char *a, char ***positionals, size_t *count,
                          char **err) {
  if (positionals == NULL) {
    /* Never echo something that looks like a key. */
    if (tc_cfg_has_prefix_ci(a, "sk-") || strlen(a) > 80)
      return tc_cfg_fail(err, "unexpected argument (this command takes only "
                              "flags; run 'tunnel-client help')");
    return tc_cfg_fail(err,
                       "unexpected argument \"%s\" (this command takes only "
                       "flags; run 'tunnel-client help')",
                       a);
  }
  char **n = realloc(*positionals, (*count + 1) * sizeof(*n));
  if (n == NULL)
    return tc_cfg_fail(err, "out of memory");
  n[(*count)++] = a;
  *positionals = n;
  return 0;
}

int tc_cfg_flags_parse(struct tc_cfg_flagset *fs, int argc, char *const argv[],
                       const struct tc_cmd_flag *extra, char ***positionals,
                       size_t *positional_count, char **err) {
  size_t dummy = 0;
  if (positional_count == NULL)
    positional_count = &dummy;
  bool only_positionals = false;
  for (int i = 0; i < argc; i++) {
    char *a = argv[i];
    if (only_positionals || a[0] != '-' || a[1] == '\0') {
      if (add_positional(a, positionals, positional_count, err) != 0)
        return -1;
      continue;
    }
    if (strcmp(a, "--") == 0) {
      only_positionals = true;
      continue;
    }
    if (a[1] != '-') {
      int shown = (int)strcspn(a, "=");
      return tc_cfg_fail(err,
                         "unknown flag %.*s (flags take two dashes, e.g. "
                         "-%.*s)",
                         shown, a, shown, a);
    }
    const char *name = a + 2;
    const char *eq = strchr(name, '=');
    size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
    if (len == 0)
      return tc_cfg_fail(err, "malformed flag \"--=\" (use --name value)");

    const struct tc_cmd_flag *cf = find_extra(extra, name, len);
    if (cf != NULL) {
      if (!cf->takes_value) {
        bool b = false;
        if (bool_value(eq, name, len, &b, err) != 0)
          return -1;
        if (cf->bool_out != NULL)
          *cf->bool_out = b;
      } else {
        const char *v = NULL;
        if (take_value(argc, argv, &i, eq, name, len, &v, err) != 0)
          return -1;
        if (cf->value_out != NULL)
          *cf->value_out = v;
      }
      continue;
    }

    bool is_alias = false;
    const struct tc_cfg_key *k = tc_cfg_key_by_flag(name, len, &is_alias);
    if (k == NULL)
      return unknown_flag(name, len, err);
    const char *v = NULL;
    if (k->type == TC_T_BOOL) {
      bool b = false;
      if (bool_value(eq, name, len, &b, err) != 0)
        return -1;
      v = b ? "true" : "false";
    } else if (take_value(argc, argv, &i, eq, name, len, &v, err) != 0) {
      return -1;
    }
    struct tc_cfg_flagvals *fv =
        is_alias ? &fs->alias[k->id] : &fs->canon[k->id];
    if (!(k->flags & TC_F_REPEAT))
      fv->count = 0; /* the last one wins */
    if (push(fv, v) != 0)
      return tc_cfg_fail(err, "out of memory");
  }
  return 0;
}
