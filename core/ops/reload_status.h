/* ops/reload_status.h — the outcome of the last configuration reload, for
 * /api/status ("reload") and the reload metrics.
 *
 * Process-wide (one agent per process). Written by the reload on the main
 * thread, read by the ops listener; one short mutex, never held across
 * I/O, never taken on the request path. */
#ifndef TC_OPS_RELOAD_STATUS_H
#define TC_OPS_RELOAD_STATUS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One reload attempt. Strings are copied. `error` (NULL when ok) must be
 * one secret-free line (run it through tc_redact()). */
struct tc_reload_report {
  bool ok;
  const char *error;
  char *const *applied; /* live keys that changed and now apply */
  size_t applied_count;
  char *const *needs_restart; /* "key" or "key (module m)" */
  size_t needs_restart_count;
  char *const *added, *const *removed, *const *changed; /* channels */
  size_t added_count, removed_count, changed_count;
};

/* Record an attempt made at `unix_ms`; a successful one advances the
 * generation (0 = the configuration the process started with). Also sets
 * tunnel_client_config_reloads_total and ..._last_reload_successful. */
void tc_reload_status_record(const struct tc_reload_report *r, int64_t unix_ms);

/* {"generation": N, "last_attempt_unix_ms": ms|null, "ok": bool|null,
 *  "error": str|null, "applied": [...], "needs_restart": [...],
 *  "channels": {"added": [...], "removed": [...], "changed": [...]}}
 * A new reference; NULL on ENOMEM. Any thread. */
json_t *tc_reload_status_json(void);

uint64_t tc_reload_status_generation(void);

/* Forget everything (tests, and the start of an agent run). */
void tc_reload_status_reset(void);

#endif /* TC_OPS_RELOAD_STATUS_H */
