/* controlplane/client.c — see client.h.
 *
 * Every transfer runs on a private multi handle wrapping one easy handle so
 * that tc_cp_client_interrupt() can wake it at once (curl_multi_wakeup) and
 * retry sleeps can be cut short the same way. Handles come from a pool
 * (POSTs) or are the client's own (poll); each keeps its connections alive
 * between requests. DNS and TLS sessions are shared through a curl share. */
#include "controlplane/client.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "controlplane/backoff.h"
#include "controlplane/retry_after.h"
#include "controlplane/server_info.h"
#include "loader/loader.h"
#include "ops/core_metrics.h"
#include "ops/cp_status.h"
#include "tc/host.h"
#include "util/log.h"
#include "util/published.h"
#include "util/redact.h"
#include "util/sbuf.h"

#define CP_LOG "controlplane"
#define CP_DEFAULT_BASE "https://api.openai.com"
#define CP_DEFAULT_MTLS_BASE "https://mtls.api.openai.com"
#define CP_TIMEOUT_CAP_MS 600000
#define CP_POLL_LIMIT_MAX 25
#define CP_ERROR_BODY_MAX (64u * 1024u)
#define CP_POLL_BODY_MAX (64u * 1024u * 1024u)
#define CP_WAKE_SLICE_MS 1000
/* Terminal response POSTs: the retry budget when neither the command nor
 * the config gives one, and the longest wait between two attempts (short,
 * since a caller is waiting for the result). */
#define CP_RESPONSE_RETRY_BUDGET_MS 60000
#define CP_RESPONSE_BACKOFF_MAX_MS 2000
/* How long a poll that is being left (stop or interrupt) keeps reading
 * after it half-closed its connection: what the service already sent is
 * read and handed over instead of being dropped. */
#define CP_POLL_LEAVE_MS 500

/* One easy handle on its own multi handle. */
struct cp_conn {
  CURL *easy;
  CURLM *multi;
  curl_socket_t fd; /* the socket curl opened last, CURL_SOCKET_BAD once it
                       closed (sockopt/closesocket callbacks) */
  bool fresh;       /* the last connection was half-closed: do not reuse */
  struct cp_conn *next_idle;
  struct cp_conn *next_all;
};

/* What a reload may change: every request takes a reference on the
 * current settings when it starts and keeps them to its end. */
struct tc_cp_settings {
  atomic_int refs;
  struct curl_slist *common; /* §1.2 headers; SECRET (Bearer) */
  long timeout_ms;           /* poll timeout + guardrail, capped */
  int64_t poll_timeout_ms;
  char *poll_channels;              /* "channel=a&channel=b&" (sorted) or "" */
  int64_t response_retry_budget_ms; /* terminal POSTs without a deadline */
  /* TLS without the "proxy" net hook: ca_bundle and the client pair. */
  char *ca_bundle, *client_cert, *client_key;
};

struct tc_cp_client {
  const struct tc_registry *reg;
  char *base;                   /* origin + url-path */
  char *tunnel_url;             /* base + /v1/tunnels/<id> */
  char origin[256];             /* for logs */
  struct tc_published settings; /* struct tc_cp_settings *, a reference */
  CURLSH *share;
  pthread_mutex_t share_lock[CURL_LOCK_DATA_LAST];
  pthread_mutex_t lock; /* guards all/idle */
  struct cp_conn *all;
  struct cp_conn *idle;
  struct cp_conn *poll_conn;
  pthread_mutex_t poll_lock;  /* one poll at a time */
  atomic_uint_fast64_t epoch; /* bumped by interrupt */
};

/* What one transfer produced. */
struct cp_xfer {
  struct tc_sbuf body;
  size_t body_max; /* stored bytes of a 2xx body; the rest is skipped */
  bool too_large;
  uint64_t receipt_ns;
  char *retry_after;
  char *request_id;
  CURL *easy;     /* set by prepare(): on_body reads the status */
  bool cut_short; /* an error body reached CP_ERROR_BODY_MAX: not read on */
};

/* ---- process-wide ----------------------------------------------------------
 */

static pthread_once_t g_curl_once = PTHREAD_ONCE_INIT;
static CURLcode g_curl_rc = CURLE_OK;
static pthread_once_t g_id_once = PTHREAD_ONCE_INIT;
static char g_instance_id[33];

static void curl_init_once(void) {
  g_curl_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void instance_id_once(void) {
  unsigned char r[16];
  size_t got = 0;
  while (got < sizeof(r)) {
    ssize_t n = getrandom(r + got, sizeof(r) - got, 0);
    if (n <= 0)
      break;
    got += (size_t)n;
  }
  if (got < sizeof(r)) {
    /* No CSPRNG: fall back to clock and pid mixing (still unique enough to
     * tell processes apart, which is all the header is for). */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t s = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^
                 ((uint64_t)getpid() << 40);
    for (size_t i = 0; i < sizeof(r); i++) {
      s = s * 6364136223846793005ULL + 1442695040888963407ULL;
      r[i] = (unsigned char)(s >> 56);
    }
  }
  for (size_t i = 0; i < sizeof(r); i++)
    snprintf(g_instance_id + 2 * i, 3, "%02x", r[i]);
}

const char *tc_cp_instance_id(void) {
  pthread_once(&g_id_once, instance_id_once);
  return g_instance_id;
}

uint64_t tc_cp_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- small helpers ------------------------------------------------------- */

static char *cp_strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d != NULL)
    memcpy(d, s, n);
  return d;
}

static char *cp_fmt(const char *fmt, ...) TC_PRINTF(1, 2);
static char *cp_fmt(const char *fmt, ...) {
  struct tc_sbuf b = TC_SBUF_INIT;
  va_list ap;
  va_start(ap, fmt);
  tc_sbuf_vprintf(&b, fmt, ap);
  va_end(ap);
  return tc_sbuf_finish(&b);
}

static void set_err(char **err, char *msg) {
  if (err != NULL)
    *err = msg;
  else
    free(msg);
}

static bool has_ctl(const char *s) {
  for (; *s != '\0'; s++)
    if (*s == '\r' || *s == '\n')
      return true;
  return false;
}

static void trim_span(const char **s, size_t *n) {
  while (*n > 0 && (**s == ' ' || **s == '\t')) {
    (*s)++;
    (*n)--;
  }
  while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' ||
                    (*s)[*n - 1] == '\r' || (*s)[*n - 1] == '\n'))
    (*n)--;
}

static char *dup_span(const char *s, size_t n) {
  char *d = malloc(n + 1);
  if (d != NULL) {
    memcpy(d, s, n);
    d[n] = '\0';
  }
  return d;
}

