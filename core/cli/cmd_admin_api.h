/* cli/cmd_admin_api.h — what `admin`, `admin-profiles` and `runtimes` share:
 * a small flag parser, the admin-key rules (reference/cli.md §8) and one
 * management API request with its error rendering.
 *
 * Key rules: an admin key comes from --admin-key env:NAME|file:PATH (a
 * literal is refused), an admin profile's reference, or OPENAI_ADMIN_KEY
 * (trimmed, non-empty). The runtime key (CONTROL_PLANE_API_KEY /
 * OPENAI_API_KEY) is only ever a fallback for read-only requests, never for
 * writes. Keys are never printed. Main thread only (reads the environment,
 * prints). */
#ifndef TC_CLI_CMD_ADMIN_API_H
#define TC_CLI_CMD_ADMIN_API_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* ---- flags ----------------------------------------------------------------
 */

enum tc_opt_kind { TC_OPT_STR, TC_OPT_BOOL, TC_OPT_LIST };

struct tc_strlist {
  char **items; /* borrowed from argv */
  size_t n;
};

/* One flag: STR -> char ** (`--x V` or `--x=V`), BOOL -> bool * (`--x`,
 * `--x=true|false`), LIST -> struct tc_strlist * (repeatable STR). */
struct tc_opt {
  const char *name;
  enum tc_opt_kind kind;
  void *dst;
};

/* Parse argv: flags anywhere, other words into pos[0..maxpos). --help/-h
 * sets *help and stops. Returns 0, or -1 after printing one line
 * "<cmd>: ..." on stderr. */
int tc_opts_parse(const char *cmd, const struct tc_opt *opts, size_t nopts,
                  int argc, char **argv, char **pos, size_t maxpos,
                  size_t *npos, bool *help);
void tc_strlist_free(struct tc_strlist *l); /* frees the array only */

/* One error line on stderr: "<cmd>: <msg>". Returns 1 (the exit code). */
int tc_cli_fail(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- keys ---------------------------------------------------------------- */

/* "env:NAME" or "file:PATH" (case-insensitive prefix). */
bool tc_key_ref_ok(const char *ref);
/* Resolve a reference to the key (malloc()ed) or NULL with *err (one
 * line naming the reference and `what`, never the value). */
char *tc_key_ref_resolve(const char *ref, const char *what, char **err);
/* True when ref names the runtime key's variables (env:CONTROL_PLANE_API_KEY,
 * env:OPENAI_API_KEY). */
bool tc_key_ref_is_runtime(const char *ref);

/* ---- the management API ---------------------------------------------------
 */

struct tc_admin_api {
  char *base;      /* origin + url-path, no trailing '/' */
  char *key;       /* bearer; never printed */
  char *key_src;   /* where the key came from (a reference or env var name) */
  long timeout_ms; /* per request; 0 = 30 s */
};
void tc_admin_api_clear(struct tc_admin_api *a);

/* Fill base from the flag (may be NULL), then $CONTROL_PLANE_BASE_URL,
 * then profile_base (may be NULL), then https://api.openai.com; url-path
 * likewise from its flag, $CONTROL_PLANE_URL_PATH, profile_path. Returns 0
 * or -1 with *err. */
int tc_admin_api_base(struct tc_admin_api *a, const char *flag_base,
                      const char *flag_path, const char *profile_base,
                      const char *profile_path, char **err);

/* Pick the key: flag_ref (must be env:/file:), else profile_ref, else
 * OPENAI_ADMIN_KEY; when none and allow_runtime_fallback, then
 * CONTROL_PLANE_API_KEY, OPENAI_API_KEY. write=true refuses a reference to
 * (or the value of) the runtime key. Returns 0 or -1 with *err. */
int tc_admin_api_key(struct tc_admin_api *a, const char *flag_ref,
                     const char *profile_ref, bool allow_runtime_fallback,
                     bool write, char **err);

struct tc_admin_reply {
  long status;      /* 0 when no HTTP reply arrived */
  json_t *json;     /* parsed body (object) or NULL */
  char *request_id; /* X-Request-Id or NULL */
  char *transport;  /* transport error line when status == 0 */
};
void tc_admin_reply_clear(struct tc_admin_reply *r);

/* One request (30 s timeout) with the §8 headers; body may be NULL (else
 * JSON, borrowed). route is "/v1/..." plus an optional escaped query.
 * Returns 0 when a 2xx JSON object came back, else -1 (see reply). */
int tc_admin_request(const struct tc_admin_api *a, const char *method,
                     const char *route, const json_t *body,
                     struct tc_admin_reply *out);

/* Render a failed request: text on stderr ("request M PATH failed: STATUS
 * code: msg mitigation: ... (x-request-id: ...)") or, with json, the
 * {"error":{...}} object on stdout. Returns 1. */
int tc_admin_render_error(const char *method, const char *route,
                          const struct tc_admin_reply *r, bool json);

/* Print a JSON value (stolen) pretty with a newline on stdout. */
void tc_print_json(json_t *v);

/* URL-escape a query/path component (malloc()ed, NULL on ENOMEM). */
char *tc_url_escape(const char *s);

#endif /* TC_CLI_CMD_ADMIN_API_H */
