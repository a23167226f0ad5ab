/* mh_probe.c — the http transport's readiness probe (tc/transport.h).
 *
 * The first call is the startup probe, an MCP client handshake against the
 * binding URL within 2 s: POST initialize (clientInfo tunnel-client,
 * protocol 2025-06-18), a standalone GET for the server stream (any
 * answer, 405 included, is accepted; the stream is not read), POST
 * notifications/initialized, then DELETE of the session if the server
 * issued one. Requests carry the binding's extra headers with the
 * discovery headers overriding them, plus Mcp-Session-Id and
 * MCP-Protocol-Version once known.
 *
 * With binding->startup_wait_timeout_ms > 0 (ABI 1.1), attempts that fail
 * with "connection refused" (or a missing unix socket) are retried with
 * backoff 50 ms doubling to 1 s until that much time has passed.
 *
 * Outcome, cached for every later call:
 *   handshake done                 TC_OK, no detail
 *   HTTP 401 on a handshake step   TC_OK "mcp initialize requires auth: ..."
 *   the 2 s ran out                TC_OK "mcp startup probe timed out: ..."
 *   still refused when waiting     < 0   "mcp startup wait failed: ..."
 *   anything else                  < 0   "mcp probe failed: ..."
 * Details name statuses and error classes only, never header values.
 *
 * Threads: any worker thread; a call while the startup probe runs gets
 * TC_AGAIN at once. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "mh_internal.h"

#define MH_PROBE_TIMEOUT_MS 2000
#define MH_PROBE_PROTOCOL "2025-06-18"
#define MH_WAIT_BACKOFF_MIN_MS 50
#define MH_WAIT_BACKOFF_MAX_MS 1000

void mh_probe_state_init(struct mh_probe_state *ps) {
  memset(ps, 0, sizeof(*ps));
  pthread_mutex_init(&ps->lock, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&ps->wake, &ca);
  pthread_condattr_destroy(&ca);
}

void mh_probe_state_free(struct mh_probe_state *ps) {
  free(ps->detail);
  ps->detail = NULL;
  pthread_cond_destroy(&ps->wake);
  pthread_mutex_destroy(&ps->lock);
}

void mh_probe_interrupt(struct mh_inst *mi) {
  pthread_mutex_lock(&mi->probe.lock);
  pthread_cond_broadcast(&mi->probe.wake);
  pthread_mutex_unlock(&mi->probe.lock);
}

/* ---- one handshake step -------------------------------------------------- */

/* What a sink saw for one POST. */
struct step {
  int completed;
  int status;
  char source[32], kind[48];
  char *body;
  char *session; /* Mcp-Session-Id of the reply, or NULL */
};

static int step_notify(const struct tc_sink *sink,
                       const struct tc_response *m) {
  (void)sink;
  (void)m;
  return TC_OK; /* server notifications during the handshake are ignored */
}

static int step_complete(const struct tc_sink *sink,
                         const struct tc_response *m) {
  struct step *s = sink->core;
  s->completed = 1;
  s->status = m->status;
  snprintf(s->source, sizeof(s->source), "%s",
           m->failure_source ? m->failure_source : "");
  snprintf(s->kind, sizeof(s->kind), "%s",
           m->failure_kind ? m->failure_kind : "");
  if (m->body != NULL)
    s->body = strndup(m->body, m->body_len);
  const char *sid = tc_headers_get(m->headers, "Mcp-Session-Id", 0);
  if (sid != NULL && sid[0] != '\0')
    s->session = strdup(sid);
  return TC_OK;
}

static void step_free(struct step *s) {
  free(s->body);
  free(s->session);
}

static int probe_canceled(const struct tc_request *req) {
  const struct mh_inst *mi = req->core;
  return atomic_load(&mi->stopping);
}

static void request_init(struct tc_request *req, struct mh_inst *mi,
                         const char *body, const struct tc_headers *h,
                         uint64_t deadline_ns) {
  memset(req, 0, sizeof(*req));
  req->struct_size = sizeof(*req);
  req->type = "jsonrpc";
  req->channel = mi->channel;
  req->request_id = "startup-probe";
  req->body = body;
  req->body_len = body ? strlen(body) : 0;
  req->headers = h;
  req->deadline_ns = deadline_ns;
  req->is_canceled = probe_canceled;
  req->core = mi;
}

/* Discovery headers (they override the binding's extra headers, which
 * mh_build_headers adds for names not present here), then the session
 * headers. Returns 0 or -1 on ENOMEM. */
