/* util/hdr_histogram.c — see hdr_histogram.h. Slot layout: values below
 * 128 map to slots 0..127 one to one; above, a value with highest set bit
 * b (b >= 7) lands in "band" s = b - 6 at sub-index v >> s (64..127), slot
 * 128 + (s - 1) * 64 + (sub - 64). */
#include "util/hdr_histogram.h"

#include <string.h>

#define SUB_COUNT (1u << TC_HIST_SUB_BITS)
#define HALF (SUB_COUNT / 2u)
#define VALUE_MAX ((UINT64_C(1) << TC_HIST_MAX_BITS) - 1u)

static unsigned highest_bit(uint64_t v) { /* v > 0 */
  return 63u - (unsigned)__builtin_clzll(v);
}

static size_t slot_of(uint64_t v) {
  if (v < SUB_COUNT)
    return (size_t)v;
  unsigned shift = highest_bit(v) - (TC_HIST_SUB_BITS - 1u);
  uint64_t sub = v >> shift; /* 64..127 */
  return SUB_COUNT + (size_t)(shift - 1u) * HALF + (size_t)(sub - HALF);
}

/* Largest value that maps to `slot`. */
static uint64_t slot_high(size_t slot) {
  if (slot < SUB_COUNT)
    return slot;
  size_t band = (slot - SUB_COUNT) / HALF + 1u;
  uint64_t sub = (slot - SUB_COUNT) % HALF + HALF;
  return ((sub + 1u) << band) - 1u;
}

void tc_hist_init(struct tc_hist *h) {
  memset(h, 0, sizeof(*h));
  h->min = UINT64_MAX;
}

void tc_hist_record(struct tc_hist *h, uint64_t v) {
  if (v > VALUE_MAX)
    v = VALUE_MAX;
  h->slots[slot_of(v)]++;
  h->count++;
  h->sum += (double)v;
  if (v < h->min)
    h->min = v;
  if (v > h->max)
    h->max = v;
}

void tc_hist_merge(struct tc_hist *dst, const struct tc_hist *src) {
  if (src->count == 0)
    return;
  for (size_t i = 0; i < TC_HIST_SLOTS; i++)
    dst->slots[i] += src->slots[i];
  dst->count += src->count;
  dst->sum += src->sum;
  if (src->min < dst->min)
    dst->min = src->min;
  if (src->max > dst->max)
    dst->max = src->max;
}

uint64_t tc_hist_percentile(const struct tc_hist *h, double p) {
  if (h->count == 0)
    return 0;
  if (p >= 100.0)
    return h->max;
  if (p < 0.0)
    p = 0.0;
  uint64_t rank = (uint64_t)(p / 100.0 * (double)h->count + 0.999999);
  if (rank == 0)
    rank = 1;
  uint64_t seen = 0;
  for (size_t i = 0; i < TC_HIST_SLOTS; i++) {
    seen += h->slots[i];
    if (seen >= rank) {
      uint64_t v = slot_high(i);
      if (v > h->max)
        v = h->max;
      if (v < h->min)
        v = h->min;
      return v;
    }
  }
  return h->max;
}

double tc_hist_mean(const struct tc_hist *h) {
  return h->count == 0 ? 0.0 : h->sum / (double)h->count;
}
