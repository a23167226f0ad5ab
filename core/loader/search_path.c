/* loader/search_path.c — where a module spec points (see loader.h for the
 * order: --modules.dir, TUNNEL_CLIENT_MODULE_PATH, <exe dir>/modules, the
 * installed directory). */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loader/loader_internal.h"
#include "util/sbuf.h"

/* "<directory of the running executable>/modules", or NULL. */
static char *sp_exe_modules_dir(void) {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0)
    return NULL;
  buf[n] = '\0';
  char *slash = strrchr(buf, '/');
  if (slash == NULL)
    return NULL;
  *slash = '\0';
  return tc_loader_fmt("%s/modules", buf[0] ? buf : "");
}

size_t tc_loader_search_dirs(const struct tc_config *cfg, char ***dirs) {
  size_t cfg_n = cfg != NULL ? cfg->module_dir_count : 0;
  char **v = calloc(cfg_n + 2, sizeof(char *));
  size_t n = 0;
  *dirs = NULL;
  if (v == NULL)
    return 0;
  for (size_t i = 0; i < cfg_n; i++) {
    const char *d = cfg->module_dirs[i];
    if (d == NULL || *d == '\0')
      continue;
    v[n] = strdup(d);
    if (v[n] == NULL)
      goto nomem;
    n++;
  }
  char *exe = sp_exe_modules_dir();
  if (exe != NULL)
    v[n++] = exe;
#ifdef TC_MODULE_INSTALL_FULL_DIR
  v[n] = strdup(TC_MODULE_INSTALL_FULL_DIR);
  if (v[n] == NULL)
    goto nomem;
  n++;
#endif
  *dirs = v;
  return n;
nomem:
  tc_loader_dirs_free(v, n);
  return 0;
}

void tc_loader_dirs_free(char **dirs, size_t n) {
  if (dirs == NULL)
    return;
  for (size_t i = 0; i < n; i++)
    free(dirs[i]);
  free(dirs);
}

static int sp_is_path(const char *spec) {
  size_t len = strlen(spec);
  return strchr(spec, '/') != NULL ||
         (len >= 3 && strcmp(spec + len - 3, ".so") == 0);
}

/* 0 when `path` is a regular file; else -1 with errno set. */
static int sp_regular_file(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0)
    return -1;
  if (!S_ISREG(st.st_mode)) {
    errno = EISDIR;
    return -1;
  }
  return 0;
}

/* Canonical form of an existing file, or a copy of it. */
static char *sp_canonical(const char *path) {
  char *r = realpath(path, NULL);
  return r != NULL ? r : strdup(path);
}

static int sp_fail(char **err, char *msg) {
  *err = msg;
  return -1;
}

int tc_loader_resolve(const struct tc_config *cfg, const char *spec,
                      const char *origin, char **path, char **err) {
  *path = NULL;
  *err = NULL;
  const char *from = origin != NULL ? origin : "the module list";
  if (spec == NULL || *spec == '\0')
    return sp_fail(err, tc_loader_fmt("module \"\" (from %s): empty module "
                                      "name (give a module name such as "
                                      "mcp-http or a path to a .so file)",
                                      from));
  if (sp_is_path(spec)) {
    if (sp_regular_file(spec) != 0)
      return sp_fail(err, tc_loader_fmt("module %s (from %s): %s (check the "
                                        "path, or give a bare module name to "
                                        "use the search path)",
                                        spec, from, strerror(errno)));
    *path = sp_canonical(spec);
    return *path != NULL ? 0 : sp_fail(err, tc_loader_fmt("out of memory"));
  }
  char **dirs = NULL;
  size_t n = tc_loader_search_dirs(cfg, &dirs);
  struct tc_sbuf searched = TC_SBUF_INIT;
  for (size_t i = 0; i < n; i++) {
    char *candidate = tc_loader_fmt("%s/%s.so", dirs[i], spec);
    if (candidate != NULL && sp_regular_file(candidate) == 0) {
      *path = sp_canonical(candidate);
      free(candidate);
      tc_loader_dirs_free(dirs, n);
      tc_sbuf_free(&searched);
      return *path != NULL ? 0 : sp_fail(err, tc_loader_fmt("out of memory"));
    }
    free(candidate);
    tc_sbuf_printf(&searched, "%s%s", i ? ", " : "", dirs[i]);
  }
  tc_loader_dirs_free(dirs, n);
  char *list = tc_sbuf_finish(&searched);
  *err = tc_loader_fmt("module \"%s\" (from %s): not found: no %s.so in %s "
                       "(check the name with 'tunnel-client modules list', "
                       "add --modules.dir DIR or TUNNEL_CLIENT_MODULE_PATH, "
                       "or give the path to the .so)",
                       spec, from, spec, list && *list ? list : "(no dirs)");
  free(list);
  return -1;
}
