/* config/bindings.c — MCP bindings from --mcp.server-url / MCP_SERVER_URL /
 * mcp.server_urls and --mcp.command / MCP_COMMAND / mcp.commands.
 *
 * Text forms: a bare URL (or command line) binds `main`; the qualified form
 * is comma-separated key=value pairs: channel=, url=, unix-socket=,
 * http-proxy=, client-cert=, client-key=, transport= (and command= for
 * commands). A comma only starts a new pair when a known key and '=' follow
 * it, so values may contain commas; inside command= only channel= and
 * transport= end the command ("command=…[,channel=X]"). YAML items are the
 * same text or a mapping with the snake_case keys.
 *
 * Rules: channels canonical (trim, lowercase, "" -> main), `harpoon`
 * reserved, each bound once; unix-socket and http-proxy are exclusive;
 * client cert and key come as a pair; stdio bindings take no URL options.
 * Commands and URL paths/credentials never appear in errors. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"

enum spec_field {
  SF_CHANNEL,
  SF_URL,
  SF_SOCKET,
  SF_PROXY,
  SF_CERT,
  SF_KEY,
  SF_TRANSPORT,
  SF_COMMAND,
  SF_COUNT
};

/* Flag spelling, YAML spelling. */
static const char *const field_names[SF_COUNT][2] = {
    {"channel", "channel"},         {"url", "url"},
    {"unix-socket", "unix_socket"}, {"http-proxy", "http_proxy"},
    {"client-cert", "client_cert"}, {"client-key", "client_key"},
    {"transport", "transport"},     {"command", "command"}};

struct spec {
  char *v[SF_COUNT];
};

static void spec_free(struct spec *s) {
  for (int i = 0; i < SF_COUNT; i++)
    free(s->v[i]);
  memset(s, 0, sizeof(*s));
}

void tc_cfg_binding_free(struct tc_binding_cfg *b) {
  free(b->channel);
  free(b->transport);
  free(b->url);
  free(b->unix_socket);
  free(b->http_proxy);
  free(b->client_cert);
  free(b->client_key);
  free(b->command);
  memset(b, 0, sizeof(*b));
}

/* The field whose "name=" starts at p (either spelling), or -1. */
static int field_at(const char *p, bool in_command) {
  for (int f = 0; f < SF_COUNT; f++) {
    if (in_command && f != SF_CHANNEL && f != SF_TRANSPORT)
      continue;
    for (int s = 0; s < 2; s++) {
      size_t l = strlen(field_names[f][s]);
      if (strncmp(p, field_names[f][s], l) == 0 && p[l] == '=')
        return f;
    }
  }
  return -1;
}

static size_t field_len(const char *p, int f) {
  for (int s = 0; s < 2; s++) {
    size_t l = strlen(field_names[f][s]);
    if (strncmp(p, field_names[f][s], l) == 0 && p[l] == '=')
      return l;
  }
  return 0;
}

static int parse_qualified(const char *text, const char *where, struct spec *s,
                           char **err) {
  const char *p = text;
  while (*p != '\0') {
    while (*p == ' ' || *p == '\t')
      p++;
    int f = field_at(p, false);
    if (f < 0)
      return tc_cfg_fail(err,
                         "malformed binding in %s: expected key=value pairs "
                         "separated by ',' (keys: channel, url, unix-socket, "
                         "http-proxy, client-cert, client-key, command)",
                         where);
    const char *val = p + field_len(p, f) + 1;
    const char *end = val;
    for (;;) {
      end = strchr(end, ',');
      if (end == NULL) {
        end = val + strlen(val);
        break;
      }
      if (field_at(end + 1, f == SF_COMMAND) >= 0)
        break;
      end++;
    }
    if (s->v[f] != NULL)
      return tc_cfg_fail(err,
                         "malformed binding in %s: %s= is given twice (give "
                         "each key once)",
                         where, field_names[f][0]);
    char *raw = tc_cfg_strndup(val, (size_t)(end - val));
    s->v[f] = raw != NULL ? tc_cfg_trimdup(raw) : NULL;
    free(raw);
    if (s->v[f] == NULL)
      return tc_cfg_fail(err, "out of memory");
    p = *end == ',' ? end + 1 : end;
  }
  return 0;
}

static int parse_text(const char *text, bool is_command, const char *where,
                      struct spec *s, char **err) {
  if (field_at(text, false) >= 0)
    return parse_qualified(text, where, s, err);
  s->v[is_command ? SF_COMMAND : SF_URL] = tc_cfg_strdup(text);
  if (s->v[is_command ? SF_COMMAND : SF_URL] == NULL)
    return tc_cfg_fail(err, "out of memory");
  return 0;
}

static int parse_map(const struct tc_cfg_profile *prof, const yaml_node_t *map,
                     struct spec *s, char **err) {
  for (int f = 0; f < SF_COUNT; f++) {
    const yaml_node_t *v =
        tc_cfg_yaml_map_get(prof, map, field_names[f][1], NULL);
    if (v == NULL || tc_cfg_yaml_is_null(v))
      continue;
    s->v[f] = tc_cfg_trimdup(tc_cfg_yaml_scalar(v));
    if (s->v[f] == NULL)
      return tc_cfg_fail(err, "out of memory");
  }
  return 0;
}

