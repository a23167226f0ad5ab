/* cli/run_reload.h — configuration reload of a running agent (SIGHUP;
 * docs/operations.md "Reload"). run_agent.c owns the lifecycle and calls
 * tc_run_reload() on its main thread for each SIGHUP.
 *
 * A reload loads the configuration again with the arguments the agent
 * started with (flags do not change; the profile file is read again and
 * env:NAME / file:PATH references are resolved again), compares it with
 * the running one (config/reconcile.h), prepares everything that can fail
 * — new transport instances, new net-hook instances, control-plane
 * settings, the log file — and only then commits it all. When any step
 * fails, nothing changes: the running configuration stays, one ERROR line
 * says why, and /api/status shows it under "reload". */
#ifndef TC_CLI_RUN_RELOAD_H
#define TC_CLI_RUN_RELOAD_H

#include "config/config.h"

struct tc_registry;
struct tc_dispatcher;
struct tc_cp_client;
struct tc_health_server;
struct tc_readiness;

/* The parts of the running agent a reload touches; borrowed. */
struct tc_run_parts {
  int argc;
  char **argv; /* as given to tc_config_load at start */
  const struct tc_cmd_flag *extra_flags;
  struct tc_registry *reg;
  struct tc_dispatcher *disp;
  struct tc_cp_client *cp;
  struct tc_health_server *health;
  struct tc_readiness *readiness;
};

/* Service-manager notification around a reload (systemd Type=notify:
 * RELOADING=1 before, READY=1 after). Called on the main thread. */
struct tc_run_reload_notify {
  void *ud;
  void (*reloading)(void *ud); /* may be NULL */
  void (*reloaded)(void *ud);  /* may be NULL; also after a refused reload */
};

struct tc_run_reloader;

/* `started` is the configuration the agent started with: borrowed (the
 * caller keeps it until exit), and the running configuration until the
 * first reload succeeds. Returns 0, or -1 on ENOMEM. */
int tc_run_reloader_new(struct tc_run_reloader **out,
                        const struct tc_run_parts *parts,
                        const struct tc_config *started,
                        const struct tc_run_reload_notify *notify);
/* One reload, start to end; never fails the process. */
void tc_run_reload(struct tc_run_reloader *r);
/* The configuration in effect now (the start-up one or the last reload's).
 * Valid until the next tc_run_reload() or tc_run_reloader_free(). */
const struct tc_config *tc_run_reloader_config(const struct tc_run_reloader *r);
/* Frees the reloaded configuration, if any. Call after everything that
 * reads it (the registry's config_get) is gone or pointed elsewhere. */
void tc_run_reloader_free(struct tc_run_reloader *r);

/* Register the configuration's secret values (API key, header values) with
 * the redactor; run for the start-up configuration and every reload. */
void tc_run_register_secrets(const struct tc_config *cfg);

#endif /* TC_CLI_RUN_RELOAD_H */
