/* config/keys.c — the table of every configuration key: its flag, env var
 * and YAML names, type, default and checks (reference/cli.md §2). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "config/config_internal.h"

#define OFF(field) offsetof(struct tc_config, field)
#define NOOFF 0
#define MS_S 1000
#define MS_M (60 * MS_S)

static const struct tc_cfg_key keys[TC_K_COUNT] = {
    /* profile selection (profile_source.c reads the env vars) */
    [TC_K_CONFIG] = {TC_K_CONFIG, NULL, "config", NULL, NULL, NULL, NULL,
                     TC_T_SELECT, TC_F_NO_YAML, NULL, NOOFF, 0, 0, NULL,
                     "config file"},
    [TC_K_PROFILE] = {TC_K_PROFILE, NULL, "profile", NULL, NULL, NULL, NULL,
                      TC_T_SELECT, TC_F_NO_YAML, NULL, NOOFF, 0, 0, NULL,
                      "profile name"},
    [TC_K_PROFILE_FILE] = {TC_K_PROFILE_FILE, NULL, "profile-file", NULL, NULL,
                           NULL, NULL, TC_T_SELECT, TC_F_NO_YAML, NULL, NOOFF,
                           0, 0, NULL, "profile file"},
    [TC_K_PROFILE_DIR] = {TC_K_PROFILE_DIR, NULL, "profile-dir", NULL, NULL,
                          NULL, NULL, TC_T_SELECT, TC_F_NO_YAML, NULL, NOOFF, 0,
                          0, NULL, "profile directory"},

    /* control plane */
    [TC_K_CP_BASE_URL] = {TC_K_CP_BASE_URL, "control_plane.base_url",
                          "control-plane.base-url", "control-plane-base-url",
                          "CONTROL_PLANE_BASE_URL", NULL, NULL, TC_T_STR,
                          TC_F_REF, "https://api.openai.com", OFF(cp_base_url),
                          0, 0, tc_cfg_check_base_url,
                          "control plane base URL"},
    [TC_K_CP_URL_PATH] = {TC_K_CP_URL_PATH, "control_plane.url_path",
                          "control-plane.url-path", "control-plane-url-path",
                          "CONTROL_PLANE_URL_PATH", NULL, NULL, TC_T_STR,
                          TC_F_REF, "", OFF(cp_url_path), 0, 0,
                          tc_cfg_check_url_path, "control plane URL path"},
    [TC_K_CP_TUNNEL_ID] = {TC_K_CP_TUNNEL_ID, "control_plane.tunnel_id",
                           "control-plane.tunnel-id", "control-plane-tunnel-id",
                           "CONTROL_PLANE_TUNNEL_ID", NULL, NULL, TC_T_STR,
                           TC_F_EMPTY_ERR, NULL, OFF(cp_tunnel_id), 0, 0,
                           tc_validate_tunnel_id, "control plane tunnel id"},
    [TC_K_CP_API_KEY] = {TC_K_CP_API_KEY, "control_plane.api_key",
                         "control-plane.api-key", "control-plane-api-key",
                         "CONTROL_PLANE_API_KEY", "OPENAI_API_KEY", NULL,
                         TC_T_STR,
                         TC_F_SECRET | TC_F_EMPTY_ERR | TC_F_REF |
                             TC_F_FLAG_REF_ONLY,
                         NULL, OFF(cp_api_key), 0, 0, tc_validate_api_key,
                         "control plane API key"},
    [TC_K_CP_ORG_ID] = {TC_K_CP_ORG_ID, "control_plane.organization_id",
                        "control-plane.organization-id",
                        "control-plane-organization-id",
                        "CONTROL_PLANE_ORGANIZATION_ID", NULL, NULL, TC_T_STR,
                        0, NULL, OFF(cp_organization_id), 0, 0,
                        tc_cfg_check_no_crlf, "control plane organization id"},
    [TC_K_CP_CLIENT_CERT] = {TC_K_CP_CLIENT_CERT, "control_plane.client_cert",
                             "control-plane.client-cert", NULL,
                             "CONTROL_PLANE_CLIENT_CERT", NULL, NULL, TC_T_PATH,
                             TC_F_REF, NULL, OFF(cp_client_cert), 0, 0, NULL,
                             "control plane client certificate"},
    [TC_K_CP_CLIENT_KEY] = {TC_K_CP_CLIENT_KEY, "control_plane.client_key",
                            "control-plane.client-key", NULL,
                            "CONTROL_PLANE_CLIENT_KEY", NULL, NULL, TC_T_PATH,
                            TC_F_REF, NULL, OFF(cp_client_key), 0, 0, NULL,
                            "control plane client key"},
    [TC_K_CP_HTTP_PROXY] = {TC_K_CP_HTTP_PROXY, "control_plane.http_proxy",
                            "control-plane.http-proxy", NULL,
                            "CONTROL_PLANE_HTTP_PROXY", NULL, NULL, TC_T_STR,
                            TC_F_REF, NULL, OFF(cp_http_proxy), 0, 0,
                            tc_cfg_check_proxy_url, "control plane HTTP proxy"},
    [TC_K_CP_MAX_INFLIGHT] = {TC_K_CP_MAX_INFLIGHT,
                              "control_plane.max_inflight_requests",
                              "control-plane.max-inflight", NULL,
                              "CONTROL_PLANE_MAX_INFLIGHT_REQUESTS", NULL, NULL,
                              TC_T_INT, TC_F_EMPTY_ERR,
                              "20", OFF(cp_max_inflight), 1, 10000, NULL,
                              "max inflight requests"},
    [TC_K_CP_POLL_TIMEOUT] = {TC_K_CP_POLL_TIMEOUT,
                              "control_plane.poll_timeout",
                              "control-plane.poll-timeout", NULL,
                              "CONTROL_PLANE_POLL_TIMEOUT", NULL, NULL,
                              TC_T_DUR, 0, "30s", OFF(cp_poll_timeout_ms), 1,
                              INT64_MAX, NULL, "poll timeout"},
    [TC_K_CP_GUARDRAIL] = {TC_K_CP_GUARDRAIL,
                           "control_plane.poll_deadline_guardrail",
                           "control-plane.poll-deadline-guardrail", NULL,
                           "CONTROL_PLANE_POLL_DEADLINE_GUARDRAIL", NULL, NULL,
                           TC_T_DUR, 0, "5000ms",
                           OFF(cp_poll_deadline_guardrail_ms), 1, 60 * MS_S - 1,
                           NULL, "poll deadline guardrail"},
    [TC_K_CP_POLL_CHANNELS] = {TC_K_CP_POLL_CHANNELS,
                               "control_plane.poll_channels",
                               "control-plane.poll-channel", NULL,
                               "CONTROL_PLANE_POLL_CHANNELS", NULL, ",",
                               TC_T_LIST,
                               TC_F_REPEAT | TC_F_EMPTY_ERR | TC_F_KEEP_BLANKS,
                               NULL, NOOFF, 0, 0, NULL, "poll channel"},
    [TC_K_CP_EXTRA_HEADERS] = {TC_K_CP_EXTRA_HEADERS,
                               "control_plane.extra_headers",
                               "control-plane.extra-headers", NULL,
                               "CONTROL_PLANE_EXTRA_HEADERS", NULL, ",;",
                               TC_T_HEADERS, TC_F_REPEAT | TC_F_SECRET, NULL,
                               OFF(cp_extra_headers), 0, 0, NULL,
                               "control plane extra header"},

    /* Not in the official client (it gives a response POST 3 attempts): a
     * terminal response is retried until its command's deadline, or for
     * this long when the command has none. */
    [TC_K_CP_RESPONSE_RETRY_BUDGET] =
        {TC_K_CP_RESPONSE_RETRY_BUDGET, "control_plane.response_retry_budget",
         "control-plane.response-retry-budget", NULL,
         "CONTROL_PLANE_RESPONSE_RETRY_BUDGET", NULL, NULL, TC_T_DUR, 0, "60s",
         OFF(cp_response_retry_budget_ms), MS_S, 60 * MS_M, NULL,
         "response retry budget"},

    /* MCP */
    [TC_K_MCP_SERVER_URLS] = {TC_K_MCP_SERVER_URLS, "mcp.server_urls",
                              "mcp.server-url", "mcp-server-url",
                              "MCP_SERVER_URL", NULL, "\n", TC_T_URLBIND,
                              TC_F_REPEAT | TC_F_REF, NULL, NOOFF, 0, 0, NULL,
                              "MCP server URL"},
    [TC_K_MCP_COMMANDS] = {TC_K_MCP_COMMANDS, "mcp.commands", "mcp.command",
                           "mcp-command", "MCP_COMMAND", NULL, "\n",
                           TC_T_CMDBIND, TC_F_REPEAT | TC_F_REF, NULL, NOOFF, 0,
                           0, NULL, "MCP command"},
    [TC_K_MCP_HTTP_PROXY] = {TC_K_MCP_HTTP_PROXY, "mcp.http_proxy",
                             "mcp.http-proxy", NULL, "MCP_HTTP_PROXY", NULL,
                             NULL, TC_T_STR, TC_F_REF, NULL,
                             OFF(mcp_http_proxy), 0, 0, tc_cfg_check_proxy_url,
                             "MCP HTTP proxy"},
    [TC_K_MCP_CLIENT_CERT] = {TC_K_MCP_CLIENT_CERT, "mcp.client_cert",
                              "mcp.client-cert", NULL, "MCP_CLIENT_CERT", NULL,
                              NULL, TC_T_PATH, TC_F_REF, NULL,
                              OFF(mcp_client_cert), 0, 0, NULL,
                              "MCP client certificate"},
    [TC_K_MCP_CLIENT_KEY] = {TC_K_MCP_CLIENT_KEY, "mcp.client_key",
                             "mcp.client-key", NULL, "MCP_CLIENT_KEY", NULL,
                             NULL, TC_T_PATH, TC_F_REF, NULL,
                             OFF(mcp_client_key), 0, 0, NULL, "MCP client key"},
    [TC_K_MCP_EXTRA_HEADERS] = {TC_K_MCP_EXTRA_HEADERS, "mcp.extra_headers",
                                "mcp.extra-headers", NULL, "MCP_EXTRA_HEADERS",
                                NULL, ",;", TC_T_HEADERS,
                                TC_F_REPEAT | TC_F_SECRET, NULL,
                                OFF(mcp_extra_headers), 0, 0, NULL,
                                "MCP extra header"},
    [TC_K_MCP_DISCOVERY_HEADERS] = {TC_K_MCP_DISCOVERY_HEADERS,
                                    "mcp.discovery_extra_headers",
                                    "mcp.discovery-extra-headers", NULL,
                                    "MCP_DISCOVERY_EXTRA_HEADERS", NULL, ",;",
                                    TC_T_HEADERS, TC_F_REPEAT | TC_F_SECRET,
                                    NULL, OFF(mcp_discovery_extra_headers), 0,
                                    0, NULL, "MCP discovery extra header"},
    [TC_K_MCP_STARTUP_WAIT] = {TC_K_MCP_STARTUP_WAIT,
                               "mcp.startup_wait_timeout",
                               "mcp.startup-wait-timeout", NULL,
                               "MCP_STARTUP_WAIT_TIMEOUT", NULL, NULL, TC_T_DUR,
                               0, "0s", OFF(mcp_startup_wait_timeout_ms), 0,
                               INT64_MAX, NULL, "MCP startup wait timeout"},
    [TC_K_MCP_CONN_TTL] = {TC_K_MCP_CONN_TTL, "mcp.connection_max_ttl",
                           "mcp.connection-max-ttl", NULL,
                           "MCP_CONNECTION_MAX_TTL", NULL, NULL, TC_T_DUR, 0,
                           "10m", OFF(mcp_connection_max_ttl_ms), 1, INT64_MAX,
                           NULL, "MCP connection max TTL"},
    [TC_K_MCP_MAX_CONCURRENT] = {TC_K_MCP_MAX_CONCURRENT,
                                 "mcp.max_concurrent_requests",
                                 "mcp.max-concurrent-requests", NULL,
                                 "MCP_MAX_CONCURRENT_REQUESTS", NULL, NULL,
                                 TC_T_INT, 0, "10", OFF(mcp_max_concurrent), 1,
                                 10000, NULL, "MCP max concurrent requests"},
    [TC_K_MCP_MAX_REPLY_BUDGET] =
        {TC_K_MCP_MAX_REPLY_BUDGET, "mcp.max_inflight_reply_bytes",
         "mcp.max-inflight-reply-bytes", NULL, "MCP_MAX_INFLIGHT_REPLY_BYTES",
         NULL, NULL, TC_T_BYTES, 0, "256MiB", OFF(mcp_max_inflight_reply_bytes),
         1024 * 1024, (int64_t)1 << 40, NULL, "MCP in-flight reply budget"},

    /* network */
    /* Not in the official client: stdio children do not inherit the
     * agent's secrets (util/child_env.h) unless listed here. */
    [TC_K_MCP_COMMAND_PASS_ENV] =
        {TC_K_MCP_COMMAND_PASS_ENV, "mcp.command_pass_env",
         "mcp.command-pass-env", NULL, "MCP_COMMAND_PASS_ENV", NULL, ",",
         TC_T_LIST, TC_F_REPEAT | TC_F_EMPTY_ERR | TC_F_KEEP_BLANKS, NULL,
         NOOFF, 0, 0, NULL, "stdio pass-through variable"},
    [TC_K_HTTP_PROXY] = {TC_K_HTTP_PROXY, "http_proxy", "http-proxy", NULL,
                         "TUNNEL_CLIENT_HTTP_PROXY", NULL, NULL, TC_T_STR,
                         TC_F_REF, NULL, OFF(http_proxy), 0, 0,
                         tc_cfg_check_proxy_url, "HTTP proxy"},
    [TC_K_CA_BUNDLE] = {TC_K_CA_BUNDLE, "ca_bundle", "ca-bundle", NULL,
                        "CA_BUNDLE", NULL, NULL, TC_T_PATH, TC_F_REF, NULL,
                        OFF(ca_bundle), 0, 0, NULL, "CA bundle"},

    /* logging */
    [TC_K_LOG_LEVEL] = {TC_K_LOG_LEVEL, "log.level", "log.level", "log-level",
                        "LOG_LEVEL", NULL, NULL, TC_T_LEVEL, 0, "info",
                        OFF(log_level), 0, 0, NULL, "log level"},
    [TC_K_LOG_FORMAT] = {TC_K_LOG_FORMAT, "log.format", "log.format",
                         "log-format", "LOG_FORMAT", NULL, NULL, TC_T_FORMAT, 0,
                         NULL, OFF(log_format), 0, 0, NULL, "log format"},
    [TC_K_LOG_FILE] = {TC_K_LOG_FILE, "log.file", "log.file", "log-file",
                       "LOG_FILE", NULL, NULL, TC_T_STR, 0, NULL, OFF(log_file),
                       0, 0, NULL, "log file"},
    [TC_K_LOG_HTTP_RAW] = {TC_K_LOG_HTTP_RAW, "log.http_raw_unsafe",
                           "log.http-raw-unsafe", NULL, "LOG_HTTP_RAW_UNSAFE",
                           NULL, NULL, TC_T_BOOL, 0, "false",
                           OFF(log_http_raw_unsafe), 0, 0, NULL,
                           "raw HTTP logging switch"},

    /* ops */
    [TC_K_HEALTH_ADDR] = {TC_K_HEALTH_ADDR, "health.listen_addr",
                          "health.listen-addr", "health-listen-addr",
                          "HEALTH_LISTEN_ADDR", NULL, NULL, TC_T_STR, TC_F_REF,
                          "127.0.0.1:8080", OFF(health_listen_addr), 0, 0,
                          tc_validate_listen_addr, "health listen address"},
    [TC_K_HEALTH_SOCKET] = {TC_K_HEALTH_SOCKET, "health.unix_socket",
                            "health.unix-socket", "health-unix-socket",
                            "HEALTH_UNIX_SOCKET", NULL, NULL, TC_T_STR,
                            TC_F_REF, NULL, OFF(health_unix_socket), 0, 0, NULL,
                            "health unix socket"},
    [TC_K_HEALTH_URL_FILE] = {TC_K_HEALTH_URL_FILE, "health.url_file",
                              "health.url-file", "health-url-file",
                              "HEALTH_URL_FILE", NULL, NULL, TC_T_STR, 0, NULL,
                              OFF(health_url_file), 0, 0, NULL,
                              "health URL file"},
    /* Not in the official client (it checks no Host header): extra names
     * the ops listener answers on its admin routes (util/host_pattern.h). */
    [TC_K_HEALTH_ALLOWED_HOSTS] = {TC_K_HEALTH_ALLOWED_HOSTS,
                                   "health.allowed_hosts",
                                   "health.allowed-hosts", NULL,
                                   "HEALTH_ALLOWED_HOSTS", NULL, ",", TC_T_LIST,
                                   TC_F_REPEAT | TC_F_KEEP_BLANKS, NULL, NOOFF,
                                   0, 0, NULL, "health allowed host"},
    [TC_K_PID_FILE] = {TC_K_PID_FILE, "process.pid_file", "pid.file",
                       "pid-file", "PID_FILE", NULL, NULL, TC_T_STR, 0, NULL,
                       OFF(pid_file), 0, 0, NULL, "PID file"},
    /* Not in the official client: it drops in-flight work at shutdown. */
    [TC_K_SHUTDOWN_GRACE] = {TC_K_SHUTDOWN_GRACE,
                             "process.shutdown_grace_period",
                             "shutdown.grace-period", NULL,
                             "SHUTDOWN_GRACE_PERIOD", NULL, NULL, TC_T_DUR, 0,
                             "15s", OFF(shutdown_grace_ms), 0, 10 * MS_M, NULL,
                             "shutdown grace period"},

    /* admin UI */
    [TC_K_ADMIN_ALLOW_REMOTE] = {TC_K_ADMIN_ALLOW_REMOTE,
                                 "admin_ui.allow_remote", "allow-remote-ui",
                                 NULL, "ALLOW_REMOTE_UI", NULL, NULL, TC_T_BOOL,
                                 0, "false", OFF(allow_remote_ui), 0, 0, NULL,
                                 "remote UI switch"},
    [TC_K_ADMIN_OPEN_BROWSER] = {TC_K_ADMIN_OPEN_BROWSER,
                                 "admin_ui.open_browser", "open-web-ui", NULL,
                                 "OPEN_WEB_UI", NULL, NULL, TC_T_BOOL, 0,
                                 "false", OFF(open_web_ui), 0, 0, NULL,
                                 "open web UI switch"},
    [TC_K_ADMIN_LOG_BUFFER] = {TC_K_ADMIN_LOG_BUFFER,
                               "admin_ui.log_buffer_events",
                               "admin-ui.log-buffer-events", NULL,
                               "ADMIN_UI_LOG_BUFFER_EVENTS", NULL, NULL,
                               TC_T_INT, 0, "2000", OFF(log_buffer_events), 1,
                               100000, NULL, "admin UI log buffer size"},
    [TC_K_PROXY_CHECK] = {TC_K_PROXY_CHECK, "proxy.check_interval",
                          "proxy.check-interval", NULL, "PROXY_CHECK_INTERVAL",
                          NULL, NULL, TC_T_DUR, 0, "60s",
                          OFF(proxy_check_interval_ms), 1, INT64_MAX, NULL,
                          "proxy check interval"},

    /* harpoon: accepted and kept in `effective` only */
    [TC_K_HARPOON_TARGETS] = {TC_K_HARPOON_TARGETS, "harpoon.targets",
                              "harpoon.target", NULL, "HARPOON_TARGETS", NULL,
                              ";\n", TC_T_TARGETS, TC_F_REPEAT | TC_F_NOFIELD,
                              NULL, NOOFF, 0, 0, NULL, "harpoon target"},
    [TC_K_HARPOON_PLAINTEXT] = {TC_K_HARPOON_PLAINTEXT,
                                "harpoon.allow_plaintext_http",
                                "harpoon.allow-plaintext-http", NULL,
                                "HARPOON_ALLOW_PLAINTEXT_HTTP", NULL, NULL,
                                TC_T_BOOL, TC_F_NOFIELD, "false", NOOFF, 0, 0,
                                NULL, "harpoon plaintext switch"},
    [TC_K_HARPOON_MAX_BYTES] = {TC_K_HARPOON_MAX_BYTES,
                                "harpoon.max_response_bytes",
                                "harpoon.max-response-bytes", NULL,
                                "HARPOON_MAX_RESPONSE_BYTES", NULL, NULL,
                                TC_T_INT, TC_F_NOFIELD, "102400", NOOFF, 1,
                                102400, NULL, "harpoon max response bytes"},
    [TC_K_HARPOON_MAX_REDIRECTS] = {TC_K_HARPOON_MAX_REDIRECTS,
                                    "harpoon.max_redirects",
                                    "harpoon.max-redirects", NULL,
                                    "HARPOON_MAX_REDIRECTS", NULL, NULL,
                                    TC_T_INT, TC_F_NOFIELD, "5", NOOFF, 0, 5,
                                    NULL, "harpoon max redirects"},
    [TC_K_HARPOON_HTTP_PROXY] = {TC_K_HARPOON_HTTP_PROXY, "harpoon.http_proxy",
                                 "harpoon.http-proxy", NULL,
                                 "HARPOON_HTTP_PROXY", NULL, NULL, TC_T_STR,
                                 TC_F_NOFIELD | TC_F_SECRET, NULL, NOOFF, 0, 0,
                                 NULL, "harpoon HTTP proxy"},
    [TC_K_HARPOON_TRANSPORTS] = {TC_K_HARPOON_TRANSPORTS,
                                 "harpoon.additional_transports",
                                 "harpoon.additional-transport", NULL,
                                 "HARPOON_ADDITIONAL_TRANSPORTS", NULL, ",",
                                 TC_T_LIST, TC_F_REPEAT | TC_F_NOFIELD, NULL,
                                 NOOFF, 0, 0,
                                 NULL, "harpoon additional transport"},
    [TC_K_HARPOON_SUFFIX] = {TC_K_HARPOON_SUFFIX,
                             "harpoon.hosts_include_suffix",
                             "harpoon.hosts-include-suffix", NULL,
                             "HARPOON_HOSTS_INCLUDE_SUFFIX", NULL, ",",
                             TC_T_LIST, TC_F_REPEAT | TC_F_NOFIELD, NULL, NOOFF,
                             0, 0, NULL, "harpoon host suffix"},
    [TC_K_HARPOON_REGEX] = {TC_K_HARPOON_REGEX, "harpoon.hosts_include_regex",
                            "harpoon.hosts-include-regex", NULL,
                            "HARPOON_HOSTS_INCLUDE_REGEX", NULL, ",", TC_T_LIST,
                            TC_F_REPEAT | TC_F_NOFIELD, NULL, NOOFF, 0, 0, NULL,
                            "harpoon host regex"},
    [TC_K_HARPOON_LOOPBACK] = {TC_K_HARPOON_LOOPBACK,
                               "harpoon.hosts_include_loopback",
                               "harpoon.hosts-include-loopback", NULL,
                               "HARPOON_HOSTS_INCLUDE_LOOPBACK", NULL, NULL,
                               TC_T_BOOL, TC_F_NOFIELD, "true", NOOFF, 0, 0,
                               NULL, "harpoon loopback switch"},
    [TC_K_HARPOON_PRIVATE] = {TC_K_HARPOON_PRIVATE,
                              "harpoon.hosts_include_private",
                              "harpoon.hosts-include-private", NULL,
                              "HARPOON_HOSTS_INCLUDE_PRIVATE", NULL, NULL,
                              TC_T_BOOL, TC_F_NOFIELD, "true", NOOFF, 0, 0,
                              NULL, "harpoon private-network switch"},
    [TC_K_HARPOON_CAPTURE] = {TC_K_HARPOON_CAPTURE, "harpoon.capture_payloads",
                              "harpoon.capture-payloads", NULL,
                              "HARPOON_CAPTURE_PAYLOADS", NULL, NULL, TC_T_BOOL,
                              TC_F_NOFIELD, "false", NOOFF, 0, 0, NULL,
                              "harpoon payload capture switch"},

    /* cloudflared: accepted and kept in `effective` only */
    [TC_K_CF_TOKEN] = {TC_K_CF_TOKEN, "cloudflared.token", "cloudflared.token",
                       NULL, "CLOUDFLARED_TUNNEL_TOKEN", NULL, NULL, TC_T_STR,
                       TC_F_NOFIELD | TC_F_SECRET | TC_F_REF_ONLY, NULL, NOOFF,
                       0, 0, NULL, "cloudflared token"},
    [TC_K_CF_MANAGED] = {TC_K_CF_MANAGED, "cloudflared.managed",
                         "cloudflared.managed", NULL, "CLOUDFLARED_MANAGED",
                         NULL, NULL, TC_T_BOOL, TC_F_NOFIELD, "false", NOOFF, 0,
                         0, NULL, "cloudflared managed switch"},
    [TC_K_CF_PATH] = {TC_K_CF_PATH, "cloudflared.path", "cloudflared.path",
                      NULL, "CLOUDFLARED_PATH", NULL, NULL, TC_T_STR,
                      TC_F_NOFIELD, NULL, NOOFF, 0, 0, NULL,
                      "cloudflared path"},
    [TC_K_CF_READY_TIMEOUT] = {TC_K_CF_READY_TIMEOUT,
                               "cloudflared.ready_timeout",
                               "cloudflared.ready-timeout", NULL,
                               "CLOUDFLARED_READY_TIMEOUT", NULL, NULL,
                               TC_T_DUR, TC_F_NOFIELD, "30s", NOOFF, 1,
                               INT64_MAX, NULL, "cloudflared ready timeout"},

    /* modules */
    [TC_K_MODULES] = {TC_K_MODULES, "modules", "module", NULL, NULL, NULL, NULL,
                      TC_T_MODULES, TC_F_REPEAT, NULL, NOOFF, 0, 0, NULL,
                      "module"},
    [TC_K_MODULE_DIRS] = {TC_K_MODULE_DIRS, NULL, "modules.dir", NULL,
                          "TUNNEL_CLIENT_MODULE_PATH", NULL, ":", TC_T_DIRS,
                          TC_F_REPEAT | TC_F_NO_YAML, NULL, NOOFF, 0, 0, NULL,
                          "module directory"},
};

