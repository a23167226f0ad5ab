/* cli/cmd_doctor_net.c — the doctor's network checks: is the MCP server
 * reachable, what OAuth metadata does it publish, can the health listener
 * bind. URLs shown in results are origin + path only (no credentials, no
 * query); header values are never sent or shown. See cmd_doctor.h. */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cli/cmd_doctor.h"
#include "util/net_listen.h"

#define BODY_MAX (256 * 1024)

void tc_probe_result_free(struct tc_probe_result *r) {
  free(r->summary);
  for (size_t i = 0; i < r->n_evidence; i++)
    free(r->evidence[i]);
  memset(r, 0, sizeof(*r));
}

static void evidence(struct tc_probe_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void evidence(struct tc_probe_result *r, const char *fmt, ...) {
  if (r->n_evidence >= sizeof(r->evidence) / sizeof(r->evidence[0]))
    return;
  va_list ap;
  va_start(ap, fmt);
  char *s = NULL;
  if (vasprintf(&s, fmt, ap) >= 0)
    r->evidence[r->n_evidence++] = s;
  va_end(ap);
}

static void summary(struct tc_probe_result *r, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void summary(struct tc_probe_result *r, bool ok, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  free(r->summary);
  r->summary = NULL;
  if (vasprintf(&r->summary, fmt, ap) < 0)
    r->summary = NULL;
  va_end(ap);
  r->ok = ok;
}

/* URL pieces through libcurl's parser. */
struct url_bits {
  char *scheme, *host, *port, *path;
};

static void url_bits_free(struct url_bits *u) {
  curl_free(u->scheme);
  curl_free(u->host);
  curl_free(u->port);
  curl_free(u->path);
  memset(u, 0, sizeof(*u));
}

static int url_parse(const char *url, struct url_bits *u) {
  memset(u, 0, sizeof(*u));
  CURLU *h = curl_url();
  if (h == NULL)
    return -1;
  int rc = -1;
  if (curl_url_set(h, CURLUPART_URL, url, 0) == CURLUE_OK &&
      curl_url_get(h, CURLUPART_SCHEME, &u->scheme, 0) == CURLUE_OK &&
      curl_url_get(h, CURLUPART_HOST, &u->host, 0) == CURLUE_OK &&
      curl_url_get(h, CURLUPART_PORT, &u->port, CURLU_DEFAULT_PORT) ==
          CURLUE_OK &&
      curl_url_get(h, CURLUPART_PATH, &u->path, 0) == CURLUE_OK)
    rc = 0;
  curl_url_cleanup(h);
  if (rc != 0)
    url_bits_free(u);
  return rc;
}

/* "scheme://host:port" (host bracketed when it is IPv6). */
static char *origin_of(const struct url_bits *u) {
  char *s = NULL;
  bool v6 = strchr(u->host, ':') != NULL && u->host[0] != '[';
  if (asprintf(&s, "%s://%s%s%s:%s", u->scheme, v6 ? "[" : "", u->host,
               v6 ? "]" : "", u->port) < 0)
    return NULL;
  return s;
}

/* A printable form of a URL: origin + path. */
static char *shown_url(const char *url) {
  struct url_bits u;
  if (url_parse(url, &u) != 0)
    return strdup("(unparsable URL)");
  char *o = origin_of(&u), *s = NULL;
  if (o == NULL || asprintf(&s, "%s%s", o, u.path) < 0)
    s = NULL;
  free(o);
  url_bits_free(&u);
  return s;
}

struct body {
  char *data;
  size_t len;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  struct body *b = ud;
  size_t add = size * n;
  if (b->len + add > BODY_MAX)
    return add; /* keep the first part only */
  char *nd = realloc(b->data, b->len + add + 1);
  if (nd == NULL)
    return 0;
  memcpy(nd + b->len, p, add);
  b->len += add;
  nd[b->len] = '\0';
  b->data = nd;
  return add;
}

/* Where the request goes and how: from the binding and the config. */
struct http_target {
  const char *unix_socket;
  const char *proxy;
  const char *ca_bundle;
  const char *client_cert, *client_key;
};

static void target_of(const struct tc_config *cfg,
                      const struct tc_binding_cfg *b, struct http_target *t) {
  memset(t, 0, sizeof(*t));
  t->unix_socket = b->unix_socket && *b->unix_socket ? b->unix_socket : NULL;
  t->proxy = b->http_proxy && *b->http_proxy               ? b->http_proxy
             : cfg->mcp_http_proxy && *cfg->mcp_http_proxy ? cfg->mcp_http_proxy
             : cfg->http_proxy && *cfg->http_proxy         ? cfg->http_proxy
                                                           : NULL;
  t->ca_bundle = cfg->ca_bundle && *cfg->ca_bundle ? cfg->ca_bundle : NULL;
  t->client_cert = b->client_cert ? b->client_cert : cfg->mcp_client_cert;
  t->client_key = b->client_key ? b->client_key : cfg->mcp_client_key;
}

/* GET url: returns the HTTP status, or -1 with *why (curl's text). */
static long http_get(const char *url, const struct http_target *t,
                     long timeout_ms, struct body *body, char *why,
                     size_t whylen) {
  CURL *c = curl_easy_init();
  if (c == NULL) {
    snprintf(why, whylen, "cannot start an HTTP request");
    return -1;
  }
  char errbuf[CURL_ERROR_SIZE] = "";
  struct curl_slist *hdrs =
      curl_slist_append(NULL, "Accept: application/json, text/event-stream");
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "tunnel-client-doctor");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
  if (t->unix_socket != NULL)
    curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, t->unix_socket);
  if (t->proxy != NULL)
    curl_easy_setopt(c, CURLOPT_PROXY, t->proxy);
  if (t->ca_bundle != NULL)
    curl_easy_setopt(c, CURLOPT_CAINFO, t->ca_bundle);
  if (t->client_cert != NULL && t->client_key != NULL) {
    curl_easy_setopt(c, CURLOPT_SSLCERT, t->client_cert);
    curl_easy_setopt(c, CURLOPT_SSLKEY, t->client_key);
  }
  CURLcode rc = curl_easy_perform(c);
  long status = -1;
  if (rc == CURLE_OK)
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  else
    snprintf(why, whylen, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
  curl_slist_free_all(hdrs);
  curl_easy_cleanup(c);
  return status;
}

/* A plain TCP (or unix socket) connect within timeout_ms. */
static int dial(const char *url, const struct http_target *t, long timeout_ms,
                char *why, size_t whylen) {
  struct url_bits u;
  if (url_parse(url, &u) != 0) {
    snprintf(why, whylen, "cannot parse the URL");
    return -1;
  }
  char *plain = NULL;
  bool v6 = strchr(u.host, ':') != NULL && u.host[0] != '[';
  if (asprintf(&plain, "http://%s%s%s:%s/", v6 ? "[" : "", u.host,
               v6 ? "]" : "", u.port) < 0)
    plain = NULL;
  url_bits_free(&u);
  CURL *c = plain != NULL ? curl_easy_init() : NULL;
  if (c == NULL) {
    free(plain);
    snprintf(why, whylen, "out of memory");
    return -1;
  }
  char errbuf[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(c, CURLOPT_URL, plain);
  curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  if (t->unix_socket != NULL)
    curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, t->unix_socket);
  CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK)
    snprintf(why, whylen, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
  curl_easy_cleanup(c);
  free(plain);
  return rc == CURLE_OK ? 0 : -1;
}

void tc_probe_mcp_reachable(const struct tc_config *cfg,
                            const struct tc_binding_cfg *b,
                            struct tc_probe_result *out) {
  memset(out, 0, sizeof(*out));
  struct http_target t;
  target_of(cfg, b, &t);
  char *shown = shown_url(b->url);
  char why[CURL_ERROR_SIZE + 64] = "";
  struct body body = {NULL, 0};
  long status = http_get(b->url, &t, 2000, &body, why, sizeof(why));
  free(body.data);
  if (t.unix_socket != NULL)
    evidence(out, "via unix socket %s", t.unix_socket);
  if (t.proxy != NULL)
    evidence(out, "through the configured HTTP proxy");
  if (status > 0) {
    evidence(out, "GET %s -> HTTP %ld", shown ? shown : "", status);
    summary(out, true, "HTTP %ld from %s", status, shown ? shown : "");
  } else {
    evidence(out, "GET %s failed: %s", shown ? shown : "", why);
    char dwhy[CURL_ERROR_SIZE + 64] = "";
    if (dial(b->url, &t, 2000, dwhy, sizeof(dwhy)) == 0) {
      evidence(out, "TCP connect to the server's address succeeded");
      summary(out, true, "%s accepts connections (HTTP GET failed: %s)",
              shown ? shown : "", why);
    } else {
      evidence(out, "TCP connect failed: %s", dwhy);
      summary(out, false, "cannot reach %s: %s", shown ? shown : "", why);
    }
  }
  free(shown);
}

/* RFC 8414 / RFC 9728 well-known URL: the suffix goes between the origin
 * and the path. with_path=false drops the path. */
static char *well_known(const char *url, const char *suffix, bool with_path) {
  struct url_bits u;
  if (url_parse(url, &u) != 0)
    return NULL;
  char *o = origin_of(&u), *s = NULL;
  const char *path = with_path && strcmp(u.path, "/") != 0 ? u.path : "";
  size_t pl = strlen(path);
  while (pl > 0 && path[pl - 1] == '/')
    pl--;
  if (o == NULL ||
      asprintf(&s, "%s/.well-known/%s%.*s", o, suffix, (int)pl, path) < 0)
    s = NULL;
  free(o);
  url_bits_free(&u);
  return s;
}

static long remaining_ms(const struct timespec *deadline) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  long ms = (deadline->tv_sec - now.tv_sec) * 1000 +
            (deadline->tv_nsec - now.tv_nsec) / 1000000;
  return ms;
}

