/* controlplane/jsonrpc.c — see jsonrpc.h. */
#include "controlplane/jsonrpc.h"

#include <string.h>

static bool version_ok(const json_t *msg) {
  const json_t *v = json_object_get(msg, "jsonrpc");
  return json_is_string(v) && strcmp(json_string_value(v), "2.0") == 0;
}

/* An integer in JSON terms: a number without fraction or exponent. */
static bool is_integer(const struct tc_json_span *v) {
  if (v->p == NULL || !(v->p[0] == '-' || (v->p[0] >= '0' && v->p[0] <= '9')))
    return false;
  for (size_t i = 0; i < v->n; i++)
    if (v->p[i] == '.' || v->p[i] == 'e' || v->p[i] == 'E')
      return false;
  return true;
}

enum tc_cp_rpc_kind tc_cp_jsonrpc_classify_text(const char *msg, size_t len,
                                                struct tc_cp_rpc_fields *out,
                                                const char **why) {
  static const char *dummy;
  struct tc_cp_rpc_fields local;
  if (why == NULL)
    why = &dummy;
  if (out == NULL)
    out = &local;
  memset(out, 0, sizeof(*out));
  if (msg == NULL || tc_json_check(msg, len) != TC_JSON_OBJECT) {
    *why = "the jsonrpc member is missing or not a JSON object";
    return TC_CP_RPC_INVALID;
  }
  enum { M_VERSION, M_METHOD, M_ID, M_RESULT, M_ERROR, M_COUNT };
  static const char *const keys[M_COUNT] = {"jsonrpc", "method", "id", "result",
                                            "error"};
  struct tc_json_span m[M_COUNT];
  tc_json_members(msg, len, keys, M_COUNT, m);
  out->id = m[M_ID];
  out->method = m[M_METHOD];
  const struct tc_json_span *v = &m[M_VERSION], *method = &m[M_METHOD],
                            *id = &m[M_ID];
  out->id_usable = id->p != NULL && (id->p[0] == '"' || is_integer(id));
  if (v->p == NULL || !tc_json_string_is(v->p, v->n, "2.0")) {
    *why = "the message lacks \"jsonrpc\":\"2.0\"";
    return TC_CP_RPC_INVALID;
  }
  if (method->p != NULL) {
    if (method->p[0] != '"' || method->n <= 2) {
      *why = "\"method\" must be a non-empty string";
      return TC_CP_RPC_INVALID;
    }
    if (id->p == NULL)
      return TC_CP_RPC_NOTIFICATION;
    if (!out->id_usable) {
      *why = "\"id\" must be a string or an integer";
      return TC_CP_RPC_INVALID;
    }
    return TC_CP_RPC_CALL;
  }
  if (m[M_RESULT].p != NULL || m[M_ERROR].p != NULL) {
    if (id->p == NULL || !(out->id_usable || id->p[0] == 'n')) {
      *why = "a response needs a string, integer or null \"id\"";
      return TC_CP_RPC_INVALID;
    }
    return TC_CP_RPC_RESPONSE;
  }
  *why = "the message has neither \"method\" nor \"result\"/\"error\"";
  return TC_CP_RPC_INVALID;
}

bool tc_cp_jsonrpc_is_error_reply(const char *body, size_t len,
                                  const char *id_raw) {
  if (body == NULL || id_raw == NULL)
    return false;
  json_error_t jerr;
  json_t *msg = json_loadb(body, len, 0, &jerr);
  json_t *want = json_loads(id_raw, JSON_DECODE_ANY, &jerr);
  bool ok = false;
  if (json_is_object(msg) && want != NULL && version_ok(msg) &&
      json_object_get(msg, "method") == NULL &&
      json_object_get(msg, "result") == NULL) {
    const json_t *e = json_object_get(msg, "error");
    const json_t *id = json_object_get(msg, "id");
    ok = json_is_object(e) && json_is_integer(json_object_get(e, "code")) &&
         json_is_string(json_object_get(e, "message")) && id != NULL &&
         json_equal(id, want);
  }
  json_decref(msg);
  json_decref(want);
  return ok;
}
