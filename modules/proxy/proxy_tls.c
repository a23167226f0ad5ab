/* proxy_tls.c — the TLS half of the proxy module: the extra CA bundle
 * (appended to the system roots, so public services keep working), the
 * client certificate pair check, and URL origin comparison. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "proxy_internal.h"

#define PX_PEM_MAX (16u * 1024u * 1024u)

static char *px_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *px_fmt(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = NULL;
  if (vasprintf(&s, fmt, ap) < 0)
    s = NULL;
  va_end(ap);
  return s;
}

/* Whole file into *out (NUL-terminated). 0 or errno. */
static int read_all(const char *path, char **out, size_t *len) {
  FILE *f = fopen(path, "rbe");
  if (f == NULL)
    return errno;
  char *buf = NULL;
  size_t n = 0, cap = 0;
  for (;;) {
    if (n + 4096 + 1 > cap) {
      cap = cap ? cap * 2 : 65536;
      if (cap > PX_PEM_MAX) {
        free(buf);
        fclose(f);
        return EFBIG;
      }
      char *nb = realloc(buf, cap);
      if (nb == NULL) {
        free(buf);
        fclose(f);
        return ENOMEM;
      }
      buf = nb;
    }
    size_t got = fread(buf + n, 1, 4096, f);
    n += got;
    if (got == 0)
      break;
  }
  int bad = ferror(f);
  fclose(f);
  if (bad) {
    free(buf);
    return EIO;
  }
  buf[n] = '\0';
  *out = buf;
  *len = n;
  return 0;
}

static int count_certs(const char *pem, size_t len) {
  BIO *bio = BIO_new_mem_buf(pem, (int)len);
  if (bio == NULL)
    return 0;
  int n = 0;
  X509 *x;
  while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
    X509_free(x);
    n++;
  }
  ERR_clear_error();
  BIO_free(bio);
  return n;
}

/* The CA file libcurl uses by default (NULL when it has none). */
static const char *system_ca_file(void) {
  static const char *const fallbacks[] = {"/etc/ssl/certs/ca-certificates.crt",
                                          "/etc/pki/tls/certs/ca-bundle.crt",
                                          "/etc/ssl/cert.pem", NULL};
  CURL *c = curl_easy_init();
  char *path = NULL;
  static char found[1024];
  found[0] = '\0';
  if (c != NULL && curl_easy_getinfo(c, CURLINFO_CAINFO, &path) == CURLE_OK &&
      path != NULL)
    snprintf(found, sizeof(found), "%s", path);
  if (c != NULL)
    curl_easy_cleanup(c);
  if (found[0] != '\0')
    return found;
  for (size_t i = 0; fallbacks[i] != NULL; i++) {
    FILE *f = fopen(fallbacks[i], "rbe");
    if (f != NULL) {
      fclose(f);
      return fallbacks[i];
    }
  }
  return NULL;
}

int px_ca_load(const char *path, char **pem, size_t *len, int *count,
               char **errmsg) {
  char *extra = NULL;
  size_t extra_len = 0;
  int e = read_all(path, &extra, &extra_len);
  if (e != 0) {
    *errmsg = px_fmt("ca_bundle: cannot read %s: %s (point --ca-bundle / "
                     "CA_BUNDLE at a readable PEM file)",
                     path, strerror(e));
    return TC_ECONFIG;
  }
  int n = count_certs(extra, extra_len);
  if (n == 0) {
    free(extra);
    *errmsg = px_fmt("ca_bundle: %s holds no PEM certificate (expected one or "
                     "more \"-----BEGIN CERTIFICATE-----\" blocks)",
                     path);
    return TC_ECONFIG;
  }
  char *sys = NULL;
  size_t sys_len = 0;
  const char *sys_path = system_ca_file();
  if (sys_path != NULL && read_all(sys_path, &sys, &sys_len) != 0) {
    sys = NULL;
    sys_len = 0;
  }
  char *all = malloc(sys_len + extra_len + 2);
  if (all == NULL) {
    free(sys);
    free(extra);
    *errmsg = px_fmt("ca_bundle: out of memory");
    return TC_ENOMEM;
  }
  if (sys_len > 0)
    memcpy(all, sys, sys_len);
  all[sys_len] = '\n';
  memcpy(all + sys_len + 1, extra, extra_len);
  all[sys_len + 1 + extra_len] = '\0';
  free(sys);
  free(extra);
  *pem = all;
  *len = sys_len + 1 + extra_len;
  *count = n;
  return TC_OK;
}

int px_pair_check(const char *what, const char *cert_path, const char *key_path,
                  char **errmsg) {
  FILE *cf = fopen(cert_path, "rbe");
  if (cf == NULL) {
    *errmsg = px_fmt("%s: cannot read the client certificate %s: %s", what,
                     cert_path, strerror(errno));
    return TC_ECONFIG;
  }
  X509 *cert = PEM_read_X509(cf, NULL, NULL, NULL);
  fclose(cf);
  if (cert == NULL) {
    ERR_clear_error();
    *errmsg = px_fmt("%s: %s holds no PEM certificate", what, cert_path);
    return TC_ECONFIG;
  }
  FILE *kf = fopen(key_path, "rbe");
  if (kf == NULL) {
    X509_free(cert);
    *errmsg = px_fmt("%s: cannot read the client key %s: %s", what, key_path,
                     strerror(errno));
    return TC_ECONFIG;
  }
  EVP_PKEY *key = PEM_read_PrivateKey(kf, NULL, NULL, NULL);
  fclose(kf);
  if (key == NULL) {
    X509_free(cert);
    ERR_clear_error();
    *errmsg =
        px_fmt("%s: %s holds no unencrypted PEM private key", what, key_path);
    return TC_ECONFIG;
  }
  int ok = X509_check_private_key(cert, key) == 1;
  ERR_clear_error();
  EVP_PKEY_free(key);
  X509_free(cert);
  if (!ok) {
    *errmsg = px_fmt("%s: the key %s does not match the certificate %s (use "
                     "the private key the certificate was issued for)",
                     what, key_path, cert_path);
    return TC_ECONFIG;
  }
  return TC_OK;
}

struct px_url_parts {
  char *scheme, *host, *port;
};

static int parts_of(const char *url, struct px_url_parts *p) {
  memset(p, 0, sizeof(*p));
  CURLU *u = curl_url();
  if (u == NULL)
    return -1;
  int rc = -1;
  if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_SCHEME, &p->scheme, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_HOST, &p->host, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_PORT, &p->port, CURLU_DEFAULT_PORT) ==
          CURLUE_OK)
    rc = 0;
  curl_url_cleanup(u);
  return rc;
}

static void parts_free(struct px_url_parts *p) {
  curl_free(p->scheme);
  curl_free(p->host);
  curl_free(p->port);
}

int px_same_origin(const char *a, const char *b) {
  if (a == NULL || b == NULL)
    return 0;
  struct px_url_parts x, y;
  int pa = parts_of(a, &x), pb = parts_of(b, &y);
  int ok = pa == 0 && pb == 0 && strcasecmp(x.scheme, y.scheme) == 0 &&
           strcasecmp(x.host, y.host) == 0 && strcmp(x.port, y.port) == 0;
  parts_free(&x);
  parts_free(&y);
  return ok;
}

char *px_origin(const char *url) {
  if (url == NULL)
    return NULL;
  struct px_url_parts x;
  char *out = NULL;
  if (parts_of(url, &x) == 0)
    out = px_fmt("%s://%s:%s", x.scheme, x.host, x.port);
  parts_free(&x);
  return out;
}
