/* config/rules.c — rules that span several keys, checked after every key is
 * loaded: certificate pairs, the mTLS base URL, poll timing, log
 * level/format, poll channels vs bindings, and what `run` requires. */
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"
#include "tc/host.h"

#define DEFAULT_BASE_URL "https://api.openai.com"
#define MTLS_BASE_URL "https://mtls.api.openai.com"
#define MAX_POLL_SUM_MS (10 * 60 * 1000)

/* Where the effective value of a key came from ("the default" if none). */
static const char *origin_of(const struct tc_config *cfg, const char *key) {
  for (size_t i = 0; i < cfg->effective.count; i++)
    if (strcmp(cfg->effective.items[i].key, key) == 0 &&
        cfg->effective.items[i].origin != NULL)
      return cfg->effective.items[i].origin;
  return "default";
}

static int check_pair(const struct tc_config *cfg, const char *cert,
                      const char *key, int cert_id, int key_id, char **err) {
  if ((cert == NULL) == (key == NULL))
    return 0;
  const struct tc_cfg_key *have = tc_cfg_key_by_id(cert ? cert_id : key_id);
  const struct tc_cfg_key *miss = tc_cfg_key_by_id(cert ? key_id : cert_id);
  return tc_cfg_fail(err,
                     "%s is set in %s but %s is not (set --%s or %s too, or "
                     "drop both)",
                     have->what, origin_of(cfg, have->yaml), miss->what,
                     miss->flag, miss->env);
}

static bool has_binding(const struct tc_config *cfg, const char *channel) {
  for (size_t i = 0; i < cfg->binding_count; i++)
    if (strcmp(cfg->bindings[i].channel, channel) == 0)
      return true;
  return false;
}

static bool has_poll_channel(const struct tc_config *cfg, const char *c) {
  for (size_t i = 0; i < cfg->cp_poll_channel_count; i++)
    if (strcmp(cfg->cp_poll_channels[i], c) == 0)
      return true;
  return false;
}

static int check_log(struct tc_config *cfg, char **err) {
  if (cfg->log_file != NULL && *cfg->log_file != '\0' &&
      cfg->log_format == TC_LOG_FORMAT_DEFAULT) {
    cfg->log_format = TC_LOG_FORMAT_TEXT;
    if (tc_kvlist_set(&cfg->effective, "log.format", "struct-text",
                      origin_of(cfg, "log.file")) != 0)
      return tc_cfg_fail(err, "out of memory");
  }
  if (cfg->log_level != TC_LOG_INFO && cfg->log_format == TC_LOG_FORMAT_DEFAULT)
    return tc_cfg_fail(err,
                       "log level \"%s\" needs a log format in %s (set "
                       "--log.format struct-text or json, or LOG_FORMAT)",
                       tc_config_get(cfg, "log.level"),
                       origin_of(cfg, "log.level"));
  return 0;
}

static int check_channels(const struct tc_config *cfg, char **err) {
  for (size_t i = 0; i < cfg->cp_poll_channel_count; i++) {
    const char *c = cfg->cp_poll_channels[i];
    if (strcmp(c, "harpoon") == 0) {
      if (tc_config_get(cfg, "harpoon.targets") != NULL ||
          has_poll_channel(cfg, "main"))
        continue;
      return tc_cfg_fail(err,
                         "poll channel \"harpoon\" has no target in %s (add "
                         "--harpoon.target or also list \"main\")",
                         origin_of(cfg, "control_plane.poll_channels"));
    }
    if (!has_binding(cfg, c))
      return tc_cfg_fail(err,
                         "poll channel \"%s\" has no binding in %s (add "
                         "--mcp.server-url channel=%s,url=URL or "
                         "--mcp.command channel=%s,command=CMD, or remove it "
                         "from the poll channels)",
                         c, origin_of(cfg, "control_plane.poll_channels"), c,
                         c);
  }
  return 0;
}

int tc_cfg_rules_check(struct tc_config *cfg, enum tc_config_mode mode,
                       char **err) {
  if (check_pair(cfg, cfg->cp_client_cert, cfg->cp_client_key,
                 TC_K_CP_CLIENT_CERT, TC_K_CP_CLIENT_KEY, err) != 0 ||
      check_pair(cfg, cfg->mcp_client_cert, cfg->mcp_client_key,
                 TC_K_MCP_CLIENT_CERT, TC_K_MCP_CLIENT_KEY, err) != 0)
    return -1;

  /* mTLS moves the default control plane to its mTLS host. */
  if (cfg->cp_client_cert != NULL && cfg->cp_base_url != NULL &&
      strcmp(cfg->cp_base_url, DEFAULT_BASE_URL) == 0) {
    char *m = tc_cfg_strdup(MTLS_BASE_URL);
    if (m == NULL ||
        tc_kvlist_set(&cfg->effective, "control_plane.base_url", m,
                      origin_of(cfg, "control_plane.client_cert")) != 0) {
      free(m);
      return tc_cfg_fail(err, "out of memory");
    }
    free(cfg->cp_base_url);
    cfg->cp_base_url = m;
  }

  if (cfg->cp_poll_timeout_ms + cfg->cp_poll_deadline_guardrail_ms >
      MAX_POLL_SUM_MS)
    return tc_cfg_fail(
        err,
        "poll timeout (%s, from %s) plus poll deadline "
        "guardrail (%s, from %s) exceed 10m (lower "
        "--control-plane.poll-timeout or "
        "--control-plane.poll-deadline-guardrail)",
        tc_config_get(cfg, "control_plane.poll_timeout"),
        origin_of(cfg, "control_plane.poll_timeout"),
        tc_config_get(cfg, "control_plane.poll_deadline_guardrail"),
        origin_of(cfg, "control_plane.poll_deadline_guardrail"));

  if (check_log(cfg, err) != 0)
    return -1;

  if (cfg->mcp_client_cert != NULL) {
    bool any_http = false;
    for (size_t i = 0; i < cfg->binding_count; i++)
      any_http = any_http || strcmp(cfg->bindings[i].transport, "http") == 0;
    if (!any_http)
      return tc_cfg_fail(err,
                         "MCP client certificate is set in %s but there is "
                         "no HTTP binding (it applies to --mcp.server-url "
                         "bindings only; drop it or add a server URL)",
                         origin_of(cfg, "mcp.client_cert"));
  }

  if (check_channels(cfg, err) != 0)
    return -1;

  if (mode != TC_CONFIG_RUN)
    return 0;
  if (cfg->cp_tunnel_id == NULL || *cfg->cp_tunnel_id == '\0')
    return tc_cfg_fail(err,
                       "control plane tunnel id is required; set "
                       "--control-plane.tunnel-id or CONTROL_PLANE_TUNNEL_ID");
  if (cfg->cp_api_key == NULL || *cfg->cp_api_key == '\0')
    return tc_cfg_fail(err, "control plane API key is required; set "
                            "CONTROL_PLANE_API_KEY (or OPENAI_API_KEY), or "
                            "--control-plane.api-key env:NAME or file:/path");
  if (cfg->cp_poll_channel_count == 0 && !has_binding(cfg, "main"))
    return tc_cfg_fail(err, "main channel is required; set --mcp.server-url or "
                            "--mcp.command, or MCP_SERVER_URL or MCP_COMMAND");
  return 0;
}
