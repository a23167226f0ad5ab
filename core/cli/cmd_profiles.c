/* cli/cmd_profiles.c — `tunnel-client profiles`: list, add, edit and the
 * sample catalogue (samples list / samples show). Profiles are
 * <dir>/<name>.yaml (config/profiles.h); writes keep dirs 0700 and files
 * 0600 and never replace a file without --force. `edit` runs $VISUAL (else
 * $EDITOR) on a private copy and saves it only when the loader accepts
 * it. */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cmd_profiles.h"
#include "config/profiles.h"
#include "util/error.h"

const char tc_profiles_usage[] =
    "Usage: tunnel-client profiles [--profile-dir DIR] COMMAND\n"
    "\n"
    "  list [--json]                 the profiles in the profile directory\n"
    "  add NAME --from-file FILE     copy a profile file (validated first)\n"
    "  add NAME --sample SAMPLE [--tunnel-id ID] [--mcp-server-url URL |\n"
    "      --mcp-command CMD]        write a sample (example values where\n"
    "                                a flag is missing)\n"
    "  edit NAME                     edit with $VISUAL or $EDITOR; saved only\n"
    "                                when valid (a new NAME starts from\n"
    "                                sample_mcp_with_dcr)\n"
    "  samples list                  sample names and what they are for\n"
    "  samples show SAMPLE           a sample explained, and its YAML\n"
    "\n"
    "add takes --force to replace an existing profile. The directory is\n"
    "--profile-dir, $TUNNEL_CLIENT_PROFILE_DIR, "
    "$XDG_CONFIG_HOME/tunnel-client\n"
    "or ~/.config/tunnel-client.\n"
    "\n"
    "Examples:\n"
    "  tunnel-client profiles samples list\n"
    "  tunnel-client profiles samples show sample_mcp_stdio_local\n"
    "  tunnel-client profiles add work --from-file ./work.yaml\n"
    "  tunnel-client profiles add demo --sample sample_mcp_remote_no_auth \\\n"
    "      --tunnel-id tunnel_... --mcp-server-url "
    "https://mcp.example.com/mcp\n"
    "  EDITOR=nano tunnel-client profiles edit work\n"
    "  tunnel-client profiles list --json\n";

static int fail(char *err) {
  return tc_prof_fail("profiles", err);
}

static char *fmt_err(const char *fmt, ...) TC_PRINTF(1, 2);
static char *fmt_err(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *e = NULL;
  if (vasprintf(&e, fmt, ap) < 0)
    e = NULL;
  va_end(ap);
  return e;
}

/* ---- samples ------------------------------------------------------------- */

static int samples_cmd(char **pos, size_t npos) {
  if (npos >= 2 && strcmp(pos[1], "list") == 0 && npos == 2) {
    for (size_t i = 0; i < tc_sample_count(); i++)
      printf("%s\t%s\n", tc_sample_at(i)->name, tc_sample_at(i)->summary);
    return 0;
  }
  if (npos == 3 && strcmp(pos[1], "show") == 0) {
    const struct tc_sample *s = tc_sample_find(pos[2]);
    if (s == NULL) {
      char *e = NULL;
      if (asprintf(&e, "unknown sample \"%.80s\" (samples: %s)", pos[2],
                   tc_sample_names()) < 0)
        e = NULL;
      return fail(e);
    }
    struct tc_sample_values v;
    memset(&v, 0, sizeof(v));
    v.tunnel_id = TC_SAMPLE_EXAMPLE_TUNNEL_ID;
    if (s->target == TC_SAMPLE_COMMAND)
      v.mcp_command = TC_SAMPLE_EXAMPLE_COMMAND;
    else
      v.mcp_server_url = TC_SAMPLE_EXAMPLE_URL;
    char *yaml = tc_sample_render(s, &v);
    if (yaml == NULL)
      return fail(NULL);
    printf("Sample:   %s\nSummary:  %s\nUse when: %s\nRequired: %s\n"
           "Optional: %s\nNotes:    %s\n\n%s",
           s->name, s->summary, s->use_when, s->required, s->optional, s->notes,
           yaml);
    free(yaml);
    return 0;
  }
  return fail(strdup("usage: profiles samples list | profiles samples show "
                     "SAMPLE"));
}