/* Resolve a reference in place (when the field is set). */
static int resolve(char **field, int kind, const char *where, char **err) {
  if (*field == NULL)
    return 0;
  char *out = NULL;
  bool was_ref = false;
  if (tc_cfg_ref_resolve(*field, kind, where, &out, &was_ref, err) != 0)
    return -1;
  free(*field);
  *field = out;
  return 0;
}

static int check_name(const char *v, const char *where, char **err) {
  bool ok = *v != '\0' && strlen(v) <= 64;
  for (const char *p = v; ok && *p != '\0'; p++)
    ok = islower((unsigned char)*p) || isdigit((unsigned char)*p) ||
         *p == '_' || *p == '-';
  if (!ok)
    return tc_cfg_bad(err, "invalid transport name", where, v,
                      "use a transport module's name such as http or stdio");
  return 0;
}

static int finish_http(struct spec *s, const char *where, char **err) {
  const char *why = NULL;
  if (s->v[SF_COMMAND] != NULL)
    return tc_cfg_fail(err,
                       "command= does not belong in an MCP server URL in %s "
                       "(use --mcp.command or mcp.commands for stdio servers)",
                       where);
  if (s->v[SF_URL] == NULL || *s->v[SF_URL] == '\0')
    return tc_cfg_fail(err,
                       "missing url in %s (write url=https://host/mcp or a "
                       "bare URL)",
                       where);
  tc_cfg_ref_withhold(s->v[SF_URL]);   /* may carry credentials */
  tc_cfg_ref_withhold(s->v[SF_PROXY]); /* likewise */
  if (resolve(&s->v[SF_URL], TC_CFG_REF_VALUE, where, err) != 0 ||
      resolve(&s->v[SF_SOCKET], TC_CFG_REF_VALUE, where, err) != 0 ||
      resolve(&s->v[SF_PROXY], TC_CFG_REF_VALUE, where, err) != 0 ||
      resolve(&s->v[SF_CERT], TC_CFG_REF_PATH, where, err) != 0 ||
      resolve(&s->v[SF_KEY], TC_CFG_REF_PATH, where, err) != 0)
    return -1;
  tc_cfg_url_register_secret(s->v[SF_URL]);
  if (tc_cfg_check_http_url(s->v[SF_URL], &why) != 0) {
    char *safe = tc_cfg_url_safe(s->v[SF_URL]);
    tc_cfg_bad(err, "invalid MCP server URL", where, safe, why);
    free(safe);
    return -1;
  }
  if (s->v[SF_PROXY] != NULL) {
    tc_cfg_url_register_secret(s->v[SF_PROXY]);
    if (tc_cfg_check_proxy_url(s->v[SF_PROXY], &why) != 0) {
      char *safe = tc_cfg_url_safe(s->v[SF_PROXY]);
      tc_cfg_bad(err, "invalid http-proxy", where, safe, why);
      free(safe);
      return -1;
    }
  }
  if (s->v[SF_SOCKET] != NULL && s->v[SF_PROXY] != NULL)
    return tc_cfg_fail(err,
                       "unix-socket and http-proxy are mutually exclusive in "
                       "%s (a unix socket connects locally; drop one)",
                       where);
  if ((s->v[SF_CERT] == NULL) != (s->v[SF_KEY] == NULL))
    return tc_cfg_fail(err,
                       "client-cert and client-key must be set together in "
                       "%s (add the missing %s)",
                       where,
                       s->v[SF_CERT] == NULL ? "client-cert" : "client-key");
  return 0;
}

static int finish_stdio(struct spec *s, const char *where, char **err) {
  const int http_only[] = {SF_URL, SF_SOCKET, SF_PROXY, SF_CERT, SF_KEY};
  for (size_t i = 0; i < sizeof(http_only) / sizeof(http_only[0]); i++)
    if (s->v[http_only[i]] != NULL)
      return tc_cfg_fail(err,
                         "stdio binding in %s cannot take %s= (it applies "
                         "to HTTP servers only; remove it or use "
                         "--mcp.server-url)",
                         where, field_names[http_only[i]][0]);
  if (s->v[SF_COMMAND] == NULL || *s->v[SF_COMMAND] == '\0')
    return tc_cfg_fail(err,
                       "missing command in %s (write command=\"program "
                       "args\" or a bare command line)",
                       where);
  if (resolve(&s->v[SF_COMMAND], TC_CFG_REF_VALUE, where, err) != 0)
    return -1;
  const char *why = NULL;
  if (tc_cfg_check_command_line(s->v[SF_COMMAND], &why) != 0)
    return tc_cfg_fail(err, "invalid MCP command in %s (%s)", where, why);
  return 0;
}

