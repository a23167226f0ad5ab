/* config/config.h — the effective configuration of one tunnel-client process.
 *
 * Layering, per key: explicitly set flag > non-empty environment variable >
 * YAML profile > default, with the official client's names (flag, env, YAML).
 * Values may be `env:NAME` / `file:PATH` references where the reference says
 * so; they are resolved at load time. Validation errors are one actionable
 * line naming the key and its source (flag, env var, or file:line) and never
 * contain a secret value.
 *
 * Threads: loaded on the main thread before anything starts; read-only after.
 * Ownership: everything inside struct tc_config is owned by it and released
 * by tc_config_free(). */
#ifndef TC_CONFIG_CONFIG_H
#define TC_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tc/headers.h"

enum tc_log_format {
  TC_LOG_FORMAT_DEFAULT = 0, /* "YYYY/MM/DD hh:mm:ss LEVEL msg k=v" */
  TC_LOG_FORMAT_TEXT = 1,    /* struct-text: time=… level=… msg=… k=v */
  TC_LOG_FORMAT_JSON = 2     /* one JSON object per line */
};

/* One MCP binding (a channel served by a transport). */
struct tc_binding_cfg {
  char *channel; /* canonical: lowercase, ^[a-z0-9_-]{1,64}$, "main" default */
  char *transport; /* "http" (server-url) or "stdio" (command), or a module's */
  char *url;       /* http */
  char *unix_socket; /* http, optional */
  char *http_proxy;  /* http, optional */
  char *client_cert; /* http, optional (pair with client_key) */
  char *client_key;
  char *command; /* stdio: the raw command line (shell-like quoting) */
};

/* One module the profile or --module asked for. */
struct tc_module_req {
  char *spec;   /* a module name ("mcp-http") or a path to a .so */
  char *origin; /* "--module", or "<profile file>:<line>" */
  struct tc_kvlist *settings; /* the entry's `config:` map, or NULL */
};

/* A key/value list with source locations (module config maps). */
struct tc_kv {
  char *key;
  char *value;
  char *origin; /* "<file>:<line>" */
};
struct tc_kvlist {
  size_t count;
  struct tc_kv *items;
};

struct tc_config {
  /* Where the profile came from (NULL when none). */
  char *profile_path; /* resolved YAML file */
  char *profile_name; /* --profile name, if any */

  /* control plane */
  char *cp_base_url;  /* default https://api.openai.com */
  char *cp_url_path;  /* "" or "/prefix" */
  char *cp_tunnel_id; /* ^tunnel_[a-z0-9]{32}$ */
  char *cp_api_key;   /* SECRET: never log, never print */
  char *cp_organization_id;
  char *cp_client_cert, *cp_client_key;
  char *cp_http_proxy;
  int cp_max_inflight;                   /* 1..10000, default 20 */
  int64_t cp_poll_timeout_ms;            /* > 0, default 30000 */
  int64_t cp_poll_deadline_guardrail_ms; /* (0, 60000), default 5000 */
  char **cp_poll_channels; /* canonical, unique; NULL = unscoped */
  size_t cp_poll_channel_count;
  struct tc_headers cp_extra_headers; /* values resolved (may be secret) */
  /* How long a terminal response POST is retried when its command has no
   * deadline: 1s..1h, default 60s. */
  int64_t cp_response_retry_budget_ms;

  /* MCP */
  struct tc_binding_cfg *bindings; /* config order */
  size_t binding_count;
  char *mcp_http_proxy;
  char *mcp_client_cert, *mcp_client_key;
  struct tc_headers mcp_extra_headers;
  struct tc_headers mcp_discovery_extra_headers;
  int64_t mcp_startup_wait_timeout_ms; /* >= 0, default 0 */
  int64_t mcp_connection_max_ttl_ms;   /* > 0, default 600000 */
  int mcp_max_concurrent;              /* > 0, default 10 */
  /* bytes of MCP replies held at once, all channels (default 256 MiB) */
  int64_t mcp_max_inflight_reply_bytes;
  /* Variables passed to stdio children although the agent withholds them
   * (util/child_env.h): --mcp.command-pass-env, unique names. */
  char **mcp_command_pass_env;
  size_t mcp_command_pass_env_count;