/* ---- list ---------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_cmd(const char *flag_dir, bool json) {
  char *dir = NULL, *err = NULL;
  if (tc_profile_dir(flag_dir, &dir, &err) != 0)
    return fail(err);
  char **names = NULL;
  size_t n = 0, cap = 0;
  DIR *d = opendir(dir);
  if (d == NULL && errno != ENOENT) {
    int e = errno;
    char *m = NULL;
    if (asprintf(&m, "cannot read the profile directory %s: %s", dir,
                 strerror(e)) < 0)
      m = NULL;
    free(dir);
    return fail(m);
  }
  for (struct dirent *de; d != NULL && (de = readdir(d)) != NULL;) {
    size_t l = strlen(de->d_name);
    if (l <= 5 || strcmp(de->d_name + l - 5, ".yaml") != 0)
      continue;
    char *name = strndup(de->d_name, l - 5);
    if (name == NULL || !tc_profile_name_ok(name)) {
      free(name);
      continue;
    }
    if (n == cap) {
      cap = cap ? cap * 2 : 16;
      char **nn = realloc(names, cap * sizeof(*nn));
      if (nn == NULL) {
        free(name);
        break;
      }
      names = nn;
    }
    names[n++] = name;
  }
  if (d != NULL)
    closedir(d);
  if (n > 1)
    qsort(names, n, sizeof(*names), cmp_str);
  json_t *arr = json ? json_array() : NULL;
  if (!json && n == 0)
    fprintf(stdout,
            "no profiles in %s (create one with 'tunnel-client init')\n", dir);
  for (size_t i = 0; i < n; i++) {
    char *path = NULL, *verr = NULL, *note = NULL;
    if (asprintf(&path, "%s/%s.yaml", dir, names[i]) < 0)
      path = NULL;
    int valid = path && tc_profile_validate_file(path, &verr, &note) == 0;
    if (json)
      json_array_append_new(arr, json_pack("{s:s, s:s?, s:b, s:s?}", "name",
                                           names[i], "path", path, "valid",
                                           valid, "error", verr));
    else
      printf("%s\t%s\t%s\n", names[i], valid ? "ok" : "invalid",
             path ? path : "");
    free(path);
    free(verr);
    free(note);
    free(names[i]);
  }
  free(names);
  if (json) {
    json_t *o = json_pack("{s:s, s:o}", "profile_dir", dir, "profiles", arr);
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text != NULL)
      printf("%s\n", text);
    free(text);
    json_decref(o);
  }
  free(dir);
  return 0;
}

/* ---- add ----------------------------------------------------------------- */

static int add_from_file(const char *flag_dir, const char *name,
                         const char *file, bool force) {
  char *text = NULL, *err = NULL, *note = NULL, *dir = NULL, *path = NULL;
  int rc = 1;
  if (tc_profile_read_text(file, &text, &err) != 0 ||
      tc_profile_validate_file(file, &err, &note) != 0 ||
      tc_profile_locate(flag_dir, name, &dir, &path, &err) != 0 ||
      tc_profile_write(dir, path, text, force, &err) != 0) {
    rc = fail(err);
    goto done;
  }
  printf("Added profile %s at %s\n", name, path);
  if (note != NULL)
    printf("Note: %s\n", note);
  rc = 0;
done:
  free(text);
  free(note);
  free(dir);
  free(path);
  return rc;
}

static int add_from_sample(const char *flag_dir, const char *name,
                           const char *sample, struct tc_sample_values *v,
                           bool force) {
  const struct tc_sample *s = tc_sample_find(sample);
  if (s == NULL) {
    char *e = NULL;
    if (asprintf(&e, "unknown sample \"%.80s\" (samples: %s)", sample,
                 tc_sample_names()) < 0)
      e = NULL;
    return fail(e);
  }
  bool example_id = v->tunnel_id == NULL;
  if (example_id)
    v->tunnel_id = TC_SAMPLE_EXAMPLE_TUNNEL_ID;
  if (v->mcp_server_url == NULL && v->mcp_command == NULL) {
    if (s->target == TC_SAMPLE_COMMAND)
      v->mcp_command = TC_SAMPLE_EXAMPLE_COMMAND;
    else
      v->mcp_server_url = TC_SAMPLE_EXAMPLE_URL;
  }
  char *path = NULL, *note = NULL, *err = NULL;
  if (tc_sample_write_profile(s, v, flag_dir, name, force, false, &path, &note,
                              &err) != 0)
    return fail(err);
  printf("Added profile %s at %s (from %s)\n", name, path, s->name);
  if (example_id)
    printf("Note: the tunnel id is the example value; set yours with "
           "'tunnel-client profiles edit %s'\n",
           name);
  if (note != NULL)
    printf("Note: %s\n", note);
  free(path);
  free(note);
  return 0;
}

