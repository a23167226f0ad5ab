/* config/config_internal.h — shared internals of the config subsystem.
 *
 * Not for use outside core/config/. The pieces:
 *   keys.c          the key table (flag, env, YAML names, type, default)
 *   flags.c         argv -> struct tc_cfg_flagset (+ command flags,
 * positionals) profile_source.c which profile file (see profiles.h)
 *   yaml_profile.c  strict YAML reader -> struct tc_cfg_profile (nodes per key)
 *   layers.c        flag > env > YAML > default for one key -> struct
 * tc_cfg_pick refs.c          env:NAME / file:PATH references url.c URL
 * splitting and URL checks for config values validate.c      public validators,
 * durations, numbers, booleans headers_cfg.c   extra header lists bindings.c
 * --mcp.server-url / --mcp.command bindings modules_cfg.c   --module / modules:
 * / --modules.dir rules.c         cross-key rules (pairs, log, channels,
 * required keys) effective.c     effective kvlist, tc_config_get,
 * tc_config_free cfg_text.c      string helpers and the one-line error format
 *   load.c          tc_config_load: runs the above in order
 *
 * Errors everywhere: functions return 0 or -1 and set *err to one malloc()ed
 * line; they never put a secret value into it. */
#ifndef TC_CONFIG_INTERNAL_H
#define TC_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

#include "config/config.h"
#include "tc/module.h" /* TC_PRINTF */

/* ---- key table ----------------------------------------------------------- */

enum tc_key_id {
  TC_K_CONFIG,
  TC_K_PROFILE,
  TC_K_PROFILE_FILE,
  TC_K_PROFILE_DIR,
  TC_K_CP_BASE_URL,
  TC_K_CP_URL_PATH,
  TC_K_CP_TUNNEL_ID,
  TC_K_CP_API_KEY,
  TC_K_CP_ORG_ID,
  TC_K_CP_CLIENT_CERT,
  TC_K_CP_CLIENT_KEY,
  TC_K_CP_HTTP_PROXY,
  TC_K_CP_MAX_INFLIGHT,
  TC_K_CP_POLL_TIMEOUT,
  TC_K_CP_GUARDRAIL,
  TC_K_CP_POLL_CHANNELS,
  TC_K_CP_EXTRA_HEADERS,
  TC_K_CP_RESPONSE_RETRY_BUDGET,
  TC_K_MCP_SERVER_URLS,
  TC_K_MCP_COMMANDS,
  TC_K_MCP_HTTP_PROXY,
  TC_K_MCP_CLIENT_CERT,
  TC_K_MCP_CLIENT_KEY,
  TC_K_MCP_EXTRA_HEADERS,
  TC_K_MCP_DISCOVERY_HEADERS,
  TC_K_MCP_STARTUP_WAIT,
  TC_K_MCP_CONN_TTL,
  TC_K_MCP_MAX_CONCURRENT,
  TC_K_MCP_MAX_REPLY_BUDGET,
  TC_K_MCP_COMMAND_PASS_ENV,
  TC_K_HTTP_PROXY,
  TC_K_CA_BUNDLE,
  TC_K_LOG_LEVEL,
  TC_K_LOG_FORMAT,
  TC_K_LOG_FILE,
  TC_K_LOG_HTTP_RAW,
  TC_K_HEALTH_ADDR,
  TC_K_HEALTH_SOCKET,
  TC_K_HEALTH_URL_FILE,
  TC_K_HEALTH_ALLOWED_HOSTS,
  TC_K_PID_FILE,
  TC_K_SHUTDOWN_GRACE,
  TC_K_ADMIN_ALLOW_REMOTE,
  TC_K_ADMIN_OPEN_BROWSER,
  TC_K_ADMIN_LOG_BUFFER,
  TC_K_PROXY_CHECK,
  TC_K_HARPOON_TARGETS,
  TC_K_HARPOON_PLAINTEXT,
  TC_K_HARPOON_MAX_BYTES,
  TC_K_HARPOON_MAX_REDIRECTS,
  TC_K_HARPOON_HTTP_PROXY,
  TC_K_HARPOON_TRANSPORTS,
  TC_K_HARPOON_SUFFIX,
  TC_K_HARPOON_REGEX,
  TC_K_HARPOON_LOOPBACK,
  TC_K_HARPOON_PRIVATE,
  TC_K_HARPOON_CAPTURE,
  TC_K_CF_TOKEN,
  TC_K_CF_MANAGED,
  TC_K_CF_PATH,
  TC_K_CF_READY_TIMEOUT,
  TC_K_MODULES,
  TC_K_MODULE_DIRS,
  TC_K_COUNT
};

