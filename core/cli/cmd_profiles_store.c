/* cli/cmd_profiles_store.c — profile files on disk for `profiles`, `init`
 * and `doctor`: locating, reading, validating with the real loader, and
 * writing (dirs 0700, files 0600, O_EXCL unless forced). See
 * cmd_profiles.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cmd_doctor.h"
#include "cli/cmd_profiles.h"
#include "config/config.h"
#include "config/profiles.h"
#include "util/error.h"
#include "util/fs.h"

#define TC_PROFILE_TEXT_MAX (1024 * 1024)

int tc_prof_fail(const char *cmd, char *err) {
  fprintf(stderr, "%s: %s\n", cmd, err != NULL ? err : "out of memory");
  free(err);
  return 1;
}

bool tc_prof_wants_help(int argc, char **argv) {
  for (int i = 0; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0)
      return false;
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
      return true;
  }
  return false;
}

int tc_profile_locate(const char *flag_dir, const char *name, char **dir,
                      char **path, char **err) {
  *dir = NULL;
  *path = NULL;
  if (tc_profile_dir(flag_dir, dir, err) != 0)
    return -1;
  if (tc_profile_path(*dir, name, path, err) != 0) {
    free(*dir);
    *dir = NULL;
    return -1;
  }
  return 0;
}

int tc_profile_validate_file(const char *path, char **err, char **note) {
  if (note != NULL)
    *note = NULL;
  struct tc_config cfg;
  char flag[] = "--config";
  char *copy = strdup(path);
  if (copy == NULL)
    return tc_set_error(err, "out of memory");
  char *argv[] = {flag, copy, NULL};
  char *lerr = NULL;
  int rc =
      tc_config_load(&cfg, 2, argv, TC_CONFIG_LENIENT, NULL, NULL, NULL, &lerr);
  tc_config_free(&cfg);
  free(copy);
  if (rc == 0)
    return 0;
  /* The schema was read before any reference is resolved, so an unresolved
   * reference means the file itself is well-formed. */
  if (lerr != NULL && strncmp(lerr, "unresolved reference", 20) == 0) {
    if (note != NULL)
      *note = lerr;
    else
      free(lerr);
    return 0;
  }
  *err = lerr;
  return -1;
}

int tc_profile_validate_text(const char *text, char **err, char **note) {
  const char *tmpdir = getenv("TMPDIR");
  char *tmpl = NULL;
  if (asprintf(&tmpl, "%s/tunnel-client-check-XXXXXX.yaml",
               tmpdir != NULL && *tmpdir ? tmpdir : "/tmp") < 0)
    return tc_set_error(err, "out of memory");
  int fd = mkstemps(tmpl, 5);
  if (fd < 0) {
    int e = errno;
    tc_set_error(err, "cannot create a temporary file in %s: %s",
                 tmpdir != NULL && *tmpdir ? tmpdir : "/tmp", strerror(e));
    free(tmpl);
    return -1;
  }
  size_t len = strlen(text), off = 0;
  while (off < len) {
    ssize_t n = write(fd, text + off, len - off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    off += (size_t)n;
  }
  close(fd);
  int rc;
  if (off != len)
    rc = tc_set_error(err, "cannot write the temporary file %s", tmpl);
  else
    rc = tc_profile_validate_file(tmpl, err, note);
  unlink(tmpl);
  free(tmpl);
  return rc;
}

int tc_profile_mkdir(const char *dir, char **err) {
  char *p = strdup(dir);
  if (p == NULL)
    return tc_set_error(err, "out of memory");
  for (char *s = p + 1;; s++) {
    if (*s != '/' && *s != '\0')
      continue;
    char saved = *s;
    *s = '\0';
    if (mkdir(p, 0700) != 0 && errno != EEXIST) {
      int e = errno;
      tc_set_error(err, "cannot create the profile directory %s: %s", p,
                   strerror(e));
      free(p);
      return -1;
    }
    *s = saved;
    if (saved == '\0')
      break;
  }
  free(p);
  struct stat st;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
    return tc_set_error(err, "the profile directory %s is not a directory",
                        dir);
  return 0;
}

static int write_exclusive(const char *path, const char *text, char **err) {
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    int e = errno;
    if (e == EEXIST)
      return tc_set_error(err, "%s already exists (use --force to replace it)",
                          path);
    return tc_set_error(err, "cannot create %s: %s", path, strerror(e));
  }
  size_t len = strlen(text), off = 0;
  while (off < len) {
    ssize_t n = write(fd, text + off, len - off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      int e = n < 0 ? errno : EIO;
      close(fd);
      unlink(path);
      return tc_set_error(err, "cannot write %s: %s", path, strerror(e));
    }
    off += (size_t)n;
  }
  if (fsync(fd) != 0 || close(fd) != 0) {
    int e = errno;
    unlink(path);
    return tc_set_error(err, "cannot write %s: %s", path, strerror(e));
  }
  return 0;
}