/* ---- curl share locking -------------------------------------------------- */

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access,
                       void *ud) {
  (void)h;
  (void)access;
  struct tc_cp_client *c = ud;
  if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
    pthread_mutex_lock(&c->share_lock[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *ud) {
  (void)h;
  struct tc_cp_client *c = ud;
  if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
    pthread_mutex_unlock(&c->share_lock[data]);
}

/* ---- handle pool --------------------------------------------------------- */

static struct cp_conn *conn_new(struct tc_cp_client *c) {
  struct cp_conn *k = calloc(1, sizeof(*k));
  if (k == NULL)
    return NULL;
  k->fd = CURL_SOCKET_BAD;
  k->easy = curl_easy_init();
  k->multi = curl_multi_init();
  if (k->easy == NULL || k->multi == NULL) {
    if (k->easy != NULL)
      curl_easy_cleanup(k->easy);
    if (k->multi != NULL)
      curl_multi_cleanup(k->multi);
    free(k);
    return NULL;
  }
  pthread_mutex_lock(&c->lock);
  k->next_all = c->all;
  c->all = k;
  pthread_mutex_unlock(&c->lock);
  return k;
}

static struct cp_conn *conn_acquire(struct tc_cp_client *c) {
  pthread_mutex_lock(&c->lock);
  struct cp_conn *k = c->idle;
  if (k != NULL)
    c->idle = k->next_idle;
  pthread_mutex_unlock(&c->lock);
  return k != NULL ? k : conn_new(c);
}

static void conn_release(struct tc_cp_client *c, struct cp_conn *k) {
  pthread_mutex_lock(&c->lock);
  k->next_idle = c->idle;
  c->idle = k;
  pthread_mutex_unlock(&c->lock);
}

/* ---- client lifecycle ---------------------------------------------------- */

static int add_header(struct curl_slist **l, const char *name,
                      const char *value) {
  /* curl sends "Name;" as a header with an empty value. */
  char *line =
      value[0] == '\0' ? cp_fmt("%s;", name) : cp_fmt("%s: %s", name, value);
  if (line == NULL)
    return -1;
  struct curl_slist *n = curl_slist_append(*l, line);
  free(line);
  if (n == NULL)
    return -1;
  *l = n;
  return 0;
}

/* origin + trimmed url-path ("" or "/a/b"). */
static char *build_base(const struct tc_config *cfg, char *origin,
                        size_t origin_len, char **err) {
  const char *base = cfg->cp_base_url;
  if (base == NULL || base[0] == '\0')
    base = (cfg->cp_client_cert != NULL && cfg->cp_client_cert[0] != '\0')
               ? CP_DEFAULT_MTLS_BASE
               : CP_DEFAULT_BASE;
  tc_url_origin(base, origin, origin_len);
  if (strcmp(origin, "<invalid url>") == 0 ||
      (strncmp(origin, "http://", 7) != 0 &&
       strncmp(origin, "https://", 8) != 0)) {
    set_err(err, cp_strdup("control-plane.base-url is not an http(s) URL "
                           "(set --control-plane.base-url to e.g. "
                           "https://api.openai.com)"));
    return NULL;
  }
  const char *p = cfg->cp_url_path != NULL ? cfg->cp_url_path : "";
  size_t n = strlen(p);
  trim_span(&p, &n);
  while (n > 0 && p[0] == '/') {
    p++;
    n--;
  }
  while (n > 0 && p[n - 1] == '/')
    n--;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)p[i];
    if (ch <= 0x20 || ch >= 0x7f || ch == '?' || ch == '#') {
      set_err(err, cp_strdup("control-plane.url-path holds a character that "
                             "cannot appear in a URL path (use a plain path "
                             "such as /gw/dev/us)"));
      return NULL;
    }
  }
  return n == 0 ? cp_strdup(origin) : cp_fmt("%s/%.*s", origin, (int)n, p);
}

static char *escape_segment(const char *s) {
  struct tc_sbuf b = TC_SBUF_INIT;
  for (; *s != '\0'; s++) {
    unsigned char ch = (unsigned char)*s;
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
        (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.' ||
        ch == '~')
      tc_sbuf_putc(&b, (char)ch);
    else
      tc_sbuf_printf(&b, "%%%02X", ch);
  }
  return tc_sbuf_finish(&b);
}

static int build_common_headers(struct tc_cp_settings *st,
                                const struct tc_config *cfg, char **err) {
  char *info_err = NULL;
  char *info = tc_cp_server_info_from_config(cfg, false, &info_err);
  if (info == NULL) {
    set_err(err, info_err != NULL
                     ? info_err
                     : cp_strdup("cannot build X-Tunnel-MCP-Server-Info "
                                 "(out of memory)"));
    return -1;
  }
  char *bearer = cp_fmt("Bearer %s", cfg->cp_api_key);
  char *ua = cp_fmt("oai-tunnel-client/%s", tc_version_string());
  int rc = (bearer == NULL || ua == NULL) ? -1 : 0;
  if (rc == 0)
    rc = add_header(&st->common, "Authorization", bearer);
  if (rc == 0)
    rc = add_header(&st->common, "Accept", "application/json");
  if (rc == 0)
    rc = add_header(&st->common, "User-Agent", ua);
  if (rc == 0)
    rc = add_header(&st->common, "X-Tunnel-Client-Name", "oai-tunnel-client");
  if (rc == 0)
    rc =
        add_header(&st->common, "X-Tunnel-Client-Version", tc_version_string());
  if (rc == 0)
    rc = add_header(&st->common, "X-Tunnel-Client-Instance-Id",
                    tc_cp_instance_id());
  if (rc == 0 && info[0] != '\0')
    rc = add_header(&st->common, "X-Tunnel-MCP-Server-Info", info);
  if (rc == 0 && cfg->cp_organization_id != NULL &&
      cfg->cp_organization_id[0] != '\0') {
    if (has_ctl(cfg->cp_organization_id)) {
      set_err(err, cp_strdup("control-plane.organization-id contains a line "
                             "break (set it to the bare organization id)"));
      free(bearer);
      free(ua);
      free(info);
      return -1;
    }
    rc =
        add_header(&st->common, "OpenAI-Organization", cfg->cp_organization_id);
  }
  for (size_t i = 0; rc == 0 && i < cfg->cp_extra_headers.count; i++) {
    const struct tc_header *h = &cfg->cp_extra_headers.items[i];
    if (h->name[0] == '\0' || has_ctl(h->name) || strchr(h->name, ':') ||
        has_ctl(h->value)) {
      set_err(err, cp_fmt("control-plane.extra-headers entry %zu (%s) has an "
                          "empty name or a line break (use \"Name: Value\" "
                          "on one line)",
                          i + 1, has_ctl(h->name) ? "?" : h->name));
      free(bearer);
      free(ua);
      free(info);
      return -1;
    }
    rc = add_header(&st->common, h->name, h->value);
  }
  /* No "Expect: 100-continue" round trip on larger POST bodies. */
  if (rc == 0) {
    struct curl_slist *n = curl_slist_append(st->common, "Expect:");
    if (n == NULL)
      rc = -1;
    else
      st->common = n;
  }
  free(bearer);
  free(ua);
  free(info);
  if (rc != 0)
    set_err(err, cp_strdup("out of memory building control-plane headers"));
  return rc;
}

/* "channel=a&channel=b&" for cfg's poll channels, sorted (they are
 * canonical and unique); "" when unscoped. NULL on ENOMEM. */
static char *poll_channels_query(const struct tc_config *cfg) {
  size_t n = cfg->cp_poll_channel_count;
  const char **sorted = n > 0 ? malloc(n * sizeof(*sorted)) : NULL;
  if (n > 0 && sorted == NULL)
    return NULL;
  for (size_t i = 0; i < n; i++) {
    const char *v = cfg->cp_poll_channels[i];
    size_t j = i;
    while (j > 0 && strcmp(sorted[j - 1], v) > 0) {
      sorted[j] = sorted[j - 1];
      j--;
    }
    sorted[j] = v;
  }
  struct tc_sbuf b = TC_SBUF_INIT;
  tc_sbuf_puts(&b, "");
  for (size_t i = 0; i < n; i++) {
    char *esc = escape_segment(sorted[i]);
    if (esc == NULL)
      b.failed = 1;
    else
      tc_sbuf_printf(&b, "channel=%s&", esc);
    free(esc);
  }
  free(sorted);
  return tc_sbuf_finish(&b);
}

