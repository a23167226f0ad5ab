/* cli/cmd_doctor_stack.c — doctor's `network_settings` check: load the
 * modules the configuration selects and create the net-hook instances, as
 * `run` does at start (a CA bundle without a certificate, a client key that
 * does not match its certificate or a module that does not load stops run
 * there), and say what the agent's connections will use. See
 * cmd_doctor.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd_doctor.h"
#include "loader/loader.h"
#include "util/log.h"
#include "util/redact.h"
#include "util/sbuf.h"

/* "; " between the parts of the summary. */
static void sep(struct tc_sbuf *b) {
  if (b->len > 0)
    tc_sbuf_puts(b, "; ");
}

static const char *set(const char *v) {
  return v != NULL && v[0] != '\0' ? v : NULL;
}

/* A proxy URL as its origin only (it may hold credentials). */
static void proxy_part(struct tc_sbuf *b, const char *what, const char *url) {
  char origin[256];
  if (set(url) == NULL)
    return;
  sep(b);
  tc_sbuf_printf(b, "%s %s", what, tc_url_origin(url, origin, sizeof(origin)));
}

static void describe(const struct tc_config *cfg, const struct tc_registry *reg,
                     struct tc_probe_result *out) {
  struct tc_sbuf b = TC_SBUF_INIT;
  bool hooks = reg->net_count > 0;
  if (set(cfg->ca_bundle) != NULL) {
    sep(&b);
    if (hooks)
      tc_sbuf_printf(&b, "CA bundle %s added to the system roots",
                     cfg->ca_bundle);
    else
      tc_sbuf_printf(&b,
                     "CA bundle %s used instead of the system roots for the "
                     "control plane only (no net hook module is loaded)",
                     cfg->ca_bundle);
  }
  if (set(cfg->cp_client_cert) != NULL) {
    sep(&b);
    tc_sbuf_printf(&b, "control-plane client certificate %s",
                   cfg->cp_client_cert);
  }
  if (set(cfg->mcp_client_cert) != NULL) {
    sep(&b);
    tc_sbuf_printf(&b, "MCP client certificate %s", cfg->mcp_client_cert);
  }
  for (size_t i = 0; i < cfg->binding_count; i++)
    if (set(cfg->bindings[i].client_cert) != NULL) {
      sep(&b);
      tc_sbuf_printf(&b, "channel %s client certificate %s",
                     cfg->bindings[i].channel, cfg->bindings[i].client_cert);
    }
  proxy_part(&b, "control-plane proxy", cfg->cp_http_proxy);
  proxy_part(&b, "MCP proxy", cfg->mcp_http_proxy);
  proxy_part(&b, "proxy", cfg->http_proxy);
  for (size_t i = 0; i < cfg->binding_count; i++)
    if (set(cfg->bindings[i].http_proxy) != NULL) {
      char what[96];
      snprintf(what, sizeof(what), "channel %s proxy",
               cfg->bindings[i].channel);
      proxy_part(&b, what, cfg->bindings[i].http_proxy);
    }
  static const char *const env[] = {"HTTPS_PROXY", "https_proxy", "HTTP_PROXY",
                                    "http_proxy"};
  for (size_t i = 0; i < sizeof(env) / sizeof(env[0]); i++) {
    char what[48];
    snprintf(what, sizeof(what), "%s from the environment", env[i]);
    proxy_part(&b, what, getenv(env[i]));
  }
  char *text = tc_sbuf_finish(&b);
  if (text != NULL && text[0] != '\0')
    tc_probe_summary(out, true, "as run: %s", text);
  else
    tc_probe_summary(out, true,
                     "as run: direct connections, system CA roots (no proxy, "
                     "CA bundle or client certificate set)");
  free(text);

  struct tc_sbuf m = TC_SBUF_INIT;
  for (size_t i = 0; i < reg->module_count; i++)
    tc_sbuf_printf(&m, "%s%s", i ? ", " : "", reg->modules[i]->desc->name);
  char *mods = tc_sbuf_finish(&m);
  tc_probe_evidence(out, "modules loaded: %s",
                    mods != NULL && mods[0] ? mods : "none");
  free(mods);
  struct tc_sbuf n = TC_SBUF_INIT;
  for (size_t i = 0; i < reg->net_count; i++)
    tc_sbuf_printf(&n, "%s%s", i ? ", " : "", reg->nets[i].vt->name);
  char *nets = tc_sbuf_finish(&n);
  tc_probe_evidence(out, "net hooks created: %s",
                    nets != NULL && nets[0] ? nets : "none");
  free(nets);
}

void tc_probe_network_stack(const struct tc_config *cfg,
                            struct tc_registry *reg,
                            struct tc_probe_result *out) {
  memset(out, 0, sizeof(*out));
  char *err = NULL;
  /* Modules log at start (e.g. the CA bundle they loaded): doctor prints
   * only its report, so the loader runs with logging off. */
  int level = tc_log_get_level();
  tc_log_set_level(TC_LOG_ERROR + 1);
  int rc = tc_loader_load_all(reg, cfg, &err);
  bool loaded = rc == 0;
  if (rc == 0)
    rc = tc_registry_create_nets(reg, &err);
  tc_log_set_level(level);
  if (rc == 0) {
    describe(cfg, reg, out);
    return;
  }
  tc_probe_summary(out, false, "run would stop at start: %s",
                   err != NULL ? err : "out of memory");
  tc_probe_evidence(out, "%s", err != NULL ? err : "out of memory");
  if (!loaded) {
    tc_probe_next(out, "Fix the module named in the error, or the modules: "
                       "list / --module (see tunnel-client modules list)");
  } else {
    tc_probe_next(out,
                  "Fix the setting named in the error: --ca-bundle (a PEM "
                  "file of one or more CA certificates), or the client "
                  "certificate and the key it was issued for "
                  "(--control-plane.client-cert/--control-plane.client-key, "
                  "--mcp.client-cert/--mcp.client-key)");
  }
  free(err);
}

void tc_doctor_stack_release(struct tc_registry *reg) {
  tc_registry_stop(reg);
  tc_registry_free(reg);
}
