/* auth-oauth — the "oauth" hook: OAuth protected-resource metadata
 * discovery for the MCP server.
 *
 * This version claims nothing: on_command() declines every command
 * (oauth_discovery included) and readiness() declines to gate /readyz.
 * Discovery arrives in a later release, and the summary says so. */
#include <stdint.h>
#include <stdlib.h>

#include <tc/tc.h>

struct ao_config {
  int enabled;
  int64_t discovery_timeout_ms;
};

static int ao_on_command(void *inst, const struct tc_request *req,
                         const struct tc_sink *sink) {
  (void)inst;
  (void)req;
  (void)sink;
  return TC_DECLINED;
}

static int ao_readiness(void *inst, char **reason) {
  (void)inst;
  (void)reason;
  return TC_DECLINED;
}

static const struct tc_hook_vtable ao_hook = {
    .struct_size = sizeof(struct tc_hook_vtable),
    .name = "oauth",
    .on_command = ao_on_command,
    .readiness = ao_readiness,
};

static int ao_init(const struct tc_host *host, struct tc_registrar *reg,
                   const void *config, char **errmsg) {
  const struct ao_config *cfg = config;
  if (cfg != NULL && !cfg->enabled)
    host->log(host, TC_LOG_DEBUG, NULL, "disabled by its enabled setting");
  return reg->add_hook(reg, &ao_hook, errmsg);
}

static const struct tc_config_field ao_fields[] = {
    {"enabled", TC_CFG_BOOL, "true", offsetof(struct ao_config, enabled),
     "answer oauth_discovery commands for the MCP server", 0, 0},
    {"discovery_timeout", TC_CFG_DURATION, "10s",
     offsetof(struct ao_config, discovery_timeout_ms),
     "time allowed for one metadata discovery round", 100, 120000},
    TC_CONFIG_END};

TC_MODULE_DEFINE(auth_oauth, .name = "auth-oauth", .version = "0.1.0",
                 .init = ao_init,
                 .summary = "OAuth metadata discovery (hook \"oauth\"; "
                            "declines every command and readiness for now)",
                 .config = ao_fields, .config_size = sizeof(struct ao_config));
