/* mcp-http — the "http" transport: MCP over Streamable HTTP (libcurl).
 *
 * One POST per command to the binding URL: body verbatim, command headers
 * verbatim (they win over the binding's static headers), Accept and
 * Content-Type added when absent, no redirects. An application/json reply
 * is the terminal response; a text/event-stream reply is parsed as it
 * arrives: notifications go to sink->notify, the message answering the
 * request id completes the call at once, and the rest of the stream is
 * read to its end (bounded) so that the connection is reused. Ids are
 * matched by their exact JSON text (mh_classify.c). Failures carry
 * provenance (protocol.md §1.8); a non-2xx body crosses only when it is a
 * valid JSON-RPC error for this request.
 *
 * A reply is held once, in an mh_buf charged to the host's in-flight reply
 * budget; the sink posts it from that buffer. A reply over MH_REPLY_MAX or
 * over the budget fails that call only.
 *
 * Keep-alive: each instance keeps a mutex-guarded pool of idle easy
 * handles (at most one per concurrent worker), so connections survive
 * between commands; a CURLSH shares DNS and TLS sessions among them.
 * probe() (mh_probe.c) runs the startup initialize handshake once and
 * caches its outcome. mh_streams.c holds the server's stream of each MCP
 * session and answers the requests sent on it.
 *
 * Threads: call(), terminate_session() and probe() run concurrently on
 * worker threads; each transfer uses its own easy handle throughout. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include <tc/tc.h>

#include "mh_internal.h"

#define MH_ERROR_BODY_MAX (100u * 1024u)   /* captured non-2xx body */
#define MH_REPLY_MAX (64u * 1024u * 1024u) /* 2xx JSON reply / SSE event */
/* After the answer on an SSE stream the rest is read so the connection can
 * be reused; a server that keeps writing or holds the stream open past
 * these bounds has that connection closed instead. */
#define MH_DRAIN_MAX_BYTES (1024u * 1024u)
#define MH_DRAIN_MAX_MS 2000

struct mh_config {
  int64_t connect_timeout_ms;
  int server_streams;
  int64_t server_streams_max;
  int64_t server_stream_idle_ms;
};

/* Set by init on the main thread before any worker exists. */
static int64_t mh_connect_timeout_ms = 10000;
static int mh_server_streams = 1;
static int64_t mh_server_streams_max = 64;
static int64_t mh_server_stream_idle_ms = 300000;

int64_t mh_connect_ms(void) {
  return mh_connect_timeout_ms;
}

/* ---- handle pool and share ----------------------------------------------- */

static void share_lock(CURL *h, curl_lock_data d, curl_lock_access a,
                       void *ud) {
  (void)h;
  (void)a;
  struct mh_inst *mi = ud;
  pthread_mutex_lock(&mi->share_locks[(int)d % CURL_LOCK_DATA_LAST]);
}

static void share_unlock(CURL *h, curl_lock_data d, void *ud) {
  (void)h;
  struct mh_inst *mi = ud;
  pthread_mutex_unlock(&mi->share_locks[(int)d % CURL_LOCK_DATA_LAST]);
}

/* An idle handle (options reset, connections kept) or a new one. */
static CURL *pool_get(struct mh_inst *mi) {
  CURL *c = NULL;
  pthread_mutex_lock(&mi->pool_lock);
  if (mi->nidle > 0)
    c = mi->idle[--mi->nidle];
  pthread_mutex_unlock(&mi->pool_lock);
  if (c != NULL)
    curl_easy_reset(c);
  else
    c = curl_easy_init();
  return c;
}

static void pool_put(struct mh_inst *mi, CURL *c) {
  pthread_mutex_lock(&mi->pool_lock);
  if (mi->nidle == mi->cap) {
    size_t cap = mi->cap ? mi->cap * 2 : 4;
    CURL **n = realloc(mi->idle, cap * sizeof(*n));
    if (n == NULL) {
      pthread_mutex_unlock(&mi->pool_lock);
      curl_easy_cleanup(c);
      return;
    }
    mi->idle = n;
    mi->cap = cap;
  }
  mi->idle[mi->nidle++] = c;
  pthread_mutex_unlock(&mi->pool_lock);
}

