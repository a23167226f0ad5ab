/* ops/admin_api.c — /api/status, /api/channels and /api/oauth (JSON; see
 * docs/operations.md for the shapes). Reads only: the config, the module
 * registry, the dispatcher's per-channel counters, readiness and the
 * control-plane status; nothing here blocks on I/O (probe() answers from
 * cached state once the startup probe ran). URLs are shown by origin only,
 * stdio commands by their first word. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "config/config.h"
#include "controlplane/client.h"
#include "dispatch/dispatcher.h"
#include "loader/loader.h"
#include "ops/admin_api.h"
#include "ops/cp_status.h"
#include "ops/http_reply.h"
#include "ops/metrics_registry.h"
#include "ops/readiness.h"
#include "ops/reload_status.h"
#include "tc/errors.h"
#include "util/log.h"
#include "util/redact.h"

static json_t *rfc3339_or_null(int64_t unix_ms) {
  if (unix_ms <= 0)
    return json_null();
  time_t t = (time_t)(unix_ms / 1000);
  struct tm tm;
  char buf[48];
  gmtime_r(&t, &tm);
  strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return json_string(buf);
}

static json_t *string_or_null(const char *s) {
  return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

static int64_t now_unix_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int get_only(const struct tc_ops_request *rq) {
  return strcmp(rq->method, "GET") == 0 || strcmp(rq->method, "HEAD") == 0;
}

static json_t *modules_json(const struct tc_registry *reg) {
  json_t *arr = json_array();
  for (size_t i = 0; reg != NULL && i < reg->module_count; i++) {
    const struct tc_loaded_module *m = reg->modules[i];
    json_t *kinds = json_array();
    for (unsigned bit = 1; bit <= TC_KIND_METRICS_SINK; bit <<= 1)
      if (m->kinds & bit)
        json_array_append_new(kinds, json_string(tc_kind_name(bit)));
    json_array_append_new(arr, json_pack("{s:s?,s:s?,s:o}", "name",
                                         m->desc->name, "version",
                                         m->desc->version, "kinds", kinds));
  }
  return arr;
}

static json_t *control_plane_json(const struct tc_config *cfg) {
  struct tc_cp_status st;
  tc_cp_status_get(&st);
  char origin[256] = "";
  if (cfg != NULL && cfg->cp_base_url != NULL)
    tc_url_origin(cfg->cp_base_url, origin, sizeof(origin));
  bool oom = false;
  char *refusal = tc_cp_status_refusal(&st, &oom);
  json_t *j = json_pack(
      "{s:o,s:b,s:o,s:o,s:o,s:o,s:o,s:o,s:I,s:I}", "base_url",
      string_or_null(origin), "reachable", st.reached, "last_http_status",
      st.last_http_status > 0 ? json_integer(st.last_http_status) : json_null(),
      "refusal", string_or_null(refusal), "refused_status",
      st.refused_status > 0 ? json_integer(st.refused_status) : json_null(),
      "last_poll_at", rfc3339_or_null(st.last_poll_unix_ms),
      "last_successful_poll_at", rfc3339_or_null(st.last_poll_ok_unix_ms),
      "last_error", string_or_null(st.last_error), "polls_total",
      (json_int_t)st.polls_total, "poll_errors_total",
      (json_int_t)st.poll_errors_total);
  free(refusal);
  return j;
}

/* The proxy module's health checks, read back from its metric families:
 * [{"route","healthy"}] for each route whose tunnel_client_proxy_configured
 * is 1 now (a reload may have removed the proxy), empty when none is. */
struct proxy_routes {
  json_t *healthy;    /* {"route": true|false} from ..._proxy_healthy */
  json_t *configured; /* {"route": true|false} from ..._proxy_configured */
};

static int proxy_health_visit(void *ud, const struct tc_metric_sample *s) {
  struct proxy_routes *pr = ud;
  if (s->label_values == NULL || s->label_values[0] == NULL)
    return TC_OK;
  if (strcmp(s->desc->name, "tunnel_client_proxy_healthy") == 0)
    json_object_set_new(pr->healthy, s->label_values[0],
                        json_boolean(s->value >= 1.0));
  else if (strcmp(s->desc->name, "tunnel_client_proxy_configured") == 0)
    json_object_set_new(pr->configured, s->label_values[0],
                        json_boolean(s->value >= 1.0));
  return TC_OK;
}

