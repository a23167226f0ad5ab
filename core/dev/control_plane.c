/* dev/control_plane.c — the dev control plane's HTTP side (see
 * control_plane.h): lifecycle, routing, authentication and reply helpers.
 *
 * Routes (every JSON error is the §1.9 envelope
 * {"error":{"message","type","param","code"}}):
 *   GET  /readyz                           {"status":"ok"}, no auth
 *   GET  /v1/tunnels/{id}                  {"id","name","description"}
 *   POST|GET /v1/tunnels, POST|DELETE /v1/tunnels/{id}, and GET of any
 *        tunnel with the admin key: the management API
 *        (control_plane_admin.c)
 *   GET  /v1/tunnels/{id}/poll             long poll (control_plane_agent.c)
 *   POST /v1/tunnels/{id}/response         agent responses (same file)
 *   POST|DELETE /v1/mcp/{id}[/{channel}]   MCP ingress, no auth ("{id}/"
 *                                          = channel main)
 *                                          (control_plane_ingress.c)
 *   GET  /.well-known/oauth-protected-resource/v1/mcp/{id}   PRMD, no auth
 *   POST|DELETE /_dev/faults, POST /_dev/commands, GET /_dev/responses,
 *   GET /_dev/stats
 * /v1/tunnels/... and /_dev/... need "Authorization: Bearer <api key>"
 * (401 otherwise); another tunnel id is 404; unknown paths 404; a known
 * path with another method 405. Request bodies over 1 MiB get 413.
 * Before any of that, on every route and before a body is read, the
 * DNS-rebinding guard (util/http_guard.h): a foreign Host or Origin or a
 * cross-site fetch gets 403, two Host or two Origin headers 400 — the
 * envelope above, or a JSON-RPC error with id null on /v1/mcp/. */
#include "dev/control_plane.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "controlplane/response.h"
#include "dev/control_plane_internal.h"
#include "util/error.h"
#include "util/log.h"
#include "util/net_listen.h"

#define DEVCP_CONNECTION_LIMIT 256u
#define DEVCP_CONNECTION_TIMEOUT_S 900u /* idle; long polls are not idle */
#define DEVCP_DEFAULT_TUNNEL "tunnel_22222222222222222222222222222222"
#define DEVCP_DEFAULT_KEY "local-tunnel-client-dev-proxy"
#define DEVCP_DEFAULT_ADMIN_KEY "local-tunnel-client-dev-admin"
#define PRMD_PREFIX "/.well-known/oauth-protected-resource/v1/mcp/"

/* ---- replies ------------------------------------------------------------- */

