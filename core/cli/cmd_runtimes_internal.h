/* cli/cmd_runtimes_internal.h — internal to `runtimes` (cmd_runtimes*.c):
 * process supervision (cmd_runtimes_proc.c), health probing and the wait
 * with its progress line (cmd_runtimes_probe.c), the record files and the
 * view of one runtime (cmd_runtimes_view.c), the admin API and tunnel
 * lookups (cmd_runtimes_create.c), and one entry point per subcommand
 * (cmd_runtimes_{connect,create,status_list,stop_rm,cleanup}.c), called
 * by the dispatch in cmd_runtimes.c. Main thread only. */
#ifndef TC_CLI_CMD_RUNTIMES_INTERNAL_H
#define TC_CLI_CMD_RUNTIMES_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cli/cmd_admin_api.h"

/* ---- processes (cmd_runtimes_proc.c) --------------------------------------
 */

/* Start argv[0] with argv as a detached child: own session and process
 * group (setsid), stdin /dev/null, stdout+stderr appended to log_path
 * (0600), no other descriptors. Returns the pid (still our child until we
 * exit) or -1 with *err. */
pid_t tc_rt_spawn(char *const argv[], const char *log_path, char **err);

/* The kernel's start time of pid (clock ticks since boot, /proc/PID/stat
 * field 22) as a decimal string into buf; "" when unknown. */
void tc_rt_proc_start_ticks(pid_t pid, char *buf, size_t len);

/* Liveness of a recorded process: 1 running (pid exists, not a zombie and
 * its start time equals start_ticks when that is known), 0 gone, -1 the
 * pid now belongs to another program (why gets a description). */
int tc_rt_proc_check(pid_t pid, const char *start_ticks, char *why,
                     size_t whylen);

/* SIGTERM to the process group (the whole runtime), wait up to wait_ms
 * for the leader to go, then SIGKILL and wait 1 s more. Reaps our own
 * child. Returns 0 stopped, -1 still alive. */
int tc_rt_proc_stop(pid_t pid, int64_t wait_ms);

/* Non-blocking: 1 when our child pid has exited (*status = wait status). */
int tc_rt_child_exited(pid_t pid, int *status);

/* tmux mode. The server is private to the state root (-L name). */
bool tc_rt_tmux_available(void);
/* Socket name "tunnel-client-<8 hex of sha256(root)>" and session name
 * "tunnel-mcp__<alias>__<8hex>" (malloc()ed). */
char *tc_rt_tmux_socket(const char *root);
char *tc_rt_tmux_session(const char *root, const char *alias);
/* New detached session running argv; env_names (NULL-terminated, may be
 * NULL) are copied from our environment into the session by tmux itself
 * (update-environment), so no value appears on a command line. Returns the
 * pane's pid or -1 with *err. */
pid_t tc_rt_tmux_start(const char *socket, const char *session,
                       char *const argv[], const char *const env_names[],
                       char **err);
bool tc_rt_tmux_has(const char *socket, const char *session);
int tc_rt_tmux_kill(const char *socket, const char *session);

/* ---- probes (cmd_runtimes_probe.c) ----------------------------------------
 */

struct tc_rt_probe {
  char *base_url;    /* from the health URL file; NULL when absent */
  int healthz;       /* HTTP status, 0 = no answer */
  int readyz;        /* HTTP status, 0 = no answer */
  char *readyz_body; /* first line of the /readyz body (trimmed) */
  bool healthy, ready;
};
void tc_rt_probe_clear(struct tc_rt_probe *p);
/* Read the URL file and probe /healthz then /readyz (500 ms each). */
void tc_rt_probe_run(const char *url_file, struct tc_rt_probe *p);
/* "stopped" | "starting" | "healthy" | "ready" */
const char *tc_rt_state_name(bool running, const struct tc_rt_probe *p);

enum tc_rt_wait_result {
  TC_RT_WAIT_READY,
  TC_RT_WAIT_HEALTHY, /* healthy; ready not reached (or /readyz absent) */
  TC_RT_WAIT_EXITED,  /* the child exited; *exit_status set */
  TC_RT_WAIT_TIMEOUT  /* never healthy */
};
/* Wait up to timeout_ms for the runtime: ready, or healthy with /readyz
 * answering 404 (no readiness endpoint), ends the wait early. child > 0 is
 * watched for an early exit. progress: draw a one-line spinner on stderr
 * (caller decides: a TTY and not --json). The last probe is left in *p. */
enum tc_rt_wait_result tc_rt_wait(const char *alias, const char *url_file,
                                  pid_t child, int64_t timeout_ms,
                                  bool progress, struct tc_rt_probe *p,
                                  int *exit_status);

/* The last n lines of a file as a JSON array of strings (never NULL). */
json_t *tc_rt_tail(const char *path, size_t n);

/* ---- flags, records and views (cmd_runtimes_view.c) ------------------------
 */

/* The flags of every subcommand (cmd_runtimes.c parses them); strings are
 * borrowed from argv, the lists' arrays owned by the dispatch. */
struct tc_rt_flags {
  char *alias, *tunnel_id, *profile, *profile_dir, *mcp_url, *mcp_cmd;
  char *runtime_key, *name, *description, *bin, *mode, *wait;
  char *admin_profile, *admin_key, *base, *path;
  struct tc_strlist orgs, wss, tenants;
  bool json, embedded, apply, help;
  char *pos[1];
  size_t npos;
};

