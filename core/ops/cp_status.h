/* ops/cp_status.h — what the ops surface knows about the control plane:
 * fed by the control-plane client after every poll and the startup
 * metadata fetch, read by /readyz, /api/status and the poll metrics.
 *
 * Process-wide (one agent per process). "reached" turns true at the first
 * HTTP answer of any status and stays true. "refused_status" is the latest
 * definitive answer about this agent's access: 401, 403 or 404 set it, a
 * success (poll 200/204, metadata 200) clears it, and anything else (429,
 * 5xx, network errors) leaves it as it was. Once a poll has given a
 * definitive answer, the metadata fetch no longer changes it (the poll is
 * what serves traffic).
 * Threads: any; one short mutex, never held across I/O. */
#ifndef TC_OPS_CP_STATUS_H
#define TC_OPS_CP_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tc_cp_status_source { TC_CP_STATUS_POLL = 0, TC_CP_STATUS_METADATA = 1 };

/* One finished request. `http_status` 0 = no HTTP answer; `ok` true when
 * it succeeded; `error` (may be NULL) is a one-line, secret-free reason;
 * `api_code` (may be NULL) the error envelope's code of a non-2xx answer;
 * `commands` is the number of commands a successful poll returned. */
void tc_cp_status_record(enum tc_cp_status_source src, int http_status, bool ok,
                         const char *error, const char *api_code,
                         size_t commands);

struct tc_cp_status {
  bool reached;
  bool rejected;                /* refused_status != 0 */
  int refused_status;           /* 401, 403, 404, or 0 (see above) */
  char refused_code[64];        /* its error envelope code, "" when none */
  int last_http_status;         /* 0 before the first answer */
  int64_t last_poll_unix_ms;    /* 0 before the first completed poll */
  int64_t last_poll_ok_unix_ms; /* 0 until a poll succeeded (200/204) */
  char last_error[256];         /* "" when the latest request succeeded */
  uint64_t polls_total, poll_errors_total;
};

void tc_cp_status_get(struct tc_cp_status *out);
/* Forget everything (tests, and the start of an agent run). */
void tc_cp_status_reset(void);

/* Why the control plane refuses this agent, with what to check, for
 * /readyz and /api/status ("control plane does not know this tunnel id
 * (HTTP 404): ..."); NULL when it does not (malloc()ed, caller frees;
 * NULL also on ENOMEM when *oom is set). No secret is ever in it. */
char *tc_cp_status_refusal(const struct tc_cp_status *st, bool *oom);

#endif /* TC_OPS_CP_STATUS_H */
