/* mh_streams.c — the server's standalone GET streams, one per MCP session
 * the tunnel carries (see mh_internal.h).
 *
 * A Streamable HTTP server sends requests and notifications that belong to
 * no client request (sampling, elicitation, roots/list, list_changed...)
 * on a GET stream the client opens with the session id. The tunnel cannot
 * deliver them to its caller, but a request nobody answers makes the
 * server's tool wait, and the tunnel's call with it, until a deadline. So
 * for every session id seen in a command this opens that stream (lazily:
 * on the first command of the session, which waits up to a second for the
 * server's answer to the GET), answers each request on it at once — ping
 * with an empty result, anything else with -32601 naming the method — by a
 * POST carrying the session's headers, and drops notifications.
 *
 * A server that does not offer the stream (405, or any answer that is not
 * a 2xx event stream) is not asked again for that session; a stream the
 * server ends, or a 409 (the session has a stream already: another
 * replica's, or that of an instance a reload replaces), is tried again by
 * the next command of the session, with a backoff (1 s doubling to 60 s)
 * when it keeps ending early. Streams are
 * bounded: a session with no command running for `idle_ms` is closed and
 * forgotten, and at `max` sessions the least recently used one is closed
 * to make room (one with no command running, when there is one). A
 * session_termination, or a 404 to one of its requests, closes its stream.
 *
 * Threads: one thread per instance (started on the first session) drives
 * every stream and every answer POST on one libcurl multi handle. Workers
 * only touch the session list under `lock`: they add sessions, refresh a
 * session's headers and last use, mark sessions to close and wait on
 * `cond` for a new stream's answer. Entries are freed by the thread only. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "mh_internal.h"

#define MH_STREAM_EVENT_MAX (4u * 1024u * 1024u) /* one server message */
#define MH_STREAM_HEAD_WAIT_MS 1000 /* a new session waits for the GET */
#define MH_STREAM_BACKOFF_MIN_MS 1000
#define MH_STREAM_BACKOFF_MAX_MS 60000
#define MH_STREAM_SHORT_MS 5000 /* a stream that ended sooner was "quick" */
#define MH_SESSION_ID_MAX 256

enum mh_stream_state {
  MH_STREAM_WANTED = 0, /* to be opened by the thread */
  MH_STREAM_OPENING,    /* GET sent, no answer yet */
  MH_STREAM_OPEN,       /* 2xx text/event-stream: being read */
  MH_STREAM_ENDED,      /* the server ended it: reopened on use */
  MH_STREAM_REFUSED     /* not offered for this session: never again */
};

struct mh_stream {
  struct mh_stream *next;
  struct mh_streams *owner;
  char *session;
  struct tc_headers headers; /* the session's last command headers */
  enum mh_stream_state state;
  int forget;       /* close and free (termination, eviction, idle) */
  int inflight;     /* commands of the session running now */
  uint64_t used_ns; /* the last command of the session began or ended */
  uint64_t opened_ns;
  uint64_t retry_ns; /* ENDED: not reopened before this */
  int64_t backoff_ms;
  /* The GET; thread only. */
  CURL *easy;
  struct curl_slist *hdrs;
  long status;
  int event_stream; /* the answer's Content-Type is text/event-stream */
  struct mh_sse sse;
  int sse_ready;
  char errbuf[CURL_ERROR_SIZE];
};

/* An answer to a server request, being POSTed; thread only. */
struct mh_answer {
  struct mh_answer *next;
  CURL *easy;
  struct curl_slist *hdrs;
  char *body;
  char method[64]; /* for the log */
};

struct mh_streams {
  struct mh_inst *mi;
  pthread_mutex_t lock;
  pthread_cond_t cond; /* a stream left WANTED/OPENING */
  pthread_t thread;
  int started, stopping;
  CURLM *multi;
  struct mh_stream *list; /* most recently used first */
  size_t count;
  struct mh_answer *answers; /* being POSTed */
  struct mh_answer *queued;  /* built in a callback, started after it */
  size_t max;
  int64_t idle_ms;
};

/* ---- helpers ------------------------------------------------------------- */

static uint64_t now_ns(const struct mh_streams *ss) {
  return ss->mi->host->monotonic_ns();
}

