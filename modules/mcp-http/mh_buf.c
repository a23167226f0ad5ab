/* mh_buf.c — a reply buffer charged to the host's in-flight reply budget
 * (see mh_internal.h). The reservation always equals the allocated
 * capacity, so what the budget counts is what the process holds. */
#include <stdlib.h>
#include <string.h>

#include "mh_internal.h"

void mh_buf_init(struct mh_buf *b, const struct tc_host *host, size_t limit) {
  memset(b, 0, sizeof(*b));
  b->host = host;
  b->limit = limit;
}

static int budget_reserve(struct mh_buf *b, size_t n) {
  const struct tc_host *h = b->host;
  if (h == NULL || !TC_HOST_HAS(h, reply_reserve) || h->reply_reserve == NULL)
    return TC_OK;
  return h->reply_reserve(h, n);
}

static void budget_release(struct mh_buf *b, size_t n) {
  const struct tc_host *h = b->host;
  if (n > 0 && h != NULL && TC_HOST_HAS(h, reply_release) &&
      h->reply_release != NULL)
    h->reply_release(h, n);
}

enum mh_buf_rc mh_buf_reserve(struct mh_buf *b, size_t len) {
  if (len > b->limit)
    return MH_BUF_LIMIT;
  size_t need = len + 1; /* room for a terminating NUL */
  if (need <= b->cap)
    return MH_BUF_OK;
  /* Doubling as a body streams in; a known length (one large request on
   * an empty buffer) gets exactly what it needs. */
  size_t cap = b->cap == 0 ? 4096 : b->cap > SIZE_MAX / 2 ? need : b->cap * 2;
  if (cap < need)
    cap = need;
  if (cap > b->limit + 1)
    cap = b->limit + 1;
  if (budget_reserve(b, cap - b->cap) != TC_OK)
    return MH_BUF_BUDGET;
  char *p = realloc(b->p, cap);
  if (p == NULL) {
    budget_release(b, cap - b->cap);
    return MH_BUF_NOMEM;
  }
  b->p = p;
  b->cap = cap;
  return MH_BUF_OK;
}

enum mh_buf_rc mh_buf_append(struct mh_buf *b, const char *p, size_t n) {
  if (n == 0)
    return MH_BUF_OK;
  if (n > SIZE_MAX - b->len - 1)
    return MH_BUF_LIMIT;
  enum mh_buf_rc rc = mh_buf_reserve(b, b->len + n);
  if (rc != MH_BUF_OK)
    return rc;
  memcpy(b->p + b->len, p, n);
  b->len += n;
  b->p[b->len] = '\0';
  return MH_BUF_OK;
}

void mh_buf_free(struct mh_buf *b) {
  free(b->p);
  budget_release(b, b->cap);
  b->p = NULL;
  b->len = b->cap = 0;
}
