/* controlplane/response.c — see response.h. */
#include "controlplane/response.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tc/json_scan.h"
#include "util/sbuf.h"

const char *tc_cp_resp_type_name(enum tc_cp_resp_type t) {
  switch (t) {
  case TC_CP_RESP_JSONRPC_RESPONSE:
    return "jsonrpc_response";
  case TC_CP_RESP_JSONRPC_NOTIFY:
    return "jsonrpc_notify";
  case TC_CP_RESP_NOTIFY_ACK:
    return "notify_ack";
  case TC_CP_RESP_SESSION_TERMINATION:
    return "session_termination_response";
  case TC_CP_RESP_OAUTH_DISCOVERY:
    return "oauth_discovery_response";
  }
  return "jsonrpc_response";
}

bool tc_cp_resp_type_is_terminal(enum tc_cp_resp_type t) {
  return t != TC_CP_RESP_JSONRPC_NOTIFY;
}

/* Length of the valid UTF-8 sequence at s (max n bytes), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  size_t len;
  uint32_t cp;
  if (c < 0x80)
    return 1;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (len > n)
    return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
      (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
    return 0;
  return len;
}

/* A JSON string literal; invalid UTF-8 becomes U+FFFD (as Go does). */
static void put_json_string(struct tc_sbuf *b, const char *str) {
  const unsigned char *s = (const unsigned char *)str;
  size_t n = strlen(str);
  tc_sbuf_putc(b, '"');
  for (size_t i = 0; i < n;) {
    unsigned char c = s[i];
    if (c == '"' || c == '\\') {
      tc_sbuf_putc(b, '\\');
      tc_sbuf_putc(b, (char)c);
      i++;
    } else if (c == '\n') {
      tc_sbuf_puts(b, "\\n");
      i++;
    } else if (c == '\r') {
      tc_sbuf_puts(b, "\\r");
      i++;
    } else if (c == '\t') {
      tc_sbuf_puts(b, "\\t");
      i++;
    } else if (c < 0x20 || c == 0x7F) {
      tc_sbuf_printf(b, "\\u%04x", c);
      i++;
    } else {
      size_t l = utf8_len(s + i, n - i);
      if (l == 0) {
        tc_sbuf_puts(b, "\\ufffd");
        i++;
      } else {
        tc_sbuf_append(b, (const char *)s + i, l);
        i += l;
      }
    }
  }
  tc_sbuf_putc(b, '"');
}

static int is_token_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || (c != 0 && strchr("!#$%&'*+-.^_`|~", c));
}

char *tc_cp_header_canonical(const char *in, char *out, size_t outlen) {
  size_t n = strlen(in);
  if (outlen == 0)
    return out;
  if (n >= outlen)
    n = outlen - 1;
  bool token = n > 0;
  for (size_t i = 0; i < n; i++)
    if (!is_token_char((unsigned char)in[i]))
      token = false;
  bool upper = true;
  for (size_t i = 0; i < n; i++) {
    char c = in[i];
    if (token) {
      if (upper && c >= 'a' && c <= 'z')
        c = (char)(c - 'a' + 'A');
      else if (!upper && c >= 'A' && c <= 'Z')
        c = (char)(c - 'A' + 'a');
      upper = c == '-';
    }
    out[i] = c;
  }
  out[n] = '\0';
  return out;
}

static const char *const allowed_headers[] = {
    "Access-Control-Expose-Headers", "Content-Type",   "Last-Event-Id",
    "Mcp-Protocol-Version",          "Mcp-Session-Id", "Www-Authenticate",
};

/* Is `name` listed in any comma-separated Connection value of `in`? */
static bool connection_nominated(const struct tc_headers *in,
                                 const char *name) {
  const char *v;
  for (size_t k = 0; (v = tc_headers_get(in, "Connection", k)) != NULL; k++) {
    const char *p = v;
    while (*p) {
      while (*p == ' ' || *p == '\t' || *p == ',')
        p++;
      const char *s = p;
      while (*p && *p != ',')
        p++;
      const char *e = p;
      while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
        e--;
      size_t l = (size_t)(e - s);
      if (l > 0 && l == strlen(name) && strncasecmp(s, name, l) == 0)
        return true;
    }
  }
  return false;
}

