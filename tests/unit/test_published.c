/* Unit tests for util/published.c: readers never see an object after the
 * writer got it back from tc_published_swap(), while several threads read
 * and one replaces the pointer as fast as it can. Each object carries a
 * magic number the writer wipes before freeing it, so a reader that could
 * still reach an old object would see the wipe (and ASan/TSan builds see
 * the use after free or the race). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "util/published.h"

#define LIVE 0x5ca1ab1eu

struct obj {
  atomic_uint magic;
  unsigned serial;
};

static struct tc_published g_pub;
static atomic_int g_stop;
static atomic_long g_reads, g_bad;

static struct obj *obj_new(unsigned serial) {
  struct obj *o = malloc(sizeof(*o));
  assert_non_null(o);
  atomic_init(&o->magic, LIVE);
  o->serial = serial;
  return o;
}

static void *reader(void *arg) {
  (void)arg;
  unsigned last = 0;
  while (!atomic_load(&g_stop)) {
    unsigned slot;
    struct obj *o = tc_published_enter(&g_pub, &slot);
    if (atomic_load(&o->magic) != LIVE || o->serial < last)
      atomic_fetch_add(&g_bad, 1);
    last = o->serial; /* a reader never goes back in time */
    /* Hold it a moment, as a lookup would: still intact at the end. */
    for (volatile int spin = 0; spin < 200; spin++)
      ;
    if (atomic_load(&o->magic) != LIVE)
      atomic_fetch_add(&g_bad, 1);
    tc_published_exit(&g_pub, slot);
    /* Let the writer run on a small, busy machine. */
    if (atomic_fetch_add(&g_reads, 1) % 64 == 0)
      sched_yield();
  }
  return NULL;
}

static void test_swap_under_readers(void **state) {
  (void)state;
  tc_published_init(&g_pub, obj_new(1));
  atomic_store(&g_stop, 0);
  pthread_t t[3];
  for (int i = 0; i < 3; i++)
    assert_int_equal(pthread_create(&t[i], NULL, reader, NULL), 0);
  /* Swap while the readers run: until both many swaps and many reads
   * happened in the same window (the cap only bounds a starved machine). */
  while (atomic_load(&g_reads) < 1000)
    ;
  long reads0 = atomic_load(&g_reads);
  unsigned last_published = 1;
  for (unsigned serial = 2; serial < 200000; serial++) {
    struct obj *old = tc_published_swap(&g_pub, obj_new(serial));
    last_published = serial;
    assert_int_equal(atomic_load(&old->magic), LIVE);
    assert_int_equal(old->serial, serial - 1);
    atomic_store(&old->magic, 0); /* a late reader would see this */
    free(old);
    if (serial >= 500 && atomic_load(&g_reads) - reads0 >= 20000)
      break;
  }
  atomic_store(&g_stop, 1);
  for (int i = 0; i < 3; i++)
    pthread_join(t[i], NULL);
  assert_int_equal(atomic_load(&g_bad), 0);
  struct obj *last = tc_published_peek(&g_pub);
  assert_int_equal(last->serial, last_published);
  free(tc_published_swap(&g_pub, NULL));
  assert_null(tc_published_peek(&g_pub));
}

/* NULL is a value like any other. */
static void test_null_values(void **state) {
  (void)state;
  struct tc_published p;
  tc_published_init(&p, NULL);
  unsigned slot;
  assert_null(tc_published_enter(&p, &slot));
  tc_published_exit(&p, slot);
  int x = 1;
  assert_null(tc_published_swap(&p, &x));
  assert_ptr_equal(tc_published_enter(&p, &slot), &x);
  tc_published_exit(&p, slot);
  assert_ptr_equal(tc_published_swap(&p, NULL), &x);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_swap_under_readers),
      cmocka_unit_test(test_null_values),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
