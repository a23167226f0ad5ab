/* cli/cmd_runtimes_internal.h — internal to `runtimes` (cmd_runtimes*.c):
 * process supervision (cmd_runtimes_proc.c), health probing and the wait
 * with its progress line (cmd_runtimes_probe.c). Main thread only. */
#ifndef TC_CLI_CMD_RUNTIMES_INTERNAL_H
#define TC_CLI_CMD_RUNTIMES_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

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

#endif /* TC_CLI_CMD_RUNTIMES_INTERNAL_H */
