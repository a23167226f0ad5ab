/* fuzz_sse.c — libFuzzer target: the mcp-http module's SSE parser
 * (mh_sse.c, compiled in). The first byte picks a chunk size so that lines
 * and CR/LF pairs are split across feeds; the parser is bounded at 4 KiB per
 * event's data. Invariants: no crash, no leak, every event's length within
 * the bound, over-long data stops the stream with -1. */
#include <stdint.h>
#include <stdlib.h>

#include "mh_internal.h"

#define SSE_FUZZ_MAX 4096u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_event(void *ud, const char *d, size_t len) {
  (void)d;
  if (len > SSE_FUZZ_MAX)
    abort();
  size_t *n = ud;
  return ++*n > 10000; /* stop after many events, like a cancelled call */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  size_t chunk = (size_t)data[0] % 17 + 1, events = 0;
  data++;
  size--;
  struct mh_sse p;
  mh_sse_init(&p, NULL, SSE_FUZZ_MAX, on_event, &events);
  for (size_t off = 0; off < size; off += chunk) {
    size_t n = size - off < chunk ? size - off : chunk;
    if (mh_sse_feed(&p, (const char *)data + off, n) != 0)
      break;
  }
  mh_sse_free(&p);
  return 0;
}
