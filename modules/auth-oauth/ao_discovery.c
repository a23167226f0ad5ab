/* ao_discovery.c — OAuth protected-resource metadata discovery for the
 * MCP URL (mcp-oauth-ops.md §4.1) and authorization_servers[0] metadata
 * enrichment (§4.2). Blocking; runs on the startup thread or a worker.
 *
 * Discovery: a WWW-Authenticate probe (POST, then GET, 1 s each) looks for
 * a Bearer resource_metadata URL; candidates are that URL, then
 * <origin>/.well-known/oauth-protected-resource<path> (when the MCP URL has
 * a path), then <origin>/.well-known/oauth-protected-resource. A network
 * error, 404 or >= 500 moves to the next candidate; the first body that is
 * a JSON object with a non-empty "resource" and a URL in
 * authorization_servers[0] wins with its status. Every attempt a 404 (and
 * no WWW-Authenticate URL) means the server does not use OAuth. When every
 * attempt timed out, one more pass runs (3 tries per URL, 2/4/8 s) within
 * the budget.
 *
 * Enrichment: <doc> = oauth-authorization-server, then openid-configuration;
 * an issuer with a path tries <issuer>/.well-known/<doc> before
 * <origin>/.well-known/<doc><path>. A document must be 200 application/json;
 * its issuer must equal authorization_servers[0] exactly, else the next
 * candidate is tried and, when none matches, the first mismatching document
 * is kept with issuer_mismatch recorded (and a warning). */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ao_internal.h"

#define AO_PRMD_PREFIX "/.well-known/oauth-protected-resource"

void ao_result_init(struct ao_result *r) {
  memset(r, 0, sizeof(*r));
  r->attempts = json_array();
  r->warnings = json_array();
}

void ao_result_free(struct ao_result *r) {
  free(r->detail);
  json_decref(r->www);
  json_decref(r->attempts);
  json_decref(r->prmd);
  json_decref(r->auth_server);
  json_decref(r->warnings);
  ao_fetch_free(&r->winner);
  memset(r, 0, sizeof(*r));
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...) {
  va_list ap;
  va_start(ap, f);
  char *s = NULL;
  if (vasprintf(&s, f, ap) < 0)
    s = NULL;
  va_end(ap);
  return s;
}

static void set_detail(struct ao_result *r, char *d) {
  free(r->detail);
  r->detail = d;
}

static int64_t left_ms(const struct tc_host *h, uint64_t deadline) {
  uint64_t now = h->monotonic_ns();
  return now >= deadline ? 0 : (int64_t)((deadline - now) / 1000000u);
}

static int64_t min64(int64_t a, int64_t b) {
  return a < b ? a : b;
}

static void www_probe(const struct tc_host *h, const char *mcp_url,
                      uint64_t deadline, const int *cancel,
                      const struct ao_scope *scope, struct ao_result *r,
                      char **rm) {
  for (int post = 1; post >= 0; post--) {
    struct ao_fetch f;
    ao_fetch_url(h, mcp_url, post, min64(1000, left_ms(h, deadline)), cancel,
                 scope, &f);
    if (f.status == 401 && f.www_authenticate != NULL) {
      *rm = ao_resource_metadata(f.www_authenticate);
      json_decref(r->www);
      r->www = json_pack("{s:s, s:i, s:s?}", "method", post ? "POST" : "GET",
                         "status", (int)f.status, "resource_metadata", *rm);
      ao_fetch_free(&f);
      if (*rm != NULL)
        return;
      continue;
    }
    if (r->www == NULL)
      r->www = json_pack("{s:s, s:i}", "method", post ? "POST" : "GET",
                         "status", (int)f.status);
    ao_fetch_free(&f);
  }
}

static void add_unique(json_t *list, char *url) {
  if (url == NULL)
    return;
  size_t i;
  json_t *v;
  json_array_foreach(list, i, v) {
    if (strcmp(json_string_value(v), url) == 0) {
      free(url);
      return;
    }
  }
  json_array_append_new(list, json_string(url));
  free(url);
}

/* 1 valid PRMD, 0 invalid; *why for invalid. */
static int prmd_valid(const char *body, size_t len, const char **why) {
  json_t *doc = json_loadb(body, len, 0, NULL);
  int ok = 0;
  if (!json_is_object(doc)) {
    *why = "body is not a JSON object";
  } else {
    const char *res = json_string_value(json_object_get(doc, "resource"));
    json_t *as = json_object_get(doc, "authorization_servers");
    const char *as0 = json_string_value(json_array_get(as, 0));
    if (res == NULL || res[0] == '\0')
      *why = "no \"resource\"";
    else if (!ao_is_http_url(as0))
      *why = "authorization_servers[0] is not an http(s) URL";
    else
      ok = 1;
  }
  json_decref(doc);
  return ok;
}

static void record_attempt(struct ao_result *r, const char *url,
                           const struct ao_fetch *f, const char *why) {
  json_array_append_new(r->attempts,
                        json_pack("{s:s, s:i, s:s?}", "url", url, "status",
                                  (int)f->status, "error",
                                  f->error != NULL ? f->error : why));
}

