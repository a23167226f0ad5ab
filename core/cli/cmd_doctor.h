/* cli/cmd_doctor.h — the pieces of `doctor` (and `init`'s stdio preflight):
 * the stdio command lookup, the network stack as `run` builds it, the
 * network probes of the control plane and the MCP target (made through
 * that stack) with what a failure means, the health-listener bind test and
 * the progress spinner.
 *
 * Errors: -1 with *err set to one malloc()ed line (NULL on ENOMEM); no
 * secret (header values, credentials in URLs) is ever put into a line.
 * Threads: main thread, except the spinner's own thread. */
#ifndef TC_CLI_CMD_DOCTOR_H
#define TC_CLI_CMD_DOCTOR_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "tc/module.h" /* TC_PRINTF */

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
  char *evidence[6]; /* malloc()ed lines */
  size_t n_evidence;
  char *next[4]; /* malloc()ed next steps specific to what was found; the
                    check adds its general ones after these */
  size_t n_next;
};
void tc_probe_result_free(struct tc_probe_result *r);
void tc_probe_summary(struct tc_probe_result *r, bool ok, const char *fmt, ...)
    TC_PRINTF(3, 4);
void tc_probe_evidence(struct tc_probe_result *r, const char *fmt, ...)
    TC_PRINTF(2, 3);
void tc_probe_next(struct tc_probe_result *r, const char *fmt, ...)
    TC_PRINTF(2, 3);

/* Where a failed connection went and which settings govern it, for the
 * explanation (all borrowed). */
struct tc_conn_context {
  const char *origin; /* "https://host:port" */
  const char *peer;   /* "ip:port" libcurl connected to or tried, or NULL */
  bool tls_done;      /* the TLS handshake with the origin completed */
  const char *url_setting;    /* e.g. "--control-plane.base-url" */
  const char *proxy_settings; /* e.g. "--control-plane.http-proxy, ..." */
  const char *ca_bundle;      /* --ca-bundle, or NULL */
  bool ca_applies;            /* a net hook applies it to this connection */
  const char *client_cert;    /* the pair's certificate sent here, or NULL */
  const char *cert_flags;     /* e.g. "--control-plane.client-cert and ..." */
  long timeout_s;
};
/* Explain a transfer that got no HTTP answer (libcurl code `rc` and its
 * error text): sets out->summary (FAIL) to one line saying what failed —
 * "TLS: ..." for every TLS failure, with its cause — and adds evidence and
 * next steps. Returns true when it was a TLS failure. */
bool tc_probe_explain_failure(int rc, const char *errtext,
                              const struct tc_conn_context *t,
                              struct tc_probe_result *out);

/* The network stack `run` uses: the modules cfg selects, loaded as run
 * loads them, with the net-hook instances created (nothing started: no
 * threads, no I/O), so that probes prepare their libcurl handles through
 * tc_registry_net_prepare() exactly as the agent does. *reg must be zeroed;
 * release it with tc_doctor_stack_release() whatever the outcome. The
 * result says what applies (CA bundle, client certificates, proxies) or
 * why the agent would refuse to start (FAIL). */
struct tc_registry;
void tc_probe_network_stack(const struct tc_config *cfg,
                            struct tc_registry *reg,
                            struct tc_probe_result *out);
void tc_doctor_stack_release(struct tc_registry *reg);

/* GET /v1/tunnels/{id} with the agent's own control-plane client (headers,
 * key, base URL and url-path, net hooks of `reg`), 10 s: PASS on 200; FAIL
 * naming a refused key (401), a tunnel the key may not use (403), a tunnel
 * id the service does not know (404), another status, or a failed
 * connection (TLS named as such). Consumes no command. */
void tc_probe_control_plane(const struct tc_config *cfg,
                            const struct tc_registry *reg,
                            struct tc_probe_result *out);

/* GET the MCP URL (2 s) through `reg`'s net hooks as the transport would;
 * any HTTP status passes, and so does a connection that got no answer
 * within the 2 s (a server holding the GET open). TLS failures and
 * connections that fail are FAIL with what to fix. */
void tc_probe_mcp_reachable(const struct tc_config *cfg,
                            const struct tc_binding_cfg *b,
                            const struct tc_registry *reg,
                            struct tc_probe_result *out);
/* OAuth discovery (5 s in all) through `reg`'s net hooks: Protected
 * Resource Metadata, then the first authorization server's metadata.
 * Passes when every candidate answers 404 (no OAuth) or when both
 * documents are found. */
void tc_probe_oauth_metadata(const struct tc_config *cfg,
                             const struct tc_binding_cfg *b,
                             const struct tc_registry *reg,
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
