/* tc/version.h — SDK ABI version and its dated changelog.
 *
 * Version rule (checked by the loader before any module code runs):
 *   module abi_major == host TC_ABI_MAJOR  and  module abi_minor <= host
 * TC_ABI_MINOR. Bump TC_ABI_MINOR when something is appended (a field at the
 * end of a struct, a new host function, a new vtable kind). Bump TC_ABI_MAJOR
 * (and reset the minor to 0) when anything is removed, reordered or changes
 * meaning.
 *
 * ABI changelog (newest first; every entry dated):
 *   2026-12-07  1.4  tc_host.reply_reserve/reply_release (the in-flight
 *                    reply budget) and tc_host.json_members appended; the
 *                    sink's contract says the core holds no copy of a
 *                    body it was handed.
 *   2026-12-07  1.3  tc_binding.child_env appended (the environment for a
 *                    child process, without the agent's secrets);
 *                    tc_transport_vtable.admin_state appended (optional JSON
 *                    state for GET /api/channels);
 *                    tc_transport_vtable.reusable_for and tc_net_vtable.flags
 *                    (TC_NET_RECREATE_ON_RELOAD) appended: configuration
 *                    reload (SIGHUP) keeps or replaces instances.
 *   2026-11-27  1.2  tc_hook_vtable.admin_state appended (optional JSON state
 *                    for the admin API, e.g. /api/oauth).
 *   2026-11-27  1.1  tc_binding.startup_wait_timeout_ms appended; the probe()
 *                    contract (startup call, then cheap /readyz calls).
 *   2026-11-22  1.0  First stable ABI: module descriptor, host table,
 * registrar, transport, hook, net and metrics-sink kinds, result enum,
 *                    multi-valued headers, declarative config fields.
 */
#ifndef TC_VERSION_H
#define TC_VERSION_H

#define TC_ABI_MAJOR 1
#define TC_ABI_MINOR 4

/* "TCMD" — first field of every module descriptor. */
#define TC_MODULE_MAGIC 0x54434d44u

#endif /* TC_VERSION_H */