/* One pass over the candidates; tries per URL with the given timeouts. 1
 * when settled (winner or final failure), 0 when every attempt timed
 * out. */
static int prmd_pass(const struct tc_host *h, json_t *cands, uint64_t deadline,
                     const int64_t *timeouts, int ntries, int have_www_url,
                     const int *cancel, const struct ao_scope *scope,
                     struct ao_result *r) {
  size_t n = json_array_size(cands);
  int all_404 = 1, all_timeout = 1;
  char *last_error = NULL;
  for (size_t i = 0; i < n; i++) {
    const char *url = json_string_value(json_array_get(cands, i));
    int more = i + 1 < n;
    struct ao_fetch f;
    memset(&f, 0, sizeof(f));
    for (int t = 0; t < ntries; t++) {
      ao_fetch_free(&f);
      ao_fetch_url(h, url, 0, min64(timeouts[t], left_ms(h, deadline)), cancel,
                   scope, &f);
      if (!f.timed_out || left_ms(h, deadline) == 0)
        break;
    }
    const char *why = NULL;
    if (f.status == 0) {
      record_attempt(r, url, &f, NULL);
      all_404 = 0;
      all_timeout &= f.timed_out;
      free(last_error);
      last_error = f.error != NULL ? strdup(f.error) : NULL;
      ao_fetch_free(&f);
      continue;
    }
    all_timeout = 0;
    if (f.status != 404)
      all_404 = 0;
    if ((f.status == 404 || f.status >= 500) && more) {
      record_attempt(r, url, &f, NULL);
      ao_fetch_free(&f);
      continue;
    }
    if (f.body_len == 0) {
      why = "empty body";
    } else if (prmd_valid(f.body, f.body_len, &why)) {
      record_attempt(r, url, &f, NULL);
      json_t *doc = json_loadb(f.body, f.body_len, 0, NULL);
      r->prmd = json_pack("{s:s, s:i, s:o}", "url", url, "status",
                          (int)f.status, "body", doc);
      r->winner = f;
      r->has_winner = 1;
      r->state = AO_READY;
      free(last_error);
      return 1;
    } else if (f.status >= 500 && more) {
      record_attempt(r, url, &f, why);
      ao_fetch_free(&f);
      continue;
    }
    record_attempt(r, url, &f, why);
    if (f.status == 404 && all_404 && !have_www_url) {
      r->state = AO_NO_OAUTH;
      set_detail(r, fmt("no protected resource metadata (every candidate "
                        "answered 404)"));
    } else {
      r->state = AO_FAILED;
      char *o = NULL;
      ao_split_url(url, &o, NULL);
      set_detail(r, why != NULL && f.status < 300
                        ? fmt("%s: invalid metadata: %s", o ? o : url, why)
                        : fmt("%s: HTTP %ld", o ? o : url, f.status));
      free(o);
    }
    ao_fetch_free(&f);
    free(last_error);
    return 1;
  }
  if (all_timeout && n > 0) {
    set_detail(r, last_error != NULL ? last_error : fmt("timed out"));
    r->state = AO_FAILED;
    return 0;
  }
  r->state = AO_FAILED;
  set_detail(r, last_error != NULL ? last_error : fmt("no candidate URL"));
  return 1;
}

static int media_is_json(const char *ct) {
  if (ct == NULL)
    return 0;
  size_t n = strcspn(ct, "; ");
  return n == 16 && strncasecmp(ct, "application/json", 16) == 0;
}

