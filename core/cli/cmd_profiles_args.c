/* cli/cmd_profiles_args.c — the small flag parser of the profile, init and
 * health commands (see tc_prof_parse in cmd_profiles.h). */
#include <stdlib.h>
#include <string.h>

#include "cli/cmd_profiles.h"
#include "util/error.h"

static const struct tc_prof_opt *find_opt(const struct tc_prof_opt *opts,
                                          const char *name, size_t len) {
  for (const struct tc_prof_opt *o = opts; o->name != NULL; o++)
    if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
      return o;
  return NULL;
}

int tc_prof_parse(int argc, char **argv, const struct tc_prof_opt *opts,
                  char ***pos, size_t *npos, char **err) {
  *pos = calloc((size_t)argc + 1, sizeof(**pos));
  *npos = 0;
  if (*pos == NULL)
    return tc_set_error(err, "out of memory");
  bool only_words = false;
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i];
    if (only_words || a[0] != '-' || a[1] == '\0') {
      (*pos)[(*npos)++] = argv[i];
      continue;
    }
    if (strcmp(a, "--") == 0) {
      only_words = true;
      continue;
    }
    const char *name = a + (a[1] == '-' ? 2 : 1);
    const char *eq = strchr(name, '=');
    size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
    const struct tc_prof_opt *o = find_opt(opts, name, len);
    if (o == NULL) {
      tc_set_error(err, "unknown flag --%.*s (see --help)", (int)len, name);
      goto fail;
    }
    if (o->flag != NULL) {
      if (eq == NULL || strcmp(eq + 1, "true") == 0 || strcmp(eq + 1, "1") == 0)
        *o->flag = true;
      else if (strcmp(eq + 1, "false") == 0 || strcmp(eq + 1, "0") == 0)
        *o->flag = false;
      else {
        tc_set_error(err, "--%s takes true or false, not \"%s\"", o->name,
                     eq + 1);
        goto fail;
      }
      continue;
    }
    if (eq != NULL) {
      *o->value = eq + 1;
    } else if (i + 1 < argc) {
      *o->value = argv[++i];
    } else {
      tc_set_error(err, "--%s needs a value", o->name);
      goto fail;
    }
  }
  return 0;
fail:
  free(*pos);
  *pos = NULL;
  *npos = 0;
  return -1;
}
