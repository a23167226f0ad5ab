/* cli/cmd_dev_load.c — `dev load`: an MCP load generator. Each of
 * --concurrency worker threads owns one libcurl easy handle (one kept-alive
 * connection), initializes its own MCP session (initialize +
 * notifications/initialized) and then sends `tools/call echo` with an input
 * of --payload-bytes bytes back to back until --requests calls were issued in
 * total or --duration elapsed. Latency is recorded per call in a
 * per-thread histogram (util/hdr_histogram.h, microseconds), merged at the
 * end; the report gives req/s, p50/p95/p99/max and errors (text or --json).
 *
 * An error is a transport failure, a status other than 200, or a body that
 * is not a JSON-RPC result. Exit 0 when every call succeeded, 1 otherwise
 * (including bad flags and a failed initialize, each one line on stderr). */
#include "cli/cmd_dev_load.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cli/dev_common.h"
#include "config/config.h"
#include "util/hdr_histogram.h"

#define LOAD_MAX_CONCURRENCY 1024L
#define LOAD_MAX_PAYLOAD (16L * 1024L * 1024L)
#define LOAD_DEFAULT_REQUESTS 1000L
#define LOAD_CALL_TIMEOUT_MS 30000L
#define LOAD_SESSION_MAX 128u
#define LOAD_BODY_KEEP (64u * 1024u) /* bytes of a reply kept for checks */

const char tc_dev_load_usage[] =
    "Usage: tunnel-client dev load --url URL [--concurrency 1]\n"
    "         [--requests 1000 | --duration D] [--payload-bytes 1024] "
    "[--json]\n"
    "\n"
    "Drives an MCP server (Streamable HTTP) with tools/call echo: each of\n"
    "--concurrency workers opens one connection, initializes its own session\n"
    "and calls echo back to back with an input of --payload-bytes bytes,\n"
    "until --requests calls were made in total or --duration elapsed. Prints\n"
    "req/s, latency p50/p95/p99/max (microsecond histogram) and errors.\n"
    "Point it at 'dev mcp-stub' directly, or at the MCP URL that 'dev proxy'\n"
    "prints to measure the tunnel.\n"
    "\n"
    "Flags:\n"
    "  --url URL             MCP endpoint, e.g. http://127.0.0.1:PORT/mcp\n"
    "  --concurrency N       workers (1..1024, default 1)\n"
    "  --requests N          total calls (default 1000)\n"
    "  --duration D          run for D instead (Go duration, e.g. 10s)\n"
    "  --payload-bytes N     echo input size (0..16777216, default 1024)\n"
    "  --json                one JSON object instead of the text report\n"
    "\n"
    "Exit status 0 when every call succeeded, 1 otherwise.\n";

struct load_run {
  const char *url;
  long concurrency, requests, payload;
  int64_t duration_ms; /* 0 = count-bound */
  uint64_t end_ns;     /* duration-bound stop time */
  atomic_long issued;  /* calls handed out (count-bound) */
  atomic_long errors;
  pthread_mutex_t mu; /* guards first_error */
  char first_error[200];
};

struct load_worker {
  struct load_run *run;
  pthread_t thread;
  struct tc_hist *hist;
  int init_failed;
  char session[LOAD_SESSION_MAX]; /* "" = none issued */
  long status;
  char *reply; /* first LOAD_BODY_KEEP bytes of the last reply */
  size_t reply_len;
};

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Count an error; the first one is kept as "<what>: <detail>[ (HTTP n)]". */
static void note_error(struct load_run *r, const char *what, const char *detail,
                       long status) {
  atomic_fetch_add(&r->errors, 1);
  pthread_mutex_lock(&r->mu);
  if (r->first_error[0] == '\0') {
    if (status > 0)
      snprintf(r->first_error, sizeof(r->first_error), "%s: %s (HTTP %ld)",
               what, detail, status);
    else
      snprintf(r->first_error, sizeof(r->first_error), "%s: %s", what, detail);
  }
  pthread_mutex_unlock(&r->mu);
}

