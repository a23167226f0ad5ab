/* ops/admin_api.h — the routes of the ops listener besides the UI:
 * /readyz, /metrics and the admin JSON API (/api/status, /api/channels,
 * /api/logs, /api/logs/export, /api/log-level, /api/oauth). Shapes are in
 * docs/operations.md. The listener (health.c) applies the Host, peer and
 * Origin guards before calling these.
 * Threads: any libmicrohttpd thread, concurrently. */
#ifndef TC_OPS_ADMIN_API_H
#define TC_OPS_ADMIN_API_H

#include <microhttpd.h>
#include <stddef.h>

#include "ops/ops_context.h"

struct tc_ops_request {
  const struct tc_ops_context *ctx; /* never NULL (members may be) */
  struct MHD_Connection *c;
  const char *method;
  const char *url;
  const char *body; /* request body (NUL-terminated), "" when none */
  size_t body_len;
  const char *health_url; /* the listener's base URL */
};

enum MHD_Result tc_ops_readyz(const struct tc_ops_request *rq);
enum MHD_Result tc_ops_metrics(const struct tc_ops_request *rq);
enum MHD_Result tc_ops_api_status(const struct tc_ops_request *rq);
enum MHD_Result tc_ops_api_channels(const struct tc_ops_request *rq);
enum MHD_Result tc_ops_api_logs(const struct tc_ops_request *rq);
enum MHD_Result tc_ops_api_logs_export(const struct tc_ops_request *rq);
enum MHD_Result tc_ops_api_log_level(const struct tc_ops_request *rq);
enum MHD_Result tc_ops_api_oauth(const struct tc_ops_request *rq);

#endif /* TC_OPS_ADMIN_API_H */
