/* controlplane/server_info.h — the X-Tunnel-MCP-Server-Info v1 header
 * (protocol.md §1.3): compact JSON {"version":1,"channels":[...]} with one
 * {"name":..[,"proc_affinity":true]} per effective binding in config order.
 * Pure functions, thread-safe; results are malloc()ed for the caller. */
#ifndef TC_CONTROLPLANE_SERVER_INFO_H
#define TC_CONTROLPLANE_SERVER_INFO_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"

#define TC_SERVER_INFO_MAX_CHANNELS 32
#define TC_SERVER_INFO_MAX_BYTES 4096

struct tc_cp_server_channel {
  const char *name;   /* must already be canonical (^[a-z0-9_-]{1,64}$) */
  bool proc_affinity; /* stdio / in-memory: true; Streamable HTTP: false */
};

/* Build the header value. Channels not in `allowlist` are left out when an
 * allowlist is given (allow_count > 0); "harpoon" (proc_affinity) is
 * appended last when `harpoon_routable` and the allowlist (if any) has it.
 * Returns the value, or NULL with *err set (malloc()ed, one actionable
 * line) when the result would break the limits: 1..32 entries, canonical
 * unique names, at most 4096 bytes. */
char *tc_cp_server_info_build(const struct tc_cp_server_channel *channels,
                              size_t count, const char *const *allowlist,
                              size_t allow_count, bool harpoon_routable,
                              char **err);

/* The same from the effective configuration: bindings in order,
 * proc_affinity for the "stdio" transport, cp_poll_channels as allowlist. */
char *tc_cp_server_info_from_config(const struct tc_config *cfg,
                                    bool harpoon_routable, char **err);

#endif /* TC_CONTROLPLANE_SERVER_INFO_H */