/* Fetch one metadata candidate. 1 found (*doc set), 0 HTTP 404, -1 a
 * problem (evidence recorded). */
static int fetch_doc(const char *url, const struct http_target *t,
                     const struct timespec *deadline, json_t **doc,
                     struct tc_probe_result *out) {
  *doc = NULL;
  long left = remaining_ms(deadline);
  if (left <= 0) {
    evidence(out, "GET %s skipped: the 5s discovery budget is spent", url);
    return -1;
  }
  char why[CURL_ERROR_SIZE + 64] = "";
  struct body body = {NULL, 0};
  long status = http_get(url, t, left, &body, why, sizeof(why));
  int rc = -1;
  if (status < 0) {
    evidence(out, "GET %s failed: %s", url, why);
  } else if (status == 404) {
    evidence(out, "GET %s -> 404", url);
    rc = 0;
  } else if (status != 200) {
    evidence(out, "GET %s -> HTTP %ld (expected 200 or 404)", url, status);
  } else {
    json_error_t jerr;
    json_t *j = body.data ? json_loadb(body.data, body.len, 0, &jerr) : NULL;
    if (!json_is_object(j)) {
      evidence(out, "GET %s -> 200 but the body is not a JSON object", url);
      json_decref(j);
    } else {
      evidence(out, "GET %s -> 200", url);
      *doc = j;
      rc = 1;
    }
  }
  free(body.data);
  return rc;
}

