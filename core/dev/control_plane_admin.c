/* dev/control_plane_admin.c — the dev control plane's tunnel management API
 * (the routes `tunnel-client admin tunnels` and `runtimes` call), kept in
 * memory:
 *
 *   POST   /v1/tunnels        {name,description?,organization_ids?,
 *                             workspace_ids?} -> 200 the tunnel; 400 when the
 *                             name is missing or no org/workspace id is given
 *   GET    /v1/tunnels?organization_id=|workspace_id=|tenant_id=
 *                             -> {"tunnels":[...]} (exactly one scope)
 *   GET    /v1/tunnels/{id}   -> the tunnel (admin key; the runtime key keeps
 *                             the metadata route of control_plane_agent.c)
 *   POST   /v1/tunnels/{id}   changed fields only (ID lists replace) -> it
 *   DELETE /v1/tunnels/{id}   -> {"id","deleted":true}
 *
 * A tunnel is {id,name,description,creator,organization_ids,workspace_ids,
 * tenant_ids}; ids are "tunnel_" + 32 lowercase hex. The store starts with
 * the tunnel the control plane serves to agents. Every reply carries
 * X-Request-Id: local-admin-<n>. Auth: "Bearer <admin key>"; the runtime
 * (agent) key gets 403 admin_key_required, anything else 401. Errors use the
 * {"error":{message,type,param,code}} envelope. Locking: s->lock guards the
 * store and the counter. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dev/control_plane_internal.h"

#define ADMIN_MAX_TUNNELS 1024u
#define ADMIN_MAX_TEXT 512u
#define ADMIN_MAX_IDS 64u

int tc_devcp_admin_init(struct tc_devcp *s) {
  s->admin_tunnels = json_array();
  json_t *t = json_pack(
      "{s:s,s:s,s:s,s:s,s:[],s:[],s:[]}", "id", s->tunnel_id, "name",
      "local tunnel-client dev control plane", "description",
      "in-memory tunnel service for development and tests", "creator",
      "dev-control-plane", "organization_ids", "workspace_ids", "tenant_ids");
  if (s->admin_tunnels == NULL || t == NULL ||
      json_array_append_new(s->admin_tunnels, t) != 0)
    return -1;
  return 0;
}

static const char *bearer(struct MHD_Connection *c) {
  const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                              MHD_HTTP_HEADER_AUTHORIZATION);
  if (h == NULL || strncmp(h, "Bearer ", 7) != 0)
    return NULL;
  return h + 7;
}

int tc_devcp_admin_route(const struct tc_devcp *s, struct MHD_Connection *c,
                         const char *url, const char *method) {
  if (strcmp(url, "/v1/tunnels") == 0)
    return 1;
  if (strncmp(url, "/v1/tunnels/", 12) != 0 || url[12] == '\0' ||
      strchr(url + 12, '/') != NULL)
    return 0;
  if (strcmp(method, MHD_HTTP_METHOD_GET) != 0)
    return 1;
  const char *key = bearer(c);
  return key != NULL && strcmp(key, s->admin_key) == 0;
}

/* ---- replies ------------------------------------------------------------- */

static void next_request_id(struct tc_devcp *s, char *out, size_t len) {
  pthread_mutex_lock(&s->lock);
  uint64_t n = ++s->admin_seq;
  pthread_mutex_unlock(&s->lock);
  snprintf(out, len, "local-admin-%llu", (unsigned long long)n);
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status,
                             json_t *v, const char *request_id) {
  char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
  json_decref(v);
  if (text == NULL)
    return MHD_NO;
  enum MHD_Result r =
      tc_devcp_respond(c, status, "application/json", text, strlen(text),
                       "X-Request-Id", request_id, NULL);
  free(text);
  return r;
}

static enum MHD_Result reply_error(struct MHD_Connection *c,
                                   unsigned int status, const char *code,
                                   const char *message,
                                   const char *request_id) {
  const char *type = status >= 500 ? "server_error" : "invalid_request_error";
  return reply(c, status,
               json_pack("{s:{s:s,s:s,s:n,s:s?}}", "error", "message", message,
                         "type", type, "param", "code", code),
               request_id);
}

/* ---- validation ---------------------------------------------------------- */

static int text_ok(const json_t *v) {
  if (!json_is_string(v))
    return 0;
  const char *t = json_string_value(v);
  return json_string_length(v) <= ADMIN_MAX_TEXT && strpbrk(t, "\r\n") == NULL;
}

/* An array of 1..64 unique non-empty strings (or absent). */
static int ids_ok(const json_t *v) {
  if (v == NULL)
    return 1;
  if (!json_is_array(v) || json_array_size(v) > ADMIN_MAX_IDS)
    return 0;
  for (size_t i = 0; i < json_array_size(v); i++) {
    const json_t *e = json_array_get(v, i);
    if (!text_ok(e) || json_string_length(e) == 0)
      return 0;
    for (size_t j = 0; j < i; j++)
      if (json_equal(e, json_array_get(v, j)))
        return 0;
  }
  return 1;
}