/* A session id worth a stream: visible ASCII (MCP's rule), bounded. */
static const char *session_of(const struct tc_request *req) {
  const char *sid = tc_headers_get(req->headers, "Mcp-Session-Id", 0);
  if (sid == NULL || sid[0] == '\0' || strlen(sid) > MH_SESSION_ID_MAX)
    return NULL;
  for (const char *c = sid; *c != '\0'; c++)
    if (*c < 0x21 || *c > 0x7e)
      return NULL;
  return sid;
}

/* The headers a stream and its answers reuse: the command's, minus those
 * that describe the command's own body or content negotiation. */
static void keep_headers(struct tc_headers *dst, const struct tc_headers *src) {
  static const char *const drop[] = {"Accept", "Content-Type", "Content-Length",
                                     "Last-Event-ID"};
  tc_headers_clear(dst);
  for (size_t i = 0; src != NULL && i < src->count; i++) {
    int skip = 0;
    for (size_t k = 0; k < sizeof(drop) / sizeof(drop[0]); k++)
      skip |= tc_header_name_eq(src->items[i].name, drop[k]);
    if (!skip &&
        tc_headers_add(dst, src->items[i].name, src->items[i].value) != TC_OK) {
      tc_headers_clear(dst);
      return;
    }
  }
}

static void stream_close(struct mh_streams *ss, struct mh_stream *e) {
  if (e->easy != NULL) {
    curl_multi_remove_handle(ss->multi, e->easy);
    curl_easy_cleanup(e->easy);
    e->easy = NULL;
  }
  curl_slist_free_all(e->hdrs);
  e->hdrs = NULL;
  if (e->sse_ready)
    mh_sse_free(&e->sse);
  e->sse_ready = 0;
}

static void stream_free(struct mh_streams *ss, struct mh_stream *e) {
  stream_close(ss, e);
  tc_headers_clear(&e->headers);
  free(e->session);
  free(e);
}

static void answer_free(struct mh_streams *ss, struct mh_answer *a) {
  if (a->easy != NULL) {
    curl_multi_remove_handle(ss->multi, a->easy);
    curl_easy_cleanup(a->easy);
  }
  curl_slist_free_all(a->hdrs);
  free(a->body);
  free(a);
}

/* The options shared by the GET and the answer POSTs: the binding's URL,
 * transport and TLS settings, net hooks; no overall timeout. Returns 0 or
 * -1. */
static int prepare(struct mh_streams *ss, CURL *c, struct curl_slist *hdrs) {
  struct mh_inst *mi = ss->mi;
  const struct tc_binding *b = mi->binding;
  CURLcode rc = CURLE_OK;
  rc |= curl_easy_setopt(c, CURLOPT_URL, b->url);
  rc |= curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  rc |= curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  rc |= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  rc |= curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  rc |= curl_easy_setopt(c, CURLOPT_SHARE, mi->share);
  rc |= curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
  rc |= curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)mh_connect_ms());
  if (b->unix_socket != NULL && b->unix_socket[0] != '\0')
    rc |= curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, b->unix_socket);
  if (b->client_cert != NULL && b->client_key != NULL) {
    rc |= curl_easy_setopt(c, CURLOPT_SSLCERT, b->client_cert);
    rc |= curl_easy_setopt(c, CURLOPT_SSLKEY, b->client_key);
  }
  if (rc != CURLE_OK)
    return -1;
  const struct tc_host *h = mi->host;
  char *err = NULL;
  if (TC_HOST_HAS(h, net_prepare) && h->net_prepare != NULL &&
      h->net_prepare(h, c, TC_NET_MCP, b->url, b, &err) < 0) {
    h->log(h, TC_LOG_WARN, mi->channel,
           "cannot prepare the server stream to %s: %s", mi->origin,
           err != NULL ? err : "net hook refused");
    free(err);
    return -1;
  }
  free(err);
  return 0;
}

/* ---- answering server requests (thread) ---------------------------------- */

static size_t discard(char *p, size_t size, size_t n, void *ud) {
  (void)p;
  (void)ud;
  return size * n;
}

/* The method's name for messages: printable, no quotes. */
static void method_name(struct mh_span m, char *out, size_t cap) {
  size_t n = m.n >= 2 && m.p[0] == '"' ? m.n - 2 : 0;
  if (n > cap - 1)
    n = cap - 1;
  for (size_t i = 0; i < n; i++) {
    char c = m.p[1 + i];
    out[i] = c >= 0x20 && c < 0x7f && c != '"' && c != '\\' ? c : '?';
  }
  out[n] = '\0';
}

