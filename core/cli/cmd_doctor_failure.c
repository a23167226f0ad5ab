/* cli/cmd_doctor_failure.c — what a connection that got no HTTP answer
 * means, for doctor's network checks: TLS failures by their cause (server
 * certificate not trusted or not for this name, CA bundle or client
 * certificate unusable, client certificate refused or missing, not a TLS
 * server), and the rest (name resolution, proxy, connect, timeout), each
 * with the setting to fix. See cmd_doctor.h. */
#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cmd_doctor.h"

void tc_probe_result_free(struct tc_probe_result *r) {
  free(r->summary);
  for (size_t i = 0; i < r->n_evidence; i++)
    free(r->evidence[i]);
  for (size_t i = 0; i < r->n_next; i++)
    free(r->next[i]);
  memset(r, 0, sizeof(*r));
}

static char *vfmt(const char *fmt, va_list ap) TC_PRINTF(1, 0);
static char *vfmt(const char *fmt, va_list ap) {
  char *s = NULL;
  return vasprintf(&s, fmt, ap) < 0 ? NULL : s;
}

void tc_probe_evidence(struct tc_probe_result *r, const char *fmt, ...) {
  if (r->n_evidence >= sizeof(r->evidence) / sizeof(r->evidence[0]))
    return;
  va_list ap;
  va_start(ap, fmt);
  char *s = vfmt(fmt, ap);
  va_end(ap);
  if (s != NULL)
    r->evidence[r->n_evidence++] = s;
}

void tc_probe_next(struct tc_probe_result *r, const char *fmt, ...) {
  if (r->n_next >= sizeof(r->next) / sizeof(r->next[0]))
    return;
  va_list ap;
  va_start(ap, fmt);
  char *s = vfmt(fmt, ap);
  va_end(ap);
  if (s != NULL)
    r->next[r->n_next++] = s;
}

void tc_probe_summary(struct tc_probe_result *r, bool ok, const char *fmt,
                      ...) {
  va_list ap;
  va_start(ap, fmt);
  free(r->summary);
  r->summary = vfmt(fmt, ap);
  va_end(ap);
  r->ok = ok;
}

static bool has(const char *text, const char *needle) {
  return text != NULL && strcasestr(text, needle) != NULL;
}

/* The server ended the handshake with an alert about our certificate
 * (TLS 1.3 reports it on the first read, as a receive error). */
static bool client_cert_alert(const char *e) {
  return has(e, "alert") &&
         (has(e, "certificate required") || has(e, "bad certificate") ||
          has(e, "unknown ca") || has(e, "certificate unknown") ||
          has(e, "handshake failure") || has(e, "access denied") ||
          has(e, "certificate revoked") || has(e, "certificate expired") ||
          has(e, "decrypt error"));
}

/* The server closed an https connection right after the handshake
 * without a word: what a server does when it refuses the client
 * certificate after verifying it (TLS 1.3 verifies after the handshake). */
static bool closed_after_handshake(int rc, const struct tc_conn_context *t) {
  return t->tls_done && (rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR ||
                         rc == CURLE_GOT_NOTHING);
}

static bool tls_code(int rc, const char *e) {
  switch (rc) {
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CIPHER:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_USE_SSL_FAILED:
  case CURLE_SSL_ENGINE_NOTFOUND:
  case CURLE_SSL_ENGINE_SETFAILED:
  case CURLE_SSL_ENGINE_INITFAILED:
  case CURLE_SSL_SHUTDOWN_FAILED:
  case CURLE_SSL_CRL_BADFILE:
  case CURLE_SSL_ISSUER_ERROR:
  case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
  case CURLE_SSL_INVALIDCERTSTATUS:
  case CURLE_SSL_CLIENTCERT:
    return true;
  case CURLE_RECV_ERROR:
  case CURLE_SEND_ERROR:
    /* OpenSSL's read/write errors, e.g. an alert after the handshake */
    return has(e, "SSL") || has(e, "TLS") || client_cert_alert(e);
  default:
    return false;
  }
}