static void enrich(const struct tc_host *h, const char *issuer,
                   uint64_t deadline, const int *cancel, struct ao_result *r) {
  static const char *const docs[] = {"oauth-authorization-server",
                                     "openid-configuration"};
  char *origin = NULL, *path = NULL;
  json_t *rec = json_pack("{s:s, s:[]}", "issuer_url", issuer, "attempts");
  r->auth_server = rec;
  if (ao_split_url(issuer, &origin, &path) != 0) {
    json_object_set_new(rec, "error", json_string("issuer is not a URL"));
    return;
  }
  size_t pl = strlen(path);
  while (pl > 0 && path[pl - 1] == '/')
    path[--pl] = '\0';
  json_t *cands = json_array();
  for (size_t d = 0; d < 2; d++) {
    if (pl > 0) {
      add_unique(cands, fmt("%s%s/.well-known/%s", origin, path, docs[d]));
      add_unique(cands, fmt("%s/.well-known/%s%s", origin, docs[d], path));
    } else {
      add_unique(cands, fmt("%s/.well-known/%s", origin, docs[d]));
    }
  }
  json_t *first_mismatch = NULL, *chosen = NULL;
  size_t i;
  json_t *cv;
  json_array_foreach(cands, i, cv) {
    const char *url = json_string_value(cv);
    struct ao_fetch f;
    ao_fetch_url(h, url, 0, min64(2000, left_ms(h, deadline)), cancel, NULL,
                 &f);
    json_t *att = json_pack("{s:s, s:i}", "url", url, "status", (int)f.status);
    json_t *doc = NULL;
    if (f.status == 200 && media_is_json(f.content_type))
      doc = json_loadb(f.body ? f.body : "", f.body_len, 0, NULL);
    const char *mi = json_string_value(json_object_get(doc, "issuer"));
    if (f.error != NULL)
      json_object_set_new(att, "error", json_string(f.error));
    else if (!json_is_object(doc))
      json_object_set_new(att, "error",
                          json_string(f.status == 200
                                          ? "not an application/json object"
                                          : "not HTTP 200"));
    else if (mi == NULL)
      json_object_set_new(att, "error", json_string("no issuer"));
    json_array_append_new(json_object_get(rec, "attempts"), att);
    if (json_is_object(doc) && mi != NULL) {
      json_t *m = json_pack("{s:s, s:O}", "metadata_url", url, "doc", doc);
      if (strcmp(mi, issuer) == 0) {
        chosen = m;
        json_decref(doc);
        ao_fetch_free(&f);
        break;
      }
      json_object_set_new(att, "issuer_mismatch", json_true());
      json_object_set_new(att, "metadata_issuer", json_string(mi));
      if (first_mismatch == NULL)
        first_mismatch = m;
      else
        json_decref(m);
    }
    json_decref(doc);
    ao_fetch_free(&f);
  }
  json_decref(cands);
  int mismatch = chosen == NULL && first_mismatch != NULL;
  json_t *use = chosen != NULL ? chosen : first_mismatch;
  if (use == NULL) {
    json_object_set_new(rec, "error",
                        json_string("no authorization server metadata found"));
    json_array_append_new(
        r->warnings, json_string("authorization server metadata not found for "
                                 "authorization_servers[0]"));
  } else {
    json_t *doc = json_object_get(use, "doc");
    json_object_set(rec, "metadata_url", json_object_get(use, "metadata_url"));
    json_object_set(rec, "metadata_issuer", json_object_get(doc, "issuer"));
    json_object_set_new(rec, "issuer_mismatch", json_boolean(mismatch));
    if (mismatch) {
      json_object_set_new(rec, "expected_issuer_url", json_string(issuer));
      char *w = fmt("authorization server metadata issuer %s differs from "
                    "authorization_servers[0] %s; accepted",
                    json_string_value(json_object_get(doc, "issuer")), issuer);
      json_array_append_new(r->warnings,
                            json_string(w ? w : "issuer mismatch"));
      free(w);
    }
    static const char *const fields[] = {
        "token_endpoint",         "jwks_uri",
        "introspection_endpoint", "registration_endpoint",
        "revocation_endpoint",    NULL};
    for (size_t k = 0; fields[k] != NULL; k++) {
      json_t *v = json_object_get(doc, fields[k]);
      if (json_is_string(v))
        json_object_set(rec, fields[k], v);
    }
  }
  if (chosen != first_mismatch)
    json_decref(first_mismatch);
  json_decref(chosen);
  free(origin);
  free(path);
}

void ao_discover(const struct tc_host *h, const char *mcp_url,
                 int64_t budget_ms, int enrich_as, const int *cancel,
                 const char *headers, struct ao_result *r) {
  uint64_t deadline = h->monotonic_ns() + (uint64_t)budget_ms * 1000000u;
  char *origin = NULL, *path = NULL;
  int url_ok = ao_split_url(mcp_url, &origin, &path) == 0;
  struct ao_scope scope = {origin, headers};
  char *rm = NULL;
  if (url_ok)
    www_probe(h, mcp_url, deadline, cancel, &scope, r, &rm);
  if (!url_ok) {
    r->state = AO_FAILED;
    set_detail(r, fmt("the MCP URL is not an http(s) URL"));
    free(rm);
    return;
  }
  json_t *cands = json_array();
  int have_www = rm != NULL;
  add_unique(cands, rm);
  if (path[0] != '\0')
    add_unique(cands, strncmp(path, AO_PRMD_PREFIX, strlen(AO_PRMD_PREFIX)) == 0
                          ? fmt("%s%s", origin, path)
                          : fmt("%s%s%s", origin, AO_PRMD_PREFIX, path));
  add_unique(cands, fmt("%s%s", origin, AO_PRMD_PREFIX));
  static const int64_t first[] = {2000};
  static const int64_t retry[] = {2000, 4000, 8000};
  if (!prmd_pass(h, cands, deadline, first, 1, have_www, cancel, &scope, r) &&
      left_ms(h, deadline) > 0 &&
      !(cancel != NULL && __atomic_load_n(cancel, __ATOMIC_ACQUIRE))) {
    json_array_append_new(r->warnings,
                          json_string("every discovery attempt timed out; "
                                      "retrying"));
    prmd_pass(h, cands, deadline, retry, 3, have_www, cancel, &scope, r);
  }
  json_decref(cands);
  free(origin);
  free(path);
  if (r->state == AO_READY && enrich_as) {
    json_t *as = json_object_get(json_object_get(r->prmd, "body"),
                                 "authorization_servers");
    if (json_array_size(as) > 1)
      json_array_append_new(r->warnings,
                            json_string("only authorization_servers[0] is "
                                        "used"));
    enrich(h, json_string_value(json_array_get(as, 0)), deadline, cancel, r);
  }
}
