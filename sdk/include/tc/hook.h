/* tc/hook.h — the hook kind: command and response interceptors.
 *
 * Hooks form a chain in load order. For each command the core asks every
 * hook's on_command(); the first that returns TC_OK owns the command (it
 * produced the terminal result through the sink); TC_DECLINED passes it on.
 * on_response() may observe or rewrite a result before it is posted.
 * readiness() gates /readyz; admin_state() (ABI 1.2) feeds the admin API.
 *
 * Threads: create/start/stop/destroy on the main thread; on_command and
 * on_response on worker threads, concurrently; readiness on ops threads. */
#ifndef TC_HOOK_H
#define TC_HOOK_H

#include <stddef.h>

#include "tc/transport.h"

#ifdef __cplusplus
extern "C" {
#endif

struct tc_hook_vtable {
  size_t struct_size;
  const char *name; /* unique among hooks, e.g. "oauth" */

  /* Optional. Main thread after init; *inst may stay NULL. */
  int (*create)(const struct tc_host *host, void **inst, char **errmsg);
  /* Optional. Main thread; may start threads or background fetches. */
  int (*start)(void *inst, char **errmsg);

  /* At least one of the next three is mandatory. */

  /* Claim a command: TC_DECLINED if not mine; TC_OK after calling
   * sink->complete(); < 0 on failure (the core synthesises a failure). */
  int (*on_command)(void *inst, const struct tc_request *req,
                    const struct tc_sink *sink);
  /* Observe or rewrite a result. TC_DECLINED: unchanged. TC_OK: *new_body
   * (malloc()ed, the core frees) of *new_len bytes replaces res->body. */
  int (*on_response)(void *inst, const struct tc_request *req,
                     const struct tc_response *res, char **new_body,
                     size_t *new_len);
  /* TC_OK ready; TC_AGAIN pending; < 0 failed. *reason (malloc()ed, may stay
   * NULL) is shown by /readyz, e.g. "oauth discovery pending". */
  int (*readiness)(void *inst, char **reason);

  /* Optional. Main thread at shutdown, reverse order. */
  void (*stop)(void *inst);
  void (*destroy)(void *inst);

  /* ABI 1.2, optional (read only when struct_size covers it). The hook's
   * state for the admin API (e.g. auth-oauth -> GET /api/oauth): *json gets
   * a malloc()ed JSON object (the core frees it). TC_OK, or < 0 on failure.
   * Any thread (ops listener), concurrently with on_command/readiness. It
   * may hold full URLs, never tokens or credentials. */
  int (*admin_state)(void *inst, char **json);
};

#ifdef __cplusplus
}
#endif
#endif /* TC_HOOK_H */
