/* proxy — the "proxy" net hook: which explicit HTTP(S) proxy an outbound
 * connection uses.
 *
 * Order (as the official client): MCP and OAuth metadata use the binding's
 * http-proxy, then mcp.http_proxy, then the global http_proxy; the control
 * plane uses control_plane.http_proxy, then the global one. An explicit
 * proxy applies to every host (NO_PROXY is ignored). With none configured
 * the hook declines and libcurl's HTTPS_PROXY/HTTP_PROXY/NO_PROXY
 * environment handling applies. Unix-socket bindings are never proxied.
 * CA bundles, client certificates and the proxy health check are not
 * handled here yet (the summary says so). Proxy URLs may hold credentials:
 * they are never logged. */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <tc/tc.h>

struct px_inst {
  const struct tc_host *host;
  char *global;        /* http_proxy */
  char *mcp;           /* mcp.http_proxy */
  char *control_plane; /* control_plane.http_proxy */
};

static char *px_copy(const struct tc_host *host, const char *key) {
  const char *v = host->config_get(host, key);
  return v != NULL && v[0] != '\0' ? host->format("%s", v) : NULL;
}

static int px_create(const struct tc_host *host, void **inst, char **errmsg) {
  struct px_inst *p = host->alloc(sizeof(*p));
  if (p == NULL)
    return TC_ENOMEM;
  p->host = host;
  p->global = px_copy(host, "http_proxy");
  p->mcp = px_copy(host, "mcp.http_proxy");
  p->control_plane = px_copy(host, "control_plane.http_proxy");
  *inst = p;
  return TC_OK;
}

static const char *px_first(const char *a, const char *b, const char *c) {
  if (a != NULL && a[0] != '\0')
    return a;
  if (b != NULL && b[0] != '\0')
    return b;
  return c != NULL && c[0] != '\0' ? c : NULL;
}

static int px_prepare(void *inst, void *curl_easy,
                      const struct tc_net_target *t, char **errmsg) {
  const struct px_inst *p = inst;
  if (p == NULL || curl_easy == NULL || t == NULL)
    return TC_EINVAL;
  const struct tc_binding *b = t->binding;
  const char *proxy = NULL;
  switch (t->purpose) {
  case TC_NET_MCP:
  case TC_NET_OAUTH_METADATA:
    if (b != NULL && b->unix_socket != NULL && b->unix_socket[0] != '\0')
      return TC_DECLINED;
    proxy = px_first(b != NULL ? b->http_proxy : NULL, p->mcp, p->global);
    break;
  case TC_NET_CONTROL_PLANE:
    proxy = px_first(p->control_plane, p->global, NULL);
    break;
  default:
    return TC_DECLINED;
  }
  if (proxy == NULL)
    return TC_DECLINED;
  CURLcode rc = curl_easy_setopt((CURL *)curl_easy, CURLOPT_PROXY, proxy);
  if (rc == CURLE_OK)
    rc = curl_easy_setopt((CURL *)curl_easy, CURLOPT_NOPROXY, "");
  if (rc != CURLE_OK) {
    *errmsg = p->host->format("cannot apply the configured proxy: %s",
                              curl_easy_strerror(rc));
    return TC_ECONFIG;
  }
  return TC_OK;
}

static void px_destroy(void *inst) {
  struct px_inst *p = inst;
  if (p == NULL)
    return;
  p->host->free(p->global);
  p->host->free(p->mcp);
  p->host->free(p->control_plane);
  p->host->free(p);
}

static const struct tc_net_vtable px_net = {
    .struct_size = sizeof(struct tc_net_vtable),
    .name = "proxy",
    .create = px_create,
    .prepare = px_prepare,
    .destroy = px_destroy,
};

static int px_init(const struct tc_host *host, struct tc_registrar *reg,
                   const void *config, char **errmsg) {
  (void)host;
  (void)config;
  return reg->add_net(reg, &px_net, errmsg);
}

TC_MODULE_DEFINE(proxy, .name = "proxy", .version = "0.1.0", .init = px_init,
                 .summary = "Explicit HTTP(S) proxy selection for outbound "
                            "connections (net hook \"proxy\"; CA bundle, "
                            "client certificates and proxy health checks "
                            "not handled yet)");