static char *dup_or_null(const char *s) {
  return s != NULL && s[0] != '\0' ? cp_strdup(s) : NULL;
}

void tc_cp_settings_free(struct tc_cp_settings *st) {
  if (st == NULL)
    return;
  curl_slist_free_all(st->common);
  free(st->poll_channels);
  free(st->ca_bundle);
  free(st->client_cert);
  free(st->client_key);
  free(st);
}

static void settings_unref(struct tc_cp_settings *st) {
  if (st != NULL && atomic_fetch_sub(&st->refs, 1) == 1)
    tc_cp_settings_free(st);
}

/* The current settings, with a reference the caller drops with
 * settings_unref(). No lock: see util/published.h. */
static struct tc_cp_settings *settings_get(struct tc_cp_client *c) {
  unsigned slot;
  struct tc_cp_settings *st = tc_published_enter(&c->settings, &slot);
  atomic_fetch_add(&st->refs, 1);
  tc_published_exit(&c->settings, slot);
  return st;
}

int tc_cp_settings_new(const struct tc_config *cfg, struct tc_cp_settings **out,
                       char **err) {
  if (err != NULL)
    *err = NULL;
  *out = NULL;
  const char *why = NULL;
  if (cfg->cp_api_key == NULL ||
      tc_validate_api_key(cfg->cp_api_key, &why) != 0) {
    set_err(err, cp_fmt("control-plane.api-key is missing or invalid: %s "
                        "(set --control-plane.api-key or "
                        "CONTROL_PLANE_API_KEY)",
                        cfg->cp_api_key == NULL ? "not set" : why));
    return -1;
  }
  struct tc_cp_settings *st = calloc(1, sizeof(*st));
  if (st == NULL) {
    set_err(err, cp_strdup("out of memory building control-plane settings"));
    return -1;
  }
  atomic_init(&st->refs, 1);
  int64_t t = cfg->cp_poll_timeout_ms > 0 ? cfg->cp_poll_timeout_ms : 30000;
  int64_t g = cfg->cp_poll_deadline_guardrail_ms > 0
                  ? cfg->cp_poll_deadline_guardrail_ms
                  : 5000;
  st->poll_timeout_ms = t;
  st->timeout_ms =
      (long)(t + g > CP_TIMEOUT_CAP_MS ? CP_TIMEOUT_CAP_MS : t + g);
  st->poll_channels = poll_channels_query(cfg);
  st->response_retry_budget_ms = cfg->cp_response_retry_budget_ms > 0
                                     ? cfg->cp_response_retry_budget_ms
                                     : CP_RESPONSE_RETRY_BUDGET_MS;
  st->ca_bundle = dup_or_null(cfg->ca_bundle);
  st->client_cert = dup_or_null(cfg->cp_client_cert);
  st->client_key = dup_or_null(cfg->cp_client_key);
  if (st->poll_channels == NULL ||
      (cfg->ca_bundle != NULL && cfg->ca_bundle[0] && st->ca_bundle == NULL) ||
      (cfg->cp_client_cert != NULL && cfg->cp_client_cert[0] &&
       st->client_cert == NULL) ||
      (cfg->cp_client_key != NULL && cfg->cp_client_key[0] &&
       st->client_key == NULL)) {
    tc_cp_settings_free(st);
    set_err(err, cp_strdup("out of memory building control-plane settings"));
    return -1;
  }
  if (build_common_headers(st, cfg, err) != 0) {
    tc_cp_settings_free(st);
    return -1;
  }
  *out = st;
  return 0;
}

void tc_cp_client_apply(struct tc_cp_client *c, struct tc_cp_settings *st) {
  /* Requests already running keep the settings they started with. */
  settings_unref(tc_published_swap(&c->settings, st));
}

int tc_cp_client_new(struct tc_cp_client **out, const struct tc_config *cfg,
                     const struct tc_registry *reg, char **err) {
  if (err != NULL)
    *err = NULL;
  *out = NULL;
  const char *why = NULL;
  if (cfg == NULL || cfg->cp_tunnel_id == NULL ||
      tc_validate_tunnel_id(cfg->cp_tunnel_id, &why) != 0) {
    set_err(err, cp_fmt("control-plane.tunnel-id is missing or invalid: %s "
                        "(set --control-plane.tunnel-id to tunnel_ followed "
                        "by 32 lowercase letters/digits)",
                        why != NULL ? why : "not set"));
    return -1;
  }
  struct tc_cp_settings *st = NULL;
  if (tc_cp_settings_new(cfg, &st, err) != 0)
    return -1;
  pthread_once(&g_curl_once, curl_init_once);
  if (g_curl_rc != CURLE_OK) {
    tc_cp_settings_free(st);
    set_err(err, cp_fmt("libcurl initialisation failed: %s",
                        curl_easy_strerror(g_curl_rc)));
    return -1;
  }
  struct tc_cp_client *c = calloc(1, sizeof(*c));
  if (c == NULL) {
    tc_cp_settings_free(st);
    set_err(err, cp_strdup("out of memory creating the control-plane client"));
    return -1;
  }
  c->reg = reg;
  tc_published_init(&c->settings, st);
  pthread_mutex_init(&c->lock, NULL);
  pthread_mutex_init(&c->poll_lock, NULL);
  for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
    pthread_mutex_init(&c->share_lock[i], NULL);
  atomic_init(&c->epoch, 0);

  c->base = build_base(cfg, c->origin, sizeof(c->origin), err);
  if (c->base == NULL)
    goto fail;
  char *id = escape_segment(cfg->cp_tunnel_id);
  if (id != NULL)
    c->tunnel_url = cp_fmt("%s/v1/tunnels/%s", c->base, id);
  free(id);
  if (c->tunnel_url == NULL) {
    set_err(err, cp_strdup("out of memory creating the control-plane client"));
    goto fail;
  }
  c->share = curl_share_init();
  if (c->share != NULL) {
    curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  }
  c->poll_conn = conn_new(c);
  if (c->poll_conn == NULL) {
    set_err(err, cp_strdup("cannot create a libcurl handle for the control "
                           "plane (out of memory)"));
    goto fail;
  }
  *out = c;
  return 0;
fail:
  tc_cp_client_free(c);
  return -1;
}

void tc_cp_client_free(struct tc_cp_client *c) {
  if (c == NULL)
    return;
  struct cp_conn *k = c->all;
  while (k != NULL) {
    struct cp_conn *next = k->next_all;
    curl_multi_cleanup(k->multi);
    curl_easy_cleanup(k->easy);
    free(k);
    k = next;
  }
  if (c->share != NULL)
    curl_share_cleanup(c->share);
  settings_unref(tc_published_swap(&c->settings, NULL));
  free(c->base);
  free(c->tunnel_url);
  pthread_mutex_destroy(&c->lock);
  pthread_mutex_destroy(&c->poll_lock);
  for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
    pthread_mutex_destroy(&c->share_lock[i]);
  free(c);
}

const char *tc_cp_client_base(const struct tc_cp_client *c) {
  return c->base;
}

