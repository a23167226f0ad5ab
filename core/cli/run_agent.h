/* cli/run_agent.h — the foreground agent's lifecycle, callable in-process:
 * `tunnel-client run` is tc_run_agent(argc, argv, NULL); `dev proxy` calls
 * it with a synthesized argv and hooks, beside its own control plane. */
#ifndef TC_CLI_RUN_AGENT_H
#define TC_CLI_RUN_AGENT_H

#include "config/config.h"

/* What the agent looks like once everything has started. Borrowed for the
 * duration of the on_ready call only. */
struct tc_run_ready {
  const struct tc_config *cfg;
  const char *health_base_url; /* "http://host:port" or "http+unix://..." */
};

struct tc_run_hooks {
  void *ud;
  /* Called once on the calling thread after start-up, before the agent
   * waits for SIGINT/SIGTERM. Return 0, or -1 with *err (malloc()ed, one
   * line, may be NULL for "out of memory") to shut down and exit 1. */
  int (*on_ready)(void *ud, const struct tc_run_ready *r, char **err);
  /* A file of the caller's that a second signal (immediate exit) removes
   * along with the agent's own files; NULL for none. */
  const char *extra_cleanup_file;
};

/* Run the agent until SIGINT/SIGTERM; returns the exit code (0 after a
 * clean drain, 1 when configuration or start-up failed, with one line on
 * stderr). argv holds the arguments after `run` (flags, including
 * --embedded-mcp-stub and its companions). Blocks SIGINT/SIGTERM in the
 * calling thread: call it before starting threads of your own, or block
 * them yourself first. hooks may be NULL. */
int tc_run_agent(int argc, char **argv, const struct tc_run_hooks *hooks);

#endif /* TC_CLI_RUN_AGENT_H */
