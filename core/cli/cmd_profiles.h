/* cli/cmd_profiles.h — what `profiles`, `init` and `doctor` share: the
 * compiled-in sample profiles, rendering one into YAML, validating a
 * profile file with the real loader, and writing profile files safely.
 *
 * Files: profile directories are created 0700, profile files 0600; an
 * existing file is never replaced unless `force` (then atomically).
 * Errors: -1 with *err set to one malloc()ed line (NULL on ENOMEM).
 * Main thread only (validation reads the environment). */
#ifndef TC_CLI_CMD_PROFILES_H
#define TC_CLI_CMD_PROFILES_H

#include <stdbool.h>
#include <stddef.h>

/* Which MCP target a sample takes. */
enum tc_sample_target {
  TC_SAMPLE_URL_OR_COMMAND = 0, /* exactly one of the two */
  TC_SAMPLE_COMMAND = 1,        /* --mcp-command only */
  TC_SAMPLE_URL = 2             /* --mcp-server-url only */
};

struct tc_sample {
  const char *name;
  const char *summary;
  const char *use_when;
  const char *required;
  const char *optional;
  const char *notes;
  int target;      /* enum tc_sample_target */
  bool enterprise; /* adds ca_bundle and http_proxy references */
};

/* The samples, sorted by name. */
size_t tc_sample_count(void);
const struct tc_sample *tc_sample_at(size_t i);
/* NULL when unknown. */
const struct tc_sample *tc_sample_find(const char *name);
/* "a, b, c": the names, for error lines. Static. */
const char *tc_sample_names(void);

#define TC_SAMPLE_DEFAULT "sample_mcp_with_dcr"
#define TC_SAMPLE_EXAMPLE_TUNNEL_ID "tunnel_0123456789abcdef0123456789abcdef"
#define TC_SAMPLE_EXAMPLE_URL "https://mcp.example.com/mcp"
#define TC_SAMPLE_EXAMPLE_COMMAND                                              \
  "npx -y @modelcontextprotocol/server-everything"
#define TC_DEFAULT_BASE_URL "https://api.openai.com"
#define TC_DEFAULT_API_KEY_REF "env:CONTROL_PLANE_API_KEY"
#define TC_DEFAULT_HEALTH_ADDR "127.0.0.1:8080"

/* The values a sample is rendered with. NULL url_path = none; exactly one
 * of mcp_server_url / mcp_command is set (the caller checks the sample's
 * target rule with tc_sample_check_target()). */
struct tc_sample_values {
  const char *tunnel_id;
  const char *base_url;
  const char *url_path;
  const char *api_key_ref;
  const char *mcp_server_url;
  const char *mcp_command;
  const char *health_listen_addr;
  bool open_browser;
};

/* 0 when the target flags suit the sample, else -1 with *err naming the
 * flag to give or drop. */
int tc_sample_check_target(const struct tc_sample *s,
                           const struct tc_sample_values *v, char **err);

/* The profile YAML (malloc()ed; NULL on ENOMEM). */
char *tc_sample_render(const struct tc_sample *s,
                       const struct tc_sample_values *v);

/* Render sample `s` with `v`, check the values and the result with the
 * loader, and write it as profile `name` in `flag_dir` (or the default
 * directory). `preflight` also requires a stdio command's executable to be
 * found. On success *path_out (malloc()ed) is the file and *note an
 * optional remark (see tc_profile_validate_file). */
int tc_sample_write_profile(const struct tc_sample *s,
                            const struct tc_sample_values *v,
                            const char *flag_dir, const char *name, bool force,
                            bool preflight, char **path_out, char **note,
                            char **err);

/* Validate a profile file with the configuration loader (strict schema,
 * every value checked). An env:/file: reference that does not resolve in
 * this environment is not an error (it resolves where the profile runs):
 * *note (when not NULL) is then set to that line, else NULL.
 * Returns 0 valid, -1 with *err. */
int tc_profile_validate_file(const char *path, char **err, char **note);

/* Validate YAML text by writing it to a private temporary .yaml file. */
int tc_profile_validate_text(const char *text, char **err, char **note);

/* Create `dir` (and missing parents) with mode 0700. */
int tc_profile_mkdir(const char *dir, char **err);

/* Write `text` to `path` (mode 0600) in `dir` (created 0700). Without
 * force an existing file is an error naming --force; with force the file
 * is replaced atomically. */
int tc_profile_write(const char *dir, const char *path, const char *text,
                     bool force, char **err);

/* Read a whole (small) file; malloc()ed, NUL-terminated. */
int tc_profile_read_text(const char *path, char **out, char **err);

/* Resolve the profile directory and the file of profile `name`. */
int tc_profile_locate(const char *flag_dir, const char *name, char **dir,
                      char **path, char **err);

/* One-line error on stderr ("tunnel-client <cmd>: <err>"), frees err,
 * returns 1. */
int tc_prof_fail(const char *cmd, char *err);

/* Does argv[i] equal --help / -h anywhere? */
bool tc_prof_wants_help(int argc, char **argv);

/* A command's own flag for tc_prof_parse(): "--name VALUE", "--name=VALUE",
 * or a boolean "--name" / "--name=true|false". */
struct tc_prof_opt {
  const char *name;   /* without dashes */
  const char **value; /* valued flag: borrowed from argv (last one wins) */
  bool *flag;         /* boolean flag */
};

/* Parse argv against opts (terminated by {NULL}); other words go to
 * *pos (malloc()ed array of borrowed strings, caller frees). Unknown flags
 * and missing values are errors. */
int tc_prof_parse(int argc, char **argv, const struct tc_prof_opt *opts,
                  char ***pos, size_t *npos, char **err);

#endif /* TC_CLI_CMD_PROFILES_H */