/* Answer one request from the server on the session's behalf: the POST is
 * built here and started by the thread once the callback this runs in has
 * returned (libcurl refuses a new transfer from inside a callback). Lock
 * held (e->headers). */
static void answer(struct mh_streams *ss, struct mh_stream *e,
                   struct mh_span id, struct mh_span method) {
  const struct tc_host *h = ss->mi->host;
  struct mh_answer *a = calloc(1, sizeof(*a));
  if (a == NULL)
    return;
  method_name(method, a->method, sizeof(a->method));
  if (strcmp(a->method, "ping") == 0)
    a->body = h->format("{\"jsonrpc\":\"2.0\",\"id\":%.*s,\"result\":{}}",
                        (int)id.n, id.p);
  else
    a->body = h->format(
        "{\"jsonrpc\":\"2.0\",\"id\":%.*s,\"error\":{\"code\":-32601,"
        "\"message\":\"%s is not available: tunnel-client cannot pass "
        "requests from the MCP server to the MCP client (sampling, "
        "elicitation and roots are not supported through the tunnel)\"}}",
        (int)id.n, id.p, a->method);
  struct tc_headers hd = TC_HEADERS_INIT;
  keep_headers(&hd, &e->headers);
  tc_headers_remove(&hd, "Mcp-Session-Id");
  tc_headers_add(&hd, "Mcp-Session-Id", e->session);
  int rc = a->body != NULL
               ? mh_build_headers(&hd, ss->mi->binding->extra_headers,
                                  MH_HEADERS_POST, &a->hdrs, NULL)
               : -1;
  tc_headers_clear(&hd);
  if (rc != 0) {
    h->log(h, TC_LOG_WARN, ss->mi->channel,
           "cannot answer a %s request of the MCP server (out of memory)",
           a->method);
    answer_free(ss, a);
    return;
  }
  a->next = ss->queued;
  ss->queued = a;
  h->log(h, strcmp(a->method, "ping") == 0 ? TC_LOG_DEBUG : TC_LOG_INFO,
         ss->mi->channel,
         "the MCP server sent a %s request on its stream; answering %s",
         a->method,
         strcmp(a->method, "ping") == 0 ? "with an empty result"
                                        : "-32601 (not supported through "
                                          "the tunnel)");
}

/* Start the queued answers. Lock held. */
static void start_answers(struct mh_streams *ss) {
  while (ss->queued != NULL) {
    struct mh_answer *a = ss->queued;
    ss->queued = a->next;
    a->easy = curl_easy_init();
    if (a->easy == NULL || prepare(ss, a->easy, a->hdrs) != 0 ||
        curl_easy_setopt(a->easy, CURLOPT_POSTFIELDS, a->body) != CURLE_OK ||
        curl_easy_setopt(a->easy, CURLOPT_WRITEFUNCTION, discard) != CURLE_OK ||
        curl_easy_setopt(a->easy, CURLOPT_TIMEOUT_MS, 30000L) != CURLE_OK ||
        curl_easy_setopt(a->easy, CURLOPT_PRIVATE, a) != CURLE_OK ||
        curl_multi_add_handle(ss->multi, a->easy) != CURLM_OK) {
      ss->mi->host->log(ss->mi->host, TC_LOG_WARN, ss->mi->channel,
                        "cannot send the answer to a %s request of the MCP "
                        "server",
                        a->method);
      if (a->easy != NULL)
        curl_easy_cleanup(a->easy);
      a->easy = NULL;
      answer_free(ss, a);
      continue;
    }
    a->next = ss->answers;
    ss->answers = a;
  }
}

static int on_event(void *ud, const char *data, size_t len) {
  struct mh_stream *e = ud;
  struct mh_streams *ss = e->owner;
  struct mh_span id, method;
  enum mh_msg_kind k = mh_classify_message(data, len, &id, &method);
  if (k == MH_MSG_REQUEST) {
    pthread_mutex_lock(&ss->lock);
    answer(ss, e, id, method);
    pthread_mutex_unlock(&ss->lock);
  } else {
    const struct tc_host *h = ss->mi->host;
    if (h->log_enabled(h, TC_LOG_DEBUG)) {
      char m[64];
      method_name(method, m, sizeof(m));
      h->log(h, TC_LOG_DEBUG, ss->mi->channel,
             "dropped a %s from the MCP server's stream (no client to "
             "deliver it to)",
             k == MH_MSG_NOTIFICATION ? m : "message");
    }
  }
  return 0;
}

