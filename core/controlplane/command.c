/* controlplane/command.c — see command.h. */
#include "controlplane/command.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "controlplane/civil_time.h"
#include "controlplane/duration.h"
#include "controlplane/json_span.h"
#include "controlplane/jsonrpc.h"
#include "util/sbuf.h"

static char *dup_n(const char *s, size_t n) {
  char *d = malloc(n + 1);
  if (d != NULL) {
    memcpy(d, s, n);
    d[n] = '\0';
  }
  return d;
}

static char *dup_s(const char *s) {
  return s ? dup_n(s, strlen(s)) : NULL;
}

void tc_cp_command_clear(struct tc_cp_command *c) {
  if (c == NULL)
    return;
  free(c->request_id);
  free(c->shard_token);
  tc_headers_clear(&c->headers);
  free(c->jsonrpc);
  free(c->rpc_id);
  free(c->rpc_method);
  memset(c, 0, sizeof(*c));
}

void tc_cp_command_list_free(struct tc_cp_command_list *l) {
  if (l == NULL)
    return;
  for (size_t i = 0; i < l->count; i++)
    tc_cp_command_clear(&l->items[i]);
  free(l->items);
  for (size_t i = 0; i < l->dropped_count; i++)
    free(l->dropped[i]);
  free(l->dropped);
  memset(l, 0, sizeof(*l));
}

/* "command #2 (request_id \"abc\")" — the id JSON-escaped and shortened so
 * a hostile value cannot forge log lines. */
static void describe(struct tc_sbuf *b, size_t idx, const json_t *rid) {
  tc_sbuf_printf(b, "dropped polled command #%zu", idx);
  if (json_is_string(rid) && json_string_length(rid) > 0) {
    char shortened[97];
    snprintf(shortened, sizeof(shortened), "%s", json_string_value(rid));
    json_t *s = json_string(shortened);
    char *q = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;
    tc_sbuf_printf(b, " (request_id %s)", q ? q : "?");
    free(q);
    json_decref(s);
  }
}

/* Record a dropped command. Returns -1 on ENOMEM. */
static int drop(struct tc_cp_command_list *l, size_t idx, const json_t *rid,
                const char *why) {
  struct tc_sbuf b = TC_SBUF_INIT;
  describe(&b, idx, rid);
  tc_sbuf_printf(&b,
                 ": %s; nothing is posted for it (the tunnel service "
                 "sent a command this client cannot use: check the "
                 "service/client versions)",
                 why);
  char *line = tc_sbuf_finish(&b);
  char **n = realloc(l->dropped, (l->dropped_count + 1) * sizeof(*n));
  if (line == NULL || n == NULL) {
    free(line);
    if (n != NULL)
      l->dropped = n;
    return -1;
  }
  l->dropped = n;
  l->dropped[l->dropped_count++] = line;
  return 0;
}

/* Headers {name: [values]} (null values allowed). 0 ok, 1 wrong shape,
 * -1 ENOMEM. */
static int decode_headers(const json_t *obj, struct tc_headers *h) {
  const char *name;
  json_t *vals;
  if (obj == NULL || json_is_null(obj))
    return 0;
  if (!json_is_object(obj))
    return 1;
  json_object_foreach((json_t *)(uintptr_t)obj, name, vals) {
    size_t i;
    json_t *v;
    if (json_is_null(vals))
      continue;
    if (!json_is_array(vals))
      return 1;
    json_array_foreach(vals, i, v) {
      if (!json_is_string(v))
        return 1;
      if (tc_headers_add(h, name, json_string_value(v)) != 0)
        return -1;
    }
  }
  return 0;
}

static const char *type_names[] = {NULL, "jsonrpc", "session_termination",
                                   "oauth_discovery"};

/* Fill `c` from one element. Returns 0 kept, 1 dropped (why set), -1 ENOMEM.
 * [cs, ce) is the element's raw text. */