static json_t *parse_body(const struct devcp_req *rq) {
  if (rq->body.len == 0)
    return NULL;
  json_t *v = json_loadb(rq->body.data, rq->body.len, 0, NULL);
  if (v != NULL && !json_is_object(v)) {
    json_decref(v);
    return NULL;
  }
  return v;
}

static void random_tunnel_id(char out[40]) {
  unsigned char raw[16] = {0};
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    if (read(fd, raw, sizeof(raw)) != (ssize_t)sizeof(raw))
      memset(raw, 0, sizeof(raw));
    close(fd);
  }
  static const char hex[] = "0123456789abcdef";
  memcpy(out, "tunnel_", 7);
  for (size_t i = 0; i < 16; i++) {
    out[7 + 2 * i] = hex[raw[i] >> 4];
    out[8 + 2 * i] = hex[raw[i] & 15];
  }
  out[39] = '\0';
}

/* Index of the tunnel `id` or -1. Caller holds the lock. */
static long find_locked(const struct tc_devcp *s, const char *id) {
  for (size_t i = 0; i < json_array_size(s->admin_tunnels); i++) {
    const char *tid = json_string_value(
        json_object_get(json_array_get(s->admin_tunnels, i), "id"));
    if (tid != NULL && strcmp(tid, id) == 0)
      return (long)i;
  }
  return -1;
}

static int has_scope(const json_t *t, const char *field, const char *value) {
  const json_t *a = json_object_get(t, field);
  for (size_t i = 0; i < json_array_size(a); i++)
    if (strcmp(json_string_value(json_array_get(a, i)), value) == 0)
      return 1;
  return 0;
}

/* ---- handlers ------------------------------------------------------------ */

static enum MHD_Result create(struct tc_devcp *s, struct MHD_Connection *c,
                              const struct devcp_req *rq, const char *rid) {
  json_t *body = parse_body(rq);
  if (body == NULL)
    return reply_error(c, 400, "invalid_json_payload",
                       "request body must be a JSON object", rid);
  json_t *name = json_object_get(body, "name");
  json_t *desc = json_object_get(body, "description");
  json_t *orgs = json_object_get(body, "organization_ids");
  json_t *wss = json_object_get(body, "workspace_ids");
  const char *bad = NULL;
  if (!text_ok(name) || json_string_length(name) == 0)
    bad = "name is required (a string of 1-512 characters)";
  else if (desc != NULL && !text_ok(desc))
    bad = "description must be a string of at most 512 characters";
  else if (!ids_ok(orgs) || !ids_ok(wss))
    bad = "organization_ids and workspace_ids must be arrays of unique "
          "non-empty strings";
  if (bad != NULL) {
    json_decref(body);
    return reply_error(c, 400, "invalid_request", bad, rid);
  }
  if (json_array_size(orgs) == 0 && json_array_size(wss) == 0) {
    json_decref(body);
    return reply_error(c, 400, "tunnel_scope_required",
                       "at least one organization_id or workspace_id is "
                       "required",
                       rid);
  }
  char id[40];
  random_tunnel_id(id);
  json_t *t = json_pack(
      "{s:s,s:O,s:s,s:s,s:o,s:o,s:[]}", "id", id, "name", name, "description",
      desc ? json_string_value(desc) : "", "creator", "admin",
      "organization_ids", orgs ? json_deep_copy(orgs) : json_array(),
      "workspace_ids", wss ? json_deep_copy(wss) : json_array(), "tenant_ids");
  json_decref(body);
  if (t == NULL)
    return reply_error(c, 500, NULL, "out of memory", rid);
  pthread_mutex_lock(&s->lock);
  int full = json_array_size(s->admin_tunnels) >= ADMIN_MAX_TUNNELS;
  if (!full)
    json_array_append(s->admin_tunnels, t);
  pthread_mutex_unlock(&s->lock);
  if (full) {
    json_decref(t);
    return reply_error(c, 429, "rate_limit_exceeded",
                       "too many tunnels in this dev control plane", rid);
  }
  return reply(c, 200, t, rid);
}

static enum MHD_Result list(struct tc_devcp *s, struct MHD_Connection *c,
                            const char *rid) {
  static const char *const scopes[][2] = {
      {"organization_id", "organization_ids"},
      {"workspace_id", "workspace_ids"},
      {"tenant_id", "tenant_ids"}};
  const char *field = NULL, *value = NULL;
  int given = 0;
  for (size_t i = 0; i < 3; i++) {
    const char *v =
        MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, scopes[i][0]);
    if (v != NULL && v[0] != '\0') {
      given++;
      field = scopes[i][1];
      value = v;
    }
  }
  if (given != 1)
    return reply_error(c, 400, "tunnel_scope_required",
                       "give exactly one of organization_id, workspace_id or "
                       "tenant_id",
                       rid);
  json_t *out = json_array();
  pthread_mutex_lock(&s->lock);
  for (size_t i = 0; out && i < json_array_size(s->admin_tunnels); i++) {
    json_t *t = json_array_get(s->admin_tunnels, i);
    if (has_scope(t, field, value))
      json_array_append_new(out, json_deep_copy(t));
  }
  pthread_mutex_unlock(&s->lock);
  return reply(c, 200, json_pack("{s:o*}", "tunnels", out), rid);
}

