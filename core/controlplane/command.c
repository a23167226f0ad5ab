/* controlplane/command.c — see command.h. */
#include "controlplane/command.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "controlplane/civil_time.h"
#include "controlplane/duration.h"
#include "controlplane/jsonrpc.h"
#include "controlplane/request_headers.h"
#include "tc/json_scan.h"
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

/* A decoded copy of the checked string token `v`, or NULL (ENOMEM). */
static char *dup_string(const struct tc_json_span *v) {
  char *d = malloc(v->n + 1);
  if (d != NULL)
    d[tc_json_string_decode(v->p, v->n, d)] = '\0';
  return d;
}

static int is_string(const struct tc_json_span *v) {
  return v->p != NULL && v->p[0] == '"';
}

static int is_null(const struct tc_json_span *v) {
  return v->p != NULL && v->p[0] == 'n';
}

/* "command #2 (request_id \"abc\")" — the id JSON-escaped and shortened so
 * a hostile value cannot forge log lines. `rid` may be absent. */
static void describe(struct tc_sbuf *b, size_t idx,
                     const struct tc_json_span *rid) {
  tc_sbuf_printf(b, "dropped polled command #%zu", idx);
  if (is_string(rid) && rid->n > 2) {
    char *id = dup_string(rid);
    char shortened[97];
    snprintf(shortened, sizeof(shortened), "%s", id != NULL ? id : "");
    free(id);
    json_t *s = json_string(shortened);
    char *q = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;
    tc_sbuf_printf(b, " (request_id %s)", q ? q : "?");
    free(q);
    json_decref(s);
  }
}

