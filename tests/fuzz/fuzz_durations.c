/* fuzz_durations.c — libFuzzer target: the command's response_timeout
 * grammar (tc_cp_parse_response_timeout) and the config duration parser
 * (tc_parse_duration_ms). Invariants: no crash/UB (overflow is a refusal),
 * a valid response_timeout is never negative. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "controlplane/duration.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  if (s == NULL)
    return 0;
  memcpy(s, data, size);
  s[size] = '\0';
  int64_t ns = -1, ms = -1;
  if (tc_cp_parse_response_timeout(s, &ns) == 1 && ns < 0)
    abort();
  const char *why = NULL;
  /* Go durations may be negative: only a refusal must say why. */
  if (tc_parse_duration_ms(s, &ms, &why) != 0 && why == NULL)
    abort();
  free(s);
  return 0;
}