/* ---- the GET (thread) ---------------------------------------------------- */

static void set_state(struct mh_streams *ss, struct mh_stream *e,
                      enum mh_stream_state st) {
  pthread_mutex_lock(&ss->lock);
  e->state = st;
  pthread_cond_broadcast(&ss->cond);
  pthread_mutex_unlock(&ss->lock);
}

static size_t on_header(char *p, size_t size, size_t n, void *ud) {
  struct mh_stream *e = ud;
  size_t len = size * n;
  if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
    e->event_stream = 0;
    return len;
  }
  if (len >= 13 && strncasecmp(p, "content-type:", 13) == 0) {
    const char *v = p + 13, *end = p + len;
    while (v < end && (*v == ' ' || *v == '\t'))
      v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
      end--;
    char ct[128];
    size_t cn =
        (size_t)(end - v) < sizeof(ct) - 1 ? (size_t)(end - v) : sizeof(ct) - 1;
    memcpy(ct, v, cn);
    ct[cn] = '\0';
    e->event_stream = mh_media_type_is(ct, "text/event-stream");
    return len;
  }
  if ((len == 2 && p[0] == '\r') || (len == 1 && p[0] == '\n')) {
    long st = 0;
    curl_easy_getinfo(e->easy, CURLINFO_RESPONSE_CODE, &st);
    if (st < 200)
      return len; /* an interim response */
    e->status = st;
    int ok = st >= 200 && st <= 299 && e->event_stream;
    if (ok)
      mh_sse_init(&e->sse, e->owner->mi->host, MH_STREAM_EVENT_MAX, on_event,
                  e);
    e->sse_ready = ok;
    set_state(e->owner, e, ok ? MH_STREAM_OPEN : MH_STREAM_REFUSED);
    if (!ok)
      return 0; /* not a stream: nothing to read */
  }
  return len;
}

static size_t on_data(char *p, size_t size, size_t n, void *ud) {
  struct mh_stream *e = ud;
  size_t len = size * n;
  if (!e->sse_ready)
    return 0;
  /* 0 consumed; -1: one message over MH_STREAM_EVENT_MAX or the budget:
   * the stream ends (it is reopened on the session's next command). */
  return mh_sse_feed(&e->sse, p, len) < 0 ? 0 : len;
}

/* Open the session's GET. Lock held. */
static void stream_open(struct mh_streams *ss, struct mh_stream *e) {
  const struct tc_host *h = ss->mi->host;
  struct tc_headers hd = TC_HEADERS_INIT;
  keep_headers(&hd, &e->headers);
  tc_headers_remove(&hd, "Mcp-Session-Id");
  tc_headers_add(&hd, "Mcp-Session-Id", e->session);
  tc_headers_add(&hd, "Accept", "text/event-stream");
  int rc = mh_build_headers(&hd, ss->mi->binding->extra_headers,
                            MH_HEADERS_DELETE, &e->hdrs, NULL);
  tc_headers_clear(&hd);
  e->status = 0;
  e->event_stream = 0;
  e->errbuf[0] = '\0';
  e->easy = rc == 0 ? curl_easy_init() : NULL;
  if (e->easy == NULL || prepare(ss, e->easy, e->hdrs) != 0 ||
      curl_easy_setopt(e->easy, CURLOPT_HTTPGET, 1L) != CURLE_OK ||
      curl_easy_setopt(e->easy, CURLOPT_HEADERFUNCTION, on_header) !=
          CURLE_OK ||
      curl_easy_setopt(e->easy, CURLOPT_HEADERDATA, e) != CURLE_OK ||
      curl_easy_setopt(e->easy, CURLOPT_WRITEFUNCTION, on_data) != CURLE_OK ||
      curl_easy_setopt(e->easy, CURLOPT_WRITEDATA, e) != CURLE_OK ||
      curl_easy_setopt(e->easy, CURLOPT_ERRORBUFFER, e->errbuf) != CURLE_OK ||
      curl_easy_setopt(e->easy, CURLOPT_PRIVATE, NULL) != CURLE_OK ||
      curl_multi_add_handle(ss->multi, e->easy) != CURLM_OK) {
    stream_close(ss, e);
    e->state = MH_STREAM_REFUSED;
    pthread_cond_broadcast(&ss->cond);
    h->log(h, TC_LOG_WARN, ss->mi->channel,
           "cannot open the MCP server's stream for a session");
    return;
  }
  e->state = MH_STREAM_OPENING;
  e->opened_ns = now_ns(ss);
}

