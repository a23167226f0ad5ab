/* config/reconcile.c — reload classes of every key and the comparison of a
 * running configuration with a reloaded one (see reconcile.h).
 *
 * Why a key is "restart": it names something bound once at start (the ops
 * listener's address, socket and URL file, the pid file, the loaded
 * modules, the queue and the worker pool), or it identifies the tunnel the
 * in-flight commands belong to (tunnel id, control-plane base URL and
 * path: their answers must reach the service that sent them), or it only
 * acts at start (open the browser, the raw-HTTP warning), or it is kept for
 * drop-in compatibility and does nothing here (harpoon.*, cloudflared.*). */
#include "config/reconcile.h"

#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"

#define LIVE TC_RELOAD_LIVE
#define RESTART TC_RELOAD_RESTART

static const unsigned char reload_class[TC_K_COUNT] = {
    [TC_K_CONFIG] = RESTART,
    [TC_K_PROFILE] = RESTART,
    [TC_K_PROFILE_FILE] = RESTART,
    [TC_K_PROFILE_DIR] = RESTART,
    [TC_K_CP_BASE_URL] = RESTART,
    [TC_K_CP_URL_PATH] = RESTART,
    [TC_K_CP_TUNNEL_ID] = RESTART,
    [TC_K_CP_API_KEY] = LIVE,
    [TC_K_CP_ORG_ID] = LIVE,
    [TC_K_CP_CLIENT_CERT] = LIVE,
    [TC_K_CP_CLIENT_KEY] = LIVE,
    [TC_K_CP_HTTP_PROXY] = LIVE,
    [TC_K_CP_MAX_INFLIGHT] = RESTART,
    [TC_K_CP_POLL_TIMEOUT] = LIVE,
    [TC_K_CP_GUARDRAIL] = LIVE,
    [TC_K_CP_POLL_CHANNELS] = LIVE,
    [TC_K_CP_EXTRA_HEADERS] = LIVE,
    [TC_K_CP_RESPONSE_RETRY_BUDGET] = LIVE,
    [TC_K_MCP_SERVER_URLS] = LIVE,
    [TC_K_MCP_COMMANDS] = LIVE,
    [TC_K_MCP_HTTP_PROXY] = LIVE,
    [TC_K_MCP_CLIENT_CERT] = LIVE,
    [TC_K_MCP_CLIENT_KEY] = LIVE,
    [TC_K_MCP_EXTRA_HEADERS] = LIVE,
    [TC_K_MCP_DISCOVERY_HEADERS] = LIVE,
    [TC_K_MCP_STARTUP_WAIT] = LIVE,
    [TC_K_MCP_CONN_TTL] = LIVE,
    [TC_K_MCP_COMMAND_PASS_ENV] = LIVE,
    [TC_K_MCP_MAX_CONCURRENT] = RESTART,
    [TC_K_MCP_MAX_REPLY_BUDGET] = LIVE,
    [TC_K_HTTP_PROXY] = LIVE,
    [TC_K_CA_BUNDLE] = LIVE,
    [TC_K_LOG_LEVEL] = LIVE,
    [TC_K_LOG_FORMAT] = LIVE,
    [TC_K_LOG_FILE] = LIVE,
    [TC_K_LOG_HTTP_RAW] = RESTART,
    [TC_K_HEALTH_ADDR] = RESTART,
    [TC_K_HEALTH_SOCKET] = RESTART,
    [TC_K_HEALTH_URL_FILE] = RESTART,
    [TC_K_HEALTH_ALLOWED_HOSTS] = RESTART,
    [TC_K_PID_FILE] = RESTART,
    [TC_K_SHUTDOWN_GRACE] = LIVE,
    [TC_K_ADMIN_ALLOW_REMOTE] = LIVE,
    [TC_K_ADMIN_OPEN_BROWSER] = RESTART,
    [TC_K_ADMIN_LOG_BUFFER] = LIVE,
    [TC_K_PROXY_CHECK] = LIVE,
    [TC_K_HARPOON_TARGETS] = RESTART,
    [TC_K_HARPOON_PLAINTEXT] = RESTART,
    [TC_K_HARPOON_MAX_BYTES] = RESTART,
    [TC_K_HARPOON_MAX_REDIRECTS] = RESTART,
    [TC_K_HARPOON_HTTP_PROXY] = RESTART,
    [TC_K_HARPOON_TRANSPORTS] = RESTART,
    [TC_K_HARPOON_SUFFIX] = RESTART,
    [TC_K_HARPOON_REGEX] = RESTART,
    [TC_K_HARPOON_LOOPBACK] = RESTART,
    [TC_K_HARPOON_PRIVATE] = RESTART,
    [TC_K_HARPOON_CAPTURE] = RESTART,
    [TC_K_CF_TOKEN] = RESTART,
    [TC_K_CF_MANAGED] = RESTART,
    [TC_K_CF_PATH] = RESTART,
    [TC_K_CF_READY_TIMEOUT] = RESTART,
    [TC_K_MODULES] = RESTART,
    [TC_K_MODULE_DIRS] = RESTART,
};