enum MHD_Result tc_devcp_respond(struct MHD_Connection *c, unsigned int status,
                                 const char *ctype, const char *body,
                                 size_t len, ...) {
  struct MHD_Response *r = MHD_create_response_from_buffer(
      len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
  if (r == NULL)
    return MHD_NO;
  if (ctype != NULL)
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
  MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  va_list ap;
  va_start(ap, len);
  for (const char *k = va_arg(ap, const char *); k != NULL;
       k = va_arg(ap, const char *))
    MHD_add_response_header(r, k, va_arg(ap, const char *));
  va_end(ap);
  enum MHD_Result ret = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return ret;
}

enum MHD_Result tc_devcp_respond_json(struct MHD_Connection *c,
                                      unsigned int status, json_t *v) {
  char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
  json_decref(v);
  if (text == NULL) {
    static const char oom[] = "out of memory";
    return tc_devcp_respond(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain",
                            oom, strlen(oom), NULL);
  }
  enum MHD_Result ret =
      tc_devcp_respond(c, status, "application/json", text, strlen(text), NULL);
  free(text);
  return ret;
}

enum MHD_Result tc_devcp_respond_error(struct MHD_Connection *c,
                                       unsigned int status, const char *type,
                                       const char *code, const char *message,
                                       const char *retry_after) {
  json_t *v = json_pack("{s:{s:s,s:s,s:n,s:s?}}", "error", "message", message,
                        "type", type, "param", "code", code);
  char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
  json_decref(v);
  if (text == NULL)
    return MHD_NO;
  enum MHD_Result ret;
  if (retry_after != NULL && retry_after[0] != '\0')
    ret = tc_devcp_respond(c, status, "application/json", text, strlen(text),
                           MHD_HTTP_HEADER_RETRY_AFTER, retry_after, NULL);
  else
    ret = tc_devcp_respond(c, status, "application/json", text, strlen(text),
                           NULL);
  free(text);
  return ret;
}

void tc_devcp_deadline(int64_t ms, struct timespec *out) {
  clock_gettime(CLOCK_MONOTONIC, out);
  if (ms < 0)
    ms = 0;
  out->tv_sec += (time_t)(ms / 1000);
  out->tv_nsec += (long)(ms % 1000) * 1000000L;
  if (out->tv_nsec >= 1000000000L) {
    out->tv_sec++;
    out->tv_nsec -= 1000000000L;
  }
}

int tc_devcp_valid_channel(const char *name) {
  size_t n = strlen(name);
  if (n == 0 || n > 64)
    return 0;
  for (size_t i = 0; i < n; i++) {
    char ch = name[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' ||
          ch == '-'))
      return 0;
  }
  return 1;
}

char *tc_devcp_public_base(const struct tc_devcp *s, struct MHD_Connection *c) {
  const char *host =
      MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
  int plain = host != NULL && host[0] != '\0' && strlen(host) <= 255;
  for (const char *p = host; plain && *p; p++)
    if (!(isalnum((unsigned char)*p) || strchr(".-:[]_", *p) != NULL))
      plain = 0;
  char *out = NULL;
  if (!plain)
    return strdup(s->base_url);
  if (asprintf(&out, "http://%s", host) < 0)
    return NULL;
  return out;
}

/* ---- routing ------------------------------------------------------------- */

static int authorized(const struct tc_devcp *s, struct MHD_Connection *c) {
  const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                              MHD_HTTP_HEADER_AUTHORIZATION);
  return h != NULL && strncmp(h, "Bearer ", 7) == 0 &&
         strcmp(h + 7, s->api_key) == 0;
}

static enum MHD_Result respond_405(struct MHD_Connection *c,
                                   const char *allow) {
  json_t *v = json_pack("{s:{s:s,s:s,s:n,s:n}}", "error", "message",
                        "method not allowed on this route", "type",
                        "invalid_request_error", "param", "code");
  char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
  json_decref(v);
  if (text == NULL)
    return MHD_NO;
  enum MHD_Result ret =
      tc_devcp_respond(c, MHD_HTTP_METHOD_NOT_ALLOWED, "application/json", text,
                       strlen(text), MHD_HTTP_HEADER_ALLOW, allow, NULL);
  free(text);
  return ret;
}

static enum MHD_Result not_found(struct MHD_Connection *c, const char *what) {
  return tc_devcp_respond_error(c, MHD_HTTP_NOT_FOUND, "invalid_request_error",
                                NULL, what, NULL);
}

/* `seg` (up to '/' or NUL) equals the configured tunnel id. Sets *rest to
 * what follows the segment. */
static int tunnel_matches(const struct tc_devcp *s, const char *seg,
                          const char **rest) {
  size_t n = strcspn(seg, "/");
  *rest = seg + n;
  return n == strlen(s->tunnel_id) && strncmp(seg, s->tunnel_id, n) == 0;
}