  /* network */
  char *http_proxy; /* --http-proxy / TUNNEL_CLIENT_HTTP_PROXY / http_proxy */
  char *ca_bundle;  /* path after env:/file: resolution */

  /* logging */
  int log_level;  /* enum tc_log_level from tc/host.h; default info */
  int log_format; /* enum tc_log_format */
  char *log_file; /* NULL = stdout */
  bool log_http_raw_unsafe;

  /* ops listener and process files */
  char *health_listen_addr; /* default 127.0.0.1:8080; port 0 = ephemeral */
  char *health_unix_socket; /* replaces TCP when set */
  char *health_url_file;
  /* --health.allowed-hosts: validated entries (util/host_pattern.h), in
   * order; Host names the admin routes answer besides the listener's own */
  char **health_allowed_hosts;
  size_t health_allowed_host_count;
  char *pid_file;
  int64_t shutdown_grace_ms; /* drain time at SIGTERM, 0..10m, default 15s */

  /* admin UI */
  bool allow_remote_ui;
  bool open_web_ui;
  int log_buffer_events;           /* 1..100000, default 2000 */
  int64_t proxy_check_interval_ms; /* > 0, default 60000 */

  /* modules */
  char **module_dirs; /* --modules.dir (repeatable), then
                         TUNNEL_CLIENT_MODULE_PATH entries */
  size_t module_dir_count;
  struct tc_module_req *modules; /* empty = load the built-ins */
  size_t module_count;

  /* Every effective value by YAML key ("control_plane.tunnel_id"), for
   * host->config_get(); secrets are stored as NULL. Internal. */
  struct tc_kvlist effective;
};

/* What the calling command needs validated. */
enum tc_config_mode {
  TC_CONFIG_LENIENT =
      0,            /* modules, doctor-style inspection: no required keys */
  TC_CONFIG_RUN = 1 /* run: tunnel id, API key and a main binding required */
};

/* A flag that belongs to the calling command rather than to the config
 * (e.g. `--json`). Boolean flags set *bool_out; valued flags set *value_out
 * (borrowed from argv). */
struct tc_cmd_flag {
  const char *name; /* without dashes, e.g. "json" */
  bool takes_value;
  bool *bool_out;
  const char **value_out;
};

/* Parse argv (the arguments after the command words), the environment and
 * the selected profile into *cfg. Unknown flags are errors. Non-flag
 * arguments are collected into *positionals (borrowed from argv; the array
 * is malloc()ed, caller frees) when positionals != NULL, else an error.
 * Returns 0, or -1 with *err set to one malloc()ed actionable line.
 * On error *cfg is left freed (safe to call tc_config_free again). */
int tc_config_load(struct tc_config *cfg, int argc, char *const argv[],
                   enum tc_config_mode mode, const struct tc_cmd_flag *extra,
                   char ***positionals, size_t *positional_count, char **err);

/* Release everything owned by *cfg and zero it. */
void tc_config_free(struct tc_config *cfg);

/* Effective value by YAML key, NULL when unset or secret. Borrowed. */
const char *tc_config_get(const struct tc_config *cfg, const char *yaml_key);

/* Shared validators (also used by other commands). Each returns 0 when
 * valid, else -1 with *why set to a static explanation. */
int tc_validate_tunnel_id(const char *v, const char **why);
int tc_validate_api_key(const char *v, const char **why);
int tc_validate_listen_addr(const char *v, const char **why);
/* Canonicalise a channel name in place (trim, lowercase, "" -> "main"
 * requires a buffer of at least 5 bytes). */
int tc_channel_canonical(const char *in, char *out, size_t outlen,
                         const char **why);
/* Go-style duration ("30s", "4500ms", "1m30s", "0") to milliseconds. */
int tc_parse_duration_ms(const char *v, int64_t *out_ms, const char **why);

#endif /* TC_CONFIG_CONFIG_H */
