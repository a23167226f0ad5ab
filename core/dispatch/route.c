/* dispatch/route.c — transport instances, per-channel counters and route
 * sets: the channel -> instance lookup (protocol.md §3.3 step 2: an
 * unknown channel is rejected by the caller, never sent to main).
 *
 * An instance owns a copy of its binding (strings and header lists), so it
 * does not depend on the lifetime of any configuration: a reload frees the
 * old configuration while the instances made from it keep serving. Proxy
 * and mTLS defaults (mcp.http_proxy, mcp.client_cert) are not folded into
 * the binding: net hooks resolve them, so it carries only the per-binding
 * values. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/reconcile.h"
#include "dispatch/dispatch_internal.h"
#include "ops/core_metrics.h"
#include "tc/errors.h"
#include "util/child_env.h"
#include "util/log.h"

extern char **environ;

extern char **environ;

static char *route_fmt(const char *fmt, ...) TC_PRINTF(1, 2);
static char *route_fmt(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0)
    return NULL;
  char *s = malloc((size_t)n + 1);
  if (s == NULL)
    return NULL;
  va_start(ap, fmt);
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return s;
}

/* ---- bindings ------------------------------------------------------------ */

static int dup_opt(const char **dst, const char *src) {
  *dst = NULL;
  if (src == NULL)
    return 0;
  *dst = strdup(src);
  return *dst != NULL ? 0 : -1;
}

static int copy_headers(struct tc_headers *dst, const struct tc_headers *src) {
  for (size_t i = 0; i < src->count; i++)
    if (tc_headers_add(dst, src->items[i].name, src->items[i].value) != TC_OK)
      return -1;
  return 0;
}

void tc_dispatch_binding_clear(struct tc_binding *b, struct tc_headers *extra,
                               struct tc_headers *discovery) {
  free((char *)(uintptr_t)b->channel);
  free((char *)(uintptr_t)b->transport);
  free((char *)(uintptr_t)b->url);
  free((char *)(uintptr_t)b->unix_socket);
  free((char *)(uintptr_t)b->http_proxy);
  free((char *)(uintptr_t)b->client_cert);
  free((char *)(uintptr_t)b->client_key);
  free((char *)(uintptr_t)b->command);
  free((void *)(uintptr_t)b->child_env); /* one block (util/child_env.h) */
  memset(b, 0, sizeof(*b));
  tc_headers_clear(extra);
  tc_headers_clear(discovery);
}

int tc_dispatch_binding_build(struct tc_binding *b, struct tc_headers *extra,
                              struct tc_headers *discovery,
                              const struct tc_config *cfg,
                              const struct tc_binding_cfg *bc) {
  memset(b, 0, sizeof(*b));
  b->struct_size = sizeof(*b);
  int rc = dup_opt(&b->channel, bc->channel != NULL ? bc->channel : "main");
  rc |= dup_opt(&b->transport, bc->transport);
  rc |= dup_opt(&b->url, bc->url);
  rc |= dup_opt(&b->unix_socket, bc->unix_socket);
  rc |= dup_opt(&b->http_proxy, bc->http_proxy);
  rc |= dup_opt(&b->client_cert, bc->client_cert);
  rc |= dup_opt(&b->client_key, bc->client_key);
  rc |= dup_opt(&b->command, bc->command);
  rc |= copy_headers(extra, &cfg->mcp_extra_headers);
  rc |= copy_headers(discovery, &cfg->mcp_discovery_extra_headers);
  b->extra_headers = extra;
  b->discovery_extra_headers = discovery;
  b->connection_max_ttl_ms = cfg->mcp_connection_max_ttl_ms;
  b->startup_wait_timeout_ms = cfg->mcp_startup_wait_timeout_ms;
  b->max_concurrent_requests = cfg->mcp_max_concurrent;
  /* The environment a child process of this binding starts with: the
   * agent's own minus its secrets (util/child_env.h), taken now. */
  char **env = tc_child_env_build(environ, cfg->mcp_command_pass_env,
                                  cfg->mcp_command_pass_env_count);
  b->child_env = (const char *const *)env;
  if (rc != 0 || env == NULL) {
    tc_dispatch_binding_clear(b, extra, discovery);
    return -1;
  }
  return 0;
}

static int opt_eq(const char *a, const char *b) {
  if (a == NULL || b == NULL)
    return a == b;
  return strcmp(a, b) == 0;
}

static int env_eq(const char *const *a, const char *const *b) {
  if (a == NULL || b == NULL)
    return a == b;
  size_t i = 0;
  for (; a[i] != NULL && b[i] != NULL; i++)
    if (strcmp(a[i], b[i]) != 0)
      return 0;
  return a[i] == b[i];
}