enum tc_key_type {
  TC_T_SELECT = 1, /* profile selection: flag only here, see profiles.h */
  TC_T_STR,        /* char * */
  TC_T_PATH,       /* char *, path reference (env:VAR holds a path) */
  TC_T_INT,        /* int within [min, max] */
  TC_T_DUR,        /* int64_t ms within [min, max] */
  TC_T_BOOL,       /* bool */
  TC_T_LEVEL,      /* log level name -> enum tc_log_level */
  TC_T_FORMAT,     /* log format name -> enum tc_log_format */
  TC_T_LIST,       /* list of strings */
  TC_T_HEADERS,    /* "K: V" entries / YAML map */
  TC_T_URLBIND,    /* MCP server URLs */
  TC_T_CMDBIND,    /* MCP commands */
  TC_T_TARGETS,    /* harpoon targets (kept raw) */
  TC_T_MODULES,    /* --module / modules: */
  TC_T_DIRS,       /* --modules.dir + TUNNEL_CLIENT_MODULE_PATH */
  TC_T_BYTES       /* int64_t byte count within [min, max]; a whole number,
                      optionally with a KiB, MiB or GiB suffix */
};

enum tc_key_flags {
  TC_F_SECRET = 1u << 0,        /* value never printed, effective NULL */
  TC_F_EMPTY_ERR = 1u << 1,     /* env var set but empty is an error */
  TC_F_REF = 1u << 2,           /* env:/file: references resolved */
  TC_F_REF_ONLY = 1u << 3,      /* flag and YAML must be references */
  TC_F_REPEAT = 1u << 4,        /* flag may repeat; values accumulate */
  TC_F_NOFIELD = 1u << 5,       /* accepted and kept in `effective` only */
  TC_F_KEEP_BLANKS = 1u << 6,   /* split env entries keep blanks (errors) */
  TC_F_FLAG_REF_ONLY = 1u << 7, /* only the flag must be a reference */
  TC_F_NO_YAML = 1u << 8        /* no YAML key */
};

/* Checks a (trimmed, resolved) string value; *why is a static explanation
 * that also says what to do. */
typedef int (*tc_cfg_check_fn)(const char *v, const char **why);

struct tc_cfg_key {
  int id;                /* enum tc_key_id */
  const char *yaml;      /* "control_plane.tunnel_id", NULL when none */
  const char *flag;      /* without dashes, "control-plane.tunnel-id" */
  const char *alias;     /* hidden dash alias, or NULL */
  const char *env;       /* env var consulted before YAML, or NULL */
  const char *env_late;  /* env var consulted after YAML, or NULL */
  const char *env_split; /* separators for list env values, or NULL */
  int type;              /* enum tc_key_type */
  unsigned flags;        /* enum tc_key_flags */
  const char *def;       /* textual default, or NULL */
  size_t off;            /* offsetof(struct tc_config, field) */
  int64_t min, max;      /* TC_T_INT / DUR / BYTES bounds (inclusive) */
  tc_cfg_check_fn check; /* TC_T_STR extra check, or NULL */
  const char *what;      /* human name: "control plane tunnel id" */
};

const struct tc_cfg_key *tc_cfg_key_by_id(int id);
/* Lookup by flag name without dashes; *is_alias tells a hidden alias. */
const struct tc_cfg_key *tc_cfg_key_by_flag(const char *name, size_t len,
                                            bool *is_alias);
const struct tc_cfg_key *tc_cfg_key_by_yaml(const char *yaml);
/* The closest flag name to `name` (edit distance), or NULL. */
const char *tc_cfg_flag_suggest(const char *name);

/* ---- text helpers and errors --------------------------------------------- */

char *tc_cfg_strdup(const char *s);
char *tc_cfg_strndup(const char *s, size_t n);
/* Copy of s without leading/trailing ASCII whitespace. */
char *tc_cfg_trimdup(const char *s);
char *tc_cfg_printf(const char *fmt, ...) TC_PRINTF(1, 2);
/* Set *err (if still NULL) to a formatted line; returns -1. */
int tc_cfg_fail(char **err, const char *fmt, ...) TC_PRINTF(2, 3);
/* "<what> in <where>: \"<value>\" (<fix>)"; value NULL = omitted (secret).
 * The value is quoted with control characters escaped. Returns -1. */
