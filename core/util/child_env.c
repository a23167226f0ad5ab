/* util/child_env.c — a child's environment without the agent's secrets
 * (see child_env.h). */
#include "util/child_env.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static const char *const fixed[] = {"CONTROL_PLANE_API_KEY", "OPENAI_API_KEY",
                                    "OPENAI_ADMIN_KEY", NULL};

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static char **g_names; /* registered names, never freed */
static size_t g_count, g_cap;

/* Lock held. */
static int listed(const char *name, size_t len) {
  for (size_t i = 0; fixed[i] != NULL; i++)
    if (strlen(fixed[i]) == len && memcmp(fixed[i], name, len) == 0)
      return 1;
  for (size_t i = 0; i < g_count; i++)
    if (strlen(g_names[i]) == len && memcmp(g_names[i], name, len) == 0)
      return 1;
  return 0;
}

int tc_child_env_withhold(const char *name) {
  if (name == NULL || name[0] == '\0')
    return 0;
  int rc = 0;
  pthread_mutex_lock(&g_mu);
  if (!listed(name, strlen(name))) {
    if (g_count == g_cap) {
      size_t cap = g_cap ? g_cap * 2 : 8;
      char **n = realloc(g_names, cap * sizeof(*n));
      if (n == NULL) {
        rc = -1;
        goto out;
      }
      g_names = n;
      g_cap = cap;
    }
    char *copy = strdup(name);
    if (copy == NULL)
      rc = -1;
    else
      g_names[g_count++] = copy;
  }
out:
  pthread_mutex_unlock(&g_mu);
  return rc;
}

int tc_child_env_is_withheld(const char *name) {
  pthread_mutex_lock(&g_mu);
  int r = listed(name, strlen(name));
  pthread_mutex_unlock(&g_mu);
  return r;
}

/* Lock held: should "NAME=value" be dropped? */
static int drops(const char *entry, char *const *pass, size_t npass) {
  const char *eq = strchr(entry, '=');
  size_t len = eq != NULL ? (size_t)(eq - entry) : strlen(entry);
  if (!listed(entry, len))
    return 0;
  for (size_t i = 0; i < npass; i++)
    if (strlen(pass[i]) == len && memcmp(pass[i], entry, len) == 0)
      return 0;
  return 1;
}

char **tc_child_env_build(char *const *env, char *const *pass, size_t npass) {
  size_t n = 0, bytes = 0;
  for (; env != NULL && env[n] != NULL; n++)
    bytes += strlen(env[n]) + 1;
  char **out = malloc((n + 1) * sizeof(*out) + bytes);
  if (out == NULL)
    return NULL;
  char *text = (char *)(out + n + 1);
  size_t k = 0;
  pthread_mutex_lock(&g_mu);
  for (size_t i = 0; i < n; i++) {
    if (drops(env[i], pass, npass))
      continue;
    size_t l = strlen(env[i]) + 1;
    memcpy(text, env[i], l);
    out[k++] = text;
    text += l;
  }
  pthread_mutex_unlock(&g_mu);
  out[k] = NULL;
  return out;
}

char *tc_child_env_dropped(char *const *env, char *const *pass, size_t npass) {
  size_t cap = 1, len = 0;
  for (size_t i = 0; env != NULL && env[i] != NULL; i++)
    cap += strlen(env[i]) + 2;
  char *out = malloc(cap);
  if (out == NULL)
    return NULL;
  out[0] = '\0';
  pthread_mutex_lock(&g_mu);
  for (size_t i = 0; env != NULL && env[i] != NULL; i++) {
    if (!drops(env[i], pass, npass))
      continue;
    const char *eq = strchr(env[i], '=');
    size_t l = eq != NULL ? (size_t)(eq - env[i]) : strlen(env[i]);
    if (len > 0) {
      memcpy(out + len, ", ", 2);
      len += 2;
    }
    memcpy(out + len, env[i], l);
    len += l;
    out[len] = '\0';
  }
  pthread_mutex_unlock(&g_mu);
  return out;
}
