/* fuzz_www_authenticate.c — libFuzzer target: the resource_metadata
 * parameter of a WWW-Authenticate value (auth-oauth's
 * ao_resource_metadata). Invariants: no crash or leak on any input; a
 * result is a non-empty string no longer than the input that starts with
 * http:// or https:// (any case). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ao_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  if (s == NULL)
    return 0;
  memcpy(s, data, size);
  s[size] = '\0';
  char *rm = ao_resource_metadata(s);
  if (rm != NULL && (rm[0] == '\0' || strlen(rm) > size ||
                     (strncasecmp(rm, "http://", 7) != 0 &&
                      strncasecmp(rm, "https://", 8) != 0)))
    abort();
  free(rm);
  free(s);
  return 0;
}
