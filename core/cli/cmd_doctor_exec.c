/* cli/cmd_doctor_exec.c — can a stdio MCP command start? The command line
 * is split the way the stdio transport splits it, the program is looked up
 * on PATH, its exec bit and #! interpreter are checked, and common
 * wrappers (sh -c, python/node/... script, env) are followed to what they
 * start, up to depth 4. See cmd_doctor.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cmd_doctor.h"
#include "util/error.h"

#define MAX_DEPTH 4

void tc_exec_argv_free(char **argv) {
  if (argv == NULL)
    return;
  for (size_t i = 0; argv[i] != NULL; i++)
    free(argv[i]);
  free(argv);
}

static bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int tc_exec_split(const char *cmd, char ***argv_out, const char **why) {
  size_t len = strlen(cmd), n = 0;
  char **argv = calloc(len / 2 + 2, sizeof(*argv));
  char *word = malloc(len + 1);
  *why = "out of memory";
  if (argv == NULL || word == NULL)
    goto fail;
  const char *p = cmd;
  for (;;) {
    while (is_space(*p))
      p++;
    if (*p == '\0')
      break;
    size_t wl = 0;
    while (*p != '\0' && !is_space(*p)) {
      if (*p == '\'') {
        const char *end = strchr(p + 1, '\'');
        if (end == NULL) {
          *why = "unterminated single quote";
          goto fail;
        }
        memcpy(word + wl, p + 1, (size_t)(end - p - 1));
        wl += (size_t)(end - p - 1);
        p = end + 1;
      } else if (*p == '"') {
        for (p++; *p != '"'; p++) {
          if (*p == '\\' && p[1] != '\0')
            p++;
          if (*p == '\0') {
            *why = "unterminated double quote";
            goto fail;
          }
          word[wl++] = *p;
        }
        p++;
      } else if (*p == '\\') {
        if (p[1] == '\0') {
          *why = "trailing backslash";
          goto fail;
        }
        word[wl++] = p[1];
        p += 2;
      } else {
        word[wl++] = *p++;
      }
    }
    argv[n] = strndup(word, wl);
    if (argv[n++] == NULL) {
      *why = "out of memory";
      goto fail;
    }
  }
  free(word);
  if (n == 0) {
    *why = "the command is empty";
    tc_exec_argv_free(argv);
    return -1;
  }
  *argv_out = argv;
  return 0;
fail:
  free(word);
  tc_exec_argv_free(argv);
  return -1;
}

static const char *base_name(const char *p) {
  const char *s = strrchr(p, '/');
  return s != NULL ? s + 1 : p;
}

/* A regular file we may execute: 0, else errno-like code. */
static int executable_file(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0)
    return errno;
  if (!S_ISREG(st.st_mode))
    return EISDIR;
  if (access(path, X_OK) != 0)
    return EACCES;
  return 0;
}

/* PATH lookup for a bare name; a name with '/' is taken as is. */
static int find_program(const char *name, char **out, char **err) {
  *out = NULL;
  if (strchr(name, '/') != NULL) {
    int e = executable_file(name);
    if (e == 0) {
      *out = strdup(name);
      return *out != NULL ? 0 : tc_set_error(err, "out of memory");
    }
    if (e == EACCES)
      return tc_set_error(err, "%s is not executable (chmod +x %s)", name,
                          name);
    if (e == EISDIR)
      return tc_set_error(err, "%s is not a regular file", name);
    return tc_set_error(err, "%s: %s", name, strerror(e));
  }
  const char *path = getenv("PATH");
  if (path == NULL || *path == '\0')
    path = "/usr/local/bin:/usr/bin:/bin";
  bool seen_noexec = false;
  for (const char *d = path;;) {
    const char *colon = strchr(d, ':');
    size_t dl = colon != NULL ? (size_t)(colon - d) : strlen(d);
    char *cand = NULL;
    if (asprintf(&cand, "%.*s/%s", (int)dl, dl ? d : ".", name) < 0)
      return tc_set_error(err, "out of memory");
    int e = executable_file(cand);
    if (e == 0) {
      *out = cand;
      return 0;
    }
    seen_noexec = seen_noexec || e == EACCES;
    free(cand);
    if (colon == NULL)
      break;
    d = colon + 1;
  }
  if (seen_noexec)
    return tc_set_error(err, "%s is on PATH but not executable (chmod +x it)",
                        name);
  return tc_set_error(err,
                      "%s was not found on PATH (install it, or give its "
                      "full path in the command)",
                      name);
}

/* For a file starting with "#!", check the interpreter (and for
 * "#!/usr/bin/env X", X on PATH). */
