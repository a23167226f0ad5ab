/* mcp_unix.h — the example transport's config block, shared with its test.
 * Filled by the core from the profile's `modules:` entry (see
 * mcp_unix_fields in mcp_unix.c). */
#ifndef MCP_UNIX_H
#define MCP_UNIX_H

#include <stdint.h>

struct mcp_unix_config {
  int64_t connect_timeout_ms; /* connect_timeout, default 2s */
  int64_t max_message_bytes;  /* max_message_bytes, default 4 MiB */
};

#endif /* MCP_UNIX_H */