void tc_probe_oauth_metadata(const struct tc_config *cfg,
                             const struct tc_binding_cfg *b,
                             struct tc_probe_result *out) {
  memset(out, 0, sizeof(*out));
  struct http_target t;
  target_of(cfg, b, &t);
  struct timespec deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  deadline.tv_sec += 5;

  char *prmd_urls[2] = {well_known(b->url, "oauth-protected-resource", true),
                        well_known(b->url, "oauth-protected-resource", false)};
  json_t *prmd = NULL;
  bool problem = false;
  const char *prmd_at = NULL;
  for (int i = 0; i < 2 && prmd == NULL && !problem; i++) {
    if (prmd_urls[i] == NULL || (i == 1 && prmd_urls[0] != NULL &&
                                 strcmp(prmd_urls[0], prmd_urls[1]) == 0))
      continue;
    int rc = fetch_doc(prmd_urls[i], &t, &deadline, &prmd, out);
    problem = rc < 0;
    if (rc == 1)
      prmd_at = prmd_urls[i];
  }
  if (problem) {
    summary(out, false,
            "OAuth protected resource metadata could not be "
            "read");
    goto done;
  }
  if (prmd == NULL) {
    summary(out, true,
            "no OAuth metadata published (every candidate "
            "answered 404): the server is used without OAuth");
    goto done;
  }
  json_t *as = json_object_get(prmd, "authorization_servers");
  const char *as_url = json_string_value(json_array_get(as, 0));
  if (as_url == NULL || (strncmp(as_url, "https://", 8) != 0 &&
                         strncmp(as_url, "http://", 7) != 0)) {
    evidence(out, "%s has no authorization_servers[0] URL", prmd_at);
    summary(out, false,
            "protected resource metadata names no authorization "
            "server");
    goto done;
  }
  char *as_urls[3] = {well_known(as_url, "oauth-authorization-server", true),
                      well_known(as_url, "oauth-authorization-server", false),
                      well_known(as_url, "openid-configuration", true)};
  json_t *asm_doc = NULL;
  const char *as_at = NULL;
  for (int i = 0; i < 3 && asm_doc == NULL && !problem; i++) {
    if (as_urls[i] == NULL ||
        (i == 1 && as_urls[0] != NULL && strcmp(as_urls[0], as_urls[1]) == 0))
      continue;
    int rc = fetch_doc(as_urls[i], &t, &deadline, &asm_doc, out);
    problem = rc < 0;
    if (rc == 1)
      as_at = as_urls[i];
  }
  if (asm_doc != NULL &&
      json_string_value(json_object_get(asm_doc, "issuer")) != NULL) {
    summary(out, true,
            "protected resource metadata and authorization "
            "server metadata found (%s)",
            as_at);
  } else if (asm_doc != NULL) {
    evidence(out, "%s has no issuer", as_at);
    summary(out, false, "authorization server metadata has no issuer");
  } else {
    summary(out, false, "authorization server metadata not found for %s",
            as_url);
  }
  json_decref(asm_doc);
  for (int i = 0; i < 3; i++)
    free(as_urls[i]);
done:
  json_decref(prmd);
  free(prmd_urls[0]);
  free(prmd_urls[1]);
}

