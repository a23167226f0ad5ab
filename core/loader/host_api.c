/* loader/host_api.c — the struct tc_host table each module receives.
 * Every member but config_get is safe from any thread (see tc/host.h).
 * config_get reads the registry's current configuration (a reload points
 * it at the new one), answers with copies that live until exit, and notes
 * which keys each module read (tc_registry_fixed_settings). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dispatch/reply_budget.h"
#include "loader/loader_internal.h"
#include "ops/metrics_registry.h"
#include "tc/json_scan.h"
#include "util/log.h"
#include "util/sbuf.h"

static struct tc_module_entry *hs_entry(const struct tc_host *host) {
  return host != NULL ? host->core : NULL;
}

static struct tc_metrics_registry *hs_metrics(const struct tc_host *host) {
  struct tc_module_entry *e = hs_entry(host);
  if (e != NULL && e->reg != NULL && e->reg->metrics != NULL)
    return e->reg->metrics;
  return tc_metrics_registry_global();
}

static void hs_log(const struct tc_host *host, int level, const char *instance,
                   const char *fmt, ...) TC_PRINTF(4, 5);
static void hs_log(const struct tc_host *host, int level, const char *instance,
                   const char *fmt, ...) {
  if (fmt == NULL || !tc_log_enabled(level))
    return;
  char component[160];
  const char *name =
      host != NULL && host->module_name ? host->module_name : "module";
  if (instance != NULL && instance[0] != '\0')
    snprintf(component, sizeof(component), "%s/%s", name, instance);
  else
    snprintf(component, sizeof(component), "%s", name);
  va_list ap;
  va_start(ap, fmt);
  tc_logv(level, component, fmt, ap);
  va_end(ap);
}

static int hs_log_enabled(const struct tc_host *host, int level) {
  return tc_log_enabled(level);
}

/* Proxy URLs may carry credentials, so their effective entries are NULL
 * then; the module that applies them (the "proxy" net hook) alone reads
 * the resolved values. */
static const char *hs_proxy_url(const struct tc_host *host,
                                const struct tc_config *cfg, const char *key) {
  if (host->module_name == NULL || strcmp(host->module_name, "proxy") != 0)
    return NULL;
  if (strcmp(key, "http_proxy") == 0)
    return cfg->http_proxy;
  if (strcmp(key, "mcp.http_proxy") == 0)
    return cfg->mcp_http_proxy;
  if (strcmp(key, "control_plane.http_proxy") == 0)
    return cfg->cp_http_proxy;
  return NULL;
}

/* The MCP static headers hold secrets, so their effective entries are
 * redacted; the module that sends the discovery requests (auth-oauth)
 * alone reads them, as "Name: value" lines (malloc()ed). */
static char *hs_header_text(const struct tc_module_entry *e,
                            const struct tc_config *cfg, const char *key) {
  const char *name = e->pub.host.module_name;
  if (name == NULL || strcmp(name, "auth-oauth") != 0)
    return NULL;
  const struct tc_headers *h;
  if (strcmp(key, "mcp.extra_headers") == 0)
    h = &cfg->mcp_extra_headers;
  else if (strcmp(key, "mcp.discovery_extra_headers") == 0)
    h = &cfg->mcp_discovery_extra_headers;
  else
    return NULL;
  struct tc_sbuf b = TC_SBUF_INIT;
  for (size_t k = 0; k < h->count; k++)
    tc_sbuf_printf(&b, "%s: %s\n", h->items[k].name, h->items[k].value);
  return tc_sbuf_finish(&b);
}

static int hs_push(char ***v, size_t *n, char *s) {
  char **g = realloc(*v, (*n + 1) * sizeof(*g));
  if (g == NULL)
    return -1;
  g[(*n)++] = s;
  *v = g;
  return 0;
}

/* A copy of v that stays valid until exit: configurations come and go with
 * reloads, answers handed to a module must not. NULL on ENOMEM. */
static const char *hs_intern(struct tc_module_entry *e, const char *v) {
  for (size_t i = 0; i < e->interned_count; i++)
    if (strcmp(e->interned[i], v) == 0)
      return e->interned[i];
  char *copy = strdup(v);
  if (copy == NULL || hs_push(&e->interned, &e->interned_count, copy) != 0) {
    free(copy);
    return NULL;
  }
  return copy;
}

/* Remember that the module read `key` where no reload refreshes it. */
static void hs_note_fixed(struct tc_module_entry *e, const char *key) {
  if (e->reg->refreshing)
    return;
  for (size_t i = 0; i < e->fixed_key_count; i++)
    if (strcmp(e->fixed_keys[i], key) == 0)
      return;
  char *copy = strdup(key);
  if (copy == NULL || hs_push(&e->fixed_keys, &e->fixed_key_count, copy) != 0)
    free(copy); /* then a reload may not name this key: ENOMEM only */
}

