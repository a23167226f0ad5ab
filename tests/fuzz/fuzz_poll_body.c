/* fuzz_poll_body.c — libFuzzer target: the poll reply envelope decoder
 * (tc_cp_decode_poll_body) and the service error envelope
 * (tc_cp_decode_api_error) on arbitrary bytes. Invariants: no crash, no
 * leak; a failure always carries an error line and an empty list. */
#include <stdint.h>
#include <stdlib.h>

#include "controlplane/command.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct tc_cp_command_list list = {0};
  char *err = NULL;
  if (tc_cp_decode_poll_body((const char *)data, size, &list, &err) != 0) {
    if (err == NULL || list.count != 0)
      abort();
  }
  free(err);
  tc_cp_command_list_free(&list);
  struct tc_cp_api_error e = {0};
  tc_cp_decode_api_error((const char *)data, size, &e);
  tc_cp_api_error_clear(&e);
  return 0;
}
