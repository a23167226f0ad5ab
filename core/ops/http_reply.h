/* ops/http_reply.h — how the ops listener answers: text and JSON bodies
 * with the common headers (nosniff, no-store), and errors (JSON under
 * /api/, text elsewhere). Threads: any libmicrohttpd thread. */
#ifndef TC_OPS_HTTP_REPLY_H
#define TC_OPS_HTTP_REPLY_H

#include <jansson.h>
#include <microhttpd.h>
#include <stddef.h>

/* A body of `len` bytes (copied) with `content_type`; HEAD gets no body
 * from libmicrohttpd. */
enum MHD_Result tc_ops_reply(struct MHD_Connection *c, unsigned int status,
                             const char *content_type, const char *body,
                             size_t len);
enum MHD_Result tc_ops_reply_text(struct MHD_Connection *c, unsigned int status,
                                  const char *body);
/* Serialises and releases `json` (stolen, may be NULL -> 500). */
enum MHD_Result tc_ops_reply_json(struct MHD_Connection *c, unsigned int status,
                                  json_t *json);
/* {"error": msg} for /api/ URLs, "msg" as text elsewhere. */
enum MHD_Result tc_ops_reply_error(struct MHD_Connection *c, const char *url,
                                   unsigned int status, const char *msg);
/* 405 with an Allow header. */
enum MHD_Result tc_ops_reply_method_not_allowed(struct MHD_Connection *c,
                                                const char *url,
                                                const char *allow);

#endif /* TC_OPS_HTTP_REPLY_H */