const struct tc_cfg_key *tc_cfg_key_by_id(int id) {
  if (id < 0 || id >= TC_K_COUNT)
    return NULL;
  return &keys[id];
}

const struct tc_cfg_key *tc_cfg_key_by_flag(const char *name, size_t len,
                                            bool *is_alias) {
  for (size_t i = 0; i < TC_K_COUNT; i++) {
    const struct tc_cfg_key *k = &keys[i];
    if (strlen(k->flag) == len && memcmp(k->flag, name, len) == 0) {
      *is_alias = false;
      return k;
    }
    if (k->alias != NULL && strlen(k->alias) == len &&
        memcmp(k->alias, name, len) == 0) {
      *is_alias = true;
      return k;
    }
  }
  return NULL;
}

const struct tc_cfg_key *tc_cfg_key_by_yaml(const char *yaml) {
  for (size_t i = 0; i < TC_K_COUNT; i++)
    if (keys[i].yaml != NULL && strcmp(keys[i].yaml, yaml) == 0)
      return &keys[i];
  return NULL;
}

const char *tc_cfg_flag_suggest(const char *name) {
  const char *best = NULL;
  int best_d = 4; /* suggest only close matches */
  for (size_t i = 0; i < TC_K_COUNT; i++) {
    int d = tc_cfg_edit_distance(name, keys[i].flag);
    if (d < best_d) {
      best_d = d;
      best = keys[i].flag;
    }
  }
  return best;
}
