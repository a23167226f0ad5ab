/* fuzz_jsonrpc.c — libFuzzer target: JSON-RPC classification of a command
 * body (tc_cp_jsonrpc_classify_text, tc_cp_jsonrpc_is_error_reply) and the
 * mcp-http module's reply checks (mh_request_expects_reply,
 * mh_check_response, mh_check_error_body), whose sources are compiled in. */
#include <jansson.h>
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
  json_t *id = NULL;
  (void)mh_request_expects_reply(body, size, &id);
  json_t *probe = id != NULL ? id : json_integer(1);
  enum mh_body_verdict v = mh_check_response(body, size, probe);
  if (v != MH_BODY_OK && mh_verdict_kind(v) == NULL)
    abort();
  v = mh_check_error_body(body, size, probe);
  if (v != MH_BODY_OK && mh_verdict_kind(v) == NULL)
    abort();
  json_decref(probe);
  return 0;
}
