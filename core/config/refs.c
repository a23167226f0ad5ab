/* config/refs.c — `env:NAME` and `file:PATH` value references.
 *
 * The prefix is case-insensitive; NAME must match ^[A-Za-z_][A-Za-z0-9_]*$.
 * An unset or empty variable, and an unreadable or empty file, are errors
 * that name the reference and where it was written, never its contents.
 * Values from env are trimmed; file contents lose one trailing CRLF/LF/CR
 * (then surrounding spaces). For path references (certificates, CA bundle)
 * `env:VAR` holds the path and `file:/p` names the path itself, which must
 * be a readable, non-empty file. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config_internal.h"
#include "util/child_env.h"

#define TC_REF_FILE_MAX (1024 * 1024)

bool tc_cfg_ref_is_ref(const char *text) {
  return text != NULL && (tc_cfg_has_prefix_ci(text, "env:") ||
                          tc_cfg_has_prefix_ci(text, "file:"));
}

static bool env_name_ok(const char *n) {
  if (!(isalpha((unsigned char)n[0]) || n[0] == '_'))
    return false;
  for (const char *p = n; *p != '\0'; p++)
    if (!(isalnum((unsigned char)*p) || *p == '_'))
      return false;
  return true;
}

void tc_cfg_ref_withhold(const char *text) {
  if (text == NULL || !tc_cfg_has_prefix_ci(text, "env:"))
    return;
  char *name = tc_cfg_trimdup(text + 4);
  if (name != NULL && env_name_ok(name))
    (void)tc_child_env_withhold(name); /* ENOMEM: config load fails later */
  free(name);
}

bool tc_cfg_env_name_ok(const char *name) {
  return env_name_ok(name);
}

static int resolve_env(const char *name, const char *where, char **out,
                       char **err) {
  if (!env_name_ok(name))
    return tc_cfg_fail(err,
                       "invalid reference in %s: env:%s is not a valid "
                       "variable name (use env:NAME with letters, digits and "
                       "'_', not starting with a digit)",
                       where, name);
  const char *v = getenv(name);
  char *t = v != NULL ? tc_cfg_trimdup(v) : NULL;
  if (t == NULL || *t == '\0') {
    free(t);
    return tc_cfg_fail(err,
                       "unresolved reference in %s: env:%s is %s (export %s "
                       "or change the reference)",
                       where, name, v == NULL ? "not set" : "empty", name);
  }
  *out = t;
  return 0;
}

static int read_file(const char *path, const char *where, char **out,
                     char **err) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return tc_cfg_fail(err,
                       "unresolved reference in %s: cannot read file:%s: %s "
                       "(check the path and its permissions)",
                       where, path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return tc_cfg_fail(err,
                       "unresolved reference in %s: file:%s is not a regular "
                       "file (point it at a file)",
                       where, path);
  }
  if (st.st_size > TC_REF_FILE_MAX) {
    close(fd);
    return tc_cfg_fail(err,
                       "unresolved reference in %s: file:%s is larger than "
                       "1 MiB (point it at the file holding just the value)",
                       where, path);
  }
  size_t cap = (size_t)st.st_size + 1, len = 0;
  char *buf = malloc(cap);
  if (buf == NULL) {
    close(fd);
    return tc_cfg_fail(err, "out of memory reading file:%s", path);
  }
  for (;;) {
    ssize_t n = read(fd, buf + len, cap - 1 - len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int e = errno;
      close(fd);
      free(buf);
      return tc_cfg_fail(err,
                         "unresolved reference in %s: cannot read file:%s: "
                         "%s (check the file)",
                         where, path, strerror(e));
    }
    if (n == 0 || len + (size_t)n == cap - 1) {
      len += (size_t)n;
      break;
    }
    len += (size_t)n;
  }
  close(fd);
  buf[len] = '\0';
  if (len > 0 && buf[len - 1] == '\n')
    buf[--len] = '\0';
  if (len > 0 && buf[len - 1] == '\r')
    buf[--len] = '\0';
  bool binary = strlen(buf) != len;
  char *t = tc_cfg_trimdup(buf);
  free(buf);
  if (t == NULL)
    return tc_cfg_fail(err, "out of memory reading file:%s", path);
  if (*t == '\0') {
    free(t);
    return tc_cfg_fail(err,
                       "unresolved reference in %s: file:%s is empty (write "
                       "the value into the file)",
                       where, path);
  }
  if (binary || strpbrk(t, "\r\n") != NULL) {
    free(t);
    return tc_cfg_fail(err,
                       "unresolved reference in %s: file:%s holds more than "
                       "one line (keep only the value in the file)",
                       where, path);
  }
  *out = t;
  return 0;
}

static int check_path_file(const char *path, const char *where, char **err) {
  struct stat st;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return tc_cfg_fail(err,
                       "unresolved reference in %s: cannot read file:%s: %s "
                       "(check the path and its permissions)",
                       where, path, strerror(errno));
  int rc = fstat(fd, &st);
  close(fd);
  if (rc != 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
    return tc_cfg_fail(err,
                       "unresolved reference in %s: file:%s is empty or not a "
                       "regular file (point it at the PEM file)",
                       where, path);
  return 0;
}

int tc_cfg_ref_resolve(const char *text, int kind, const char *where,
                       char **out, bool *was_ref, char **err) {
  *out = NULL;
  *was_ref = false;
  if (tc_cfg_has_prefix_ci(text, "env:")) {
    *was_ref = true;
    char *name = tc_cfg_trimdup(text + 4);
    if (name == NULL)
      return tc_cfg_fail(err, "out of memory");
    int rc = resolve_env(name, where, out, err);
    free(name);
    return rc;
  }
  if (tc_cfg_has_prefix_ci(text, "file:")) {
    *was_ref = true;
    char *path = tc_cfg_trimdup(text + 5);
    if (path == NULL)
      return tc_cfg_fail(err, "out of memory");
    if (*path == '\0') {
      free(path);
      return tc_cfg_fail(err,
                         "invalid reference in %s: file: needs a path (use "
                         "file:/path/to/file)",
                         where);
    }
    int rc;
    if (kind == TC_CFG_REF_PATH) {
      rc = check_path_file(path, where, err);
      if (rc == 0) {
        *out = path;
        return 0;
      }
    } else {
      rc = read_file(path, where, out, err);
    }
    free(path);
    return rc;
  }
  *out = tc_cfg_strdup(text);
  if (*out == NULL)
    return tc_cfg_fail(err, "out of memory");
  return 0;
}
