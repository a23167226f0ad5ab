/* util/http_limits.h — slow-client limits for a libmicrohttpd listener:
 * deadlines for receiving a request's headers and its body, a cap on
 * connections per client address and in total, and eviction instead of
 * refusal when a cap is reached.
 *
 * libmicrohttpd's own connection timeout restarts on every byte, so a
 * client that sends one byte a second is never cut off; and its connection
 * limits refuse the newcomer, so whoever fills them first (drippers, idle
 * connections) locks out a health probe. This tracker keeps every
 * connection of the listener in accept order with its phase:
 *   headers  from accept, or from the end of the previous response on a
 *            keep-alive connection, until its request's headers are in:
 *            deadline header_timeout_s;
 *   body     from the headers until the handler has the whole body:
 *            deadline body_timeout_s;
 *   busy     the handler runs or the response is being sent: no deadline
 *            here (libmicrohttpd's inactivity timeout still applies).
 * A connection past its deadline is cut (shutdown(2) of its socket, which
 * libmicrohttpd sees as the peer closing). When a new connection brings its
 * address over per_address, or the listener over max_connections, room is
 * made by cutting the oldest candidates — of that address, respectively of
 * the address holding the most connections: a candidate is not busy, has
 * been in its phase for at least grace_ms, and has no request bytes
 * waiting unread. A newcomer is never refused for being new: it gets
 * grace_ms to send its request (a probe sends it at once and is served),
 * while connections that sent nothing in that time make room for it. Only
 * beyond the hard caps (when the flood is faster than the grace time can
 * absorb) is the newcomer itself cut, and past the total one only if its
 * address already holds more than 4 connections: a probe from an address
 * of its own always gets in (up to libmicrohttpd's own connection limit).
 *
 * Threads: the callbacks run on libmicrohttpd's threads; one reaper thread
 * enforces the deadlines. All state is behind one mutex held for short
 * list walks only. */
#ifndef TC_UTIL_HTTP_LIMITS_H
#define TC_UTIL_HTTP_LIMITS_H

#include <microhttpd.h>
#include <stdint.h>

struct tc_http_limits {
  unsigned header_timeout_s;     /* 0 = no header deadline */
  unsigned body_timeout_s;       /* 0 = no body deadline */
  unsigned per_address;          /* 0 = no per-address cap */
  unsigned max_connections;      /* 0 = no total cap */
  unsigned grace_ms;             /* a connection this new in its phase stays */
  unsigned hard_per_address;     /* beyond: the newcomer goes; 0 = no limit */
  unsigned hard_max_connections; /* the same for the total; 0 = none */
};

/* Counters since start (read with tc_http_conns_stats). */
struct tc_http_conns_stats {
  uint64_t header_timeouts; /* cut: headers not complete in time */
  uint64_t body_timeouts;   /* cut: body not complete in time */
  uint64_t evicted;         /* cut to make room for a newer connection */
  uint64_t refused;         /* a newcomer cut: every candidate was busy */
  unsigned open;            /* tracked connections now */
};

struct tc_http_conns;

/* Start tracking (and the reaper thread). `component` names the log
 * lines (a static string). NULL on ENOMEM or when the thread cannot
 * start. */
struct tc_http_conns *tc_http_conns_new(const struct tc_http_limits *l,
                                        const char *component);
/* Stop the reaper and free. Call after the daemon stopped (no callback
 * runs any more). NULL is a no-op. */
void tc_http_conns_free(struct tc_http_conns *t);

/* MHD_OPTION_NOTIFY_CONNECTION callback; cls = the tracker. */
void tc_http_conns_notify(void *cls, struct MHD_Connection *c,
                          void **socket_context,
                          enum MHD_ConnectionNotificationCode code);
/* From the access handler, before the application's: the first call of
 * a request means its headers are in; a later call with upload_size 0
 * means its body is. */
void tc_http_conns_on_access(struct tc_http_conns *t, struct MHD_Connection *c,
                             size_t upload_size);
/* From the request-completed callback: back to waiting for headers. */
void tc_http_conns_on_completed(struct tc_http_conns *t,
                                struct MHD_Connection *c);

void tc_http_conns_stats(struct tc_http_conns *t,
                         struct tc_http_conns_stats *out);

#endif /* TC_UTIL_HTTP_LIMITS_H */
