/* mcp-http — the "http" transport: MCP over Streamable HTTP.
 *
 * This version validates bindings and answers every call with a
 * client_internal failure ("not_implemented"): forwarding arrives in a
 * later release, and the summary says so. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <tc/tc.h>

struct mh_config {
  int64_t connect_timeout_ms;
};

struct mh_inst {
  const struct tc_host *host;
  char *channel;
};

static int mh_create(const struct tc_host *host,
                     const struct tc_binding *binding, void **inst,
                     char **errmsg) {
  const char *channel =
      binding != NULL && binding->channel != NULL ? binding->channel : "main";
  if (binding == NULL || binding->url == NULL || binding->url[0] == '\0') {
    *errmsg = host->format("channel \"%s\": the http transport needs an MCP "
                           "server URL (set --mcp.server-url)",
                           channel);
    return TC_ECONFIG;
  }
  struct mh_inst *mi = host->alloc(sizeof(*mi));
  if (mi == NULL)
    return TC_ENOMEM;
  mi->host = host;
  mi->channel = host->format("%s", channel);
  if (mi->channel == NULL) {
    host->free(mi);
    return TC_ENOMEM;
  }
  *inst = mi;
  return TC_OK;
}

static int mh_call(void *inst, const struct tc_request *req,
                   const struct tc_sink *sink) {
  struct mh_inst *mi = inst;
  mi->host->log(mi->host, TC_LOG_WARN, mi->channel,
                "transport not implemented yet; failing request %s",
                req != NULL && req->request_id ? req->request_id : "?");
  struct tc_response res;
  memset(&res, 0, sizeof(res));
  res.struct_size = sizeof(res);
  res.status = 502;
  res.failure_source = "client_internal";
  res.failure_kind = "not_implemented";
  return sink->complete(sink, &res);
}

static void mh_destroy(void *inst) {
  struct mh_inst *mi = inst;
  if (mi == NULL)
    return;
  mi->host->free(mi->channel);
  mi->host->free(mi);
}

static const struct tc_transport_vtable mh_transport = {
    .struct_size = sizeof(struct tc_transport_vtable),
    .name = "http",
    .flags = 0,
    .create = mh_create,
    .call = mh_call,
    .destroy = mh_destroy,
};

static int mh_init(const struct tc_host *host, struct tc_registrar *reg,
                   const void *config, char **errmsg) {
  (void)host;
  (void)config; /* connect_timeout: validated by the core's bounds */
  return reg->add_transport(reg, &mh_transport, errmsg);
}

static const struct tc_config_field mh_fields[] = {
    {"connect_timeout", TC_CFG_DURATION, "10s",
     offsetof(struct mh_config, connect_timeout_ms),
     "time allowed to connect to the MCP server (TCP and TLS)", 100, 300000},
    TC_CONFIG_END};

TC_MODULE_DEFINE(mcp_http, .name = "mcp-http", .version = "0.1.0",
                 .init = mh_init,
                 .summary = "MCP over Streamable HTTP (transport \"http\"; "
                            "forwarding not implemented yet)",
                 .config = mh_fields, .config_size = sizeof(struct mh_config));
