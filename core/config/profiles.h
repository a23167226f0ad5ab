/* config/profiles.h — which YAML profile a command reads, and where named
 * profiles live (reference/cli.md §3). Used by tc_config_load() and by the
 * commands that manage profiles.
 *
 * Selection: --config PATH, --profile NAME and --profile-file PATH.yaml are
 * pairwise exclusive and may not be empty; any of them overrides the env
 * vars TUNNEL_CLIENT_CONFIG / TUNNEL_CLIENT_PROFILE /
 * TUNNEL_CLIENT_PROFILE_FILE (which are pairwise exclusive themselves, an
 * empty one counting as unset). A name resolves to <dir>/<name>.yaml.
 *
 * Directory: --profile-dir > $TUNNEL_CLIENT_PROFILE_DIR >
 * $XDG_CONFIG_HOME/tunnel-client > $HOME/.config/tunnel-client.
 *
 * Errors: -1 with *err set to one malloc()ed line. Main thread only (reads
 * the environment). */
#ifndef TC_CONFIG_PROFILES_H
#define TC_CONFIG_PROFILES_H

#include <stdbool.h>

/* The selection flags as given; NULL = not given, "" = given empty. */
struct tc_profile_flags {
  const char *config;
  const char *profile;
  const char *profile_file;
  const char *profile_dir;
};

/* Profile names: ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$ */
bool tc_profile_name_ok(const char *name);

/* The profile directory (malloc()ed into *out). */
int tc_profile_dir(const char *flag_dir, char **out, char **err);

/* "<dir>/<name>.yaml" for a valid name (malloc()ed into *out). */
int tc_profile_path(const char *dir, const char *name, char **out, char **err);

/* Decide the profile file. *path = NULL when no profile is selected; *name
 * is the profile name when selected by name (else NULL). Both malloc()ed.
 * A named profile that does not exist is an error; explicit paths are
 * checked when read. */
int tc_profile_select(const struct tc_profile_flags *f, char **path,
                      char **name, char **err);

#endif /* TC_CONFIG_PROFILES_H */
