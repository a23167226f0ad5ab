/* controlplane/client.h — the HTTP side of the control plane (protocol.md
 * §1.1–§1.4, §1.7, §2): metadata fetch, one long poll, response POSTs with
 * the retry table.
 *
 * Every request carries the §1.2 headers (Bearer key, Accept, User-Agent,
 * client name/version/instance id, X-Tunnel-MCP-Server-Info computed once at
 * creation, OpenAI-Organization, operator extra headers). URLs are
 * <origin of control-plane.base-url><control-plane.url-path>/v1/tunnels/<id>.
 * Each request is bounded by poll-timeout + guardrail (capped at 10 min).
 *
 * Threads: a client is created and freed on the main thread; tc_cp_post()
 * may run on any number of threads at once (each takes a libcurl handle from
 * a small pool, reused for keep-alive); tc_cp_poll_once() uses the client's
 * own poll handle and runs on one thread at a time; tc_cp_client_interrupt()
 * may be called from any thread. Logs use component "controlplane", name
 * URLs by origin only and never contain the key or a shard token. */
#ifndef TC_CONTROLPLANE_CLIENT_H
#define TC_CONTROLPLANE_CLIENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"
#include "controlplane/command.h"
#include "controlplane/response.h"
#include "controlplane/retry_policy.h"

struct tc_registry;
struct tc_cp_client;

/* Build a client from the effective configuration (cfg is read during the
 * call only; reg must outlive the client). `reg` may be NULL (no net hooks).
 * Calls curl_global_init() once per process if nothing else has. Returns 0, or
 * -1 with *err (malloc()ed, one actionable line, no secret). */
int tc_cp_client_new(struct tc_cp_client **out, const struct tc_config *cfg,
                     const struct tc_registry *reg, char **err);
/* Release the client. No request may be running. NULL is ignored. */
void tc_cp_client_free(struct tc_cp_client *c);

/* ---- reload ---------------------------------------------------------------
 * What a configuration reload changes in a running client: the §1.2
 * headers (API key, organization id, extra headers, server info), the poll
 * channels, poll timeout and guardrail, and the CA bundle and client pair
 * used when no "proxy" net hook is loaded. The base URL and tunnel id stay
 * those of tc_cp_client_new(). A request takes the settings current when it
 * starts and keeps them to its end (a POST's retries included). */
struct tc_cp_settings;

/* Build settings from cfg (read during the call only). 0, or -1 with *err
 * (malloc()ed, one line, no secret). Any thread. */
int tc_cp_settings_new(const struct tc_config *cfg, struct tc_cp_settings **out,
                       char **err);
/* Requests that start from now on use `st` (ownership passes to c). One
 * thread at a time (the main thread). */
void tc_cp_client_apply(struct tc_cp_client *c, struct tc_cp_settings *st);
/* Free settings that were never applied. NULL is ignored. */
void tc_cp_settings_free(struct tc_cp_settings *st);

/* 32 lowercase hex digits from 16 random bytes, generated on first use and
 * identical for the life of the process. */
const char *tc_cp_instance_id(void);

/* Any thread: abort every poll, POST and retry sleep running right now
 * (they fail promptly as "interrupted"). Requests started afterwards run
 * normally, so a drain may still post what is due. */
void tc_cp_client_interrupt(struct tc_cp_client *c);

/* POST one response for `cmd` (request_id/channel come from `r`; the shard
 * token and X-Request-Id from `cmd`). Retries per protocol.md §2.3 with a
 * fresh backoff (200 ms doubling, jittered, at most 2 s) and Retry-After,
 * never sleeping past `deadline_ns` (CLOCK_MONOTONIC ns; 0 = none).
 * Notifications get 3 attempts. A terminal response has no attempt limit:
 * it is retried until `deadline_ns`, or for cp_response_retry_budget_ms
 * when the command has no deadline, and never again once a 200 arrived.
 * Once *stop_retries is non-zero (the shutdown grace ran out; NULL =
 * never) the attempt under way finishes but no further one starts.
 * Returns 0 when delivered (200, or 404 which means the service no longer
 * waits for it), else -1 with *err (malloc()ed, one line naming the
 * request_id; err may be NULL); a terminal response given up on is
 * counted in tunnel_client_response_posts_abandoned_total{reason}. */
