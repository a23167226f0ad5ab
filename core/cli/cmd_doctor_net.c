/* cli/cmd_doctor_net.c — the doctor's MCP-side checks: is the MCP server
 * reachable, what OAuth metadata does it publish (both through the net
 * hooks `run` loads, prepared as the mcp-http transport and the auth-oauth
 * module prepare theirs), can the health listener bind. URLs shown in
 * results are origin + path only (no credentials, no query); header values
 * are never sent or shown. See cmd_doctor.h. */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cli/cmd_doctor.h"
#include "dispatch/dispatcher.h"
#include "loader/loader.h"
#include "util/net_listen.h"

#define BODY_MAX (256 * 1024)
#define REACH_TIMEOUT_MS 2000L
#define OAUTH_BUDGET_S 5

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

/* The origin of a URL (malloc()ed), or NULL. */
static char *url_origin(const char *url) {
  struct url_bits u;
  if (url_parse(url, &u) != 0)
    return NULL;
  char *o = origin_of(&u);
  url_bits_free(&u);
  return o;
}

static bool same_origin(const char *a, const char *b) {
  char *x = url_origin(a), *y = url_origin(b);
  bool same = x != NULL && y != NULL && strcasecmp(x, y) == 0;
  free(x);
  free(y);
  return same;
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

/* The MCP side of one probe: the binding as the transport sees it, and
 * the registry whose net hooks prepare every handle. */
struct mcp_side {
  const struct tc_config *cfg;
  const struct tc_binding_cfg *bc;
  struct tc_binding binding;
  const struct tc_registry *reg;
};

static void side_init(struct mcp_side *s, const struct tc_config *cfg,
                      const struct tc_binding_cfg *bc,
                      const struct tc_registry *reg) {
  s->cfg = cfg;
  s->bc = bc;
  s->reg = reg;
  tc_binding_from_cfg(&s->binding, cfg, bc, bc->channel, NULL);
}

/* Where the client certificate for the MCP origin comes from. */
static const char *mcp_cert(const struct mcp_side *s) {
  if (s->bc->client_cert != NULL && s->bc->client_key != NULL)
    return s->bc->client_cert;
  if (s->cfg->mcp_client_cert != NULL && s->cfg->mcp_client_key != NULL)
    return s->cfg->mcp_client_cert;
  return NULL;
}

/* What one GET showed. */
struct get_outcome {
  long status;   /* HTTP status (also of a reply cut short), or 0 */
  int curl_code; /* CURLE_OK when the transfer completed */
  char errtext[CURL_ERROR_SIZE + 64];
  bool prepare_failed; /* a net hook refused the request: errtext */
  bool connected;      /* connected (and, for https, TLS done) */
  char peer[64];       /* "ip:port" connected to, or "" */
  bool tls_done;       /* an https handshake with the origin completed */
};

/* GET url as the agent would make it: for purpose TC_NET_MCP the
 * transport's own options (unix socket, the binding's client pair) and
 * then the net hooks with the binding; for TC_NET_OAUTH_METADATA the net
 * hooks without a binding, like auth-oauth (a unix socket only for the
 * MCP server's own origin). */
static void http_get(const char *url, const struct mcp_side *s, int purpose,
                     long timeout_ms, struct body *body,
                     struct get_outcome *o) {
  memset(o, 0, sizeof(*o));
  CURL *c = curl_easy_init();
  if (c == NULL) {
    o->curl_code = CURLE_OUT_OF_MEMORY;
    snprintf(o->errtext, sizeof(o->errtext), "cannot start an HTTP request");
    return;
  }
  char errbuf[CURL_ERROR_SIZE] = "";
  struct curl_slist *hdrs =
      curl_slist_append(NULL, "Accept: application/json, text/event-stream");
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "tunnel-client-doctor");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
  const struct tc_binding *b = &s->binding;
  bool own_origin = b->url != NULL && same_origin(url, b->url);
  if (b->unix_socket != NULL && b->unix_socket[0] != '\0' && own_origin)
    curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, b->unix_socket);
  if (purpose == TC_NET_MCP && b->client_cert != NULL &&
      b->client_key != NULL) {
    curl_easy_setopt(c, CURLOPT_SSLCERT, b->client_cert);
    curl_easy_setopt(c, CURLOPT_SSLKEY, b->client_key);
  }
  char *herr = NULL;
  if (s->reg != NULL &&
      tc_registry_net_prepare(s->reg, c, purpose, url,
                              purpose == TC_NET_MCP ? b : NULL, &herr) < 0) {
    o->prepare_failed = true;
    snprintf(o->errtext, sizeof(o->errtext), "%s",
             herr != NULL ? herr : "a net hook refused the connection");
    free(herr);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    return;
  }
  free(herr);
  CURLcode rc = curl_easy_perform(c);
  o->curl_code = (int)rc;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &o->status);
  char *ip = NULL;
  long port = 0;
  if (curl_easy_getinfo(c, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK &&
      ip != NULL && ip[0] != '\0' &&
      curl_easy_getinfo(c, CURLINFO_PRIMARY_PORT, &port) == CURLE_OK)
    snprintf(o->peer, sizeof(o->peer), "%s%s%s:%ld", strchr(ip, ':') ? "[" : "",
             ip, strchr(ip, ':') ? "]" : "", port);
  if (rc != CURLE_OK) {
    snprintf(o->errtext, sizeof(o->errtext), "%s",
             errbuf[0] ? errbuf : curl_easy_strerror(rc));
    curl_off_t tcp = 0, tls = 0;
    curl_easy_getinfo(c, CURLINFO_CONNECT_TIME_T, &tcp);
    curl_easy_getinfo(c, CURLINFO_APPCONNECT_TIME_T, &tls);
    o->tls_done = strncasecmp(url, "https:", 6) == 0 && tls > 0;
    o->connected = tcp > 0 && (strncasecmp(url, "https:", 6) != 0 || tls > 0);
  }
  curl_slist_free_all(hdrs);
  curl_easy_cleanup(c);
}

