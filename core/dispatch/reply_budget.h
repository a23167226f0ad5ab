/* dispatch/reply_budget.h — the process-wide budget for MCP reply bytes in
 * flight (--mcp.max-inflight-reply-bytes, docs/operations.md "Memory").
 *
 * A transport reserves bytes before it buffers a reply (host->reply_reserve
 * in tc/host.h), hands the buffer and its reservation to the core with
 * sink->complete_owned, and the core releases them once the response POST
 * is done. A reservation that would take the total past the limit is
 * refused at once (never waits), so the call that needs it fails with
 * `reply_budget_exhausted` while the process stays within the limit.
 *
 * Threads: every function is lock-free and safe from any thread. */
#ifndef TC_DISPATCH_REPLY_BUDGET_H
#define TC_DISPATCH_REPLY_BUDGET_H

#include <stddef.h>
#include <stdint.h>

/* The default limit: 256 MiB. */
#define TC_REPLY_BUDGET_DEFAULT (256ull * 1024u * 1024u)

/* Set the limit in bytes (0 = the default). Call before workers start;
 * bytes already reserved stay reserved. */
void tc_reply_budget_configure(uint64_t limit);
uint64_t tc_reply_budget_limit(void);
/* Bytes reserved now. */
uint64_t tc_reply_budget_used(void);
/* The most ever reserved at once since start (tests, benchmarks). */
uint64_t tc_reply_budget_peak(void);

/* Claim n more bytes: 0, or -1 when they would pass the limit (counted in
 * tunnel_client_mcp_reply_budget_refusals_total). n == 0 always succeeds. */
int tc_reply_budget_reserve(size_t n);
/* Give back n bytes reserved earlier. */
void tc_reply_budget_release(size_t n);

#endif /* TC_DISPATCH_REPLY_BUDGET_H */
