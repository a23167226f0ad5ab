/* util/log.c — the process logger (see log.h).
 *
 * A line is built in a private buffer without any lock: the message and
 * every attribute value are redacted first (so a secret containing quotes
 * still matches before escaping), attributes whose name is secret
 * (tc_redact_key_is_secret) are blanked whole, and the finished line is
 * redacted once more (shapes that span fields). Then, under one mutex, the
 * line plus '\n' is written with a single write(2) and handed to the
 * observer. The level is an atomic, so disabled lines cost one load.
 *
 * The log file is opened O_WRONLY|O_APPEND|O_CREAT with mode 0600; an
 * existing file keeps its mode (operators who loosened it on purpose keep
 * their choice). Default-format timestamps are local time like Go's log
 * package; struct-text and JSON use UTC RFC 3339 with milliseconds. */
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h" /* enum tc_log_format */
#include "util/redact.h"
#include "util/sbuf.h"

static atomic_int g_level = TC_LOG_INFO;
static atomic_int g_format = TC_LOG_FORMAT_DEFAULT;

/* Guarded by g_mu. */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static int g_fd = STDERR_FILENO;
static int g_own_fd;
static tc_log_observer_fn g_observer;
static void *g_observer_ud;

/* The admin ring (guarded by g_mu): `cap` slots, `count` used, oldest at
 * `head`. g_ring_on is read without the lock to skip building ring text. */
static struct tc_log_entry *g_ring;
static size_t g_ring_cap, g_ring_head, g_ring_count;
static unsigned long long g_ring_seq;
static atomic_int g_ring_on;

/* ---- levels -------------------------------------------------------------- */

void tc_log_set_level(int level) {
  atomic_store(&g_level, level);
}
int tc_log_get_level(void) {
  return atomic_load(&g_level);
}
int tc_log_enabled(int level) {
  return level >= atomic_load(&g_level);
}

int tc_log_level_parse(const char *name) {
  if (name == NULL)
    return -1;
  if (strcasecmp(name, "debug") == 0)
    return TC_LOG_DEBUG;
  if (strcasecmp(name, "info") == 0)
    return TC_LOG_INFO;
  if (strcasecmp(name, "warn") == 0)
    return TC_LOG_WARN;
  if (strcasecmp(name, "error") == 0)
    return TC_LOG_ERROR;
  return -1;
}

const char *tc_log_level_name(int level) {
  if (level < TC_LOG_INFO)
    return "debug";
  if (level < TC_LOG_WARN)
    return "info";
  if (level < TC_LOG_ERROR)
    return "warn";
  return "error";
}

static const char *level_upper(int level) {
  if (level < TC_LOG_INFO)
    return "DEBUG";
  if (level < TC_LOG_WARN)
    return "INFO";
  if (level < TC_LOG_ERROR)
    return "WARN";
  return "ERROR";
}

/* ---- open/close ---------------------------------------------------------- */

int tc_log_open(const struct tc_log_options *opt, char **err) {
  int fd = STDOUT_FILENO, own = 0;
  if (opt->file != NULL && opt->file[0] != '\0') {
    fd = open(opt->file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY,
              0600);
    if (fd < 0) {
      if (err != NULL &&
          asprintf(err,
                   "open log file %s: %s (check that the directory exists and "
                   "is writable, or unset --log.file to log to stdout)",
                   opt->file, strerror(errno)) < 0)
        *err = NULL;
      return -1;
    }
    own = 1;
  }
  pthread_mutex_lock(&g_mu);
  if (g_own_fd)
    close(g_fd);
  g_fd = fd;
  g_own_fd = own;
  pthread_mutex_unlock(&g_mu);
  atomic_store(&g_format, opt->format);
  atomic_store(&g_level, opt->level);
  return 0;
}

void tc_log_close(void) {
  pthread_mutex_lock(&g_mu);
  if (g_own_fd)
    close(g_fd);
  g_fd = STDERR_FILENO;
  g_own_fd = 0;
  pthread_mutex_unlock(&g_mu);
}

void tc_log_set_observer(tc_log_observer_fn fn, void *ud) {
  pthread_mutex_lock(&g_mu);
  g_observer = fn;
  g_observer_ud = ud;
  pthread_mutex_unlock(&g_mu);
}

/* ---- escaping ------------------------------------------------------------ */

