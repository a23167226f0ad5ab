/* cp_test_service.h — an in-test tunnel service (libmicrohttpd on
 * 127.0.0.1:0) shared by the control-plane client and poller tests: it
 * records each request and answers from a queue of scripted steps.
 * Define MAX_RECORDS and MAX_STEPS before including; include after the
 * libc, cmocka, microhttpd, pthread and util/ headers the tests use.
 * Test-only: static functions, one copy per test executable. */
#ifndef TC_TESTS_CP_TEST_SERVICE_H
#define TC_TESTS_CP_TEST_SERVICE_H
/* ---- the fake tunnel service ----------------------------------------------
 */

struct step {
  int status;
  const char *body;
  const char *retry_after;
  int hang_ms; /* hold the reply this long (or until teardown) */
};

struct record {
  char method[8];
  char uri[512];
  struct tc_headers headers;
  char *body;
  uint64_t at_ns;
};

static struct {
  pthread_mutex_t lock;
  struct MHD_Daemon *mhd;
  char *base_url;
  struct step steps[MAX_STEPS];
  size_t nsteps, next_step;
  struct record rec[MAX_RECORDS];
  size_t nrec;
  atomic_int closing;
  /* When set, the next request is answered 503 with an error body this
   * long, produced as the client reads it; huge_sent counts what left. */
  size_t huge_bytes;
  atomic_size_t huge_sent;
} g;

/* The huge error body: an error envelope whose message never ends. */
static ssize_t huge_reader(void *cls, uint64_t pos, char *buf, size_t max) {
  static const char head[] =
      "{\"error\":{\"code\":\"overloaded\",\"message\":\"";
  size_t total = (size_t)(uintptr_t)cls;
  if (pos >= total)
    return MHD_CONTENT_READER_END_OF_STREAM;
  size_t n = total - (size_t)pos < max ? total - (size_t)pos : max;
  for (size_t i = 0; i < n; i++) {
    uint64_t at = pos + i;
    buf[i] = at < sizeof(head) - 1 ? head[at] : 'x';
  }
  atomic_fetch_add(&g.huge_sent, n);
  return (ssize_t)n;
}

struct req {
  char uri[512];
  struct tc_sbuf body;
  int started;
};

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c) {
  (void)cls;
  (void)c;
  struct req *r = calloc(1, sizeof(*r));
  if (r != NULL)
    snprintf(r->uri, sizeof(r->uri), "%s", uri);
  return r;
}

static void on_done(void *cls, struct MHD_Connection *c, void **req_cls,
                    enum MHD_RequestTerminationCode toe) {
  (void)cls;
  (void)c;
  (void)toe;
  struct req *r = *req_cls;
  if (r != NULL) {
    tc_sbuf_free(&r->body);
    free(r);
  }
  *req_cls = NULL;
}

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind,
                                      const char *key, const char *value) {
  (void)kind;
  tc_headers_add(cls, key, value);
  return MHD_YES;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn,
                               const char *url, const char *method,
                               const char *version, const char *upload,
                               size_t *upload_size, void **req_cls) {
  (void)cls;
  (void)url;
  (void)version;
  struct req *r = *req_cls;
  if (r == NULL)
    return MHD_NO;
  if (!r->started) {
    r->started = 1;
    return MHD_YES;
  }
  if (*upload_size > 0) {
    tc_sbuf_append(&r->body, upload, *upload_size);
    *upload_size = 0;
    return MHD_YES;
  }
  struct step s = {0, NULL, NULL, 0};
  pthread_mutex_lock(&g.lock);
  if (g.nrec < MAX_RECORDS) {
    struct record *rec = &g.rec[g.nrec++];
    snprintf(rec->method, sizeof(rec->method), "%s", method);
    snprintf(rec->uri, sizeof(rec->uri), "%s", r->uri);
    MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header,
                              &rec->headers);
    rec->body = tc_sbuf_finish(&r->body);
    rec->at_ns = tc_cp_now_ns();
  }
  size_t huge = g.huge_bytes;
  g.huge_bytes = 0;
  if (huge == 0 && g.next_step < g.nsteps)
    s = g.steps[g.next_step++];
  pthread_mutex_unlock(&g.lock);
  if (huge > 0) {
    struct MHD_Response *hr = MHD_create_response_from_callback(
        huge, 64 * 1024, huge_reader, (void *)(uintptr_t)huge, NULL);
    MHD_add_response_header(hr, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(conn, 503, hr);
    MHD_destroy_response(hr);
    return ret;
  }
  if (s.status == 0) { /* defaults: poll 204, POST 200 ok, metadata 200 */
    if (strstr(r->uri, "/poll") != NULL)
      s.status = 204;
    else if (strcmp(method, "POST") == 0)
      s = (struct step){200, "{\"status\":\"ok\"}", NULL, 0};
    else
      s = (struct step){200, "{\"id\":\"" TUNNEL "\",\"name\":\"t\"}", NULL, 0};
  }
  for (int waited = 0; waited < s.hang_ms && !atomic_load(&g.closing);
       waited += 10)
    usleep(10000);
  const char *body = s.body != NULL ? s.body : "";
  struct MHD_Response *resp = MHD_create_response_from_buffer(
      strlen(body), (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
  MHD_add_response_header(resp, "Content-Type", "application/json");
  MHD_add_response_header(resp, "X-Request-Id", "svc-req-1");
  if (s.retry_after != NULL)
    MHD_add_response_header(resp, "Retry-After", s.retry_after);
  enum MHD_Result ret = MHD_queue_response(conn, (unsigned)s.status, resp);
  MHD_destroy_response(resp);
  return ret;
}

static void script(const struct step *steps, size_t n) {
  pthread_mutex_lock(&g.lock);
  if (n > 0)
    memcpy(g.steps, steps, n * sizeof(*steps));
  g.nsteps = n;
  g.next_step = 0;
  pthread_mutex_unlock(&g.lock);
}

static size_t nrecords(void) {
  pthread_mutex_lock(&g.lock);
  size_t n = g.nrec;
  pthread_mutex_unlock(&g.lock);
  return n;
}

static void clear_records(void) {
  pthread_mutex_lock(&g.lock);
  for (size_t i = 0; i < g.nrec; i++) {
    tc_headers_clear(&g.rec[i].headers);
    free(g.rec[i].body);
  }
  memset(g.rec, 0, sizeof(g.rec));
  g.nrec = 0;
  g.nsteps = g.next_step = 0;
  pthread_mutex_unlock(&g.lock);
}

#endif /* TC_TESTS_CP_TEST_SERVICE_H */
