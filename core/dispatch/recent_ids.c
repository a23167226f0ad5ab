/* dispatch/recent_ids.c — remembers the request ids of recently submitted
 * commands so that a command the service delivers twice runs (and is
 * answered) once: protocol delivery is at-most-once, but a duplicate must
 * never produce a second terminal response.
 *
 * Two generations of open-addressing sets of 64-bit FNV-1a hashes: lookups
 * check both, inserts go to the current one; when it holds
 * RECENT_GEN_FILL ids the older generation is dropped. So at least the last
 * RECENT_GEN_FILL ids (at most twice that) are remembered in fixed memory.
 * The caller holds `mu` around a seen/add pair. */
#include <stdint.h>
#include <string.h>

#include "dispatch/dispatch_internal.h"

uint64_t tc_dispatch_recent_hash(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s != '\0'; s++) {
    h ^= (unsigned char)*s;
    h *= 1099511628211ull;
  }
  return h == 0 ? 1 : h; /* 0 marks an empty slot */
}

static int gen_has(const uint64_t *slots, uint64_t h) {
  for (size_t i = h % RECENT_GEN_SLOTS;; i = (i + 1) % RECENT_GEN_SLOTS) {
    if (slots[i] == 0)
      return 0;
    if (slots[i] == h)
      return 1;
  }
}

static void gen_add(uint64_t *slots, uint64_t h) {
  size_t i = h % RECENT_GEN_SLOTS;
  while (slots[i] != 0)
    i = (i + 1) % RECENT_GEN_SLOTS;
  slots[i] = h;
}

void tc_dispatch_recent_init(struct tc_dispatch_recent *r) {
  memset(r, 0, sizeof(*r));
  pthread_mutex_init(&r->mu, NULL);
}

void tc_dispatch_recent_destroy(struct tc_dispatch_recent *r) {
  pthread_mutex_destroy(&r->mu);
}

int tc_dispatch_recent_seen_locked(const struct tc_dispatch_recent *r,
                                   uint64_t h) {
  return gen_has(r->gen[0], h) || gen_has(r->gen[1], h);
}

void tc_dispatch_recent_add_locked(struct tc_dispatch_recent *r, uint64_t h) {
  if (r->fill == RECENT_GEN_FILL) {
    r->cur = 1 - r->cur;
    memset(r->gen[r->cur], 0, sizeof(r->gen[0]));
    r->fill = 0;
  }
  gen_add(r->gen[r->cur], h);
  r->fill++;
}