/* ---- one transfer -------------------------------------------------------- */

enum mh_mode {
  MH_MODE_UNSET = 0,
  MH_MODE_DISCARD, /* body not needed */
  MH_MODE_BUFFER,  /* keep the body up to limit */
  MH_MODE_SSE,     /* parse as an event stream */
  MH_MODE_DRAIN    /* answered: read the rest so the connection stays */
};

/* Why buffering a reply stopped. */
enum mh_stop {
  MH_STOP_NONE = 0,
  MH_STOP_TOO_LARGE, /* MH_REPLY_MAX / MH_ERROR_BODY_MAX */
  MH_STOP_BUDGET,    /* the in-flight reply budget was full */
  MH_STOP_NOMEM
};

struct mh_xfer {
  struct mh_inst *mi;
  const struct tc_request *req;
  const struct tc_sink *sink; /* NULL for DELETE */
  CURL *curl;
  struct mh_span req_id; /* exact text of the request's id, in req->body */
  int expect_reply;
  enum mh_mode mode;
  long status;
  struct tc_headers headers; /* upstream headers of the final response */
  struct mh_buf body;        /* JSON or error reply */
  struct mh_sse sse;
  int sse_ready;
  int notify_failed;
  int completed;          /* sink->complete() ran (an SSE answer) */
  uint64_t drain_from_ns; /* when draining started */
  size_t drained;         /* bytes read after the answer */
  const char *proto_kind; /* protocol failure found in the stream */
  enum mh_stop stop;
  int canceled;  /* aborted by is_canceled or stop */
  int head_only; /* stop once the response headers are in */
  int got_head;
  char errbuf[CURL_ERROR_SIZE];
};

static void response_init(struct tc_response *r, const struct mh_xfer *x) {
  memset(r, 0, sizeof(*r));
  r->struct_size = sizeof(*r);
  r->status = (int)x->status;
  r->headers = &x->headers;
}

static enum mh_stop stop_of(enum mh_buf_rc rc) {
  switch (rc) {
  case MH_BUF_LIMIT:
    return MH_STOP_TOO_LARGE;
  case MH_BUF_BUDGET:
    return MH_STOP_BUDGET;
  default:
    return MH_STOP_NOMEM;
  }
}

/* One SSE event: a notification is forwarded, the answer completes the
 * call at once (the rest of the stream is then read and dropped), anything
 * else is a protocol failure that ends the transfer. Returns non-zero to
 * stop parsing. */
static int on_sse_event(void *ud, const char *data, size_t len) {
  struct mh_xfer *x = ud;
  struct mh_span id;
  switch (mh_classify_message(data, len, &id, NULL)) {
  case MH_MSG_NOTIFICATION:
    if (!x->notify_failed && x->sink != NULL) {
      struct tc_response r;
      response_init(&r, x);
      r.body = data;
      r.body_len = len;
      x->notify_failed = x->sink->notify(x->sink, &r) < 0;
    }
    return 0;
  case MH_MSG_RESPONSE:
    if (mh_id_equal(id, x->req_id)) {
      struct tc_response r;
      response_init(&r, x);
      r.body = data;
      r.body_len = len;
      x->completed = 1;
      x->sink->complete(x->sink, &r); /* posted before it returns */
      mh_buf_free(&x->sse.data);      /* the reply is held no longer */
      return 1;
    }
    x->proto_kind = "invalid_protocol_response"; /* another id */
    return 1;
  case MH_MSG_MALFORMED:
    x->proto_kind = "malformed_json";
    return 1;
  default:
    /* a server->client request, or not JSON-RPC */
    x->proto_kind = "invalid_protocol_response";
    return 1;
  }
}

/* Decide what to do with the body once the final status is known. Returns
 * 0, or -1 when the transfer must stop now (a declared length over the
 * limit or the budget). */