static void explain_tls(int rc, const char *e, const struct tc_conn_context *t,
                        struct tc_probe_result *out) {
  const char *o = t->origin;
  if (rc == CURLE_PEER_FAILED_VERIFICATION &&
      (has(e, "subject name") || has(e, "does not match") ||
       has(e, "doesn't match"))) {
    tc_probe_summary(out, false,
                     "TLS: the server certificate of %s is not issued for "
                     "that host name",
                     o);
    tc_probe_next(out, "Use the host name the server certificate names in the "
                       "URL, or have the certificate reissued for this name");
  } else if (rc == CURLE_PEER_FAILED_VERIFICATION && has(e, "expired")) {
    tc_probe_summary(out, false,
                     "TLS: the server certificate of %s has expired", o);
    tc_probe_next(out, "Renew the server certificate of %s", o);
  } else if (rc == CURLE_PEER_FAILED_VERIFICATION ||
             rc == CURLE_SSL_ISSUER_ERROR) {
    if (t->ca_bundle != NULL && t->ca_applies) {
      tc_probe_summary(out, false,
                       "TLS: the server certificate of %s is not trusted by "
                       "the CA bundle %s (nor by the system roots)",
                       o, t->ca_bundle);
      tc_probe_next(out,
                    "Add the certificate of the CA that issued the server "
                    "certificate of %s to %s (PEM)",
                    o, t->ca_bundle);
    } else if (t->ca_bundle != NULL) {
      tc_probe_summary(out, false,
                       "TLS: the server certificate of %s is not trusted by "
                       "the system roots, and the CA bundle %s is not applied "
                       "to this connection (no net hook module such as proxy "
                       "is loaded)",
                       o, t->ca_bundle);
      tc_probe_next(out, "Load the proxy module (remove the modules: list, or "
                         "add proxy to it) so that --ca-bundle applies");
    } else {
      tc_probe_summary(out, false,
                       "TLS: the server certificate of %s is not trusted by "
                       "the system roots (no --ca-bundle is set)",
                       o);
      tc_probe_next(out, "If the server uses a private CA, point --ca-bundle "
                         "(CA_BUNDLE, ca_bundle) at a PEM file with that CA's "
                         "certificate; it is added to the system roots");
    }
    tc_probe_next(out, "See what the server sends: openssl s_client -connect "
                       "<host>:<port> -showcerts");
  } else if (rc == CURLE_SSL_CACERT_BADFILE) {
    tc_probe_summary(out, false, "TLS: the CA bundle %s could not be loaded",
                     t->ca_bundle != NULL ? t->ca_bundle : "(system roots)");
    tc_probe_next(out, "Point --ca-bundle at a readable PEM file of one or "
                       "more CA certificates");
  } else if (rc == CURLE_SSL_CERTPROBLEM || rc == CURLE_SSL_CLIENTCERT) {
    tc_probe_summary(out, false,
                     "TLS: the client certificate %s could not be used for "
                     "%s",
                     t->client_cert != NULL ? t->client_cert : "(none)", o);
    tc_probe_next(out,
                  "Set %s to an unencrypted PEM certificate and the PEM "
                  "private key it was issued for",
                  t->cert_flags);
  } else if (client_cert_alert(e)) {
    if (t->client_cert != NULL) {
      tc_probe_summary(out, false, "TLS: %s refused the client certificate %s",
                       o, t->client_cert);
      tc_probe_next(out,
                    "Use a client certificate issued by a CA that %s "
                    "trusts (%s)",
                    o, t->cert_flags);
    } else {
      tc_probe_summary(out, false,
                       "TLS: %s requires a client certificate and none is "
                       "configured",
                       o);
      tc_probe_next(out,
                    "Set %s to the certificate and key issued for this "
                    "client",
                    t->cert_flags);
    }
  } else if (has(e, "wrong version number") || has(e, "unexpected eof") ||
             has(e, "packet length too long") || has(e, "record layer")) {
    tc_probe_summary(out, false,
                     "TLS: %s does not answer TLS (is it a plain http:// "
                     "server, or the wrong port?)",
                     o);
    tc_probe_next(out, "Use http:// if the server has no TLS, or the port "
                       "where it serves https://");
  } else {
    tc_probe_summary(out, false, "TLS: the handshake with %s failed", o);
    tc_probe_next(out, "Check the server's TLS setup: openssl s_client "
                       "-connect <host>:<port>");
  }
}

