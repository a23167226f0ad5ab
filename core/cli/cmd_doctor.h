/* cli/cmd_doctor.h — the pieces of `doctor` (and `init`'s stdio preflight):
 * the stdio command lookup, the network probes of the MCP target, the
 * health-listener bind test and the progress spinner.
 *
 * Errors: -1 with *err set to one malloc()ed line (NULL on ENOMEM); no
 * secret (header values, credentials in URLs) is ever put into a line.
 * Threads: main thread, except the spinner's own thread. */
#ifndef TC_CLI_CMD_DOCTOR_H
#define TC_CLI_CMD_DOCTOR_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"

/* Split a command line like the stdio transport does (spaces separate
 * words; '...', "..." and backslash quote). 0 with a NULL-terminated
 * malloc()ed argv, -1 with *why static. */
int tc_exec_split(const char *cmd, char ***argv, const char **why);
void tc_exec_argv_free(char **argv);

/* Preflight a stdio command: its program is found (PATH lookup for a bare
 * name), is a regular executable file, its #! interpreter exists, and
 * shell/interpreter/env wrappers are followed (up to depth 4) to the
 * program or script they start. 0 with *resolved (malloc()ed path of the
 * first program), -1 with *err. */
int tc_exec_preflight(const char *cmd, char **resolved, char **err);

/* Result of one network probe, for the doctor's report. */
struct tc_probe_result {
  bool ok;
  char *summary;     /* malloc()ed one line */
  char *evidence[6]; /* malloc()ed lines, NULL-terminated early */
  size_t n_evidence;
};
void tc_probe_result_free(struct tc_probe_result *r);

/* GET the MCP URL (2 s); any HTTP status passes. When HTTP fails, a 2 s
 * TCP connect to host:port decides. */
void tc_probe_mcp_reachable(const struct tc_config *cfg,
                            const struct tc_binding_cfg *b,
                            struct tc_probe_result *out);
/* OAuth discovery (5 s in all): Protected Resource Metadata, then the
 * first authorization server's metadata. Passes when every candidate
 * answers 404 (no OAuth) or when both documents are found. */
void tc_probe_oauth_metadata(const struct tc_config *cfg,
                             const struct tc_binding_cfg *b,
                             struct tc_probe_result *out);
/* Start a stdio MCP command as the agent would (same split, descriptors
 * 0-2 only, the environment without the agent's secrets), send one
 * initialize request and wait up to timeout_ms for its reply. Passes on a
 * reply with a result; fails when the process cannot start, exits or
 * closes stdout first, answers with an error, or stays silent. The
 * evidence names the pid and, on failure, its last stderr lines (redacted).
 * The process is then stopped (stdin closed, SIGTERM, SIGKILL after 1 s). */
void tc_probe_stdio_start(const struct tc_config *cfg,
                          const struct tc_binding_cfg *b, int timeout_ms,
                          struct tc_probe_result *out);
/* Bind the health listener for real and close it again. */
void tc_probe_health_bind(const struct tc_config *cfg,
                          struct tc_probe_result *out, char **ui_url);

/* A spinner on stderr while a slow check runs; no-op when !enabled. */
struct tc_progress;
struct tc_progress *tc_progress_start(const char *label, bool enabled);
/* Stop, erase the spinner line, free. NULL is a no-op. */
void tc_progress_stop(struct tc_progress *p);

#endif /* TC_CLI_CMD_DOCTOR_H */