/* Record a dropped command. Returns -1 on ENOMEM. */
static int drop(struct tc_cp_command_list *l, size_t idx,
                const struct tc_json_span *rid, const char *why) {
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

/* Does a member after `cur` in the object ending at `end` have the name
 * `name`? (A decoder keeps only the last of duplicate names.) */
static int named_again(const char *cur, const char *end, const char *name) {
  struct tc_json_span k, v;
  while (tc_json_next(&cur, end, &k, &v))
    if (tc_json_string_is(k.p, k.n, name))
      return 1;
  return 0;
}

/* Headers {name: [values]} (null values allowed). 0 ok, 1 wrong shape,
 * -1 ENOMEM. Of members with the same name only the last counts. */
static int decode_headers(const struct tc_json_span *obj,
                          struct tc_headers *h) {
  if (obj->p == NULL || is_null(obj))
    return 0;
  if (obj->p[0] != '{')
    return 1;
  const char *cur = obj->p, *end = obj->p + obj->n;
  struct tc_json_span k, vals;
  while (tc_json_next(&cur, end, &k, &vals)) {
    if (is_null(&vals))
      continue;
    if (vals.p[0] != '[')
      return 1;
    char *name = dup_string(&k);
    if (name == NULL)
      return -1;
    if (named_again(cur, end, name)) {
      free(name);
      continue;
    }
    const char *vc = vals.p, *ve = vals.p + vals.n;
    struct tc_json_span v;
    int rc = 0;
    while (rc == 0 && tc_json_next(&vc, ve, NULL, &v)) {
      char *value = is_string(&v) ? dup_string(&v) : NULL;
      if (!is_string(&v))
        rc = 1;
      else if (value == NULL || tc_headers_add(h, name, value) != 0)
        rc = -1;
      free(value);
    }
    free(name);
    if (rc != 0)
      return rc;
  }
  return 0;
}

static const char *type_names[] = {NULL, "jsonrpc", "session_termination",
                                   "oauth_discovery"};

enum {
  F_TYPE,
  F_REQUEST_ID,
  F_SHARD,
  F_CHANNEL,
  F_CREATED,
  F_TIMEOUT,
  F_HEADERS,
  F_JSONRPC,
  F_COUNT
};
static const char *const field_names[F_COUNT] = {
    "command_type", "request_id",       "shard_token", "channel",
    "created_at",   "response_timeout", "headers",     "jsonrpc"};

/* Fill `c` from one checked element starting at cs whose fields are in f.
 * Returns 0 kept, 1 dropped (why set), -1 ENOMEM. */
static int decode_one(const char *cs, const struct tc_json_span f[F_COUNT],
                      struct tc_cp_command *c, const char **why) {
  if (cs[0] != '{') {
    *why = "the command is not a JSON object";
    return 1;
  }

  const struct tc_json_span *v = &f[F_TYPE];
  if (!is_string(v)) {
    *why = v->p == NULL ? "command_type is missing"
                        : "command_type is not a string";
    return 1;
  }
  for (int t = TC_CP_CMD_JSONRPC; t <= TC_CP_CMD_OAUTH_DISCOVERY; t++)
    if (tc_json_string_is(v->p, v->n, type_names[t]))
      c->type = (enum tc_cp_command_type)t;
  if (c->type == 0) {
    *why = "unknown command_type (known: jsonrpc, session_termination, "
           "oauth_discovery)";
    return 1;
  }

  v = &f[F_REQUEST_ID];
  if (!is_string(v) || v->n <= 2) {
    *why = "request_id is missing, empty or not a string";
    return 1;
  }
  c->request_id = dup_string(v);
  v = &f[F_SHARD];
  if (!is_string(v) || v->n <= 2) {
    *why = "shard_token is missing, empty or not a string";
    return 1;
  }
  c->shard_token = dup_string(v);
  if (c->request_id == NULL || c->shard_token == NULL)
    return -1;

  v = &f[F_CHANNEL];
  char *raw_channel = NULL;
  if (is_string(v)) {
    raw_channel = dup_string(v);
    if (raw_channel == NULL)
      return -1;
  } else if (v->p != NULL && !is_null(v)) {
    *why = "channel is not a string";
    return 1;
  }
  const char *cwhy = NULL;
  /* (a checked string never holds NUL, so it is a plain C string.) */
  int bad_channel =
      tc_channel_canonical(raw_channel != NULL ? raw_channel : "", c->channel,
                           sizeof(c->channel), &cwhy) != 0;
  free(raw_channel);
  if (bad_channel) {
    *why = "channel is not a valid name (1 to 64 of a-z, 0-9, '_' or '-')";
    return 1;
  }

  v = &f[F_CREATED];
  if (is_string(v)) {
    char *ts = dup_string(v);
    if (ts == NULL)
      return -1;
    int ok = tc_cp_parse_rfc3339(ts, &c->created_at_unix_ms);
    free(ts);
    if (!ok) {
      *why = "created_at is not an RFC 3339 timestamp";
      return 1;
    }
    c->has_created_at = true;
  } else if (v->p != NULL && !is_null(v)) {
    *why = "created_at is not a string";
    return 1;
  }

  /* Any shape other than a valid string means "no deadline". */
  v = &f[F_TIMEOUT];
  if (is_string(v)) {
    char *d = dup_string(v);
    if (d == NULL)
      return -1;
    c->has_deadline =
        tc_cp_parse_response_timeout(d, &c->response_timeout_ns) == 1;
    free(d);
  }

  int hr = decode_headers(&f[F_HEADERS], &c->headers);
  if (hr != 0) {
    *why = "headers is not an object of string arrays";
    return hr;
  }
  /* Hop-by-hop and the other headers no transport may pass on. */
  tc_cp_strip_request_headers(&c->headers);

  if (c->type == TC_CP_CMD_SESSION_TERMINATION &&
      tc_headers_get(&c->headers, "Mcp-Session-Id", 0) == NULL)
    c->invalid = "session_termination without an Mcp-Session-Id header";

  if (c->type != TC_CP_CMD_JSONRPC)
    return 0;

  const struct tc_json_span *msg = &f[F_JSONRPC];
  struct tc_cp_rpc_fields rf;
  const char *rwhy = NULL;
  c->rpc_kind = tc_cp_jsonrpc_classify_text(msg->p, msg->n, &rf, &rwhy);
  if (c->rpc_kind == TC_CP_RPC_INVALID)
    c->invalid = rwhy;
  if (msg->p == NULL)
    return 0;
  c->jsonrpc = dup_n(msg->p, msg->n);
  if (c->jsonrpc == NULL)
    return -1;
  c->jsonrpc_len = msg->n;
  if (rf.id_usable) {
    c->rpc_id = dup_n(rf.id.p, rf.id.n);
    if (c->rpc_id == NULL)
      return -1;
  }
  if ((c->rpc_kind == TC_CP_RPC_CALL ||
       c->rpc_kind == TC_CP_RPC_NOTIFICATION) &&
      is_string(&rf.method)) {
    c->rpc_method = dup_string(&rf.method);
    if (c->rpc_method == NULL)
      return -1;
  }
  return 0;
}

/* Build the error for an unusable body; *err NULL when not wanted. For
 * invalid JSON, jansson says what and where (this path is cold). */
static int fail(char **err, const char *what, const char *body, size_t len) {
  if (err == NULL)
    return -1;
  struct tc_sbuf b = TC_SBUF_INIT;
  tc_sbuf_printf(&b, "poll reply from the tunnel service is unusable: %s",
                 what);
  if (body != NULL) {
    json_error_t jerr;
    json_t *v = json_loadb(body, len, 0, &jerr);
    if (v == NULL)
      tc_sbuf_printf(&b, " (%s at byte %d)", jerr.text, jerr.position);
    json_decref(v);
  }
  tc_sbuf_puts(&b, "; the poll is retried with backoff (if it persists, "
                   "check control_plane.base_url points at a tunnel service)");
  *err = tc_sbuf_finish(&b);
  return -1;
}

int tc_cp_decode_poll_body(const char *body, size_t len,
                           struct tc_cp_command_list *out, char **err) {
  memset(out, 0, sizeof(*out));
  if (err != NULL)
    *err = NULL;
  if (body == NULL)
    return fail(err, "empty body", NULL, 0);
  enum tc_json_kind k = tc_json_check(body, len);
  if (k == TC_JSON_INVALID)
    return fail(err, "invalid JSON", body, len);
  if (k != TC_JSON_OBJECT)
    return fail(err, "the body is not a JSON object", NULL, 0);
  const char *cv = NULL;
  size_t cl = 0;
  if (!tc_json_member(body, len, "commands", &cv, &cl) || cv[0] == 'n')
    return 0; /* no commands */
  if (cv[0] != '[')
    return fail(err, "\"commands\" is not an array", NULL, 0);

  /* Two passes: count, then decode into an array of that size. */
  size_t n = 0;
  struct tc_json_span el;
  for (const char *cur = cv; tc_json_next(&cur, cv + cl, NULL, &el);)
    n++;
  if (n == 0)
    return 0;
  out->items = calloc(n, sizeof(*out->items));
  if (out->items == NULL)
    return fail(err, "out of memory", NULL, 0);
  int rc = 0;
  const char *cur = cv;
  for (size_t i = 0; rc == 0 && tc_json_next(&cur, cv + cl, NULL, &el); i++) {
    struct tc_json_span f[F_COUNT];
    if (el.p[0] == '{')
      tc_json_members(el.p, el.n, field_names, F_COUNT, f);
    else
      memset(f, 0, sizeof(f));
    struct tc_cp_command *c = &out->items[out->count];
    const char *why = NULL;
    int r = decode_one(el.p, f, c, &why);
    if (r == 0) {
      out->count++;
      continue;
    }
    tc_cp_command_clear(c);
    if (r < 0 || drop(out, i, &f[F_REQUEST_ID], why) != 0)
      rc = fail(err, "out of memory", NULL, 0);
  }
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