int tc_config_key_count(void) {
  return TC_K_COUNT;
}

int tc_config_reload_class(int key_id) {
  if (key_id < 0 || key_id >= TC_K_COUNT)
    return TC_RELOAD_UNCLASSIFIED;
  return reload_class[key_id];
}

const char *tc_config_key_name(int key_id) {
  const struct tc_cfg_key *k = tc_cfg_key_by_id(key_id);
  if (k == NULL || k->type == TC_T_SELECT)
    return NULL;
  return k->yaml != NULL ? k->yaml : k->flag;
}

/* ---- equality ------------------------------------------------------------ */

static int str_eq(const char *a, const char *b) {
  if (a == NULL || b == NULL)
    return a == b;
  return strcmp(a, b) == 0;
}

int tc_config_headers_equal(const struct tc_headers *a,
                            const struct tc_headers *b) {
  if (a->count != b->count)
    return 0;
  for (size_t i = 0; i < a->count; i++)
    if (!tc_header_name_eq(a->items[i].name, b->items[i].name) ||
        strcmp(a->items[i].value, b->items[i].value) != 0)
      return 0;
  return 1;
}

static int strv_eq(char *const *a, size_t na, char *const *b, size_t nb) {
  if (na != nb)
    return 0;
  for (size_t i = 0; i < na; i++)
    if (!str_eq(a[i], b[i]))
      return 0;
  return 1;
}

static int binding_eq(const struct tc_binding_cfg *a,
                      const struct tc_binding_cfg *b) {
  return str_eq(a->channel, b->channel) && str_eq(a->transport, b->transport) &&
         str_eq(a->url, b->url) && str_eq(a->unix_socket, b->unix_socket) &&
         str_eq(a->http_proxy, b->http_proxy) &&
         str_eq(a->client_cert, b->client_cert) &&
         str_eq(a->client_key, b->client_key) && str_eq(a->command, b->command);
}

/* The bindings of one kind (commands, or the rest) in config order. */
static int bindings_eq(const struct tc_config *a, const struct tc_config *b,
                       int commands) {
  size_t i = 0, j = 0;
  for (;;) {
    while (i < a->binding_count &&
           (a->bindings[i].command != NULL) != (commands != 0))
      i++;
    while (j < b->binding_count &&
           (b->bindings[j].command != NULL) != (commands != 0))
      j++;
    if (i == a->binding_count || j == b->binding_count)
      return i == a->binding_count && j == b->binding_count;
    if (!binding_eq(&a->bindings[i], &b->bindings[j]))
      return 0;
    i++;
    j++;
  }
}

static int kvlist_eq(const struct tc_kvlist *a, const struct tc_kvlist *b) {
  size_t na = a != NULL ? a->count : 0, nb = b != NULL ? b->count : 0;
  if (na != nb)
    return 0;
  for (size_t i = 0; i < na; i++)
    if (!str_eq(a->items[i].key, b->items[i].key) ||
        !str_eq(a->items[i].value, b->items[i].value))
      return 0;
  return 1;
}

static int modules_eq(const struct tc_config *a, const struct tc_config *b) {
  if (a->module_count != b->module_count)
    return 0;
  for (size_t i = 0; i < a->module_count; i++)
    if (!str_eq(a->modules[i].spec, b->modules[i].spec) ||
        !kvlist_eq(a->modules[i].settings, b->modules[i].settings))
      return 0;
  return 1;
}

static const struct tc_kv *effective_entry(const struct tc_config *cfg,
                                           const char *key) {
  for (size_t i = 0; i < cfg->effective.count; i++)
    if (strcmp(cfg->effective.items[i].key, key) == 0)
      return &cfg->effective.items[i];
  return NULL;
}

/* Keys kept in `effective` only: compare the text and where it came from
 * (secret ones are stored without a value, so only their source shows). */
