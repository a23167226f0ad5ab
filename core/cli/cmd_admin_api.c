/* cli/cmd_admin_api.c — flag parsing, admin-key rules and management API
 * requests shared by `admin`, `admin-profiles` and `runtimes` (see
 * cmd_admin_api.h). */
#include "cli/cmd_admin_api.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "config/config_internal.h"
#include "controlplane/client.h"
#include "util/sbuf.h"

#define ADMIN_TIMEOUT_MS 30000L
#define ADMIN_MAX_REPLY (4u * 1024u * 1024u)

/* ---- flags ----------------------------------------------------------------
 */

int tc_cli_fail(const char *cmd, const char *fmt, ...) {
  fprintf(stderr, "%s: ", cmd);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return 1;
}

void tc_strlist_free(struct tc_strlist *l) {
  free(l->items);
  l->items = NULL;
  l->n = 0;
}

static int list_push(struct tc_strlist *l, char *v) {
  char **n = realloc(l->items, (l->n + 1) * sizeof(*n));
  if (n == NULL)
    return -1;
  l->items = n;
  l->items[l->n++] = v;
  return 0;
}

int tc_opts_parse(const char *cmd, const struct tc_opt *opts, size_t nopts,
                  int argc, char **argv, char **pos, size_t maxpos,
                  size_t *npos, bool *help) {
  *npos = 0;
  *help = false;
  for (int i = 0; i < argc; i++) {
    char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      *help = true;
      return 0;
    }
    if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
      if (*npos >= maxpos) {
        tc_cli_fail(cmd, "unexpected argument \"%.64s\"; see --help", a);
        return -1;
      }
      pos[(*npos)++] = a;
      continue;
    }
    char *eq = strchr(a, '=');
    size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
    const struct tc_opt *o = NULL;
    for (size_t k = 0; k < nopts && o == NULL; k++)
      if (strlen(opts[k].name) == nlen && strncmp(opts[k].name, a, nlen) == 0)
        o = &opts[k];
    if (o == NULL) {
      tc_cli_fail(cmd, "unknown flag \"%.*s\"; see --help",
                  (int)(nlen > 64 ? 64 : nlen), a);
      return -1;
    }
    if (o->kind == TC_OPT_BOOL) {
      bool v = true;
      if (eq != NULL && tc_cfg_parse_bool(eq + 1, &v) != 0) {
        tc_cli_fail(cmd, "%s takes true or false", o->name);
        return -1;
      }
      *(bool *)o->dst = v;
      continue;
    }
    char *v = eq ? eq + 1 : NULL;
    if (v == NULL) {
      if (i + 1 >= argc) {
        tc_cli_fail(cmd, "%s needs a value", o->name);
        return -1;
      }
      v = argv[++i];
    }
    if (o->kind == TC_OPT_STR) {
      *(char **)o->dst = v;
    } else if (list_push(o->dst, v) != 0) {
      tc_cli_fail(cmd, "out of memory");
      return -1;
    }
  }
  return 0;
}

/* ---- keys ---------------------------------------------------------------- */

bool tc_key_ref_ok(const char *ref) {
  return ref != NULL && tc_cfg_ref_is_ref(ref);
}

bool tc_key_ref_is_runtime(const char *ref) {
  if (ref == NULL || !tc_cfg_has_prefix_ci(ref, "env:"))
    return false;
  const char *n = ref + 4;
  while (isspace((unsigned char)*n))
    n++;
  return strcmp(n, "CONTROL_PLANE_API_KEY") == 0 ||
         strcmp(n, "OPENAI_API_KEY") == 0;
}

char *tc_key_ref_resolve(const char *ref, const char *what, char **err) {
  char *out = NULL;
  bool was_ref = false;
  if (tc_cfg_ref_resolve(ref, TC_CFG_REF_VALUE, what, &out, &was_ref, err) != 0)
    return NULL;
  return out;
}