static enum MHD_Result route_tunnels(struct tc_devcp *s,
                                     struct MHD_Connection *c, const char *seg,
                                     const char *method, struct devcp_req *rq) {
  if (!authorized(s, c))
    return tc_devcp_respond_error(
        c, MHD_HTTP_UNAUTHORIZED, "invalid_request_error", NULL,
        "missing or wrong API key: send Authorization: Bearer <api key>", NULL);
  const char *rest = NULL;
  if (!tunnel_matches(s, seg, &rest))
    return not_found(c, "tunnel not found");
  int is_get = strcmp(method, MHD_HTTP_METHOD_GET) == 0;
  if (strcmp(rest, "") == 0)
    return is_get ? tc_devcp_handle_metadata(s, c) : respond_405(c, "GET");
  if (strcmp(rest, "/poll") == 0)
    return is_get ? tc_devcp_handle_poll(s, c, rq) : respond_405(c, "GET");
  if (strcmp(rest, "/response") == 0)
    return strcmp(method, MHD_HTTP_METHOD_POST) == 0
               ? tc_devcp_handle_response(s, c, rq)
               : respond_405(c, "POST");
  return not_found(c, "no such tunnel route");
}

static enum MHD_Result route_mcp(struct tc_devcp *s, struct MHD_Connection *c,
                                 const char *seg, const char *method,
                                 const struct devcp_req *rq) {
  const char *rest = NULL;
  if (!tunnel_matches(s, seg, &rest))
    return tc_devcp_respond_error(
        c, MHD_HTTP_NOT_FOUND, "invalid_request_error",
        "invalid_tunnel_id_format", "tunnel not found", NULL);
  const char *channel = "main"; /* also for a trailing "/" */
  if (rest[0] == '/' && rest[1] != '\0') {
    channel = rest + 1;
    if (!tc_devcp_valid_channel(channel))
      return tc_devcp_respond_error(
          c, MHD_HTTP_NOT_FOUND, "invalid_request_error",
          "invalid_channel_format",
          "channel must be 1-64 of a-z, 0-9, '_' or '-'", NULL);
  }
  if (strcmp(method, MHD_HTTP_METHOD_POST) != 0 &&
      strcmp(method, MHD_HTTP_METHOD_DELETE) != 0)
    return respond_405(c, "POST, DELETE");
  return tc_devcp_handle_mcp(s, c, method, channel, rq);
}

static enum MHD_Result dispatch(struct tc_devcp *s, struct MHD_Connection *c,
                                const char *url, const char *method,
                                struct devcp_req *rq) {
  if (rq->too_large)
    return tc_devcp_respond_error(
        c, MHD_HTTP_CONTENT_TOO_LARGE, "invalid_request_error",
        "request_body_too_large", "request body is larger than 1 MiB", NULL);
  if (rq->body.failed)
    return MHD_NO;
  if (strcmp(url, "/readyz") == 0)
    return tc_devcp_respond(c, MHD_HTTP_OK, "application/json",
                            "{\"status\":\"ok\"}", 15, NULL);
  if (tc_devcp_admin_route(s, c, url, method))
    return tc_devcp_handle_admin(s, c, url, method, rq);
  if (strncmp(url, "/v1/tunnels/", 12) == 0)
    return route_tunnels(s, c, url + 12, method, rq);
  if (strncmp(url, "/v1/mcp/", 8) == 0)
    return route_mcp(s, c, url + 8, method, rq);
  if (strncmp(url, PRMD_PREFIX, strlen(PRMD_PREFIX)) == 0) {
    const char *rest = NULL;
    if (!tunnel_matches(s, url + strlen(PRMD_PREFIX), &rest) || *rest != '\0')
      return not_found(c, "tunnel not found");
    return strcmp(method, MHD_HTTP_METHOD_GET) == 0 ? tc_devcp_handle_prmd(s, c)
                                                    : respond_405(c, "GET");
  }
  if (strncmp(url, "/_dev/", 6) == 0) {
    if (!authorized(s, c))
      return tc_devcp_respond_error(
          c, MHD_HTTP_UNAUTHORIZED, "invalid_request_error", NULL,
          "missing or wrong API key: send Authorization: Bearer <api key>",
          NULL);
    return tc_devcp_handle_dev(s, c, url + 6, method, rq);
  }
  return not_found(c, "no such route");
}

