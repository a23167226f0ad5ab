/* fuzz_retry_after.c — libFuzzer target: Retry-After (delta-seconds and the
 * three HTTP-date forms: tc_cp_parse_retry_after, tc_cp_parse_http_date).
 * Invariant: a usable value is always within 0..TC_RETRY_AFTER_CAP_MS. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "controlplane/retry_after.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  if (s == NULL)
    return 0;
  memcpy(s, data, size);
  s[size] = '\0';
  int64_t wait = -1, unix_s = 0;
  /* A fixed "now" (2026-01-01) keeps runs reproducible. */
  if (tc_cp_parse_retry_after(s, INT64_C(1767225600000), &wait) &&
      (wait < 0 || wait > TC_RETRY_AFTER_CAP_MS))
    abort();
  (void)tc_cp_parse_http_date(s, &unix_s);
  free(s);
  return 0;
}
