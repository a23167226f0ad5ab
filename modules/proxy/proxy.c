/* proxy — the "proxy" net hook: outbound connection policy for every
 * libcurl handle (proxy, extra CA bundle, client certificates) and the
 * periodic proxy health check.
 *
 * Proxy per destination (first that is set wins):
 *   MCP and OAuth metadata: the binding's http-proxy=, mcp.http_proxy,
 *     http_proxy (--http-proxy / TUNNEL_CLIENT_HTTP_PROXY);
 *   control plane: control_plane.http_proxy, http_proxy;
 *   otherwise the environment: HTTPS_PROXY/https_proxy for https URLs,
 *     HTTP_PROXY/http_proxy for http URLs, minus NO_PROXY/no_proxy entries
 *     (libcurl's matching: hosts, .domains, IPs/CIDRs, "*"); loopback
 *     (localhost, 127.0.0.1, ::1) is never proxied from the environment.
 * An explicit proxy is used for every host (NO_PROXY is ignored).
 * Unix-socket bindings are never proxied. Proxy URLs may hold credentials:
 * they are never logged (only their origin is).
 *
 * TLS: ca_bundle (--ca-bundle / CA_BUNDLE, a PEM file of one or more
 * certificates) is appended to the system roots for every connection
 * (control plane, MCP, OAuth metadata, https proxies, the health check).
 * Client certificates: control_plane.client_cert/_key for the control
 * plane only; the binding's client-cert=/client-key= pair, else
 * mcp.client_cert/_key, only when the URL has the MCP binding's origin.
 * A missing/empty bundle or a key that does not match its certificate
 * fails at start (per-binding pairs on their first connection).
 *
 * Reload: the instance holds no process-wide state, so a configuration
 * reload makes a new one (TC_NET_RECREATE_ON_RELOAD): the settings, the CA
 * bundle file and the pair checks are all read again, and the health check
 * restarts against the new control-plane proxy. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <tc/tc.h>

#include "proxy_internal.h"

static char *px_copy(const struct tc_host *host, const char *key) {
  const char *v = host->config_get(host, key);
  return v != NULL && v[0] != '\0' ? host->format("%s", v) : NULL;
}

/* The main binding's URL from the effective "channel=url,..." list. */
static char *px_main_url(const struct tc_host *host) {
  const char *list = host->config_get(host, "mcp.server_urls");
  if (list == NULL)
    return NULL;
  const char *at = strstr(list, "main=");
  if (at == NULL || (at != list && at[-1] != ','))
    return NULL;
  at += 5;
  size_t n = strcspn(at, ",");
  return host->format("%.*s", (int)n, at);
}

/* Go-style duration text ("60s", "1m30s", "500ms") in milliseconds; 0 when
 * unparsable. */
static int64_t px_duration_ms(const char *s) {
  if (s == NULL)
    return 0;
  double total = 0;
  while (*s != '\0') {
    char *end = NULL;
    double v = strtod(s, &end);
    if (end == s)
      return 0;
    s = end;
    if (strncmp(s, "ms", 2) == 0) {
      total += v;
      s += 2;
    } else if (strncmp(s, "us", 2) == 0) {
      total += v / 1000;
      s += 2;
    } else if (strncmp(s, "ns", 2) == 0) {
      total += v / 1e6;
      s += 2;
    } else if (*s == 'h') {
      total += v * 3600000;
      s++;
    } else if (*s == 'm') {
      total += v * 60000;
      s++;
    } else if (*s == 's') {
      total += v * 1000;
      s++;
    } else {
      return 0;
    }
  }
  return (int64_t)total;
}

