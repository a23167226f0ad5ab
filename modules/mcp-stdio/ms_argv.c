/* ms_argv.c — shell-like splitting of a stdio binding's command line. */
#include <stdlib.h>
#include <string.h>

#include "ms_internal.h"

void ms_argv_free(char **argv) {
  if (argv == NULL)
    return;
  for (size_t i = 0; argv[i] != NULL; i++)
    free(argv[i]);
  free(argv);
}

static int push_word(char ***argv, size_t *n, size_t *cap, char *w) {
  if (*n + 2 > *cap) {
    size_t nc = *cap ? *cap * 2 : 8;
    char **na = realloc(*argv, nc * sizeof(*na));
    if (na == NULL)
      return -1;
    *argv = na;
    *cap = nc;
  }
  (*argv)[(*n)++] = w;
  (*argv)[*n] = NULL;
  return 0;
}

int ms_argv_split(const char *cmd, char ***argv_out, const char **why) {
  size_t len = strlen(cmd), n = 0, cap = 0;
  char **argv = NULL;
  /* A word is never longer than the command line. */
  char *word = malloc(len + 1);
  if (word == NULL)
    return -2;
  const char *p = cmd;
  *why = NULL;
  for (;;) {
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
      p++;
    if (*p == '\0')
      break;
    size_t wl = 0;
    while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
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
        p++;
        while (*p != '"') {
          if (*p == '\0') {
            *why = "unterminated double quote";
            goto fail;
          }
          if (*p == '\\') {
            p++;
            if (*p == '\0') {
              *why = "unterminated double quote";
              goto fail;
            }
          }
          word[wl++] = *p++;
        }
        p++;
      } else if (*p == '\\') {
        p++;
        if (*p == '\0') {
          *why = "trailing backslash";
          goto fail;
        }
        word[wl++] = *p++;
      } else {
        word[wl++] = *p++;
      }
    }
    char *w = malloc(wl + 1);
    if (w == NULL)
      goto oom;
    memcpy(w, word, wl);
    w[wl] = '\0';
    if (push_word(&argv, &n, &cap, w) != 0) {
      free(w);
      goto oom;
    }
  }
  free(word);
  if (n == 0) {
    *why = "the command is empty";
    free(argv);
    return -1;
  }
  *argv_out = argv;
  return 0;
fail:
  free(word);
  ms_argv_free(argv);
  return -1;
oom:
  free(word);
  ms_argv_free(argv);
  return -2;
}