int tc_dispatch_binding_equal(const struct tc_binding *a,
                              const struct tc_binding *b) {
  return opt_eq(a->channel, b->channel) && opt_eq(a->transport, b->transport) &&
         opt_eq(a->url, b->url) && opt_eq(a->unix_socket, b->unix_socket) &&
         opt_eq(a->http_proxy, b->http_proxy) &&
         opt_eq(a->client_cert, b->client_cert) &&
         opt_eq(a->client_key, b->client_key) &&
         opt_eq(a->command, b->command) &&
         tc_config_headers_equal(a->extra_headers, b->extra_headers) &&
         tc_config_headers_equal(a->discovery_extra_headers,
                                 b->discovery_extra_headers) &&
         a->connection_max_ttl_ms == b->connection_max_ttl_ms &&
         a->startup_wait_timeout_ms == b->startup_wait_timeout_ms &&
         a->max_concurrent_requests == b->max_concurrent_requests &&
         env_eq(a->child_env, b->child_env);
}

void tc_binding_from_cfg(struct tc_binding *b, const struct tc_config *cfg,
                         const struct tc_binding_cfg *bc, const char *channel,
                         char **child_env) {
  memset(b, 0, sizeof(*b));
  b->struct_size = sizeof(*b);
  b->channel = channel;
  b->transport = bc->transport;
  b->url = bc->url;
  b->unix_socket = bc->unix_socket;
  b->http_proxy = bc->http_proxy;
  b->client_cert = bc->client_cert;
  b->client_key = bc->client_key;
  b->command = bc->command;
  b->extra_headers = &cfg->mcp_extra_headers;
  b->discovery_extra_headers = &cfg->mcp_discovery_extra_headers;
  b->connection_max_ttl_ms = cfg->mcp_connection_max_ttl_ms;
  b->startup_wait_timeout_ms = cfg->mcp_startup_wait_timeout_ms;
  b->max_concurrent_requests = cfg->mcp_max_concurrent;
  b->child_env = (const char *const *)child_env;
}

/* ---- instances ----------------------------------------------------------- */

static void inst_free(struct tc_dispatch_inst *i) {
  tc_dispatch_binding_clear(&i->binding, &i->extra_headers,
                            &i->discovery_extra_headers);
  pthread_mutex_destroy(&i->serial_mu);
  free(i->channel);
  free(i);
}

int tc_dispatch_inst_open(struct tc_dispatch_inst **out,
                          const struct tc_config *cfg,
                          const struct tc_binding_cfg *bc,
                          const struct tc_registry *reg, char **err) {
  *out = NULL;
  const char *channel = bc->channel != NULL ? bc->channel : "main";
  const char *tname = bc->transport != NULL ? bc->transport : "";
  const struct tc_registered_transport *rt = tc_registry_transport(reg, tname);
  if (rt == NULL || rt->vt == NULL) {
    *err = route_fmt("channel \"%s\": transport \"%s\" is not provided by any "
                     "loaded module (load one with --module, or bind the "
                     "channel to a loaded transport; see `tunnel-client "
                     "modules list`)",
                     channel, tname);
    return -1;
  }
  struct tc_dispatch_inst *i = calloc(1, sizeof(*i));
  if (i == NULL || (i->channel = strdup(channel)) == NULL ||
      tc_dispatch_binding_build(&i->binding, &i->extra_headers,
                                &i->discovery_extra_headers, cfg, bc) != 0) {
    if (i != NULL)
      free(i->channel);
    free(i);
    *err = route_fmt("dispatcher: out of memory creating transports");
    return -1;
  }
  pthread_mutex_init(&i->serial_mu, NULL);
  atomic_init(&i->refs, 1);
  atomic_init(&i->probed, false);
  i->vt = rt->vt;
  i->serial = (i->vt->flags & TC_TRANSPORT_SERIAL) != 0;
  const struct tc_host *host = rt->owner != NULL ? &rt->owner->host : NULL;
  char *msg = NULL;
  int rc = i->vt->create(host, &i->binding, &i->inst, &msg);
  if (rc != TC_OK) {
    *err = route_fmt("channel \"%s\": transport \"%s\" refused the binding: "
                     "%s (fix the binding's settings)",
                     channel, tname, msg != NULL ? msg : tc_strerror(rc));
    free(msg);
    inst_free(i);
    return -1;
  }
  if (i->vt->start != NULL) {
    rc = i->vt->start(i->inst, &msg);
    if (rc != TC_OK) {
      *err = route_fmt("channel \"%s\": transport \"%s\" failed to start: %s",
                       channel, tname, msg != NULL ? msg : tc_strerror(rc));
      free(msg);
      if (i->vt->stop != NULL)
        i->vt->stop(i->inst);
      i->vt->destroy(i->inst);
      inst_free(i);
      return -1;
    }
  }
  i->started = 1;
  tc_log(TC_LOG_DEBUG, "dispatcher", "transport started", "channel", channel,
         "transport", i->vt->name, NULL);
  *out = i;
  return 0;
}

void tc_dispatch_inst_ref(struct tc_dispatch_inst *i) {
  atomic_fetch_add(&i->refs, 1);
}