/* Validate a parsed spec and append it to cfg->bindings. */
static int finish(struct tc_config *cfg, struct spec *s, bool is_command,
                  const char *where, char **err) {
  char chan[72];
  const char *why = NULL;
  const char *raw = s->v[SF_CHANNEL] != NULL ? s->v[SF_CHANNEL] : "";
  if (tc_channel_canonical(raw, chan, sizeof(chan), &why) != 0)
    return tc_cfg_bad(err, "invalid channel name", where, raw,
                      "a channel name is 1 to 64 of a-z, 0-9, '_' or '-'");
  /* "__unknown__" is the metrics label of every channel no binding
   * serves, so it cannot name a binding of its own. */
  if (strcmp(chan, "harpoon") == 0 || strcmp(chan, "__unknown__") == 0)
    return tc_cfg_fail(err,
                       "channel \"%s\" is reserved in %s (pick another "
                       "channel name)",
                       chan, where);
  for (size_t i = 0; i < cfg->binding_count; i++)
    if (strcmp(cfg->bindings[i].channel, chan) == 0)
      return tc_cfg_fail(err,
                         "channel \"%s\" is bound more than once, again in %s "
                         "(each channel takes one --mcp.server-url or "
                         "--mcp.command; remove one or set channel=NAME)",
                         chan, where);
  if (s->v[SF_TRANSPORT] != NULL &&
      check_name(s->v[SF_TRANSPORT], where, err) != 0)
    return -1;
  if ((is_command ? finish_stdio(s, where, err) : finish_http(s, where, err)) !=
      0)
    return -1;

  struct tc_binding_cfg *n =
      realloc(cfg->bindings, (cfg->binding_count + 1) * sizeof(*n));
  if (n == NULL)
    return tc_cfg_fail(err, "out of memory");
  cfg->bindings = n;
  struct tc_binding_cfg *b = &n[cfg->binding_count];
  memset(b, 0, sizeof(*b));
  b->channel = tc_cfg_strdup(chan);
  b->transport = s->v[SF_TRANSPORT] != NULL
                     ? s->v[SF_TRANSPORT]
                     : tc_cfg_strdup(is_command ? "stdio" : "http");
  s->v[SF_TRANSPORT] = NULL;
  b->url = s->v[SF_URL];
  b->unix_socket = s->v[SF_SOCKET];
  b->http_proxy = s->v[SF_PROXY];
  b->client_cert = s->v[SF_CERT];
  b->client_key = s->v[SF_KEY];
  b->command = s->v[SF_COMMAND];
  s->v[SF_URL] = s->v[SF_SOCKET] = s->v[SF_PROXY] = NULL;
  s->v[SF_CERT] = s->v[SF_KEY] = s->v[SF_COMMAND] = NULL;
  cfg->binding_count++;
  if (b->channel == NULL || b->transport == NULL)
    return tc_cfg_fail(err, "out of memory");
  return 0;
}

static int parse_one(struct tc_config *cfg, const char *text, bool is_command,
                     const char *where, char **err) {
  struct spec s;
  memset(&s, 0, sizeof(s));
  int rc = parse_text(text, is_command, where, &s, err);
  if (rc == 0)
    rc = finish(cfg, &s, is_command, where, err);
  spec_free(&s);
  return rc;
}

int tc_cfg_binding_parse_url(struct tc_config *cfg, const char *text,
                             const char *where, char **err) {
  return parse_one(cfg, text, false, where, err);
}

int tc_cfg_binding_parse_command(struct tc_config *cfg, const char *text,
                                 const char *where, char **err) {
  return parse_one(cfg, text, true, where, err);
}

static int load_key(struct tc_config *cfg, int id, bool is_command,
                    const struct tc_cfg_flagset *fs,
                    const struct tc_cfg_profile *prof, char **err) {
  struct tc_cfg_pick pick;
  int rc = tc_cfg_pick_key(tc_cfg_key_by_id(id), fs, prof, &pick, err);
  for (size_t i = 0; rc == 0 && i < pick.count; i++) {
    const struct tc_cfg_item *it = &pick.items[i];
    if (it->node != NULL && it->node->type == YAML_MAPPING_NODE) {
      struct spec s;
      memset(&s, 0, sizeof(s));
      rc = parse_map(prof, it->node, &s, err);
      if (rc == 0)
        rc = finish(cfg, &s, is_command, it->where, err);
      spec_free(&s);
    } else if (it->text != NULL && *it->text != '\0') {
      rc = parse_one(cfg, it->text, is_command, it->where, err);
    } else {
      rc =
          tc_cfg_fail(err, "empty %s in %s (give a value or remove the entry)",
                      is_command ? "MCP command" : "MCP server URL", it->where);
    }
  }
  tc_cfg_pick_free(&pick);
  return rc;
}

int tc_cfg_bindings_load(struct tc_config *cfg, const struct tc_cfg_flagset *fs,
                         const struct tc_cfg_profile *prof, char **err) {
  if (load_key(cfg, TC_K_MCP_SERVER_URLS, false, fs, prof, err) != 0)
    return -1;
  return load_key(cfg, TC_K_MCP_COMMANDS, true, fs, prof, err);
}
