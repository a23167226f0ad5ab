/* proxy_health.c — the periodic proxy health check of the proxy module.
 *
 * Every proxy.check_interval a background thread asks the control-plane
 * route's proxy for a tunnel (CONNECT host:port, proxy credentials from the
 * proxy URL) to the control-plane origin. A 2xx answer is "healthy",
 * anything else (refused, timeout, 407, 403...) "unhealthy"; without a
 * proxy the state is "direct". State changes are logged with the proxy's
 * origin only (never its credentials) and exported as metrics:
 *   tunnel_client_proxy_configured{route="control_plane"} 1 / 0
 *   tunnel_client_proxy_healthy{route="control_plane"}   1 / 0
 *   tunnel_client_proxy_checks_total{route="control_plane",result}
 * "configured" says whether the route uses a proxy now (a reload may add or
 * remove one; without any proxy since start the families do not exist);
 * "healthy" is the last check's result, 0 until the first check of the
 * current proxy finished.
 * Threads: start/stop on the main thread; the checker owns its own handle. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "proxy_internal.h"

struct px_health {
  struct px_inst *p;
  char *proxy;       /* full URL (credentials included), never logged */
  char *proxy_shown; /* origin only */
  char *target;      /* http://host:port of the control plane (CONNECT) */
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int stopping, running;
  int checked; /* a check has completed (the first result is always logged) */
  struct tc_metric *up, *checks, *configured;
  const char *state; /* "unhealthy" (initial), "healthy", "direct" */
};

static const char *const px_route_labels[] = {"route", NULL};
static const char *const px_check_labels[] = {"route", "result", NULL};

static void register_metrics(struct px_health *h) {
  const struct tc_host *host = h->p->host;
  static const struct tc_metric_desc up = {
      sizeof(struct tc_metric_desc),
      "tunnel_client_proxy_healthy",
      "1 when the last proxy health check (CONNECT) succeeded",
      TC_METRIC_GAUGE,
      px_route_labels,
      NULL,
      0};
  static const struct tc_metric_desc checks = {
      sizeof(struct tc_metric_desc),
      "tunnel_client_proxy_checks_total",
      "Proxy health checks by result",
      TC_METRIC_COUNTER,
      px_check_labels,
      NULL,
      0};
  static const struct tc_metric_desc configured = {
      sizeof(struct tc_metric_desc),
      "tunnel_client_proxy_configured",
      "1 when the route goes through a proxy now (the proxy settings, or "
      "HTTPS_PROXY/HTTP_PROXY), else 0",
      TC_METRIC_GAUGE,
      px_route_labels,
      NULL,
      0};
  char *err = NULL;
  h->up = host->metric_register(host, &up, &err);
  host->free(err);
  err = NULL;
  h->checks = host->metric_register(host, &checks, &err);
  host->free(err);
  err = NULL;
  h->configured = host->metric_register(host, &configured, &err);
  host->free(err);
}

/* Publish whether the control-plane route uses a proxy now (and, when it
 * starts to, that the new proxy is not known healthy yet). */
static void publish_configured(struct px_health *h, int on) {
  const struct tc_host *host = h->p->host;
  const char *route[] = {"control_plane"};
  if (on && h->up != NULL)
    host->metric_set(h->up, route, 0);
  if (h->configured != NULL)
    host->metric_set(h->configured, route, on ? 1 : 0);
}

/* One CONNECT through the proxy. 1 healthy, 0 not; *why gets a short
 * reason (static or from libcurl). */