static size_t on_body(char *p, size_t sz, size_t n, void *ud) {
  struct load_worker *w = ud;
  size_t len = sz * n;
  size_t room = LOAD_BODY_KEEP - w->reply_len;
  size_t take = len < room ? len : room;
  memcpy(w->reply + w->reply_len, p, take);
  w->reply_len += take;
  w->reply[w->reply_len] = '\0';
  return len;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud) {
  struct load_worker *w = ud;
  size_t len = sz * n;
  static const char name[] = "mcp-session-id:";
  if (len > sizeof(name) - 1 && strncasecmp(p, name, sizeof(name) - 1) == 0) {
    const char *v = p + sizeof(name) - 1, *end = p + len;
    while (v < end && (*v == ' ' || *v == '\t'))
      v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
      end--;
    size_t vl = (size_t)(end - v);
    if (vl > 0 && vl < sizeof(w->session)) {
      memcpy(w->session, v, vl);
      w->session[vl] = '\0';
    }
  }
  return len;
}

/* One POST; returns the libcurl code, status in w->status. */
static CURLcode post(CURL *h, struct load_worker *w, const char *body,
                     size_t len, struct curl_slist *hdrs) {
  w->reply_len = 0;
  w->reply[0] = '\0';
  w->status = 0;
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
  CURLcode rc = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &w->status);
  return rc;
}

static struct curl_slist *base_headers(const char *session) {
  struct curl_slist *l = NULL, *t;
  const char *fixed[] = {"Content-Type: application/json",
                         "Accept: application/json, text/event-stream",
                         "MCP-Protocol-Version: 2025-06-18", "Expect:"};
  for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
    if ((t = curl_slist_append(l, fixed[i])) == NULL)
      goto oom;
    l = t;
  }
  if (session != NULL && session[0] != '\0') {
    char line[LOAD_SESSION_MAX + 32];
    snprintf(line, sizeof(line), "Mcp-Session-Id: %s", session);
    if ((t = curl_slist_append(l, line)) == NULL)
      goto oom;
    l = t;
  }
  return l;
oom:
  curl_slist_free_all(l);
  return NULL;
}

static int initialize(CURL *h, struct load_worker *w) {
  static const char init[] =
      "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
      "\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},\"clientInfo\":"
      "{\"name\":\"tunnel-client-dev-load\",\"version\":\"" TC_VERSION "\"}}}";
  static const char initialized[] =
      "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}";
  struct curl_slist *hdrs = base_headers(NULL);
  CURLcode rc = post(h, w, init, sizeof(init) - 1, hdrs);
  curl_slist_free_all(hdrs);
  if (rc != CURLE_OK || w->status != 200 ||
      strstr(w->reply, "\"result\"") == NULL) {
    note_error(w->run, "initialize failed",
               rc != CURLE_OK ? curl_easy_strerror(rc) : "no JSON-RPC result",
               w->status);
    return -1;
  }
  hdrs = base_headers(w->session);
  rc = post(h, w, initialized, sizeof(initialized) - 1, hdrs);
  curl_slist_free_all(hdrs);
  if (rc != CURLE_OK || (w->status != 202 && w->status != 200)) {
    note_error(w->run, "notifications/initialized failed",
               rc != CURLE_OK ? curl_easy_strerror(rc) : "unexpected status",
               w->status);
    return -1;
  }
  return 0;
}

/* Whether the worker takes one more call. */
static bool take_call(struct load_run *r) {
  if (r->duration_ms > 0)
    return now_ns() < r->end_ns;
  return atomic_fetch_add(&r->issued, 1) < r->requests;
}