static bool blank(const char *v) {
  for (; *v; v++)
    if (*v != ' ' && *v != '\t')
      return false;
  return true;
}

int tc_cp_sanitize_resp_headers(const struct tc_headers *in,
                                struct tc_headers *out) {
  if (in == NULL)
    return TC_OK;
  for (size_t i = 0; i < in->count; i++) {
    const struct tc_header *h = &in->items[i];
    const char *canon = NULL;
    for (size_t a = 0; a < sizeof(allowed_headers) / sizeof(*allowed_headers);
         a++)
      if (tc_header_name_eq(h->name, allowed_headers[a]))
        canon = allowed_headers[a];
    if (canon == NULL || blank(h->value) || connection_nominated(in, h->name))
      continue;
    int rc = tc_headers_add(out, canon, h->value);
    if (rc != TC_OK)
      return rc;
  }
  return TC_OK;
}

/* resp_headers as {"Name":[values...]}, keys sorted bytewise after
 * canonicalisation, values in order. */
static int put_headers(struct tc_sbuf *b, const struct tc_headers *h) {
  size_t n = h->count;
  char **names = calloc(n, sizeof(*names));
  size_t *order = calloc(n, sizeof(*order));
  size_t uniq = 0;
  int rc = -1;
  if (names == NULL || order == NULL)
    goto out;
  for (size_t i = 0; i < n; i++) {
    size_t l = strlen(h->items[i].name) + 1;
    names[i] = malloc(l);
    if (names[i] == NULL)
      goto out;
    tc_cp_header_canonical(h->items[i].name, names[i], l);
  }
  /* Distinct names, sorted (insertion sort: lists are short). */
  for (size_t i = 0; i < n; i++) {
    bool seen = false;
    for (size_t k = 0; k < uniq && !seen; k++)
      seen = strcmp(names[order[k]], names[i]) == 0;
    if (seen)
      continue;
    size_t pos = uniq++;
    while (pos > 0 && strcmp(names[order[pos - 1]], names[i]) > 0) {
      order[pos] = order[pos - 1];
      pos--;
    }
    order[pos] = i;
  }
  tc_sbuf_putc(b, '{');
  for (size_t k = 0; k < uniq; k++) {
    const char *name = names[order[k]];
    if (k > 0)
      tc_sbuf_putc(b, ',');
    put_json_string(b, name);
    tc_sbuf_puts(b, ":[");
    bool first = true;
    for (size_t i = 0; i < n; i++) {
      if (strcmp(names[i], name) != 0)
        continue;
      if (!first)
        tc_sbuf_putc(b, ',');
      first = false;
      put_json_string(b, h->items[i].value);
    }
    tc_sbuf_putc(b, ']');
  }
  tc_sbuf_putc(b, '}');
  rc = 0;
out:
  if (names != NULL)
    for (size_t i = 0; i < n; i++)
      free(names[i]);
  free(names);
  free(order);
  return rc;
}

static char *set_err(char **err, const char *msg) {
  if (err != NULL) {
    size_t l = strlen(msg) + 1;
    *err = malloc(l);
    if (*err != NULL)
      memcpy(*err, msg, l);
  }
  return NULL;
}

void tc_cp_response_parts_free(struct tc_cp_response_parts *p) {
  if (p == NULL)
    return;
  free(p->head);
  free(p->tail);
  memset(p, 0, sizeof(*p));
}