/* The port of an origin ("https://h" = 443), or 0. */
static long origin_port(const char *origin) {
  CURLU *u = curl_url();
  char *port = NULL;
  long p = 0;
  if (u != NULL && curl_url_set(u, CURLUPART_URL, origin, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK)
    p = strtol(port, NULL, 10);
  curl_free(port);
  curl_url_cleanup(u);
  return p;
}

/* The port libcurl connected to or tried: from its connection info, else
 * from its "Failed to connect to HOST port N" text; 0 when unknown. */
static long tried_port(const struct tc_conn_context *t, const char *e) {
  const char *colon = t->peer != NULL ? strrchr(t->peer, ':') : NULL;
  if (colon != NULL)
    return strtol(colon + 1, NULL, 10);
  const char *at = strstr(e, "Failed to connect to ");
  at = at != NULL ? strstr(at, " port ") : NULL;
  return at != NULL ? strtol(at + 6, NULL, 10) : 0;
}

/* The address libcurl tried is not the origin's: a proxy's. */
static bool via_proxy(const struct tc_conn_context *t, const char *e) {
  long tried = tried_port(t, e), want = origin_port(t->origin);
  return tried > 0 && want > 0 && tried != want;
}

/* The address to show for the proxy: the peer, else the error's host. */
static void proxy_addr(const struct tc_conn_context *t, const char *e,
                       char *out, size_t len) {
  if (t->peer != NULL) {
    snprintf(out, len, "%s", t->peer);
    return;
  }
  const char *at = strstr(e, "Failed to connect to ");
  const char *port = at != NULL ? strstr(at, " port ") : NULL;
  if (port == NULL) {
    snprintf(out, len, "(unknown)");
    return;
  }
  at += strlen("Failed to connect to ");
  snprintf(out, len, "%.*s:%ld", (int)(port - at), at,
           strtol(port + 6, NULL, 10));
}

bool tc_probe_explain_failure(int rc, const char *errtext,
                              const struct tc_conn_context *t,
                              struct tc_probe_result *out) {
  const char *e = errtext != NULL && errtext[0] != '\0'
                      ? errtext
                      : curl_easy_strerror((CURLcode)rc);
  tc_probe_evidence(out, "%s: %s", t->origin, e);
  if (tls_code(rc, e)) {
    explain_tls(rc, e, t, out);
    return true;
  }
  if (closed_after_handshake(rc, t)) {
    if (t->client_cert != NULL) {
      tc_probe_summary(out, false,
                       "TLS: %s closed the connection right after the TLS "
                       "handshake: it refuses the client certificate %s, or "
                       "the request",
                       t->origin, t->client_cert);
      tc_probe_next(out,
                    "Use a client certificate issued by a CA that %s "
                    "trusts (%s)",
                    t->origin, t->cert_flags);
    } else {
      tc_probe_summary(out, false,
                       "TLS: %s closed the connection right after the TLS "
                       "handshake: it may require a client certificate, and "
                       "none is configured",
                       t->origin);
      tc_probe_next(out,
                    "Set %s to the certificate and key issued for this "
                    "client",
                    t->cert_flags);
    }
    return true;
  }
  switch (rc) {
  case CURLE_COULDNT_RESOLVE_HOST:
    tc_probe_summary(out, false, "cannot resolve the host name of %s",
                     t->origin);
    tc_probe_next(out, "Check the host name in %s and this machine's DNS",
                  t->url_setting);
    break;
  case CURLE_COULDNT_RESOLVE_PROXY:
    tc_probe_summary(out, false,
                     "cannot resolve the host name of the proxy for %s",
                     t->origin);
    tc_probe_next(out, "Check the proxy URL in %s", t->proxy_settings);
    break;
  case CURLE_COULDNT_CONNECT:
    if (via_proxy(t, e)) {
      char addr[96];
      proxy_addr(t, e, addr, sizeof(addr));
      tc_probe_summary(out, false,
                       "cannot connect to the proxy at %s (on the way to "
                       "%s): %s",
                       addr, t->origin, e);
      tc_probe_next(out, "Check the proxy URL in %s, and that the proxy is up",
                    t->proxy_settings);
      break;
    }
    tc_probe_summary(out, false, "cannot connect to %s: %s", t->origin, e);
    tc_probe_next(out, "Check %s and that the server is up", t->url_setting);
    tc_probe_next(out, "Behind a proxy, check %s", t->proxy_settings);
    break;
  case CURLE_OPERATION_TIMEDOUT:
    tc_probe_summary(out, false, "no answer from %s within %ld s", t->origin,
                     t->timeout_s);
    tc_probe_next(out, "Check %s, the network path and any firewall",
                  t->url_setting);
    tc_probe_next(out, "Behind a proxy, check %s", t->proxy_settings);
    break;
  default:
    if (has(e, "proxy") || strstr(e, "CONNECT ") != NULL) {
      tc_probe_summary(out, false, "the proxy refused the connection to %s: %s",
                       t->origin, e);
      tc_probe_next(out, "Check the proxy URL and its credentials in %s",
                    t->proxy_settings);
    } else {
      tc_probe_summary(out, false, "no HTTP answer from %s: %s", t->origin, e);
      tc_probe_next(out, "Check %s", t->url_setting);
    }
    break;
  }
  return false;
}