long tc_cp_client_timeout_ms(struct tc_cp_client *c) {
  struct tc_cp_settings *st = settings_get(c);
  long t = st->timeout_ms;
  settings_unref(st);
  return t;
}

void tc_cp_client_interrupt(struct tc_cp_client *c) {
  if (c == NULL)
    return;
  atomic_fetch_add(&c->epoch, 1);
  pthread_mutex_lock(&c->lock);
  for (struct cp_conn *k = c->all; k != NULL; k = k->next_all)
    curl_multi_wakeup(k->multi);
  pthread_mutex_unlock(&c->lock);
}

void tc_cp_client_wake_poll(struct tc_cp_client *c) {
  if (c != NULL && c->poll_conn != NULL)
    curl_multi_wakeup(c->poll_conn->multi);
}

/* ---- one transfer -------------------------------------------------------- */

static size_t on_header(char *p, size_t size, size_t n, void *ud) {
  struct cp_xfer *x = ud;
  size_t total = size * n;
  const char *s = p;
  size_t len = total;
  if (len >= 5 && strncmp(s, "HTTP/", 5) == 0) {
    /* A new status line (after a 1xx): forget the previous headers. */
    free(x->retry_after);
    free(x->request_id);
    x->retry_after = x->request_id = NULL;
    return total;
  }
  trim_span(&s, &len);
  if (len == 0) {
    x->receipt_ns = tc_cp_now_ns();
    return total;
  }
  const char *colon = memchr(s, ':', len);
  if (colon == NULL)
    return total;
  size_t nlen = (size_t)(colon - s);
  const char *v = colon + 1;
  size_t vlen = len - nlen - 1;
  trim_span(&v, &vlen);
  char **slot = NULL;
  if (nlen == 11 && strncasecmp(s, "Retry-After", 11) == 0)
    slot = &x->retry_after;
  else if (nlen == 12 && strncasecmp(s, "X-Request-Id", 12) == 0)
    slot = &x->request_id;
  if (slot != NULL) {
    free(*slot);
    *slot = dup_span(v, vlen);
  }
  return total;
}

/* 2xx bodies are stored up to body_max and read to their end (the
 * connection stays reusable). Any other status's body is only ever
 * decoded up to CP_ERROR_BODY_MAX, so it is not read beyond that: the
 * transfer stops there (and the connection is closed). */
static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  struct cp_xfer *x = ud;
  size_t total = size * n;
  if (x->receipt_ns == 0)
    x->receipt_ns = tc_cp_now_ns();
  long status = 0;
  if (x->easy != NULL)
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status > 299) {
    size_t room =
        x->body.len < CP_ERROR_BODY_MAX ? CP_ERROR_BODY_MAX - x->body.len : 0;
    tc_sbuf_append(&x->body, p, total < room ? total : room);
    if (total < room)
      return total;
    x->cut_short = true;
    return total == room ? total : 0; /* 0 ends the transfer */
  }
  if (x->too_large || x->body.len + total > x->body_max) {
    x->too_large = true; /* keep reading, stop storing */
    return total;
  }
  tc_sbuf_append(&x->body, p, total);
  return total;
}

static void xfer_clear(struct cp_xfer *x) {
  tc_sbuf_free(&x->body);
  free(x->retry_after);
  free(x->request_id);
  memset(x, 0, sizeof(*x));
}

static bool aborted(struct tc_cp_client *c, uint_fast64_t epoch,
                    const atomic_int *cancel) {
  return atomic_load(&c->epoch) != epoch ||
         (cancel != NULL && atomic_load(cancel) != 0);
}

/* Which socket a connection uses (libcurl gives no way to ask during a
 * transfer): remembered when curl opens it, forgotten when it closes. */
static int on_sockopt(void *ud, curl_socket_t fd, curlsocktype purpose) {
  if (purpose == CURLSOCKTYPE_IPCXN)
    ((struct cp_conn *)ud)->fd = fd;
  return CURL_SOCKOPT_OK;
}

static int on_closesocket(void *ud, curl_socket_t fd) {
  struct cp_conn *k = ud;
  if (k->fd == fd)
    k->fd = CURL_SOCKET_BAD;
  return close(fd);
}

/* Set the options of one request. Returns 0 or -1 with *err. */
static int prepare(struct tc_cp_client *c, const struct tc_cp_settings *st,
                   struct cp_conn *k, const char *url,
                   struct curl_slist *headers, struct cp_xfer *x,
                   long timeout_ms, char **err) {
  CURL *e = k->easy;
  curl_easy_reset(e);
  x->easy = e;
  CURLcode rc = curl_easy_setopt(e, CURLOPT_URL, url);
  if (rc == CURLE_OK)
    rc = curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
  if (rc == CURLE_OK)
    rc = curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
  if (rc == CURLE_OK)
    rc = curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
  if (rc == CURLE_OK)
    rc = curl_easy_setopt(e, CURLOPT_PROTOCOLS,
                          (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  if (rc == CURLE_OK)
    rc = curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  if (rc == CURLE_OK)
    rc = curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
  if (rc == CURLE_OK)
    rc = curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
  if (rc == CURLE_OK)
    rc = curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  if (rc == CURLE_OK)
    rc = curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
  if (rc == CURLE_OK)
    rc = curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  if (rc == CURLE_OK)
    rc = curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
  if (rc == CURLE_OK && c->share != NULL)
    rc = curl_easy_setopt(e, CURLOPT_SHARE, c->share);
  if (rc == CURLE_OK)
    rc = curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION, on_sockopt);
  if (rc == CURLE_OK)
    rc = curl_easy_setopt(e, CURLOPT_SOCKOPTDATA, k);
  if (rc == CURLE_OK)
    rc = curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, on_closesocket);
  if (rc == CURLE_OK)
    rc = curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, k);
  if (rc == CURLE_OK && k->fresh) {
    rc = curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
    k->fresh = false;
  }
  /* The "proxy" net hook applies the CA bundle (added to the system roots)
   * and the client pair; without it, fall back to the bundle alone. */
  bool net_tls = c->reg != NULL && tc_registry_net(c->reg, "proxy") != NULL;
  if (rc == CURLE_OK && !net_tls && st->ca_bundle != NULL)
    rc = curl_easy_setopt(e, CURLOPT_CAINFO, st->ca_bundle);
  if (rc == CURLE_OK && !net_tls && st->client_cert != NULL) {
    rc = curl_easy_setopt(e, CURLOPT_SSLCERT, st->client_cert);
    if (rc == CURLE_OK && st->client_key != NULL)
      rc = curl_easy_setopt(e, CURLOPT_SSLKEY, st->client_key);
  }
  if (rc != CURLE_OK) {
    set_err(err, cp_fmt("cannot configure the control-plane request to %s: %s",
                        c->origin, curl_easy_strerror(rc)));
    return -1;
  }
  if (c->reg != NULL) {
    char *herr = NULL;
    if (tc_registry_net_prepare(c->reg, e, TC_NET_CONTROL_PLANE, url, NULL,
                                &herr) < 0) {
      set_err(err, cp_fmt("network hook refused the control-plane request to "
                          "%s: %s",
                          c->origin, herr != NULL ? herr : "no reason given"));
      free(herr);
      return -1;
    }
    free(herr);
  }
  return 0;
}

