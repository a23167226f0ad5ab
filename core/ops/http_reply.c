/* ops/http_reply.c — see http_reply.h. */
#include "ops/http_reply.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum MHD_Result reply_with(struct MHD_Connection *c, unsigned int status,
                                  const char *content_type, const char *body,
                                  size_t len, const char *allow) {
  /* MUST_COPY: the buffer is only read; the cast drops const for the API. */
  struct MHD_Response *r = MHD_create_response_from_buffer(
      len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
  if (r == NULL)
    return MHD_NO;
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
  MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
  MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  if (allow != NULL)
    MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
  enum MHD_Result ret = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return ret;
}

enum MHD_Result tc_ops_reply(struct MHD_Connection *c, unsigned int status,
                             const char *content_type, const char *body,
                             size_t len) {
  return reply_with(c, status, content_type, body, len, NULL);
}

enum MHD_Result tc_ops_reply_text(struct MHD_Connection *c, unsigned int status,
                                  const char *body) {
  return reply_with(c, status, "text/plain; charset=utf-8", body, strlen(body),
                    NULL);
}

enum MHD_Result tc_ops_reply_json(struct MHD_Connection *c, unsigned int status,
                                  json_t *json) {
  /* ENSURE_ASCII + ESCAPE_SLASH: nothing in the body reads as markup. */
  char *text = json != NULL
                   ? json_dumps(json, JSON_COMPACT | JSON_ENSURE_ASCII |
                                          JSON_ESCAPE_SLASH)
                   : NULL;
  json_decref(json);
  if (text == NULL)
    return tc_ops_reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                             "internal error: out of memory");
  enum MHD_Result ret =
      reply_with(c, status, "application/json", text, strlen(text), NULL);
  free(text);
  return ret;
}

static enum MHD_Result error_with(struct MHD_Connection *c, const char *url,
                                  unsigned int status, const char *msg,
                                  const char *allow) {
  if (url != NULL && strncmp(url, "/api/", 5) == 0) {
    json_t *j = json_pack("{s:s}", "error", msg);
    char *text = j != NULL ? json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII |
                                               JSON_ESCAPE_SLASH)
                           : NULL;
    json_decref(j);
    if (text != NULL) {
      enum MHD_Result ret =
          reply_with(c, status, "application/json", text, strlen(text), allow);
      free(text);
      return ret;
    }
  }
  return reply_with(c, status, "text/plain; charset=utf-8", msg, strlen(msg),
                    allow);
}

enum MHD_Result tc_ops_reply_error(struct MHD_Connection *c, const char *url,
                                   unsigned int status, const char *msg) {
  return error_with(c, url, status, msg, NULL);
}

enum MHD_Result tc_ops_reply_method_not_allowed(struct MHD_Connection *c,
                                                const char *url,
                                                const char *allow) {
  char msg[96];
  snprintf(msg, sizeof(msg), "method not allowed (use %s)", allow);
  return error_with(c, url, MHD_HTTP_METHOD_NOT_ALLOWED, msg, allow);
}
