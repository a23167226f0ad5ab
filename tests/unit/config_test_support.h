/* Support shared by the tests/unit/test_config_*.c files: environment
 * reset, a per-test temp directory, temp and data files, and loading a
 * config from a NULL-terminated argument list.
 *
 * Test-only header included by one test file per executable: everything
 * here is static (inline, so a file that does not use a helper gets no
 * unused-function warning). It pulls in the libc headers and cmocka the
 * tests use. Not thread-safe (one global tmpdir); cmocka runs the tests
 * one at a time. */
#ifndef TC_TESTS_CONFIG_TEST_SUPPORT_H
#define TC_TESTS_CONFIG_TEST_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"
#include "config/config_internal.h"

#define TID "tunnel_0123456789abcdef0123456789abcdef"
#define CANARY "sk-canary-SECRET-123"

/* Most arguments a test passes to load()/vload(), NULL included. */
#define CONFIG_TEST_MAX_ARGS 64

/* The current test's temp directory, made by make_tmpdir(). */
static char tmpdir[64];

/* Unsets every name in the NULL-terminated list `names`. */
static inline void unset_env_list(const char *const *names) {
  for (size_t i = 0; names[i] != NULL; i++)
    unsetenv(names[i]);
}

/* Unsets the env vars of every config key, then the NULL-terminated list
 * `extra` (the variables a file needs cleared besides the key table). */
static inline void clear_config_env(const char *const *extra) {
  for (int id = 0; id < TC_K_COUNT; id++) {
    const struct tc_cfg_key *k = tc_cfg_key_by_id(id);
    if (k->env != NULL)
      unsetenv(k->env);
    if (k->env_late != NULL)
      unsetenv(k->env_late);
  }
  unset_env_list(extra);
}

/* Makes `tmpdir` from a mkdtemp template ("/tmp/name-XXXXXX"); 0 or -1
 * (a cmocka setup result). */
static inline int make_tmpdir(const char *template_path) {
  int n = snprintf(tmpdir, sizeof(tmpdir), "%s", template_path);
  if (n < 0 || (size_t)n >= sizeof(tmpdir))
    return -1;
  return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

/* Removes `tmpdir` and all it holds; 0 or -1 (a cmocka teardown result). */
static inline int remove_tmpdir(void) {
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
  return system(cmd) == 0 ? 0 : -1;
}

/* "<tmpdir>/<rel>" in a new buffer (caller frees); nothing is created. */
static inline char *tmp_path(const char *rel) {
  char *path = malloc(512);
  assert_non_null(path);
  snprintf(path, 512, "%s/%s", tmpdir, rel);
  return path;
}

/* Writes `text` to <tmpdir>/<rel>, making any directories in `rel`;
 * returns the path (caller frees). */
static inline char *write_file(const char *rel, const char *text) {
  char *path = tmp_path(rel);
  for (char *p = path + strlen(tmpdir) + 1; *p != '\0'; p++) {
    if (*p == '/') {
      *p = '\0';
      mkdir(path, 0700);
      *p = '/';
    }
  }
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  return path;
}

/* The path of tests/data/config/<name> ($TC_TEST_DATA, set by ctest, or
 * "tests/data" from the source root); caller frees. */
static inline char *data_file(const char *name) {
  const char *dir = getenv("TC_TEST_DATA");
  char *path = malloc(512);
  assert_non_null(path);
  snprintf(path, 512, "%s/config/%s", dir != NULL ? dir : "tests/data", name);
  return path;
}

/* tc_config_load() on the NULL-terminated `char *` arguments in `ap`
 * (no program name). Sets *err to NULL first; returns the load result. */
static inline int vload(struct tc_config *cfg, enum tc_config_mode mode,
                        char **err, va_list ap) {
  char *argv[CONFIG_TEST_MAX_ARGS];
  int argc = 0;
  for (char *a = va_arg(ap, char *); a != NULL; a = va_arg(ap, char *)) {
    assert_true(argc < CONFIG_TEST_MAX_ARGS - 1);
    argv[argc++] = a;
  }
  argv[argc] = NULL;
  *err = NULL;
  return tc_config_load(cfg, argc, argv, mode, NULL, NULL, NULL, err);
}

/* vload() with the arguments given directly, NULL-terminated. */
static inline int load(struct tc_config *cfg, enum tc_config_mode mode,
                       char **err, ...) {
  va_list ap;
  va_start(ap, err);
  int rc = vload(cfg, mode, err, ap);
  va_end(ap);
  return rc;
}

/* vload() in lenient mode, expecting failure: asserts the error holds
 * `want` and is one line, and returns it (caller frees). */
static inline char *vload_error(const char *want, va_list ap) {
  struct tc_config cfg;
  char *err = NULL;
  int rc = vload(&cfg, TC_CONFIG_LENIENT, &err, ap);
  assert_int_equal(rc, -1);
  if (strstr(err, want) == NULL)
    print_error("error \"%s\" lacks \"%s\"\n", err, want);
  assert_non_null(strstr(err, want));
  assert_null(strchr(err, '\n'));
  return err;
}

#endif /* TC_TESTS_CONFIG_TEST_SUPPORT_H */