/* The GET ended (rc) or was refused. Lock held. */
static void stream_ended(struct mh_streams *ss, struct mh_stream *e,
                         CURLcode rc) {
  const struct tc_host *h = ss->mi->host;
  long st = e->status;
  stream_close(ss, e);
  /* 409: the session already has a stream (another replica's, or the one
   * of an instance a reload is replacing): try again later. */
  int busy = st == 409;
  if (!busy &&
      (e->state == MH_STREAM_REFUSED || (st != 0 && (st < 200 || st > 299)))) {
    e->state = MH_STREAM_REFUSED;
    if (st == 404) /* the session is gone */
      e->forget = 1;
    h->log(h, TC_LOG_DEBUG, ss->mi->channel,
           "the MCP server offers no stream for a session (GET %s -> %ld)",
           ss->mi->origin, st);
  } else {
    uint64_t lived_ms = busy ? 0 : (now_ns(ss) - e->opened_ns) / 1000000u;
    if (lived_ms >= MH_STREAM_SHORT_MS || e->backoff_ms == 0)
      e->backoff_ms = MH_STREAM_BACKOFF_MIN_MS;
    else if (e->backoff_ms < MH_STREAM_BACKOFF_MAX_MS)
      e->backoff_ms = e->backoff_ms * 2 > MH_STREAM_BACKOFF_MAX_MS
                          ? MH_STREAM_BACKOFF_MAX_MS
                          : e->backoff_ms * 2;
    e->retry_ns = now_ns(ss) + (lived_ms >= MH_STREAM_SHORT_MS
                                    ? 0
                                    : (uint64_t)e->backoff_ms * 1000000u);
    e->state = MH_STREAM_ENDED;
    h->log(h, TC_LOG_DEBUG, ss->mi->channel,
           "the MCP server's stream for a session ended (%s)",
           rc == CURLE_OK ? "closed by the server" : curl_easy_strerror(rc));
  }
  pthread_cond_broadcast(&ss->cond);
}

/* ---- the thread ---------------------------------------------------------- */

/* Close what must close, open what must open. Lock held. Returns the ms
 * until the next idle expiry (capped at 1 s). */
static long housekeeping(struct mh_streams *ss) {
  uint64_t now = now_ns(ss);
  uint64_t idle_ns = (uint64_t)ss->idle_ms * 1000000u;
  long wait_ms = 1000;
  for (struct mh_stream **pe = &ss->list; *pe != NULL;) {
    struct mh_stream *e = *pe;
    if (e->forget || ss->stopping ||
        (e->inflight == 0 && now - e->used_ns >= idle_ns)) {
      *pe = e->next;
      ss->count--;
      stream_free(ss, e);
      continue;
    }
    if (e->state == MH_STREAM_WANTED)
      stream_open(ss, e);
    uint64_t left_ms = (e->used_ns + idle_ns - now) / 1000000u + 1;
    if (left_ms < (uint64_t)wait_ms)
      wait_ms = (long)left_ms;
    pe = &e->next;
  }
  return wait_ms;
}