static const char *hs_config_get(const struct tc_host *host, const char *key) {
  struct tc_module_entry *e = hs_entry(host);
  if (e == NULL || e->reg == NULL || e->reg->cfg == NULL || key == NULL)
    return NULL;
  hs_note_fixed(e, key);
  const struct tc_config *cfg = e->reg->cfg;
  const char *raw = hs_proxy_url(host, cfg, key);
  char *built = raw == NULL ? hs_header_text(e, cfg, key) : NULL;
  const char *v = raw != NULL     ? raw
                  : built != NULL ? built
                                  : tc_config_get(cfg, key);
  const char *out = v != NULL ? hs_intern(e, v) : NULL;
  free(built);
  return out;
}

void tc_host_release(struct tc_module_entry *e) {
  for (size_t i = 0; i < e->interned_count; i++)
    free(e->interned[i]);
  free(e->interned);
  for (size_t i = 0; i < e->fixed_key_count; i++)
    free(e->fixed_keys[i]);
  free(e->fixed_keys);
  e->interned = e->fixed_keys = NULL;
  e->interned_count = e->fixed_key_count = 0;
}

static uint64_t hs_monotonic_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int64_t hs_wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + (int64_t)(ts.tv_nsec / 1000000);
}

static void *hs_alloc(size_t size) {
  return malloc(size ? size : 1);
}

static void hs_free(void *ptr) {
  free(ptr);
}

static char *hs_format(const char *fmt, ...) TC_PRINTF(1, 2);
static char *hs_format(const char *fmt, ...) {
  if (fmt == NULL)
    return NULL;
  struct tc_sbuf b = TC_SBUF_INIT;
  va_list ap;
  va_start(ap, fmt);
  tc_sbuf_vprintf(&b, fmt, ap);
  va_end(ap);
  return tc_sbuf_finish(&b);
}

static int hs_net_prepare(const struct tc_host *host, void *curl_easy,
                          int purpose, const char *url,
                          const struct tc_binding *binding, char **errmsg) {
  struct tc_module_entry *e = hs_entry(host);
  if (e == NULL) {
    if (errmsg != NULL)
      *errmsg = tc_loader_fmt("net_prepare: invalid host table");
    return TC_EINVAL;
  }
  return tc_registry_net_prepare(e->reg, curl_easy, purpose, url, binding,
                                 errmsg);
}

static struct tc_metric *hs_metric_register(const struct tc_host *host,
                                            const struct tc_metric_desc *desc,
                                            char **errmsg) {
  return tc_metrics_register(hs_metrics(host), desc, errmsg);
}

static int hs_metrics_visit(const struct tc_host *host, tc_metric_visit_fn fn,
                            void *ud) {
  return tc_metrics_visit(hs_metrics(host), fn, ud);
}

static int hs_reply_reserve(const struct tc_host *host, size_t bytes) {
  (void)host;
  return tc_reply_budget_reserve(bytes) == 0 ? TC_OK : TC_ENOMEM;
}

static void hs_reply_release(const struct tc_host *host, size_t bytes) {
  (void)host;
  tc_reply_budget_release(bytes);
}

static int hs_json_members(const char *obj, size_t len, const char *const *keys,
                           size_t count, size_t *offs, size_t *lens) {
  for (size_t i = 0; i < count; i++)
    offs[i] = lens[i] = 0;
  if (obj == NULL || tc_json_check(obj, len) != TC_JSON_OBJECT)
    return TC_EINVAL;
  /* One pass over the object per (up to) 8 keys. */
  for (size_t base = 0; base < count; base += 8) {
    struct tc_json_span m[8];
    size_t k = count - base < 8 ? count - base : 8;
    tc_json_members(obj, len, keys + base, k, m);
    for (size_t i = 0; i < k; i++) {
      if (m[i].p != NULL) {
        offs[base + i] = (size_t)(m[i].p - obj);
        lens[base + i] = m[i].n;
      }
    }
  }
  return TC_OK;
}

void tc_host_bind(struct tc_module_entry *e) {
  struct tc_host *h = &e->pub.host;
  memset(h, 0, sizeof(*h));
  h->struct_size = sizeof(*h);
  h->abi_major = TC_ABI_MAJOR;
  h->abi_minor = TC_ABI_MINOR;
#ifdef TC_VERSION
  h->host_version = TC_VERSION;
#else
  h->host_version = "0.0.0";
#endif
  h->module_name = e->pub.desc->name;
  h->core = e;
  h->log = hs_log;
  h->log_enabled = hs_log_enabled;
  h->config_get = hs_config_get;
  h->monotonic_ns = hs_monotonic_ns;
  h->wall_ms = hs_wall_ms;
  h->alloc = hs_alloc;
  h->free = hs_free;
  h->format = hs_format;
  h->net_prepare = hs_net_prepare;
  h->metric_register = hs_metric_register;
  h->metric_add = tc_metric_add;
  h->metric_set = tc_metric_set;
  h->metric_observe = tc_metric_observe;
  h->metrics_visit = hs_metrics_visit;
  h->reply_reserve = hs_reply_reserve;
  h->reply_release = hs_reply_release;
  h->json_members = hs_json_members;
}