static void *worker_main(void *arg) {
  struct load_worker *w = arg;
  struct load_run *r = w->run;
  CURL *h = curl_easy_init();
  size_t cap = (size_t)r->payload + 256u;
  char *body = malloc(cap);
  w->reply = malloc(LOAD_BODY_KEEP + 1);
  if (h == NULL || body == NULL || w->reply == NULL) {
    note_error(r, "dev load", "out of memory", 0);
    w->init_failed = 1;
    goto out;
  }
  curl_easy_setopt(h, CURLOPT_URL, r->url);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, LOAD_CALL_TIMEOUT_MS);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, w);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, w);
  if (initialize(h, w) != 0) {
    w->init_failed = 1;
    goto out;
  }
  struct curl_slist *hdrs = base_headers(w->session);
  if (hdrs == NULL) {
    note_error(r, "dev load", "out of memory", 0);
    goto out;
  }
  /* {"jsonrpc":"2.0","id":N,"method":"tools/call","params":{"name":"echo",
   * "arguments":{"input":"xxx..."}}} with the payload written once. */
  int head = snprintf(body, cap,
                      "{\"jsonrpc\":\"2.0\",\"id\":%-12d,\"method\":\"tools/"
                      "call\",\"params\":{\"name\":\"echo\",\"arguments\":{"
                      "\"input\":\"",
                      1);
  memset(body + head, 'x', (size_t)r->payload);
  size_t len = (size_t)head + (size_t)r->payload;
  memcpy(body + len, "\"}}}", 4);
  len += 4;
  long id = 1;
  while (take_call(r)) {
    char idtext[16];
    snprintf(idtext, sizeof(idtext), "%-12ld", id++ % 1000000000000L);
    memcpy(body + sizeof("{\"jsonrpc\":\"2.0\",\"id\":") - 1, idtext, 12);
    uint64_t t0 = now_ns();
    CURLcode rc = post(h, w, body, len, hdrs);
    uint64_t t1 = now_ns();
    if (rc != CURLE_OK)
      note_error(r, "tools/call", curl_easy_strerror(rc), 0);
    else if (w->status != 200)
      note_error(r, "tools/call", "unexpected status", w->status);
    else if (strstr(w->reply, "\"result\"") == NULL)
      note_error(r, "tools/call", "reply without a result", w->status);
    else
      tc_hist_record(w->hist, (t1 - t0 + 500u) / 1000u);
  }
  curl_slist_free_all(hdrs);
out:
  curl_easy_cleanup(h);
  free(body);
  free(w->reply);
  w->reply = NULL;
  return NULL;
}

static int parse_long(const char *flag, const char *text, long lo, long hi,
                      long *out) {
  char *end = NULL;
  long v = strtol(text, &end, 10);
  if (end == text || *end != '\0' || v < lo || v > hi) {
    fprintf(stderr,
            "dev load: %s must be a whole number in %ld..%ld (got \"%.32s\")\n",
            flag, lo, hi, text);
    return -1;
  }
  *out = v;
  return 0;
}

/* "scheme://host:port" of url for the report (never path or query). */
static void url_origin(const char *url, char *out, size_t cap) {
  const char *p = strstr(url, "://");
  p = p ? p + 3 : url;
  const char *at = p;
  size_t n = strcspn(p, "/?#");
  const char *user = memchr(p, '@', n);
  if (user != NULL)
    at = user + 1;
  snprintf(out, cap, "%.*s%.*s", (int)(p - url), url,
           (int)(n - (size_t)(at - p)), at);
}

static void report(const struct load_run *r, const struct tc_hist *h,
                   double secs, bool json) {
  char origin[256];
  url_origin(r->url, origin, sizeof(origin));
  long errors = atomic_load(&r->errors);
  double rps = secs > 0 ? (double)h->count / secs : 0;
  uint64_t p50 = tc_hist_percentile(h, 50), p95 = tc_hist_percentile(h, 95),
           p99 = tc_hist_percentile(h, 99), mx = h->count ? h->max : 0;
  if (json) {
    printf("{\"target\":\"%s\",\"concurrency\":%ld,\"payload_bytes\":%ld,"
           "\"requests\":%" PRIu64 ",\"errors\":%ld,\"seconds\":%.3f,"
           "\"requests_per_second\":%.1f,\"latency_us\":{\"p50\":%" PRIu64
           ",\"p95\":%" PRIu64 ",\"p99\":%" PRIu64 ",\"max\":%" PRIu64
           ",\"mean\":%.1f}}\n",
           origin, r->concurrency, r->payload, h->count, errors, secs, rps, p50,
           p95, p99, mx, tc_hist_mean(h));
    return;
  }
  printf("dev load: %s, concurrency %ld, payload %ld B\n", origin,
         r->concurrency, r->payload);
  printf("  calls     %" PRIu64 " ok, %ld errors in %.2f s\n", h->count, errors,
         secs);
  printf("  req/s     %.1f\n", rps);
  printf("  latency   p50 %.3f ms  p95 %.3f ms  p99 %.3f ms  max %.3f ms\n",
         (double)p50 / 1000.0, (double)p95 / 1000.0, (double)p99 / 1000.0,
         (double)mx / 1000.0);
  if (errors > 0)
    printf("  first error: %s\n", r->first_error);
}