static void collect_done(struct mh_streams *ss) {
  CURLMsg *m;
  int left = 0;
  while ((m = curl_multi_info_read(ss->multi, &left)) != NULL) {
    if (m->msg != CURLMSG_DONE)
      continue;
    CURL *c = m->easy_handle;
    CURLcode rc = m->data.result;
    struct mh_answer *a = NULL;
    curl_easy_getinfo(c, CURLINFO_PRIVATE, (char **)&a);
    pthread_mutex_lock(&ss->lock);
    if (a != NULL) {
      long st = 0;
      curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
      if (rc != CURLE_OK || st < 200 || st > 299)
        ss->mi->host->log(ss->mi->host, TC_LOG_WARN, ss->mi->channel,
                          "answering a %s request of the MCP server failed "
                          "(%s, HTTP %ld)",
                          a->method, curl_easy_strerror(rc), st);
      for (struct mh_answer **pa = &ss->answers; *pa != NULL; pa = &(*pa)->next)
        if (*pa == a) {
          *pa = a->next;
          break;
        }
      answer_free(ss, a);
    } else {
      for (struct mh_stream *e = ss->list; e != NULL; e = e->next)
        if (e->easy == c) {
          stream_ended(ss, e, rc);
          break;
        }
    }
    pthread_mutex_unlock(&ss->lock);
  }
}

static void *streams_main(void *arg) {
  struct mh_streams *ss = arg;
  pthread_mutex_lock(&ss->lock);
  while (!ss->stopping) {
    long wait_ms = housekeeping(ss);
    start_answers(ss);
    pthread_mutex_unlock(&ss->lock);
    int running = 0;
    curl_multi_perform(ss->multi, &running);
    collect_done(ss);
    pthread_mutex_lock(&ss->lock);
    int more = ss->queued != NULL;
    pthread_mutex_unlock(&ss->lock);
    if (!more) /* an answer built in a callback goes out at once */
      curl_multi_poll(ss->multi, NULL, 0, (int)wait_ms, NULL);
    pthread_mutex_lock(&ss->lock);
  }
  housekeeping(ss); /* stopping: frees every stream */
  struct mh_answer *lists[2] = {ss->answers, ss->queued};
  for (int i = 0; i < 2; i++)
    while (lists[i] != NULL) {
      struct mh_answer *a = lists[i];
      lists[i] = a->next;
      answer_free(ss, a);
    }
  ss->answers = ss->queued = NULL;
  pthread_mutex_unlock(&ss->lock);
  return NULL;
}

/* ---- the workers' side --------------------------------------------------- */

struct mh_streams *mh_streams_new(struct mh_inst *mi, size_t max,
                                  int64_t idle_ms) {
  struct mh_streams *ss = calloc(1, sizeof(*ss));
  if (ss == NULL)
    return NULL;
  ss->mi = mi;
  ss->max = max > 0 ? max : 1;
  ss->idle_ms = idle_ms > 0 ? idle_ms : 1;
  pthread_mutex_init(&ss->lock, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&ss->cond, &ca);
  pthread_condattr_destroy(&ca);
  return ss;
}

/* Start the thread and its multi handle. Lock held. 0 or -1. */
static int start_thread(struct mh_streams *ss) {
  if (ss->started)
    return 0;
  if (ss->stopping)
    return -1;
  ss->multi = curl_multi_init();
  if (ss->multi == NULL)
    return -1;
  if (pthread_create(&ss->thread, NULL, streams_main, ss) != 0) {
    curl_multi_cleanup(ss->multi);
    ss->multi = NULL;
    return -1;
  }
  ss->started = 1;
  return 0;
}

static struct mh_stream *find(struct mh_streams *ss, const char *sid) {
  for (struct mh_stream *e = ss->list; e != NULL; e = e->next)
    if (!e->forget && strcmp(e->session, sid) == 0)
      return e;
  return NULL;
}

/* Make room for one more session: the least recently used one with no
 * command running goes (or, when every one is busy, the least recently
 * used one). */
static void evict_lru(struct mh_streams *ss) {
  struct mh_stream *lru = NULL, *lru_idle = NULL;
  size_t live = 0;
  for (struct mh_stream *e = ss->list; e != NULL; e = e->next) {
    if (e->forget)
      continue;
    live++;
    if (lru == NULL || e->used_ns <= lru->used_ns)
      lru = e;
    if (e->inflight == 0 &&
        (lru_idle == NULL || e->used_ns <= lru_idle->used_ns))
      lru_idle = e;
  }
  if (live >= ss->max && lru != NULL)
    (lru_idle != NULL ? lru_idle : lru)->forget = 1;
}