/* ---- edit ---------------------------------------------------------------- */

static int run_editor(const char *editor, const char *file, char **err) {
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0)
    return tc_set_error(err, "cannot start the editor: %s", strerror(errno));
  if (pid == 0) {
    /* The editor value may carry arguments ("code --wait"). */
    execl("/bin/sh", "sh", "-c", "exec $TC_EDITOR \"$1\"", "sh", file,
          (char *)NULL);
    _exit(127);
  }
  int st = 0;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR)
      return tc_set_error(err, "lost the editor process: %s", strerror(errno));
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    return tc_set_error(err,
                        "the editor (%s) exited with status %d; the profile "
                        "is unchanged",
                        editor, WIFEXITED(st) ? WEXITSTATUS(st) : 128);
  return 0;
}

static int edit_cmd(const char *flag_dir, const char *name) {
  const char *editor = getenv("VISUAL");
  if (editor == NULL || *editor == '\0')
    editor = getenv("EDITOR");
  if (editor == NULL || *editor == '\0')
    return fail(strdup("set VISUAL or EDITOR to the editor to use (e.g. "
                       "EDITOR=vi)"));
  char *dir = NULL, *path = NULL, *err = NULL, *old = NULL, *edited = NULL;
  char *tmp = NULL, *note = NULL;
  int rc = 1;
  if (tc_profile_locate(flag_dir, name, &dir, &path, &err) != 0)
    goto fail_out;
  bool exists = access(path, F_OK) == 0;
  if (exists) {
    if (tc_profile_read_text(path, &old, &err) != 0)
      goto fail_out;
  } else {
    struct tc_sample_values v;
    memset(&v, 0, sizeof(v));
    v.tunnel_id = TC_SAMPLE_EXAMPLE_TUNNEL_ID;
    v.mcp_server_url = TC_SAMPLE_EXAMPLE_URL;
    old = tc_sample_render(tc_sample_find(TC_SAMPLE_DEFAULT), &v);
    if (old == NULL) {
      err = NULL;
      goto fail_out;
    }
  }
  const char *tmpdir = getenv("TMPDIR");
  if (asprintf(&tmp, "%s/tunnel-client-edit-%s-XXXXXX.yaml",
               tmpdir && *tmpdir ? tmpdir : "/tmp", name) < 0) {
    tmp = NULL;
    goto fail_out;
  }
  int fd = mkstemps(tmp, 5);
  if (fd < 0) {
    tc_set_error(&err, "cannot create a temporary copy: %s", strerror(errno));
    free(tmp);
    tmp = NULL;
    goto fail_out;
  }
  size_t len = strlen(old);
  bool wrote = write(fd, old, len) == (ssize_t)len;
  close(fd);
  if (!wrote) {
    tc_set_error(&err, "cannot write the temporary copy %s", tmp);
    goto fail_out;
  }
  if (setenv("TC_EDITOR", editor, 1) != 0 ||
      run_editor(editor, tmp, &err) != 0 ||
      tc_profile_read_text(tmp, &edited, &err) != 0)
    goto fail_out;
  if (strcmp(edited, old) == 0) {
    printf(exists ? "No changes to profile %s (%s)\n"
                  : "No changes: profile %s was not created (%s)\n",
           name, path);
    rc = 0;
    goto out;
  }
  char *verr = NULL;
  if (tc_profile_validate_file(tmp, &verr, &note) != 0) {
    tc_set_error(&err, "not saved, %s %s: %s (your edit is kept in %s)", path,
                 exists ? "is unchanged" : "was not created",
                 verr ? verr : "invalid profile", tmp);
    free(verr);
    free(tmp); /* keep the file, forget the name */
    tmp = NULL;
    goto fail_out;
  }
  if (tc_profile_write(dir, path, edited, true, &err) != 0)
    goto fail_out;
  /* The note again for the saved file, so it names the user's path. */
  free(note);
  note = NULL;
  char *ignored = NULL;
  if (tc_profile_validate_file(path, &ignored, &note) != 0)
    free(ignored);
  printf("Saved profile %s (%s)\n", name, path);
  if (note != NULL)
    printf("Note: %s\n", note);
  rc = 0;
  goto out;
fail_out:
  rc = fail(err);
out:
  if (tmp != NULL)
    unlink(tmp);
  free(tmp);
  free(dir);
  free(path);
  free(old);
  free(edited);
  free(note);
  return rc;
}