static int probe_headers(const struct mh_inst *mi, struct tc_headers *h,
                         const char *session, const char *protocol) {
  const struct tc_headers *d = mi->binding->discovery_extra_headers;
  for (size_t i = 0; d != NULL && i < d->count; i++)
    if (tc_headers_add(h, d->items[i].name, d->items[i].value) != TC_OK)
      return -1;
  if (session != NULL) {
    tc_headers_remove(h, "Mcp-Session-Id");
    if (tc_headers_add(h, "Mcp-Session-Id", session) != TC_OK)
      return -1;
  }
  if (protocol != NULL) {
    tc_headers_remove(h, "MCP-Protocol-Version");
    if (tc_headers_add(h, "MCP-Protocol-Version", protocol) != TC_OK)
      return -1;
  }
  return 0;
}

/* ---- one attempt --------------------------------------------------------- */

enum outcome {
  OUT_OK,
  OUT_AUTH,    /* HTTP 401 */
  OUT_TIMEOUT, /* the 2 s ran out */
  OUT_REFUSED, /* nothing listens (yet): retried when waiting */
  OUT_FAILED
};

struct attempt {
  enum outcome out;
  char why[160]; /* secret-free text after the "mcp ...: " prefix */
};

static int is_unix(const struct mh_inst *mi) {
  const char *u = mi->binding->unix_socket;
  return u != NULL && u[0] != '\0';
}

/* Classify a POST step that did not produce a usable 2xx answer. */
static void step_failure(const struct mh_inst *mi, const char *what,
                         const struct step *s, const struct mh_xfer_info *info,
                         struct attempt *a) {
  if (!s->completed) {
    a->out = OUT_FAILED;
    snprintf(a->why, sizeof(a->why), "%s: no result", what);
  } else if (s->status == 401) {
    a->out = OUT_AUTH;
    snprintf(a->why, sizeof(a->why), "HTTP 401");
  } else if (strcmp(s->source, "timeout") == 0) {
    a->out = OUT_TIMEOUT;
    snprintf(a->why, sizeof(a->why), "%s got no answer within %d ms", what,
             MH_PROBE_TIMEOUT_MS);
  } else if (strcmp(s->kind, "connection_refused") == 0) {
    a->out = OUT_REFUSED;
    snprintf(a->why, sizeof(a->why), "connection refused");
  } else if (is_unix(mi) && info->rc == CURLE_COULDNT_CONNECT &&
             info->os_errno == ENOENT) {
    a->out = OUT_REFUSED;
    snprintf(a->why, sizeof(a->why), "unix socket does not exist");
  } else if (strcmp(s->source, "target_http") == 0 ||
             (s->source[0] == '\0' && (s->status < 200 || s->status > 299))) {
    a->out = OUT_FAILED;
    snprintf(a->why, sizeof(a->why), "%s answered HTTP %d", what, s->status);
  } else if (s->source[0] != '\0') {
    a->out = OUT_FAILED;
    if (info->rc != CURLE_OK)
      snprintf(a->why, sizeof(a->why), "%s: %s (%s)", what, s->source,
               curl_easy_strerror(info->rc));
    else
      snprintf(a->why, sizeof(a->why), "%s: %s (%s)", what, s->source,
               s->kind[0] ? s->kind : "unknown");
  } else {
    a->out = OUT_FAILED;
    snprintf(a->why, sizeof(a->why), "%s: unexpected reply", what);
  }
}

/* POST `body` as one handshake step. 0 when it got a 2xx answer, else -1
 * with *a filled. */
static int post_step(struct mh_inst *mi, const char *what, const char *body,
                     const char *session, const char *protocol,
                     uint64_t deadline_ns, struct step *s, struct attempt *a) {
  struct tc_headers h = TC_HEADERS_INIT;
  if (probe_headers(mi, &h, session, protocol) != 0) {
    tc_headers_clear(&h);
    a->out = OUT_FAILED;
    snprintf(a->why, sizeof(a->why), "out of memory");
    return -1;
  }
  struct tc_request req;
  request_init(&req, mi, body, &h, deadline_ns);
  struct tc_sink sink = {sizeof(sink), s, step_notify, step_complete};
  struct mh_xfer_info info = {CURLE_OK, 0};
  mh_post(mi, &req, &sink, &info);
  tc_headers_clear(&h);
  if (s->completed && s->source[0] == '\0' && s->status >= 200 &&
      s->status <= 299)
    return 0;
  step_failure(mi, what, s, &info, a);
  return -1;
}

