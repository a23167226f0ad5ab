/* A minimal hook module used to prove the installed SDK builds modules. */
#include <tc/tc.h>

static int ch_readiness(void *inst, char **reason) {
  (void)inst;
  (void)reason;
  return TC_OK;
}

static const struct tc_hook_vtable ch_hook = {
    .struct_size = sizeof(struct tc_hook_vtable),
    .name = "consumer",
    .readiness = ch_readiness,
};

static int ch_init(const struct tc_host *host, struct tc_registrar *reg,
                   const void *config, char **errmsg) {
  (void)config;
  host->log(host, TC_LOG_DEBUG, NULL, "consumer hook registered");
  return reg->add_hook(reg, &ch_hook, errmsg);
}

TC_MODULE_DEFINE(consumer_hook, .name = "consumer-hook", .version = "0.0.1",
                 .summary = "install test module", .init = ch_init);
