/* dispatch/route.c — one transport instance per configured binding, and
 * the channel -> instance lookup (protocol.md §3.3 step 2: an unknown
 * channel is rejected by the caller, never sent to main).
 *
 * struct tc_binding strings are borrowed from the config, which outlives
 * the dispatcher; only the channel name is copied. Proxy and mTLS defaults
 * (mcp.http_proxy, mcp.client_cert) are not folded in here: net hooks
 * resolve them, so the binding carries only the per-binding values. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch/dispatch_internal.h"
#include "ops/core_metrics.h"
#include "tc/errors.h"
#include "util/child_env.h"
#include "util/log.h"

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

/* Create + start the instance for one binding; on failure *err is set and
 * nothing of the route stays alive but its channel copy. */
static int open_one(struct tc_dispatch_route *r, const struct tc_config *cfg,
                    const struct tc_binding_cfg *bc,
                    const struct tc_registry *reg, char **child_env,
                    char **err) {
  const char *tname = bc->transport != NULL ? bc->transport : "";
  const struct tc_registered_transport *rt = tc_registry_transport(reg, tname);
  if (rt == NULL || rt->vt == NULL) {
    *err = route_fmt("channel \"%s\": transport \"%s\" is not provided by any "
                     "loaded module (load one with --module, or bind the "
                     "channel to a loaded transport; see `tunnel-client "
                     "modules list`)",
                     r->channel, tname);
    return -1;
  }
  r->vt = rt->vt;
  r->serial = (r->vt->flags & TC_TRANSPORT_SERIAL) != 0;
  tc_binding_from_cfg(&r->binding, cfg, bc, r->channel, child_env);
  const struct tc_host *host = rt->owner != NULL ? &rt->owner->host : NULL;
  char *msg = NULL;
  int rc = r->vt->create(host, &r->binding, &r->inst, &msg);
  if (rc != TC_OK) {
    *err = route_fmt("channel \"%s\": transport \"%s\" refused the binding: "
                     "%s (fix the binding's settings)",
                     r->channel, tname, msg != NULL ? msg : tc_strerror(rc));
    free(msg);
    r->inst = NULL;
    r->vt = NULL;
    return -1;
  }
  if (r->vt->start != NULL) {
    rc = r->vt->start(r->inst, &msg);
    if (rc != TC_OK) {
      *err = route_fmt("channel \"%s\": transport \"%s\" failed to start: %s",
                       r->channel, tname, msg != NULL ? msg : tc_strerror(rc));
      free(msg);
      if (r->vt->stop != NULL)
        r->vt->stop(r->inst);
      r->vt->destroy(r->inst);
      r->inst = NULL;
      r->vt = NULL;
      return -1;
    }
  }
  r->started = 1;
  return 0;
}

int tc_dispatch_routes_open(struct tc_dispatch_routes *rs,
                            const struct tc_config *cfg,
                            const struct tc_registry *reg, char **err) {
  memset(rs, 0, sizeof(*rs));
  if (cfg->binding_count == 0)
    return 0;
  rs->items = calloc(cfg->binding_count, sizeof(*rs->items));
  /* One environment for every child the transports start: the agent's own
   * minus its secrets (util/child_env.h), taken once, here. */
  rs->child_env = tc_child_env_build(environ, cfg->mcp_command_pass_env,
                                     cfg->mcp_command_pass_env_count);
  if (rs->items == NULL || rs->child_env == NULL) {
    free(rs->items);
    free(rs->child_env);
    memset(rs, 0, sizeof(*rs));
    *err = route_fmt("dispatcher: out of memory creating transports");
    return -1;
  }
  char *dropped = tc_child_env_dropped(environ, cfg->mcp_command_pass_env,
                                       cfg->mcp_command_pass_env_count);
  int spawns = 0;
  for (size_t i = 0; i < cfg->binding_count; i++)
    spawns |= cfg->bindings[i].command != NULL;
  if (spawns && dropped != NULL && dropped[0] != '\0')
    tc_log(TC_LOG_INFO, "dispatcher",
           "MCP server processes start without the agent's secret variables "
           "(pass one with --mcp.command-pass-env NAME)",
           "withheld", dropped, NULL);
  free(dropped);
  for (size_t i = 0; i < cfg->binding_count; i++) {
    const struct tc_binding_cfg *bc = &cfg->bindings[i];
    struct tc_dispatch_route *r = &rs->items[i];
    r->channel = strdup(bc->channel != NULL ? bc->channel : "main");
    if (r->channel == NULL || pthread_mutex_init(&r->serial_mu, NULL) != 0 ||
        pthread_mutex_init(&r->stat_mu, NULL) != 0) {
      free(r->channel);
      r->channel = NULL;
      *err = route_fmt("dispatcher: out of memory creating transports");
      tc_dispatch_routes_close(rs);
      return -1;
    }
    rs->count = i + 1;
    if (open_one(r, cfg, bc, reg, rs->child_env, err) != 0) {
      tc_dispatch_routes_close(rs);
      return -1;
    }
    tc_log(TC_LOG_DEBUG, "dispatcher", "transport started", "channel",
           r->channel, "transport", r->vt->name, NULL);
  }
  return 0;
}