static uint64_t now_ns(const struct mh_inst *mi) {
  return mi->host->monotonic_ns();
}

static void run_attempt(struct mh_inst *mi, struct attempt *a) {
  const struct tc_host *h = mi->host;
  uint64_t deadline = now_ns(mi) + (uint64_t)MH_PROBE_TIMEOUT_MS * 1000000u;
  a->out = OUT_OK;
  a->why[0] = '\0';
  char *init = h->format(
      "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
      "\"protocolVersion\":\"%s\",\"capabilities\":{},\"clientInfo\":{"
      "\"name\":\"tunnel-client\",\"version\":\"%s\"}}}",
      MH_PROBE_PROTOCOL, h->host_version ? h->host_version : "0");
  if (init == NULL) {
    a->out = OUT_FAILED;
    snprintf(a->why, sizeof(a->why), "out of memory");
    return;
  }
  struct step s;
  memset(&s, 0, sizeof(s));
  int rc = post_step(mi, "initialize", init, NULL, NULL, deadline, &s, a);
  h->free(init);
  if (rc != 0) {
    step_free(&s);
    return;
  }
  /* A 2xx answer must be a result (an error object is a refusal). */
  json_t *reply = json_loads(s.body ? s.body : "", 0, NULL);
  json_t *result = json_object_get(reply, "result");
  if (!json_is_object(result)) {
    json_t *code = json_object_get(json_object_get(reply, "error"), "code");
    a->out = OUT_FAILED;
    if (json_is_integer(code))
      snprintf(a->why, sizeof(a->why),
               "initialize returned JSON-RPC error %lld",
               (long long)json_integer_value(code));
    else
      snprintf(a->why, sizeof(a->why), "initialize returned no result");
    json_decref(reply);
    step_free(&s);
    return;
  }
  const char *pv =
      json_string_value(json_object_get(result, "protocolVersion"));
  char *protocol = strdup(pv != NULL && pv[0] != '\0' ? pv : MH_PROBE_PROTOCOL);
  json_decref(reply);
  char *session = s.session;
  s.session = NULL;
  step_free(&s);

  /* Standalone GET: whatever the answer, the stream is not kept. */
  struct tc_headers gh = TC_HEADERS_INIT;
  if (protocol != NULL && probe_headers(mi, &gh, session, protocol) == 0) {
    tc_headers_remove(&gh, "Accept");
    tc_headers_add(&gh, "Accept", "text/event-stream");
    /* At most half of what is left, so a server that never answers the
     * GET still leaves time for notifications/initialized. */
    uint64_t now = now_ns(mi);
    uint64_t gdeadline = deadline > now ? now + (deadline - now) / 2 : now;
    struct tc_request greq;
    request_init(&greq, mi, NULL, &gh, gdeadline);
    long gstatus = 0;
    int sse = 0;
    int grc = mh_get_head(mi, &greq, &gstatus, &sse);
    if (h->log_enabled(h, TC_LOG_DEBUG))
      h->log(h, TC_LOG_DEBUG, mi->channel,
             "startup probe: GET %s -> %ld%s (%s)", mi->origin, gstatus,
             sse ? " event stream" : "",
             grc == TC_OK ? "ok" : tc_strerror(grc));
  }
  tc_headers_clear(&gh);

  memset(&s, 0, sizeof(s));
  if (protocol == NULL) {
    a->out = OUT_FAILED;
    snprintf(a->why, sizeof(a->why), "out of memory");
  } else {
    post_step(mi, "notifications/initialized",
              "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}",
              session, protocol, deadline, &s, a);
  }
  step_free(&s);

  /* End the probe's session; its outcome does not matter. The DELETE gets
   * its own short budget so a slow probe still cleans up. */
  if (session != NULL) {
    struct tc_headers dh = TC_HEADERS_INIT;
    if (probe_headers(mi, &dh, session, protocol) == 0) {
      struct tc_request dreq;
      request_init(&dreq, mi, NULL, &dh, now_ns(mi) + 1000000000u);
      int dstatus = 0;
      int drc = mh_terminate_session(mi, &dreq, &dstatus);
      if (h->log_enabled(h, TC_LOG_DEBUG))
        h->log(h, TC_LOG_DEBUG, mi->channel,
               "startup probe: DELETE %s -> %d (%s)", mi->origin, dstatus,
               tc_strerror(drc));
    }
    tc_headers_clear(&dh);
  }
  free(session);
  free(protocol);
}