static char *env_trimmed(const char *name) {
  const char *v = getenv(name);
  if (v == NULL)
    return NULL;
  char *t = tc_cfg_trimdup(v);
  if (t != NULL && *t == '\0') {
    free(t);
    return NULL;
  }
  return t;
}

void tc_admin_api_clear(struct tc_admin_api *a) {
  free(a->base);
  free(a->key);
  free(a->key_src);
  memset(a, 0, sizeof(*a));
}

int tc_admin_api_base(struct tc_admin_api *a, const char *flag_base,
                      const char *flag_path, const char *profile_base,
                      const char *profile_path, char **err) {
  char *env_base = env_trimmed("CONTROL_PLANE_BASE_URL");
  char *env_path = env_trimmed("CONTROL_PLANE_URL_PATH");
  const char *base = flag_base      ? flag_base
                     : env_base     ? env_base
                     : profile_base ? profile_base
                                    : "https://api.openai.com";
  const char *path = flag_path      ? flag_path
                     : env_path     ? env_path
                     : profile_path ? profile_path
                                    : "";
  const char *why = NULL;
  int rc = 0;
  if (tc_cfg_check_base_url(base, &why) != 0)
    rc = tc_cfg_fail(err, "invalid control plane base URL: %s", why);
  else if (path[0] != '\0' && tc_cfg_check_url_path(path, &why) != 0)
    rc = tc_cfg_fail(err, "invalid control plane URL path: %s", why);
  if (rc == 0) {
    size_t bl = strlen(base);
    while (bl > 0 && base[bl - 1] == '/')
      bl--;
    size_t pl = strlen(path);
    while (pl > 0 && path[pl - 1] == '/')
      pl--;
    free(a->base);
    a->base = tc_cfg_printf("%.*s%.*s", (int)bl, base, (int)pl, path);
    if (a->base == NULL)
      rc = tc_cfg_fail(err, "out of memory");
  }
  free(env_base);
  free(env_path);
  return rc;
}

static int refuse_runtime(const char *src, char **err) {
  return tc_cfg_fail(err,
                     "%s names the runtime API key; tunnel writes need an "
                     "admin key (set OPENAI_ADMIN_KEY or --admin-key "
                     "env:NAME|file:PATH)",
                     src);
}

int tc_admin_api_key(struct tc_admin_api *a, const char *flag_ref,
                     const char *profile_ref, bool allow_runtime_fallback,
                     bool write, char **err) {
  char *key = NULL;
  char *src = NULL;
  if (flag_ref != NULL) {
    if (!tc_key_ref_ok(flag_ref))
      return tc_cfg_fail(err, "--admin-key must be env:NAME or file:PATH (a "
                              "literal key is refused so it stays out of "
                              "shell history and process lists)");
    if (write && tc_key_ref_is_runtime(flag_ref))
      return refuse_runtime("--admin-key", err);
    key = tc_key_ref_resolve(flag_ref, "--admin-key", err);
    if (key == NULL)
      return -1;
    src = tc_cfg_strdup(flag_ref);
  } else if (profile_ref != NULL) {
    if (!tc_key_ref_ok(profile_ref))
      return tc_cfg_fail(err, "the admin profile's key must be env:NAME or "
                              "file:PATH; fix it with 'tunnel-client "
                              "admin-profiles set NAME --admin-key REF'");
    if (write && tc_key_ref_is_runtime(profile_ref))
      return refuse_runtime("the admin profile's key", err);
    key = tc_key_ref_resolve(profile_ref, "admin profile", err);
    if (key == NULL)
      return -1;
    src = tc_cfg_strdup(profile_ref);
  } else if ((key = env_trimmed("OPENAI_ADMIN_KEY")) != NULL) {
    src = tc_cfg_strdup("env:OPENAI_ADMIN_KEY");
  } else if (allow_runtime_fallback && !write &&
             (key = env_trimmed("CONTROL_PLANE_API_KEY")) != NULL) {
    src = tc_cfg_strdup("env:CONTROL_PLANE_API_KEY");
  } else if (allow_runtime_fallback && !write &&
             (key = env_trimmed("OPENAI_API_KEY")) != NULL) {
    src = tc_cfg_strdup("env:OPENAI_API_KEY");
  } else {
    return tc_cfg_fail(
        err,
        "no admin key: set OPENAI_ADMIN_KEY, pass --admin-key "
        "env:NAME|file:PATH, or save one with 'tunnel-client "
        "admin-profiles set NAME --admin-key REF'%s",
        write ? " (the runtime key CONTROL_PLANE_API_KEY is never used to "
                "change tunnels)"
              : "");
  }
  if (write) {
    char *rt = env_trimmed("CONTROL_PLANE_API_KEY");
    char *rt2 = env_trimmed("OPENAI_API_KEY");
    bool same = (rt && strcmp(rt, key) == 0) || (rt2 && strcmp(rt2, key) == 0);
    free(rt);
    free(rt2);
    if (same) {
      free(key);
      int rc = tc_cfg_fail(err,
                           "the admin key from %s is the runtime API key; "
                           "tunnel writes need an admin key",
                           src ? src : "the environment");
      free(src);
      return rc;
    }
  }
  const char *why = NULL;
  if (tc_validate_api_key(key, &why) != 0) {
    free(key);
    int rc = tc_cfg_fail(err, "the admin key from %s is malformed",
                         src ? src : "the environment");
    free(src);
    return rc;
  }
  free(a->key);
  free(a->key_src);
  a->key = key;
  a->key_src = src;
  return 0;
}