void tc_dispatch_routes_close(struct tc_dispatch_routes *rs) {
  if (rs->items == NULL)
    return;
  for (size_t i = rs->count; i-- > 0;) {
    struct tc_dispatch_route *r = &rs->items[i];
    if (r->started && r->vt->stop != NULL)
      r->vt->stop(r->inst);
  }
  for (size_t i = rs->count; i-- > 0;) {
    struct tc_dispatch_route *r = &rs->items[i];
    if (r->vt != NULL)
      r->vt->destroy(r->inst);
    pthread_mutex_destroy(&r->serial_mu);
    pthread_mutex_destroy(&r->stat_mu);
    free(r->channel);
  }
  free(rs->items);
  free(rs->child_env);
  memset(rs, 0, sizeof(*rs));
}

struct tc_dispatch_route *tc_dispatch_route_find(struct tc_dispatch_routes *rs,
                                                 const char *channel) {
  for (size_t i = 0; i < rs->count; i++)
    if (strcmp(rs->items[i].channel, channel) == 0)
      return &rs->items[i];
  return NULL;
}

const char *tc_dispatch_channel_label(struct tc_dispatch_routes *rs,
                                      const char *channel) {
  struct tc_dispatch_route *r =
      tc_dispatch_route_find(rs, channel[0] != '\0' ? channel : "main");
  return r != NULL ? r->channel : TC_DISPATCH_UNKNOWN_CHANNEL;
}

int tc_dispatch_route_call(struct tc_dispatch_route *r,
                           const struct tc_request *req,
                           const struct tc_sink *sink) {
  atomic_fetch_add(&r->in_flight, 1);
  uint64_t start = tc_dispatch_now_ns();
  if (r->serial)
    pthread_mutex_lock(&r->serial_mu);
  int rc = r->vt->call(r->inst, req, sink);
  if (r->serial)
    pthread_mutex_unlock(&r->serial_mu);
  const char *labels[] = {r->channel};
  tc_metric_observe(tc_core_metrics()->mcp_call_duration, labels,
                    (double)(tc_dispatch_now_ns() - start) / 1e9);
  atomic_fetch_sub(&r->in_flight, 1);
  return rc;
}

void tc_dispatch_route_count(struct tc_dispatch_route *r, int ok,
                             const char *error) {
  atomic_fetch_add(&r->requests_total, 1);
  if (ok)
    return;
  atomic_fetch_add(&r->errors_total, 1);
  pthread_mutex_lock(&r->stat_mu);
  snprintf(r->last_error, sizeof(r->last_error), "%s",
           error != NULL ? error : "failed");
  pthread_mutex_unlock(&r->stat_mu);
}

int tc_dispatch_route_terminate(struct tc_dispatch_route *r,
                                const struct tc_request *req, int *status) {
  if (r->serial)
    pthread_mutex_lock(&r->serial_mu);
  int rc = r->vt->terminate_session(r->inst, req, status);
  if (r->serial)
    pthread_mutex_unlock(&r->serial_mu);
  return rc;
}
