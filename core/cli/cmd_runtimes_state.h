/* cli/cmd_runtimes_state.h — the local state of `runtimes` and
 * `admin-profiles` (reference/cli.md §5): where it lives and how its JSON
 * files are read and written.
 *
 * Root, first match: $TUNNEL_CLIENT_STATE_DIR; an existing legacy dir
 * ($CODEX_HOME/tunnel-mcp, ~/.codex/tunnel-mcp, ~/.tunnel-client);
 * $XDG_STATE_HOME/tunnel-client; ~/.local/state/tunnel-client. Files:
 * aliases.yaml, processes.yaml, admin_profiles.yaml (JSON content), each
 * written 0600 through a temporary file + rename; history.md;
 * health/<alias>.url; logs/<alias>.log. Directories are created 0700.
 * Errors: NULL/-1 with *err (one malloc()ed line). Main thread only. */
#ifndef TC_CLI_CMD_RUNTIMES_STATE_H
#define TC_CLI_CMD_RUNTIMES_STATE_H

#include <jansson.h>

/* The state root (malloc()ed); not created. */
char *tc_rt_state_root(char **err);
/* "<root>/<rel>" (malloc()ed). */
char *tc_rt_path(const char *root, const char *rel);
/* mkdir -p with mode 0700. Returns 0 or -1 with *err. */
int tc_rt_mkdirs(const char *dir, char **err);
/* Load a JSON object file; a missing file gives {}. A file that is not a
 * JSON object is an error naming it. */
json_t *tc_rt_load(const char *path, char **err);
/* Write v (borrowed) pretty-printed, 0600, atomically; creates the parent
 * directory. Returns 0 or -1 with *err. */
int tc_rt_save(const char *path, const json_t *v, char **err);
/* Append "- <RFC3339Z> action=A alias=X tunnel_id=T detail=D" to
 * <root>/history.md (best effort). */
void tc_rt_history(const char *root, const char *action, const char *alias,
                   const char *tunnel_id, const char *detail);
/* Current UTC time as RFC 3339 "YYYY-MM-DDTHH:MM:SSZ" into buf[32]. */
void tc_rt_now(char buf[32]);
/* Alias normalisation: lowercase, '_' -> '-', other invalid characters ->
 * '-', runs collapsed, leading/trailing '-' trimmed; NULL when nothing is
 * left or longer than 64. malloc()ed. */
char *tc_rt_alias_normalize(const char *in);

/* ---- admin profiles (cmd_admin_profiles.c) ------------------------------- */
/* The saved admin profile to use for `runtimes`: name from flag_name, else
 * alias_profile, else $TUNNEL_MCP_ADMIN_PROFILE, else the active profile,
 * else "default". Returns a new reference to the profile object or NULL
 * when none is saved under that name (not an error unless flag_name was
 * given: then NULL with *err). *name_out (may be NULL) gets the name. */
json_t *tc_admin_profile_pick(const char *root, const char *flag_name,
                              const char *alias_profile, char **name_out,
                              char **err);

#endif /* TC_CLI_CMD_RUNTIMES_STATE_H */
