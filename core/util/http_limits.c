/* util/http_limits.c — see http_limits.h.
 *
 * A connection is cut with shutdown(2) on its socket, under the mutex,
 * and only while it is in the list: libmicrohttpd reports
 * MHD_CONNECTION_NOTIFY_CLOSED (which unlinks it, under the same mutex)
 * before it closes the descriptor, so a cut never reaches a descriptor
 * that was closed and reused. */
#include "util/http_limits.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>

#include "util/log.h"

enum hl_phase { HL_HEADERS = 0, HL_BODY, HL_BUSY };

/* Past the hard total cap, an address with at most this many connections
 * is still admitted (libmicrohttpd's own limit bounds them). */
#define HL_LIGHT_ADDRESS 4u

enum hl_cut_reason {
  HL_CUT_HEADER_TIMEOUT = 0,
  HL_CUT_BODY_TIMEOUT,
  HL_CUT_EVICTED,
  HL_CUT_REFUSED
};

/* A client address as a comparable key (IPv4-mapped IPv6 counts as IPv4;
 * every unix-socket peer shares one key). */
struct hl_addr {
  int family;
  unsigned char a[16];
};

struct hl_conn {
  struct hl_conn *prev, *next; /* accept order, oldest first */
  int fd;
  struct hl_addr addr;
  enum hl_phase phase;
  uint64_t since_ns; /* when the phase began (CLOCK_MONOTONIC) */
  int cut;           /* shut down; waiting for libmicrohttpd to close it */
};

struct tc_http_conns {
  struct tc_http_limits lim;
  const char *component;
  pthread_mutex_t mu;
  pthread_cond_t wake; /* CLOCK_MONOTONIC; reaper */
  struct hl_conn *head, *tail;
  unsigned open;
  int stopping;
  pthread_t reaper;
  struct tc_http_conns_stats stats;
};

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void addr_key(const struct sockaddr *sa, struct hl_addr *k) {
  memset(k, 0, sizeof(*k));
  if (sa == NULL)
    return;
  if (sa->sa_family == AF_INET) {
    k->family = AF_INET;
    memcpy(k->a, &((const struct sockaddr_in *)sa)->sin_addr, 4);
  } else if (sa->sa_family == AF_INET6) {
    const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(a6)) {
      k->family = AF_INET;
      memcpy(k->a, &a6->s6_addr[12], 4);
    } else {
      k->family = AF_INET6;
      memcpy(k->a, a6->s6_addr, 16);
    }
  } else {
    k->family = sa->sa_family;
  }
}

static int addr_eq(const struct hl_addr *x, const struct hl_addr *y) {
  return x->family == y->family && memcmp(x->a, y->a, sizeof(x->a)) == 0;
}

static const char *reason_text(enum hl_cut_reason r) {
  switch (r) {
  case HL_CUT_HEADER_TIMEOUT:
    return "request headers not complete in time";
  case HL_CUT_BODY_TIMEOUT:
    return "request body not complete in time";
  case HL_CUT_EVICTED:
    return "connection limit reached: oldest idle connection closed";
  case HL_CUT_REFUSED:
    return "connection limit reached and every connection busy: refused";
  }
  return "cut";
}

/* Caller holds t->mu. */
static void cut_locked(struct tc_http_conns *t, struct hl_conn *e,
                       enum hl_cut_reason why) {
  if (e->cut)
    return;
  e->cut = 1;
  shutdown(e->fd, SHUT_RDWR);
  switch (why) {
  case HL_CUT_HEADER_TIMEOUT:
    t->stats.header_timeouts++;
    break;
  case HL_CUT_BODY_TIMEOUT:
    t->stats.body_timeouts++;
    break;
  case HL_CUT_EVICTED:
    t->stats.evicted++;
    break;
  case HL_CUT_REFUSED:
    t->stats.refused++;
    break;
  }
  char peer[INET6_ADDRSTRLEN] = "local";
  if (e->addr.family == AF_INET || e->addr.family == AF_INET6)
    inet_ntop(e->addr.family, e->addr.a, peer, sizeof(peer));
  tc_log(TC_LOG_DEBUG, t->component, "connection closed", "reason",
         reason_text(why), "peer", peer, NULL);
}

/* Uncut connections of `addr` (all of them when addr is NULL). */
static unsigned count_locked(const struct tc_http_conns *t,
                             const struct hl_addr *addr) {
  unsigned n = 0;
  for (const struct hl_conn *e = t->head; e != NULL; e = e->next)
    if (!e->cut && (addr == NULL || addr_eq(&e->addr, addr)))
      n++;
  return n;
}

/* 1 when request bytes wait unread on e's socket: libmicrohttpd is about
 * to read them (a probe that sent its request the moment it connected,
 * still queued behind a burst of newer connections). */
