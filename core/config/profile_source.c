/* config/profile_source.c — profile selection and the profile directory
 * (see profiles.h and reference/cli.md §3). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config/config_internal.h"
#include "config/profiles.h"

bool tc_profile_name_ok(const char *name) {
  if (name == NULL || !isalnum((unsigned char)name[0]))
    return false;
  size_t n = strlen(name);
  if (n > 128)
    return false;
  for (size_t i = 1; i < n; i++) {
    unsigned char c = (unsigned char)name[i];
    if (!(isalnum(c) || c == '.' || c == '_' || c == '-'))
      return false;
  }
  /* Only ASCII letters and digits: isalnum() is locale-dependent. */
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)name[i] >= 0x80)
      return false;
  return true;
}

/* getenv() with "" treated as unset. */
static const char *env_nonempty(const char *name) {
  const char *v = getenv(name);
  return v != NULL && *v != '\0' ? v : NULL;
}

int tc_profile_dir(const char *flag_dir, char **out, char **err) {
  *out = NULL;
  if (flag_dir != NULL && *flag_dir != '\0')
    *out = tc_cfg_strdup(flag_dir);
  else if (env_nonempty("TUNNEL_CLIENT_PROFILE_DIR") != NULL)
    *out = tc_cfg_strdup(getenv("TUNNEL_CLIENT_PROFILE_DIR"));
  else if (env_nonempty("XDG_CONFIG_HOME") != NULL)
    *out = tc_cfg_printf("%s/tunnel-client", getenv("XDG_CONFIG_HOME"));
  else if (env_nonempty("HOME") != NULL)
    *out = tc_cfg_printf("%s/.config/tunnel-client", getenv("HOME"));
  else
    return tc_cfg_fail(err,
                       "cannot find the profile directory: HOME is not set "
                       "(set --profile-dir or TUNNEL_CLIENT_PROFILE_DIR)");
  if (*out == NULL)
    return tc_cfg_fail(err, "out of memory");
  /* Drop trailing slashes (but keep "/"). */
  size_t n = strlen(*out);
  while (n > 1 && (*out)[n - 1] == '/')
    (*out)[--n] = '\0';
  return 0;
}

int tc_profile_path(const char *dir, const char *name, char **out, char **err) {
  *out = NULL;
  if (!tc_profile_name_ok(name))
    return tc_cfg_fail(err,
                       "invalid profile name \"%.128s\" (use 1 to 128 letters, "
                       "digits, '.', '_' or '-', starting with a letter or "
                       "digit)",
                       name);
  *out = tc_cfg_printf("%s/%s.yaml", dir, name);
  if (*out == NULL)
    return tc_cfg_fail(err, "out of memory");
  return 0;
}

static bool ends_with_yaml(const char *p) {
  size_t n = strlen(p);
  return n > 5 && strcmp(p + n - 5, ".yaml") == 0;
}

/* One chosen source: which flag/env it came from and its value. */
struct choice {
  int kind; /* 0 none, 1 config, 2 profile, 3 profile-file */
  const char *value;
  const char *origin; /* "--profile" or "TUNNEL_CLIENT_PROFILE" */
};

static int choose_flags(const struct tc_profile_flags *f, struct choice *c,
                        char **err) {
  const char *names[3] = {"--config", "--profile", "--profile-file"};
  const char *vals[3] = {f->config, f->profile, f->profile_file};
  int first = -1;
  for (int i = 0; i < 3; i++) {
    if (vals[i] == NULL)
      continue;
    if (*vals[i] == '\0')
      return tc_cfg_fail(err, "empty value in %s (give a %s or drop the flag)",
                         names[i], i == 1 ? "profile name" : "file path");
    if (first >= 0)
      return tc_cfg_fail(err,
                         "%s and %s are mutually exclusive (use only one of "
                         "them)",
                         names[first], names[i]);
    first = i;
  }
  if (first >= 0) {
    c->kind = first + 1;
    c->value = vals[first];
    c->origin = names[first];
  }
  return 0;
}

static int choose_env(struct choice *c, char **err) {
  const char *names[3] = {"TUNNEL_CLIENT_CONFIG", "TUNNEL_CLIENT_PROFILE",
                          "TUNNEL_CLIENT_PROFILE_FILE"};
  int first = -1;
  for (int i = 0; i < 3; i++) {
    if (env_nonempty(names[i]) == NULL)
      continue;
    if (first >= 0)
      return tc_cfg_fail(err,
                         "%s and %s are mutually exclusive (unset one of "
                         "them)",
                         names[first], names[i]);
    first = i;
  }
  if (first >= 0) {
    c->kind = first + 1;
    c->value = getenv(names[first]);
    c->origin = names[first];
  }
  return 0;
}

int tc_profile_select(const struct tc_profile_flags *f, char **path,
                      char **name, char **err) {
  *path = NULL;
  *name = NULL;
  struct choice c = {0, NULL, NULL};
  if (choose_flags(f, &c, err) != 0)
    return -1;
  if (c.kind == 0 && choose_env(&c, err) != 0)
    return -1;
  if (c.kind == 0)
    return 0;
  char *v = tc_cfg_trimdup(c.value);
  if (v == NULL)
    return tc_cfg_fail(err, "out of memory");
  if (*v == '\0') {
    free(v);
    return tc_cfg_fail(err, "empty value in %s (give a value or unset it)",
                       c.origin);
  }
  if (c.kind == 1) {
    *path = v;
    return 0;
  }
  if (c.kind == 3) {
    if (!ends_with_yaml(v)) {
      tc_cfg_fail(err,
                  "invalid profile file in %s: \"%s\" (a profile file name "
                  "must end in .yaml)",
                  c.origin, v);
      free(v);
      return -1;
    }
    *path = v;
    return 0;
  }
  /* by name */
  if (!tc_profile_name_ok(v)) {
    tc_cfg_fail(err,
                "invalid profile name in %s: \"%.128s\" (use 1 to 128 "
                "letters, digits, '.', '_' or '-', starting with a letter or "
                "digit)",
                c.origin, v);
    free(v);
    return -1;
  }
  char *dir = NULL;
  if (tc_profile_dir(f->profile_dir, &dir, err) != 0 ||
      tc_profile_path(dir, v, path, err) != 0) {
    free(dir);
    free(v);
    return -1;
  }
  free(dir);
  struct stat st;
  if (stat(*path, &st) != 0) {
    int e = errno;
    tc_cfg_fail(err,
                "profile \"%s\" from %s not found at %s: %s (list profiles "
                "with 'tunnel-client profiles list' or create one with "
                "'tunnel-client init')",
                v, c.origin, *path, strerror(e));
    free(v);
    free(*path);
    *path = NULL;
    return -1;
  }
  *name = v;
  return 0;
}