/* Sleep up to ms, waking early on stop(). */
static void backoff_sleep(struct mh_inst *mi, int64_t ms) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  uint64_t until = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec +
                   (uint64_t)ms * 1000000u;
  ts.tv_sec = (time_t)(until / 1000000000u);
  ts.tv_nsec = (long)(until % 1000000000u);
  pthread_mutex_lock(&mi->probe.lock);
  if (!atomic_load(&mi->stopping))
    pthread_cond_timedwait(&mi->probe.wake, &mi->probe.lock, &ts);
  pthread_mutex_unlock(&mi->probe.lock);
}

static int64_t startup_wait_ms(const struct tc_binding *b) {
  if (!TC_HAS_FIELD(b, struct tc_binding, startup_wait_timeout_ms))
    return 0;
  return b->startup_wait_timeout_ms > 0 ? b->startup_wait_timeout_ms : 0;
}

/* The startup probe; returns the result and sets *detail (malloc()ed). */
static int startup_probe(struct mh_inst *mi, char **detail) {
  const struct tc_host *h = mi->host;
  int64_t wait_ms = startup_wait_ms(mi->binding);
  uint64_t t0 = now_ns(mi);
  int64_t backoff = MH_WAIT_BACKOFF_MIN_MS;
  struct attempt a;
  int attempts = 0;
  for (;;) {
    attempts++;
    run_attempt(mi, &a);
    if (a.out != OUT_REFUSED || wait_ms == 0 || atomic_load(&mi->stopping))
      break;
    int64_t spent = (int64_t)((now_ns(mi) - t0) / 1000000u);
    if (spent >= wait_ms) {
      *detail = h->format("mcp startup wait failed: %s after %lld ms "
                          "(%d attempts)",
                          a.why, (long long)wait_ms, attempts);
      h->log(h, TC_LOG_WARN, mi->channel, "%s", *detail ? *detail : "");
      return TC_ECONNECT;
    }
    if (attempts == 1)
      h->log(h, TC_LOG_INFO, mi->channel,
             "waiting up to %lld ms for the MCP server at %s to listen",
             (long long)wait_ms, mi->origin);
    backoff_sleep(mi, backoff < wait_ms - spent ? backoff : wait_ms - spent);
    backoff = backoff * 2 > MH_WAIT_BACKOFF_MAX_MS ? MH_WAIT_BACKOFF_MAX_MS
                                                   : backoff * 2;
  }
  int rc;
  switch (a.out) {
  case OUT_OK:
    *detail = NULL;
    h->log(h, TC_LOG_INFO, mi->channel, "startup probe of %s: ready",
           mi->origin);
    return TC_OK;
  case OUT_AUTH:
    *detail = h->format("mcp initialize requires auth: %s", a.why);
    rc = TC_OK;
    break;
  case OUT_TIMEOUT:
    *detail = h->format("mcp startup probe timed out: %s", a.why);
    rc = TC_OK;
    break;
  case OUT_REFUSED:
    *detail = h->format("mcp probe failed: %s", a.why);
    rc = TC_ECONNECT;
    break;
  default:
    *detail = h->format("mcp probe failed: %s", a.why);
    rc = TC_ERR;
    break;
  }
  h->log(h, rc == TC_OK ? TC_LOG_INFO : TC_LOG_WARN, mi->channel,
         "startup probe of %s: %s", mi->origin, *detail ? *detail : "");
  return rc;
}

int mh_probe(void *inst, char **detail) {
  struct mh_inst *mi = inst;
  struct mh_probe_state *ps = &mi->probe;
  *detail = NULL;
  pthread_mutex_lock(&ps->lock);
  if (ps->phase == MH_PROBE_DONE) {
    int rc = ps->rc;
    if (ps->detail != NULL)
      *detail = strdup(ps->detail);
    pthread_mutex_unlock(&ps->lock);
    return rc;
  }
  if (ps->phase == MH_PROBE_RUNNING) {
    pthread_mutex_unlock(&ps->lock);
    *detail = strdup("mcp startup probe pending");
    return TC_AGAIN;
  }
  ps->phase = MH_PROBE_RUNNING;
  pthread_mutex_unlock(&ps->lock);

  char *d = NULL;
  int rc = startup_probe(mi, &d);

  pthread_mutex_lock(&ps->lock);
  ps->rc = rc;
  free(ps->detail);
  ps->detail = d;
  ps->phase = MH_PROBE_DONE;
  if (d != NULL)
    *detail = strdup(d);
  pthread_mutex_unlock(&ps->lock);
  return rc;
}
