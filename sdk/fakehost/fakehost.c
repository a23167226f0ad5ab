/* fakehost.c — the host table, registrar, log and config of the fake host
 * (tc/fakehost.h). Metrics live in fakehost_metrics.c, call() in
 * fakehost_call.c.
 *
 * Everything is kept in plain arrays under one mutex: a test host favours
 * being obviously right over being fast. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fakehost_internal.h"

/* ---- host table ---------------------------------------------------------- */

static struct tc_fakehost *owner(const struct tc_host *h) {
  return (struct tc_fakehost *)h->core;
}

static const char *level_name(int level) {
  if (level >= TC_LOG_ERROR)
    return "ERROR";
  if (level >= TC_LOG_WARN)
    return "WARN";
  if (level >= TC_LOG_INFO)
    return "INFO";
  return "DEBUG";
}

static int fh_log_enabled(const struct tc_host *h, int level) {
  struct tc_fakehost *fh = owner(h);
  pthread_mutex_lock(&fh->mu);
  int on = level >= fh->log_level;
  pthread_mutex_unlock(&fh->mu);
  return on;
}

TC_PRINTF(4, 5)
static void fh_log(const struct tc_host *h, int level, const char *instance,
                   const char *fmt, ...) {
  if (!fh_log_enabled(h, level))
    return;
  struct tc_fakehost *fh = owner(h);
  char *text = NULL, *line = NULL;
  va_list ap;
  va_start(ap, fmt);
  int n = vasprintf(&text, fmt, ap);
  va_end(ap);
  if (n < 0)
    return;
  n = instance ? asprintf(&line, "%s %s/%s: %s", level_name(level),
                          h->module_name, instance, text)
               : asprintf(&line, "%s %s: %s", level_name(level), h->module_name,
                          text);
  free(text);
  if (n < 0)
    return;
  if (getenv("TC_FAKEHOST_LOG_STDERR") != NULL)
    fprintf(stderr, "%s\n", line);
  pthread_mutex_lock(&fh->mu);
  if (fh->log_count == fh->log_cap) {
    size_t cap = fh->log_cap ? fh->log_cap * 2 : 32;
    char **grown = realloc(fh->logs, cap * sizeof(*grown));
    if (grown == NULL) {
      pthread_mutex_unlock(&fh->mu);
      free(line);
      return;
    }
    fh->logs = grown;
    fh->log_cap = cap;
  }
  fh->logs[fh->log_count++] = line;
  pthread_mutex_unlock(&fh->mu);
}

static const char *fh_config_get(const struct tc_host *h, const char *key) {
  struct tc_fakehost *fh = owner(h);
  const char *v = NULL;
  pthread_mutex_lock(&fh->mu);
  for (size_t i = 0; i < fh->config_count; i++)
    if (strcmp(fh->config[i].key, key) == 0)
      v = fh->config[i].value;
  pthread_mutex_unlock(&fh->mu);
  return v;
}

static uint64_t fh_monotonic_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int64_t fh_wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *fh_alloc(size_t size) {
  return malloc(size);
}
static void fh_free(void *p) {
  free(p);
}

TC_PRINTF(1, 2)
static char *fh_format(const char *fmt, ...) {
  char *s = NULL;
  va_list ap;
  va_start(ap, fmt);
  int n = vasprintf(&s, fmt, ap);
  va_end(ap);
  return n < 0 ? NULL : s;
}

/* No net hooks run under the fake host: connections go direct. */
static int fh_net_prepare(const struct tc_host *h, void *curl_easy, int purpose,
                          const char *url, const struct tc_binding *binding,
                          char **errmsg) {
  (void)h, (void)curl_easy, (void)purpose, (void)url, (void)binding;
  (void)errmsg;
  return TC_OK;
}

/* ---- registrar ------------------------------------------------------------
 */

static struct tc_fakehost *reg_owner(struct tc_registrar *r) {
  return (struct tc_fakehost *)r->core;
}

/* Shared shape of every vtable's head. */
struct vt_head {
  size_t struct_size;
  const char *name;
};

static int add_vtable(struct tc_registrar *r, int kind, const void *vt,
                      char **errmsg) {
  struct tc_fakehost *fh = reg_owner(r);
  const struct vt_head *head = vt;
  if (!fh->in_init) {
    if (errmsg)
      *errmsg = strdup("registration is only allowed during init()");
    return TC_ESTATE;
  }
  if (vt == NULL || head->struct_size < sizeof(struct vt_head) ||
      head->name == NULL || head->name[0] == '\0') {
    if (errmsg)
      *errmsg = strdup("vtable without struct_size or name");
    return TC_EINVAL;
  }
  for (size_t i = 0; i < fh->vt_count; i++)
    if (fh->vts[i].kind == kind &&
        strcmp(((const struct vt_head *)fh->vts[i].vt)->name, head->name) ==
            0) {
      if (errmsg &&
          asprintf(errmsg, "\"%s\" is already registered", head->name) < 0)
        *errmsg = NULL;
      return TC_EEXIST;
    }
  if (fh->vt_count == sizeof(fh->vts) / sizeof(fh->vts[0])) {
    if (errmsg)
      *errmsg = strdup("too many vtables for the fake host");
    return TC_ENOMEM;
  }
  fh->vts[fh->vt_count].kind = kind;
  fh->vts[fh->vt_count].vt = vt;
  fh->vt_count++;
  return TC_OK;
}

