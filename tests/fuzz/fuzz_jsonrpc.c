/* fuzz_jsonrpc.c — libFuzzer target: JSON-RPC classification of a command
 * body (tc_cp_jsonrpc_classify_text, tc_cp_jsonrpc_is_error_reply) and the
 * mcp-http module's reply checks (mh_request_expects_reply,
 * mh_check_response, mh_check_error_body, mh_classify_message, id
 * equality), whose sources are compiled in. */
#include <stdint.h>
#include <stdlib.h>

#include "controlplane/jsonrpc.h"
#include "mh_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *body = (const char *)data;
  const char *why = NULL;
  struct tc_cp_rpc_fields f;
  enum tc_cp_rpc_kind k = tc_cp_jsonrpc_classify_text(body, size, &f, &why);
  if (k == TC_CP_RPC_INVALID && why == NULL)
    abort(); /* an invalid message must say why */
  if (k == TC_CP_RPC_CALL && (!f.id_usable || f.method.p == NULL))
    abort(); /* a call has a usable id and a method */
  if (f.id.p != NULL && (f.id.p < body || f.id.p + f.id.n > body + size))
    abort(); /* spans point into the message */
  (void)tc_cp_jsonrpc_is_error_reply(body, size, "1");
  (void)tc_cp_jsonrpc_is_error_reply(body, size, "\"a\"");
  struct mh_span id;
  (void)mh_request_expects_reply(body, size, &id);
  if (id.p != NULL && (id.p < body || id.p + id.n > body + size))
    abort();
  struct mh_span one = {"1", 1};
  struct mh_span probe = id.p != NULL ? id : one;
  enum mh_body_verdict v = mh_check_response(body, size, probe);
  if (v != MH_BODY_OK && mh_verdict_kind(v) == NULL)
    abort();
  v = mh_check_error_body(body, size, probe);
  if (v != MH_BODY_OK && mh_verdict_kind(v) == NULL)
    abort();
  /* An id equals itself exactly when it is not empty. */
  if (id.p != NULL && id.n > 0 && !mh_id_equal(id, id))
    abort();
  struct mh_span mid, method;
  enum mh_msg_kind mk = mh_classify_message(body, size, &mid, &method);
  if (mk == MH_MSG_REQUEST && (mid.p == NULL || method.p == NULL))
    abort();
  /* Ids from checked messages: equality is reflexive and symmetric, and
   * the core's rule agrees with the module's. */
  if (mid.p != NULL && mid.n > 0) {
    if (!mh_id_equal(mid, mid) ||
        !tc_cp_jsonrpc_id_equal(mid.p, mid.n, mid.p, mid.n))
      abort();
    if (id.p != NULL && (mh_id_equal(id, mid) != mh_id_equal(mid, id) ||
                         mh_id_equal(id, mid) != (int)tc_cp_jsonrpc_id_equal(
                                                     id.p, id.n, mid.p, mid.n)))
      abort();
  }
  return 0;
}