int tc_cp_response_encode_parts(const struct tc_cp_response *r,
                                struct tc_cp_response_parts *out, char **err) {
  memset(out, 0, sizeof(*out));
  if (err != NULL)
    *err = NULL;
  if (r == NULL || r->request_id == NULL || r->request_id[0] == '\0') {
    set_err(err, "response body needs a request_id (internal error: "
                 "report a bug)");
    return -1;
  }

  /* Trim blanks around the raw JSON; what remains must be an object. */
  const char *js = r->resp_json;
  size_t jl = js != NULL ? r->resp_json_len : 0;
  while (jl > 0 && strchr(" \t\r\n", js[0]) != NULL) {
    js++;
    jl--;
  }
  while (jl > 0 && strchr(" \t\r\n", js[jl - 1]) != NULL)
    jl--;
  if (jl > 0) {
    if (r->type == TC_CP_RESP_NOTIFY_ACK ||
        r->type == TC_CP_RESP_SESSION_TERMINATION) {
      set_err(err, "resp_json is not allowed on notify_ack or "
                   "session_termination_response (internal error: "
                   "report a bug)");
      return -1;
    }
    if (tc_json_check(js, jl) != TC_JSON_OBJECT) {
      set_err(err, "resp_json must be a JSON object; the upstream "
                   "reply is replaced by a synthesized error");
      return -1;
    }
  }

  struct tc_sbuf b = TC_SBUF_INIT;
  tc_sbuf_puts(&b, "{\"request_id\":");
  put_json_string(&b, r->request_id);
  tc_sbuf_puts(&b, ",\"channel\":");
  put_json_string(&b, r->channel != NULL ? r->channel : "main");
  if (jl > 0)
    tc_sbuf_puts(&b, ",\"resp_json\":");
  out->head_len = b.len;
  out->head = tc_sbuf_finish(&b);

  struct tc_sbuf t = TC_SBUF_INIT;
  int hrc = 0;
  if (r->resp_headers != NULL && r->resp_headers->count > 0) {
    tc_sbuf_puts(&t, ",\"resp_headers\":");
    hrc = put_headers(&t, r->resp_headers);
  }
  tc_sbuf_printf(&t, ",\"resp_code\":%d,\"resp_type\":\"%s\"}", r->resp_code,
                 tc_cp_resp_type_name(r->type));
  out->tail_len = t.len;
  out->tail = hrc == 0 ? tc_sbuf_finish(&t) : NULL;
  if (hrc != 0)
    tc_sbuf_free(&t);
  if (out->head == NULL || out->tail == NULL) {
    tc_cp_response_parts_free(out);
    set_err(err, "out of memory encoding a response body");
    return -1;
  }
  out->json = js;
  out->json_len = jl;
  return 0;
}

char *tc_cp_response_encode(const struct tc_cp_response *r, char **err) {
  struct tc_cp_response_parts p;
  if (tc_cp_response_encode_parts(r, &p, err) != 0)
    return NULL;
  size_t n = tc_cp_response_parts_len(&p);
  char *out = malloc(n + 1);
  if (out == NULL) {
    tc_cp_response_parts_free(&p);
    set_err(err, "out of memory encoding a response body");
    return NULL;
  }
  memcpy(out, p.head, p.head_len);
  if (p.json_len > 0)
    memcpy(out + p.head_len, p.json, p.json_len);
  memcpy(out + p.head_len + p.json_len, p.tail, p.tail_len);
  out[n] = '\0';
  tc_cp_response_parts_free(&p);
  return out;
}