/* The guard's refusal: a JSON-RPC error (id null) to an MCP client, the
 * error envelope elsewhere. */
static enum MHD_Result refuse(struct tc_devcp *s, struct MHD_Connection *c,
                              const char *url, enum tc_http_guard_verdict v) {
  char msg[256];
  tc_http_guard_message(&s->guard, v, msg, sizeof(msg));
  tc_log(TC_LOG_WARN, "devcp", "request refused", "reason", msg, "path", url,
         NULL);
  unsigned int status = tc_http_guard_status(v);
  if (strncmp(url, "/v1/mcp/", 8) != 0)
    return tc_devcp_respond_error(c, status, "invalid_request_error",
                                  v == TC_GUARD_DUPLICATE
                                      ? "duplicate_header"
                                      : "forbidden_host_or_origin",
                                  msg, NULL);
  char *body = tc_cp_jsonrpc_error_body(NULL, -32000, msg, NULL);
  if (body == NULL)
    return MHD_NO;
  enum MHD_Result ret =
      tc_devcp_respond(c, status, "application/json", body, strlen(body), NULL);
  free(body);
  return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **req_cls) {
  (void)version;
  struct tc_devcp *s = cls;
  struct devcp_req *rq = *req_cls;
  if (rq == NULL) { /* headers only: the guard runs before any body */
    rq = calloc(1, sizeof(*rq));
    if (rq == NULL)
      return MHD_NO;
    *req_cls = rq;
    enum tc_http_guard_verdict v = tc_http_guard_check(&s->guard, c);
    if (v != TC_GUARD_PASS)
      return refuse(s, c, url, v);
    return MHD_YES;
  }
  if (*upload_size != 0) {
    tc_http_body_feed(&rq->body, &rq->too_large, upload, *upload_size,
                      DEVCP_MAX_BODY);
    *upload_size = 0;
    return MHD_YES;
  }
  return dispatch(s, c, url, method, rq);
}

/* Commands of a poll reply that did not reach its client (reset, write
 * error, timeout, shutdown) go back to the front of the queue. */
static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                         enum MHD_RequestTerminationCode toe) {
  (void)c;
  struct devcp_req *rq = *req_cls;
  if (rq == NULL)
    return;
  if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && rq->ndelivered > 0) {
    size_t n = tc_devcp_requeue(cls, rq->delivered, rq->ndelivered);
    if (n > 0) {
      char count[24];
      snprintf(count, sizeof(count), "%zu", n);
      tc_log(TC_LOG_INFO, "devcp",
             "poll reply not delivered; commands queued again", "commands",
             count, NULL);
    }
  }
  tc_sbuf_free(&rq->body);
  free(rq);
  *req_cls = NULL;
}

/* ---- lifecycle ------------------------------------------------------------
 */

static void devcp_free(struct tc_devcp *s) {
  while (s->pending != NULL)
    tc_devcp_pending_finish(s, s->pending);
  pthread_cond_destroy(&s->changed);
  pthread_mutex_destroy(&s->lock);
  json_decref(s->responses);
  free(s->base_url);
  free(s->tunnel_id);
  free(s->api_key);
  free(s->admin_key);
  json_decref(s->admin_tunnels);
  tc_http_guard_clear(&s->guard);
  free(s);
}

static int valid_token(const char *v) {
  size_t n = strlen(v);
  if (n == 0 || n > 256)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (!(isalnum((unsigned char)v[i]) || v[i] == '_' || v[i] == '-'))
      return 0;
  return 1;
}

