/* tc/headers.h — an ordered, multi-valued HTTP header list.
 *
 * One entry per (name, value) pair; a name may repeat, order is kept, names
 * compare case-insensitively (ASCII). The functions are header-only so a
 * module links nothing from the executable; core and modules share the
 * system C library, so memory from tc_headers_add() may be released by
 * either side with tc_headers_clear().
 *
 * Threads: a list is not synchronised; the owner serialises access.
 * Ownership: a `const struct tc_headers *` handed across the boundary is
 * borrowed for the duration of the call. A list the callee must fill (an
 * out-parameter) is owned by the caller, who clears it. */
#ifndef TC_HEADERS_H
#define TC_HEADERS_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "tc/errors.h"

#ifdef __cplusplus
extern "C" {
#endif

struct tc_header {
  char *name;  /* owned by the list, NUL-terminated, never NULL */
  char *value; /* owned by the list, NUL-terminated, may be "" */
};

struct tc_headers {
  size_t count;            /* number of used entries */
  size_t capacity;         /* allocated entries */
  struct tc_header *items; /* NULL when capacity == 0 */
};

#define TC_HEADERS_INIT                                                        \
  { 0, 0, NULL }

static inline int tc_header_name_eq(const char *a, const char *b) {
  for (;; a++, b++) {
    unsigned char ca = (unsigned char)*a, cb = (unsigned char)*b;
    if (ca >= 'A' && ca <= 'Z')
      ca = (unsigned char)(ca - 'A' + 'a');
    if (cb >= 'A' && cb <= 'Z')
      cb = (unsigned char)(cb - 'A' + 'a');
    if (ca != cb)
      return 0;
    if (ca == 0)
      return 1;
  }
}

/* Append a copy of (name, value). Returns TC_OK, TC_EINVAL for a NULL name,
 * or TC_ENOMEM (the list is unchanged then). */
static inline int tc_headers_add(struct tc_headers *h, const char *name,
                                 const char *value) {
  if (h == NULL || name == NULL)
    return TC_EINVAL;
  if (value == NULL)
    value = "";
  if (h->count == h->capacity) {
    size_t cap = h->capacity ? h->capacity * 2 : 8;
    struct tc_header *n =
        (struct tc_header *)realloc(h->items, cap * sizeof(*n));
    if (n == NULL)
      return TC_ENOMEM;
    h->items = n;
    h->capacity = cap;
  }
  size_t nl = strlen(name) + 1, vl = strlen(value) + 1;
  char *nc = (char *)malloc(nl), *vc = (char *)malloc(vl);
  if (nc == NULL || vc == NULL) {
    free(nc);
    free(vc);
    return TC_ENOMEM;
  }
  memcpy(nc, name, nl);
  memcpy(vc, value, vl);
  h->items[h->count].name = nc;
  h->items[h->count].value = vc;
  h->count++;
  return TC_OK;
}

/* The idx-th value (0-based) of `name`, or NULL. Borrowed from the list. */
static inline const char *tc_headers_get(const struct tc_headers *h,
                                         const char *name, size_t idx) {
  if (h == NULL || name == NULL)
    return NULL;
  for (size_t i = 0; i < h->count; i++)
    if (tc_header_name_eq(h->items[i].name, name) && idx-- == 0)
      return h->items[i].value;
  return NULL;
}

/* Remove every value of `name`; returns how many were removed. */
static inline size_t tc_headers_remove(struct tc_headers *h, const char *name) {
  size_t removed = 0, w = 0;
  if (h == NULL || name == NULL)
    return 0;
  for (size_t i = 0; i < h->count; i++) {
    if (tc_header_name_eq(h->items[i].name, name)) {
      free(h->items[i].name);
      free(h->items[i].value);
      removed++;
    } else {
      h->items[w++] = h->items[i];
    }
  }
  h->count = w;
  return removed;
}

/* Free every entry and the array; the list is empty and reusable after. */
static inline void tc_headers_clear(struct tc_headers *h) {
  if (h == NULL)
    return;
  for (size_t i = 0; i < h->count; i++) {
    free(h->items[i].name);
    free(h->items[i].value);
  }
  free(h->items);
  h->items = NULL;
  h->count = h->capacity = 0;
}

#ifdef __cplusplus
}
#endif
#endif /* TC_HEADERS_H */