static enum MHD_Result get_one(struct tc_devcp *s, struct MHD_Connection *c,
                               const char *id, const char *rid) {
  pthread_mutex_lock(&s->lock);
  long i = find_locked(s, id);
  json_t *t = i < 0
                  ? NULL
                  : json_deep_copy(json_array_get(s->admin_tunnels, (size_t)i));
  pthread_mutex_unlock(&s->lock);
  if (t == NULL)
    return reply_error(c, 404, "tunnel_not_found", "tunnel not found", rid);
  return reply(c, 200, t, rid);
}

static enum MHD_Result update(struct tc_devcp *s, struct MHD_Connection *c,
                              const char *id, const struct devcp_req *rq,
                              const char *rid) {
  json_t *body = parse_body(rq);
  if (body == NULL)
    return reply_error(c, 400, "invalid_json_payload",
                       "request body must be a JSON object", rid);
  static const char *const fields[] = {"name", "description",
                                       "organization_ids", "workspace_ids"};
  const char *bad = NULL;
  size_t changed = 0;
  for (size_t i = 0; i < 4 && bad == NULL; i++) {
    json_t *v = json_object_get(body, fields[i]);
    if (v == NULL)
      continue;
    changed++;
    if (i < 2 ? !text_ok(v) || (i == 0 && json_string_length(v) == 0)
              : !ids_ok(v))
      bad = "name/description must be strings (name non-empty); ID lists "
            "arrays of unique non-empty strings";
  }
  if (bad == NULL && changed == 0)
    bad = "nothing to update: give name, description, organization_ids or "
          "workspace_ids";
  if (bad != NULL) {
    json_decref(body);
    return reply_error(c, 400, "invalid_request", bad, rid);
  }
  pthread_mutex_lock(&s->lock);
  long i = find_locked(s, id);
  json_t *copy = NULL;
  if (i >= 0) {
    json_t *t = json_array_get(s->admin_tunnels, (size_t)i);
    for (size_t k = 0; k < 4; k++) {
      json_t *v = json_object_get(body, fields[k]);
      if (v != NULL)
        json_object_set(t, fields[k], v);
    }
    copy = json_deep_copy(t);
  }
  pthread_mutex_unlock(&s->lock);
  json_decref(body);
  if (i < 0)
    return reply_error(c, 404, "tunnel_not_found", "tunnel not found", rid);
  return reply(c, 200, copy, rid);
}

static enum MHD_Result remove_one(struct tc_devcp *s, struct MHD_Connection *c,
                                  const char *id, const char *rid) {
  pthread_mutex_lock(&s->lock);
  long i = find_locked(s, id);
  if (i >= 0)
    json_array_remove(s->admin_tunnels, (size_t)i);
  pthread_mutex_unlock(&s->lock);
  if (i < 0)
    return reply_error(c, 404, "tunnel_not_found", "tunnel not found", rid);
  return reply(c, 200, json_pack("{s:s,s:b}", "id", id, "deleted", 1), rid);
}

enum MHD_Result tc_devcp_handle_admin(struct tc_devcp *s,
                                      struct MHD_Connection *c, const char *url,
                                      const char *method,
                                      const struct devcp_req *rq) {
  char rid[40];
  next_request_id(s, rid, sizeof(rid));
  const char *key = bearer(c);
  if (key == NULL || strcmp(key, s->admin_key) != 0) {
    if (key != NULL && strcmp(key, s->api_key) == 0)
      return reply_error(c, 403, "admin_key_required",
                         "the tunnel management API needs an admin API key; "
                         "a runtime API key cannot manage tunnels",
                         rid);
    return reply_error(c, 401, "invalid_api_key",
                       "missing or wrong admin API key: send Authorization: "
                       "Bearer <admin key>",
                       rid);
  }
  int is_get = strcmp(method, MHD_HTTP_METHOD_GET) == 0;
  int is_post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
  if (strcmp(url, "/v1/tunnels") == 0) {
    if (is_post)
      return create(s, c, rq, rid);
    if (is_get)
      return list(s, c, rid);
    return reply_error(c, 405, NULL, "method not allowed on this route", rid);
  }
  const char *id = url + 12;
  if (is_get)
    return get_one(s, c, id, rid);
  if (is_post)
    return update(s, c, id, rq, rid);
  if (strcmp(method, MHD_HTTP_METHOD_DELETE) == 0)
    return remove_one(s, c, id, rid);
  return reply_error(c, 405, NULL, "method not allowed on this route", rid);
}