static int decide_mode(struct mh_xfer *x) {
  char *ct = NULL;
  curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &x->status);
  curl_easy_getinfo(x->curl, CURLINFO_CONTENT_TYPE, &ct);
  int ok = x->status >= 200 && x->status < 300;
  const struct tc_host *h = x->mi->host;
  if (!x->expect_reply || x->sink == NULL) {
    x->mode = MH_MODE_DISCARD;
    return 0;
  }
  if (ok && mh_media_type_is(ct, "text/event-stream")) {
    x->mode = MH_MODE_SSE;
    mh_sse_init(&x->sse, h, MH_REPLY_MAX, on_sse_event, x);
    x->sse_ready = 1;
    return 0;
  }
  x->mode = MH_MODE_BUFFER;
  mh_buf_init(&x->body, h, ok ? MH_REPLY_MAX : MH_ERROR_BODY_MAX);
  /* A declared length is checked and reserved at once, before any byte
   * is read. */
  curl_off_t cl = -1;
  if (curl_easy_getinfo(x->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) ==
          CURLE_OK &&
      cl > 0) {
    enum mh_buf_rc rc = (uint64_t)cl > x->body.limit
                            ? MH_BUF_LIMIT
                            : mh_buf_reserve(&x->body, (size_t)cl);
    if (rc != MH_BUF_OK) {
      x->stop = stop_of(rc);
      return -1;
    }
  }
  return 0;
}

static size_t on_write(char *p, size_t size, size_t n, void *ud) {
  struct mh_xfer *x = ud;
  size_t len = size * n;
  if (x->mode == MH_MODE_UNSET && decide_mode(x) != 0)
    return 0;
  switch (x->mode) {
  case MH_MODE_BUFFER: {
    enum mh_buf_rc rc = mh_buf_append(&x->body, p, len);
    if (rc == MH_BUF_OK)
      return len;
    x->stop = stop_of(rc);
    return 0;
  }
  case MH_MODE_SSE: {
    int rc = mh_sse_feed(&x->sse, p, len);
    if (rc < 0) {
      x->stop = stop_of(x->sse.err);
      return 0;
    }
    if (rc > 0 && !x->completed)
      return 0;   /* a protocol failure: stop reading */
    if (rc > 0) { /* answered: read on to the end, dropping the rest */
      x->mode = MH_MODE_DRAIN;
      x->drain_from_ns = x->mi->host->monotonic_ns();
    }
    return len;
  }
  case MH_MODE_DRAIN:
    x->drained += len;
    return x->drained <= MH_DRAIN_MAX_BYTES ? len : 0;
  default:
    return len;
  }
}

static size_t on_header(char *p, size_t size, size_t n, void *ud) {
  struct mh_xfer *x = ud;
  size_t len = size * n;
  if (x->head_only && (len == 2 || len == 1) &&
      (p[0] == '\r' || p[0] == '\n')) {
    long st = 0;
    curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &st);
    if (st >= 200) { /* final headers complete: the body is not wanted */
      x->status = st;
      x->got_head = 1;
      return 0;
    }
  }
  if (mh_collect_header(&x->headers, p, len) != 0) {
    x->stop = MH_STOP_NOMEM;
    return 0;
  }
  return len;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut,
                       curl_off_t un) {
  (void)dt;
  (void)dn;
  (void)ut;
  (void)un;
  struct mh_xfer *x = ud;
  if (x->mode == MH_MODE_DRAIN) {
    /* The call is answered; a stream the server keeps open after the
     * answer is cut after MH_DRAIN_MAX_MS, or at once when stopping (that
     * connection is then closed). */
    return atomic_load(&x->mi->stopping) ||
                   x->mi->host->monotonic_ns() - x->drain_from_ns >
                       (uint64_t)MH_DRAIN_MAX_MS * 1000000u
               ? 1
               : 0;
  }
  if (atomic_load(&x->mi->stopping) ||
      (x->req->is_canceled != NULL && x->req->is_canceled(x->req))) {
    x->canceled = 1;
    return 1;
  }
  return 0;
}

static int64_t remaining_ms(const struct mh_inst *mi,
                            const struct tc_request *req) {
  if (req->deadline_ns == 0)
    return INT64_MAX;
  uint64_t now = mi->host->monotonic_ns();
  if (now >= req->deadline_ns)
    return 0;
  /* Rounded up: a transfer that times out must not end before the
   * deadline, or its timeout would be posted while the core still reads
   * the deadline as ahead (nothing may be posted once it has passed). */
  return (int64_t)((req->deadline_ns - now + 999999u) / 1000000u);
}