int tc_cfg_bad(char **err, const char *what, const char *where,
               const char *value, const char *fix);
/* Case-insensitive ASCII prefix test. */
bool tc_cfg_has_prefix_ci(const char *s, const char *prefix);
int tc_cfg_edit_distance(const char *a, const char *b);

/* ---- flags --------------------------------------------------------------- */

struct tc_cfg_flagvals {
  const char **vals; /* borrowed from argv */
  size_t count;
};

struct tc_cfg_flagset {
  struct tc_cfg_flagvals canon[TC_K_COUNT];
  struct tc_cfg_flagvals alias[TC_K_COUNT];
};

/* Parse argv; see tc_config_load() for extra/positionals. */
int tc_cfg_flags_parse(struct tc_cfg_flagset *fs, int argc, char *const argv[],
                       const struct tc_cmd_flag *extra, char ***positionals,
                       size_t *positional_count, char **err);
void tc_cfg_flags_free(struct tc_cfg_flagset *fs);
/* The flag values that apply for a key (canonical, else alias), with the
 * flag spelling for messages; NULL/0 when not given. */
const struct tc_cfg_flagvals *tc_cfg_flags_get(const struct tc_cfg_flagset *fs,
                                               int id, const char **spelled);

/* ---- profile (YAML) ------------------------------------------------------ */

struct tc_cfg_profile {
  char *path;          /* the file */
  yaml_document_t doc; /* valid when loaded */
  bool loaded;
  yaml_node_t *nodes[TC_K_COUNT]; /* per key; NULL when absent/null */
};

/* Read and strictly check a profile. Returns 0 or -1 with *err. */
int tc_cfg_profile_read(struct tc_cfg_profile *p, const char *path, char **err);
void tc_cfg_profile_free(struct tc_cfg_profile *p);
/* Scalar text of a node (NULL for non-scalars), and its 1-based line. */
const char *tc_cfg_yaml_scalar(const yaml_node_t *n);
int tc_cfg_yaml_line(const yaml_node_t *n);
/* True for a plain null scalar ("", "~", "null"). */
bool tc_cfg_yaml_is_null(const yaml_node_t *n);
/* Value node for `key` inside mapping `map`, or NULL; *line = key line. */
yaml_node_t *tc_cfg_yaml_map_get(const struct tc_cfg_profile *p,
                                 const yaml_node_t *map, const char *key,
                                 int *line);

/* ---- layers -------------------------------------------------------------- */

enum tc_layer { TC_L_NONE = 0, TC_L_FLAG, TC_L_ENV, TC_L_YAML, TC_L_DEFAULT };

struct tc_cfg_item {
  char *text;              /* trimmed text; NULL for YAML mapping items */
  char *where;             /* "--flag", "ENV", "file:line (key)" */
  const yaml_node_t *node; /* YAML node (scalar or mapping), else NULL */
};

struct tc_cfg_pick {
  int layer;          /* enum tc_layer */
  const char *source; /* flag spelling / env name / profile path */
  struct tc_cfg_item *items;
  size_t count;
};

/* Collect the winning layer for one key. Returns 0 or -1 with *err. */
int tc_cfg_pick_key(const struct tc_cfg_key *k, const struct tc_cfg_flagset *fs,
                    const struct tc_cfg_profile *prof, struct tc_cfg_pick *out,
                    char **err);
void tc_cfg_pick_free(struct tc_cfg_pick *p);
/* "<file>:<line> (<key>)" */
char *tc_cfg_yaml_where(const struct tc_cfg_profile *prof, const yaml_node_t *n,
                        const char *key);

/* ---- references ---------------------------------------------------------- */

enum tc_cfg_ref_kind {
  TC_CFG_REF_VALUE = 0, /* env: value / file: contents */
  TC_CFG_REF_PATH = 1   /* env: value is a path / file: names the path itself */
};

/* Resolve `text` (a literal, env:NAME or file:PATH) into *out (malloc()ed).
 * *was_ref tells whether it was a reference. Errors name the reference and
 * `where`, never the resolved value. */
int tc_cfg_ref_resolve(const char *text, int kind, const char *where,
                       char **out, bool *was_ref, char **err);
