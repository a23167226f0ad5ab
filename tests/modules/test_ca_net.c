/* test_ca_net.c — a test-only net-hook module ("test-ca-net"): trusts the
 * CA file named by its `ca_file` setting for connections to MCP origins
 * (TC_NET_MCP), the way a deployment's CA-bundle net hook would. Built next
 * to the module tests, never installed. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include <tc/tc.h>

struct tcn_config {
  char *ca_file;
};

static char *tcn_ca_file; /* set by init on the main thread */

static int tcn_prepare(void *inst, void *curl_easy,
                       const struct tc_net_target *t, char **errmsg) {
  (void)inst;
  (void)errmsg;
  if (t->purpose != TC_NET_MCP || tcn_ca_file == NULL)
    return TC_DECLINED;
  if (curl_easy_setopt((CURL *)curl_easy, CURLOPT_CAINFO, tcn_ca_file) !=
      CURLE_OK)
    return TC_ERR;
  return TC_OK;
}

static const struct tc_net_vtable tcn_net = {
    .struct_size = sizeof(struct tc_net_vtable),
    .name = "test-ca",
    .prepare = tcn_prepare,
};

static int tcn_init(const struct tc_host *host, struct tc_registrar *reg,
                    const void *config, char **errmsg) {
  (void)host;
  const struct tcn_config *cfg = config;
  if (cfg != NULL && cfg->ca_file != NULL)
    tcn_ca_file = strdup(cfg->ca_file);
  return reg->add_net(reg, &tcn_net, errmsg);
}

static void tcn_fini(const struct tc_host *host) {
  (void)host;
  free(tcn_ca_file);
  tcn_ca_file = NULL;
}

static const struct tc_config_field tcn_fields[] = {
    {"ca_file", TC_CFG_STRING, NULL, offsetof(struct tcn_config, ca_file),
     "PEM CA certificates trusted for MCP origins", 0, 0},
    TC_CONFIG_END};

TC_MODULE_DEFINE(test_ca_net, .name = "test-ca-net", .version = "0.1.0",
                 .init = tcn_init, .fini = tcn_fini,
                 .summary = "test only: trust a CA file for MCP origins",
                 .config = tcn_fields,
                 .config_size = sizeof(struct tcn_config));