static int decode_one(const json_t *o, const char *cs, const char *ce,
                      struct tc_cp_command *c, const char **why) {
  const json_t *v;
  if (!json_is_object(o)) {
    *why = "the command is not a JSON object";
    return 1;
  }

  v = json_object_get(o, "command_type");
  if (!json_is_string(v)) {
    *why =
        v == NULL ? "command_type is missing" : "command_type is not a string";
    return 1;
  }
  for (int t = TC_CP_CMD_JSONRPC; t <= TC_CP_CMD_OAUTH_DISCOVERY; t++)
    if (strcmp(json_string_value(v), type_names[t]) == 0)
      c->type = (enum tc_cp_command_type)t;
  if (c->type == 0) {
    *why = "unknown command_type (known: jsonrpc, session_termination, "
           "oauth_discovery)";
    return 1;
  }

  v = json_object_get(o, "request_id");
  if (!json_is_string(v) || json_string_length(v) == 0) {
    *why = "request_id is missing, empty or not a string";
    return 1;
  }
  c->request_id = dup_s(json_string_value(v));
  v = json_object_get(o, "shard_token");
  if (!json_is_string(v) || json_string_length(v) == 0) {
    *why = "shard_token is missing, empty or not a string";
    return 1;
  }
  c->shard_token = dup_s(json_string_value(v));
  if (c->request_id == NULL || c->shard_token == NULL)
    return -1;

  v = json_object_get(o, "channel");
  const char *raw_channel = "";
  if (json_is_string(v)) {
    raw_channel = json_string_value(v);
  } else if (v != NULL && !json_is_null(v)) {
    *why = "channel is not a string";
    return 1;
  }
  const char *cwhy = NULL;
  /* (jansson refuses embedded NULs, so strings here are plain C strings.) */
  if (tc_channel_canonical(raw_channel, c->channel, sizeof(c->channel),
                           &cwhy) != 0) {
    *why = "channel is not a valid name (1 to 64 of a-z, 0-9, '_' or '-')";
    return 1;
  }

  v = json_object_get(o, "created_at");
  if (json_is_string(v)) {
    if (!tc_cp_parse_rfc3339(json_string_value(v), &c->created_at_unix_ms)) {
      *why = "created_at is not an RFC 3339 timestamp";
      return 1;
    }
    c->has_created_at = true;
  } else if (v != NULL && !json_is_null(v)) {
    *why = "created_at is not a string";
    return 1;
  }

  /* Any shape other than a valid string means "no deadline". */
  v = json_object_get(o, "response_timeout");
  if (json_is_string(v))
    c->has_deadline = tc_cp_parse_response_timeout(
                          json_string_value(v), &c->response_timeout_ns) == 1;

  int hr = decode_headers(json_object_get(o, "headers"), &c->headers);
  if (hr != 0) {
    *why = "headers is not an object of string arrays";
    return hr;
  }

  if (c->type == TC_CP_CMD_SESSION_TERMINATION &&
      tc_headers_get(&c->headers, "Mcp-Session-Id", 0) == NULL)
    c->invalid = "session_termination without an Mcp-Session-Id header";

  if (c->type != TC_CP_CMD_JSONRPC)
    return 0;

  const json_t *msg = json_object_get(o, "jsonrpc");
  const char *rwhy = NULL;
  c->rpc_kind = tc_cp_jsonrpc_classify(msg, &rwhy);
  if (c->rpc_kind == TC_CP_RPC_INVALID)
    c->invalid = rwhy;

  const char *js = NULL, *je = NULL;
  if (msg != NULL && tc_cp_json_member_span(cs, ce, "jsonrpc", &js, &je) == 1) {
    c->jsonrpc = dup_n(js, (size_t)(je - js));
    if (c->jsonrpc == NULL)
      return -1;
    c->jsonrpc_len = (size_t)(je - js);
    const json_t *id = json_object_get(msg, "id");
    const char *is = NULL, *ie = NULL;
    if ((json_is_string(id) || json_is_integer(id)) &&
        tc_cp_json_member_span(js, je, "id", &is, &ie) == 1) {
      c->rpc_id = dup_n(is, (size_t)(ie - is));
      if (c->rpc_id == NULL)
        return -1;
    }
  }
  const json_t *method = json_object_get(msg, "method");
  if ((c->rpc_kind == TC_CP_RPC_CALL ||
       c->rpc_kind == TC_CP_RPC_NOTIFICATION) &&
      json_is_string(method)) {
    c->rpc_method = dup_s(json_string_value(method));
    if (c->rpc_method == NULL)
      return -1;
  }
  return 0;
}