static int check_shebang(const char *file, char **err) {
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0; /* executable but unreadable: the kernel may still run it */
  char buf[256];
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n < 3 || buf[0] != '#' || buf[1] != '!')
    return 0;
  buf[n] = '\0';
  char *nl = strchr(buf, '\n');
  if (nl != NULL)
    *nl = '\0';
  char *p = buf + 2;
  while (*p == ' ' || *p == '\t')
    p++;
  char *interp = p;
  while (*p != '\0' && *p != ' ' && *p != '\t')
    p++;
  char *rest = *p ? p + 1 : p;
  *p = '\0';
  if (*interp == '\0')
    return tc_set_error(err, "%s has an empty #! line", file);
  if (executable_file(interp) != 0)
    return tc_set_error(err,
                        "%s starts with #!%s, which does not exist or is not "
                        "executable (install it or fix the #! line)",
                        file, interp);
  if (strcmp(base_name(interp), "env") == 0) {
    while (*rest == ' ' || *rest == '\t')
      rest++;
    if (strncmp(rest, "-S", 2) == 0)
      for (rest += 2; *rest == ' ' || *rest == '\t'; rest++)
        ;
    char *end = rest;
    while (*end != '\0' && *end != ' ' && *end != '\t')
      end++;
    *end = '\0';
    if (*rest != '\0') {
      char *found = NULL, *e2 = NULL;
      if (find_program(rest, &found, &e2) != 0) {
        tc_set_error(err, "%s runs %s through #!%s env: %s", file, rest, interp,
                     e2 != NULL ? e2 : "out of memory");
        free(e2);
        return -1;
      }
      free(found);
    }
  }
  return 0;
}

static bool name_in(const char *name, const char *const *list) {
  for (; *list != NULL; list++)
    if (strcmp(name, *list) == 0)
      return true;
  return false;
}

static bool is_interpreter(const char *name) {
  static const char *const fixed[] = {"node", "nodejs", "ruby", "perl",
                                      "php",  "deno",   "bun",  NULL};
  return name_in(name, fixed) || strncmp(name, "python", 6) == 0;
}

static int check_argv(char **argv, int depth, char **resolved, char **err);

/* The script of `python x.py` / `node x.js` / `deno run x.ts`: the first
 * word that is not an option; NULL when the interpreter runs a module or
 * inline code (-m, -c, -e, eval) or reads stdin. */
static const char *script_arg(char **argv) {
  size_t i = 1;
  if (strcmp(base_name(argv[0]), "deno") == 0 && argv[1] != NULL &&
      strcmp(argv[1], "run") == 0)
    i = 2;
  for (; argv[i] != NULL; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-m") == 0 || strcmp(a, "-c") == 0 || strcmp(a, "-e") == 0 ||
        strcmp(a, "-") == 0 || strcmp(a, "--eval") == 0 ||
        strcmp(a, "eval") == 0)
      return NULL;
    if (a[0] != '-')
      return a;
  }
  return NULL;
}

static int follow_wrapper(char **argv, int depth, char **err) {
  const char *name = base_name(argv[0]);
  static const char *const shells[] = {"sh",   "bash", "zsh",
                                       "dash", "ksh",  NULL};
  if (name_in(name, shells)) {
    for (size_t i = 1; argv[i] != NULL; i++) {
      if (strcmp(argv[i], "-c") != 0)
        continue;
      if (argv[i + 1] == NULL)
        return tc_set_error(err, "%s -c has no command", argv[0]);
      /* A shell command line with variables or operators cannot be
       * followed reliably: check only its first word when it is plain. */
      if (strpbrk(argv[i + 1], "$`|;&<>(){}*?") != NULL)
        return 0;
      char **inner = NULL;
      const char *why = NULL;
      if (tc_exec_split(argv[i + 1], &inner, &why) != 0)
        return tc_set_error(err, "cannot split the %s -c command: %s", name,
                            why);
      /* `sh -c 'exec prog ...'`: the builtin replaces the shell by prog. */
      char **prog = inner;
      if (strcmp(prog[0], "exec") == 0 && prog[1] != NULL)
        prog++;
      char *ignored = NULL;
      int rc = check_argv(prog, depth + 1, &ignored, err);
      free(ignored);
      tc_exec_argv_free(inner);
      return rc;
    }
    return 0;
  }
  if (strcmp(name, "env") == 0) {
    size_t i = 1;
    while (argv[i] != NULL && (argv[i][0] == '-' || strchr(argv[i], '=')))
      i++;
    if (argv[i] == NULL)
      return 0;
    char *ignored = NULL;
    int rc = check_argv(argv + i, depth + 1, &ignored, err);
    free(ignored);
    return rc;
  }
  if (is_interpreter(name)) {
    const char *script = script_arg(argv);
    if (script == NULL)
      return 0;
    struct stat st;
    if (stat(script, &st) != 0 || !S_ISREG(st.st_mode))
      return tc_set_error(err,
                          "%s would run the script %s, which was not found "
                          "(relative paths are taken from the directory the "
                          "agent starts in)",
                          name, script);
  }
  return 0;
}

static int check_argv(char **argv, int depth, char **resolved, char **err) {
  if (depth > MAX_DEPTH)
    return 0;
  if (find_program(argv[0], resolved, err) != 0 ||
      check_shebang(*resolved, err) != 0)
    return -1;
  return follow_wrapper(argv, depth, err);
}

int tc_exec_preflight(const char *cmd, char **resolved, char **err) {
  *resolved = NULL;
  char **argv = NULL;
  const char *why = NULL;
  if (tc_exec_split(cmd, &argv, &why) != 0)
    return tc_set_error(err, "cannot split the MCP command: %s", why);
  int rc = check_argv(argv, 1, resolved, err);
  tc_exec_argv_free(argv);
  if (rc != 0) {
    free(*resolved);
    *resolved = NULL;
  }
  return rc;
}
