/* ao_fetch.c — one bounded HTTP exchange for OAuth discovery: net hooks
 * applied (proxy, CA bundle, client certificate for the MCP origin), same-
 * origin redirects only (at most 10), body at most 1 MiB, one overall
 * timeout. Errors name URL origins only. Any thread. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "ao_internal.h"

struct ao_sink {
  struct ao_fetch *f;
  size_t cap;
  int too_large;
  const int *cancel;
};

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut,
                       curl_off_t un) {
  (void)dt;
  (void)dn;
  (void)ut;
  (void)un;
  const struct ao_sink *s = ud;
  return s->cancel != NULL && __atomic_load_n(s->cancel, __ATOMIC_ACQUIRE);
}

void ao_fetch_free(struct ao_fetch *f) {
  free(f->error);
  free(f->body);
  free(f->content_type);
  free(f->www_authenticate);
  free(f->final_url);
  tc_headers_clear(&f->headers);
  memset(f, 0, sizeof(*f));
}

static size_t on_body(char *data, size_t size, size_t n, void *ud) {
  struct ao_sink *s = ud;
  size_t len = size * n;
  struct ao_fetch *f = s->f;
  if (f->body_len + len > AO_MAX_BODY) {
    s->too_large = 1;
    return 0;
  }
  if (f->body_len + len + 1 > s->cap) {
    size_t cap = s->cap ? s->cap : 4096;
    while (cap < f->body_len + len + 1)
      cap *= 2;
    char *nb = realloc(f->body, cap);
    if (nb == NULL)
      return 0;
    f->body = nb;
    s->cap = cap;
  }
  memcpy(f->body + f->body_len, data, len);
  f->body_len += len;
  f->body[f->body_len] = '\0';
  return len;
}

static size_t on_header(char *data, size_t size, size_t n, void *ud) {
  struct ao_sink *s = ud;
  struct ao_fetch *f = s->f;
  size_t len = size * n;
  if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
    /* a new response (redirect hop): keep only the last one's headers */
    tc_headers_clear(&f->headers);
    free(f->www_authenticate);
    f->www_authenticate = NULL;
    return len;
  }
  const char *colon = memchr(data, ':', len);
  if (colon == NULL)
    return len;
  char *name = strndup(data, (size_t)(colon - data));
  const char *v = colon + 1;
  const char *end = data + len;
  while (v < end && (*v == ' ' || *v == '\t'))
    v++;
  while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
    end--;
  char *value = strndup(v, (size_t)(end - v));
  if (name != NULL && value != NULL) {
    tc_headers_add(&f->headers, name, value);
    if (strcasecmp(name, "WWW-Authenticate") == 0 &&
        f->www_authenticate == NULL)
      f->www_authenticate = strdup(value);
  }
  free(name);
  free(value);
  return len;
}