static void px_free_inst(struct px_inst *p) {
  const struct tc_host *h = p->host;
  h->free(p->global);
  h->free(p->mcp);
  h->free(p->control_plane);
  h->free(p->cp_base);
  h->free(p->main_url);
  free(p->ca_pem);
  h->free(p->cp_cert);
  h->free(p->cp_key);
  h->free(p->mcp_cert);
  h->free(p->mcp_key);
  for (size_t i = 0; i < p->npairs; i++) {
    free(p->pairs[i].cert);
    free(p->pairs[i].key);
  }
  free(p->pairs);
  pthread_mutex_destroy(&p->lock);
  h->free(p);
}

static int px_create(const struct tc_host *host, void **inst, char **errmsg) {
  struct px_inst *p = host->alloc(sizeof(*p));
  if (p == NULL)
    return TC_ENOMEM;
  memset(p, 0, sizeof(*p));
  pthread_mutex_init(&p->lock, NULL);
  p->host = host;
  p->global = px_copy(host, "http_proxy");
  p->mcp = px_copy(host, "mcp.http_proxy");
  p->control_plane = px_copy(host, "control_plane.http_proxy");
  p->cp_base = px_copy(host, "control_plane.base_url");
  p->main_url = px_main_url(host);
  p->cp_cert = px_copy(host, "control_plane.client_cert");
  p->cp_key = px_copy(host, "control_plane.client_key");
  p->mcp_cert = px_copy(host, "mcp.client_cert");
  p->mcp_key = px_copy(host, "mcp.client_key");
  p->check_interval_ms =
      px_duration_ms(host->config_get(host, "proxy.check_interval"));
  int rc = TC_OK;
  const char *bundle = host->config_get(host, "ca_bundle");
  if (bundle != NULL && bundle[0] != '\0') {
    rc = px_ca_load(bundle, &p->ca_pem, &p->ca_len, &p->ca_count, errmsg);
    if (rc == TC_OK)
      host->log(host, TC_LOG_INFO, NULL,
                "ca_bundle: %d certificate(s) from %s added to the system "
                "roots",
                p->ca_count, bundle);
  }
  if (rc == TC_OK && p->cp_cert != NULL && p->cp_key != NULL)
    rc = px_pair_check("control_plane.client_cert/client_key", p->cp_cert,
                       p->cp_key, errmsg);
  if (rc == TC_OK && p->mcp_cert != NULL && p->mcp_key != NULL)
    rc = px_pair_check("mcp.client_cert/client_key", p->mcp_cert, p->mcp_key,
                       errmsg);
  if (rc != TC_OK) {
    px_free_inst(p);
    return rc;
  }
  *inst = p;
  return TC_OK;
}

static int px_start(void *inst, char **errmsg) {
  struct px_inst *p = inst;
  const char *proxy = p->control_plane != NULL ? p->control_plane : p->global;
  if (proxy == NULL && p->cp_base != NULL) {
    /* the health check's own resolver: https falls back to HTTP_PROXY */
    int https = strncasecmp(p->cp_base, "https:", 6) == 0;
    const char *env = https ? getenv("HTTPS_PROXY") : NULL;
    if ((env == NULL || *env == '\0') && https)
      env = getenv("https_proxy");
    if (env == NULL || *env == '\0')
      env = getenv("HTTP_PROXY");
    if (env == NULL || *env == '\0')
      env = getenv("http_proxy");
    proxy = env != NULL && *env != '\0' ? env : NULL;
  }
  return px_health_start(p, proxy, errmsg);
}

static void px_stop(void *inst) {
  if (inst != NULL)
    px_health_stop(inst);
}

static const char *px_first(const char *a, const char *b, const char *c) {
  if (a != NULL && a[0] != '\0')
    return a;
  if (b != NULL && b[0] != '\0')
    return b;
  return c != NULL && c[0] != '\0' ? c : NULL;
}

static const char *px_env(const char *upper, const char *lower) {
  const char *v = getenv(upper);
  if (v == NULL || v[0] == '\0')
    v = getenv(lower);
  return v != NULL && v[0] != '\0' ? v : NULL;
}

