/* ms_stderr.c — the MCP server's stderr: drained as fast as the child
 * writes it, logged within limits, its last lines kept for the admin API
 * (see ms_internal.h).
 *
 * Limits (module settings, ms_stderr_limits):
 *  - a line longer than line_max bytes is cut there and logged with
 *    " [+N bytes]";
 *  - a token bucket admits lines_per_second lines (bursts of up to burst):
 *    a line without a token is dropped, never waited for, so the child is
 *    never slowed down; dropped lines and bytes are counted and reported in
 *    one WARN line, "dropped N lines (M bytes) of stderr", at most once a
 *    second while dropping and once more at the end;
 *  - every line, logged or not, goes into a ring of the last tail_lines
 *    lines (each cut to line_max bytes; the ring is allocated once).
 * So the log gets at most burst + lines_per_second * t lines of at most
 * line_max bytes in t seconds, however much the child writes. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include <tc/tc.h>

#include "ms_internal.h"

#define MS_READ_CHUNK 65536
#define MS_SUMMARY_EVERY_NS 1000000000ull

struct ms_tail_slot {
  int64_t unix_ms;
  long pid;
  size_t len;
  char *text; /* line_max + 1 bytes, allocated with the ring */
};

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int ms_stderr_init(struct ms_stderr *s, const struct ms_stderr_limits *lim) {
  memset(s, 0, sizeof(*s));
  s->lim = *lim;
  if (s->lim.line_max < 16)
    s->lim.line_max = 16;
  if (s->lim.tail_lines < 1)
    s->lim.tail_lines = 1;
  size_t n = (size_t)s->lim.tail_lines, w = (size_t)s->lim.line_max + 1;
  s->ring = calloc(n, sizeof(*s->ring));
  char *text = malloc(n * w);
  if (s->ring == NULL || text == NULL) {
    free(s->ring);
    free(text);
    s->ring = NULL;
    return -1;
  }
  for (size_t i = 0; i < n; i++)
    s->ring[i].text = text + i * w;
  s->tokens = (double)s->lim.burst;
  pthread_mutex_init(&s->lock, NULL);
  return 0;
}

void ms_stderr_destroy(struct ms_stderr *s) {
  if (s->ring == NULL)
    return;
  free(s->ring[0].text);
  free(s->ring);
  s->ring = NULL;
  pthread_mutex_destroy(&s->lock);
}

/* One reader at a time: the state below the lock is the reader's own. */
struct reader {
  struct ms_stderr *s;
  const struct tc_host *host;
  const char *channel;
  long pid;
  char *line; /* line_max + 1 */
  size_t len;
  uint64_t extra; /* bytes of the current line beyond line_max */
  uint64_t last_refill_ns, last_summary_ns;
};

static void keep_in_tail(struct reader *r, const char *text, size_t len) {
  struct ms_stderr *s = r->s;
  pthread_mutex_lock(&s->lock);
  struct ms_tail_slot *slot = &s->ring[s->next];
  memcpy(slot->text, text, len);
  slot->text[len] = '\0';
  slot->len = len;
  slot->pid = r->pid;
  slot->unix_ms = r->host->wall_ms();
  s->next = (s->next + 1) % (size_t)s->lim.tail_lines;
  if (s->count < (size_t)s->lim.tail_lines)
    s->count++;
  pthread_mutex_unlock(&s->lock);
}

/* Report drops not reported yet; `force` at the end of the stream. */
static void summarize(struct reader *r, uint64_t now, int force) {
  struct ms_stderr *s = r->s;
  pthread_mutex_lock(&s->lock);
  uint64_t lines = s->dropped_lines - s->reported_lines;
  uint64_t bytes = s->dropped_bytes - s->reported_bytes;
  int due =
      lines > 0 && (force || now - r->last_summary_ns >= MS_SUMMARY_EVERY_NS);
  if (due) {
    s->reported_lines = s->dropped_lines;
    s->reported_bytes = s->dropped_bytes;
  }
  pthread_mutex_unlock(&s->lock);
  if (!due)
    return;
  r->last_summary_ns = now;
  r->host->log(r->host, TC_LOG_WARN, r->channel,
               "dropped %llu lines (%llu bytes) of stderr from MCP server "
               "process %ld: more than %lld lines/s (burst %lld); the last "
               "lines are in /api/channels",
               (unsigned long long)lines, (unsigned long long)bytes, r->pid,
               (long long)s->lim.lines_per_second, (long long)s->lim.burst);
}