int tc_cp_post(struct tc_cp_client *c, const struct tc_cp_command *cmd,
               const struct tc_cp_response *r, uint64_t deadline_ns,
               const atomic_int *stop_retries, char **err);

/* The outcome of one poll. */
struct tc_cp_poll_result {
  int status;          /* HTTP status; 0 when none was received */
  uint64_t receipt_ns; /* CLOCK_MONOTONIC when the response headers came */
  enum tc_cp_transport_class tclass; /* how it failed below HTTP, if so */
  bool interrupted; /* aborted by tc_cp_client_interrupt / cancel flag */
  bool has_retry_after;
  int64_t retry_after_ms;
  char *service_request_id;           /* the reply's X-Request-Id (logs only) */
  struct tc_cp_command_list commands; /* 200: decoded commands */
  struct tc_cp_api_error api_error;   /* non-2xx: the error envelope */
  char *error; /* one line describing the failure; NULL on success */
};

/* GET .../poll?[channel=..&]limit=N&timeout_ms=T once. `limit` is clamped
 * to 1..25. Returns 0 for 204 (no commands) or a decoded 200, else -1 with
 * the result describing the failure. Clear the result with
 * tc_cp_poll_result_clear() in every case. */
int tc_cp_poll_once(struct tc_cp_client *c, int limit,
                    struct tc_cp_poll_result *out);
/* The same, also aborting as soon as *cancel becomes non-zero (checked
 * before the request starts and while it runs; the poller's stop flag). */
int tc_cp_poll_once_cancel(struct tc_cp_client *c, int limit,
                           const atomic_int *cancel,
                           struct tc_cp_poll_result *out);
void tc_cp_poll_result_clear(struct tc_cp_poll_result *r);
/* Any thread: wake the poll in flight (only it) so it rechecks its cancel
 * flag now instead of within a second. */
void tc_cp_client_wake_poll(struct tc_cp_client *c);

/* GET /v1/tunnels/{id} once. Returns 0 with *json (malloc()ed body), or -1
 * with *err (malloc()ed one line). Feeds the ops state (cp_status.h). */
int tc_cp_fetch_metadata(struct tc_cp_client *c, char **json, char **err);

/* What one GET /v1/tunnels/{id} showed, for preflight checks (`doctor`):
 * the same request, headers and network stack as the agent's own fetch,
 * without touching the ops state. */
struct tc_cp_probe_result {
  int status;           /* HTTP status; 0 when none was received */
  int curl_code;        /* CURLcode of a transfer that did not complete */
  char curl_error[256]; /* libcurl's detail for curl_code ("" when none) */
  bool prepare_failed;  /* the request could not be set up (a net hook
                           refused it): curl_error holds the reason */
  bool interrupted;     /* aborted by tc_cp_client_interrupt() */
  char peer[64];        /* "ip:port" connected to ("" when unknown): the
                           proxy's when one is used */
  bool tls_done;        /* an https handshake with the origin completed */
  char *body;           /* the reply body (capped at 1 MiB), or NULL */
  struct tc_cp_api_error api_error; /* non-200: the error envelope */
};
/* Returns 0 when an HTTP answer came (any status), else -1; the result
 * says which. timeout_ms <= 0 uses the client's request bound. Clear the
 * result with tc_cp_probe_result_clear() in every case. */
int tc_cp_probe_metadata(struct tc_cp_client *c, long timeout_ms,
                         struct tc_cp_probe_result *out);
void tc_cp_probe_result_clear(struct tc_cp_probe_result *r);

/* The prefix every route hangs off ("https://host[:port][/url-path]"),
 * borrowed from the client (tests, diagnostics). */
const char *tc_cp_client_base(const struct tc_cp_client *c);

/* The bound of every control-plane request (poll-timeout + guardrail,
 * capped), in milliseconds. */
long tc_cp_client_timeout_ms(struct tc_cp_client *c);

/* CLOCK_MONOTONIC in ns: the clock receipt times and deadlines use. */
uint64_t tc_cp_now_ns(void);

#endif /* TC_CONTROLPLANE_CLIENT_H */