static int check_once(struct px_health *h, long *code, char *why,
                      size_t whylen) {
  CURL *c = curl_easy_init();
  if (c == NULL) {
    snprintf(why, whylen, "out of memory");
    return 0;
  }
  char errbuf[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(c, CURLOPT_URL, h->target);
  curl_easy_setopt(c, CURLOPT_PROXY, h->proxy);
  curl_easy_setopt(c, CURLOPT_NOPROXY, "");
  curl_easy_setopt(c, CURLOPT_HTTPPROXYTUNNEL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  if (h->p->ca_pem != NULL) {
    struct curl_blob blob = {h->p->ca_pem, h->p->ca_len, CURL_BLOB_COPY};
    curl_easy_setopt(c, CURLOPT_PROXY_CAINFO_BLOB, &blob);
  }
  CURLcode rc = curl_easy_perform(c);
  *code = 0;
  curl_easy_getinfo(c, CURLINFO_HTTP_CONNECTCODE, code);
  curl_easy_cleanup(c);
  if (rc == CURLE_OK && *code >= 200 && *code < 300)
    return 1;
  if (*code != 0)
    snprintf(why, whylen, "CONNECT answered HTTP %ld", *code);
  else
    snprintf(why, whylen, "%s",
             errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));
  return 0;
}

static void *checker(void *arg) {
  struct px_health *h = arg;
  const struct tc_host *host = h->p->host;
  const char *route[] = {"control_plane"};
  pthread_mutex_lock(&h->mu);
  while (!h->stopping) {
    pthread_mutex_unlock(&h->mu);
    long code = 0;
    char why[CURL_ERROR_SIZE + 64] = "";
    int ok = check_once(h, &code, why, sizeof(why));
    const char *res[] = {"control_plane", ok ? "healthy" : "unhealthy"};
    if (h->up != NULL)
      host->metric_set(h->up, route, ok ? 1 : 0);
    if (h->checks != NULL)
      host->metric_add(h->checks, res, 1);
    pthread_mutex_lock(&h->mu);
    const char *was = h->checked ? h->state : "unknown";
    h->checked = 1;
    h->state = ok ? "healthy" : "unhealthy";
    pthread_mutex_unlock(&h->mu);
    if (ok && strcmp(was, "healthy") != 0)
      host->log(host, TC_LOG_INFO, "health",
                "proxy %s is healthy (CONNECT to the control plane "
                "succeeded)",
                h->proxy_shown);
    else if (!ok)
      host->log(host,
                strcmp(was, "unhealthy") != 0 ? TC_LOG_WARN : TC_LOG_DEBUG,
                "health", "proxy %s is unhealthy: %s", h->proxy_shown, why);
    pthread_mutex_lock(&h->mu);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    int64_t ms = h->p->check_interval_ms > 0 ? h->p->check_interval_ms : 60000;
    until.tv_sec += (time_t)(ms / 1000);
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
      until.tv_sec++;
      until.tv_nsec -= 1000000000L;
    }
    while (!h->stopping && pthread_cond_timedwait(&h->cv, &h->mu, &until) == 0)
      ;
  }
  pthread_mutex_unlock(&h->mu);
  return NULL;
}

static int px_configured_seen(void *ud, const struct tc_metric_sample *s) {
  if (strcmp(s->desc->name, "tunnel_client_proxy_configured") == 0)
    *(int *)ud = 1;
  return TC_OK;
}

int px_health_start(struct px_inst *p, const char *proxy, char **errmsg) {
  const struct tc_host *host = p->host;
  if (proxy == NULL || p->cp_base == NULL) {
    host->log(host, TC_LOG_DEBUG, "health",
              "no proxy for the control plane: proxy health is \"direct\"");
    int had_proxy = 0; /* an earlier instance (before a reload) had one */
    host->metrics_visit(host, px_configured_seen, &had_proxy);
    if (had_proxy) {
      struct px_health direct;
      memset(&direct, 0, sizeof(direct));
      direct.p = p;
      register_metrics(&direct);
      publish_configured(&direct, 0);
    }
    return TC_OK;
  }
  struct px_health *h = calloc(1, sizeof(*h));
  if (h == NULL)
    return TC_ENOMEM;
  h->p = p;
  h->state = "unhealthy";
  h->proxy = strdup(proxy);
  h->proxy_shown = px_origin(proxy);
  char *cp = px_origin(p->cp_base);
  const char *hostport = cp != NULL ? strstr(cp, "://") : NULL;
  if (hostport != NULL && asprintf(&h->target, "http://%s/", hostport + 3) < 0)
    h->target = NULL;
  free(cp);
  if (h->proxy == NULL || h->proxy_shown == NULL || h->target == NULL) {
    free(h->proxy);
    free(h->proxy_shown);
    free(h->target);
    free(h);
    *errmsg = host->format("proxy health: cannot parse the proxy or the "
                           "control-plane URL");
    return TC_ECONFIG;
  }
  register_metrics(h);
  publish_configured(h, 1);
  pthread_mutex_init(&h->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_cond_init(&h->cv, &ca);
  pthread_condattr_destroy(&ca);
  if (pthread_create(&h->thread, NULL, checker, h) != 0) {
    pthread_cond_destroy(&h->cv);
    pthread_mutex_destroy(&h->mu);
    free(h->proxy);
    free(h->proxy_shown);
    free(h->target);
    free(h);
    *errmsg = host->format("proxy health: cannot start the checker thread");
    return TC_ERR;
  }
  h->running = 1;
  p->health = h;
  return TC_OK;
}

void px_health_stop(struct px_inst *p) {
  struct px_health *h = p->health;
  if (h == NULL)
    return;
  pthread_mutex_lock(&h->mu);
  h->stopping = 1;
  pthread_cond_broadcast(&h->cv);
  pthread_mutex_unlock(&h->mu);
  if (h->running)
    pthread_join(h->thread, NULL);
  pthread_cond_destroy(&h->cv);
  pthread_mutex_destroy(&h->mu);
  free(h->proxy);
  free(h->proxy_shown);
  free(h->target);
  free(h);
  p->health = NULL;
}