static int reg_transport(struct tc_registrar *r,
                         const struct tc_transport_vtable *vt, char **e) {
  if (vt != NULL &&
      (vt->create == NULL || vt->call == NULL || vt->destroy == NULL)) {
    if (e)
      *e = strdup("transport vtable needs create, call and destroy");
    return TC_EINVAL;
  }
  return add_vtable(r, FH_TRANSPORT, vt, e);
}

static int reg_hook(struct tc_registrar *r, const struct tc_hook_vtable *vt,
                    char **e) {
  return add_vtable(r, FH_HOOK, vt, e);
}

static int reg_net(struct tc_registrar *r, const struct tc_net_vtable *vt,
                   char **e) {
  if (vt != NULL && vt->prepare == NULL) {
    if (e)
      *e = strdup("net vtable needs prepare");
    return TC_EINVAL;
  }
  return add_vtable(r, FH_NET, vt, e);
}

static int reg_sink(struct tc_registrar *r,
                    const struct tc_metrics_sink_vtable *vt, char **e) {
  if (vt != NULL && (((vt->flags & TC_SINK_PULL) && vt->render == NULL) ||
                     ((vt->flags & TC_SINK_PUSH) && vt->start == NULL) ||
                     (vt->flags & (TC_SINK_PULL | TC_SINK_PUSH)) == 0)) {
    if (e)
      *e = strdup("metrics sink needs a kind and its render/start");
    return TC_EINVAL;
  }
  return add_vtable(r, FH_SINK, vt, e);
}

/* ---- public API ------------------------------------------------------------
 */

static int fh_reply_reserve(const struct tc_host *h, size_t bytes) {
  struct tc_fakehost *fh = owner(h);
  pthread_mutex_lock(&fh->mu);
  int ok = bytes <= fh->reply_limit - fh->reply_used;
  if (ok)
    fh->reply_used += bytes;
  pthread_mutex_unlock(&fh->mu);
  return ok ? TC_OK : TC_ENOMEM;
}

static void fh_reply_release(const struct tc_host *h, size_t bytes) {
  struct tc_fakehost *fh = owner(h);
  pthread_mutex_lock(&fh->mu);
  fh->reply_used = bytes <= fh->reply_used ? fh->reply_used - bytes : 0;
  pthread_mutex_unlock(&fh->mu);
}

void tc_fakehost_set_reply_budget(struct tc_fakehost *fh, size_t bytes) {
  pthread_mutex_lock(&fh->mu);
  fh->reply_limit = bytes;
  pthread_mutex_unlock(&fh->mu);
}

size_t tc_fakehost_reply_bytes(struct tc_fakehost *fh) {
  pthread_mutex_lock(&fh->mu);
  size_t n = fh->reply_used;
  pthread_mutex_unlock(&fh->mu);
  return n;
}

struct tc_fakehost *tc_fakehost_new(const char *module_name) {
  struct tc_fakehost *fh = calloc(1, sizeof(*fh));
  if (fh == NULL)
    return NULL;
  fh->module_name = strdup(module_name ? module_name : "module");
  if (fh->module_name == NULL) {
    free(fh);
    return NULL;
  }
  pthread_mutex_init(&fh->mu, NULL);
  fh->log_level = TC_LOG_DEBUG;
  struct tc_host *h = &fh->host;
  h->struct_size = sizeof(*h);
  h->abi_major = TC_ABI_MAJOR;
  h->abi_minor = TC_ABI_MINOR;
  h->host_version = "fakehost";
  h->module_name = fh->module_name;
  h->core = fh;
  h->log = fh_log;
  h->log_enabled = fh_log_enabled;
  h->config_get = fh_config_get;
  h->monotonic_ns = fh_monotonic_ns;
  h->wall_ms = fh_wall_ms;
  h->alloc = fh_alloc;
  h->free = fh_free;
  h->format = fh_format;
  h->net_prepare = fh_net_prepare;
  h->reply_reserve = fh_reply_reserve;
  h->reply_release = fh_reply_release;
  h->json_members = NULL; /* not offered by the fake host */
  fh->reply_limit = SIZE_MAX;
  tc_fakehost_metrics_bind(h);
  return fh;
}

void tc_fakehost_free(struct tc_fakehost *fh) {
  if (fh == NULL)
    return;
  for (size_t i = 0; i < fh->log_count; i++)
    free(fh->logs[i]);
  free(fh->logs);
  for (size_t i = 0; i < fh->config_count; i++) {
    free(fh->config[i].key);
    free(fh->config[i].value);
  }
  free(fh->config);
  tc_fakehost_metrics_free(fh);
  pthread_mutex_destroy(&fh->mu);
  free(fh->module_name);
  free(fh);
}

