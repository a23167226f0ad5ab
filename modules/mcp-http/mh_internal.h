/* mh_internal.h — pieces of the mcp-http module shared between its files.
 * Nothing here is exported from mcp-http.so (hidden visibility). */
#ifndef MH_INTERNAL_H
#define MH_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <jansson.h>

#include <tc/tc.h>

/* ---- reply buffers (mh_buf.c) --------------------------------------------
 * A growable byte buffer (always NUL-terminated once allocated) whose
 * capacity is reserved from the host's in-flight reply budget
 * (host->reply_reserve, ABI 1.4; without it nothing is counted) and given
 * back by mh_buf_free. `limit` bounds the length (one reply). Not
 * thread-safe; one owner. */
struct mh_buf {
  const struct tc_host *host;
  char *p;
  size_t len, cap, limit;
};
enum mh_buf_rc {
  MH_BUF_OK = 0,
  MH_BUF_LIMIT,  /* would pass `limit`: the reply is too large */
  MH_BUF_BUDGET, /* the in-flight reply budget is full */
  MH_BUF_NOMEM
};
void mh_buf_init(struct mh_buf *b, const struct tc_host *host, size_t limit);
/* Make room for a length of `len` bytes. */
enum mh_buf_rc mh_buf_reserve(struct mh_buf *b, size_t len);
enum mh_buf_rc mh_buf_append(struct mh_buf *b, const char *p, size_t n);
/* Free the memory and give its reservation back; the buffer is empty and
 * usable again. */
void mh_buf_free(struct mh_buf *b);

/* ---- SSE (mh_sse.c) -------------------------------------------------------
 * Incremental text/event-stream parser: feed bytes in any split; each
 * complete event with non-empty data and an empty or "message" event name
 * is handed to on_event (data lines joined by '\n'; the bytes live in
 * `data`, which on_event may free). Comments, id, retry and unknown fields
 * are consumed; empty-data (priming) events skipped. Data goes straight
 * into `data` (bounded by `max`, charged to the reply budget); nothing else
 * is buffered beyond a few bytes. Not thread-safe; one parser per stream. */
struct mh_sse {
  /* Return 0 to go on, non-zero to stop the stream (mh_sse_feed returns 1). */
  int (*on_event)(void *ud, const char *data, size_t len);
  void *ud;
  struct mh_buf data;
  enum mh_buf_rc err; /* why mh_sse_feed returned -1 */
  int state;          /* parsing the field name, or its value */
  char name[16];      /* the current field's name (long names: name_long) */
  size_t name_len;
  int name_long;
  char event[16]; /* the current "event:" value (long ones: event_long) */
  size_t event_len;
  int event_long;
  int named_other; /* the event has a name other than "message" */
  int after_cr;    /* last byte seen was '\r' (a following '\n' is eaten) */
};

void mh_sse_init(struct mh_sse *p, const struct tc_host *host, size_t max,
                 int (*on_event)(void *ud, const char *data, size_t len),
                 void *ud);
/* 0: consumed; 1: on_event asked to stop; -1: the data buffer refused to
 * grow (p->err says why: too large, budget, memory). */
int mh_sse_feed(struct mh_sse *p, const char *buf, size_t len);
void mh_sse_free(struct mh_sse *p);

/* ---- classification (mh_classify.c) -------------------------------------- */

/* Provenance of a libcurl failure (protocol.md §1.8). */
struct mh_failure {
  const char *source; /* "connect", "dns", "tls", "timeout", ... */
  const char *kind;   /* "connection_refused", "eof", ... or NULL */
};
/* errbuf: libcurl's CURLOPT_ERRORBUFFER text (may be NULL); only used to
 * tell a TLS-layer send/receive error from a socket one. */
void mh_failure_from_curl(CURLcode rc, long os_errno, const char *errbuf,
                          struct mh_failure *out);

/* A slice of a message: the exact JSON text of a value, or {NULL, 0}. */
struct mh_span {
  const char *p;
  size_t n;
};