/* Configure x->curl for one request within budget_ms. Returns 0, or -1
 * (a net hook's reason, malloc()ed and secret-free, in *net_err). */
static int setup(struct mh_xfer *x, int64_t budget_ms, struct curl_slist *hdrs,
                 char **net_err) {
  struct mh_inst *mi = x->mi;
  CURL *c = x->curl;
  const struct tc_binding *b = mi->binding;
  int64_t total = budget_ms;
  if (b->connection_max_ttl_ms > 0 && b->connection_max_ttl_ms < total)
    total = b->connection_max_ttl_ms;
  int64_t connect =
      mh_connect_timeout_ms < total ? mh_connect_timeout_ms : total;
  CURLcode rc = CURLE_OK;
  rc |= curl_easy_setopt(c, CURLOPT_URL, b->url);
  rc |= curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  rc |= curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  rc |= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  rc |= curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  rc |= curl_easy_setopt(c, CURLOPT_SHARE, mi->share);
  rc |= curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
  rc |= curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)connect);
  if (total != INT64_MAX)
    rc |= curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)total);
  rc |= curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
  rc |= curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
  rc |= curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  rc |= curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
  rc |= curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
  rc |= curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
  rc |= curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  x->errbuf[0] = '\0';
  rc |= curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->errbuf);
  if (b->unix_socket != NULL && b->unix_socket[0] != '\0')
    rc |= curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, b->unix_socket);
  /* mTLS: only ever sent to the binding URL (no redirects are followed). */
  if (b->client_cert != NULL && b->client_key != NULL) {
    rc |= curl_easy_setopt(c, CURLOPT_SSLCERT, b->client_cert);
    rc |= curl_easy_setopt(c, CURLOPT_SSLKEY, b->client_key);
  }
  if (rc != CURLE_OK)
    return -1;
  const struct tc_host *h = mi->host;
  if (TC_HOST_HAS(h, net_prepare) && h->net_prepare != NULL &&
      h->net_prepare(h, c, TC_NET_MCP, b->url, b, net_err) < 0)
    return -1;
  return 0;
}

static void complete_failure(struct mh_xfer *x, int status, const char *source,
                             const char *kind, int received) {
  struct tc_response r;
  response_init(&r, x);
  r.status = status;
  r.failure_source = source;
  r.failure_kind = kind;
  r.upstream_response_received = received;
  if (strcmp(source, "target_http") == 0)
    r.upstream_status = (int)x->status;
  x->sink->complete(x->sink, &r);
}

/* Map a reply with a non-usable body to target_http (4xx/5xx) or protocol. */
static void complete_bad_body(struct mh_xfer *x, const char *kind) {
  if (x->status >= 400 && x->status <= 599)
    complete_failure(x, (int)x->status, "target_http", kind, 1);
  else
    complete_failure(x, 502, "protocol", kind, 1);
}

static void complete_success(struct mh_xfer *x, const char *body, size_t len) {
  struct tc_response r;
  response_init(&r, x);
  r.body = body;
  r.body_len = len;
  x->sink->complete(x->sink, &r);
}

/* Exactly one complete() for a finished transfer (unless an SSE answer
 * already completed the call). */