int tc_cmd_profiles(int argc, char **argv) {
  if (argc == 0)
    return fail(strdup("missing command: list, add, edit or samples (see "
                       "'tunnel-client profiles --help')"));
  if (tc_prof_wants_help(argc, argv)) {
    fputs(tc_profiles_usage, stdout);
    return 0;
  }
  const char *dir = NULL, *from_file = NULL, *sample = NULL;
  struct tc_sample_values v;
  memset(&v, 0, sizeof(v));
  bool json = false, force = false;
  struct tc_prof_opt opts[] = {{"profile-dir", &dir, NULL},
                               {"json", NULL, &json},
                               {"force", NULL, &force},
                               {"from-file", &from_file, NULL},
                               {"sample", &sample, NULL},
                               {"tunnel-id", &v.tunnel_id, NULL},
                               {"mcp-server-url", &v.mcp_server_url, NULL},
                               {"mcp-command", &v.mcp_command, NULL},
                               {NULL, NULL, NULL}};
  char **pos = NULL, *err = NULL;
  size_t npos = 0;
  if (tc_prof_parse(argc, argv, opts, &pos, &npos, &err) != 0)
    return fail(err);
  int rc;
  const char *sub = npos > 0 ? pos[0] : "";
  bool add_flags = from_file || sample || v.tunnel_id || v.mcp_server_url ||
                   v.mcp_command || force;
  if (strcmp(sub, "add") != 0 && add_flags) {
    rc = fail(fmt_err("--from-file, --sample, --tunnel-id, --mcp-server-url, "
                      "--mcp-command and --force belong to 'profiles add', "
                      "not '%s'",
                      sub));
  } else if (strcmp(sub, "samples") == 0) {
    rc = samples_cmd(pos, npos);
  } else if (strcmp(sub, "list") == 0 && npos == 1) {
    rc = list_cmd(dir, json);
  } else if (strcmp(sub, "add") == 0 && npos == 2) {
    if ((from_file != NULL) == (sample != NULL))
      rc = fail(strdup("profiles add NAME needs exactly one of --from-file "
                       "FILE or --sample SAMPLE"));
    else if (from_file != NULL &&
             (v.tunnel_id || v.mcp_server_url || v.mcp_command))
      rc = fail(strdup("--tunnel-id, --mcp-server-url and --mcp-command go "
                       "with --sample, not --from-file"));
    else if (!tc_profile_name_ok(pos[1]))
      rc = fail(fmt_err("invalid profile name \"%.128s\" (use 1 to 128 "
                        "letters, digits, '.', '_' or '-', starting with a "
                        "letter or digit)",
                        pos[1]));
    else if (from_file != NULL)
      rc = add_from_file(dir, pos[1], from_file, force);
    else
      rc = add_from_sample(dir, pos[1], sample, &v, force);
  } else if (strcmp(sub, "edit") == 0 && npos == 2) {
    rc = edit_cmd(dir, pos[1]);
  } else if (strcmp(sub, "list") == 0 || strcmp(sub, "add") == 0 ||
             strcmp(sub, "edit") == 0) {
    rc = fail(fmt_err("wrong arguments for 'profiles %s' (see 'tunnel-client "
                      "profiles --help')",
                      sub));
  } else {
    rc = fail(fmt_err("unknown profiles command \"%.80s\" (use list, add, "
                      "edit or samples)",
                      sub));
  }
  free(pos);
  return rc;
}