static void mcp_context(const struct mcp_side *s, const char *origin,
                        const struct get_outcome *o, long timeout_s,
                        struct tc_conn_context *t) {
  memset(t, 0, sizeof(*t));
  t->origin = origin;
  t->peer = o->peer[0] != '\0' ? o->peer : NULL;
  t->tls_done = o->tls_done;
  t->url_setting = "the MCP server URL (--mcp.server-url, mcp.server_urls)";
  t->proxy_settings = "the binding's http-proxy=, --mcp.http-proxy, "
                      "--http-proxy or HTTPS_PROXY/NO_PROXY";
  t->ca_bundle = s->cfg->ca_bundle != NULL && s->cfg->ca_bundle[0] != '\0'
                     ? s->cfg->ca_bundle
                     : NULL;
  t->ca_applies = s->reg != NULL && s->reg->net_count > 0;
  t->client_cert = mcp_cert(s);
  t->cert_flags = "--mcp.client-cert and --mcp.client-key (or the binding's "
                  "client-cert=/client-key=)";
  t->timeout_s = timeout_s;
}

void tc_probe_mcp_reachable(const struct tc_config *cfg,
                            const struct tc_binding_cfg *b,
                            const struct tc_registry *reg,
                            struct tc_probe_result *out) {
  memset(out, 0, sizeof(*out));
  struct mcp_side s;
  side_init(&s, cfg, b, reg);
  char *shown = shown_url(b->url);
  char *origin = url_origin(b->url);
  const char *url_shown = shown != NULL ? shown : "";
  struct body body = {NULL, 0};
  struct get_outcome o;
  http_get(b->url, &s, TC_NET_MCP, REACH_TIMEOUT_MS, &body, &o);
  free(body.data);
  if (b->unix_socket != NULL && b->unix_socket[0] != '\0')
    tc_probe_evidence(out, "via unix socket %s", b->unix_socket);
  if (o.prepare_failed) {
    tc_probe_evidence(out, "net hook: %s", o.errtext);
    tc_probe_summary(out, false, "the request to %s could not be set up: %s",
                     url_shown, o.errtext);
    tc_probe_next(out, "Fix the setting named above (network_settings shows "
                       "what the agent applies)");
  } else if (o.status == 407) {
    tc_probe_evidence(out, "GET %s -> HTTP 407 from the proxy", url_shown);
    tc_probe_summary(out, false,
                     "the proxy on the way to %s asks for credentials (HTTP "
                     "407 Proxy Authentication Required)",
                     url_shown);
    tc_probe_next(out, "Put the proxy's user and password in its URL "
                       "(http://user:password@proxy:port) in the binding's "
                       "http-proxy=, --mcp.http-proxy or --http-proxy");
  } else if (o.status > 0) {
    tc_probe_evidence(out, "GET %s -> HTTP %ld", url_shown, o.status);
    tc_probe_summary(out, true, "HTTP %ld from %s", o.status, url_shown);
  } else if (o.curl_code == CURLE_OPERATION_TIMEDOUT && o.connected) {
    tc_probe_evidence(out, "GET %s: connected, no HTTP answer within %ld ms",
                      url_shown, REACH_TIMEOUT_MS);
    tc_probe_summary(
        out, true,
        "%s accepts connections (no HTTP answer to GET within 2 s: the "
        "server may hold it open)",
        url_shown);
  } else {
    struct tc_conn_context t;
    mcp_context(&s, origin != NULL ? origin : url_shown, &o,
                REACH_TIMEOUT_MS / 1000, &t);
    tc_probe_explain_failure(o.curl_code, o.errtext, &t, out);
  }
  free(origin);
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
 * problem (evidence recorded; a TLS failure also becomes *tls, the
 * summary that names it, with its next steps added to out). */
static int fetch_doc(const char *url, const struct mcp_side *s,
                     const struct timespec *deadline, json_t **doc,
                     struct tc_probe_result *out, char **tls) {
  *doc = NULL;
  long left = remaining_ms(deadline);
  if (left <= 0) {
    tc_probe_evidence(out, "GET %s skipped: the 5s discovery budget is spent",
                      url);
    return -1;
  }
  struct body body = {NULL, 0};
  struct get_outcome o;
  http_get(url, s, TC_NET_OAUTH_METADATA, left, &body, &o);
  int rc = -1;
  if (o.prepare_failed) {
    tc_probe_evidence(out, "GET %s not sent: %s", url, o.errtext);
  } else if (o.curl_code != CURLE_OK) {
    char *origin = url_origin(url);
    struct tc_conn_context t;
    mcp_context(s, origin != NULL ? origin : url, &o, left / 1000, &t);
    struct tc_probe_result why;
    memset(&why, 0, sizeof(why));
    bool is_tls = tc_probe_explain_failure(o.curl_code, o.errtext, &t, &why);
    tc_probe_evidence(out, "GET %s failed: %s", url, o.errtext);
    if (is_tls && *tls == NULL && why.summary != NULL) {
      *tls = strdup(why.summary);
      for (size_t i = 0; i < why.n_next; i++)
        tc_probe_next(out, "%s", why.next[i]);
    }
    tc_probe_result_free(&why);
    free(origin);
  } else if (o.status == 404) {
    tc_probe_evidence(out, "GET %s -> 404", url);
    rc = 0;
  } else if (o.status != 200) {
    tc_probe_evidence(out, "GET %s -> HTTP %ld (expected 200 or 404)", url,
                      o.status);
  } else {
    json_error_t jerr;
    json_t *j = body.data ? json_loadb(body.data, body.len, 0, &jerr) : NULL;
    if (!json_is_object(j)) {
      tc_probe_evidence(out, "GET %s -> 200 but the body is not a JSON object",
                        url);
      json_decref(j);
    } else {
      tc_probe_evidence(out, "GET %s -> 200", url);
      *doc = j;
      rc = 1;
    }
  }
  free(body.data);
  return rc;
}

void tc_probe_oauth_metadata(const struct tc_config *cfg,
                             const struct tc_binding_cfg *b,
                             const struct tc_registry *reg,
                             struct tc_probe_result *out) {
  memset(out, 0, sizeof(*out));
  struct mcp_side side;
  side_init(&side, cfg, b, reg);
  struct timespec deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  deadline.tv_sec += OAUTH_BUDGET_S;
  char *tls = NULL;

  char *prmd_urls[2] = {well_known(b->url, "oauth-protected-resource", true),
                        well_known(b->url, "oauth-protected-resource", false)};
  json_t *prmd = NULL;
  bool problem = false;
  const char *prmd_at = NULL;
  for (int i = 0; i < 2 && prmd == NULL && !problem; i++) {
    if (prmd_urls[i] == NULL || (i == 1 && prmd_urls[0] != NULL &&
                                 strcmp(prmd_urls[0], prmd_urls[1]) == 0))
      continue;
    int rc = fetch_doc(prmd_urls[i], &side, &deadline, &prmd, out, &tls);
    problem = rc < 0;
    if (rc == 1)
      prmd_at = prmd_urls[i];
  }
  if (problem) {
    if (tls != NULL)
      tc_probe_summary(out, false,
                       "%s (fetching the protected resource metadata)", tls);
    else
      tc_probe_summary(out, false,
                       "OAuth protected resource metadata could not be "
                       "read");
    goto done;
  }
  if (prmd == NULL) {
    tc_probe_summary(out, true,
                     "no OAuth metadata published (every candidate "
                     "answered 404): the server is used without OAuth");
    goto done;
  }
  json_t *as = json_object_get(prmd, "authorization_servers");
  const char *as_url = json_string_value(json_array_get(as, 0));
  if (as_url == NULL || (strncmp(as_url, "https://", 8) != 0 &&
                         strncmp(as_url, "http://", 7) != 0)) {
    tc_probe_evidence(out, "%s has no authorization_servers[0] URL", prmd_at);
    tc_probe_summary(out, false,
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
    int rc = fetch_doc(as_urls[i], &side, &deadline, &asm_doc, out, &tls);
    problem = rc < 0;
    if (rc == 1)
      as_at = as_urls[i];
  }
  if (asm_doc != NULL &&
      json_string_value(json_object_get(asm_doc, "issuer")) != NULL) {
    tc_probe_summary(out, true,
                     "protected resource metadata and authorization "
                     "server metadata found (%s)",
                     as_at);
  } else if (asm_doc != NULL) {
    tc_probe_evidence(out, "%s has no issuer", as_at);
    tc_probe_summary(out, false, "authorization server metadata has no issuer");
  } else if (tls != NULL) {
    tc_probe_summary(out, false,
                     "%s (fetching the authorization server metadata)", tls);
  } else {
    tc_probe_summary(out, false,
                     "authorization server metadata not found for %s", as_url);
  }
  json_decref(asm_doc);
  for (int i = 0; i < 3; i++)
    free(as_urls[i]);
done:
  free(tls);
  json_decref(prmd);
  free(prmd_urls[0]);
  free(prmd_urls[1]);
}

static void bind_unix(const char *path, struct tc_probe_result *out) {
  struct stat st;
  if (lstat(path, &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      tc_probe_summary(out, false, "%s exists and is not a socket", path);
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
      tc_probe_summary(
          out, false, "a process is already listening on unix socket %s", path);
      return;
    }
    tc_probe_evidence(out,
                      "a stale socket file is there; the agent replaces it");
    tc_probe_summary(out, true, "will bind unix socket %s", path);
    return;
  }
  char *dir = strdup(path);
  char *slash = dir ? strrchr(dir, '/') : NULL;
  if (slash != NULL)
    *(slash == dir ? slash + 1 : slash) = '\0';
  const char *d = slash != NULL ? dir : ".";
  if (access(d, W_OK | X_OK) != 0)
    tc_probe_summary(out, false,
                     "cannot create unix socket %s: directory %s: %s", path, d,
                     strerror(errno));
  else
    tc_probe_summary(out, true, "will bind unix socket %s", path);
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
    tc_probe_evidence(out, "bind %s: %s", addr, err ? err : "failed");
    tc_probe_summary(out, false, "cannot bind %s: %s", addr,
                     err ? err : "failed");
    free(err);
    return;
  }
  close(l.fd);
  size_t al = strlen(addr);
  bool ephemeral = al >= 2 && strcmp(addr + al - 2, ":0") == 0;
  tc_probe_evidence(out, "bound %s and closed it again", l.base_url);
  if (ephemeral) {
    tc_probe_summary(out, true,
                     "ephemeral bind ok (the port is chosen at start; "
                     "--health.url-file records it)");
  } else {
    tc_probe_summary(out, true, "will bind %s", l.base_url);
    if (asprintf(ui_url, "%s/ui", l.base_url) < 0)
      *ui_url = NULL;
  }
  free(l.base_url);
}