static void bind_unix(const char *path, struct tc_probe_result *out) {
  struct stat st;
  if (lstat(path, &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      summary(out, false, "%s exists and is not a socket", path);
      return;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    bool live = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    if (fd >= 0)
      close(fd);
    if (live) {
      summary(out, false, "a process is already listening on unix socket %s",
              path);
      return;
    }
    evidence(out, "a stale socket file is there; the agent replaces it");
    summary(out, true, "will bind unix socket %s", path);
    return;
  }
  char *dir = strdup(path);
  char *slash = dir ? strrchr(dir, '/') : NULL;
  if (slash != NULL)
    *(slash == dir ? slash + 1 : slash) = '\0';
  const char *d = slash != NULL ? dir : ".";
  if (access(d, W_OK | X_OK) != 0)
    summary(out, false, "cannot create unix socket %s: directory %s: %s", path,
            d, strerror(errno));
  else
    summary(out, true, "will bind unix socket %s", path);
  free(dir);
}

void tc_probe_health_bind(const struct tc_config *cfg,
                          struct tc_probe_result *out, char **ui_url) {
  memset(out, 0, sizeof(*out));
  *ui_url = NULL;
  if (cfg->health_unix_socket != NULL && *cfg->health_unix_socket != '\0') {
    bind_unix(cfg->health_unix_socket, out);
    return;
  }
  const char *addr =
      cfg->health_listen_addr ? cfg->health_listen_addr : "127.0.0.1:8080";
  struct tc_net_listen_names names = {"health", "--health.listen-addr",
                                      "HEALTH_LISTEN_ADDR"};
  struct tc_net_listener l;
  char *err = NULL;
  if (tc_net_listen_tcp(addr, &names, &l, &err) != 0) {
    evidence(out, "bind %s: %s", addr, err ? err : "failed");
    summary(out, false, "cannot bind %s: %s", addr, err ? err : "failed");
    free(err);
    return;
  }
  close(l.fd);
  size_t al = strlen(addr);
  bool ephemeral = al >= 2 && strcmp(addr + al - 2, ":0") == 0;
  evidence(out, "bound %s and closed it again", l.base_url);
  if (ephemeral) {
    summary(out, true,
            "ephemeral bind ok (the port is chosen at start; "
            "--health.url-file records it)");
  } else {
    summary(out, true, "will bind %s", l.base_url);
    if (asprintf(ui_url, "%s/ui", l.base_url) < 0)
      *ui_url = NULL;
  }
  free(l.base_url);
}
