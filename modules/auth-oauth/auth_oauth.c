/* auth-oauth — the "oauth" hook: OAuth protected-resource metadata (PRMD)
 * discovery for the main MCP binding (mcp-oauth-ops.md §4).
 *
 * - start(): one startup discovery round for the main HTTP binding on a
 *   background thread (budget: discovery_timeout, default 10 s), with
 *   authorization_servers[0] metadata enrichment (ao_discovery.c).
 * - readiness(): TC_AGAIN "oauth discovery pending" until it settles;
 *   < 0 "oauth discovery failed: <cause>" when it failed; TC_OK when PRMD
 *   was found or the server does not use OAuth (every candidate 404);
 *   TC_DECLINED without an HTTP main binding or when disabled.
 * - on_command(): claims `oauth_discovery` commands (other types are
 *   declined and reach the transport with their headers untouched). Main
 *   channel only (else 400 unsupported_channel); fetches the PRMD again and
 *   answers with the upstream status, all upstream headers and the body
 *   unmodified. A total failure is answered 502 with a JSON error (the
 *   tunnel service then reports it) rather than left unanswered.
 * - admin_state() (ABI 1.2): the discovery state as JSON for /api/oauth
 *   (full URLs, statuses, the PRMD, the auth-server record with
 *   issuer_mismatch diagnostics, warnings). No tokens are ever involved.
 * The client never rewrites "resource" or "resource_metadata".
 * Threads: state under one mutex; the startup thread is joined by stop. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ao_internal.h"

struct ao_config {
  int enabled;
  int64_t discovery_timeout_ms;
};

struct ao_inst {
  const struct tc_host *host;
  int enabled;
  int64_t timeout_ms;
  char *main_url; /* NULL: no HTTP main binding */
  /* MCP static headers for discovery requests to the MCP origin: the extra
   * headers, then the discovery headers overriding them by name ("Name:
   * value" lines; secrets, never logged). NULL when none. */
  char *discovery_headers;
  pthread_mutex_t mu;
  pthread_t thread;
  int thread_running;
  int stopping; /* atomic: aborts the startup round at shutdown */
  int state;    /* enum ao_state */
  char *detail;
  char *state_json; /* last discovery as JSON text */
  int64_t settled_at_ms;
};

/* The config block, kept from init for create(). */
static struct ao_config ao_cfg = {1, 10000};

static const char *state_name(int s) {
  switch (s) {
  case AO_READY:
    return "ready";
  case AO_NO_OAUTH:
    return "no_oauth";
  case AO_FAILED:
    return "failed";
  default:
    return "pending";
  }
}

static char *main_url_of(const struct tc_host *host) {
  const char *list = host->config_get(host, "mcp.server_urls");
  if (list == NULL)
    return NULL;
  const char *at = strstr(list, "main=");
  while (at != NULL && at != list && at[-1] != ',')
    at = strstr(at + 1, "main=");
  if (at == NULL)
    return NULL;
  at += 5;
  size_t n = strcspn(at, ",");
  if (strncmp(at, "http://", 7) != 0 && strncmp(at, "https://", 8) != 0)
    return NULL;
  return strndup(at, n);
}

/* Does the header-line block `lines` set the header named like `line`? */
static int has_header(const char *lines, const char *line) {
  size_t n = strcspn(line, ":\n");
  for (const char *p = lines; p != NULL && *p != '\0';) {
    if (strncasecmp(p, line, n) == 0 && p[n] == ':')
      return 1;
    p = strchr(p, '\n');
    p = p != NULL ? p + 1 : NULL;
  }
  return 0;
}

/* The extra headers minus those the discovery headers override, then the
 * discovery headers (mcp-oauth-ops.md §1.6 scoping). */
static char *discovery_headers_of(const struct tc_host *host) {
  const char *extra = host->config_get(host, "mcp.extra_headers");
  const char *disc = host->config_get(host, "mcp.discovery_extra_headers");
  size_t cap = (extra ? strlen(extra) : 0) + (disc ? strlen(disc) : 0) + 1;
  char *out = calloc(1, cap);
  if (out == NULL)
    return NULL;
  size_t len = 0;
  for (const char *p = extra; p != NULL && *p != '\0';) {
    size_t n = strcspn(p, "\n");
    if (n > 0 && !has_header(disc, p)) {
      memcpy(out + len, p, n);
      len += n;
      out[len++] = '\n';
    }
    p += n + (p[n] == '\n');
  }
  if (disc != NULL) {
    memcpy(out + len, disc, strlen(disc));
    len += strlen(disc);
  }
  out[len] = '\0';
  if (len == 0) {
    free(out);
    return NULL;
  }
  return out;
}