static const char *finish(struct mh_xfer *x, CURLcode rc) {
  long status = 0;
  curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &status);
  if (x->status == 0)
    x->status = status;
  int ok = x->status >= 200 && x->status < 300;
  if (x->completed)
    return rc == CURLE_OK ? "answer" : "answer (stream cut after it)";
  if (x->canceled || rc == CURLE_OPERATION_TIMEDOUT) {
    complete_failure(x, 504, "timeout", "timeout", 0);
    return "timeout";
  }
  if (x->stop == MH_STOP_NOMEM) {
    complete_failure(x, 502, "client_internal", "unknown", 0);
    return "out of memory";
  }
  if (x->stop == MH_STOP_BUDGET) {
    complete_failure(x, 503, "client_internal", "reply_budget_exhausted", 1);
    return "in-flight reply budget full (--mcp.max-inflight-reply-bytes)";
  }
  if (x->proto_kind != NULL) {
    complete_failure(x, 502, "protocol", x->proto_kind, 1);
    return x->proto_kind;
  }
  if (x->stop == MH_STOP_TOO_LARGE) {
    complete_bad_body(x, "response_body_too_large");
    return "body too large";
  }
  if (rc != CURLE_OK) {
    struct mh_failure f;
    long os_errno = 0;
    curl_easy_getinfo(x->curl, CURLINFO_OS_ERRNO, &os_errno);
    mh_failure_from_curl(rc, os_errno, x->errbuf, &f);
    if (x->mode == MH_MODE_SSE && strcmp(f.source, "client_internal") == 0)
      f.source = "transport_closed";
    complete_failure(x, 502, f.source, f.kind,
                     strcmp(f.source, "transport_closed") != 0 && status > 0);
    return curl_easy_strerror(rc);
  }
  if (!x->expect_reply) {
    if (ok) {
      complete_success(x, NULL, 0);
      return "accepted";
    }
    complete_bad_body(x, "http_status");
    return "rejected";
  }
  if (x->mode == MH_MODE_SSE) {
    complete_failure(x, 502, "transport_closed", "eof", 0);
    return "stream ended before the answer";
  }
  if (ok) {
    enum mh_body_verdict v =
        mh_check_response(x->body.p, x->body.len, x->req_id);
    if (v == MH_BODY_OK) {
      complete_success(x, x->body.p, x->body.len);
      return "answer";
    }
    complete_failure(x, 502, "protocol",
                     v == MH_BODY_NOT_PROTOCOL ? "invalid_protocol_response"
                                               : mh_verdict_kind(v),
                     1);
    return "unusable reply";
  }
  enum mh_body_verdict v =
      mh_check_error_body(x->body.p, x->body.len, x->req_id);
  if (v == MH_BODY_OK) {
    complete_success(x, x->body.p, x->body.len);
    return "JSON-RPC error";
  }
  complete_bad_body(x, mh_verdict_kind(v));
  return "non-protocol error reply";
}

static void xfer_free(struct mh_xfer *x) {
  if (x->sse_ready)
    mh_sse_free(&x->sse);
  mh_buf_free(&x->body);
  tc_headers_clear(&x->headers);
}

int mh_post(struct mh_inst *mi, const struct tc_request *req,
            const struct tc_sink *sink, struct mh_xfer_info *info) {
  const struct tc_host *h = mi->host;
  const char *rid = req->request_id ? req->request_id : "-";
  struct mh_xfer x;
  memset(&x, 0, sizeof(x));
  x.mi = mi;
  x.req = req;
  x.sink = sink;
  x.expect_reply =
      mh_request_expects_reply(req->body, req->body_len, &x.req_id);
  int64_t budget = remaining_ms(mi, req);
  if (budget == 0 || atomic_load(&mi->stopping) ||
      (req->is_canceled != NULL && req->is_canceled(req))) {
    complete_failure(&x, 504, "timeout", "timeout", 0);
    xfer_free(&x);
    return TC_OK;
  }
  struct curl_slist *hdrs = NULL;
  size_t skipped = 0;
  x.curl = pool_get(mi);
  if (x.curl == NULL ||
      mh_build_headers(req->headers, mi->binding->extra_headers,
                       MH_HEADERS_POST, &hdrs, &skipped) != 0) {
    if (x.curl != NULL)
      pool_put(mi, x.curl);
    complete_failure(&x, 502, "client_internal", "unknown", 0);
    xfer_free(&x);
    return TC_OK;
  }
  if (skipped > 0)
    h->log(h, TC_LOG_WARN, mi->channel,
           "request %s: %zu header(s) with an invalid name or a line break "
           "left out",
           rid, skipped);
  char *net_err = NULL;
  const char *outcome;
  if (setup(&x, budget, hdrs, &net_err) != 0 ||
      curl_easy_setopt(x.curl, CURLOPT_POST, 1L) != CURLE_OK ||
      curl_easy_setopt(x.curl, CURLOPT_POSTFIELDS,
                       req->body ? req->body : "") != CURLE_OK ||
      curl_easy_setopt(x.curl, CURLOPT_POSTFIELDSIZE_LARGE,
                       (curl_off_t)(req->body ? req->body_len : 0)) !=
          CURLE_OK) {
    h->log(h, TC_LOG_ERROR, mi->channel,
           "request %s: cannot prepare POST %s: %s", rid, mi->origin,
           net_err ? net_err : "libcurl refused an option");
    complete_failure(&x, 502, "client_internal", "unknown", 0);
    outcome = NULL;
  } else {
    CURLcode rc = curl_easy_perform(x.curl);
    if (info != NULL) {
      info->rc = rc;
      info->os_errno = 0;
      curl_easy_getinfo(x.curl, CURLINFO_OS_ERRNO, &info->os_errno);
    }
    outcome = finish(&x, rc);
  }
  curl_easy_setopt(x.curl, CURLOPT_ERRORBUFFER, NULL);
  free(net_err);
  if (outcome != NULL && h->log_enabled(h, TC_LOG_DEBUG))
    h->log(h, TC_LOG_DEBUG, mi->channel, "request %s: POST %s -> %ld (%s)", rid,
           mi->origin, x.status, outcome);
  curl_easy_setopt(x.curl, CURLOPT_HTTPHEADER, NULL);
  curl_slist_free_all(hdrs);
  pool_put(mi, x.curl);
  xfer_free(&x);
  return TC_OK;
}