void mh_streams_use(struct mh_streams *ss, const struct tc_request *req) {
  const char *sid = ss != NULL ? session_of(req) : NULL;
  if (sid == NULL)
    return;
  uint64_t now = now_ns(ss);
  pthread_mutex_lock(&ss->lock);
  struct mh_stream *e = find(ss, sid);
  int fresh = 0;
  if (e == NULL) {
    if (start_thread(ss) != 0 || (e = calloc(1, sizeof(*e))) == NULL ||
        (e->session = strdup(sid)) == NULL) {
      free(e);
      pthread_mutex_unlock(&ss->lock);
      return;
    }
    evict_lru(ss);
    e->owner = ss;
    e->state = MH_STREAM_WANTED;
    e->next = ss->list;
    ss->list = e;
    ss->count++;
    fresh = 1;
  }
  e->used_ns = now;
  e->inflight++;
  keep_headers(&e->headers, req->headers);
  if (e->state == MH_STREAM_ENDED && now >= e->retry_ns) {
    e->state = MH_STREAM_WANTED;
    fresh = 1;
  }
  if (fresh)
    curl_multi_wakeup(ss->multi);
  /* A new stream gets a moment to open, so that a request the server
   * sends during this very command finds it. */
  uint64_t until = now + (uint64_t)MH_STREAM_HEAD_WAIT_MS * 1000000u;
  if (req->deadline_ns != 0 && req->deadline_ns > now &&
      now + (req->deadline_ns - now) / 2 < until)
    until = now + (req->deadline_ns - now) / 2;
  while (fresh && !ss->stopping &&
         (e->state == MH_STREAM_WANTED || e->state == MH_STREAM_OPENING) &&
         now_ns(ss) < until) {
    struct timespec ts;
    uint64_t wake = now_ns(ss) + 20000000u; /* re-check cancellation */
    if (wake > until)
      wake = until;
    ts.tv_sec = (time_t)(wake / 1000000000u);
    ts.tv_nsec = (long)(wake % 1000000000u);
    pthread_cond_timedwait(&ss->cond, &ss->lock, &ts);
    if (req->is_canceled != NULL && req->is_canceled(req))
      break;
  }
  pthread_mutex_unlock(&ss->lock);
}

void mh_streams_done(struct mh_streams *ss, const struct tc_request *req) {
  const char *sid = ss != NULL ? session_of(req) : NULL;
  if (sid == NULL)
    return;
  pthread_mutex_lock(&ss->lock);
  struct mh_stream *e = find(ss, sid);
  if (e != NULL && e->inflight > 0) {
    e->inflight--;
    e->used_ns = now_ns(ss);
  }
  pthread_mutex_unlock(&ss->lock);
}

void mh_streams_forget(struct mh_streams *ss, const struct tc_request *req) {
  const char *sid = ss != NULL ? session_of(req) : NULL;
  if (sid == NULL)
    return;
  pthread_mutex_lock(&ss->lock);
  struct mh_stream *e = find(ss, sid);
  if (e != NULL) {
    e->forget = 1;
    curl_multi_wakeup(ss->multi);
  }
  pthread_mutex_unlock(&ss->lock);
}

size_t mh_streams_open_count(struct mh_streams *ss) {
  size_t n = 0;
  if (ss == NULL)
    return 0;
  pthread_mutex_lock(&ss->lock);
  for (struct mh_stream *e = ss->list; e != NULL; e = e->next)
    n += !e->forget && e->state == MH_STREAM_OPEN;
  pthread_mutex_unlock(&ss->lock);
  return n;
}

void mh_streams_stop(struct mh_streams *ss) {
  if (ss == NULL)
    return;
  pthread_mutex_lock(&ss->lock);
  ss->stopping = 1;
  int started = ss->started;
  pthread_cond_broadcast(&ss->cond);
  if (started)
    curl_multi_wakeup(ss->multi);
  pthread_mutex_unlock(&ss->lock);
  if (started) {
    pthread_join(ss->thread, NULL);
    pthread_mutex_lock(&ss->lock);
    ss->started = 0;
    pthread_mutex_unlock(&ss->lock);
  }
}

void mh_streams_free(struct mh_streams *ss) {
  if (ss == NULL)
    return;
  mh_streams_stop(ss);
  while (ss->list != NULL) {
    struct mh_stream *e = ss->list;
    ss->list = e->next;
    stream_free(ss, e);
  }
  if (ss->multi != NULL)
    curl_multi_cleanup(ss->multi);
  pthread_cond_destroy(&ss->cond);
  pthread_mutex_destroy(&ss->lock);
  free(ss);
}
