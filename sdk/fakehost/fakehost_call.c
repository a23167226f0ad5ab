/* fakehost_call.c — run one transport call() with a recording sink
 * (tc_fakehost_call in tc/fakehost.h). */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fakehost_internal.h"

static char *copy_bytes(const char *p, size_t n) {
  char *s = malloc(n + 1);
  if (s == NULL)
    return NULL;
  if (n)
    memcpy(s, p, n);
  s[n] = '\0';
  return s;
}

static int sink_notify(const struct tc_sink *sink,
                       const struct tc_response *msg) {
  struct tc_fakehost_result *r = sink->core;
  if (r->completed)
    return TC_ESTATE; /* notify after complete is a module bug */
  char **grown =
      realloc(r->notifications, (r->notify_count + 1) * sizeof(char *));
  if (grown == NULL)
    return TC_ENOMEM;
  r->notifications = grown;
  char *body =
      copy_bytes(msg->body ? msg->body : "", msg->body ? msg->body_len : 0);
  if (body == NULL)
    return TC_ENOMEM;
  r->notifications[r->notify_count++] = body;
  return TC_OK;
}

static int sink_complete(const struct tc_sink *sink,
                         const struct tc_response *res) {
  struct tc_fakehost_result *r = sink->core;
  if (r->completed++)
    return TC_ESTATE; /* counted: the test sees completed > 1 */
  r->status = res->status;
  if (res->body != NULL) {
    r->body = copy_bytes(res->body, res->body_len);
    r->body_len = res->body_len;
  }
  if (res->failure_source != NULL) {
    r->failure_source = strdup(res->failure_source);
    r->failure_kind = res->failure_kind ? strdup(res->failure_kind) : NULL;
  }
  return TC_OK;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct fh_request {
  struct tc_request req; /* first: the transport sees only this */
  struct tc_headers none;
};

static int never_canceled(const struct tc_request *req) {
  return req->deadline_ns != 0 && now_ns() >= req->deadline_ns;
}

int tc_fakehost_call(const struct tc_transport_vtable *vt, void *inst,
                     const char *type, const char *channel, const char *body,
                     uint64_t timeout_ms, struct tc_fakehost_result *out) {
  memset(out, 0, sizeof(*out));
  if (vt == NULL || vt->call == NULL || body == NULL)
    return TC_EINVAL;
  struct fh_request fr;
  memset(&fr, 0, sizeof(fr));
  fr.req.struct_size = sizeof(fr.req);
  fr.req.type = type ? type : "jsonrpc";
  fr.req.channel = channel ? channel : "main";
  fr.req.request_id = "fakehost-request";
  fr.req.body = body;
  fr.req.body_len = strlen(body);
  fr.req.headers = &fr.none;
  fr.req.deadline_ns = timeout_ms ? now_ns() + timeout_ms * 1000000u : 0;
  fr.req.is_canceled = never_canceled;
  struct tc_sink sink = {sizeof(sink), out, sink_notify, sink_complete};
  out->call_rc = vt->call(inst, &fr.req, &sink);
  return out->completed == 1 ? TC_OK : TC_EPROTO;
}

void tc_fakehost_result_clear(struct tc_fakehost_result *r) {
  free(r->body);
  free(r->failure_source);
  free(r->failure_kind);
  for (size_t i = 0; i < r->notify_count; i++)
    free(r->notifications[i]);
  free(r->notifications);
  memset(r, 0, sizeof(*r));
}
