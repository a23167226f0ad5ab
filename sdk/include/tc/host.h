/* tc/host.h — the host API table the core hands to each module's init().
 *
 * The executable exports no symbols; this const table is the only way a
 * module reaches the core. Each module gets its own copy (so log lines carry
 * its name); the pointer stays valid until exit. Members added after 1.0 are
 * appended; probe them with TC_HOST_HAS(host, member) before calling.
 * Unless a member says otherwise it is thread-safe and may be called from
 * any thread after init() started. */
#ifndef TC_HOST_H
#define TC_HOST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "tc/metrics.h"
#include "tc/module.h"

#ifdef __cplusplus
extern "C" {
#endif

enum tc_log_level {
  TC_LOG_DEBUG = 10,
  TC_LOG_INFO = 20,
  TC_LOG_WARN = 30,
  TC_LOG_ERROR = 40
};

/* What an outbound connection is for; net hooks decide policy from it. */
enum tc_net_purpose {
  TC_NET_CONTROL_PLANE = 1,  /* tunnel service: poll, response, metadata */
  TC_NET_MCP = 2,            /* a binding's MCP origin */
  TC_NET_OAUTH_METADATA = 3, /* PRMD and authorization-server metadata */
  TC_NET_PROXY_CHECK = 4     /* periodic proxy health check */
};

struct tc_binding;

struct tc_host {
  size_t struct_size;
  uint16_t abi_major, abi_minor; /* the host's ABI */
  const char *host_version;      /* tunnel-client version, e.g. "0.1.0" */
  const char *module_name;       /* the module this copy belongs to */
  void *core;                    /* private to the core */

  /* Log one line at `level`, prefixed with the module name and, when not
   * NULL, `instance` (e.g. a channel). The core redacts known secret shapes,
   * but never pass secrets deliberately. */
  void (*log)(const struct tc_host *host, int level, const char *instance,
              const char *fmt, ...) TC_PRINTF(4, 5);
  /* Non-zero when `level` would be emitted (skip costly formatting). */
  int (*log_enabled)(const struct tc_host *host, int level);

  /* Effective value of a core setting by its YAML name, e.g.
   * "control_plane.tunnel_id" or "log.level". Returns a string owned by the
   * core, valid until exit, or NULL when unset, unknown or a secret (API
   * keys and tokens are never exposed; a proxy URL with credentials is
   * given only to the module named "proxy", which applies it). Main thread
   * during init/start. Inside a create()/start() run by a configuration
   * reload it answers with the reloaded values. */
  const char *(*config_get)(const struct tc_host *host, const char *key);

  /* Clocks: monotonic nanoseconds, and wall-clock milliseconds since epoch. */
  uint64_t (*monotonic_ns)(void);
  int64_t (*wall_ms)(void);

  /* Allocation in the core's allocator. format() returns a malloc()ed
   * printf-style string (NULL on ENOMEM) — handy for *errmsg. */
  void *(*alloc)(size_t size);
  void (*free)(void *ptr);
  char *(*format)(const char *fmt, ...)TC_PRINTF(1, 2);

  /* Apply the net-hook chain (proxy, CA bundle, client certificate) to a
   * libcurl easy handle (`CURL *`) before it connects to `url` for
   * `purpose`. `binding` may be NULL. Worker threads. Returns TC_OK or < 0
   * with *errmsg set (malloc()ed, secret-free). */
  int (*net_prepare)(const struct tc_host *host, void *curl_easy, int purpose,
                     const char *url, const struct tc_binding *binding,
                     char **errmsg);

  /* Metrics registry (see tc/metrics.h). register: init/start only; returns
   * NULL with *errmsg on a bad or conflicting description (re-registering an
   * identical description returns the same handle). Updates: any thread;
   * label_values has the family's arity (NULL when it has no labels). */
  struct tc_metric *(*metric_register)(const struct tc_host *host,
                                       const struct tc_metric_desc *desc,
                                       char **errmsg);
  void (*metric_add)(struct tc_metric *m, const char *const *label_values,
                     double delta);
  void (*metric_set)(struct tc_metric *m, const char *const *label_values,
                     double value);
  void (*metric_observe)(struct tc_metric *m, const char *const *label_values,
                         double value);
  /* Walk every series in registration order; see tc_metric_visit_fn. */
  int (*metrics_visit)(const struct tc_host *host, tc_metric_visit_fn fn,
                       void *ud);

  /* ABI 1.4: the in-flight reply budget, shared by every transport and
   * channel (--mcp.max-inflight-reply-bytes). Reserve before buffering
   * reply bytes — as a buffer grows, not per byte — and release what you
   * free. reply_reserve() never waits: TC_OK, or TC_ENOMEM when `bytes`
   * more would pass the budget; fail that call with failure_source
   * "client_internal" and failure_kind "reply_budget_exhausted" (status
   * 503) instead of buffering more. The sink posts a body before
   * complete() returns and keeps no copy, so release the reservation when
   * you free the buffer after complete(). */
  int (*reply_reserve)(const struct tc_host *host, size_t bytes);
  void (*reply_release)(const struct tc_host *host, size_t bytes);

  /* ABI 1.4: look into JSON text without decoding it. Validates that
   * [obj, obj + len) is one JSON object (the core's rules: UTF-8, any
   * number size; docs/protocol.md) and finds its top-level members named
   * keys[0..count): offs[i]/lens[i] get the exact text of the value (the
   * last of duplicate names), lens[i] == 0 when absent. Returns TC_OK, or
   * TC_EINVAL when the text is not one valid JSON object. No allocation;
   * one pass, so it suits multi-megabyte replies. */
  int (*json_members)(const char *obj, size_t len, const char *const *keys,
                      size_t count, size_t *offs, size_t *lens);
};

#define TC_HOST_HAS(host, member) TC_HAS_FIELD(host, struct tc_host, member)

#ifdef __cplusplus
}
#endif
#endif /* TC_HOST_H */