/* Do two ids (exact JSON texts) name the same request? Numbers compare by
 * their text (1, 1.0 and 1e0 are three ids; any size works), strings by
 * their decoded value ("a" equals "\u0061"); a string never equals a
 * number. Empty spans never match. */
int mh_id_equal(struct mh_span a, struct mh_span b);

/* The request's JSON-RPC shape. *id gets its id's exact text (a span into
 * body; {NULL, 0} when absent or the body is not JSON). Returns 1 when an
 * answer is expected (a request), 0 for a notification or a client
 * response. */
int mh_request_expects_reply(const char *body, size_t len, struct mh_span *id);

/* What one JSON-RPC message from the server is. */
enum mh_msg_kind {
  MH_MSG_MALFORMED = 0, /* not a JSON object */
  MH_MSG_NOTIFICATION,  /* method, no id */
  MH_MSG_REQUEST,       /* method and id: a server->client request */
  MH_MSG_RESPONSE,      /* result or error, no method */
  MH_MSG_OTHER          /* an object that is none of those */
};
/* Classify without decoding; *id and *method (either may be NULL) get the
 * spans of those members. */
enum mh_msg_kind mh_classify_message(const char *msg, size_t len,
                                     struct mh_span *id,
                                     struct mh_span *method);

/* Outcome of checking a reply body against the request id. */
enum mh_body_verdict {
  MH_BODY_OK = 0,        /* the JSON-RPC response to this request */
  MH_BODY_MISSING,       /* empty */
  MH_BODY_MALFORMED,     /* not JSON */
  MH_BODY_INVALID_ERROR, /* has "error" but not a valid JSON-RPC error */
  MH_BODY_NOT_PROTOCOL,  /* JSON, but not this request's response */
};
/* 2xx bodies: any response (result or error) whose id equals req_id. */
enum mh_body_verdict mh_check_response(const char *body, size_t len,
                                       struct mh_span req_id);
/* Non-2xx bodies: pass-through only for a JSON-RPC 2.0 error object with an
 * integer code, string message, no method/result, and the request's id. */
enum mh_body_verdict mh_check_error_body(const char *body, size_t len,
                                         struct mh_span req_id);
/* Wire kind name for a verdict other than MH_BODY_OK. */
const char *mh_verdict_kind(enum mh_body_verdict v);

/* ---- headers (mh_headers.c) ---------------------------------------------- */

enum mh_header_mode {
  MH_HEADERS_POST,  /* + Accept and Content-Type when absent */
  MH_HEADERS_DELETE /* command and static headers only */
};
/* Build the outgoing header list: command headers verbatim (minus Host,
 * Content-Length, Transfer-Encoding), then static headers whose name the
 * command lacks, then defaults. Entries with CR/LF or a bad name are left
 * out and counted in *skipped. Returns 0, or -1 on ENOMEM (*out freed). */
int mh_build_headers(const struct tc_headers *cmd,
                     const struct tc_headers *extra, enum mh_header_mode mode,
                     struct curl_slist **out, size_t *skipped);
/* Feed one raw response header line (as CURLOPT_HEADERFUNCTION sees it) into
 * `h`: a status line clears it, "Name: value" is appended (trimmed).
 * Returns 0 or -1 on ENOMEM. */
int mh_collect_header(struct tc_headers *h, const char *line, size_t len);
/* 1 when the Content-Type value's media type equals `type` (ASCII
 * case-insensitive, parameters ignored). */
int mh_media_type_is(const char *content_type, const char *type);
/* "scheme://host[:port]" of url without userinfo, path or query
 * (malloc()ed; NULL on ENOMEM). For logs. */
char *mh_url_origin(const char *url);

/* ---- the instance and its transfers (mcp_http.c) ------------------------ */

