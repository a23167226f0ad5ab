/* cli/cmd_doctor_cp.c — doctor's `control_plane_reachable` check: one
 * GET /v1/tunnels/{id} (the tunnel metadata route; a poll would take
 * commands meant for a running agent) with the agent's own control-plane
 * client — same base URL and url-path, headers, API key, and the net hooks
 * `run` loads (CA bundle, client certificate, proxy). It shows whether the
 * service can be reached, accepts the key and knows the tunnel id. See
 * cmd_doctor.h. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd_doctor.h"
#include "controlplane/client.h"
#include "loader/loader.h"
#include "util/redact.h"

#define CP_PROBE_TIMEOUT_MS 10000L

/* The envelope's code and message as " (code: message)", or "". */
static void api_detail(const struct tc_cp_api_error *e, char *out, size_t len) {
  out[0] = '\0';
  const char *code = e->code != NULL ? e->code : e->type;
  if (code == NULL && e->message == NULL)
    return;
  snprintf(out, len, " (%s%s%.200s)", code != NULL ? code : "",
           code != NULL && e->message != NULL ? ": " : "",
           e->message != NULL ? e->message : "");
}

static void answered(const struct tc_config *cfg, const char *origin,
                     const struct tc_cp_probe_result *r,
                     struct tc_probe_result *out) {
  const char *tid = cfg->cp_tunnel_id;
  char detail[300];
  api_detail(&r->api_error, detail, sizeof(detail));
  const char *code = r->api_error.code != NULL ? r->api_error.code : "";
  switch (r->status) {
  case 200: {
    json_t *j = r->body != NULL ? json_loads(r->body, 0, NULL) : NULL;
    const char *name = json_string_value(json_object_get(j, "name"));
    tc_probe_summary(out, true,
                     "%s knows tunnel %s and accepts the API key (HTTP 200)",
                     origin, tid);
    if (name != NULL)
      tc_probe_evidence(out, "tunnel name: %.200s", name);
    json_decref(j);
    return;
  }
  case 401:
    tc_probe_summary(out, false, "%s rejected the API key (HTTP 401%s%s)",
                     origin, code[0] ? " " : "", code);
    tc_probe_next(out, "Use a runtime API key of the organization that owns "
                       "the tunnel: "
                       "https://platform.openai.com/settings/organization/"
                       "api-keys");
    tc_probe_next(out, "export CONTROL_PLANE_API_KEY=... in the shell that "
                       "starts the agent");
    break;
  case 403:
    tc_probe_summary(out, false,
                     "%s refuses tunnel %s to this API key (HTTP 403%s%s)",
                     origin, tid, code[0] ? " " : "", code);
    tc_probe_next(out, "Use a runtime API key of the organization or project "
                       "that owns the tunnel");
    tc_probe_next(out, "For a tunnel that belongs to an organization, set "
                       "--control-plane.organization-id "
                       "(CONTROL_PLANE_ORGANIZATION_ID)");
    break;
  case 404:
    tc_probe_summary(out, false, "%s does not know tunnel id %s (HTTP 404%s%s)",
                     origin, tid, code[0] ? " " : "", code);
    tc_probe_next(out, "Copy the tunnel id from "
                       "https://platform.openai.com/settings/organization/"
                       "tunnels into --control-plane.tunnel-id");
    tc_probe_next(out, "Check that --control-plane.base-url and "
                       "--control-plane.url-path name the service that hosts "
                       "the tunnel");
    break;
  default:
    tc_probe_summary(out, false, "%s answered HTTP %d to GET /v1/tunnels/%s",
                     origin, r->status, tid);
    if (r->status == 429 || r->status >= 500)
      tc_probe_next(out, "The service or a proxy in between is failing or "
                         "busy: try again shortly");
    tc_probe_next(out, "Check --control-plane.base-url and "
                       "--control-plane.url-path");
    break;
  }
  tc_probe_evidence(out, "GET %s/v1/tunnels/%s -> HTTP %d%s", origin, tid,
                    r->status, detail);
}

void tc_probe_control_plane(const struct tc_config *cfg,
                            const struct tc_registry *reg,
                            struct tc_probe_result *out) {
  memset(out, 0, sizeof(*out));
  struct tc_cp_client *cp = NULL;
  char *err = NULL;
  if (tc_cp_client_new(&cp, cfg, reg, &err) != 0) {
    tc_probe_summary(out, false, "%s", err != NULL ? err : "out of memory");
    tc_probe_next(out, "Fix the control-plane setting named above");
    free(err);
    return;
  }
  char origin[256];
  tc_url_origin(tc_cp_client_base(cp), origin, sizeof(origin));
  struct tc_cp_probe_result r;
  int rc = tc_cp_probe_metadata(cp, CP_PROBE_TIMEOUT_MS, &r);
  if (rc == 0) {
    answered(cfg, origin, &r, out);
  } else if (r.prepare_failed) {
    tc_probe_summary(out, false, "the request to %s could not be set up: %s",
                     origin, r.curl_error);
    tc_probe_next(out, "Fix the setting named above (network_settings shows "
                       "what the agent applies)");
  } else {
    const char *cert = cfg->cp_client_cert != NULL &&
                               cfg->cp_client_cert[0] != '\0' &&
                               cfg->cp_client_key != NULL
                           ? cfg->cp_client_cert
                           : NULL;
    const struct tc_conn_context t = {
        .origin = origin,
        .peer = r.peer[0] != '\0' ? r.peer : NULL,
        .tls_done = r.tls_done,
        .url_setting = "--control-plane.base-url",
        .proxy_settings = "--control-plane.http-proxy, --http-proxy or "
                          "HTTPS_PROXY/NO_PROXY",
        .ca_bundle = cfg->ca_bundle != NULL && cfg->ca_bundle[0] != '\0'
                         ? cfg->ca_bundle
                         : NULL,
        .ca_applies = true, /* the client applies it even without hooks */
        .client_cert = cert,
        .cert_flags = "--control-plane.client-cert and "
                      "--control-plane.client-key",
        .timeout_s = CP_PROBE_TIMEOUT_MS / 1000};
    tc_probe_explain_failure(r.curl_code, r.curl_error, &t, out);
  }
  tc_cp_probe_result_clear(&r);
  tc_cp_client_free(cp);
}