/* Length of the valid UTF-8 sequence at p (1..4), 0 when invalid. */
static size_t utf8_len(const unsigned char *p) {
  unsigned char c = p[0];
  if (c < 0x80)
    return 1;
  size_t n;
  unsigned min;
  unsigned cp;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2, min = 0x80, cp = c & 0x1fu;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3, min = 0x800, cp = c & 0x0fu;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4, min = 0x10000, cp = c & 0x07u;
  } else {
    return 0;
  }
  for (size_t i = 1; i < n; i++) {
    if ((p[i] & 0xc0) != 0x80)
      return 0;
    cp = (cp << 6) | (p[i] & 0x3fu);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return n;
}

static void json_string(struct tc_sbuf *b, const char *s) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char *p = (const unsigned char *)s;
  tc_sbuf_putc(b, '"');
  while (*p != '\0') {
    unsigned char c = *p;
    if (c == '"' || c == '\\') {
      tc_sbuf_putc(b, '\\');
      tc_sbuf_putc(b, (char)c);
      p++;
    } else if (c == '\n') {
      tc_sbuf_puts(b, "\\n");
      p++;
    } else if (c == '\r') {
      tc_sbuf_puts(b, "\\r");
      p++;
    } else if (c == '\t') {
      tc_sbuf_puts(b, "\\t");
      p++;
    } else if (c < 0x20 || c == 0x7f) {
      char u[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
      tc_sbuf_puts(b, u);
      p++;
    } else {
      size_t n = utf8_len(p);
      if (n == 0) {
        tc_sbuf_puts(b, "\\ufffd");
        p++;
      } else {
        tc_sbuf_append(b, (const char *)p, n);
        p += n;
      }
    }
  }
  tc_sbuf_putc(b, '"');
}

/* Escaped body of a quoted text value (Go strconv.Quote style). */
static void text_escape(struct tc_sbuf *b, const char *s, int quote_quotes) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char *p = (const unsigned char *)s;
  while (*p != '\0') {
    unsigned char c = *p;
    if (quote_quotes && (c == '"' || c == '\\')) {
      tc_sbuf_putc(b, '\\');
      tc_sbuf_putc(b, (char)c);
      p++;
    } else if (c == '\n') {
      tc_sbuf_puts(b, "\\n");
      p++;
    } else if (c == '\r') {
      tc_sbuf_puts(b, "\\r");
      p++;
    } else if (c == '\t') {
      tc_sbuf_puts(b, "\\t");
      p++;
    } else if (c < 0x20 || c == 0x7f) {
      char x[5] = {'\\', 'x', hex[c >> 4], hex[c & 15], 0};
      tc_sbuf_puts(b, x);
      p++;
    } else {
      size_t n = utf8_len(p);
      if (n == 0) {
        char x[5] = {'\\', 'x', hex[c >> 4], hex[c & 15], 0};
        tc_sbuf_puts(b, x);
        p++;
      } else {
        tc_sbuf_append(b, (const char *)p, n);
        p += n;
      }
    }
  }
}

static int text_needs_quote(const char *s) {
  if (*s == '\0')
    return 1;
  for (const unsigned char *p = (const unsigned char *)s; *p != '\0';) {
    if (*p <= 0x20 || *p == 0x7f || *p == '=' || *p == '"' || *p == '\\')
      return 1;
    size_t n = utf8_len(p);
    if (n == 0)
      return 1;
    p += n;
  }
  return 0;
}

/* A struct-text key or value: bare when safe, else quoted and escaped. */
static void text_value(struct tc_sbuf *b, const char *s) {
  if (!text_needs_quote(s)) {
    tc_sbuf_puts(b, s);
    return;
  }
  tc_sbuf_putc(b, '"');
  text_escape(b, s, 1);
  tc_sbuf_putc(b, '"');
}

/* ---- line building ------------------------------------------------------- */

struct line {
  struct tc_sbuf b;
  int format;
  int ring;              /* also build `text` for the admin ring */
  struct tc_sbuf text;   /* message + " key=value" (ring only) */
  const char *component; /* borrowed for the call */
};

static void line_begin(struct line *l, int level, const char *msg) {
  struct timespec ts;
  struct tm tm;
  char stamp[64];
  clock_gettime(CLOCK_REALTIME, &ts);
  if (l->format == TC_LOG_FORMAT_DEFAULT) {
    localtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof(stamp), "%Y/%m/%d %H:%M:%S", &tm);
    tc_sbuf_printf(&l->b, "%s %s ", stamp, level_upper(level));
    text_escape(&l->b, msg, 0); /* bare message, control chars escaped */
    return;
  }
  gmtime_r(&ts.tv_sec, &tm);
  strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
  int ms = (int)(ts.tv_nsec / 1000000);
  if (l->format == TC_LOG_FORMAT_JSON) {
    tc_sbuf_printf(&l->b,
                   "{\"time\":\"%s.%03dZ\",\"level\":\"%s\",\"msg\":", stamp,
                   ms, level_upper(level));
    json_string(&l->b, msg);
    return;
  }
  tc_sbuf_printf(&l->b, "time=%s.%03dZ level=%s msg=", stamp, ms,
                 level_upper(level));
  text_value(&l->b, msg);
}