/* Publish a discovery result (state + JSON for the admin API). */
static void publish(struct ao_inst *a, struct ao_result *r, const char *how) {
  json_t *doc = json_pack(
      "{s:s, s:s, s:s?, s:s, s:O?, s:O, s:O?, s:O?, s:O, s:I}", "state",
      state_name(r->state), "mcp_url", a->main_url, "detail", r->detail,
      "source", how, "www_authenticate", r->www, "attempts", r->attempts,
      "prmd", r->prmd, "authorization_server", r->auth_server, "warnings",
      r->warnings, "updated_at_ms", (json_int_t)a->host->wall_ms());
  char *text = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
  json_decref(doc);
  pthread_mutex_lock(&a->mu);
  a->state = r->state;
  free(a->detail);
  a->detail = r->detail != NULL ? strdup(r->detail) : NULL;
  if (text != NULL) {
    free(a->state_json);
    a->state_json = text;
  }
  a->settled_at_ms = a->host->wall_ms();
  pthread_mutex_unlock(&a->mu);
}

static void log_result(struct ao_inst *a, const struct ao_result *r) {
  const struct tc_host *h = a->host;
  size_t i;
  json_t *w;
  json_array_foreach(r->warnings, i, w)
      h->log(h, TC_LOG_WARN, NULL, "oauth discovery: %s", json_string_value(w));
  if (r->state == AO_READY) {
    const char *url = json_string_value(json_object_get(r->prmd, "url"));
    char *origin = NULL;
    ao_split_url(url, &origin, NULL);
    h->log(h, TC_LOG_INFO, NULL,
           "oauth discovery: protected resource metadata found at %s "
           "(HTTP %d)",
           origin ? origin : "?",
           (int)json_integer_value(json_object_get(r->prmd, "status")));
    free(origin);
  } else if (r->state == AO_NO_OAUTH) {
    h->log(h, TC_LOG_INFO, NULL,
           "oauth discovery: the MCP server publishes no protected resource "
           "metadata (no OAuth)");
  } else {
    h->log(h, TC_LOG_WARN, NULL, "oauth discovery failed: %s",
           r->detail ? r->detail : "unknown error");
  }
}

static void *startup_discovery(void *arg) {
  struct ao_inst *a = arg;
  struct ao_result r;
  ao_result_init(&r);
  ao_discover(a->host, a->main_url, a->timeout_ms, 1, &a->stopping,
              a->discovery_headers, &r);
  log_result(a, &r);
  publish(a, &r, "startup");
  ao_result_free(&r);
  return NULL;
}

static int ao_create(const struct tc_host *host, void **inst, char **errmsg) {
  (void)errmsg;
  struct ao_inst *a = calloc(1, sizeof(*a));
  if (a == NULL)
    return TC_ENOMEM;
  a->host = host;
  a->enabled = ao_cfg.enabled;
  a->timeout_ms =
      ao_cfg.discovery_timeout_ms > 0 ? ao_cfg.discovery_timeout_ms : 10000;
  a->main_url = main_url_of(host);
  a->discovery_headers = discovery_headers_of(host);
  pthread_mutex_init(&a->mu, NULL);
  *inst = a;
  return TC_OK;
}

static int ao_start(void *inst, char **errmsg) {
  struct ao_inst *a = inst;
  if (!a->enabled || a->main_url == NULL)
    return TC_OK;
  if (pthread_create(&a->thread, NULL, startup_discovery, a) != 0) {
    *errmsg = a->host->format("cannot start the oauth discovery thread");
    return TC_ERR;
  }
  a->thread_running = 1;
  return TC_OK;
}

static void ao_stop(void *inst) {
  struct ao_inst *a = inst;
  if (a != NULL && a->thread_running) {
    __atomic_store_n(&a->stopping, 1, __ATOMIC_RELEASE);
    pthread_join(a->thread, NULL);
    a->thread_running = 0;
  }
}

static void ao_destroy(void *inst) {
  struct ao_inst *a = inst;
  if (a == NULL)
    return;
  free(a->main_url);
  free(a->discovery_headers);
  free(a->detail);
  free(a->state_json);
  pthread_mutex_destroy(&a->mu);
  free(a);
}

static int complete_json(const struct tc_sink *sink, int status,
                         const char *json) {
  struct tc_headers h = TC_HEADERS_INIT;
  tc_headers_add(&h, "Content-Type", "application/json");
  struct tc_response res = {.struct_size = sizeof(res),
                            .status = status,
                            .headers = &h,
                            .body = json,
                            .body_len = strlen(json)};
  int rc = sink->complete(sink, &res);
  tc_headers_clear(&h);
  return rc;
}