/* Half-close the transfer's connection (no more requests from us; the
 * service sees EOF and stops waiting) while its replies can still be read.
 * false when there is no connection yet. */
static bool half_close(struct cp_conn *k) {
  if (k->fd == CURL_SOCKET_BAD)
    return false;
  k->fresh = true;
  return shutdown(k->fd, SHUT_WR) == 0;
}

/* Run the prepared transfer; *was_aborted when interrupted/cancelled.
 *
 * A poll (keep_reply) is left without losing what the service already
 * handed to it: the service may have written a reply with commands, which
 * it then counts as delivered, just before the stop. So instead of closing
 * at once, the poll half-closes its connection and keeps reading for up to
 * CP_POLL_LEAVE_MS: a reply that completes is returned as a normal result
 * (its commands get processed); an EOF or the end of that time is an
 * abort. A service that notices the half-close (the request's client went
 * away) keeps its commands for other pollers. */
static CURLcode perform(struct tc_cp_client *c, struct cp_conn *k,
                        uint_fast64_t epoch, const atomic_int *cancel,
                        bool keep_reply, bool *was_aborted) {
  *was_aborted = false;
  if (curl_multi_add_handle(k->multi, k->easy) != CURLM_OK)
    return CURLE_FAILED_INIT;
  CURLcode result = CURLE_OK;
  uint64_t leave_by = 0; /* set once the poll is being left */
  bool done = false;
  for (;;) {
    if (leave_by == 0 && aborted(c, epoch, cancel)) {
      if (!keep_reply || !half_close(k)) {
        *was_aborted = true;
        break;
      }
      leave_by = tc_cp_now_ns() + (uint64_t)CP_POLL_LEAVE_MS * 1000000ull;
    }
    int running = 0;
    if (curl_multi_perform(k->multi, &running) != CURLM_OK) {
      result = CURLE_FAILED_INIT;
      break;
    }
    int queued = 0;
    CURLMsg *m;
    while ((m = curl_multi_info_read(k->multi, &queued)) != NULL) {
      if (m->msg == CURLMSG_DONE) {
        result = m->data.result;
        done = true;
      }
    }
    if (done || running == 0)
      break;
    int slice = CP_WAKE_SLICE_MS;
    if (leave_by != 0) {
      uint64_t now = tc_cp_now_ns();
      if (now >= leave_by) {
        *was_aborted = true;
        break;
      }
      uint64_t left = (leave_by - now + 999999ull) / 1000000ull;
      if (left < (uint64_t)slice)
        slice = (int)left;
    }
    if (curl_multi_poll(k->multi, NULL, 0, slice, NULL) != CURLM_OK) {
      result = CURLE_FAILED_INIT;
      break;
    }
  }
  curl_multi_remove_handle(k->multi, k->easy);
  /* Left: only a complete reply counts; anything else is the abort. */
  if (leave_by != 0 && (!done || result != CURLE_OK))
    *was_aborted = true;
  return *was_aborted ? CURLE_ABORTED_BY_CALLBACK : result;
}

/* perform()'s result, except that stopping an error body at
 * CP_ERROR_BODY_MAX is not a transport failure: the status and the part of
 * the body that is decoded have arrived. */
static CURLcode answered(const struct cp_xfer *x, CURLcode rc) {
  return rc == CURLE_WRITE_ERROR && x->cut_short ? CURLE_OK : rc;
}

/* Sleep `ms`, cut short by interrupt/cancel. Returns false if cut short. */
static bool nap(struct tc_cp_client *c, struct cp_conn *k, uint_fast64_t epoch,
                const atomic_int *cancel, int64_t ms) {
  uint64_t end = tc_cp_now_ns() + (uint64_t)(ms > 0 ? ms : 0) * 1000000ull;
  for (;;) {
    if (aborted(c, epoch, cancel))
      return false;
    uint64_t now = tc_cp_now_ns();
    if (now >= end)
      return true;
    uint64_t left = (end - now + 999999ull) / 1000000ull;
    int slice = left > CP_WAKE_SLICE_MS ? CP_WAKE_SLICE_MS : (int)left;
    curl_multi_poll(k->multi, NULL, 0, slice, NULL);
  }
}

static bool code_not_sent(CURLcode rc) {
  switch (rc) {
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
  case CURLE_COULDNT_CONNECT:
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CACERT_BADFILE:
  case CURLE_SSL_CIPHER:
  case CURLE_UNSUPPORTED_PROTOCOL:
  case CURLE_URL_MALFORMAT:
  case CURLE_FAILED_INIT:
    return true;
  default:
    return false;
  }
}

/* How a failed transfer classifies (curl code != OK). */
static enum tc_cp_transport_class classify(CURL *e, CURLcode rc) {
  if (code_not_sent(rc))
    return TC_CP_TRANSPORT_NOT_SENT;
  long req_size = 0;
  curl_easy_getinfo(e, CURLINFO_REQUEST_SIZE, &req_size);
  return req_size > 0 ? TC_CP_TRANSPORT_SENT : TC_CP_TRANSPORT_NOT_SENT;
}

/* "code: message" from an error envelope, or NULL. */
static char *api_error_text(const struct tc_cp_api_error *e) {
  if (e->code == NULL && e->message == NULL && e->type == NULL)
    return NULL;
  return cp_fmt("%s%s%s",
                e->code != NULL   ? e->code
                : e->type != NULL ? e->type
                                  : "",
                e->message != NULL && (e->code || e->type) ? ": " : "",
                e->message != NULL ? e->message : "");
}

/* ---- poll ---------------------------------------------------------------- */

void tc_cp_poll_result_clear(struct tc_cp_poll_result *r) {
  if (r == NULL)
    return;
  free(r->service_request_id);
  tc_cp_command_list_free(&r->commands);
  tc_cp_api_error_clear(&r->api_error);
  free(r->error);
  memset(r, 0, sizeof(*r));
}

static char *poll_url(struct tc_cp_client *c, const struct tc_cp_settings *st,
                      int limit) {
  return cp_fmt("%s/poll?%slimit=%d&timeout_ms=%" PRId64, c->tunnel_url,
                st->poll_channels, limit, st->poll_timeout_ms);
}

int tc_cp_poll_once(struct tc_cp_client *c, int limit,
                    struct tc_cp_poll_result *out) {
  return tc_cp_poll_once_cancel(c, limit, NULL, out);
}