int tc_profile_write(const char *dir, const char *path, const char *text,
                     bool force, char **err) {
  if (tc_profile_mkdir(dir, err) != 0)
    return -1;
  if (!force)
    return write_exclusive(path, text, err);
  return tc_fs_write_atomic(path, text, strlen(text), 0600, err);
}

int tc_profile_read_text(const char *path, char **out, char **err) {
  *out = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    return tc_set_error(err, "cannot read %s: %s", path, strerror(e));
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return tc_set_error(err, "%s is not a regular file", path);
  }
  if (st.st_size > TC_PROFILE_TEXT_MAX) {
    close(fd);
    return tc_set_error(err, "%s is larger than 1 MiB", path);
  }
  size_t cap = (size_t)st.st_size + 1, len = 0;
  char *buf = malloc(cap);
  if (buf == NULL) {
    close(fd);
    return tc_set_error(err, "out of memory");
  }
  for (;;) {
    ssize_t n = read(fd, buf + len, cap - 1 - len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int e = errno;
      close(fd);
      free(buf);
      return tc_set_error(err, "cannot read %s: %s", path, strerror(e));
    }
    len += (size_t)n;
    if (n == 0 || len == cap - 1)
      break;
  }
  close(fd);
  buf[len] = '\0';
  *out = buf;
  return 0;
}

static bool given(const char *s) {
  return s != NULL && *s != '\0';
}

/* The flag-level checks, so errors name init's flags rather than the
 * profile's keys. */
static int check_values(const struct tc_sample_values *v, char **err) {
  const char *why = NULL;
  if (!given(v->tunnel_id))
    return tc_set_error(err, "--tunnel-id is required (tunnel_ followed by "
                             "32 lowercase letters or digits)");
  if (tc_validate_tunnel_id(v->tunnel_id, &why) != 0)
    return tc_set_error(err, "invalid --tunnel-id \"%.80s\": %s", v->tunnel_id,
                        why);
  if (given(v->api_key_ref) && strncmp(v->api_key_ref, "env:", 4) != 0 &&
      strncmp(v->api_key_ref, "file:", 5) != 0)
    return tc_set_error(err, "--control-plane-api-key-ref must be env:NAME or "
                             "file:/path (the key itself is never written "
                             "into a profile)");
  if (given(v->health_listen_addr) &&
      tc_validate_listen_addr(v->health_listen_addr, &why) != 0)
    return tc_set_error(err, "invalid --health-listen-addr \"%.200s\": %s",
                        v->health_listen_addr, why);
  if (given(v->mcp_server_url) && strncmp(v->mcp_server_url, "http://", 7) &&
      strncmp(v->mcp_server_url, "https://", 8))
    return tc_set_error(err,
                        "invalid --mcp-server-url \"%.200s\": use an "
                        "http:// or https:// URL",
                        v->mcp_server_url);
  return 0;
}

int tc_sample_write_profile(const struct tc_sample *s,
                            const struct tc_sample_values *v,
                            const char *flag_dir, const char *name, bool force,
                            bool preflight, char **path_out, char **note,
                            char **err) {
  *path_out = NULL;
  *note = NULL;
  if (tc_sample_check_target(s, v, err) != 0 || check_values(v, err) != 0)
    return -1;
  if (preflight && given(v->mcp_command)) {
    char *found = NULL;
    if (tc_exec_preflight(v->mcp_command, &found, err) != 0)
      return -1;
    free(found);
  }
  char *dir = NULL, *path = NULL, *text = tc_sample_render(s, v);
  int rc = -1;
  if (text == NULL) {
    tc_set_error(err, "out of memory");
    goto done;
  }
  char *tmp_note = NULL;
  int vrc = tc_profile_validate_text(text, err, &tmp_note);
  free(tmp_note);
  if (vrc != 0 || tc_profile_locate(flag_dir, name, &dir, &path, err) != 0 ||
      tc_profile_write(dir, path, text, force, err) != 0)
    goto done;
  /* Again on the real file, so a note names the file the user has. */
  char *ignored = NULL;
  if (tc_profile_validate_file(path, &ignored, note) != 0)
    free(ignored);
  *path_out = path;
  path = NULL;
  rc = 0;
done:
  free(text);
  free(dir);
  free(path);
  return rc;
}