static int has_unread_bytes(const struct hl_conn *e) {
  int n = 0;
  return ioctl(e->fd, FIONREAD, &n) == 0 && n > 0;
}

/* The oldest connection that may make room, of `addr` (of any address
 * when NULL): not cut, not busy, in its phase for at least the grace
 * time, and with no request bytes about to be read. */
static struct hl_conn *oldest_idle_locked(const struct tc_http_conns *t,
                                          const struct hl_addr *addr,
                                          uint64_t now) {
  uint64_t grace = (uint64_t)t->lim.grace_ms * 1000000u;
  for (struct hl_conn *e = t->head; e != NULL; e = e->next)
    if (!e->cut && e->phase != HL_BUSY && e->since_ns <= now &&
        now - e->since_ns >= grace &&
        (addr == NULL || addr_eq(&e->addr, addr)) && !has_unread_bytes(e))
      return e;
  return NULL;
}

/* The address holding the most uncut connections (a flood's) into *out;
 * 0 when none holds more than one (or, past 64 distinct addresses, the
 * count is incomplete: then any address may be chosen). */
static int heaviest_locked(const struct tc_http_conns *t, struct hl_addr *out) {
  struct {
    const struct hl_addr *addr;
    unsigned n;
  } seen[64];
  size_t nseen = 0, best = 0;
  for (const struct hl_conn *e = t->head; e != NULL; e = e->next) {
    if (e->cut)
      continue;
    size_t i = 0;
    while (i < nseen && !addr_eq(seen[i].addr, &e->addr))
      i++;
    if (i == nseen) {
      if (nseen == sizeof(seen) / sizeof(seen[0]))
        continue;
      seen[nseen].addr = &e->addr;
      seen[nseen++].n = 0;
    }
    if (++seen[i].n > seen[best].n)
      best = i;
  }
  if (nseen == 0 || seen[best].n < 2)
    return 0;
  *out = *seen[best].addr;
  return 1;
}

/* Bring `addr` (every address when NULL) back to `soft` connections by
 * cutting candidates, oldest first — over the total cap, those of the
 * address holding the most, so a probe from an address of its own is not
 * the one to go. What cannot go yet (busy, or within its grace time) stays
 * over the soft cap; the newcomer `e` is cut only beyond `hard` — and past
 * the total one only when its own address holds more than
 * HL_LIGHT_ADDRESS connections (a probing kubelet holds one or two). */
static void trim_locked(struct tc_http_conns *t, struct hl_conn *e,
                        const struct hl_addr *addr, unsigned soft,
                        unsigned hard, uint64_t now) {
  if (soft == 0)
    return;
  unsigned n = count_locked(t, addr);
  while (n > soft) {
    struct hl_addr heavy;
    struct hl_conn *victim = NULL;
    if (addr != NULL)
      victim = oldest_idle_locked(t, addr, now);
    else if (heaviest_locked(t, &heavy))
      victim = oldest_idle_locked(t, &heavy, now);
    if (victim == NULL && addr == NULL)
      victim = oldest_idle_locked(t, NULL, now);
    if (victim == NULL)
      break;
    cut_locked(t, victim, HL_CUT_EVICTED);
    n--;
  }
  if (hard != 0 && n > hard &&
      (addr != NULL || count_locked(t, &e->addr) > HL_LIGHT_ADDRESS))
    cut_locked(t, e, HL_CUT_REFUSED);
}

static uint64_t phase_limit_ns(const struct tc_http_conns *t, enum hl_phase p) {
  unsigned s = p == HL_HEADERS ? t->lim.header_timeout_s
               : p == HL_BODY  ? t->lim.body_timeout_s
                               : 0;
  return (uint64_t)s * 1000000000u;
}

static void *reaper_main(void *arg) {
  struct tc_http_conns *t = arg;
  pthread_mutex_lock(&t->mu);
  while (!t->stopping) {
    uint64_t now = now_ns(), next = now + 1000000000u; /* at most 1 s */
    for (struct hl_conn *e = t->head; e != NULL; e = e->next) {
      uint64_t limit = phase_limit_ns(t, e->phase);
      if (e->cut || limit == 0)
        continue;
      if (now >= e->since_ns + limit)
        cut_locked(t, e,
                   e->phase == HL_HEADERS ? HL_CUT_HEADER_TIMEOUT
                                          : HL_CUT_BODY_TIMEOUT);
      else if (e->since_ns + limit < next)
        next = e->since_ns + limit;
    }
    if (t->head == NULL) {
      pthread_cond_wait(&t->wake, &t->mu);
      continue;
    }
    struct timespec until = {.tv_sec = (time_t)(next / 1000000000u),
                             .tv_nsec = (long)(next % 1000000000u)};
    pthread_cond_timedwait(&t->wake, &t->mu, &until);
  }
  pthread_mutex_unlock(&t->mu);
  return NULL;
}