static int fail(char **err, const char *what, const json_error_t *jerr) {
  if (err == NULL)
    return -1;
  struct tc_sbuf b = TC_SBUF_INIT;
  tc_sbuf_printf(&b, "poll reply from the tunnel service is unusable: %s",
                 what);
  if (jerr != NULL)
    tc_sbuf_printf(&b, " (%s at byte %d)", jerr->text, jerr->position);
  tc_sbuf_puts(&b, "; the poll is retried with backoff (if it persists, "
                   "check control_plane.base_url points at a tunnel service)");
  *err = tc_sbuf_finish(&b);
  return -1;
}

int tc_cp_decode_poll_body(const char *body, size_t len,
                           struct tc_cp_command_list *out, char **err) {
  json_error_t jerr;
  memset(out, 0, sizeof(*out));
  if (err != NULL)
    *err = NULL;
  if (body == NULL)
    return fail(err, "empty body", NULL);
  json_t *root = json_loadb(body, len, 0, &jerr);
  if (root == NULL)
    return fail(err, "invalid JSON", &jerr);
  const char *end = body + len, *as = NULL, *ae = NULL;
  json_t *cmds = json_object_get(root, "commands");
  int rc = 0;
  if (!json_is_object(root)) {
    rc = fail(err, "the body is not a JSON object", NULL);
  } else if (cmds == NULL || json_is_null(cmds)) {
    rc = 0; /* no commands */
  } else if (!json_is_array(cmds)) {
    rc = fail(err, "\"commands\" is not an array", NULL);
  } else if (tc_cp_json_member_span(body, end, "commands", &as, &ae) != 1) {
    rc = fail(err, "the body could not be scanned", NULL);
  } else if (json_array_size(cmds) > 0) {
    size_t n = json_array_size(cmds);
    out->items = calloc(n, sizeof(*out->items));
    if (out->items == NULL)
      rc = fail(err, "out of memory", NULL);
    const char *cursor = as;
    for (size_t i = 0; rc == 0 && i < n; i++) {
      const char *cs = NULL, *ce = NULL;
      if (tc_cp_json_array_next(&cursor, ae, &cs, &ce) != 1) {
        rc = fail(err, "the body could not be scanned", NULL);
        break;
      }
      const json_t *o = json_array_get(cmds, i);
      struct tc_cp_command *c = &out->items[out->count];
      const char *why = NULL;
      int r = decode_one(o, cs, ce, c, &why);
      if (r == 0) {
        out->count++;
        continue;
      }
      tc_cp_command_clear(c);
      if (r < 0 || drop(out, i, json_object_get(o, "request_id"), why) != 0)
        rc = fail(err, "out of memory", NULL);
    }
  }
  json_decref(root);
  if (rc != 0)
    tc_cp_command_list_free(out);
  return rc;
}

static char *str_member(const json_t *o, const char *key) {
  const json_t *v = json_object_get(o, key);
  return json_is_string(v) ? dup_s(json_string_value(v)) : NULL;
}

void tc_cp_api_error_clear(struct tc_cp_api_error *e) {
  if (e == NULL)
    return;
  free(e->message);
  free(e->type);
  free(e->param);
  free(e->code);
  memset(e, 0, sizeof(*e));
}

int tc_cp_decode_api_error(const char *body, size_t len,
                           struct tc_cp_api_error *out) {
  json_error_t jerr;
  memset(out, 0, sizeof(*out));
  if (body == NULL || len == 0)
    return 0;
  json_t *root = json_loadb(body, len, 0, &jerr);
  if (!json_is_object(root)) {
    json_decref(root);
    return 0;
  }
  const json_t *e = json_object_get(root, "error");
  if (json_is_object(e)) {
    out->message = str_member(e, "message");
    out->type = str_member(e, "type");
    out->param = str_member(e, "param");
    out->code = str_member(e, "code");
  } else {
    out->message = str_member(root, "message");
    if (out->message == NULL)
      out->message = str_member(root, "detail");
    out->type = str_member(root, "type");
    out->code = str_member(root, "code");
    if (json_is_string(e) && out->message == NULL)
      out->message = str_member(root, "error");
  }
  json_decref(root);
  return out->message || out->type || out->param || out->code;
}