static int effective_eq(const struct tc_config *a, const struct tc_config *b,
                        const char *key) {
  const struct tc_kv *x = effective_entry(a, key), *y = effective_entry(b, key);
  if (x == NULL || y == NULL)
    return x == y;
  return str_eq(x->value, y->value) && str_eq(x->origin, y->origin);
}

static int key_eq(const struct tc_cfg_key *k, const struct tc_config *a,
                  const struct tc_config *b) {
  switch (k->id) {
  case TC_K_CP_POLL_CHANNELS:
    return strv_eq(a->cp_poll_channels, a->cp_poll_channel_count,
                   b->cp_poll_channels, b->cp_poll_channel_count);
  case TC_K_MCP_SERVER_URLS:
    return bindings_eq(a, b, 0);
  case TC_K_MCP_COMMANDS:
    return bindings_eq(a, b, 1);
  case TC_K_MCP_COMMAND_PASS_ENV:
    return strv_eq(a->mcp_command_pass_env, a->mcp_command_pass_env_count,
                   b->mcp_command_pass_env, b->mcp_command_pass_env_count);
  case TC_K_HEALTH_ALLOWED_HOSTS:
    return strv_eq(a->health_allowed_hosts, a->health_allowed_host_count,
                   b->health_allowed_hosts, b->health_allowed_host_count);
  case TC_K_MODULES:
    return modules_eq(a, b);
  case TC_K_MODULE_DIRS:
    return strv_eq(a->module_dirs, a->module_dir_count, b->module_dirs,
                   b->module_dir_count);
  default:
    break;
  }
  if (k->flags & TC_F_NOFIELD)
    return effective_eq(a, b, k->yaml);
  const char *pa = (const char *)a + k->off, *pb = (const char *)b + k->off;
  switch (k->type) {
  case TC_T_STR:
  case TC_T_PATH:
    return str_eq(*(char *const *)pa, *(char *const *)pb);
  case TC_T_INT:
  case TC_T_LEVEL:
  case TC_T_FORMAT:
    return *(const int *)pa == *(const int *)pb;
  case TC_T_DUR:
  case TC_T_BYTES:
    return *(const int64_t *)pa == *(const int64_t *)pb;
  case TC_T_BOOL:
    return *(const bool *)pa == *(const bool *)pb;
  case TC_T_HEADERS:
    return tc_config_headers_equal((const struct tc_headers *)pa,
                                   (const struct tc_headers *)pb);
  default:
    return 1; /* profile selection: fixed by argv and the environment */
  }
}

/* ---- keeping the running value ------------------------------------------- */

static int copy_strv(char ***dst, size_t *dn, char *const *src, size_t sn) {
  char **v = sn > 0 ? calloc(sn, sizeof(*v)) : NULL;
  if (sn > 0 && v == NULL)
    return -1;
  for (size_t i = 0; i < sn; i++) {
    v[i] = tc_cfg_strdup(src[i]);
    if (v[i] == NULL) {
      for (size_t j = 0; j < i; j++)
        free(v[j]);
      free(v);
      return -1;
    }
  }
  for (size_t i = 0; i < *dn; i++)
    free((*dst)[i]);
  free(*dst);
  *dst = v;
  *dn = sn;
  return 0;
}

static int copy_kvlist(struct tc_kvlist **dst, const struct tc_kvlist *src) {
  struct tc_kvlist *n = NULL;
  if (src != NULL) {
    n = calloc(1, sizeof(*n));
    if (n == NULL)
      return -1;
    for (size_t i = 0; i < src->count; i++)
      if (tc_kvlist_set(n, src->items[i].key, src->items[i].value,
                        src->items[i].origin) != 0) {
        tc_kvlist_free(n);
        free(n);
        return -1;
      }
  }
  *dst = n;
  return 0;
}

static void free_modules(struct tc_module_req *m, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(m[i].spec);
    free(m[i].origin);
    tc_kvlist_free(m[i].settings);
    free(m[i].settings);
  }
  free(m);
}

static int copy_modules(struct tc_config *next, const struct tc_config *run) {
  size_t n = run->module_count;
  struct tc_module_req *m = n > 0 ? calloc(n, sizeof(*m)) : NULL;
  if (n > 0 && m == NULL)
    return -1;
  for (size_t i = 0; i < n; i++) {
    const struct tc_module_req *r = &run->modules[i];
    m[i].spec = tc_cfg_strdup(r->spec);
    m[i].origin = tc_cfg_strdup(r->origin);
    if ((r->spec != NULL && m[i].spec == NULL) ||
        (r->origin != NULL && m[i].origin == NULL) ||
        copy_kvlist(&m[i].settings, r->settings) != 0) {
      free_modules(m, i + 1);
      return -1;
    }
  }
  free_modules(next->modules, next->module_count);
  next->modules = m;
  next->module_count = n;
  return 0;
}