const char *tc_cp_http_reason(int status) {
  static const struct {
    int code;
    const char *text;
  } table[] = {
      {100, "Continue"},
      {101, "Switching Protocols"},
      {102, "Processing"},
      {103, "Early Hints"},
      {200, "OK"},
      {201, "Created"},
      {202, "Accepted"},
      {203, "Non-Authoritative Information"},
      {204, "No Content"},
      {205, "Reset Content"},
      {206, "Partial Content"},
      {207, "Multi-Status"},
      {208, "Already Reported"},
      {226, "IM Used"},
      {300, "Multiple Choices"},
      {301, "Moved Permanently"},
      {302, "Found"},
      {303, "See Other"},
      {304, "Not Modified"},
      {305, "Use Proxy"},
      {307, "Temporary Redirect"},
      {308, "Permanent Redirect"},
      {400, "Bad Request"},
      {401, "Unauthorized"},
      {402, "Payment Required"},
      {403, "Forbidden"},
      {404, "Not Found"},
      {405, "Method Not Allowed"},
      {406, "Not Acceptable"},
      {407, "Proxy Authentication Required"},
      {408, "Request Timeout"},
      {409, "Conflict"},
      {410, "Gone"},
      {411, "Length Required"},
      {412, "Precondition Failed"},
      {413, "Request Entity Too Large"},
      {414, "Request URI Too Long"},
      {415, "Unsupported Media Type"},
      {416, "Requested Range Not Satisfiable"},
      {417, "Expectation Failed"},
      {418, "I'm a teapot"},
      {421, "Misdirected Request"},
      {422, "Unprocessable Entity"},
      {423, "Locked"},
      {424, "Failed Dependency"},
      {425, "Too Early"},
      {426, "Upgrade Required"},
      {428, "Precondition Required"},
      {429, "Too Many Requests"},
      {431, "Request Header Fields Too Large"},
      {451, "Unavailable For Legal Reasons"},
      {500, "Internal Server Error"},
      {501, "Not Implemented"},
      {502, "Bad Gateway"},
      {503, "Service Unavailable"},
      {504, "Gateway Timeout"},
      {505, "HTTP Version Not Supported"},
      {506, "Variant Also Negotiates"},
      {507, "Insufficient Storage"},
      {508, "Loop Detected"},
      {510, "Not Extended"},
      {511, "Network Authentication Required"},
  };
  for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
    if (table[i].code == status)
      return table[i].text;
  return "Unknown Status";
}

/* The id as JSON text: a number (of any size) or string exactly as it
 * came, trimmed; anything else null. */
static void put_id(struct tc_sbuf *b, const char *id_raw) {
  size_t l = id_raw != NULL ? strlen(id_raw) : 0;
  enum tc_json_kind k = l > 0 ? tc_json_check(id_raw, l) : TC_JSON_INVALID;
  if (k != TC_JSON_STRING && k != TC_JSON_NUMBER) {
    tc_sbuf_puts(b, "null");
    return;
  }
  const char *s = id_raw;
  while (l > 0 && strchr(" \t\r\n", *s) != NULL) {
    s++;
    l--;
  }
  while (l > 0 && strchr(" \t\r\n", s[l - 1]) != NULL)
    l--;
  tc_sbuf_append(b, s, l);
}

char *tc_cp_jsonrpc_error_body(const char *id_raw, int code,
                               const char *message,
                               const struct tc_cp_failure *f) {
  struct tc_sbuf b = TC_SBUF_INIT;
  tc_sbuf_puts(&b, "{\"jsonrpc\":\"2.0\",\"id\":");
  put_id(&b, id_raw);
  tc_sbuf_printf(&b, ",\"error\":{\"code\":%d,\"message\":", code);
  put_json_string(&b, message != NULL ? message : "");
  if (f != NULL) {
    tc_sbuf_printf(&b,
                   ",\"data\":{\"tunnel_failure\":{\"version\":1,"
                   "\"source\":\"%s\"",
                   tc_cp_failure_source_name(f->source));
    const char *kind = tc_cp_failure_kind_name(f->kind);
    if (kind != NULL)
      tc_sbuf_printf(&b, ",\"transport_error_kind\":\"%s\"", kind);
    tc_sbuf_printf(&b, ",\"upstream_response_received\":%s",
                   f->upstream_response_received ? "true" : "false");
    if (f->source == TC_CP_SRC_TARGET_HTTP && f->upstream_status >= 400 &&
        f->upstream_status <= 599)
      tc_sbuf_printf(&b, ",\"upstream_status\":%d", f->upstream_status);
    tc_sbuf_puts(&b, "}}");
  }
  tc_sbuf_puts(&b, "}}");
  return tc_sbuf_finish(&b);
}

char *tc_cp_synthesize_failure(const char *id_raw, int resp_code,
                               const struct tc_cp_failure *f) {
  return tc_cp_jsonrpc_error_body(
      id_raw, -32603, tc_cp_http_reason(resp_code ? resp_code : 500), f);
}
