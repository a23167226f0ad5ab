/* util/published.h — a pointer that one writer replaces while any number of
 * threads read it, without a lock on the read side.
 *
 * Readers bracket their use with tc_published_enter()/_exit(): two atomic
 * increments and a load, no lock, no waiting on the writer. A reader must
 * hold it only for a few instructions (look something up, take a reference
 * of its own) and never across I/O or a blocking call: the writer waits for
 * it.
 *
 * tc_published_swap() installs a new pointer and returns the previous one
 * once no reader can still be looking at it, so the caller may then drop
 * the reference the publication held (or free it). One writer at a time.
 *
 * How: two slots, each with its own reader count, and a generation number
 * whose low bit names the current slot. A reader counts itself into the
 * current slot and re-checks the generation; if it moved, it counts itself
 * out and retries. The writer fills the other slot, advances the generation
 * and waits until the old slot's count drops to zero. */
#ifndef TC_UTIL_PUBLISHED_H
#define TC_UTIL_PUBLISHED_H

#include <stdatomic.h>

struct tc_published {
  atomic_uint gen;
  _Atomic(void *) ptr[2];
  atomic_int readers[2];
};

/* Start with `initial` published (may be NULL). */
void tc_published_init(struct tc_published *p, void *initial);

/* The current pointer; *slot is the ticket for tc_published_exit(). */
void *tc_published_enter(struct tc_published *p, unsigned *slot);
void tc_published_exit(struct tc_published *p, unsigned slot);

/* Writer: publish `next` and return the previous pointer once no reader
 * can still see it (waits, yielding, for readers already inside). */
void *tc_published_swap(struct tc_published *p, void *next);

/* The current pointer, for the writer thread only (no reader ticket). */
void *tc_published_peek(struct tc_published *p);

#endif /* TC_UTIL_PUBLISHED_H */
