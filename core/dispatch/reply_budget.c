/* dispatch/reply_budget.c — see reply_budget.h. One atomic counter; the
 * gauge is set from it after every change (a metric update takes only that
 * family's mutex, and reservations happen when a buffer grows, not per
 * byte), so it may lag a concurrent change until the next one. */
#include "dispatch/reply_budget.h"

#include <stdatomic.h>

#include "ops/core_metrics.h"

static _Atomic uint64_t g_limit = TC_REPLY_BUDGET_DEFAULT;
static _Atomic uint64_t g_used;
static _Atomic uint64_t g_peak;

void tc_reply_budget_configure(uint64_t limit) {
  atomic_store(&g_limit, limit != 0 ? limit : TC_REPLY_BUDGET_DEFAULT);
  tc_metric_set(tc_core_metrics()->reply_budget_limit, NULL,
                (double)atomic_load(&g_limit));
}

uint64_t tc_reply_budget_limit(void) {
  return atomic_load(&g_limit);
}

uint64_t tc_reply_budget_used(void) {
  return atomic_load(&g_used);
}

uint64_t tc_reply_budget_peak(void) {
  return atomic_load(&g_peak);
}

int tc_reply_budget_reserve(size_t n) {
  if (n == 0)
    return 0;
  uint64_t limit = atomic_load(&g_limit);
  uint64_t cur = atomic_load(&g_used);
  for (;;) {
    if (n > limit || cur > limit - n) {
      tc_metric_add(tc_core_metrics()->reply_budget_refusals, NULL, 1);
      return -1;
    }
    if (atomic_compare_exchange_weak(&g_used, &cur, cur + n))
      break;
  }
  uint64_t now = cur + n, peak = atomic_load(&g_peak);
  while (now > peak && !atomic_compare_exchange_weak(&g_peak, &peak, now))
    ;
  tc_metric_set(tc_core_metrics()->reply_bytes, NULL,
                (double)atomic_load(&g_used));
  return 0;
}

void tc_reply_budget_release(size_t n) {
  if (n == 0)
    return;
  uint64_t cur = atomic_load(&g_used), next;
  do
    next = cur >= n ? cur - n : 0; /* never below zero, even if misused */
  while (!atomic_compare_exchange_weak(&g_used, &cur, next));
  tc_metric_set(tc_core_metrics()->reply_bytes, NULL,
                (double)atomic_load(&g_used));
}