/* The sink of a call, watching for a 404 (the session is gone). */
struct call_sink {
  struct tc_sink sink;
  const struct tc_sink *inner;
  int status;
};

static int cs_notify(const struct tc_sink *s, const struct tc_response *m) {
  const struct call_sink *cs = s->core;
  return cs->inner->notify(cs->inner, m);
}

static int cs_complete(const struct tc_sink *s, const struct tc_response *r) {
  struct call_sink *cs = s->core;
  cs->status = r != NULL ? r->status : 0;
  return cs->inner->complete(cs->inner, r);
}

static int mh_call(void *inst, const struct tc_request *req,
                   const struct tc_sink *sink) {
  struct mh_inst *mi = inst;
  if (mi->streams == NULL)
    return mh_post(mi, req, sink, NULL);
  mh_streams_use(mi->streams, req);
  struct call_sink cs = {
      {sizeof(cs.sink), &cs, cs_notify, cs_complete}, sink, 0};
  int rc = mh_post(mi, req, &cs.sink, NULL);
  mh_streams_done(mi->streams, req);
  if (cs.status == 404)
    mh_streams_forget(mi->streams, req);
  return rc;
}

static int mh_end_session(void *inst, const struct tc_request *req,
                          int *status) {
  struct mh_inst *mi = inst;
  mh_streams_forget(mi->streams, req);
  return mh_terminate_session(inst, req, status);
}

int mh_terminate_session(void *inst, const struct tc_request *req,
                         int *status) {
  struct mh_inst *mi = inst;
  const struct tc_host *h = mi->host;
  *status = 0;
  int64_t budget = remaining_ms(mi, req);
  if (budget == 0)
    return TC_ETIMEDOUT;
  struct mh_xfer x;
  memset(&x, 0, sizeof(x));
  x.mi = mi;
  x.req = req;
  struct curl_slist *hdrs = NULL;
  x.curl = pool_get(mi);
  if (x.curl == NULL)
    return TC_ENOMEM;
  if (mh_build_headers(req->headers, mi->binding->extra_headers,
                       MH_HEADERS_DELETE, &hdrs, NULL) != 0) {
    pool_put(mi, x.curl);
    return TC_ENOMEM;
  }
  char *net_err = NULL;
  int ret = TC_OK;
  if (setup(&x, budget, hdrs, &net_err) != 0 ||
      curl_easy_setopt(x.curl, CURLOPT_CUSTOMREQUEST, "DELETE") != CURLE_OK) {
    h->log(h, TC_LOG_ERROR, mi->channel, "cannot prepare DELETE %s: %s",
           mi->origin, net_err ? net_err : "libcurl refused an option");
    ret = TC_ERR;
  } else {
    CURLcode rc = curl_easy_perform(x.curl);
    long st = 0;
    curl_easy_getinfo(x.curl, CURLINFO_RESPONSE_CODE, &st);
    if (rc == CURLE_OK) {
      *status = (int)st;
    } else {
      ret = x.canceled || rc == CURLE_OPERATION_TIMEDOUT ? TC_ETIMEDOUT
                                                         : TC_ECONNECT;
      h->log(h, TC_LOG_WARN, mi->channel, "DELETE %s failed: %s", mi->origin,
             curl_easy_strerror(rc));
    }
  }
  curl_easy_setopt(x.curl, CURLOPT_ERRORBUFFER, NULL);
  free(net_err);
  curl_easy_setopt(x.curl, CURLOPT_HTTPHEADER, NULL);
  curl_slist_free_all(hdrs);
  pool_put(mi, x.curl);
  xfer_free(&x);
  return ret;
}

