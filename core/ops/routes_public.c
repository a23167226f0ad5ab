/* ops/routes_public.c — the unguarded-by-peer routes besides /healthz:
 * /readyz (readiness.h verdict, text/plain) and /metrics (the first loaded
 * pull metrics sink's render(), normally metrics-prometheus). */
#include <stdlib.h>
#include <string.h>

#include "loader/loader.h"
#include "ops/admin_api.h"
#include "ops/http_reply.h"
#include "ops/readiness.h"
#include "tc/errors.h"
#include "tc/metrics.h"

enum MHD_Result tc_ops_readyz(const struct tc_ops_request *rq) {
  if (rq->ctx->readiness == NULL)
    return tc_ops_reply_text(rq->c, MHD_HTTP_SERVICE_UNAVAILABLE, "starting");
  struct tc_readiness_verdict v;
  if (tc_readiness_check(rq->ctx->readiness, &v) != 0)
    return tc_ops_reply_text(rq->c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                             "internal error: out of memory");
  enum MHD_Result ret = tc_ops_reply_text(
      rq->c, v.ready ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, v.text);
  tc_readiness_verdict_clear(&v);
  return ret;
}

/* The first started pull sink with a render(). */
static const struct tc_registered_sink *
pull_sink(const struct tc_registry *reg) {
  for (size_t i = 0; reg != NULL && i < reg->sink_count; i++) {
    const struct tc_registered_sink *s = &reg->sinks[i];
    if (s->vt != NULL && (s->vt->flags & TC_SINK_PULL) &&
        s->vt->render != NULL && s->started)
      return s;
  }
  return NULL;
}

enum MHD_Result tc_ops_metrics(const struct tc_ops_request *rq) {
  if (strcmp(rq->method, "GET") != 0 && strcmp(rq->method, "HEAD") != 0)
    return tc_ops_reply_method_not_allowed(rq->c, rq->url, "GET, HEAD");
  const struct tc_registered_sink *s = pull_sink(rq->ctx->reg);
  if (s == NULL)
    return tc_ops_reply_text(rq->c, MHD_HTTP_NOT_FOUND,
                             "no pull metrics sink is loaded (load the "
                             "metrics-prometheus module)");
  /* The readiness gauge is evaluated on scrape. */
  if (rq->ctx->readiness != NULL) {
    struct tc_readiness_verdict v;
    if (tc_readiness_check(rq->ctx->readiness, &v) == 0)
      tc_readiness_verdict_clear(&v);
  }
  char *out = NULL;
  size_t len = 0;
  const char *ctype = NULL;
  int rc = s->vt->render(s->inst, &out, &len, &ctype);
  if (rc != TC_OK || out == NULL) {
    free(out);
    return tc_ops_reply_text(rq->c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                             "metrics could not be rendered");
  }
  enum MHD_Result ret = tc_ops_reply(
      rq->c, MHD_HTTP_OK,
      ctype != NULL ? ctype : "text/plain; version=0.0.4; charset=utf-8", out,
      len);
  free(out);
  return ret;
}