static void ao_errf(struct ao_fetch *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void ao_errf(struct ao_fetch *f, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  free(f->error);
  if (vasprintf(&f->error, fmt, ap) < 0)
    f->error = NULL;
  va_end(ap);
}

static char *origin_only(const char *url) {
  char *o = NULL;
  if (ao_split_url(url, &o, NULL) != 0)
    return strdup("(invalid URL)");
  return o;
}

/* The scope's header lines when `url` is on its origin. */
static struct curl_slist *add_scoped_headers(struct curl_slist *h,
                                             const char *url,
                                             const struct ao_scope *scope) {
  if (h == NULL || scope == NULL || scope->headers == NULL ||
      scope->origin == NULL)
    return h;
  char *o = NULL;
  int same =
      ao_split_url(url, &o, NULL) == 0 && strcasecmp(o, scope->origin) == 0;
  free(o);
  for (const char *p = scope->headers; same && *p != '\0';) {
    size_t n = strcspn(p, "\n");
    char *line = strndup(p, n);
    if (line != NULL && n > 0) {
      struct curl_slist *next = curl_slist_append(h, line);
      if (next != NULL)
        h = next;
    }
    free(line);
    p += n + (p[n] == '\n');
  }
  return h;
}

/* One request without redirects. Returns the CURLcode. */
static CURLcode one_request(const struct tc_host *host, const char *url,
                            int post, long timeout_ms, const int *cancel,
                            const struct ao_scope *scope, struct ao_fetch *f,
                            char **location, int *too_large, char *errbuf) {
  CURL *c = curl_easy_init();
  if (c == NULL)
    return CURLE_OUT_OF_MEMORY;
  struct ao_sink sink = {f, 0, 0, cancel};
  char ua[96];
  snprintf(ua, sizeof(ua), "User-Agent: oai-tunnel-client/%s",
           host->host_version ? host->host_version : "0");
  struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
  h = curl_slist_append(h, ua);
  h = add_scoped_headers(h, url, scope);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 1L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &sink);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, &sink);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  if (post) {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
  }
  CURLcode rc = CURLE_OK;
  char *herr = NULL;
  if (TC_HOST_HAS(host, net_prepare) && host->net_prepare != NULL &&
      host->net_prepare(host, c, TC_NET_OAUTH_METADATA, url, NULL, &herr) < 0) {
    snprintf(errbuf, CURL_ERROR_SIZE, "%s",
             herr != NULL ? herr : "a net hook refused the connection");
    rc = CURLE_FAILED_INIT;
  }
  free(herr);
  if (rc == CURLE_OK)
    rc = curl_easy_perform(c);
  *too_large = sink.too_large;
  if (rc == CURLE_OK) {
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &f->status);
    char *ct = NULL;
    if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK &&
        ct != NULL) {
      free(f->content_type);
      f->content_type = strdup(ct);
    }
    char *loc = NULL;
    if (f->status >= 300 && f->status < 400 &&
        curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &loc) == CURLE_OK &&
        loc != NULL)
      *location = strdup(loc);
  }
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  return rc;
}

void ao_fetch_url(const struct tc_host *host, const char *url, int post,
                  int64_t timeout_ms, const int *cancel,
                  const struct ao_scope *scope, struct ao_fetch *f) {
  memset(f, 0, sizeof(*f));
  uint64_t deadline = host->monotonic_ns() + (uint64_t)timeout_ms * 1000000u;
  char *current = strdup(url);
  for (int hop = 0; current != NULL; hop++) {
    int64_t left =
        (int64_t)(deadline - host->monotonic_ns()) / 1000000; /* may be < 0 */
    char errbuf[CURL_ERROR_SIZE] = "";
    char *location = NULL;
    int too_large = 0;
    free(f->body);
    f->body = NULL;
    f->body_len = 0;
    f->status = 0;
    CURLcode rc = left > 0
                      ? one_request(host, current, post, (long)left, cancel,
                                    scope, f, &location, &too_large, errbuf)
                      : CURLE_OPERATION_TIMEDOUT;
    char *shown = origin_only(current);
    if (rc != CURLE_OK) {
      f->timed_out = rc == CURLE_OPERATION_TIMEDOUT;
      if (too_large)
        ao_errf(f, "%s: response body larger than 1 MiB", shown);
      else if (errbuf[0] != '\0' && strstr(errbuf, "://") == NULL)
        ao_errf(f, "%s: %s", shown, errbuf);
      else
        ao_errf(f, "%s: %s", shown, curl_easy_strerror(rc));
      free(shown);
      free(location);
      break;
    }
    if (location == NULL) {
      free(shown);
      f->final_url = current;
      current = NULL;
      break;
    }
    char *from = NULL, *to = NULL;
    int same = ao_split_url(current, &from, NULL) == 0 &&
               ao_split_url(location, &to, NULL) == 0 &&
               strcasecmp(from, to) == 0;
    free(from);
    free(to);
    if (!same || hop >= AO_MAX_REDIRECTS) {
      char *dest = origin_only(location);
      ao_errf(f,
              same ? "%s: more than 10 redirects"
                   : "%s: redirect to another origin (%s) refused",
              shown, dest);
      free(dest);
      free(shown);
      free(location);
      f->status = 0;
      break;
    }
    free(shown);
    free(current);
    current = location;
    post = 0;
  }
  free(current);
}