int mh_get_head(struct mh_inst *mi, const struct tc_request *req, long *status,
                int *is_sse) {
  *status = 0;
  *is_sse = 0;
  int64_t budget = remaining_ms(mi, req);
  if (budget == 0)
    return TC_ETIMEDOUT;
  struct mh_xfer x;
  memset(&x, 0, sizeof(x));
  x.mi = mi;
  x.req = req;
  x.head_only = 1;
  struct curl_slist *hdrs = NULL;
  x.curl = pool_get(mi);
  if (x.curl == NULL)
    return TC_ENOMEM;
  if (mh_build_headers(req->headers, mi->binding->extra_headers,
                       MH_HEADERS_DELETE, &hdrs, NULL) != 0) {
    pool_put(mi, x.curl);
    return TC_ENOMEM;
  }
  char *net_err = NULL;
  int ret = TC_OK;
  if (setup(&x, budget, hdrs, &net_err) != 0 ||
      curl_easy_setopt(x.curl, CURLOPT_HTTPGET, 1L) != CURLE_OK) {
    ret = TC_ERR;
  } else {
    CURLcode rc = curl_easy_perform(x.curl);
    if (x.got_head || rc == CURLE_OK) {
      if (!x.got_head)
        curl_easy_getinfo(x.curl, CURLINFO_RESPONSE_CODE, status);
      else
        *status = x.status;
      const char *ct = tc_headers_get(&x.headers, "Content-Type", 0);
      *is_sse = mh_media_type_is(ct, "text/event-stream");
    } else {
      ret = x.canceled || rc == CURLE_OPERATION_TIMEDOUT ? TC_ETIMEDOUT
                                                         : TC_ECONNECT;
    }
  }
  free(net_err);
  curl_easy_setopt(x.curl, CURLOPT_ERRORBUFFER, NULL);
  curl_easy_setopt(x.curl, CURLOPT_HTTPHEADER, NULL);
  curl_slist_free_all(hdrs);
  /* An aborted transfer leaves its connection unusable: do not pool it. */
  if (x.got_head)
    curl_easy_cleanup(x.curl);
  else
    pool_put(mi, x.curl);
  xfer_free(&x);
  return ret;
}

/* ---- lifecycle ----------------------------------------------------------- */

static void mh_destroy(void *inst) {
  struct mh_inst *mi = inst;
  if (mi == NULL)
    return;
  for (size_t i = 0; i < mi->nidle; i++)
    curl_easy_cleanup(mi->idle[i]);
  free(mi->idle);
  if (mi->share != NULL)
    curl_share_cleanup(mi->share);
  mh_streams_free(mi->streams); /* before the share its handles use */
  for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
    pthread_mutex_destroy(&mi->share_locks[i]);
  pthread_mutex_destroy(&mi->pool_lock);
  mh_probe_state_free(&mi->probe);
  free(mi->origin);
  mi->host->free(mi->channel);
  mi->host->free(mi);
}

