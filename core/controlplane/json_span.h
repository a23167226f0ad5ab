/* controlplane/json_span.h — locate values inside JSON text without
 * re-encoding them, so raw JSON-RPC bytes can be forwarded byte-exact.
 *
 * Meant for text a real parser (jansson) has already accepted: the scanner
 * trusts the structure but never reads outside [p, end) and returns NULL /
 * -1 instead of crashing on anything else. Pure functions, thread-safe. */
#ifndef TC_CONTROLPLANE_JSON_SPAN_H
#define TC_CONTROLPLANE_JSON_SPAN_H

#include <stddef.h>

/* First non-whitespace byte at or after p (end if none). */
const char *tc_cp_json_skip_ws(const char *p, const char *end);
/* One past the value starting exactly at p, or NULL when malformed. */
const char *tc_cp_json_skip_value(const char *p, const char *end);
/* In the object whose '{' is at obj, find the LAST member named `key` (the
 * one jansson keeps for duplicates; escaped names are decoded before the
 * comparison). Returns 1 and sets [*vs, *ve) to the value, 0 when absent,
 * -1 when the text is not an object. */
int tc_cp_json_member_span(const char *obj, const char *end, const char *key,
                           const char **vs, const char **ve);
/* Step through an array: *cursor starts at the '['; each call sets
 * [*vs, *ve) to the next element and returns 1, 0 at the end, -1 on
 * malformed text. */
int tc_cp_json_array_next(const char **cursor, const char *end, const char **vs,
                          const char **ve);

#endif /* TC_CONTROLPLANE_JSON_SPAN_H */