/* ---- requests ------------------------------------------------------------ */

void tc_admin_reply_clear(struct tc_admin_reply *r) {
  json_decref(r->json);
  free(r->request_id);
  free(r->transport);
  memset(r, 0, sizeof(*r));
}

static size_t on_body(char *p, size_t sz, size_t n, void *ud) {
  struct tc_sbuf *b = ud;
  if (b->len + sz * n > ADMIN_MAX_REPLY)
    return 0;
  tc_sbuf_append(b, p, sz * n);
  return sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud) {
  char **rid = ud;
  size_t len = sz * n;
  if (len > 13 && strncasecmp(p, "x-request-id:", 13) == 0) {
    const char *v = p + 13;
    size_t vl = len - 13;
    while (vl > 0 && (*v == ' ' || *v == '\t')) {
      v++;
      vl--;
    }
    while (vl > 0 &&
           (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
      vl--;
    free(*rid);
    *rid = tc_cfg_strndup(v, vl > 200 ? 200 : vl);
  }
  return len;
}

int tc_admin_request(const struct tc_admin_api *a, const char *method,
                     const char *route, const json_t *body,
                     struct tc_admin_reply *out) {
  memset(out, 0, sizeof(*out));
  static int curl_ready = 0;
  if (!curl_ready) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    curl_ready = 1;
  }
  CURL *h = curl_easy_init();
  char *url = tc_cfg_printf("%s%s", a->base, route);
  char *auth = tc_cfg_printf("Authorization: Bearer %s", a->key);
  char *ua =
      tc_cfg_printf("User-Agent: oai-tunnel-client/%s", tc_version_string());
  char *ver = tc_cfg_printf("X-Tunnel-Client-Version: %s", tc_version_string());
  char *inst =
      tc_cfg_printf("X-Tunnel-Client-Instance-Id: %s", tc_cp_instance_id());
  char *payload = body ? json_dumps(body, JSON_COMPACT) : NULL;
  struct tc_sbuf buf = {0};
  int rc = -1;
  if (h == NULL || url == NULL || auth == NULL || ua == NULL || ver == NULL ||
      inst == NULL || (body != NULL && payload == NULL)) {
    out->transport = tc_cfg_strdup("out of memory");
    goto done;
  }
  struct curl_slist *hs = NULL;
  hs = curl_slist_append(hs, auth);
  hs = curl_slist_append(hs, "Accept: application/json");
  hs = curl_slist_append(hs, ua);
  hs = curl_slist_append(hs, "X-Tunnel-Client-Name: oai-tunnel-client");
  hs = curl_slist_append(hs, ver);
  hs = curl_slist_append(hs, inst);
  if (payload != NULL)
    hs = curl_slist_append(hs, "Content-Type: application/json");
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hs);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                   a->timeout_ms > 0 ? a->timeout_ms : ADMIN_TIMEOUT_MS);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &buf);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &out->request_id);
  if (payload != NULL) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
  }
  CURLcode cc = curl_easy_perform(h);
  curl_slist_free_all(hs);
  if (cc != CURLE_OK) {
    out->transport = tc_cfg_printf("%s", curl_easy_strerror(cc));
    goto done;
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
  if (buf.len > 0 && !buf.failed) {
    json_t *j = json_loadb(buf.data, buf.len, 0, NULL);
    if (json_is_object(j))
      out->json = j;
    else
      json_decref(j);
  }
  if (out->status >= 200 && out->status < 300) {
    if (out->json != NULL)
      rc = 0;
    else
      out->transport = tc_cfg_printf("HTTP %ld with a body that is not a "
                                     "JSON object",
                                     out->status);
  }
done:
  if (h != NULL)
    curl_easy_cleanup(h);
  free(url);
  free(auth);
  free(ua);
  free(ver);
  free(inst);
  free(payload);
  tc_sbuf_free(&buf);
  return rc;
}

