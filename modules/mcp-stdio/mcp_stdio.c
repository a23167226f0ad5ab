/* mcp-stdio — the "stdio" transport: an MCP server run as a child process
 * speaking JSON-RPC over stdin/stdout.
 *
 * This version validates bindings and answers every call with a
 * client_internal failure ("not_implemented"): the child process handling
 * arrives in a later release, and the summary says so. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <tc/tc.h>

struct ms_config {
  int64_t restart_backoff_max_ms;
  int64_t shutdown_grace_ms;
};

struct ms_inst {
  const struct tc_host *host;
  char *channel;
};

static int ms_create(const struct tc_host *host,
                     const struct tc_binding *binding, void **inst,
                     char **errmsg) {
  const char *channel =
      binding != NULL && binding->channel != NULL ? binding->channel : "main";
  if (binding == NULL || binding->command == NULL ||
      binding->command[0] == '\0') {
    *errmsg = host->format("channel \"%s\": the stdio transport needs a "
                           "command (set --mcp.command)",
                           channel);
    return TC_ECONFIG;
  }
  struct ms_inst *mi = host->alloc(sizeof(*mi));
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

static int ms_call(void *inst, const struct tc_request *req,
                   const struct tc_sink *sink) {
  struct ms_inst *mi = inst;
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

static void ms_destroy(void *inst) {
  struct ms_inst *mi = inst;
  if (mi == NULL)
    return;
  mi->host->free(mi->channel);
  mi->host->free(mi);
}

static const struct tc_transport_vtable ms_transport = {
    .struct_size = sizeof(struct tc_transport_vtable),
    .name = "stdio",
    .flags = TC_TRANSPORT_PROC_AFFINITY,
    .create = ms_create,
    .call = ms_call,
    .destroy = ms_destroy,
};

static int ms_init(const struct tc_host *host, struct tc_registrar *reg,
                   const void *config, char **errmsg) {
  (void)host;
  (void)config; /* both durations: validated by the core's bounds */
  return reg->add_transport(reg, &ms_transport, errmsg);
}

static const struct tc_config_field ms_fields[] = {
    {"restart_backoff_max", TC_CFG_DURATION, "30s",
     offsetof(struct ms_config, restart_backoff_max_ms),
     "longest wait between restarts of a crashed MCP server process", 1000,
     600000},
    {"shutdown_grace", TC_CFG_DURATION, "5s",
     offsetof(struct ms_config, shutdown_grace_ms),
     "time the child gets to exit after stdin closes before SIGTERM", 0, 60000},
    TC_CONFIG_END};

TC_MODULE_DEFINE(mcp_stdio, .name = "mcp-stdio", .version = "0.1.0",
                 .init = ms_init,
                 .summary = "MCP server as a child process over stdio "
                            "(transport \"stdio\"; forwarding not implemented "
                            "yet)",
                 .config = ms_fields, .config_size = sizeof(struct ms_config));
