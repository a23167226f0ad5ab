/* fuzz_json_scan.c — libFuzzer target: tc/json_scan.h against jansson.
 *
 * The request path trusts tc_json_check() where it used to decode with
 * jansson, so the two must agree: whatever jansson accepts, the scanner
 * accepts with the same top-level kind, and every member jansson sees,
 * tc_json_member() finds with a value that decodes to the same thing.
 * The only texts the scanner may accept and jansson refuse are numbers
 * out of jansson's range (JSON itself has no limit); the only texts jansson
 * may accept and the scanner refuse have a NUL byte right after a number
 * or true/false/null (jansson's lexer ends such a token at the NUL and
 * then skips it; a NUL is never valid JSON). */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tc/json_scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static enum tc_json_kind kind_of(const json_t *v) {
  switch (json_typeof(v)) {
  case JSON_OBJECT:
    return TC_JSON_OBJECT;
  case JSON_ARRAY:
    return TC_JSON_ARRAY;
  case JSON_STRING:
    return TC_JSON_STRING;
  case JSON_INTEGER:
  case JSON_REAL:
    return TC_JSON_NUMBER;
  case JSON_TRUE:
    return TC_JSON_TRUE;
  case JSON_FALSE:
    return TC_JSON_FALSE;
  case JSON_NULL:
    return TC_JSON_NULL;
  }
  return TC_JSON_INVALID;
}

static int nul_after_token(const char *t, size_t n) {
  for (size_t i = 1; i < n; i++)
    if (t[i] == '\0' && ((t[i - 1] >= '0' && t[i - 1] <= '9') ||
                         (t[i - 1] >= 'a' && t[i - 1] <= 'z')))
      return 1;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *text = (const char *)data;
  json_error_t err;
  json_t *v = json_loadb(text, size, JSON_DECODE_ANY, &err);
  enum tc_json_kind k = tc_json_check(text, size);
  if (v == NULL) {
    if (k != TC_JSON_INVALID &&
        json_error_code(&err) != json_error_numeric_overflow)
      abort(); /* accepted what jansson calls malformed */
    return 0;
  }
  if (k == TC_JSON_INVALID && nul_after_token(text, size)) {
    json_decref(v);
    return 0;
  }
  if (k != kind_of(v))
    abort(); /* refused valid JSON, or saw another kind */
  if (k == TC_JSON_OBJECT) {
    const char *key;
    json_t *member;
    json_object_foreach(v, key, member) {
      const char *vs = NULL;
      size_t vl = 0;
      if (tc_json_member(text, size, key, &vs, &vl) != 1)
        abort(); /* a member jansson sees was not found */
      json_t *again = json_loadb(vs, vl, JSON_DECODE_ANY, NULL);
      if (again == NULL || !json_equal(again, member))
        abort(); /* found the wrong value */
      json_decref(again);
    }
    const char *vs = NULL;
    size_t vl = 0;
    if (tc_json_member(text, size, "no such member \x01", &vs, &vl) != 0)
      abort();
  }
  json_decref(v);
  return 0;
}
