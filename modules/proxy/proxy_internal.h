/* proxy_internal.h — shared by the proxy module's files: proxy.c (net hook,
 * proxy selection), proxy_tls.c (CA bundle, client certificates, origins)
 * and proxy_health.c (periodic CONNECT check). Not part of the SDK. */
#ifndef TC_PROXY_INTERNAL_H
#define TC_PROXY_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <tc/tc.h>

struct px_health;

/* One verified per-binding client certificate pair, by path (copies: an
 * instance may see bindings of several configurations across reloads). */
struct px_checked_pair {
  char *cert, *key;
  int ok;
};

struct px_inst {
  const struct tc_host *host;
  char *global;        /* http_proxy (may hold credentials: never logged) */
  char *mcp;           /* mcp.http_proxy */
  char *control_plane; /* control_plane.http_proxy */
  char *cp_base;       /* control_plane.base_url */
  char *main_url;      /* the main binding's URL (origin checks), or NULL */
  char *ca_pem;        /* system roots + ca_bundle, or NULL (system only) */
  size_t ca_len;
  int ca_count; /* certificates in ca_bundle */
  char *cp_cert, *cp_key, *mcp_cert, *mcp_key;
  int64_t check_interval_ms;
  pthread_mutex_t lock; /* guards pairs */
  struct px_checked_pair *pairs;
  size_t npairs;
  struct px_health *health;
};

/* ---- proxy_tls.c --------------------------------------------------------- */

/* Read the CA bundle at `path` (PEM, one or more certificates) and append
 * it to the system roots libcurl would use. TC_OK with *pem (malloc()ed),
 * *len and *count; < 0 with *errmsg when the file is unreadable or holds
 * no certificate. */
int px_ca_load(const char *path, char **pem, size_t *len, int *count,
               char **errmsg);
/* TC_OK when the PEM key at key_path is the private key of the PEM
 * certificate at cert_path; < 0 with *errmsg naming `what` otherwise. */
int px_pair_check(const char *what, const char *cert_path, const char *key_path,
                  char **errmsg);
/* 1 when both URLs have the same scheme, host (case-insensitive) and
 * port. */
int px_same_origin(const char *a, const char *b);
/* "scheme://host:port" of `url` without credentials, path or query
 * (malloc()ed), or NULL. */
char *px_origin(const char *url);

/* ---- proxy_health.c ------------------------------------------------------ */

/* Start checking `proxy` (CONNECT to the control-plane origin) every
 * interval; the first check runs at once on the checker thread. TC_OK or
 * < 0 with *errmsg. With proxy == NULL the state is "direct" and no thread
 * runs. */
int px_health_start(struct px_inst *p, const char *proxy, char **errmsg);
void px_health_stop(struct px_inst *p);

#endif /* TC_PROXY_INTERNAL_H */
