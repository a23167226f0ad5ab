/* tc/fakehost.h — a stand-in host for unit-testing modules without the
 * daemon. Link `libtc-fakehost.a` (CMake: TunnelClient::fakehost;
 * pkg-config: tunnel-client-fakehost).
 *
 * It provides what a module sees at run time — the host table, the
 * registrar, a capturing sink — and records what the module did: log lines,
 * metric families and values, registered vtables. It never loads a .so: the
 * test links the module's sources (or calls its descriptor) directly.
 *
 *   struct tc_fakehost *fh = tc_fakehost_new("mcp-unix");
 *   tc_fakehost_set_config(fh, "control_plane.tunnel_id", "tunnel_test");
 *   if (tc_fakehost_init(fh, &tc_module, &my_config, &err) != TC_OK) ...
 *   const struct tc_transport_vtable *vt = tc_fakehost_transport(fh, "x");
 *   ... vt->create(tc_fakehost_host(fh), &binding, &inst, &err) ...
 *   struct tc_fakehost_result r;
 *   tc_fakehost_call(vt, inst, "jsonrpc", "main", body, 2000, &r);
 *   tc_fakehost_free(fh);
 *
 * Threads: every function is safe from any thread except _new/_free/_init.
 * Ownership: strings returned are owned by the fake host (logs) or by the
 * result (tc_fakehost_result_clear frees them). */
#ifndef TC_FAKEHOST_H
#define TC_FAKEHOST_H

#include <stddef.h>
#include <stdint.h>

#include "tc/tc.h"

#ifdef __cplusplus
extern "C" {
#endif

struct tc_fakehost;

/* A fake host whose log lines carry `module_name`. NULL on ENOMEM. */
struct tc_fakehost *tc_fakehost_new(const char *module_name);
void tc_fakehost_free(struct tc_fakehost *fh);

/* The host table handed to init()/create(); valid until _free. */
const struct tc_host *tc_fakehost_host(struct tc_fakehost *fh);

/* Answer host->config_get(key) with `value` (copied; NULL removes it). */
int tc_fakehost_set_config(struct tc_fakehost *fh, const char *key,
                           const char *value);

/* The in-flight reply budget behind host->reply_reserve (default: no
 * limit), and the bytes reserved now — 0 after every call of a module that
 * gives back what it reserved. host->json_members is NULL in the fake
 * host. */
void tc_fakehost_set_reply_budget(struct tc_fakehost *fh, size_t bytes);
size_t tc_fakehost_reply_bytes(struct tc_fakehost *fh);

/* Lowest level host->log_enabled() accepts (default TC_LOG_DEBUG). */
void tc_fakehost_set_log_level(struct tc_fakehost *fh, int level);

/* Run the descriptor's init() with a registrar that records vtables, after
 * the same header checks the loader makes (magic, ABI, struct_size).
 * Returns init()'s result; *errmsg (malloc()ed) explains a failure. */
int tc_fakehost_init(struct tc_fakehost *fh, const struct tc_module *module,
                     const void *config, char **errmsg);

/* Vtables registered during init, by name; NULL when absent. */
const struct tc_transport_vtable *tc_fakehost_transport(struct tc_fakehost *fh,
                                                        const char *name);
const struct tc_hook_vtable *tc_fakehost_hook(struct tc_fakehost *fh,
                                              const char *name);
const struct tc_net_vtable *tc_fakehost_net(struct tc_fakehost *fh,
                                            const char *name);
const struct tc_metrics_sink_vtable *
tc_fakehost_metrics_sink(struct tc_fakehost *fh, const char *name);

/* Log lines recorded so far, formatted "LEVEL module[/instance]: text". */
size_t tc_fakehost_log_count(struct tc_fakehost *fh);
/* Copy of line i (malloc()ed), or NULL when out of range. */
char *tc_fakehost_log_line(struct tc_fakehost *fh, size_t i);
/* Non-zero when some line contains `needle`. */
int tc_fakehost_log_contains(struct tc_fakehost *fh, const char *needle);

/* Current value of a counter/gauge series (label values in order, NULL for
 * none), or the observation count of a histogram series. Returns TC_OK, or
 * TC_ENOENT when the family or series does not exist. */
int tc_fakehost_metric_value(struct tc_fakehost *fh, const char *name,
                             const char *const *label_values, double *value);

/* What one call() produced. */
struct tc_fakehost_result {
  int call_rc;   /* what call() returned */
  int completed; /* times complete() ran (must be exactly 1) */
  int status;    /* from complete() */
  char *body;    /* from complete(), NUL-terminated, or NULL */
  size_t body_len;
  char *failure_source; /* NULL on success */
  char *failure_kind;
  size_t notify_count;  /* notify() calls before complete() */
  char **notifications; /* their bodies, NUL-terminated */
};

/* Build a tc_request (headers none, deadline now + timeout_ms, 0 = none)
 * and run vt->call() on the calling thread with a recording sink. Returns
 * TC_OK when complete() ran exactly once, TC_EPROTO otherwise (the result
 * still says what happened), TC_ENOMEM. Clear the result afterwards. */
int tc_fakehost_call(const struct tc_transport_vtable *vt, void *inst,
                     const char *type, const char *channel, const char *body,
                     uint64_t timeout_ms, struct tc_fakehost_result *out);
void tc_fakehost_result_clear(struct tc_fakehost_result *r);

#ifdef __cplusplus
}
#endif
#endif /* TC_FAKEHOST_H */
