/* dev/mcp_stub.h — a small Streamable HTTP MCP server with three tools and
 * OAuth discovery documents: the local MCP target of `dev mcp-stub`, demos
 * and tests (and later `run --embedded-mcp-stub`). The protocol details are
 * in the top comment of mcp_stub.c.
 *
 * Threads: start/stop from one thread; requests are served on
 * libmicrohttpd's own threads (one per connection). Not for production: no
 * authentication, sessions live in memory. */
#ifndef TC_DEV_MCP_STUB_H
#define TC_DEV_MCP_STUB_H

struct tc_mcp_stub;

struct tc_mcp_stub_options {
  const char *listen_addr;    /* host:port, port 0 = ephemeral;
                                 NULL = "127.0.0.1:0" */
  const char *server_name;    /* serverInfo.name; NULL = "mcp-stub" */
  const char *server_version; /* serverInfo.version; NULL = "0.1.0" */
};

/* Bind and start serving. The option strings are copied. Returns 0 and *out,
 * or -1 with *out = NULL and *err (malloc()ed, one line naming the address
 * and how to fix it). */
int tc_mcp_stub_start(struct tc_mcp_stub **out,
                      const struct tc_mcp_stub_options *opt, char **err);
/* "http://host:port" of the listener (the MCP endpoint is <base>/mcp).
 * Borrowed until stop. */
const char *tc_mcp_stub_base_url(const struct tc_mcp_stub *stub);
/* Stop serving (waits for in-flight requests), drop all sessions, free.
 * NULL is a no-op. */
void tc_mcp_stub_stop(struct tc_mcp_stub *stub);

#endif /* TC_DEV_MCP_STUB_H */