int tc_cp_poll_once_cancel(struct tc_cp_client *c, int limit,
                           const atomic_int *cancel,
                           struct tc_cp_poll_result *out) {
  memset(out, 0, sizeof(*out));
  uint_fast64_t epoch = atomic_load(&c->epoch);
  if (limit < 1)
    limit = 1;
  if (limit > CP_POLL_LIMIT_MAX)
    limit = CP_POLL_LIMIT_MAX;
  if (cancel != NULL && atomic_load(cancel) != 0) {
    out->interrupted = true;
    out->error = cp_strdup("poll interrupted");
    return -1;
  }
  struct tc_cp_settings *st = settings_get(c);
  char *url = poll_url(c, st, limit);
  if (url == NULL) {
    settings_unref(st);
    out->tclass = TC_CP_TRANSPORT_NOT_SENT;
    out->error = cp_strdup("out of memory building the poll URL");
    return -1;
  }
  pthread_mutex_lock(&c->poll_lock);
  struct cp_conn *k = c->poll_conn;
  struct cp_xfer x = {.body = TC_SBUF_INIT, .body_max = CP_POLL_BODY_MAX};
  char *perr = NULL;
  int ret = -1;
  if (prepare(c, st, k, url, st->common, &x, st->timeout_ms, &perr) != 0) {
    out->tclass = TC_CP_TRANSPORT_NOT_SENT;
    out->error = perr;
    goto done;
  }
  bool was_aborted = false;
  CURLcode rc = answered(&x, perform(c, k, epoch, cancel, true, &was_aborted));
  out->receipt_ns = x.receipt_ns != 0 ? x.receipt_ns : tc_cp_now_ns();
  if (x.request_id != NULL) {
    out->service_request_id = x.request_id;
    x.request_id = NULL;
  }
  if (was_aborted) {
    out->interrupted = true;
    out->tclass = TC_CP_TRANSPORT_SENT;
    out->error = cp_strdup("poll interrupted");
    goto done;
  }
  if (rc != CURLE_OK) {
    out->tclass = classify(k->easy, rc);
    out->error =
        cp_fmt("poll to %s failed: %s", c->origin, curl_easy_strerror(rc));
    goto done;
  }
  long status = 0;
  curl_easy_getinfo(k->easy, CURLINFO_RESPONSE_CODE, &status);
  out->status = (int)status;
  if (x.retry_after != NULL) {
    int64_t ms = 0;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    if (tc_cp_parse_retry_after(
            x.retry_after, (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000,
            &ms)) {
      out->has_retry_after = true;
      out->retry_after_ms = ms;
    }
  }
  const char *body = x.body.data != NULL ? x.body.data : "";
  size_t blen = x.body.len;
  if (x.body.failed) {
    out->tclass = TC_CP_TRANSPORT_BAD_BODY;
    out->error = cp_fmt("poll reply from %s (HTTP %ld) could not be stored "
                        "(out of memory)",
                        c->origin, status);
  } else if (status == 204) {
    ret = 0;
  } else if (status == 200) {
    char *derr = NULL;
    if (x.too_large) {
      out->tclass = TC_CP_TRANSPORT_BAD_BODY;
      out->error = cp_fmt("poll reply from %s is larger than %u bytes",
                          c->origin, CP_POLL_BODY_MAX);
    } else if (tc_cp_decode_poll_body(body, blen, &out->commands, &derr) != 0) {
      out->tclass = TC_CP_TRANSPORT_BAD_BODY;
      out->error = cp_fmt("poll reply from %s is unusable: %s", c->origin,
                          derr != NULL ? derr : "invalid body");
    } else {
      ret = 0;
    }
    free(derr);
  } else {
    size_t n = blen > CP_ERROR_BODY_MAX ? CP_ERROR_BODY_MAX : blen;
    tc_cp_decode_api_error(body, n, &out->api_error);
    char *detail = api_error_text(&out->api_error);
    out->error =
        cp_fmt("poll to %s failed: HTTP %ld%s%s%s", c->origin, status,
               detail != NULL ? " (" : "", detail != NULL ? detail : "",
               detail != NULL ? ")" : "");
    free(detail);
  }
done:
  pthread_mutex_unlock(&c->poll_lock);
  xfer_clear(&x);
  free(url);
  settings_unref(st);
  if (!out->interrupted)
    tc_cp_status_record(TC_CP_STATUS_POLL, out->status, ret == 0, out->error,
                        out->api_error.code, out->commands.count);
  return ret;
}

/* ---- metadata ------------------------------------------------------------ */

void tc_cp_probe_result_clear(struct tc_cp_probe_result *r) {
  if (r == NULL)
    return;
  free(r->body);
  tc_cp_api_error_clear(&r->api_error);
  memset(r, 0, sizeof(*r));
}

/* GET /v1/tunnels/{id} once within timeout_ms (<= 0: the client's request
 * bound). Returns 0 when the transfer completed (any HTTP status), -1 when
 * it did not (out->curl_code, out->curl_error) or was interrupted
 * (out->interrupted). */
static int metadata_get(struct tc_cp_client *c, long timeout_ms,
                        struct tc_cp_probe_result *out) {
  memset(out, 0, sizeof(*out));
  uint_fast64_t epoch = atomic_load(&c->epoch);
  struct cp_conn *k = conn_acquire(c);
  if (k == NULL) {
    out->curl_code = CURLE_OUT_OF_MEMORY;
    snprintf(out->curl_error, sizeof(out->curl_error), "out of memory");
    return -1;
  }
  struct cp_xfer x = {.body = TC_SBUF_INIT, .body_max = CP_ERROR_BODY_MAX * 16};
  char errbuf[CURL_ERROR_SIZE] = "";
  char *perr = NULL;
  int ret = -1;
  struct tc_cp_settings *st = settings_get(c);
  if (prepare(c, st, k, c->tunnel_url, st->common, &x,
              timeout_ms > 0 ? timeout_ms : st->timeout_ms, &perr) != 0) {
    out->prepare_failed = true;
    out->curl_code = CURLE_FAILED_INIT;
    snprintf(out->curl_error, sizeof(out->curl_error), "%s",
             perr != NULL ? perr : "cannot prepare the request");
    free(perr);
    goto done;
  }
  curl_easy_setopt(k->easy, CURLOPT_ERRORBUFFER, errbuf);
  bool was_aborted = false;
  CURLcode rc = answered(&x, perform(c, k, epoch, NULL, false, &was_aborted));
  curl_easy_setopt(k->easy, CURLOPT_ERRORBUFFER, NULL);
  char *ip = NULL;
  long port = 0;
  if (curl_easy_getinfo(k->easy, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK &&
      ip != NULL && ip[0] != '\0' &&
      curl_easy_getinfo(k->easy, CURLINFO_PRIMARY_PORT, &port) == CURLE_OK)
    snprintf(out->peer, sizeof(out->peer), "%s%s%s:%ld",
             strchr(ip, ':') ? "[" : "", ip, strchr(ip, ':') ? "]" : "", port);
  curl_off_t tls_us = 0;
  out->tls_done = curl_easy_getinfo(k->easy, CURLINFO_APPCONNECT_TIME_T,
                                    &tls_us) == CURLE_OK &&
                  tls_us > 0;
  if (was_aborted) {
    out->interrupted = true;
    goto done;
  }
  if (rc != CURLE_OK) {
    out->curl_code = (int)rc;
    snprintf(out->curl_error, sizeof(out->curl_error), "%s",
             errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc));
    goto done;
  }
  long status = 0;
  curl_easy_getinfo(k->easy, CURLINFO_RESPONSE_CODE, &status);
  out->status = (int)status;
  if (status != 200 && x.body.data != NULL)
    tc_cp_decode_api_error(x.body.data, x.body.len, &out->api_error);
  if (!x.too_large && !x.body.failed)
    out->body = tc_sbuf_finish(&x.body);
  ret = 0;
done:
  xfer_clear(&x);
  settings_unref(st);
  conn_release(c, k);
  return ret;
}

int tc_cp_probe_metadata(struct tc_cp_client *c, long timeout_ms,
                         struct tc_cp_probe_result *out) {
  return metadata_get(c, timeout_ms, out);
}

int tc_cp_fetch_metadata(struct tc_cp_client *c, char **json, char **err) {
  *json = NULL;
  if (err != NULL)
    *err = NULL;
  struct tc_cp_probe_result r;
  int ret = -1;
  if (metadata_get(c, 0, &r) != 0) {
    if (r.interrupted) {
      set_err(err, cp_strdup("tunnel metadata fetch interrupted"));
    } else if (r.prepare_failed) {
      set_err(err, cp_strdup(r.curl_error));
    } else {
      /* libcurl's generic text: the ops state is shown on /readyz */
      char *why = cp_fmt("tunnel metadata fetch from %s failed: %s", c->origin,
                         curl_easy_strerror((CURLcode)r.curl_code));
      tc_cp_status_record(TC_CP_STATUS_METADATA, 0, false, why, NULL, 0);
      set_err(err, why);
    }
    goto done;
  }
  /* Any HTTP answer shows the control plane is reachable (ops state). */
  tc_cp_status_record(TC_CP_STATUS_METADATA, r.status, r.status == 200,
                      r.status == 200 ? NULL : "tunnel metadata fetch failed",
                      r.api_error.code, 0);
  if (r.status == 200 && r.body != NULL) {
    *json = r.body;
    r.body = NULL;
    ret = 0;
    goto done;
  }
  if (r.status == 200) {
    set_err(err, cp_strdup("tunnel metadata too large or out of memory"));
    goto done;
  }
  char *detail = api_error_text(&r.api_error);
  set_err(err, cp_fmt("tunnel metadata fetch from %s failed: HTTP %d%s%s%s",
                      c->origin, r.status, detail != NULL ? " (" : "",
                      detail != NULL ? detail : "", detail != NULL ? ")" : ""));
  free(detail);
done:
  tc_cp_probe_result_clear(&r);
  return ret;
}

/* ---- response POST ------------------------------------------------------- */

/* The response body streamed to libcurl from its three parts (the reply
 * bytes are sent from the transport's buffer, never copied). */
struct body_reader {
  struct tc_cp_response_parts parts;
  size_t off; /* bytes handed to libcurl in this attempt */
};

static size_t body_read(char *buf, size_t size, size_t n, void *ud) {
  struct body_reader *b = ud;
  const struct tc_cp_response_parts *p = &b->parts;
  const struct {
    const char *d;
    size_t n;
  } piece[3] = {
      {p->head, p->head_len}, {p->json, p->json_len}, {p->tail, p->tail_len}};
  size_t room = size * n, done = 0, base = 0;
  for (int i = 0; i < 3 && done < room; i++) {
    if (b->off < base + piece[i].n) {
      size_t at = b->off - base, take = piece[i].n - at;
      if (take > room - done)
        take = room - done;
      memcpy(buf + done, piece[i].d + at, take);
      done += take;
      b->off += take;
    }
    base += piece[i].n;
  }
  return done;
}

/* libcurl rewinds when it re-sends on a fresh connection. */
static int body_seek(void *ud, curl_off_t offset, int origin) {
  struct body_reader *b = ud;
  if (origin != SEEK_SET || offset < 0 ||
      (size_t)offset > tc_cp_response_parts_len(&b->parts))
    return CURL_SEEKFUNC_CANTSEEK;
  b->off = (size_t)offset;
  return CURL_SEEKFUNC_OK;
}

/* Attach the body to a prepared POST, from its first byte. */
static CURLcode set_body(CURL *e, struct body_reader *b) {
  b->off = 0;
  CURLcode rc = curl_easy_setopt(e, CURLOPT_POST, 1L);
  if (rc == CURLE_OK)
    rc = curl_easy_setopt(e, CURLOPT_READFUNCTION, body_read);
  if (rc == CURLE_OK)
    rc = curl_easy_setopt(e, CURLOPT_READDATA, b);
  if (rc == CURLE_OK)
    rc = curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, body_seek);
  if (rc == CURLE_OK)
    rc = curl_easy_setopt(e, CURLOPT_SEEKDATA, b);
  if (rc == CURLE_OK)
    rc = curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                          (curl_off_t)tc_cp_response_parts_len(&b->parts));
  return rc;
}

