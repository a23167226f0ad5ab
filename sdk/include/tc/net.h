/* tc/net.h — the net kind: outbound connection policy.
 *
 * Before any libcurl easy handle connects, the core (or a module through
 * host->net_prepare) runs every registered net hook in load order. A hook
 * sets proxy, CA bundle and client certificate options for the destination
 * and purpose. prepare() runs on whatever thread is about to connect,
 * concurrently; it must not block on the network. */
#ifndef TC_NET_H
#define TC_NET_H

#include <stddef.h>

#include "tc/transport.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The destination being prepared. Borrowed for the call. */
struct tc_net_target {
  size_t struct_size;
  int purpose;                      /* enum tc_net_purpose */
  const char *url;                  /* full URL; log its origin only */
  const struct tc_binding *binding; /* TC_NET_MCP: the binding, else NULL */
};

struct tc_net_vtable {
  size_t struct_size;
  const char *name; /* unique among net hooks, e.g. "proxy" */

  /* Optional. Main thread after init; *inst may stay NULL. */
  int (*create)(const struct tc_host *host, void **inst, char **errmsg);
  /* Optional. Main thread; e.g. start a periodic proxy health check. */
  int (*start)(void *inst, char **errmsg);
  /* Mandatory. Configure `curl_easy` (a CURL *). TC_OK: applied;
   * TC_DECLINED: nothing to do for this target; < 0: refuse the connection
   * with *errmsg (malloc()ed, no secrets). */
  int (*prepare)(void *inst, void *curl_easy, const struct tc_net_target *t,
                 char **errmsg);
  /* Optional. Main thread at shutdown (or when replaced, see below). */
  void (*stop)(void *inst);
  void (*destroy)(void *inst);

  /* ABI 1.3 (read only when struct_size covers it): enum tc_net_flags. */
  unsigned flags;
};

enum tc_net_flags {
  /* On every configuration reload (SIGHUP) the core creates and starts a
   * new instance — create() reads the reloaded settings through the host —
   * sends prepare() calls to it from then on, and stops and destroys the
   * previous instance once no prepare() runs on it any more. Two instances
   * exist for a moment, so an instance must not own process-wide state.
   * Without this flag the instance made at start serves until exit, and a
   * reload reports the settings it read as "needs restart". */
  TC_NET_RECREATE_ON_RELOAD = 1u << 0
};

#ifdef __cplusplus
}
#endif
#endif /* TC_NET_H */
