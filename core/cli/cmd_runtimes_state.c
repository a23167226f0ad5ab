/* cli/cmd_runtimes_state.c — state root, JSON state files, history and
 * alias names for `runtimes` and `admin-profiles` (see
 * cmd_runtimes_state.h). */
#include "cli/cmd_runtimes_state.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config/config_internal.h"
#include "util/fs.h"

static const char *env_nonempty(const char *name) {
  const char *v = getenv(name);
  return v != NULL && v[0] != '\0' ? v : NULL;
}

static int is_dir(const char *p) {
  struct stat st;
  return p != NULL && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

char *tc_rt_state_root(char **err) {
  const char *v = env_nonempty("TUNNEL_CLIENT_STATE_DIR");
  if (v != NULL)
    return tc_cfg_strdup(v);
  const char *home = env_nonempty("HOME");
  const char *codex = env_nonempty("CODEX_HOME");
  char *cand[3] = {codex ? tc_cfg_printf("%s/tunnel-mcp", codex) : NULL,
                   home ? tc_cfg_printf("%s/.codex/tunnel-mcp", home) : NULL,
                   home ? tc_cfg_printf("%s/.tunnel-client", home) : NULL};
  char *found = NULL;
  for (size_t i = 0; i < 3; i++) {
    if (found == NULL && is_dir(cand[i]))
      found = cand[i];
    else
      free(cand[i]);
  }
  if (found != NULL)
    return found;
  const char *xdg = env_nonempty("XDG_STATE_HOME");
  if (xdg != NULL)
    return tc_cfg_printf("%s/tunnel-client", xdg);
  if (home != NULL)
    return tc_cfg_printf("%s/.local/state/tunnel-client", home);
  tc_cfg_fail(err, "no state directory: set TUNNEL_CLIENT_STATE_DIR, "
                   "XDG_STATE_HOME or HOME");
  return NULL;
}

char *tc_rt_path(const char *root, const char *rel) {
  return tc_cfg_printf("%s/%s", root, rel);
}

int tc_rt_mkdirs(const char *dir, char **err) {
  char *p = tc_cfg_strdup(dir);
  if (p == NULL)
    return tc_cfg_fail(err, "out of memory");
  for (char *s = p + 1;; s++) {
    char saved = *s;
    if (saved != '/' && saved != '\0')
      continue;
    *s = '\0';
    if (mkdir(p, 0700) != 0 && errno != EEXIST) {
      int rc = tc_cfg_fail(err, "create directory %s: %s", p, strerror(errno));
      free(p);
      return rc;
    }
    *s = saved;
    if (saved == '\0')
      break;
  }
  free(p);
  return 0;
}

json_t *tc_rt_load(const char *path, char **err) {
  if (access(path, F_OK) != 0 && errno == ENOENT)
    return json_object();
  json_error_t je;
  json_t *v = json_load_file(path, 0, &je);
  if (!json_is_object(v)) {
    json_decref(v);
    tc_cfg_fail(err,
                "state file %s is not a JSON object (line %d: %s); "
                "move it away and retry",
                path, je.line, je.text);
    return NULL;
  }
  return v;
}

int tc_rt_save(const char *path, const json_t *v, char **err) {
  char *dir = tc_cfg_strdup(path);
  if (dir == NULL)
    return tc_cfg_fail(err, "out of memory");
  char *slash = strrchr(dir, '/');
  if (slash != NULL && slash != dir) {
    *slash = '\0';
    if (tc_rt_mkdirs(dir, err) != 0) {
      free(dir);
      return -1;
    }
  }
  free(dir);
  char *text = json_dumps(v, JSON_INDENT(2) | JSON_SORT_KEYS);
  if (text == NULL)
    return tc_cfg_fail(err, "out of memory");
  size_t n = strlen(text);
  text[n] = '\0';
  char *withnl = tc_cfg_printf("%s\n", text);
  free(text);
  if (withnl == NULL)
    return tc_cfg_fail(err, "out of memory");
  int rc = tc_fs_write_atomic(path, withnl, strlen(withnl), 0600, err);
  free(withnl);
  return rc;
}

void tc_rt_now(char buf[32]) {
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* One history field: spaces and newlines would break the line format. */
static void put_field(FILE *f, const char *k, const char *v) {
  fprintf(f, " %s=", k);
  for (const char *p = v ? v : "-"; *p; p++)
    fputc(isspace((unsigned char)*p) ? '_' : *p, f);
}

void tc_rt_history(const char *root, const char *action, const char *alias,
                   const char *tunnel_id, const char *detail) {
  if (tc_rt_mkdirs(root, NULL) != 0)
    return;
  char *path = tc_rt_path(root, "history.md");
  int fd =
      path ? open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600) : -1;
  free(path);
  FILE *f = fd >= 0 ? fdopen(fd, "a") : NULL;
  if (f == NULL) {
    if (fd >= 0)
      close(fd);
    return;
  }
  char now[32];
  tc_rt_now(now);
  fprintf(f, "- %s", now);
  put_field(f, "action", action);
  put_field(f, "alias", alias);
  put_field(f, "tunnel_id", tunnel_id);
  put_field(f, "detail", detail);
  fputc('\n', f);
  fclose(f);
}

char *tc_rt_alias_normalize(const char *in) {
  size_t n = strlen(in);
  char *out = malloc(n + 1);
  if (out == NULL)
    return NULL;
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    char ch = (char)tolower((unsigned char)in[i]);
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')))
      ch = '-';
    if (ch == '-' && (o == 0 || out[o - 1] == '-'))
      continue;
    out[o++] = ch;
  }
  while (o > 0 && out[o - 1] == '-')
    o--;
  out[o] = '\0';
  if (o == 0 || o > 64) {
    free(out);
    return NULL;
  }
  return out;
}