struct tc_http_conns *tc_http_conns_new(const struct tc_http_limits *l,
                                        const char *component) {
  struct tc_http_conns *t = calloc(1, sizeof(*t));
  if (t == NULL)
    return NULL;
  t->lim = *l;
  t->component = component;
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_mutex_init(&t->mu, NULL);
  pthread_cond_init(&t->wake, &ca);
  pthread_condattr_destroy(&ca);
  if (pthread_create(&t->reaper, NULL, reaper_main, t) != 0) {
    pthread_cond_destroy(&t->wake);
    pthread_mutex_destroy(&t->mu);
    free(t);
    return NULL;
  }
  return t;
}

void tc_http_conns_free(struct tc_http_conns *t) {
  if (t == NULL)
    return;
  pthread_mutex_lock(&t->mu);
  t->stopping = 1;
  pthread_cond_signal(&t->wake);
  pthread_mutex_unlock(&t->mu);
  pthread_join(t->reaper, NULL);
  while (t->head != NULL) { /* none left once the daemon stopped */
    struct hl_conn *e = t->head;
    t->head = e->next;
    free(e);
  }
  pthread_cond_destroy(&t->wake);
  pthread_mutex_destroy(&t->mu);
  free(t);
}

static void on_started(struct tc_http_conns *t, struct MHD_Connection *c,
                       void **socket_context) {
  const union MHD_ConnectionInfo *fdi =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
  const union MHD_ConnectionInfo *ai =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  struct hl_conn *e = fdi != NULL ? calloc(1, sizeof(*e)) : NULL;
  if (e == NULL)
    return; /* untracked: only libmicrohttpd's own limits apply */
  e->fd = fdi->connect_fd;
  addr_key(ai != NULL ? ai->client_addr : NULL, &e->addr);
  e->phase = HL_HEADERS;
  pthread_mutex_lock(&t->mu);
  e->since_ns = now_ns(); /* under the lock: no phase began after it */
  e->prev = t->tail;
  if (t->tail != NULL)
    t->tail->next = e;
  else
    t->head = e;
  t->tail = e;
  t->open++;
  trim_locked(t, e, &e->addr, t->lim.per_address, t->lim.hard_per_address,
              e->since_ns);
  if (!e->cut)
    trim_locked(t, e, NULL, t->lim.max_connections, t->lim.hard_max_connections,
                e->since_ns);
  if (t->head == e)
    pthread_cond_signal(&t->wake); /* the reaper waits while none */
  pthread_mutex_unlock(&t->mu);
  *socket_context = e;
}

static void on_closed(struct tc_http_conns *t, void **socket_context) {
  struct hl_conn *e = *socket_context;
  if (e == NULL)
    return;
  pthread_mutex_lock(&t->mu);
  if (e->prev != NULL)
    e->prev->next = e->next;
  else
    t->head = e->next;
  if (e->next != NULL)
    e->next->prev = e->prev;
  else
    t->tail = e->prev;
  t->open--;
  pthread_mutex_unlock(&t->mu);
  free(e);
  *socket_context = NULL;
}

void tc_http_conns_notify(void *cls, struct MHD_Connection *c,
                          void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
  struct tc_http_conns *t = cls;
  if (code == MHD_CONNECTION_NOTIFY_STARTED)
    on_started(t, c, socket_context);
  else if (code == MHD_CONNECTION_NOTIFY_CLOSED)
    on_closed(t, socket_context);
}

static struct hl_conn *conn_of(struct MHD_Connection *c) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  return ci != NULL ? ci->socket_context : NULL;
}

void tc_http_conns_on_access(struct tc_http_conns *t, struct MHD_Connection *c,
                             size_t upload_size) {
  struct hl_conn *e = conn_of(c);
  if (e == NULL)
    return;
  pthread_mutex_lock(&t->mu);
  if (e->phase == HL_HEADERS) {
    e->phase = HL_BODY;
    e->since_ns = now_ns();
  } else if (e->phase == HL_BODY && upload_size == 0) {
    e->phase = HL_BUSY;
  }
  pthread_mutex_unlock(&t->mu);
}

void tc_http_conns_on_completed(struct tc_http_conns *t,
                                struct MHD_Connection *c) {
  struct hl_conn *e = conn_of(c);
  if (e == NULL)
    return;
  pthread_mutex_lock(&t->mu);
  e->phase = HL_HEADERS;
  e->since_ns = now_ns();
  pthread_mutex_unlock(&t->mu);
}

void tc_http_conns_stats(struct tc_http_conns *t,
                         struct tc_http_conns_stats *out) {
  pthread_mutex_lock(&t->mu);
  *out = t->stats;
  out->open = t->open;
  pthread_mutex_unlock(&t->mu);
}