/* The two record files of the state root, loaded. */
struct tc_rt_ctx {
  char *root;
  char *aliases_path, *procs_path;
  json_t *aliases; /* the "aliases" object inside aliases_doc */
  json_t *procs;   /* the "processes" object inside procs_doc */
  json_t *aliases_doc, *procs_doc;
};

/* Open: load aliases.yaml and processes.yaml (missing files are empty).
 * Returns 0, or -1 with *err (call tc_rt_ctx_free either way). */
int tc_rt_ctx_open(struct tc_rt_ctx *c, char **err);
/* Write both files back. Returns 0 or -1 with *err (err may be NULL). */
int tc_rt_ctx_save(struct tc_rt_ctx *c, char **err);
void tc_rt_ctx_free(struct tc_rt_ctx *c);

/* The string member k of o, or NULL (o may be NULL). */
const char *tc_rt_sget(const json_t *o, const char *k);
/* p is non-NULL and exists. */
bool tc_rt_file_exists(const char *p);

/* The local view of one runtime: its records (borrowed from the ctx),
 * whether its process or tmux session is alive or its record stale, and
 * the health probe. Clear with tc_rt_probe_clear(&v->probe). */
struct tc_rt_view {
  const char *alias;
  json_t *arec, *prec; /* borrowed; may be NULL */
  bool running, stale;
  char stale_why[160];
  pid_t pid;
  const char *mode;
  struct tc_rt_probe probe;
  const char *state;
};
void tc_rt_view_build(struct tc_rt_ctx *c, const char *alias,
                      struct tc_rt_view *v);
/* The recorded health URL file (borrowed), or NULL. */
const char *tc_rt_view_url_file(const struct tc_rt_view *v);
/* The shared --json payload of a runtime (new reference). */
json_t *tc_rt_view_json(const struct tc_rt_view *v);
/* That payload as text on stdout. */
void tc_rt_view_print(const json_t *o);

/* tc_cli_fail(cmd, err) (NULL err: "out of memory"), then free(err);
 * returns 1. */
int tc_rt_fail_err(const char *cmd, char *err);
/* The normalised alias (malloc()ed), or NULL after printing the error. */
char *tc_rt_alias_arg(const char *cmd, const char *given);
/* The start of the one-alias commands (status, stop, rm): exactly one
 * ALIAS argument, normalised, and the state opened. Returns 0 with *alias
 * (malloc()ed) and *c open, else the exit code after printing the error. */
int tc_rt_open_one_alias(const char *cmd, const struct tc_rt_flags *f,
                         char **alias, struct tc_rt_ctx *c);
/* Every alias known to either record file, sorted (new array). */
json_t *tc_rt_all_aliases(struct tc_rt_ctx *c);
/* Remove an alias's records and its URL and log files (the profile too
 * with with_profile); the removed paths are appended to removed. The
 * records are changed in memory only: save the ctx after. */
void tc_rt_remove_alias(struct tc_rt_ctx *c, const char *alias,
                        bool with_profile, json_t *removed);

/* ---- admin API and tunnels (cmd_runtimes_create.c) -------------------------
 */

/* The saved admin profile for --admin-profile or the alias record
 * (arec may be NULL); *prof NULL when none. Errors are dropped. */
void tc_rt_admin_from_profile(struct tc_rt_ctx *c, const struct tc_rt_flags *f,
                              const json_t *arec, json_t **prof,
                              char **prof_name);
/* Set up the admin API (base + key; write: a key allowed to write) from
 * the flags and the admin profile. Returns 0 or -1 with *err. */
int tc_rt_admin_api_for(struct tc_rt_ctx *c, const struct tc_rt_flags *f,
                        const json_t *arec, bool write,
                        struct tc_admin_api *api, char **prof_name, char **err);
/* Resolve the alias's tunnel with the admin API: reuse the recorded one,
 * else a tunnel with the same name in the scope, else create it. Returns
 * the tunnel object (new reference) or NULL with the error printed. */
json_t *tc_rt_resolve_tunnel(struct tc_rt_ctx *c, const struct tc_rt_flags *f,
                             const char *alias, const json_t *arec,
                             char **prof_name, const char *cmd);
/* GET /v1/tunnels/{id} with a runtime key reference (read-only), on the
 * control plane of the flags, else of arec. Returns the tunnel or NULL
 * with *remote_error (malloc()ed); *status is the HTTP status (0: none). */
json_t *tc_rt_remote_get(const struct tc_rt_flags *f, const json_t *arec,
                         const char *tunnel_id, const char *key_ref,
                         long *status, char **remote_error);

/* ---- subcommands: each returns the exit code ------------------------------
 */

int tc_rt_cmd_connect(struct tc_rt_flags *f); /* cmd_runtimes_connect.c */
int tc_rt_cmd_create(struct tc_rt_flags *f);  /* cmd_runtimes_create.c */
int tc_rt_cmd_status(struct tc_rt_flags *f);  /* cmd_runtimes_status_list.c */
int tc_rt_cmd_list(struct tc_rt_flags *f);    /* cmd_runtimes_status_list.c */
int tc_rt_cmd_stop(struct tc_rt_flags *f);    /* cmd_runtimes_stop_rm.c */
int tc_rt_cmd_rm(struct tc_rt_flags *f);      /* cmd_runtimes_stop_rm.c */
int tc_rt_cmd_cleanup(struct tc_rt_flags *f); /* cmd_runtimes_cleanup.c */

#endif /* TC_CLI_CMD_RUNTIMES_INTERNAL_H */
