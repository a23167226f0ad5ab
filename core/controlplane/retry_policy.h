/* controlplane/retry_policy.h — the retry table of protocol.md §2.3 as one
 * pure function of (request kind, outcome of the attempt, attempts made).
 *
 * The caller performs an attempt, describes what happened, and asks what to
 * do next; sleeping (backoff and Retry-After, see backoff.h and
 * retry_after.h) and logging stay with the caller. Thread-safe. */
#ifndef TC_CONTROLPLANE_RETRY_POLICY_H
#define TC_CONTROLPLANE_RETRY_POLICY_H

#include <stdbool.h>

enum tc_cp_request_kind {
  TC_CP_REQ_POLL = 0, /* GET .../poll: retried forever */
  /* POST .../response, terminal types (and acks): no attempt limit; the
   * caller bounds the retries by the command's deadline or a budget (the
   * official client stops after 3 attempts). A terminal response is final
   * on the service: a copy that arrives after one was accepted is
   * answered 404, so repeating one whose fate is unknown (sent, then the
   * connection failed) cannot deliver it twice. */
  TC_CP_REQ_RESPONSE,
  TC_CP_REQ_NOTIFY,     /* POST .../response with resp_type jsonrpc_notify */
  TC_CP_REQ_METADATA,   /* GET /v1/tunnels/{id}: one attempt */
  TC_CP_REQ_CLOUDFLARE, /* GET .../cloudflare/runtime */
};

/* What went wrong below HTTP, if anything. */
enum tc_cp_transport_class {
  TC_CP_TRANSPORT_OK = 0,   /* an HTTP status was received */
  TC_CP_TRANSPORT_NOT_SENT, /* failed before the request was written (DNS,
                               connect, TLS handshake, proxy) */
  TC_CP_TRANSPORT_SENT,     /* failed after (part of) the request was written
                               (reset, EOF, timeout): the server may have
                               acted on it */
  TC_CP_TRANSPORT_BAD_BODY, /* a status arrived but the body was unreadable
                               or not the expected JSON (poll only) */
};

enum tc_cp_retry_action {
  TC_CP_DONE = 0,  /* success: stop */
  TC_CP_DONE_GONE, /* 404 on a response POST: the service no longer
                      waits for it; terminal, not an error, no replay */
  TC_CP_RETRY,     /* sleep, then repeat the identical request */
  TC_CP_FAIL,      /* give up: log and abandon */
};

struct tc_cp_retry_decision {
  enum tc_cp_retry_action action;
  /* With TC_CP_RETRY: sleep max(backoff, Retry-After) instead of backoff. */
  bool honour_retry_after;
  /* 401/403: the API key or tunnel access is wrong; say so in the log
   * ("needs operator action"). The retry behaviour itself is unchanged. */
  bool needs_operator;
};

/* Attempts allowed for `kind` (0 = unlimited). */
int tc_cp_retry_max_attempts(enum tc_cp_request_kind kind);

/* Decide after an attempt. `status` is the HTTP status (ignored unless
 * `tclass` is TC_CP_TRANSPORT_OK or TC_CP_TRANSPORT_BAD_BODY);
 * `attempts_made` counts the attempt just finished (1 for the first).
 * A retryable outcome becomes TC_CP_FAIL once the attempts are used up. */
struct tc_cp_retry_decision
tc_cp_retry_decide(enum tc_cp_request_kind kind, int status,
                   enum tc_cp_transport_class tclass, int attempts_made);

#endif /* TC_CONTROLPLANE_RETRY_POLICY_H */