static const char *err_field(const struct tc_admin_reply *r, const char *k) {
  const json_t *e = json_object_get(r->json, "error");
  const char *v = json_string_value(json_object_get(e, k));
  return v != NULL && v[0] != '\0' ? v : NULL;
}

/* The route without its query (the query may name ids; it is not secret,
 * but the path is what the operator recognises). */
static char *route_path(const char *route) {
  return tc_cfg_strndup(route, strcspn(route, "?"));
}

int tc_admin_render_error(const char *method, const char *route,
                          const struct tc_admin_reply *r, bool json) {
  char *path = route_path(route);
  const char *msg = err_field(r, "message");
  const char *code = err_field(r, "code");
  const char *type = err_field(r, "type");
  const char *mit = err_field(r, "mitigation");
  if (msg == NULL)
    msg = r->transport ? r->transport
          : r->status  ? "unexpected reply"
                       : "no reply";
  if (json) {
    tc_print_json(json_pack("{s:{s:s,s:s,s:s,s:I,s:s?,s:s?,s:s?,s:s?}}",
                            "error", "message", msg, "method", method, "path",
                            path ? path : route, "status_code",
                            (json_int_t)r->status, "request_id", r->request_id,
                            "code", code, "type", type, "mitigation", mit));
  } else {
    char status[24] = "";
    if (r->status > 0)
      snprintf(status, sizeof(status), "%ld ", r->status);
    fprintf(stderr, "request %s %s failed: %s%s%s%s", method,
            path ? path : route, status, code ? code : "", code ? ": " : "",
            msg);
    if (mit != NULL)
      fprintf(stderr, " mitigation: %s", mit);
    if (r->request_id != NULL)
      fprintf(stderr, " (x-request-id: %s)", r->request_id);
    fputc('\n', stderr);
  }
  free(path);
  return 1;
}

void tc_print_json(json_t *v) {
  char *t = v ? json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
  json_decref(v);
  if (t != NULL) {
    puts(t);
    free(t);
  }
  fflush(stdout);
}

char *tc_url_escape(const char *s) {
  static const char hex[] = "0123456789ABCDEF";
  size_t n = strlen(s);
  char *out = malloc(n * 3 + 1);
  if (out == NULL)
    return NULL;
  char *o = out;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (isalnum(*p) || strchr("-_.~", *p) != NULL) {
      *o++ = (char)*p;
    } else {
      *o++ = '%';
      *o++ = hex[*p >> 4];
      *o++ = hex[*p & 15];
    }
  }
  *o = '\0';
  return out;
}