static json_t *proxy_health_json(void) {
  struct proxy_routes pr = {json_object(), json_object()};
  json_t *arr = json_array();
  tc_metrics_visit(tc_metrics_registry_global(), proxy_health_visit, &pr);
  const char *route;
  json_t *healthy;
  json_object_foreach(pr.healthy, route, healthy) {
    if (json_is_true(json_object_get(pr.configured, route)))
      json_array_append_new(
          arr, json_pack("{s:s,s:O}", "route", route, "healthy", healthy));
  }
  json_decref(pr.healthy);
  json_decref(pr.configured);
  return arr;
}

enum MHD_Result tc_ops_api_status(const struct tc_ops_request *rq) {
  if (!get_only(rq))
    return tc_ops_reply_method_not_allowed(rq->c, rq->url, "GET, HEAD");
  const struct tc_ops_context *ctx = rq->ctx;
  json_t *reasons = json_array();
  json_t *ready = json_false();
  json_t *readiness = json_string("starting");
  if (ctx->readiness != NULL) {
    struct tc_readiness_verdict v;
    if (tc_readiness_check(ctx->readiness, &v) == 0) {
      json_decref(ready);
      json_decref(readiness);
      ready = json_boolean(v.ready);
      readiness = json_string(v.text);
      for (size_t i = 0; i < v.reason_count; i++)
        json_array_append_new(reasons, json_string(v.reasons[i]));
      tc_readiness_verdict_clear(&v);
    }
  }
  int64_t now = now_unix_ms();
  int64_t up =
      ctx->started_unix_ms > 0 ? (now - ctx->started_unix_ms) / 1000 : 0;
  json_t *j = json_pack(
      "{s:s,s:s,s:o,s:o,s:I,s:o,s:o,s:o,s:o,s:o,s:s,s:o}", "version",
      tc_version_string(), "client_instance_id", tc_cp_instance_id(),
      "tunnel_id", string_or_null(ctx->cfg ? ctx->cfg->cp_tunnel_id : NULL),
      "started_at", rfc3339_or_null(ctx->started_unix_ms), "uptime_seconds",
      (json_int_t)(up > 0 ? up : 0), "health_url",
      string_or_null(rq->health_url), "ready", ready, "readiness", readiness,
      "readiness_reasons", reasons, "control_plane",
      control_plane_json(ctx->cfg), "log_level",
      tc_log_level_name(tc_log_get_level()), "modules", modules_json(ctx->reg));
  json_object_set_new(j, "proxy_health", proxy_health_json());
  json_t *reload = tc_reload_status_json();
  json_object_set_new(j, "reload", reload != NULL ? reload : json_null());
  return tc_ops_reply_json(rq->c, MHD_HTTP_OK, j);
}

/* The first word of a stdio command line (quotes stripped). */
static json_t *command_word(const char *cmd) {
  char word[256];
  size_t n = 0;
  const char *p = cmd;
  while (*p == ' ' || *p == '\t')
    p++;
  char quote = 0;
  for (; *p != '\0' && n + 1 < sizeof(word); p++) {
    if (quote != 0) {
      if (*p == quote)
        quote = 0;
      else
        word[n++] = *p;
    } else if (*p == '\'' || *p == '"') {
      quote = *p;
    } else if (*p == ' ' || *p == '\t') {
      break;
    } else {
      word[n++] = *p;
    }
  }
  word[n] = '\0';
  return json_string(word);
}

static json_t *target_json(const struct tc_binding *b) {
  if (b != NULL && b->url != NULL) {
    char origin[256];
    return json_string(tc_url_origin(b->url, origin, sizeof(origin)));
  }
  if (b != NULL && b->command != NULL)
    return command_word(b->command);
  return json_string("");
}

