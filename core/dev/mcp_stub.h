/* dev/mcp_stub.h — a small Streamable HTTP MCP server with three tools and
 * OAuth discovery documents: the local MCP target of `dev mcp-stub`, demos
 * and tests (and later `run --embedded-mcp-stub`). The protocol details are
 * in the top comment of mcp_stub.c.
 *
 * Threads: start/stop from one thread; requests are served on
 * libmicrohttpd's own threads (one per connection). Not for production:
 * the optional bearer check compares one fixed token, sessions live in
 * memory. */
#ifndef TC_DEV_MCP_STUB_H
#define TC_DEV_MCP_STUB_H

#include <stddef.h>

struct tc_mcp_stub;

struct tc_mcp_stub_options {
  const char *listen_addr;    /* host:port, port 0 = ephemeral;
                                 NULL = "127.0.0.1:0" */
  const char *server_name;    /* serverInfo.name; NULL = "mcp-stub" */
  const char *server_version; /* serverInfo.version; NULL = "0.1.0" */
  /* TLS: PEM files (read at start). Both set = serve HTTPS. With
   * tls_client_ca also set, every request must come with a client
   * certificate issued by that CA (else the TLS handshake fails). */
  const char *tls_cert_file;
  const char *tls_key_file;
  const char *tls_client_ca_file;
  /* OAuth-protected mode: when set, POST/DELETE /mcp need exactly
   * "Authorization: Bearer <oauth_token>", else 401 with
   * WWW-Authenticate: Bearer resource_metadata="<base>/.well-known/
   * oauth-protected-resource/mcp". */
  const char *oauth_token;
  /* AS metadata announces an issuer other than its own base URL
   * ("<base>/other-issuer"): the issuer-mismatch case of discovery. */
  int oauth_issuer_mismatch;
  /* Extra names the Host and Origin of a request may carry besides
   * loopback names and the listen address (util/host_pattern.h grammar;
   * borrowed for the call). Every route refuses any other Host or Origin,
   * two Host or two Origin headers, and Sec-Fetch-Site: cross-site
   * (util/http_guard.h). */
  const char *const *allowed_hosts;
  size_t allowed_host_count;
};

/* Bind and start serving. The option strings are copied. Returns 0 and *out,
 * or -1 with *out = NULL and *err (malloc()ed, one line naming the address
 * and how to fix it). */
int tc_mcp_stub_start(struct tc_mcp_stub **out,
                      const struct tc_mcp_stub_options *opt, char **err);
/* "http(s)://host:port" of the listener (the MCP endpoint is <base>/mcp).
 * Borrowed until stop. */
const char *tc_mcp_stub_base_url(const struct tc_mcp_stub *stub);
/* Stop serving (waits for in-flight requests), drop all sessions, free.
 * NULL is a no-op. */
void tc_mcp_stub_stop(struct tc_mcp_stub *stub);

#endif /* TC_DEV_MCP_STUB_H */
