/* controlplane/retry_policy.c — see retry_policy.h. */
#include "controlplane/retry_policy.h"

int tc_cp_retry_max_attempts(enum tc_cp_request_kind kind) {
  switch (kind) {
  case TC_CP_REQ_POLL:
  case TC_CP_REQ_RESPONSE: /* bounded by time instead, see client.h */
    return 0;
  case TC_CP_REQ_METADATA:
    return 1;
  case TC_CP_REQ_NOTIFY:
  case TC_CP_REQ_CLOUDFLARE:
    return 3;
  }
  return 1;
}

static bool response_status_retryable(int status) {
  return status == 408 || status == 429 || status == 502 || status == 503 ||
         status == 504;
}

/* The action before the attempt budget is applied. */
static struct tc_cp_retry_decision decide(enum tc_cp_request_kind kind,
                                          int status,
                                          enum tc_cp_transport_class tclass) {
  struct tc_cp_retry_decision d = {TC_CP_FAIL, false, false};
  bool have_status =
      tclass == TC_CP_TRANSPORT_OK || tclass == TC_CP_TRANSPORT_BAD_BODY;
  if (have_status && (status == 401 || status == 403))
    d.needs_operator = true;

  switch (kind) {
  case TC_CP_REQ_POLL:
    if (tclass == TC_CP_TRANSPORT_OK && (status == 200 || status == 204)) {
      d.action = TC_CP_DONE;
    } else {
      /* Everything else backs off and polls again, forever; Retry-After is
       * honoured whatever the status. */
      d.action = TC_CP_RETRY;
      d.honour_retry_after = have_status;
    }
    return d;

  case TC_CP_REQ_RESPONSE:
  case TC_CP_REQ_NOTIFY:
    if (tclass == TC_CP_TRANSPORT_NOT_SENT) {
      d.action = TC_CP_RETRY;
    } else if (tclass == TC_CP_TRANSPORT_SENT) {
      /* A notification that may have been delivered is not repeated. */
      d.action = kind == TC_CP_REQ_NOTIFY ? TC_CP_FAIL : TC_CP_RETRY;
    } else if (status == 200) {
      d.action = TC_CP_DONE;
    } else if (status == 404) {
      d.action = TC_CP_DONE_GONE;
    } else if (kind == TC_CP_REQ_NOTIFY ? status == 429
                                        : response_status_retryable(status)) {
      d.action = TC_CP_RETRY;
      d.honour_retry_after = true;
    }
    return d;

  case TC_CP_REQ_CLOUDFLARE:
    if (tclass == TC_CP_TRANSPORT_NOT_SENT || tclass == TC_CP_TRANSPORT_SENT) {
      d.action = TC_CP_RETRY;
    } else if (tclass == TC_CP_TRANSPORT_OK && status == 200) {
      d.action = TC_CP_DONE;
    } else if (status == 429 || (status >= 500 && status <= 599)) {
      d.action = TC_CP_RETRY;
      d.honour_retry_after = true;
    }
    return d;

  case TC_CP_REQ_METADATA:
    if (tclass == TC_CP_TRANSPORT_OK && status == 200)
      d.action = TC_CP_DONE;
    return d;
  }
  return d;
}

struct tc_cp_retry_decision
tc_cp_retry_decide(enum tc_cp_request_kind kind, int status,
                   enum tc_cp_transport_class tclass, int attempts_made) {
  struct tc_cp_retry_decision d = decide(kind, status, tclass);
  int max = tc_cp_retry_max_attempts(kind);
  if (d.action == TC_CP_RETRY && max > 0 && attempts_made >= max) {
    d.action = TC_CP_FAIL;
    d.honour_retry_after = false;
  }
  return d;
}