/* Redact every string value in `v`, in place. 0, or -1 on ENOMEM. */
static int redact_strings(json_t *v) {
  if (json_is_string(v)) {
    char *clean = tc_redact(json_string_value(v));
    int rc = clean != NULL ? json_string_set(v, clean) : -1;
    free(clean);
    return rc;
  }
  if (json_is_array(v)) {
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x) {
      if (redact_strings(x) != 0)
        return -1;
    }
  } else if (json_is_object(v)) {
    const char *k;
    json_t *x;
    json_object_foreach(v, k, x) {
      if (redact_strings(x) != 0)
        return -1;
    }
  }
  return 0;
}

static json_t *channel_json(struct tc_dispatch_routes *view, size_t i) {
  struct tc_dispatch_channel_info info;
  if (tc_dispatch_view_info(view, i, &info) != 0)
    return NULL;
  const char *probe = "none";
  char *detail = NULL;
  if (info.has_probe) {
    if (!info.probed) {
      probe = "pending";
    } else {
      int rc = tc_dispatch_view_probe(view, i, &detail);
      probe = rc == TC_OK ? "ok" : rc == TC_AGAIN ? "pending" : "failed";
      if (rc < 0 && detail == NULL)
        detail = strdup(tc_strerror(rc));
    }
  }
  /* The transport's own state (e.g. a stdio child's last stderr lines),
   * every string redacted like a log line. */
  json_t *state = NULL;
  char *text = NULL;
  if (tc_dispatch_view_admin_state(view, i, &text) == TC_OK && text != NULL) {
    state = json_loads(text, 0, NULL);
    if (!json_is_object(state) || redact_strings(state) != 0) {
      json_decref(state);
      state = NULL;
    }
  }
  free(text);
  json_t *j = json_pack("{s:s,s:s,s:o,s:I,s:I,s:I,s:o,s:s,s:o}", "name",
                        info.name, "transport", info.transport, "target",
                        target_json(info.binding), "in_flight",
                        (json_int_t)info.in_flight, "requests_total",
                        (json_int_t)info.requests_total, "errors_total",
                        (json_int_t)info.errors_total, "last_error",
                        string_or_null(info.last_error), "probe", probe,
                        "probe_detail", string_or_null(detail));
  free(detail);
  if (j != NULL && state != NULL)
    json_object_set_new(j, "state", state);
  else
    json_decref(state);
  return j;
}

enum MHD_Result tc_ops_api_channels(const struct tc_ops_request *rq) {
  if (!get_only(rq))
    return tc_ops_reply_method_not_allowed(rq->c, rq->url, "GET, HEAD");
  json_t *arr = json_array();
  struct tc_dispatch_routes *view = tc_dispatcher_view(rq->ctx->disp);
  size_t n = tc_dispatch_view_count(view);
  for (size_t i = 0; i < n; i++) {
    json_t *ch = channel_json(view, i);
    if (ch != NULL)
      json_array_append_new(arr, ch);
  }
  tc_dispatch_view_release(view);
  return tc_ops_reply_json(rq->c, MHD_HTTP_OK,
                           json_pack("{s:o}", "channels", arr));
}

enum MHD_Result tc_ops_api_oauth(const struct tc_ops_request *rq) {
  if (!get_only(rq))
    return tc_ops_reply_method_not_allowed(rq->c, rq->url, "GET, HEAD");
  /* auth-oauth publishes its state through its hook's admin_state() (ABI
   * 1.2); the module keeps secrets out of it. */
  char *text = NULL;
  int rc = tc_registry_admin_state(rq->ctx->reg, "auth-oauth", &text);
  if (rc == TC_ENOENT)
    return tc_ops_reply_error(rq->c, rq->url, MHD_HTTP_NOT_FOUND,
                              "oauth module not loaded");
  json_t *state = NULL;
  if (rc == TC_OK && text != NULL)
    state = json_loads(text, 0, NULL);
  free(text);
  if (!json_is_object(state)) {
    json_decref(state);
    return tc_ops_reply_error(rq->c, rq->url, MHD_HTTP_INTERNAL_SERVER_ERROR,
                              "oauth module state unavailable");
  }
  return tc_ops_reply_json(rq->c, MHD_HTTP_OK, state);
}
