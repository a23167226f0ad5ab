/* ao_url.c — URL splitting for OAuth discovery (libcurl's URL parser):
 * http(s) only; origin "scheme://host[:port]" and the path ("" for "/").
 * Pure, any thread. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "ao_internal.h"

int ao_split_url(const char *url, char **origin, char **path) {
  *origin = NULL;
  if (path != NULL)
    *path = NULL;
  CURLU *u = curl_url();
  if (u == NULL)
    return -1;
  char *scheme = NULL, *host = NULL, *port = NULL, *p = NULL;
  int rc = -1;
  if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
      (strcasecmp(scheme, "http") == 0 || strcasecmp(scheme, "https") == 0)) {
    if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK)
      port = NULL;
    if (curl_url_get(u, CURLUPART_PATH, &p, 0) != CURLUE_OK)
      p = NULL;
    if (asprintf(origin, "%s://%s%s%s", scheme, host, port ? ":" : "",
                 port ? port : "") < 0)
      *origin = NULL;
    if (path != NULL) {
      const char *pp = p != NULL && strcmp(p, "/") != 0 ? p : "";
      *path = strdup(pp);
    }
    rc = *origin != NULL && (path == NULL || *path != NULL) ? 0 : -1;
  }
  curl_free(scheme);
  curl_free(host);
  curl_free(port);
  curl_free(p);
  curl_url_cleanup(u);
  if (rc != 0) {
    free(*origin);
    *origin = NULL;
    if (path != NULL) {
      free(*path);
      *path = NULL;
    }
  }
  return rc;
}

int ao_is_http_url(const char *u) {
  /* curl's parser also accepts "http:/host" and "http:host"; an absolute
   * URL in metadata must be spelled out. */
  if (u == NULL ||
      (strncasecmp(u, "http://", 7) != 0 && strncasecmp(u, "https://", 8) != 0))
    return 0;
  char *o = NULL;
  int ok = ao_split_url(u, &o, NULL) == 0;
  free(o);
  return ok;
}