static int mh_create(const struct tc_host *host,
                     const struct tc_binding *binding, void **inst,
                     char **errmsg) {
  const char *channel =
      binding != NULL && binding->channel != NULL ? binding->channel : "main";
  if (binding == NULL || binding->url == NULL || binding->url[0] == '\0') {
    *errmsg = host->format("channel \"%s\": the http transport needs an MCP "
                           "server URL (set --mcp.server-url)",
                           channel);
    return TC_ECONFIG;
  }
  struct mh_inst *mi = host->alloc(sizeof(*mi));
  if (mi == NULL)
    return TC_ENOMEM;
  memset(mi, 0, sizeof(*mi));
  mi->host = host;
  mi->binding = binding;
  atomic_init(&mi->stopping, 0);
  pthread_mutex_init(&mi->pool_lock, NULL);
  mh_probe_state_init(&mi->probe);
  for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
    pthread_mutex_init(&mi->share_locks[i], NULL);
  mi->channel = host->format("%s", channel);
  mi->origin = mh_url_origin(binding->url);
  mi->share = curl_share_init();
  if (mi->channel == NULL || mi->origin == NULL || mi->share == NULL ||
      curl_share_setopt(mi->share, CURLSHOPT_LOCKFUNC, share_lock) ||
      curl_share_setopt(mi->share, CURLSHOPT_UNLOCKFUNC, share_unlock) ||
      curl_share_setopt(mi->share, CURLSHOPT_USERDATA, mi) ||
      curl_share_setopt(mi->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) ||
      curl_share_setopt(mi->share, CURLSHOPT_SHARE,
                        CURL_LOCK_DATA_SSL_SESSION)) {
    mh_destroy(mi);
    return TC_ENOMEM;
  }
  if (mh_server_streams) {
    mi->streams = mh_streams_new(mi, (size_t)mh_server_streams_max,
                                 mh_server_stream_idle_ms);
    if (mi->streams == NULL) {
      mh_destroy(mi);
      return TC_ENOMEM;
    }
  }
  *inst = mi;
  return TC_OK;
}

static void mh_stop(void *inst) {
  struct mh_inst *mi = inst;
  atomic_store(&mi->stopping, 1);
  mh_probe_interrupt(mi);
  mh_streams_stop(mi->streams);
}

static const struct tc_transport_vtable mh_transport = {
    .struct_size = sizeof(struct tc_transport_vtable),
    .name = "http",
    .flags = 0,
    .create = mh_create,
    .call = mh_call,
    .terminate_session = mh_end_session,
    .probe = mh_probe,
    .stop = mh_stop,
    .destroy = mh_destroy,
};

static int mh_init(const struct tc_host *host, struct tc_registrar *reg,
                   const void *config, char **errmsg) {
  const struct mh_config *cfg = config;
  if (cfg != NULL && cfg->connect_timeout_ms > 0)
    mh_connect_timeout_ms = cfg->connect_timeout_ms;
  if (cfg != NULL) { /* the core applied the defaults and bounds */
    mh_server_streams = cfg->server_streams;
    if (cfg->server_streams_max > 0)
      mh_server_streams_max = cfg->server_streams_max;
    if (cfg->server_stream_idle_ms > 0)
      mh_server_stream_idle_ms = cfg->server_stream_idle_ms;
  }
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    *errmsg = host->format("cannot initialise libcurl");
    return TC_ERR;
  }
  int rc = reg->add_transport(reg, &mh_transport, errmsg);
  if (rc != TC_OK)
    curl_global_cleanup(); /* the loader calls fini only after success */
  return rc;
}

static void mh_fini(const struct tc_host *host) {
  (void)host;
  curl_global_cleanup();
}

static const struct tc_config_field mh_fields[] = {
    {"connect_timeout", TC_CFG_DURATION, "10s",
     offsetof(struct mh_config, connect_timeout_ms),
     "time allowed to connect to the MCP server (TCP and TLS)", 100, 300000},
    {"server_streams", TC_CFG_BOOL, "true",
     offsetof(struct mh_config, server_streams),
     "open the server's GET stream for each MCP session and answer its "
     "requests (sampling, elicitation) with an error at once",
     0, 0},
    {"server_streams_max", TC_CFG_INT, "64",
     offsetof(struct mh_config, server_streams_max),
     "sessions with a server stream at once; the least recently used one "
     "is closed to make room",
     1, 10000},
    {"server_stream_idle_timeout", TC_CFG_DURATION, "5m",
     offsetof(struct mh_config, server_stream_idle_ms),
     "a session's server stream is closed after this long without a "
     "command of that session",
     1000, 86400000},
    TC_CONFIG_END};

TC_MODULE_DEFINE(mcp_http, .name = "mcp-http", .version = "0.3.0",
                 .init = mh_init, .fini = mh_fini,
                 .summary = "MCP over Streamable HTTP (transport \"http\")",
                 .config = mh_fields, .config_size = sizeof(struct mh_config));