/* The effective entry of `key` in next becomes the running one (or goes
 * away when the running configuration has none). */
static int keep_effective(struct tc_config *next, const struct tc_config *run,
                          const char *key) {
  if (key == NULL)
    return 0;
  const struct tc_kv *r = effective_entry(run, key);
  if (r != NULL)
    return tc_kvlist_set(&next->effective, key, r->value, r->origin);
  struct tc_kvlist *l = &next->effective;
  for (size_t i = 0; i < l->count; i++) {
    if (strcmp(l->items[i].key, key) != 0)
      continue;
    free(l->items[i].key);
    free(l->items[i].value);
    free(l->items[i].origin);
    memmove(&l->items[i], &l->items[i + 1],
            (l->count - i - 1) * sizeof(l->items[0]));
    l->count--;
    break;
  }
  return 0;
}

static int keep_running(const struct tc_cfg_key *k, struct tc_config *next,
                        const struct tc_config *run) {
  int rc = 0;
  if (k->id == TC_K_MODULES)
    rc = copy_modules(next, run);
  else if (k->id == TC_K_MODULE_DIRS)
    rc = copy_strv(&next->module_dirs, &next->module_dir_count,
                   run->module_dirs, run->module_dir_count);
  else if (k->id == TC_K_HEALTH_ALLOWED_HOSTS)
    rc =
        copy_strv(&next->health_allowed_hosts, &next->health_allowed_host_count,
                  run->health_allowed_hosts, run->health_allowed_host_count);
  else if (!(k->flags & TC_F_NOFIELD)) {
    char *pn = (char *)next + k->off;
    const char *pr = (const char *)run + k->off;
    switch (k->type) {
    case TC_T_STR:
    case TC_T_PATH: {
      const char *v = *(char *const *)pr;
      char *copy = tc_cfg_strdup(v);
      if (v != NULL && copy == NULL)
        return -1;
      free(*(char **)pn);
      *(char **)pn = copy;
      break;
    }
    case TC_T_INT:
    case TC_T_LEVEL:
    case TC_T_FORMAT:
      *(int *)pn = *(const int *)pr;
      break;
    case TC_T_DUR:
      *(int64_t *)pn = *(const int64_t *)pr;
      break;
    case TC_T_BOOL:
      *(bool *)pn = *(const bool *)pr;
      break;
    default:
      /* Live-only types (headers, lists, bindings) never get here: the
       * table above classes them live. */
      return -1;
    }
  }
  if (rc == 0)
    rc = keep_effective(next, run, k->yaml);
  return rc;
}

/* ---- the comparison ------------------------------------------------------ */

static int push(char ***v, size_t *n, const char *s) {
  char **g = realloc(*v, (*n + 1) * sizeof(*g));
  if (g == NULL)
    return -1;
  *v = g;
  g[*n] = tc_cfg_strdup(s);
  if (g[*n] == NULL)
    return -1;
  (*n)++;
  return 0;
}

void tc_config_changes_free(struct tc_config_changes *c) {
  if (c == NULL)
    return;
  for (size_t i = 0; i < c->live_count; i++)
    free(c->live[i]);
  for (size_t i = 0; i < c->restart_count; i++)
    free(c->restart[i]);
  free(c->live);
  free(c->restart);
  memset(c, 0, sizeof(*c));
}

int tc_config_reconcile(const struct tc_config *running, struct tc_config *next,
                        struct tc_config_changes *out, char **err) {
  memset(out, 0, sizeof(*out));
  for (int id = 0; id < TC_K_COUNT; id++) {
    const struct tc_cfg_key *k = tc_cfg_key_by_id(id);
    const char *name = tc_config_key_name(id);
    if (name == NULL || key_eq(k, running, next))
      continue;
    int rc;
    if (reload_class[id] == TC_RELOAD_LIVE) {
      rc = push(&out->live, &out->live_count, name);
    } else {
      rc = push(&out->restart, &out->restart_count, name);
      if (rc == 0)
        rc = keep_running(k, next, running);
    }
    if (rc != 0) {
      tc_config_changes_free(out);
      return tc_cfg_fail(err, "out of memory comparing the configuration");
    }
  }
  return 0;
}
