/* cli/dev_common.c — helpers shared by the `dev` subcommands: flag
 * parsing, SIGINT/SIGTERM handling and the --url-file output. */
#include "cli/dev_common.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/duration.h"
#include "util/fs.h"
#include "util/host_pattern.h"
#include "util/log.h"

/* A printable value without control characters, at most 256 bytes. */
static int plain_value(const char *v) {
  size_t n = strlen(v);
  if (n == 0 || n > 256)
    return 0;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
      return 0;
  return 1;
}

/* Append the comma-separated entries of `value` (trimmed) to *l. 0, or
 * one error line and -1. */
static int list_add(const char *cmd, const char *flag, struct tc_dev_list *l,
                    const char *value) {
  for (const char *p = value;;) {
    size_t n = strcspn(p, ",");
    const char *b = p, *e = p + n;
    while (b < e && (*b == ' ' || *b == '\t'))
      b++;
    while (e > b && (e[-1] == ' ' || e[-1] == '\t'))
      e--;
    if (e == b) {
      fprintf(stderr,
              "dev %s: %s has an empty entry; separate entries with single "
              "commas\n",
              cmd, flag);
      return -1;
    }
    char **grown = realloc(l->items, (l->count + 1) * sizeof(*grown));
    char *item = grown != NULL ? strndup(b, (size_t)(e - b)) : NULL;
    if (grown != NULL)
      l->items = grown;
    if (item == NULL) {
      fprintf(stderr, "dev %s: out of memory\n", cmd);
      return -1;
    }
    l->items[l->count++] = item;
    if (p[n] == '\0')
      return 0;
    p += n + 1;
  }
}

/* `--flag` or `--flag=true|false`. Returns 1 when arg is the flag. */
static int bool_flag(const char *arg, const char *name, bool *out, int *bad) {
  size_t len = strlen(name);
  if (strncmp(arg, name, len) != 0)
    return 0;
  if (arg[len] == '\0')
    *out = true;
  else if (strcmp(arg + len, "=true") == 0)
    *out = true;
  else if (strcmp(arg + len, "=false") == 0)
    *out = false;
  else if (arg[len] == '=')
    *bad = 1;
  else
    return 0;
  return 1;
}

int tc_dev_parse_flags(const char *cmd, const char *usage,
                       const char *unknown_hint,
                       const struct tc_dev_flag *flags, size_t nflags, int argc,
                       char **argv) {
  for (int i = 0; i < argc; i++) {
    char *arg = argv[i];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      fputs(usage, stdout);
      return 2;
    }
    int bad = 0, is_bool = 0;
    for (size_t b = 0; b < nflags && !is_bool; b++)
      if (flags[b].on != NULL)
        is_bool = bool_flag(arg, flags[b].name, flags[b].on, &bad);
    if (is_bool) {
      if (bad) {
        fprintf(stderr,
                "dev %s: \"%.64s\": boolean flags take no value or "
                "=true/=false\n",
                cmd, arg);
        return 1;
      }
      continue;
    }
    size_t k = 0;
    char *value = NULL;
    for (; k < nflags; k++) {
      if (flags[k].value == NULL && flags[k].list == NULL)
        continue;
      size_t len = strlen(flags[k].name);
      if (strncmp(arg, flags[k].name, len) != 0)
        continue;
      if (arg[len] == '=') {
        value = arg + len + 1;
        break;
      }
      if (arg[len] == '\0') {
        if (i + 1 >= argc) {
          fprintf(stderr,
                  "dev %s: flag %s needs a value; see 'tunnel-client dev "
                  "help %s'\n",
                  cmd, flags[k].name, cmd);
          return 1;
        }
        value = argv[++i];
        break;
      }
    }
    if (k == nflags) {
      fprintf(stderr, "dev %s: unknown argument \"%.64s\"; %s\n", cmd, arg,
              unknown_hint);
      return 1;
    }
    /* A long_ok value (a command line) may be long; the rest are short. */
    if (!plain_value(value) && !(flags[k].long_ok && value[0] != '\0')) {
      fprintf(stderr,
              "dev %s: %s must be 1..256 printable characters; fix its "
              "value\n",
              cmd, flags[k].name);
      return 1;
    }
    if (flags[k].list != NULL) {
      if (list_add(cmd, flags[k].name, flags[k].list, value) != 0)
        return 1;
    } else {
      *flags[k].value = value;
    }
  }
  return 0;
}

void tc_dev_list_free(struct tc_dev_list *l) {
  for (size_t i = 0; i < l->count; i++)
    free(l->items[i]);
  free(l->items);
  l->items = NULL;
  l->count = 0;
}

int tc_dev_check_allowed_hosts(const char *cmd, const struct tc_dev_list *l) {
  for (size_t i = 0; i < l->count; i++) {
    struct tc_host_pattern hp;
    const char *why = NULL;
    if (tc_host_pattern_parse(l->items[i], &hp, &why) != 0) {
      fprintf(stderr, "dev %s: --allowed-hosts entry \"%.64s\": %s\n", cmd,
              l->items[i], why);
      return -1;
    }
  }
  return 0;
}

int tc_dev_response_timeout_ms(const char *cmd, const char *text,
                               int64_t *out_ms) {
  int64_t ns = 0;
  if (!tc_cp_parse_response_timeout(text, &ns) || ns < 1000000) {
    fprintf(stderr,
            "dev %s: --response-timeout \"%.32s\" is not a duration of at "
            "least 1ms; use e.g. 30s or 1500ms\n",
            cmd, text);
    return -1;
  }
  *out_ms = ns / 1000000;
  return 0;
}

void tc_dev_block_signals(sigset_t *signals) {
  sigemptyset(signals);
  sigaddset(signals, SIGINT);
  sigaddset(signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, signals, NULL);
  /* Undo an inherited "ignore" (background start without job control);
   * the signals stay blocked, so only sigwait() sees them. */
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  signal(SIGPIPE, SIG_IGN);
}

void tc_dev_wait_for_stop(const sigset_t *signals, const char *component) {
  int sig = 0;
  while (sigwait(signals, &sig) != 0 || (sig != SIGINT && sig != SIGTERM))
    ;
  tc_log(TC_LOG_INFO, component, "shutting down", "signal",
         sig == SIGINT ? "SIGINT" : "SIGTERM", NULL);
}

int tc_dev_write_url_file(const char *cmd, const char *path, const char *base) {
  char *err = NULL;
  if (tc_fs_write_atomic(path, base, strlen(base), 0600, &err) != 0) {
    fprintf(stderr, "dev %s: URL file (--url-file): %s\n", cmd,
            err ? err : "out of memory");
    free(err);
    return -1;
  }
  return 0;
}

void tc_dev_remove_output_file(const char *component, const char *path,
                               const char *warning) {
  if (path != NULL && tc_fs_remove_if_exists(path) != 0)
    tc_log(TC_LOG_WARN, component, warning, "path", path, NULL);
}
