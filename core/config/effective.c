/* config/effective.c — the effective-value list behind tc_config_get(),
 * key/value lists, and releasing a struct tc_config. */
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"

int tc_kvlist_set(struct tc_kvlist *l, const char *key, const char *value,
                  const char *origin) {
  char *k = tc_cfg_strdup(key);
  char *v = value != NULL ? tc_cfg_strdup(value) : NULL;
  char *o = origin != NULL ? tc_cfg_strdup(origin) : NULL;
  if (k == NULL || (value != NULL && v == NULL) ||
      (origin != NULL && o == NULL)) {
    free(k);
    free(v);
    free(o);
    return -1;
  }
  for (size_t i = 0; i < l->count; i++) {
    if (strcmp(l->items[i].key, key) == 0) {
      free(k);
      free(l->items[i].value);
      free(l->items[i].origin);
      l->items[i].value = v;
      l->items[i].origin = o;
      return 0;
    }
  }
  struct tc_kv *n = realloc(l->items, (l->count + 1) * sizeof(*n));
  if (n == NULL) {
    free(k);
    free(v);
    free(o);
    return -1;
  }
  l->items = n;
  n[l->count].key = k;
  n[l->count].value = v;
  n[l->count].origin = o;
  l->count++;
  return 0;
}

void tc_kvlist_free(struct tc_kvlist *l) {
  if (l == NULL)
    return;
  for (size_t i = 0; i < l->count; i++) {
    free(l->items[i].key);
    free(l->items[i].value);
    free(l->items[i].origin);
  }
  free(l->items);
  l->items = NULL;
  l->count = 0;
}

const char *tc_config_get(const struct tc_config *cfg, const char *yaml_key) {
  if (cfg == NULL || yaml_key == NULL)
    return NULL;
  for (size_t i = 0; i < cfg->effective.count; i++)
    if (strcmp(cfg->effective.items[i].key, yaml_key) == 0)
      return cfg->effective.items[i].value;
  return NULL;
}

static void free_strv(char **v, size_t n) {
  for (size_t i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

void tc_config_free(struct tc_config *cfg) {
  if (cfg == NULL)
    return;
  free(cfg->profile_path);
  free(cfg->profile_name);
  free(cfg->cp_base_url);
  free(cfg->cp_url_path);
  free(cfg->cp_tunnel_id);
  if (cfg->cp_api_key != NULL) {
    /* scrub the key before releasing it */
    volatile char *p = cfg->cp_api_key;
    while (*p != '\0')
      *p++ = '\0';
  }
  free(cfg->cp_api_key);
  free(cfg->cp_organization_id);
  free(cfg->cp_client_cert);
  free(cfg->cp_client_key);
  free(cfg->cp_http_proxy);
  free_strv(cfg->cp_poll_channels, cfg->cp_poll_channel_count);
  free_strv(cfg->mcp_command_pass_env, cfg->mcp_command_pass_env_count);
  tc_headers_clear(&cfg->cp_extra_headers);
  for (size_t i = 0; i < cfg->binding_count; i++)
    tc_cfg_binding_free(&cfg->bindings[i]);
  free(cfg->bindings);
  free(cfg->mcp_http_proxy);
  free(cfg->mcp_client_cert);
  free(cfg->mcp_client_key);
  tc_headers_clear(&cfg->mcp_extra_headers);
  tc_headers_clear(&cfg->mcp_discovery_extra_headers);
  free(cfg->http_proxy);
  free(cfg->ca_bundle);
  free(cfg->log_file);
  free(cfg->health_listen_addr);
  free(cfg->health_unix_socket);
  free(cfg->health_url_file);
  free_strv(cfg->health_allowed_hosts, cfg->health_allowed_host_count);
  free(cfg->pid_file);
  free_strv(cfg->module_dirs, cfg->module_dir_count);
  for (size_t i = 0; i < cfg->module_count; i++) {
    free(cfg->modules[i].spec);
    free(cfg->modules[i].origin);
    tc_kvlist_free(cfg->modules[i].settings);
    free(cfg->modules[i].settings);
  }
  free(cfg->modules);
  tc_kvlist_free(&cfg->effective);
  memset(cfg, 0, sizeof(*cfg));
}