/* Startup probe state (mh_probe.c). Guarded by `lock`. */
enum mh_probe_phase { MH_PROBE_NEW = 0, MH_PROBE_RUNNING, MH_PROBE_DONE };
struct mh_probe_state {
  pthread_mutex_t lock;
  pthread_cond_t wake; /* CLOCK_MONOTONIC; stop() interrupts backoff */
  enum mh_probe_phase phase;
  int rc;       /* cached result once DONE */
  char *detail; /* cached /readyz detail (malloc()ed) or NULL */
};

struct mh_streams;

struct mh_inst {
  const struct tc_host *host;
  const struct tc_binding *binding; /* borrowed until destroy */
  char *channel;
  char *origin; /* for logs: no userinfo, path or query */
  atomic_int stopping;
  pthread_mutex_t pool_lock; /* guards idle/nidle/cap */
  CURL **idle;
  size_t nidle, cap;
  CURLSH *share;
  pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
  struct mh_probe_state probe;
  struct mh_streams *streams; /* NULL when server streams are off */
};

/* The connect timeout (the module's connect_timeout setting), in ms. */
int64_t mh_connect_ms(void);

/* How a transfer ended at the libcurl level (for the probe's decisions). */
struct mh_xfer_info {
  CURLcode rc;
  long os_errno;
};

/* POST req->body to the binding URL and report through `sink` exactly as
 * call() does (call() is this with info == NULL). Returns TC_OK. */
int mh_post(struct mh_inst *mi, const struct tc_request *req,
            const struct tc_sink *sink, struct mh_xfer_info *info);
/* GET the binding URL with req->headers (plus the static headers) and stop
 * as soon as the response headers are in: *status gets the HTTP status
 * (0 when none) and *is_sse whether the reply is text/event-stream.
 * Returns TC_OK when a status arrived, else TC_ECONNECT/TC_ETIMEDOUT. */
int mh_get_head(struct mh_inst *mi, const struct tc_request *req, long *status,
                int *is_sse);
/* DELETE the binding URL (the transport's terminate_session). */
int mh_terminate_session(void *inst, const struct tc_request *req, int *status);

/* ---- the server's standalone streams (mh_streams.c) ----------------------
 * Per MCP session seen in a command, the server's GET stream is opened and
 * its requests are answered at once (ping: empty result; anything else:
 * -32601), so a tool that asks the client something (sampling,
 * elicitation) gets an error instead of waiting; notifications on it are
 * dropped. At most `max` sessions, each closed after `idle_ms` without a
 * command. Contract and threads: mh_streams.c. */
struct mh_streams *mh_streams_new(struct mh_inst *mi, size_t max,
                                  int64_t idle_ms);
/* A command of the request's session (Mcp-Session-Id) is about to be sent:
 * remember its headers, and open the session's stream if it has none (the
 * first time, wait up to 1 s — half the time left at most — for the
 * server's answer). No-op without a session id or with ss NULL. */
void mh_streams_use(struct mh_streams *ss, const struct tc_request *req);
/* The command mh_streams_use() was called for has finished: the session's
 * idle time counts from now (never while one of its commands runs). */
void mh_streams_done(struct mh_streams *ss, const struct tc_request *req);
/* The request's session ended (DELETE, or a 404): close its stream. */
void mh_streams_forget(struct mh_streams *ss, const struct tc_request *req);
/* Streams open now (tests, diagnostics). */
size_t mh_streams_open_count(struct mh_streams *ss);
/* Close every stream and join the thread (stop()); free (destroy()). */
void mh_streams_stop(struct mh_streams *ss);
void mh_streams_free(struct mh_streams *ss);

/* ---- startup probe (mh_probe.c) ------------------------------------------ */

void mh_probe_state_init(struct mh_probe_state *ps);
void mh_probe_state_free(struct mh_probe_state *ps);
/* Wake a probe sleeping between startup-wait attempts (stop()). */
void mh_probe_interrupt(struct mh_inst *mi);
/* The transport's probe() (contract in tc/transport.h). */
int mh_probe(void *inst, char **detail);

#endif /* MH_INTERNAL_H */
