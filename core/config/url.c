/* config/url.c — URL splitting and the URL rules of config values
 * (control-plane base URL and path, MCP server URLs, proxies), and the
 * registration of URL credentials as secrets. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"
#include "util/redact.h"

int tc_cfg_url_split(const char *s, struct tc_cfg_url_parts *p) {
  memset(p, 0, sizeof(*p));
  const char *sep = strstr(s, "://");
  if (sep == NULL || sep == s)
    return -1;
  for (const char *c = s; c < sep; c++)
    if (!(isalnum((unsigned char)*c) || *c == '+' || *c == '-' || *c == '.'))
      return -1;
  p->scheme = s;
  p->scheme_len = (size_t)(sep - s);
  const char *auth = sep + 3;
  size_t alen = strcspn(auth, "/?#");
  const char *rest = auth + alen;
  /* userinfo: up to the last '@' inside the authority */
  const char *at = NULL;
  for (const char *c = auth; c < rest; c++)
    if (*c == '@')
      at = c;
  const char *hp = auth;
  if (at != NULL) {
    p->userinfo = auth;
    p->userinfo_len = (size_t)(at - auth);
    hp = at + 1;
  }
  if (hp < rest && *hp == '[') {
    const char *close = memchr(hp, ']', (size_t)(rest - hp));
    if (close == NULL)
      return -1;
    p->host = hp + 1;
    p->host_len = (size_t)(close - hp - 1);
    if (close + 1 < rest) {
      if (close[1] != ':')
        return -1;
      p->port = close + 2;
      p->port_len = (size_t)(rest - close - 2);
    }
  } else {
    const char *colon = memchr(hp, ':', (size_t)(rest - hp));
    p->host = hp;
    if (colon != NULL) {
      p->host_len = (size_t)(colon - hp);
      p->port = colon + 1;
      p->port_len = (size_t)(rest - colon - 1);
    } else {
      p->host_len = (size_t)(rest - hp);
    }
  }
  p->path = rest;
  p->path_len = strcspn(rest, "?#");
  const char *q = rest + p->path_len;
  if (*q == '?') {
    p->query = q + 1;
    q += strcspn(q, "#");
  }
  if (*q == '#')
    p->fragment = q + 1;
  return 0;
}

static bool scheme_is(const struct tc_cfg_url_parts *p, const char *name) {
  return p->scheme_len == strlen(name) && tc_cfg_has_prefix_ci(p->scheme, name);
}

static bool has_bad_chars(const char *v) {
  for (const char *c = v; *c != '\0'; c++)
    if ((unsigned char)*c <= 0x20 || *c == 0x7f)
      return true;
  return false;
}

static int check_common(const char *v, struct tc_cfg_url_parts *p,
                        const char **why) {
  if (tc_cfg_url_split(v, p) != 0 ||
      !(scheme_is(p, "http") || scheme_is(p, "https"))) {
    *why = "use an http:// or https:// URL with a host";
    return -1;
  }
  if (p->host_len == 0) {
    *why = "the URL has no host; use scheme://host[:port]";
    return -1;
  }
  if (has_bad_chars(v)) {
    *why = "the URL contains spaces or control characters";
    return -1;
  }
  if (p->port != NULL) {
    bool ok = p->port_len > 0 && p->port_len <= 5;
    long port = 0;
    for (size_t i = 0; ok && i < p->port_len; i++) {
      ok = isdigit((unsigned char)p->port[i]) != 0;
      port = port * 10 + (p->port[i] - '0');
    }
    if (!ok || port < 1 || port > 65535) {
      *why = "the URL's port must be a number from 1 to 65535";
      return -1;
    }
  }
  return 0;
}

int tc_cfg_check_http_url(const char *v, const char **why) {
  struct tc_cfg_url_parts p;
  return check_common(v, &p, why);
}