void tc_dispatch_inst_unref(struct tc_dispatch_inst *i) {
  atomic_fetch_sub(&i->refs, 1);
}

void tc_dispatch_inst_stop(struct tc_dispatch_inst *i) {
  if (i->started && i->vt->stop != NULL)
    i->vt->stop(i->inst);
  i->started = 0;
}

void tc_dispatch_inst_close(struct tc_dispatch_inst *i) {
  if (i == NULL)
    return;
  tc_dispatch_inst_stop(i);
  i->vt->destroy(i->inst);
  inst_free(i);
}

int tc_dispatch_inst_call(struct tc_dispatch_inst *i,
                          struct tc_dispatch_stats *s,
                          const struct tc_request *req,
                          const struct tc_sink *sink) {
  atomic_fetch_add(&s->in_flight, 1);
  uint64_t start = tc_dispatch_now_ns();
  if (i->serial)
    pthread_mutex_lock(&i->serial_mu);
  int rc = i->vt->call(i->inst, req, sink);
  if (i->serial)
    pthread_mutex_unlock(&i->serial_mu);
  const char *labels[] = {i->channel};
  tc_metric_observe(tc_core_metrics()->mcp_call_duration, labels,
                    (double)(tc_dispatch_now_ns() - start) / 1e9);
  atomic_fetch_sub(&s->in_flight, 1);
  return rc;
}

int tc_dispatch_inst_terminate(struct tc_dispatch_inst *i,
                               const struct tc_request *req, int *status) {
  if (i->serial)
    pthread_mutex_lock(&i->serial_mu);
  int rc = i->vt->terminate_session(i->inst, req, status);
  if (i->serial)
    pthread_mutex_unlock(&i->serial_mu);
  return rc;
}

/* ---- per-channel counters ------------------------------------------------ */

struct tc_dispatch_stats *tc_dispatch_stats_new(void) {
  struct tc_dispatch_stats *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return NULL;
  atomic_init(&s->refs, 1);
  atomic_init(&s->requests_total, 0);
  atomic_init(&s->errors_total, 0);
  atomic_init(&s->in_flight, 0);
  pthread_mutex_init(&s->mu, NULL);
  return s;
}

void tc_dispatch_stats_ref(struct tc_dispatch_stats *s) {
  atomic_fetch_add(&s->refs, 1);
}

void tc_dispatch_stats_unref(struct tc_dispatch_stats *s) {
  if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1)
    return;
  pthread_mutex_destroy(&s->mu);
  free(s);
}

void tc_dispatch_stats_count(struct tc_dispatch_stats *s, int ok,
                             const char *error) {
  atomic_fetch_add(&s->requests_total, 1);
  if (ok)
    return;
  atomic_fetch_add(&s->errors_total, 1);
  pthread_mutex_lock(&s->mu);
  snprintf(s->last_error, sizeof(s->last_error), "%s",
           error != NULL ? error : "failed");
  pthread_mutex_unlock(&s->mu);
}

/* ---- route sets ---------------------------------------------------------- */

struct tc_dispatch_routes *tc_dispatch_routes_alloc(size_t cap) {
  struct tc_dispatch_routes *rs = calloc(1, sizeof(*rs));
  if (rs == NULL)
    return NULL;
  if (cap > 0 && (rs->items = calloc(cap, sizeof(*rs->items))) == NULL) {
    free(rs);
    return NULL;
  }
  atomic_init(&rs->refs, 1);
  return rs;
}

void tc_dispatch_routes_ref(struct tc_dispatch_routes *rs) {
  atomic_fetch_add(&rs->refs, 1);
}

void tc_dispatch_routes_unref(struct tc_dispatch_routes *rs) {
  if (rs == NULL || atomic_fetch_sub(&rs->refs, 1) != 1)
    return;
  for (size_t k = 0; k < rs->count; k++) {
    tc_dispatch_inst_unref(rs->items[k].inst);
    tc_dispatch_stats_unref(rs->items[k].stats);
  }
  free(rs->items);
  free(rs);
}

struct tc_dispatch_route *tc_dispatch_routes_find(struct tc_dispatch_routes *rs,
                                                  const char *channel) {
  for (size_t k = 0; rs != NULL && k < rs->count; k++)
    if (strcmp(rs->items[k].inst->channel, channel) == 0)
      return &rs->items[k];
  return NULL;
}

void tc_dispatch_channel_label(struct tc_published *routes, const char *channel,
                               char *out, size_t len) {
  const char *want = channel != NULL && channel[0] != '\0' ? channel : "main";
  unsigned slot;
  struct tc_dispatch_routes *rs = tc_published_enter(routes, &slot);
  int bound = tc_dispatch_routes_find(rs, want) != NULL;
  tc_published_exit(routes, slot);
  snprintf(out, len, "%s", bound ? want : TC_DISPATCH_UNKNOWN_CHANNEL);
}
