/* util/child_env.h — the environment a child process of the agent (a stdio
 * MCP server) starts with: the agent's own, without the agent's secrets.
 *
 * Withheld: CONTROL_PLANE_API_KEY, OPENAI_API_KEY, OPENAI_ADMIN_KEY, plus
 * every name the configuration registers with tc_child_env_withhold() (the
 * variables behind secret settings and the NAME of each env:NAME reference
 * that a secret setting resolved). A name the operator lists in
 * --mcp.command-pass-env is passed all the same.
 *
 * Threads: tc_child_env_withhold() may run on any thread (a mutex guards
 * the list); the rest reads it under the same mutex. */
#ifndef TC_UTIL_CHILD_ENV_H
#define TC_UTIL_CHILD_ENV_H

#include <stddef.h>

/* Withhold `name` (copied; NULL or "" ignored) from children from now on.
 * Returns 0, or -1 on ENOMEM. */
int tc_child_env_withhold(const char *name);

/* 1 when `name` is withheld (fixed list or registered), else 0. */
int tc_child_env_is_withheld(const char *name);

/* A NULL-terminated copy of `env` (e.g. environ) without the withheld
 * variables, except those named in pass[0..npass). malloc()ed, one block:
 * free() it once. NULL on ENOMEM. */
char **tc_child_env_build(char *const *env, char *const *pass, size_t npass);

/* Names present in `env` that tc_child_env_build() would drop, joined with
 * ", " (malloc()ed; "" when none; NULL on ENOMEM), for one log line. */
char *tc_child_env_dropped(char *const *env, char *const *pass, size_t npass);

#endif /* TC_UTIL_CHILD_ENV_H */