static int px_fail(const struct px_inst *p, char **errmsg, const char *what,
                   CURLcode rc) {
  *errmsg =
      p->host->format("cannot apply the %s: %s", what, curl_easy_strerror(rc));
  return TC_ECONFIG;
}

/* Proxy for the target: explicit, else the environment, else none. */
static int px_apply_proxy(const struct px_inst *p, CURL *c,
                          const struct tc_net_target *t, char **errmsg) {
  const struct tc_binding *b = t->binding;
  const char *proxy = NULL;
  switch (t->purpose) {
  case TC_NET_MCP:
  case TC_NET_OAUTH_METADATA:
    if (b != NULL && b->unix_socket != NULL && b->unix_socket[0] != '\0')
      return curl_easy_setopt(c, CURLOPT_PROXY, "") == CURLE_OK
                 ? TC_OK
                 : px_fail(p, errmsg, "proxy setting", CURLE_FAILED_INIT);
    proxy = px_first(b != NULL ? b->http_proxy : NULL, p->mcp, p->global);
    break;
  case TC_NET_CONTROL_PLANE:
    proxy = px_first(p->control_plane, p->global, NULL);
    break;
  default:
    return TC_DECLINED;
  }
  const char *noproxy = "";
  char *env_noproxy = NULL;
  if (proxy == NULL) {
    int https = t->url != NULL && strncasecmp(t->url, "https:", 6) == 0;
    proxy = https ? px_env("HTTPS_PROXY", "https_proxy")
                  : px_env("HTTP_PROXY", "http_proxy");
    const char *np = px_env("NO_PROXY", "no_proxy");
    env_noproxy = p->host->format("localhost,127.0.0.1,::1%s%s",
                                  np != NULL ? "," : "", np != NULL ? np : "");
    if (env_noproxy == NULL)
      return TC_ENOMEM;
    noproxy = env_noproxy;
  }
  /* "" disables libcurl's own environment lookup: the rules above decide */
  CURLcode rc = curl_easy_setopt(c, CURLOPT_PROXY, proxy != NULL ? proxy : "");
  if (rc == CURLE_OK)
    rc = curl_easy_setopt(c, CURLOPT_NOPROXY, noproxy);
  p->host->free(env_noproxy);
  if (rc != CURLE_OK)
    return px_fail(p, errmsg, "configured proxy", rc);
  return TC_OK;
}

static int px_apply_ca(const struct px_inst *p, CURL *c, char **errmsg) {
  if (p->ca_pem == NULL)
    return TC_DECLINED;
  /* copied: a handle may outlive this instance (e.g. kept for reuse) */
  struct curl_blob blob = {p->ca_pem, p->ca_len, CURL_BLOB_COPY};
  CURLcode rc = curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
  if (rc == CURLE_OK)
    rc = curl_easy_setopt(c, CURLOPT_PROXY_CAINFO_BLOB, &blob);
  return rc == CURLE_OK ? TC_OK : px_fail(p, errmsg, "CA bundle", rc);
}

/* A per-binding pair is checked once, on its first connection. */
static int px_binding_pair_ok(struct px_inst *p, const struct tc_binding *b,
                              char **errmsg) {
  pthread_mutex_lock(&p->lock);
  for (size_t i = 0; i < p->npairs; i++)
    if (strcmp(p->pairs[i].cert, b->client_cert) == 0 &&
        strcmp(p->pairs[i].key, b->client_key) == 0) {
      int ok = p->pairs[i].ok;
      pthread_mutex_unlock(&p->lock);
      if (!ok)
        *errmsg = p->host->format("channel %s: client-cert and client-key do "
                                  "not match (see the startup error)",
                                  b->channel ? b->channel : "?");
      return ok ? TC_OK : TC_ECONFIG;
    }
  char what[160];
  snprintf(what, sizeof(what), "channel %s client-cert/client-key",
           b->channel ? b->channel : "?");
  int rc = px_pair_check(what, b->client_cert, b->client_key, errmsg);
  struct px_checked_pair *n = realloc(p->pairs, (p->npairs + 1) * sizeof(*n));
  char *cert = strdup(b->client_cert), *key = strdup(b->client_key);
  if (n != NULL)
    p->pairs = n;
  if (n != NULL && cert != NULL && key != NULL) {
    n[p->npairs++] = (struct px_checked_pair){cert, key, rc == TC_OK};
  } else { /* not remembered: checked again on the next connection */
    free(cert);
    free(key);
  }
  pthread_mutex_unlock(&p->lock);
  return rc;
}