int tc_cmd_dev_load(int argc, char **argv) {
  char *url = NULL, *conc = "1", *reqs = NULL, *dur = NULL, *payload = "1024";
  bool json = false;
  const struct tc_dev_flag known[] = {
      {"--url", &url, NULL, true, NULL},
      {"--concurrency", &conc, NULL, false, NULL},
      {"--requests", &reqs, NULL, false, NULL},
      {"--duration", &dur, NULL, false, NULL},
      {"--payload-bytes", &payload, NULL, false, NULL},
      {"--json", NULL, &json, false, NULL},
  };
  int prc = tc_dev_parse_flags("load", tc_dev_load_usage,
                               "run 'tunnel-client dev help load'", known,
                               sizeof(known) / sizeof(known[0]), argc, argv);
  if (prc != 0)
    return prc == 2 ? 0 : 1;
  struct load_run r;
  memset(&r, 0, sizeof(r));
  if (url == NULL ||
      (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)) {
    fputs("dev load: --url http(s)://HOST:PORT/PATH is required (the MCP "
          "endpoint)\n",
          stderr);
    return 1;
  }
  if (reqs != NULL && dur != NULL) {
    fputs("dev load: give --requests or --duration, not both\n", stderr);
    return 1;
  }
  r.url = url;
  r.requests = LOAD_DEFAULT_REQUESTS;
  if (parse_long("--concurrency", conc, 1, LOAD_MAX_CONCURRENCY,
                 &r.concurrency) != 0 ||
      parse_long("--payload-bytes", payload, 0, LOAD_MAX_PAYLOAD, &r.payload) !=
          0 ||
      (reqs != NULL &&
       parse_long("--requests", reqs, 1, 1000000000L, &r.requests) != 0))
    return 1;
  if (dur != NULL) {
    const char *why = NULL;
    if (tc_parse_duration_ms(dur, &r.duration_ms, &why) != 0 ||
        r.duration_ms <= 0) {
      fprintf(stderr,
              "dev load: --duration \"%.32s\" is not a positive "
              "duration (%s)\n",
              dur, why ? why : "e.g. 10s");
      return 1;
    }
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  pthread_mutex_init(&r.mu, NULL);
  atomic_init(&r.issued, 0);
  atomic_init(&r.errors, 0);
  struct load_worker *ws = calloc((size_t)r.concurrency, sizeof(*ws));
  struct tc_hist *total = malloc(sizeof(*total));
  int rc = 1;
  if (ws == NULL || total == NULL) {
    fputs("dev load: out of memory\n", stderr);
    goto done;
  }
  tc_hist_init(total);
  uint64_t t0 = now_ns();
  r.end_ns = t0 + (uint64_t)r.duration_ms * 1000000u;
  long started = 0;
  for (long i = 0; i < r.concurrency; i++) {
    ws[i].run = &r;
    ws[i].hist = malloc(sizeof(struct tc_hist));
    if (ws[i].hist == NULL)
      break;
    tc_hist_init(ws[i].hist);
    if (pthread_create(&ws[i].thread, NULL, worker_main, &ws[i]) != 0) {
      free(ws[i].hist);
      ws[i].hist = NULL;
      break;
    }
    started++;
  }
  int init_failed = started < r.concurrency;
  for (long i = 0; i < started; i++) {
    pthread_join(ws[i].thread, NULL);
    tc_hist_merge(total, ws[i].hist);
    init_failed |= ws[i].init_failed;
    free(ws[i].hist);
  }
  double secs = (double)(now_ns() - t0) / 1e9;
  if (init_failed && total->count == 0) {
    fprintf(stderr, "dev load: %s\n",
            r.first_error[0] ? r.first_error : "could not start the workers");
    goto done;
  }
  report(&r, total, secs, json);
  rc = atomic_load(&r.errors) == 0 ? 0 : 1;
done:
  free(ws);
  free(total);
  pthread_mutex_destroy(&r.mu);
  return rc;
}
