/* ops/admin_logs.c — the log routes of the admin API: /api/logs (a page of
 * the util/log ring buffer after a sequence number), /api/logs/export (the
 * whole buffer as a text attachment) and /api/log-level (read or change the
 * run-time level). Lines in the ring are already redacted. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ops/admin_api.h"
#include "ops/http_reply.h"
#include "util/log.h"
#include "util/sbuf.h"

#define LOGS_DEFAULT_LIMIT 200
#define LOGS_MAX_LIMIT 5000

/* A query argument as an unsigned number; 0 ok (absent leaves *out), -1
 * when present but not a number within max. */
static int query_number(struct MHD_Connection *c, const char *name,
                        unsigned long long max, unsigned long long *out) {
  const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
  if (v == NULL)
    return 0;
  if (v[0] < '0' || v[0] > '9')
    return -1;
  char *end = NULL;
  errno = 0;
  unsigned long long n = strtoull(v, &end, 10);
  if (errno != 0 || *end != '\0' || n > max)
    return -1;
  *out = n;
  return 0;
}

static int is_get(const struct tc_ops_request *rq) {
  return strcmp(rq->method, "GET") == 0 || strcmp(rq->method, "HEAD") == 0;
}

enum MHD_Result tc_ops_api_logs(const struct tc_ops_request *rq) {
  if (!is_get(rq))
    return tc_ops_reply_method_not_allowed(rq->c, rq->url, "GET, HEAD");
  unsigned long long since = 0, limit = LOGS_DEFAULT_LIMIT;
  if (query_number(rq->c, "since", ~0ull, &since) != 0)
    return tc_ops_reply_error(rq->c, rq->url, MHD_HTTP_BAD_REQUEST,
                              "since must be a sequence number (0 or more)");
  if (query_number(rq->c, "limit", LOGS_MAX_LIMIT, &limit) != 0 || limit == 0)
    return tc_ops_reply_error(rq->c, rq->url, MHD_HTTP_BAD_REQUEST,
                              "limit must be a number from 1 to 5000");
  struct tc_log_entry *e = NULL;
  unsigned long long next = since;
  size_t n = tc_log_ring_read(since, (size_t)limit, &e, &next);
  if (n == (size_t)-1)
    return tc_ops_reply_error(rq->c, rq->url, MHD_HTTP_INTERNAL_SERVER_ERROR,
                              "out of memory");
  json_t *lines = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(
        lines,
        json_pack("{s:I,s:s,s:s,s:s,s:s}", "seq", (json_int_t)e[i].seq, "time",
                  e[i].time, "level", tc_log_level_name(e[i].level),
                  "component", e[i].component, "text", e[i].text));
  tc_log_entries_free(e, n);
  return tc_ops_reply_json(
      rq->c, MHD_HTTP_OK,
      json_pack("{s:o,s:I}", "lines", lines, "next", (json_int_t)next));
}

enum MHD_Result tc_ops_api_logs_export(const struct tc_ops_request *rq) {
  if (!is_get(rq))
    return tc_ops_reply_method_not_allowed(rq->c, rq->url, "GET, HEAD");
  struct tc_sbuf out = TC_SBUF_INIT;
  unsigned long long since = 0;
  for (;;) {
    struct tc_log_entry *e = NULL;
    unsigned long long next = since;
    size_t n = tc_log_ring_read(since, 1000, &e, &next);
    if (n == (size_t)-1) {
      out.failed = 1;
      break;
    }
    for (size_t i = 0; i < n; i++) {
      tc_sbuf_printf(&out, "%s %s", e[i].time, tc_log_level_name(e[i].level));
      if (e[i].component[0] != '\0')
        tc_sbuf_printf(&out, " [%s]", e[i].component);
      tc_sbuf_printf(&out, " %s\n", e[i].text);
    }
    tc_log_entries_free(e, n);
    if (n == 0)
      break;
    since = next;
  }
  char *body = tc_sbuf_finish(&out);
  if (body == NULL)
    return tc_ops_reply_error(rq->c, rq->url, MHD_HTTP_INTERNAL_SERVER_ERROR,
                              "out of memory");
  struct MHD_Response *r = MHD_create_response_from_buffer(
      strlen(body), body, MHD_RESPMEM_MUST_FREE);
  if (r == NULL) {
    free(body);
    return MHD_NO;
  }
  char stamp[32], disp[96];
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
  snprintf(disp, sizeof(disp),
           "attachment; filename=\"tunnel-client-logs-%s.txt\"", stamp);
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                          "text/plain; charset=utf-8");
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_DISPOSITION, disp);
  MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
  MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  enum MHD_Result ret = MHD_queue_response(rq->c, MHD_HTTP_OK, r);
  MHD_destroy_response(r);
  return ret;
}

static json_t *level_json(void) {
  return json_pack("{s:s,s:[s,s,s,s]}", "level",
                   tc_log_level_name(tc_log_get_level()), "supported_levels",
                   "debug", "info", "warn", "error");
}

enum MHD_Result tc_ops_api_log_level(const struct tc_ops_request *rq) {
  if (is_get(rq))
    return tc_ops_reply_json(rq->c, MHD_HTTP_OK, level_json());
  if (strcmp(rq->method, "PUT") != 0)
    return tc_ops_reply_method_not_allowed(rq->c, rq->url, "GET, PUT");
  json_error_t jerr;
  json_t *j = json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &jerr);
  const char *msg = NULL;
  const char *name = NULL;
  if (j == NULL || !json_is_object(j))
    msg = "body must be a JSON object like {\"level\":\"debug\"}";
  else if (json_object_size(j) != 1 ||
           !json_is_string(json_object_get(j, "level")))
    msg = "body must have exactly one field, \"level\" (a string)";
  else if (tc_log_level_parse(
               (name = json_string_value(json_object_get(j, "level")))) < 0)
    msg = "invalid level: use debug, info, warn or error";
  if (msg != NULL) {
    json_decref(j);
    return tc_ops_reply_error(rq->c, rq->url, MHD_HTTP_BAD_REQUEST, msg);
  }
  int level = tc_log_level_parse(name);
  json_decref(j);
  int old = tc_log_get_level();
  tc_log_set_level(level);
  tc_log(TC_LOG_INFO, "adminui", "log level changed", "from",
         tc_log_level_name(old), "to", tc_log_level_name(level), NULL);
  return tc_ops_reply_json(
      rq->c, MHD_HTTP_OK,
      json_pack("{s:s}", "level", tc_log_level_name(tc_log_get_level())));
}
