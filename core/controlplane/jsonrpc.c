/* controlplane/jsonrpc.c — see jsonrpc.h. */
#include "controlplane/jsonrpc.h"

#include <string.h>

static bool version_ok(const json_t *msg) {
  const json_t *v = json_object_get(msg, "jsonrpc");
  return json_is_string(v) && strcmp(json_string_value(v), "2.0") == 0;
}

enum tc_cp_rpc_kind tc_cp_jsonrpc_classify(const json_t *msg,
                                           const char **why) {
  static const char *dummy;
  if (why == NULL)
    why = &dummy;
  if (!json_is_object(msg)) {
    *why = "the jsonrpc member is missing or not a JSON object";
    return TC_CP_RPC_INVALID;
  }
  if (!version_ok(msg)) {
    *why = "the message lacks \"jsonrpc\":\"2.0\"";
    return TC_CP_RPC_INVALID;
  }
  const json_t *method = json_object_get(msg, "method");
  const json_t *id = json_object_get(msg, "id");
  bool id_ok = json_is_string(id) || json_is_integer(id);
  if (method != NULL) {
    if (!json_is_string(method) || json_string_length(method) == 0) {
      *why = "\"method\" must be a non-empty string";
      return TC_CP_RPC_INVALID;
    }
    if (id == NULL)
      return TC_CP_RPC_NOTIFICATION;
    if (!id_ok) {
      *why = "\"id\" must be a string or an integer";
      return TC_CP_RPC_INVALID;
    }
    return TC_CP_RPC_CALL;
  }
  if (json_object_get(msg, "result") != NULL ||
      json_object_get(msg, "error") != NULL) {
    if (id == NULL || !(id_ok || json_is_null(id))) {
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