int tc_cfg_check_base_url(const char *v, const char **why) {
  struct tc_cfg_url_parts p;
  if (check_common(v, &p, why) != 0)
    return -1;
  if (p.userinfo != NULL) {
    *why = "the base URL must not carry credentials; the API key goes in "
           "CONTROL_PLANE_API_KEY";
    return -1;
  }
  if (p.query != NULL || p.fragment != NULL ||
      !(p.path_len == 0 || (p.path_len == 1 && p.path[0] == '/'))) {
    *why = "the base URL is the host root only; put a path prefix in "
           "--control-plane.url-path";
    return -1;
  }
  return 0;
}

int tc_cfg_check_url_path(const char *v, const char **why) {
  if (*v == '\0')
    return 0;
  if (v[0] != '/' || strstr(v, "://") != NULL || v[1] == '/') {
    *why = "the URL path must start with a single '/' and hold no scheme or "
           "host, e.g. /tunnel";
    return -1;
  }
  if (strpbrk(v, "?#") != NULL || has_bad_chars(v)) {
    *why = "the URL path must not contain a query, a fragment, spaces or "
           "control characters";
    return -1;
  }
  return 0;
}

int tc_cfg_check_proxy_url(const char *v, const char **why) {
  struct tc_cfg_url_parts p;
  if (check_common(v, &p, why) != 0) {
    *why = "use a proxy URL such as http://proxy.example:3128 (scheme http "
           "or https)";
    return -1;
  }
  if (p.query != NULL || p.fragment != NULL ||
      !(p.path_len == 0 || (p.path_len == 1 && p.path[0] == '/'))) {
    *why = "a proxy URL is scheme://[user:pass@]host:port without a path";
    return -1;
  }
  return 0;
}

bool tc_cfg_url_has_userinfo(const char *v) {
  struct tc_cfg_url_parts p;
  return v != NULL && tc_cfg_url_split(v, &p) == 0 && p.userinfo != NULL;
}

char *tc_cfg_url_safe(const char *v) {
  struct tc_cfg_url_parts p;
  if (v == NULL)
    return NULL;
  if (tc_cfg_url_split(v, &p) != 0) {
    /* Not a URL: show it only when it cannot hide credentials. */
    if (strchr(v, '@') != NULL || strchr(v, '?') != NULL)
      return tc_cfg_strdup("<value hidden: it may hold credentials>");
    return tc_cfg_strdup(v);
  }
  const char *auth = p.scheme + p.scheme_len + 3;
  const char *after_user =
      p.userinfo != NULL ? p.userinfo + p.userinfo_len + 1 : auth;
  size_t head = (size_t)(auth - v);
  size_t hostpart = (size_t)(p.path - after_user);
  size_t total = head + (p.userinfo ? 11 : 0) + hostpart + p.path_len + 8;
  char *out = malloc(total);
  if (out == NULL)
    return NULL;
  size_t o = 0;
  memcpy(out, v, head);
  o += head;
  if (p.userinfo != NULL) {
    memcpy(out + o, "[REDACTED]@", 11);
    o += 11;
  }
  memcpy(out + o, after_user, hostpart);
  o += hostpart;
  memcpy(out + o, p.path, p.path_len);
  o += p.path_len;
  if (p.query != NULL || p.fragment != NULL) {
    memcpy(out + o, "?...", 4);
    o += 4;
  }
  out[o] = '\0';
  return out;
}

void tc_cfg_url_register_secret(const char *v) {
  struct tc_cfg_url_parts p;
  if (v == NULL || tc_cfg_url_split(v, &p) != 0 || p.userinfo == NULL)
    return;
  tc_redact_add_secret(v);
  char *ui = tc_cfg_strndup(p.userinfo, p.userinfo_len);
  if (ui == NULL)
    return;
  tc_redact_add_secret(ui);
  char *colon = strchr(ui, ':');
  if (colon != NULL)
    tc_redact_add_secret(colon + 1);
  free(ui);
}
