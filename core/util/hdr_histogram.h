/* util/hdr_histogram.h — a fixed-size latency histogram in the HDR style:
 * log-linear buckets (128 sub-buckets per power of two, so every recorded
 * value is kept within 1/64 relative error), values 0..2^40-1 (in whatever
 * unit the caller uses; dev load records microseconds, ~12.7 days max).
 *
 * Not thread-safe: one histogram per thread, merged at the end
 * (tc_hist_merge). Memory is a fixed ~18 KiB array inside the struct. */
#ifndef TC_UTIL_HDR_HISTOGRAM_H
#define TC_UTIL_HDR_HISTOGRAM_H

#include <stdint.h>

#define TC_HIST_SUB_BITS 7u  /* 128 sub-buckets */
#define TC_HIST_MAX_BITS 40u /* values < 2^40 */
#define TC_HIST_SLOTS                                                          \
  ((TC_HIST_MAX_BITS - TC_HIST_SUB_BITS + 2u)                                  \
   << (TC_HIST_SUB_BITS - 1u)) /* 2240 */

struct tc_hist {
  uint64_t count;
  uint64_t min, max; /* exact; min = UINT64_MAX while empty */
  double sum;        /* for the mean */
  uint64_t slots[TC_HIST_SLOTS];
};

void tc_hist_init(struct tc_hist *h);
/* Record one value; values >= 2^40 are clamped to 2^40-1. */
void tc_hist_record(struct tc_hist *h, uint64_t v);
/* Add every value of src into dst. */
void tc_hist_merge(struct tc_hist *dst, const struct tc_hist *src);
/* The value at percentile p (0..100): the highest value equivalent to the
 * bucket holding the ceil(p% * count)-th smallest value, clamped to
 * [min, max]. p = 100 gives max exactly; 0 when empty. */
uint64_t tc_hist_percentile(const struct tc_hist *h, double p);
/* Mean of the recorded values; 0 when empty. */
double tc_hist_mean(const struct tc_hist *h);

#endif /* TC_UTIL_HDR_HISTOGRAM_H */