/* Add one attribute; the value is redacted here. */
static void line_attr(struct line *l, const char *key, const char *value) {
  char *clean = NULL;
  if (value == NULL)
    value = "";
  if (tc_redact_key_is_secret(key) && value[0] != '\0') {
    value = "[REDACTED]";
  } else {
    clean = tc_redact(value);
    if (clean == NULL) {
      l->b.failed = 1;
      return;
    }
    value = clean;
  }
  if (l->format == TC_LOG_FORMAT_JSON) {
    tc_sbuf_putc(&l->b, ',');
    json_string(&l->b, key);
    tc_sbuf_putc(&l->b, ':');
    json_string(&l->b, value);
  } else {
    tc_sbuf_putc(&l->b, ' ');
    text_value(&l->b, key);
    tc_sbuf_putc(&l->b, '=');
    text_value(&l->b, value);
  }
  if (l->ring && strcmp(key, "component") != 0) {
    tc_sbuf_putc(&l->text, ' ');
    text_value(&l->text, key);
    tc_sbuf_putc(&l->text, '=');
    text_value(&l->text, value);
  }
  free(clean);
}

static void write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return; /* nowhere left to report it */
    }
    p += w;
    n -= (size_t)w;
  }
}

/* The current time as RFC 3339 UTC with milliseconds. */
static void utc_stamp(char *buf, size_t len) {
  struct timespec ts;
  struct tm tm;
  char base[24];
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  if (strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
    base[0] = '\0';
  unsigned ms = (unsigned)(ts.tv_nsec / 1000000) % 1000u;
  snprintf(buf, len, "%.20s.%03uZ", base, ms);
}

/* Store one entry (g_mu held); takes ownership of component and text. */
static void ring_push(int level, char *component, char *text) {
  g_ring_seq++;
  if (g_ring_cap == 0 || component == NULL || text == NULL) {
    free(component);
    free(text);
    return;
  }
  struct tc_log_entry *e;
  if (g_ring_count == g_ring_cap) { /* overwrite the oldest */
    e = &g_ring[g_ring_head];
    free(e->component);
    free(e->text);
    g_ring_head = (g_ring_head + 1) % g_ring_cap;
  } else {
    e = &g_ring[(g_ring_head + g_ring_count) % g_ring_cap];
    g_ring_count++;
  }
  e->seq = g_ring_seq;
  e->level = level;
  utc_stamp(e->time, sizeof(e->time));
  e->component = component;
  e->text = text;
}

/* Redact the finished line, write it, feed the observer and the ring. */
static void line_emit(struct line *l, int level) {
  if (l->format == TC_LOG_FORMAT_JSON)
    tc_sbuf_putc(&l->b, '}');
  char *raw = tc_sbuf_finish(&l->b);
  char *out = raw ? tc_redact(raw) : NULL;
  free(raw);
  char *ring_text = NULL, *ring_comp = NULL;
  if (l->ring) {
    char *t = tc_sbuf_finish(&l->text);
    ring_text = t ? tc_redact(t) : NULL;
    free(t);
    ring_comp = strdup(l->component ? l->component : "");
  }
  static const char oom[] = "log line dropped: out of memory\n";
  size_t len = out ? strlen(out) : 0;
  pthread_mutex_lock(&g_mu);
  if (out == NULL) {
    write_all(g_fd, oom, sizeof(oom) - 1);
  } else {
    out[len] = '\n'; /* one write: swap the NUL for the newline */
    write_all(g_fd, out, len + 1);
    out[len] = '\0';
    if (g_observer != NULL)
      g_observer(g_observer_ud, level, out);
  }
  if (l->ring)
    ring_push(level, ring_comp, ring_text);
  pthread_mutex_unlock(&g_mu);
  free(out);
}

/* Redacted message and component: the common start of every line. */
static int line_start(struct line *l, int level, const char *component,
                      const char *msg) {
  l->b = (struct tc_sbuf)TC_SBUF_INIT;
  l->text = (struct tc_sbuf)TC_SBUF_INIT;
  l->format = atomic_load(&g_format);
  l->ring = atomic_load(&g_ring_on);
  l->component = component;
  char *clean = tc_redact(msg ? msg : "");
  if (clean == NULL)
    return -1;
  tc_sbuf_reserve(&l->b, strlen(clean) + 96);
  line_begin(l, level, clean);
  if (l->ring)
    tc_sbuf_puts(&l->text, clean);
  free(clean);
  if (component != NULL)
    line_attr(l, "component", component);
  return 0;
}

void tc_log(int level, const char *component, const char *msg, ...) {
  if (!tc_log_enabled(level))
    return;
  struct line l;
  if (line_start(&l, level, component, msg) != 0)
    return;
  va_list ap;
  va_start(ap, msg);
  for (;;) {
    const char *key = va_arg(ap, const char *);
    if (key == NULL)
      break;
    const char *value = va_arg(ap, const char *);
    line_attr(&l, key, value);
  }
  va_end(ap);
  line_emit(&l, level);
}

void tc_logv(int level, const char *component, const char *fmt, va_list ap) {
  if (!tc_log_enabled(level))
    return;
  struct tc_sbuf msg = TC_SBUF_INIT;
  tc_sbuf_vprintf(&msg, fmt, ap);
  char *text = tc_sbuf_finish(&msg);
  if (text == NULL)
    return;
  size_t n = strlen(text);
  while (n > 0 && text[n - 1] == '\n') /* callers often end with one */
    text[--n] = '\0';
  struct line l;
  if (line_start(&l, level, component, text) == 0)
    line_emit(&l, level);
  free(text);
}

void tc_logf(int level, const char *component, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  tc_logv(level, component, fmt, ap);
  va_end(ap);
}

/* ---- the admin ring ------------------------------------------------------ */

int tc_log_ring_enable(size_t capacity) {
  if (capacity == 0)
    capacity = 1;
  struct tc_log_entry *ring = calloc(capacity, sizeof(*ring));
  if (ring == NULL)
    return -1;
  pthread_mutex_lock(&g_mu);
  /* Carry the newest lines over; free the ones that do not fit. */
  size_t keep = g_ring_count < capacity ? g_ring_count : capacity;
  for (size_t i = 0; i < g_ring_count; i++) {
    struct tc_log_entry *e = &g_ring[(g_ring_head + i) % g_ring_cap];
    if (i < g_ring_count - keep) {
      free(e->component);
      free(e->text);
    } else {
      ring[i - (g_ring_count - keep)] = *e;
    }
  }
  free(g_ring);
  g_ring = ring;
  g_ring_cap = capacity;
  g_ring_head = 0;
  g_ring_count = keep;
  atomic_store(&g_ring_on, 1);
  pthread_mutex_unlock(&g_mu);
  return 0;
}

void tc_log_ring_disable(void) {
  pthread_mutex_lock(&g_mu);
  atomic_store(&g_ring_on, 0);
  for (size_t i = 0; i < g_ring_count; i++) {
    struct tc_log_entry *e = &g_ring[(g_ring_head + i) % g_ring_cap];
    free(e->component);
    free(e->text);
  }
  free(g_ring);
  g_ring = NULL;
  g_ring_cap = g_ring_head = g_ring_count = 0;
  pthread_mutex_unlock(&g_mu);
}

void tc_log_entries_free(struct tc_log_entry *e, size_t n) {
  if (e == NULL)
    return;
  for (size_t i = 0; i < n; i++) {
    free(e[i].component);
    free(e[i].text);
  }
  free(e);
}

size_t tc_log_ring_read(unsigned long long since, size_t limit,
                        struct tc_log_entry **out, unsigned long long *next) {
  *out = NULL;
  pthread_mutex_lock(&g_mu);
  *next = since < g_ring_seq ? since : g_ring_seq;
  /* Entries are in seq order: skip those at or before `since`. */
  size_t first = 0;
  while (first < g_ring_count &&
         g_ring[(g_ring_head + first) % g_ring_cap].seq <= since)
    first++;
  size_t n = g_ring_count - first;
  if (n > limit)
    n = limit;
  struct tc_log_entry *copy = n ? calloc(n, sizeof(*copy)) : NULL;
  if (n > 0 && copy == NULL) {
    pthread_mutex_unlock(&g_mu);
    return (size_t)-1;
  }
  size_t got = 0;
  for (; got < n; got++) {
    const struct tc_log_entry *e =
        &g_ring[(g_ring_head + first + got) % g_ring_cap];
    copy[got] = *e;
    copy[got].component = strdup(e->component);
    copy[got].text = strdup(e->text);
    if (copy[got].component == NULL || copy[got].text == NULL) {
      pthread_mutex_unlock(&g_mu);
      tc_log_entries_free(copy, got + 1);
      return (size_t)-1;
    }
    *next = e->seq;
  }
  pthread_mutex_unlock(&g_mu);
  *out = copy;
  return got;
}