int tc_devcp_start(struct tc_devcp **out, const struct tc_devcp_options *opt,
                   char **err) {
  static const struct tc_net_listen_names names = {"dev control-plane",
                                                   "--listen", NULL};
  *out = NULL;
  const char *addr = opt && opt->listen_addr ? opt->listen_addr : "127.0.0.1:0";
  const char *tid =
      opt && opt->tunnel_id ? opt->tunnel_id : DEVCP_DEFAULT_TUNNEL;
  const char *key = opt && opt->api_key ? opt->api_key : DEVCP_DEFAULT_KEY;
  const char *admin_key =
      opt && opt->admin_key ? opt->admin_key : DEVCP_DEFAULT_ADMIN_KEY;
  if (!valid_token(tid))
    return tc_set_error(err, "dev control-plane: --tunnel-id must be 1-256 of "
                             "A-Z, a-z, 0-9, '_' or '-' (e.g. tunnel_ + 32 "
                             "lowercase alphanumerics)");
  if (!valid_token(key))
    return tc_set_error(err,
                        "dev control-plane: --api-key must be 1-256 of A-Z, "
                        "a-z, 0-9, '_' or '-'; fix its value");
  if (!valid_token(admin_key) || strcmp(admin_key, key) == 0)
    return tc_set_error(err, "dev control-plane: --admin-key must be 1-256 of "
                             "A-Z, a-z, 0-9, '_' or '-' and differ from "
                             "--api-key; fix its value");
  struct tc_devcp *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return tc_set_error(err, "start dev control-plane: out of memory");
  pthread_mutex_init(&s->lock, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&s->changed, &ca);
  pthread_condattr_destroy(&ca);
  s->response_timeout_ms =
      opt && opt->response_timeout_ms > 0 ? opt->response_timeout_ms : 30000;
  s->tunnel_id = strdup(tid);
  s->api_key = strdup(key);
  s->admin_key = strdup(admin_key);
  s->responses = json_array();
  if (s->tunnel_id == NULL || s->api_key == NULL || s->admin_key == NULL ||
      s->responses == NULL || tc_devcp_admin_init(s) != 0) {
    devcp_free(s);
    return tc_set_error(err, "start dev control-plane: out of memory");
  }
  struct tc_net_listener l;
  if (tc_net_listen_tcp(addr, &names, &l, err) != 0) {
    devcp_free(s);
    return -1;
  }
  s->base_url = l.base_url;
  if (tc_http_guard_init(
          &s->guard, s->base_url, opt ? opt->allowed_hosts : NULL,
          opt ? opt->allowed_host_count : 0, "--allowed-hosts", err) != 0) {
    close(l.fd);
    devcp_free(s);
    return -1;
  }
  const struct tc_http_server_spec spec = {
      .component = "devcp",
      .listen_fd = l.fd,
      .family = l.family,
      .handler = on_request,
      .handler_cls = s,
      .completed = on_completed,
      .completed_cls = s,
      .connection_timeout_s = DEVCP_CONNECTION_TIMEOUT_S,
      .connection_limit = DEVCP_CONNECTION_LIMIT};
  s->http = tc_http_server_start(&spec);
  if (s->http == NULL) {
    close(l.fd);
    devcp_free(s);
    return tc_set_error(
        err,
        "start dev control-plane on %s: libmicrohttpd refused to "
        "start (too many open files or threads?)",
        addr);
  }
  tc_log(TC_LOG_INFO, "devcp", "dev control plane serving", "url", s->base_url,
         "tunnel_id", s->tunnel_id, NULL);
  *out = s;
  return 0;
}

const char *tc_devcp_base_url(const struct tc_devcp *cp) {
  return cp ? cp->base_url : NULL;
}

void tc_devcp_stop(struct tc_devcp *cp) {
  if (cp == NULL)
    return;
  pthread_mutex_lock(&cp->lock);
  cp->stopping = 1;
  pthread_cond_broadcast(&cp->changed);
  pthread_mutex_unlock(&cp->lock);
  tc_http_server_stop(cp->http); /* joins connection threads, closes the
                                    socket */
  devcp_free(cp);
}
