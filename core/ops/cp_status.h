/* ops/cp_status.h — what the ops surface knows about the control plane:
 * fed by the control-plane client after every poll and the startup
 * metadata fetch, read by /readyz, /api/status and the poll metrics.
 *
 * Process-wide (one agent per process). "reached" turns true at the first
 * HTTP answer of any status and stays true; "rejected" follows the latest
 * HTTP answer (401/403 sets it, any other status clears it).
 * Threads: any; one short mutex, never held across I/O. */
#ifndef TC_OPS_CP_STATUS_H
#define TC_OPS_CP_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum tc_cp_status_source { TC_CP_STATUS_POLL = 0, TC_CP_STATUS_METADATA = 1 };

/* One finished request. `http_status` 0 = no HTTP answer; `ok` true when
 * it succeeded; `error` (may be NULL) is a one-line, secret-free reason;
 * `commands` is the number of commands a successful poll returned. */
void tc_cp_status_record(enum tc_cp_status_source src, int http_status, bool ok,
                         const char *error, size_t commands);

struct tc_cp_status {
  bool reached;
  bool rejected;
  int last_http_status;      /* 0 before the first answer */
  int64_t last_poll_unix_ms; /* 0 before the first completed poll */
  char last_error[256];      /* "" when the latest request succeeded */
  uint64_t polls_total, poll_errors_total;
};

void tc_cp_status_get(struct tc_cp_status *out);
/* Forget everything (tests, and the start of an agent run). */
void tc_cp_status_reset(void);

#endif /* TC_OPS_CP_STATUS_H */