const struct tc_host *tc_fakehost_host(struct tc_fakehost *fh) {
  return &fh->host;
}

int tc_fakehost_set_config(struct tc_fakehost *fh, const char *key,
                           const char *value) {
  if (fh == NULL || key == NULL)
    return TC_EINVAL;
  pthread_mutex_lock(&fh->mu);
  int rc = TC_OK;
  size_t i = 0;
  while (i < fh->config_count && strcmp(fh->config[i].key, key) != 0)
    i++;
  if (i < fh->config_count) { /* replace or remove */
    free(fh->config[i].value);
    if (value == NULL) {
      free(fh->config[i].key);
      fh->config[i] = fh->config[--fh->config_count];
    } else if ((fh->config[i].value = strdup(value)) == NULL) {
      rc = TC_ENOMEM;
    }
  } else if (value != NULL) {
    struct fh_kv *grown =
        realloc(fh->config, (fh->config_count + 1) * sizeof(*grown));
    char *k = strdup(key), *v = strdup(value);
    if (grown != NULL)
      fh->config = grown;
    if (grown == NULL || k == NULL || v == NULL) {
      free(k);
      free(v);
      rc = TC_ENOMEM;
    } else {
      fh->config[fh->config_count].key = k;
      fh->config[fh->config_count].value = v;
      fh->config_count++;
    }
  }
  pthread_mutex_unlock(&fh->mu);
  return rc;
}

void tc_fakehost_set_log_level(struct tc_fakehost *fh, int level) {
  pthread_mutex_lock(&fh->mu);
  fh->log_level = level;
  pthread_mutex_unlock(&fh->mu);
}

int tc_fakehost_init(struct tc_fakehost *fh, const struct tc_module *m,
                     const void *config, char **errmsg) {
  if (errmsg)
    *errmsg = NULL;
  const char *why = NULL;
  if (m == NULL)
    why = "no module descriptor";
  else if (m->magic != TC_MODULE_MAGIC)
    why = "bad magic";
  else if (m->abi_major != TC_ABI_MAJOR)
    why = "ABI major version mismatch";
  else if (m->abi_minor > TC_ABI_MINOR)
    why = "ABI minor version newer than this SDK";
  else if (m->struct_size < offsetof(struct tc_module, fini))
    why = "descriptor struct_size too small";
  else if (m->name == NULL || m->version == NULL || m->init == NULL)
    why = "descriptor needs name, version and init";
  if (why != NULL) {
    if (errmsg)
      *errmsg = strdup(why);
    return TC_EABI;
  }
  struct tc_registrar reg = {sizeof(reg), fh,      reg_transport,
                             reg_hook,    reg_net, reg_sink};
  fh->in_init = 1;
  int rc = m->init(&fh->host, &reg, config, errmsg);
  fh->in_init = 0;
  return rc;
}

static const void *find_vt(struct tc_fakehost *fh, int kind, const char *name) {
  for (size_t i = 0; i < fh->vt_count; i++)
    if (fh->vts[i].kind == kind &&
        strcmp(((const struct vt_head *)fh->vts[i].vt)->name, name) == 0)
      return fh->vts[i].vt;
  return NULL;
}

const struct tc_transport_vtable *tc_fakehost_transport(struct tc_fakehost *fh,
                                                        const char *name) {
  return find_vt(fh, FH_TRANSPORT, name);
}

const struct tc_hook_vtable *tc_fakehost_hook(struct tc_fakehost *fh,
                                              const char *name) {
  return find_vt(fh, FH_HOOK, name);
}

const struct tc_net_vtable *tc_fakehost_net(struct tc_fakehost *fh,
                                            const char *name) {
  return find_vt(fh, FH_NET, name);
}

const struct tc_metrics_sink_vtable *
tc_fakehost_metrics_sink(struct tc_fakehost *fh, const char *name) {
  return find_vt(fh, FH_SINK, name);
}

size_t tc_fakehost_log_count(struct tc_fakehost *fh) {
  pthread_mutex_lock(&fh->mu);
  size_t n = fh->log_count;
  pthread_mutex_unlock(&fh->mu);
  return n;
}

char *tc_fakehost_log_line(struct tc_fakehost *fh, size_t i) {
  pthread_mutex_lock(&fh->mu);
  char *copy = i < fh->log_count ? strdup(fh->logs[i]) : NULL;
  pthread_mutex_unlock(&fh->mu);
  return copy;
}

int tc_fakehost_log_contains(struct tc_fakehost *fh, const char *needle) {
  pthread_mutex_lock(&fh->mu);
  int found = 0;
  for (size_t i = 0; i < fh->log_count && !found; i++)
    found = strstr(fh->logs[i], needle) != NULL;
  pthread_mutex_unlock(&fh->mu);
  return found;
}