/* True when text starts with env: or file: (case-insensitive). */
bool tc_cfg_ref_is_ref(const char *text);
/* `text` feeds a secret setting: when it is env:NAME, NAME is withheld from
 * child processes (util/child_env.h). */
void tc_cfg_ref_withhold(const char *text);
/* NAME matches ^[A-Za-z_][A-Za-z0-9_]*$. */
bool tc_cfg_env_name_ok(const char *name);

/* ---- URLs ---------------------------------------------------------------- */

struct tc_cfg_url_parts {
  const char *scheme;
  size_t scheme_len;
  const char *userinfo; /* NULL when absent */
  size_t userinfo_len;
  const char *host; /* without brackets for [v6] */
  size_t host_len;
  const char *port; /* NULL when absent */
  size_t port_len;
  const char *path;
  size_t path_len;
  const char *query;    /* after '?', NULL when absent */
  const char *fragment; /* after '#', NULL when absent */
};

/* Split "scheme://[userinfo@]host[:port][/path][?q][#f]". -1 when it has
 * no "scheme://". */
int tc_cfg_url_split(const char *s, struct tc_cfg_url_parts *p);
/* http(s) URL with a host (MCP server URL). */
int tc_cfg_check_http_url(const char *v, const char **why);
/* Control-plane base URL: http(s), host, no path/query/fragment/userinfo. */
int tc_cfg_check_base_url(const char *v, const char **why);
int tc_cfg_check_url_path(const char *v, const char **why);
int tc_cfg_check_proxy_url(const char *v, const char **why);
/* A copy safe to print: userinfo replaced, query and fragment dropped. */
char *tc_cfg_url_safe(const char *v);
/* True when the URL carries userinfo. */
bool tc_cfg_url_has_userinfo(const char *v);
/* When the URL carries userinfo, register the URL, the userinfo and its
 * password with tc_redact_add_secret(). */
void tc_cfg_url_register_secret(const char *v);

/* ---- validators ---------------------------------------------------------- */

int tc_cfg_parse_bool(const char *v, bool *out);
int tc_cfg_parse_int64(const char *v, int64_t *out);
/* A byte count: digits with an optional KiB/MiB/GiB suffix (a blank between
 * is allowed). 0, or -1 when malformed or beyond int64. */
int tc_cfg_parse_bytes(const char *v, int64_t *out);
int tc_cfg_check_no_crlf(const char *v, const char **why);
/* Parse a log level / format name; -1 when unknown. */
int tc_cfg_parse_log_level(const char *v);
int tc_cfg_parse_log_format(const char *v);
/* Balanced shell-like quotes in a command line. */
int tc_cfg_check_command_line(const char *v, const char **why);

/* ---- typed parts --------------------------------------------------------- */

/* Fill headers for key `k` (one of the *_EXTRA_HEADERS keys). */
int tc_cfg_headers_load(const struct tc_cfg_key *k,
                        const struct tc_cfg_flagset *fs,
                        const struct tc_cfg_profile *prof,
                        struct tc_headers *out, char **err);
/* Fill cfg->bindings from the server-url and command keys. */
int tc_cfg_bindings_load(struct tc_config *cfg, const struct tc_cfg_flagset *fs,
                         const struct tc_cfg_profile *prof, char **err);
/* Parse one textual binding (flag/env form) and append it. */
int tc_cfg_binding_parse_url(struct tc_config *cfg, const char *text,
                             const char *where, char **err);
int tc_cfg_binding_parse_command(struct tc_config *cfg, const char *text,
                                 const char *where, char **err);
/* Fill cfg->modules and cfg->module_dirs. */
int tc_cfg_modules_load(struct tc_config *cfg, const struct tc_cfg_flagset *fs,
                        const struct tc_cfg_profile *prof, char **err);
/* Cross-key rules after every key is filled. */
int tc_cfg_rules_check(struct tc_config *cfg, enum tc_config_mode mode,
                       char **err);

/* ---- effective values ---------------------------------------------------- */

/* Append (key, value or NULL, origin) to a kvlist; replaces an existing key.
 * Returns 0 or -1 on ENOMEM. */
int tc_kvlist_set(struct tc_kvlist *l, const char *key, const char *value,
                  const char *origin);
void tc_kvlist_free(struct tc_kvlist *l);
void tc_cfg_binding_free(struct tc_binding_cfg *b);

#endif /* TC_CONFIG_INTERNAL_H */