/* common + POST headers; NULL on ENOMEM. SECRET (shard token). */
static struct curl_slist *post_headers(const struct tc_cp_settings *st,
                                       const struct tc_cp_command *cmd) {
  struct curl_slist *l = NULL;
  for (const struct curl_slist *s = st->common; s != NULL; s = s->next) {
    struct curl_slist *n = curl_slist_append(l, s->data);
    if (n == NULL)
      goto fail;
    l = n;
  }
  if (add_header(&l, "Content-Type", "application/json") != 0 ||
      add_header(&l, "X-Tunnel-Shard-Token", cmd->shard_token) != 0)
    goto fail;
  const char *rid = tc_headers_get(&cmd->headers, "X-Request-Id", 0);
  if (rid != NULL && rid[0] != '\0' && !has_ctl(rid) &&
      add_header(&l, "X-Client-Request-Id", rid) != 0)
    goto fail;
  return l;
fail:
  curl_slist_free_all(l);
  return NULL;
}

/* Count a terminal response given up on. */
static void count_abandoned(enum tc_cp_request_kind kind, const char *reason) {
  if (kind == TC_CP_REQ_RESPONSE)
    tc_metric_add(tc_core_metrics()->posts_abandoned, &reason, 1);
}

int tc_cp_post(struct tc_cp_client *c, const struct tc_cp_command *cmd,
               const struct tc_cp_response *r, uint64_t deadline_ns,
               const atomic_int *stop_retries, char **err) {
  if (err != NULL)
    *err = NULL;
  const char *rid = r != NULL && r->request_id != NULL ? r->request_id : "";
  enum tc_cp_request_kind kind =
      r != NULL && r->type == TC_CP_RESP_JSONRPC_NOTIFY ? TC_CP_REQ_NOTIFY
                                                        : TC_CP_REQ_RESPONSE;
  if (cmd == NULL || r == NULL || cmd->shard_token == NULL ||
      cmd->shard_token[0] == '\0' || has_ctl(cmd->shard_token)) {
    set_err(err, cp_fmt("response POST for request_id %s refused: the "
                        "command has no usable shard token",
                        rid));
    count_abandoned(kind, "error");
    return -1;
  }
  char *eerr = NULL;
  struct body_reader body;
  memset(&body, 0, sizeof(body));
  if (tc_cp_response_encode_parts(r, &body.parts, &eerr) != 0) {
    set_err(err, cp_fmt("response POST for request_id %s refused: %s", rid,
                        eerr != NULL ? eerr : "cannot encode the body"));
    free(eerr);
    count_abandoned(kind, "error");
    return -1;
  }
  const char *type_name = tc_cp_resp_type_name(r->type);
  uint_fast64_t epoch = atomic_load(&c->epoch);
  struct tc_cp_settings *st = settings_get(c);
  struct curl_slist *headers = post_headers(st, cmd);
  struct cp_conn *k = headers != NULL ? conn_acquire(c) : NULL;
  char *url = cp_fmt("%s/response", c->tunnel_url);
  if (headers == NULL || k == NULL || url == NULL) {
    set_err(err, cp_fmt("response POST for request_id %s: out of memory", rid));
    settings_unref(st);
    curl_slist_free_all(headers);
    if (k != NULL)
      conn_release(c, k);
    free(url);
    tc_cp_response_parts_free(&body.parts);
    count_abandoned(kind, "error");
    return -1;
  }
  /* When to stop retrying: the command's deadline; without one, a
   * terminal response gets the retry budget (notifications keep their
   * attempt limit). */
  uint64_t give_up_ns = deadline_ns;
  const char *give_up_reason = "deadline";
  if (give_up_ns == 0 && kind == TC_CP_REQ_RESPONSE) {
    give_up_ns =
        tc_cp_now_ns() + (uint64_t)st->response_retry_budget_ms * 1000000ull;
    give_up_reason = "budget";
  }
  struct tc_backoff bo;
  tc_backoff_init(&bo, 0, CP_RESPONSE_BACKOFF_MAX_MS);
  int ret = -1;
  char *last = NULL; /* what the last attempt saw */
  for (int attempt = 1;; attempt++) {
    if (attempt > 1) {
      tc_metric_add(tc_core_metrics()->post_retries, NULL, 1);
      /* The shutdown grace ran out: no more retries. */
      if (stop_retries != NULL && atomic_load(stop_retries) != 0) {
        set_err(err, cp_fmt("response POST for request_id %s (%s) abandoned: "
                            "the shutdown grace period ran out (last: %s)",
                            rid, type_name, last ? last : "error"));
        count_abandoned(kind, "shutdown");
        break;
      }
    }
    long timeout = st->timeout_ms;
    if (give_up_ns != 0) {
      uint64_t now = tc_cp_now_ns();
      if (now >= give_up_ns) {
        set_err(err, cp_fmt("response POST for request_id %s (%s) abandoned: "
                            "%s reached%s%s",
                            rid, type_name,
                            deadline_ns != 0 ? "response deadline"
                                             : "response retry budget",
                            last ? " after " : "", last ? last : ""));
        count_abandoned(kind, give_up_reason);
        break;
      }
      uint64_t left_ms = (give_up_ns - now + 999999ull) / 1000000ull;
      if (left_ms < (uint64_t)timeout)
        timeout = (long)left_ms;
    }
    struct cp_xfer x = {.body = TC_SBUF_INIT, .body_max = CP_ERROR_BODY_MAX};
    char *perr = NULL;
    if (prepare(c, st, k, url, headers, &x, timeout, &perr) != 0 ||
        set_body(k->easy, &body) != CURLE_OK) {
      set_err(err, perr != NULL ? perr
                                : cp_fmt("response POST for request_id %s: "
                                         "cannot configure the request",
                                         rid));
      xfer_clear(&x);
      count_abandoned(kind, "error");
      break;
    }
    bool was_aborted = false;
    CURLcode rc = answered(&x, perform(c, k, epoch, NULL, false, &was_aborted));
    if (was_aborted) {
      set_err(err, cp_fmt("response POST for request_id %s (%s) interrupted",
                          rid, type_name));
      xfer_clear(&x);
      count_abandoned(kind, "shutdown");
      break;
    }
    int status = 0;
    enum tc_cp_transport_class tclass = TC_CP_TRANSPORT_OK;
    free(last);
    if (rc != CURLE_OK) {
      tclass = classify(k->easy, rc);
      last = cp_fmt("%s", curl_easy_strerror(rc));
    } else {
      long http = 0;
      curl_easy_getinfo(k->easy, CURLINFO_RESPONSE_CODE, &http);
      status = (int)http;
      struct tc_cp_api_error ae = {0};
      if (x.body.data != NULL)
        tc_cp_decode_api_error(x.body.data, x.body.len, &ae);
      char *detail = api_error_text(&ae);
      last = cp_fmt("HTTP %d%s%s%s", status, detail ? " (" : "",
                    detail ? detail : "", detail ? ")" : "");
      free(detail);
      tc_cp_api_error_clear(&ae);
    }
    struct tc_cp_retry_decision d =
        tc_cp_retry_decide(kind, status, tclass, attempt);
    if (d.action == TC_CP_DONE) {
      ret = 0;
      xfer_clear(&x);
      if (attempt > 1) {
        char nbuf[16];
        snprintf(nbuf, sizeof(nbuf), "%d", attempt);
        tc_log(TC_LOG_INFO, CP_LOG, "response POST delivered after retries",
               "request_id", rid, "resp_type", type_name, "attempts", nbuf,
               NULL);
      }
      break;
    }
    if (d.action == TC_CP_DONE_GONE) {
      tc_log(TC_LOG_WARN, CP_LOG,
             "response POST answered 404: the service no longer waits for "
             "this request; not retrying",
             "request_id", rid, "resp_type", type_name, "service_request_id",
             x.request_id, NULL);
      ret = 0;
      xfer_clear(&x);
      break;
    }
    if (d.action == TC_CP_FAIL) {
      set_err(err,
              cp_fmt("response POST for request_id %s (%s) to %s "
                     "failed after %d attempt(s): %s%s",
                     rid, type_name, c->origin, attempt, last ? last : "error",
                     d.needs_operator ? " (check the API key and tunnel "
                                        "access: needs operator action)"
                                      : ""));
      xfer_clear(&x);
      count_abandoned(kind,
                      tclass == TC_CP_TRANSPORT_OK ? "rejected" : "error");
      break;
    }
    int64_t ra_ms = 0;
    int have_ra = 0;
    if (d.honour_retry_after && x.retry_after != NULL) {
      struct timespec now;
      clock_gettime(CLOCK_REALTIME, &now);
      have_ra = tc_cp_parse_retry_after(
          x.retry_after, (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000,
          &ra_ms);
    }
    int64_t wait = tc_cp_retry_wait_ms(tc_backoff_next_ms(&bo), have_ra, ra_ms);
    char wbuf[32], abuf[16];
    snprintf(wbuf, sizeof(wbuf), "%" PRId64, wait);
    snprintf(abuf, sizeof(abuf), "%d", attempt);
    xfer_clear(&x);
    if (give_up_ns != 0 &&
        tc_cp_now_ns() + (uint64_t)wait * 1000000ull >= give_up_ns) {
      set_err(err, cp_fmt("response POST for request_id %s (%s) abandoned: "
                          "the next attempt would start after the %s "
                          "(last: %s)",
                          rid, type_name,
                          deadline_ns != 0 ? "response deadline"
                                           : "response retry budget",
                          last ? last : "error"));
      count_abandoned(kind, give_up_reason);
      break;
    }
    /* A long outage would log every attempt: the first three, then every
     * tenth, at WARN; the rest at DEBUG. */
    tc_log(attempt <= 3 || attempt % 10 == 0 ? TC_LOG_WARN : TC_LOG_DEBUG,
           CP_LOG, "response POST failed; retrying", "request_id", rid,
           "resp_type", type_name, "origin", c->origin, "error", last,
           "attempt", abuf, "retry_in_ms", wbuf, NULL);
    if (!nap(c, k, epoch, stop_retries, wait)) {
      bool shutdown = stop_retries != NULL && atomic_load(stop_retries) != 0;
      set_err(err, cp_fmt("response POST for request_id %s (%s) %s (last: %s)",
                          rid, type_name,
                          shutdown ? "abandoned: the shutdown grace period "
                                     "ran out"
                                   : "interrupted",
                          last ? last : "error"));
      count_abandoned(kind, "shutdown");
      break;
    }
  }
  free(last);
  curl_slist_free_all(headers);
  settings_unref(st);
  conn_release(c, k);
  free(url);
  tc_cp_response_parts_free(&body.parts);
  return ret;
}
