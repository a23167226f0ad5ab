/* ops/ui_routes.c — serves the embedded ops UI (see ui_routes.h).
 *
 * Content types come from the file extension. Responses are built from the
 * embedded bytes without copying (MHD_RESPMEM_PERSISTENT: static storage).
 * Decisions: `/` answers 302 to `/ui` rather than serving the page itself,
 * so the page has one address; `/favicon.ico` points at the SVG icon. */
#include "ops/ui_routes.h"

#include <stdint.h>
#include <string.h>

#include "ops/ui_assets.h"

#define UI_ASSET_PREFIX "/assets/"
#define UI_INDEX "index.html"
#define UI_FAVICON "favicon.svg"

/* Self only; nothing inline; no framing; no plugins. */
static const char csp[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self'; connect-src 'self'; font-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

static void add_common_headers(struct MHD_Response *r) {
  MHD_add_response_header(r, "Content-Security-Policy", csp);
  MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
  MHD_add_response_header(r, "X-Frame-Options", "DENY");
  MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
  MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
}

static enum MHD_Result respond(struct MHD_Connection *c, unsigned int status,
                               const void *data, size_t size,
                               enum MHD_ResponseMemoryMode mode,
                               const char *content_type, const char *hdr,
                               const char *hdr_value) {
  /* The cast drops const for the API; PERSISTENT/MUST_COPY only read it. */
  struct MHD_Response *r =
      MHD_create_response_from_buffer(size, (void *)(uintptr_t)data, mode);
  if (r == NULL)
    return MHD_NO;
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
  add_common_headers(r);
  if (hdr != NULL)
    MHD_add_response_header(r, hdr, hdr_value);
  enum MHD_Result ret = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return ret;
}

static enum MHD_Result respond_text(struct MHD_Connection *c,
                                    unsigned int status, const char *body,
                                    const char *hdr, const char *hdr_value) {
  return respond(c, status, body, strlen(body), MHD_RESPMEM_PERSISTENT,
                 "text/plain; charset=utf-8", hdr, hdr_value);
}

static const char *content_type_for(const char *name) {
  static const struct {
    const char *ext, *type;
  } types[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".json", "application/json"},
      {".png", "image/png"},
      {".txt", "text/plain; charset=utf-8"},
  };
  const char *dot = strrchr(name, '.');
  if (dot != NULL)
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
      if (strcmp(dot, types[i].ext) == 0)
        return types[i].type;
  return "application/octet-stream";
}

static const struct tc_ui_asset *find_asset(const char *name) {
  /* A name is one path segment: "/assets/a/b" or "/assets/../x" never match
   * because the table holds base names only. */
  for (size_t i = 0; i < tc_ui_asset_count; i++)
    if (strcmp(tc_ui_assets[i].name, name) == 0)
      return &tc_ui_assets[i];
  return NULL;
}

static enum MHD_Result serve_asset(struct MHD_Connection *c, const char *name) {
  const struct tc_ui_asset *a = find_asset(name);
  if (a == NULL)
    return respond_text(c, MHD_HTTP_NOT_FOUND, "not found", NULL, NULL);
  return respond(c, MHD_HTTP_OK, a->data, a->size, MHD_RESPMEM_PERSISTENT,
                 content_type_for(a->name), NULL, NULL);
}

enum MHD_Result tc_ui_serve(struct MHD_Connection *c, const char *method,
                            const char *url) {
  if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
      strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
    return respond_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed",
                        MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
  if (strcmp(url, "/") == 0)
    return respond_text(c, MHD_HTTP_FOUND, "see /ui", MHD_HTTP_HEADER_LOCATION,
                        "/ui");
  if (strcmp(url, "/ui") == 0 || strcmp(url, "/ui/") == 0)
    return serve_asset(c, UI_INDEX);
  if (strcmp(url, "/favicon.ico") == 0)
    return serve_asset(c, UI_FAVICON);
  if (strncmp(url, UI_ASSET_PREFIX, strlen(UI_ASSET_PREFIX)) == 0)
    return serve_asset(c, url + strlen(UI_ASSET_PREFIX));
  return respond_text(c, MHD_HTTP_NOT_FOUND, "not found", NULL, NULL);
}