static int ao_on_command(void *inst, const struct tc_request *req,
                         const struct tc_sink *sink) {
  struct ao_inst *a = inst;
  if (a == NULL || req == NULL || req->type == NULL ||
      strcmp(req->type, "oauth_discovery") != 0 || !a->enabled)
    return TC_DECLINED;
  if (req->channel != NULL && req->channel[0] != '\0' &&
      strcmp(req->channel, "main") != 0)
    return complete_json(
        sink, 400,
        "{\"error\":{\"message\":\"oauth_discovery is supported on the main "
        "channel only\",\"code\":\"unsupported_channel\"}}");
  if (a->main_url == NULL)
    return complete_json(
        sink, 400,
        "{\"error\":{\"message\":\"the main channel is not an HTTP MCP "
        "server\",\"code\":\"unsupported_channel\"}}");
  int64_t budget = a->timeout_ms;
  if (req->deadline_ns != 0) {
    uint64_t now = a->host->monotonic_ns();
    int64_t left = req->deadline_ns > now
                       ? (int64_t)((req->deadline_ns - now) / 1000000u)
                       : 1;
    if (left < budget)
      budget = left;
  }
  struct ao_result r;
  ao_result_init(&r);
  ao_discover(a->host, a->main_url, budget, 0, NULL, a->discovery_headers, &r);
  int rc;
  if (r.has_winner) {
    struct tc_response res = {.struct_size = sizeof(res),
                              .status = (int)r.winner.status,
                              .headers = &r.winner.headers,
                              .body = r.winner.body,
                              .body_len = r.winner.body_len};
    rc = sink->complete(sink, &res);
    /* a later success clears a failed startup round */
    pthread_mutex_lock(&a->mu);
    int was_failed = a->state == AO_FAILED;
    pthread_mutex_unlock(&a->mu);
    if (was_failed)
      publish(a, &r, "command");
  } else {
    json_t *err =
        json_pack("{s:{s:s, s:s}}", "error", "message",
                  r.detail ? r.detail : "oauth discovery failed", "code",
                  r.state == AO_NO_OAUTH ? "oauth_metadata_not_found"
                                         : "oauth_discovery_failed");
    char *text = err != NULL ? json_dumps(err, JSON_COMPACT) : NULL;
    json_decref(err);
    rc = complete_json(sink, r.state == AO_NO_OAUTH ? 404 : 502,
                       text != NULL ? text : "{}");
    free(text);
  }
  ao_result_free(&r);
  return rc < 0 ? rc : TC_OK;
}

static int ao_readiness(void *inst, char **reason) {
  struct ao_inst *a = inst;
  if (a == NULL || !a->enabled || a->main_url == NULL)
    return TC_DECLINED;
  pthread_mutex_lock(&a->mu);
  int s = a->state;
  char *d = a->detail != NULL ? strdup(a->detail) : NULL;
  pthread_mutex_unlock(&a->mu);
  int rc = TC_OK;
  if (s == AO_PENDING) {
    *reason = strdup("oauth discovery pending");
    rc = TC_AGAIN;
  } else if (s == AO_FAILED) {
    *reason = a->host->format("oauth discovery failed: %s",
                              d != NULL ? d : "unknown error");
    rc = TC_EIO;
  }
  free(d);
  return rc;
}

static int ao_admin_state(void *inst, char **json) {
  struct ao_inst *a = inst;
  if (a == NULL)
    return TC_EINVAL;
  pthread_mutex_lock(&a->mu);
  if (a->state_json != NULL) {
    *json = strdup(a->state_json);
  } else {
    json_t *doc =
        json_pack("{s:s, s:s?, s:b, s:s?}", "state",
                  !a->enabled || a->main_url == NULL ? "disabled" : "pending",
                  "mcp_url", a->main_url, "enabled", a->enabled, "detail",
                  a->main_url == NULL ? "no HTTP main binding" : NULL);
    *json = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
  }
  pthread_mutex_unlock(&a->mu);
  return *json != NULL ? TC_OK : TC_ENOMEM;
}

static const struct tc_hook_vtable ao_hook = {
    .struct_size = sizeof(struct tc_hook_vtable),
    .name = "oauth",
    .create = ao_create,
    .start = ao_start,
    .on_command = ao_on_command,
    .readiness = ao_readiness,
    .stop = ao_stop,
    .destroy = ao_destroy,
    .admin_state = ao_admin_state,
};

static int ao_init(const struct tc_host *host, struct tc_registrar *reg,
                   const void *config, char **errmsg) {
  const struct ao_config *cfg = config;
  if (cfg != NULL)
    ao_cfg = *cfg;
  if (!ao_cfg.enabled)
    host->log(host, TC_LOG_DEBUG, NULL, "disabled by its enabled setting");
  return reg->add_hook(reg, &ao_hook, errmsg);
}

static const struct tc_config_field ao_fields[] = {
    {"enabled", TC_CFG_BOOL, "true", offsetof(struct ao_config, enabled),
     "discover OAuth metadata and answer oauth_discovery commands", 0, 0},
    {"discovery_timeout", TC_CFG_DURATION, "10s",
     offsetof(struct ao_config, discovery_timeout_ms),
     "time allowed for one metadata discovery round", 100, 120000},
    TC_CONFIG_END};

TC_MODULE_DEFINE(auth_oauth, .name = "auth-oauth", .version = "0.2.0",
                 .init = ao_init,
                 .summary = "OAuth protected-resource metadata discovery and "
                            "oauth_discovery commands (hook \"oauth\")",
                 .config = ao_fields, .config_size = sizeof(struct ao_config));