static int px_apply_cert(struct px_inst *p, CURL *c,
                         const struct tc_net_target *t, char **errmsg) {
  const char *cert = NULL, *key = NULL;
  const struct tc_binding *b = t->binding;
  if (t->purpose == TC_NET_CONTROL_PLANE) {
    cert = p->cp_cert;
    key = p->cp_key;
  } else if (t->purpose == TC_NET_MCP || t->purpose == TC_NET_OAUTH_METADATA) {
    int own_pair = b != NULL && b->client_cert != NULL && b->client_key != NULL;
    cert = own_pair ? b->client_cert : p->mcp_cert;
    key = own_pair ? b->client_key : p->mcp_key;
    /* Without a certificate there is nothing to scope: skip the origin
     * comparison (it parses two URLs, on every request). */
    if (cert == NULL || key == NULL)
      return TC_DECLINED;
    const char *origin_url = b != NULL ? b->url : p->main_url;
    if (!px_same_origin(t->url, origin_url))
      return TC_DECLINED;
    if (own_pair) {
      int rc = px_binding_pair_ok(p, b, errmsg);
      if (rc != TC_OK)
        return rc;
    }
  }
  if (cert == NULL || key == NULL)
    return TC_DECLINED;
  CURLcode rc = curl_easy_setopt(c, CURLOPT_SSLCERT, cert);
  if (rc == CURLE_OK)
    rc = curl_easy_setopt(c, CURLOPT_SSLKEY, key);
  return rc == CURLE_OK ? TC_OK : px_fail(p, errmsg, "client certificate", rc);
}

static int px_prepare(void *inst, void *curl_easy,
                      const struct tc_net_target *t, char **errmsg) {
  struct px_inst *p = inst;
  if (p == NULL || curl_easy == NULL || t == NULL)
    return TC_EINVAL;
  CURL *c = curl_easy;
  int applied = 0;
  int rc = px_apply_proxy(p, c, t, errmsg);
  if (rc < 0)
    return rc;
  applied |= rc == TC_OK;
  rc = px_apply_ca(p, c, errmsg);
  if (rc < 0)
    return rc;
  applied |= rc == TC_OK;
  rc = px_apply_cert(p, c, t, errmsg);
  if (rc < 0)
    return rc;
  applied |= rc == TC_OK;
  return applied ? TC_OK : TC_DECLINED;
}

static void px_destroy(void *inst) {
  if (inst != NULL)
    px_free_inst(inst);
}

static const struct tc_net_vtable px_net = {
    .struct_size = sizeof(struct tc_net_vtable),
    .name = "proxy",
    .create = px_create,
    .start = px_start,
    .prepare = px_prepare,
    .stop = px_stop,
    .destroy = px_destroy,
    .flags = TC_NET_RECREATE_ON_RELOAD,
};

static int px_init(const struct tc_host *host, struct tc_registrar *reg,
                   const void *config, char **errmsg) {
  (void)host;
  (void)config;
  return reg->add_net(reg, &px_net, errmsg);
}

TC_MODULE_DEFINE(proxy, .name = "proxy", .version = "0.2.0", .init = px_init,
                 .summary = "Outbound connection policy: HTTP(S) proxy per "
                            "destination, extra CA bundle, client "
                            "certificates, proxy health check (net hook "
                            "\"proxy\")");