/* A whole line is in r->line (cut to line_max, r->extra bytes beyond). */
static void finish_line(struct reader *r) {
  struct ms_stderr *s = r->s;
  size_t len = r->len;
  if (len > 0 && r->line[len - 1] == '\r' && r->extra == 0)
    len--;
  r->line[len] = '\0';
  keep_in_tail(r, r->line, len);
  uint64_t now = now_ns();
  double elapsed = (double)(now - r->last_refill_ns) / 1e9;
  r->last_refill_ns = now;
  s->tokens += elapsed * (double)s->lim.lines_per_second;
  if (s->tokens > (double)s->lim.burst)
    s->tokens = (double)s->lim.burst;
  uint64_t full = (uint64_t)len + r->extra + 1; /* with the newline */
  if (s->tokens >= 1.0) {
    s->tokens -= 1.0;
    summarize(r, now, 1); /* drops before this line come first */
    pthread_mutex_lock(&s->lock);
    s->logged_lines++;
    if (r->extra > 0)
      s->truncated_lines++;
    pthread_mutex_unlock(&s->lock);
    if (r->extra > 0)
      r->host->log(r->host, TC_LOG_INFO, r->channel, "stderr: %s [+%llu bytes]",
                   r->line, (unsigned long long)r->extra);
    else
      r->host->log(r->host, TC_LOG_INFO, r->channel, "stderr: %s", r->line);
  } else {
    pthread_mutex_lock(&s->lock);
    s->dropped_lines++;
    s->dropped_bytes += full;
    pthread_mutex_unlock(&s->lock);
    summarize(r, now, 0);
  }
  r->len = 0;
  r->extra = 0;
}

static void take(struct reader *r, const char *p, size_t n) {
  size_t room = (size_t)r->s->lim.line_max - r->len;
  size_t k = n < room ? n : room;
  memcpy(r->line + r->len, p, k);
  r->len += k;
  r->extra += n - k;
}

void ms_stderr_drain(struct ms_stderr *s, int fd, long pid,
                     const struct tc_host *host, const char *channel) {
  struct reader r = {s, host, channel, pid, NULL, 0, 0, now_ns(), 0};
  r.line = malloc((size_t)s->lim.line_max + 1);
  char *buf = malloc(MS_READ_CHUNK);
  if (r.line == NULL || buf == NULL) {
    /* Still drain, so the child never blocks on a full pipe. */
    char small[512];
    for (;;) {
      ssize_t got = read(fd, small, sizeof(small));
      if (got < 0 && errno == EINTR)
        continue;
      if (got <= 0)
        break;
    }
    free(r.line);
    free(buf);
    return;
  }
  for (;;) {
    struct pollfd pfd = {fd, POLLIN, 0};
    int pr = poll(&pfd, 1, 1000);
    if (pr == 0) { /* quiet: report pending drops */
      summarize(&r, now_ns(), 0);
      continue;
    }
    if (pr < 0 && errno == EINTR)
      continue;
    ssize_t got = read(fd, buf, MS_READ_CHUNK);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      break;
    const char *p = buf, *end = buf + got;
    while (p < end) {
      const char *nl = memchr(p, '\n', (size_t)(end - p));
      take(&r, p, (size_t)((nl != NULL ? nl : end) - p));
      if (nl == NULL)
        break;
      finish_line(&r);
      p = nl + 1;
    }
  }
  if (r.len > 0 || r.extra > 0)
    finish_line(&r);
  summarize(&r, now_ns(), 1);
  free(r.line);
  free(buf);
}

json_t *ms_stderr_state(struct ms_stderr *s) {
  json_t *tail = json_array();
  pthread_mutex_lock(&s->lock);
  size_t n = s->count, cap = (size_t)s->lim.tail_lines;
  for (size_t i = 0; tail != NULL && i < n; i++) {
    const struct ms_tail_slot *slot = &s->ring[(s->next + cap - n + i) % cap];
    json_array_append_new(tail, json_pack("{s:I,s:I,s:s%}", "unix_ms",
                                          (json_int_t)slot->unix_ms, "pid",
                                          (json_int_t)slot->pid, "text",
                                          slot->text, slot->len));
  }
  json_t *j = json_pack(
      "{s:I,s:I,s:I,s:I,s:o,s:{s:I,s:I,s:I,s:I}}", "logged_lines",
      (json_int_t)s->logged_lines, "dropped_lines",
      (json_int_t)s->dropped_lines, "dropped_bytes",
      (json_int_t)s->dropped_bytes, "truncated_lines",
      (json_int_t)s->truncated_lines, "tail", tail ? tail : json_array(),
      "limits", "line_max", (json_int_t)s->lim.line_max, "lines_per_second",
      (json_int_t)s->lim.lines_per_second, "burst", (json_int_t)s->lim.burst,
      "tail_lines", (json_int_t)s->lim.tail_lines);
  pthread_mutex_unlock(&s->lock);
  return j;
}
