/* controlplane/request_headers.h — which command headers a transport gets
 * (docs/protocol.md, "Command headers"). Applied to every command as it is
 * decoded, so every transport — built-in or a custom module — and every
 * hook sees the same clean list in tc_request.headers.
 *
 * Removed (names compared without regard to case):
 *   hop-by-hop (RFC 9110 §7.6.1): Connection and every name its values
 *     list, Keep-Alive, Proxy-Connection, TE, Transfer-Encoding, Upgrade,
 *     Trailer; Proxy-Authorization and Proxy-Authenticate (credentials for
 *     a proxy on the way, §11.7);
 *   properties of the agent's own request to the MCP server: Host,
 *     Content-Length, Content-Type, Content-Encoding (the body is the
 *     JSON-RPC message, sent as application/json), Expect (the agent sends
 *     its body at once) and Accept-Encoding (the agent reads the reply
 *     itself and decodes no compression);
 *   claims about the caller's address that the agent cannot vouch for, and
 *     that a server behind a local proxy may trust: Forwarded, every
 *     X-Forwarded-*, X-Real-IP, True-Client-IP, CF-Connecting-IP,
 *     X-Client-IP, X-Cluster-Client-IP, X-Original-Forwarded-For, Via;
 *   Cookie: the caller's cookies belong to the site it called (the tunnel
 *     service), not to the MCP server.
 * Everything else passes in received order, notably Authorization,
 * Mcp-Session-Id, Mcp-Protocol-Version, Accept, Last-Event-ID, Origin and
 * User-Agent.
 *
 * Threads: reentrant; the list belongs to the caller. */
#ifndef TC_CONTROLPLANE_REQUEST_HEADERS_H
#define TC_CONTROLPLANE_REQUEST_HEADERS_H

#include <stddef.h>

#include "tc/headers.h"

/* Remove what the rules above remove from `h`, in place; returns how many
 * entries went. */
size_t tc_cp_strip_request_headers(struct tc_headers *h);

#endif /* TC_CONTROLPLANE_REQUEST_HEADERS_H */
