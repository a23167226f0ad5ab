/* controlplane/jsonrpc.c — see jsonrpc.h. */
#include "controlplane/jsonrpc.h"

#include <stdlib.h>
#include <string.h>

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

/* A string token's decoded bytes compared with another's (a checked token
 * of n bytes decodes to at most n - 2). */
static bool strings_equal(const char *a, size_t an, const char *b, size_t bn) {
  if (memchr(a, '\\', an) == NULL && memchr(b, '\\', bn) == NULL)
    return an == bn && memcmp(a, b, an) == 0;
  char *da = malloc(an), *db = malloc(bn);
  bool eq = false;
  if (da != NULL && db != NULL) {
    size_t la = tc_json_string_decode(a, an, da);
    size_t lb = tc_json_string_decode(b, bn, db);
    eq = la == lb && memcmp(da, db, la) == 0;
  }
  free(da);
  free(db);
  return eq;
}

static void trim(const char **p, size_t *n) {
  while (*n > 0 && strchr(" \t\r\n", **p) != NULL) {
    (*p)++;
    (*n)--;
  }
  while (*n > 0 && strchr(" \t\r\n", (*p)[*n - 1]) != NULL)
    (*n)--;
}

bool tc_cp_jsonrpc_id_equal(const char *a, size_t an, const char *b,
                            size_t bn) {
  if (a == NULL || b == NULL)
    return false;
  trim(&a, &an);
  trim(&b, &bn);
  if (an == 0 || bn == 0)
    return false;
  if (a[0] == '"' && b[0] == '"')
    return strings_equal(a, an, b, bn);
  return an == bn && memcmp(a, b, an) == 0;
}

bool tc_cp_jsonrpc_is_error_reply(const char *body, size_t len,
                                  const char *id_raw) {
  if (body == NULL || id_raw == NULL ||
      tc_json_check(body, len) != TC_JSON_OBJECT)
    return false;
  enum { M_VERSION, M_METHOD, M_RESULT, M_ERROR, M_ID, M_COUNT };
  static const char *const keys[M_COUNT] = {"jsonrpc", "method", "result",
                                            "error", "id"};
  struct tc_json_span m[M_COUNT];
  tc_json_members(body, len, keys, M_COUNT, m);
  const struct tc_json_span *e = &m[M_ERROR];
  if (m[M_VERSION].p == NULL ||
      !tc_json_string_is(m[M_VERSION].p, m[M_VERSION].n, "2.0") ||
      m[M_METHOD].p != NULL || m[M_RESULT].p != NULL || e->p == NULL ||
      e->p[0] != '{' || m[M_ID].p == NULL ||
      !tc_cp_jsonrpc_id_equal(m[M_ID].p, m[M_ID].n, id_raw, strlen(id_raw)))
    return false;
  static const char *const ekeys[2] = {"code", "message"};
  struct tc_json_span em[2];
  tc_json_members(e->p, e->n, ekeys, 2, em);
  return is_integer(&em[0]) && em[1].p != NULL && em[1].p[0] == '"';
}
