/* metrics-statsd — the "statsd" push sink: every `interval` an exporter
 * thread walks the metrics registry and sends StatsD lines over UDP to
 * `address`, each name prefixed with `prefix`:
 *   counters    <prefix>.<name>:<increase since last export>|c
 *   gauges      <prefix>.<name>:<value>|g
 *   histograms  <prefix>.<name>_count / _sum as increases (|c)
 * Labels become DogStatsD tags (|#label:value,...). Lines are batched into
 * datagrams of at most SD_MAX_PACKET bytes. The address is resolved by the
 * exporter thread (not at start), so an unreachable StatsD server never
 * stops the agent; failures are logged once until the next success. stop()
 * sends a final export and joins the thread. Without an `address` the sink
 * stays registered but exports nothing (the built-ins load by default, and
 * the agent must not send datagrams nobody asked for). */
#define _POSIX_C_SOURCE 200809L /* getaddrinfo, clock_gettime, strdup */

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <tc/tc.h>

#define SD_MAX_PACKET 1432 /* fits a typical 1500-byte MTU with headers */
#define SD_PREV_BUCKETS 256

struct sd_config {
  char *address;
  int64_t interval_ms;
  char *prefix;
};

/* Last exported value of one counter-like series (exporter thread only). */
struct sd_prev {
  char *key;
  double value;
  struct sd_prev *next;
};

struct sd_inst {
  const struct tc_host *host;
  char *node, *service; /* address split into host and port */
  char *prefix;
  int64_t interval_ms;

  pthread_mutex_t lock; /* guards stopping */
  pthread_cond_t cond;
  int stopping;
  pthread_t thread;
  int thread_started;

  /* Exporter thread only. */
  int fd;
  int failing; /* a failure was logged; log again only after a success */
  struct sd_prev *prev[SD_PREV_BUCKETS];
  char pkt[SD_MAX_PACKET];
  size_t pkt_len;
};

static const struct sd_config *sd_cfg; /* set in init, read in create */

/* ---- address and names --------------------------------------------------- */

/* Split "host:port" or "[v6]:port". 0, or -1 when malformed. */
static int sd_split_address(const struct tc_host *host, const char *addr,
                            char **node, char **service) {
  const char *colon = addr != NULL ? strrchr(addr, ':') : NULL;
  if (colon == NULL || colon == addr || colon[1] == '\0')
    return -1;
  char *end = NULL;
  long port = strtol(colon + 1, &end, 10);
  if (*end != '\0' || port < 1 || port > 65535 ||
      !isdigit((unsigned char)colon[1]))
    return -1;
  const char *h = addr;
  size_t hl = (size_t)(colon - addr);
  if (h[0] == '[') {
    if (hl < 3 || h[hl - 1] != ']')
      return -1;
    h++;
    hl -= 2;
  }
  *node = host->format("%.*s", (int)hl, h);
  *service = host->format("%ld", port);
  return *node != NULL && *service != NULL ? 0 : -1;
}

static int sd_valid_prefix(const char *p) {
  for (; p != NULL && *p; p++)
    if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.' && *p != '-')
      return 0;
  return 1;
}

/* ---- output -------------------------------------------------------------- */

static void sd_flush(struct sd_inst *s) {
  if (s->pkt_len == 0)
    return;
  if (s->fd >= 0 && send(s->fd, s->pkt, s->pkt_len, 0) < 0 && !s->failing) {
    s->failing = 1;
    s->host->log(s->host, TC_LOG_WARN, NULL,
                 "cannot send to statsd at %s:%s: %s (will keep trying)",
                 s->node, s->service, strerror(errno));
  }
  s->pkt_len = 0;
}

static void sd_line(struct sd_inst *s, const char *line, size_t len) {
  if (s->pkt_len > 0 && s->pkt_len + 1 + len > SD_MAX_PACKET)
    sd_flush(s);
  if (s->pkt_len > 0)
    s->pkt[s->pkt_len++] = '\n';
  memcpy(s->pkt + s->pkt_len, line, len);
  s->pkt_len += len;
}

/* Shortest decimal that reads back as v. */
static void sd_number(char *buf, size_t len, double v) {
  if (v == floor(v) && fabs(v) < 1e15) { /* integers as integers */
    snprintf(buf, len, "%.0f", v);
    return;
  }
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, len, "%.*g", prec, v);
    if (strtod(buf, NULL) == v)
      return;
  }
}

/* Append `s` to buf at *n, replacing characters that would break the
 * StatsD syntax (name: anything outside [A-Za-z0-9_.-]; tag: , | # and
 * control characters). */
static void sd_append(char *buf, size_t cap, size_t *n, const char *s,
                      int is_name) {
  for (; s != NULL && *s && *n + 1 < cap; s++) {
    unsigned char c = (unsigned char)*s;
    int bad = is_name ? !(isalnum(c) || c == '_' || c == '.' || c == '-')
                      : (c < 0x20 || c == ',' || c == '|' || c == '#');
    buf[(*n)++] = bad ? '_' : (char)c;
  }
  buf[*n] = '\0';
}

/* Append syntax characters as they are. */
static void sd_raw(char *buf, size_t cap, size_t *n, const char *s) {
  for (; *s && *n + 1 < cap; s++)
    buf[(*n)++] = *s;
  buf[*n] = '\0';
}

/* "<prefix>.<name><suffix>" into buf; the tag part into tags. */
static void sd_names(const struct sd_inst *s, const struct tc_metric_sample *m,
                     const char *suffix, char *name, size_t name_cap,
                     char *tags, size_t tags_cap) {
  size_t n = 0, t = 0;
  name[0] = tags[0] = '\0';
  if (s->prefix != NULL && s->prefix[0] != '\0') {
    sd_append(name, name_cap, &n, s->prefix, 1);
    sd_append(name, name_cap, &n, ".", 1);
  }
  sd_append(name, name_cap, &n, m->desc->name, 1);
  sd_append(name, name_cap, &n, suffix, 1);
  const char *const *ln = m->desc->label_names;
  for (size_t i = 0; ln != NULL && ln[i] != NULL; i++) {
    sd_raw(tags, tags_cap, &t, i ? "," : "|#");
    sd_append(tags, tags_cap, &t, ln[i], 0);
    sd_raw(tags, tags_cap, &t, ":");
    sd_append(tags, tags_cap, &t, m->label_values ? m->label_values[i] : "", 0);
  }
}

/* The increase of a counter-like series since the last export. */
static double sd_delta(struct sd_inst *s, const char *name, const char *tags,
                       double now) {
  char key[1024];
  snprintf(key, sizeof(key), "%s%s", name, tags);
  uint32_t h = 2166136261u;
  for (const char *p = key; *p; p++)
    h = (h ^ (unsigned char)*p) * 16777619u;
  struct sd_prev **slot = &s->prev[h % SD_PREV_BUCKETS];
  for (struct sd_prev *p = *slot; p != NULL; p = p->next) {
    if (strcmp(p->key, key) == 0) {
      double d = now - p->value;
      p->value = now;
      return d;
    }
  }
  struct sd_prev *p = calloc(1, sizeof(*p));
  if (p == NULL || (p->key = strdup(key)) == NULL) {
    free(p);
    return 0; /* no memory: skip rather than resend the total each time */
  }
  p->value = now;
  p->next = *slot;
  *slot = p;
  return now;
}

static void sd_emit(struct sd_inst *s, const char *name, const char *tags,
                    double v, const char *type) {
  char num[40], line[SD_MAX_PACKET + 1];
  sd_number(num, sizeof(num), v);
  int n = snprintf(line, sizeof(line), "%s:%s|%s%s", name, num, type, tags);
  if (n <= 0 || (size_t)n >= sizeof(line)) { /* never send a cut line */
    s->host->log(s->host, TC_LOG_DEBUG, NULL, "dropped an oversized line");
    return;
  }
  sd_line(s, line, (size_t)n);
}

static int sd_visit(void *ud, const struct tc_metric_sample *m) {
  struct sd_inst *s = ud;
  char name[512], tags[1024];
  switch (m->desc->kind) {
  case TC_METRIC_COUNTER: {
    sd_names(s, m, "", name, sizeof(name), tags, sizeof(tags));
    double d = sd_delta(s, name, tags, m->value);
    if (d > 0)
      sd_emit(s, name, tags, d, "c");
    break;
  }
  case TC_METRIC_GAUGE:
    if (!isfinite(m->value))
      break;
    sd_names(s, m, "", name, sizeof(name), tags, sizeof(tags));
    if (m->value < 0) /* a leading '-' means "decrement": reset first */
      sd_emit(s, name, tags, 0, "g");
    sd_emit(s, name, tags, m->value, "g");
    break;
  case TC_METRIC_HISTOGRAM: {
    sd_names(s, m, "_count", name, sizeof(name), tags, sizeof(tags));
    double d = sd_delta(s, name, tags, (double)m->count);
    if (d > 0)
      sd_emit(s, name, tags, d, "c");
    sd_names(s, m, "_sum", name, sizeof(name), tags, sizeof(tags));
    d = sd_delta(s, name, tags, m->sum);
    if (d > 0)
      sd_emit(s, name, tags, d, "c");
    break;
  }
  default:
    break;
  }
  return TC_OK;
}

/* ---- the exporter thread --------------------------------------------------
 */

static int sd_connect(struct sd_inst *s) {
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_DGRAM;
  int gai = getaddrinfo(s->node, s->service, &hints, &res);
  if (gai != 0) {
    if (!s->failing)
      s->host->log(s->host, TC_LOG_WARN, NULL,
                   "cannot resolve statsd address %s:%s: %s (will retry "
                   "every interval)",
                   s->node, s->service, gai_strerror(gai));
    s->failing = 1;
    return -1;
  }
  int err = 0;
  for (struct addrinfo *ai = res; ai != NULL && s->fd < 0; ai = ai->ai_next) {
    int fd =
        socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      err = errno;
      continue;
    }
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      s->fd = fd;
    } else {
      err = errno;
      close(fd);
    }
  }
  freeaddrinfo(res);
  if (s->fd < 0) {
    if (!s->failing)
      s->host->log(s->host, TC_LOG_WARN, NULL,
                   "cannot open a UDP socket to statsd at %s:%s: %s (will "
                   "retry every interval)",
                   s->node, s->service, strerror(err));
    s->failing = 1;
    return -1;
  }
  return 0;
}

static void sd_export(struct sd_inst *s) {
  if (s->fd < 0 && sd_connect(s) != 0)
    return;
  int was_failing = s->failing;
  s->failing = 0;
  s->host->metrics_visit(s->host, sd_visit, s);
  sd_flush(s);
  if (was_failing && !s->failing)
    s->host->log(s->host, TC_LOG_INFO, NULL, "exporting to statsd at %s:%s",
                 s->node, s->service);
}

static void sd_deadline_add(struct timespec *ts, int64_t ms) {
  ts->tv_sec += (time_t)(ms / 1000);
  ts->tv_nsec += (long)(ms % 1000) * 1000000L;
  if (ts->tv_nsec >= 1000000000L) {
    ts->tv_sec++;
    ts->tv_nsec -= 1000000000L;
  }
}

static void *sd_thread(void *arg) {
  struct sd_inst *s = arg;
  struct timespec deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  sd_deadline_add(&deadline, s->interval_ms);
  pthread_mutex_lock(&s->lock);
  while (!s->stopping) {
    int rc = pthread_cond_timedwait(&s->cond, &s->lock, &deadline);
    if (s->stopping)
      break;
    if (rc == ETIMEDOUT) {
      pthread_mutex_unlock(&s->lock);
      sd_export(s);
      sd_deadline_add(&deadline, s->interval_ms);
      pthread_mutex_lock(&s->lock);
    }
  }
  pthread_mutex_unlock(&s->lock);
  sd_export(s); /* final flush so the last increases are not lost */
  return NULL;
}

/* ---- the vtable
 * -------------------------------------------------------------- */

static void sd_destroy(void *inst);

static int sd_create(const struct tc_host *host, void **inst, char **errmsg) {
  struct sd_inst *s = host->alloc(sizeof(*s));
  if (s == NULL)
    return TC_ENOMEM;
  memset(s, 0, sizeof(*s));
  s->host = host;
  s->fd = -1;
  s->interval_ms = sd_cfg != NULL ? sd_cfg->interval_ms : 10000;
  s->prefix = host->format(
      "%s", sd_cfg != NULL && sd_cfg->prefix != NULL ? sd_cfg->prefix : "");
  const char *addr = sd_cfg != NULL ? sd_cfg->address : NULL;
  if (addr == NULL) {
    host->free(s->prefix);
    host->free(s);
    *inst = NULL; /* export disabled */
    return TC_OK;
  }
  pthread_condattr_t ca;
  int ok = s->prefix != NULL &&
           sd_split_address(host, addr, &s->node, &s->service) == 0 &&
           pthread_condattr_init(&ca) == 0;
  if (ok) {
    ok = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0 &&
         pthread_cond_init(&s->cond, &ca) == 0;
    pthread_condattr_destroy(&ca);
  }
  if (ok && pthread_mutex_init(&s->lock, NULL) != 0) {
    pthread_cond_destroy(&s->cond);
    ok = 0;
  }
  if (!ok) {
    host->free(s->prefix);
    host->free(s->node);
    host->free(s->service);
    host->free(s);
    *errmsg = host->format("cannot set up the statsd exporter (address "
                           "\"%s\"; use host:port)",
                           addr ? addr : "");
    return TC_ECONFIG;
  }
  *inst = s;
  return TC_OK;
}

static int sd_start(void *inst, char **errmsg) {
  struct sd_inst *s = inst;
  if (s == NULL)
    return TC_OK; /* no address configured: export disabled */
  int rc = pthread_create(&s->thread, NULL, sd_thread, s);
  if (rc != 0) {
    *errmsg = s->host->format("cannot start the statsd exporter thread: %s",
                              strerror(rc));
    return TC_ERR;
  }
  s->thread_started = 1;
  s->host->log(s->host, TC_LOG_DEBUG, NULL,
               "exporting to statsd at %s:%s every %lld ms", s->node,
               s->service, (long long)s->interval_ms);
  return TC_OK;
}

static void sd_stop(void *inst) {
  struct sd_inst *s = inst;
  if (s == NULL || !s->thread_started)
    return;
  pthread_mutex_lock(&s->lock);
  s->stopping = 1;
  pthread_cond_signal(&s->cond);
  pthread_mutex_unlock(&s->lock);
  pthread_join(s->thread, NULL);
  s->thread_started = 0;
  if (s->fd >= 0) {
    close(s->fd);
    s->fd = -1;
  }
}

static void sd_destroy(void *inst) {
  struct sd_inst *s = inst;
  if (s == NULL)
    return;
  sd_stop(s);
  for (size_t i = 0; i < SD_PREV_BUCKETS; i++) {
    struct sd_prev *p = s->prev[i];
    while (p != NULL) {
      struct sd_prev *next = p->next;
      free(p->key);
      free(p);
      p = next;
    }
  }
  pthread_cond_destroy(&s->cond);
  pthread_mutex_destroy(&s->lock);
  s->host->free(s->prefix);
  s->host->free(s->node);
  s->host->free(s->service);
  s->host->free(s);
}

static const struct tc_metrics_sink_vtable sd_sink = {
    .struct_size = sizeof(struct tc_metrics_sink_vtable),
    .name = "statsd",
    .flags = TC_SINK_PUSH,
    .create = sd_create,
    .start = sd_start,
    .stop = sd_stop,
    .destroy = sd_destroy,
};

static int sd_init(const struct tc_host *host, struct tc_registrar *reg,
                   const void *config, char **errmsg) {
  const struct sd_config *cfg = config;
  char *node = NULL, *service = NULL;
  int ok = cfg != NULL &&
           (cfg->address == NULL ||
            sd_split_address(host, cfg->address, &node, &service) == 0);
  host->free(node);
  host->free(service);
  if (!ok) {
    *errmsg = host->format("setting \"address\" must be host:port or "
                           "[ipv6]:port with a port in 1-65535, e.g. "
                           "127.0.0.1:8125");
    return TC_ECONFIG;
  }
  if (!sd_valid_prefix(cfg->prefix)) {
    *errmsg = host->format("setting \"prefix\" may contain only letters, "
                           "digits, '_', '.' and '-'");
    return TC_ECONFIG;
  }
  sd_cfg = cfg;
  return reg->add_metrics_sink(reg, &sd_sink, errmsg);
}

static const struct tc_config_field sd_fields[] = {
    {"address", TC_CFG_STRING, NULL, offsetof(struct sd_config, address),
     "StatsD server as host:port (UDP); export is off until it is set", 0, 0},
    {"interval", TC_CFG_DURATION, "10s",
     offsetof(struct sd_config, interval_ms),
     "how often the metrics are exported", 100, 3600000},
    {"prefix", TC_CFG_STRING, "tunnel_client",
     offsetof(struct sd_config, prefix),
     "prepended to every metric name, with a '.'", 0, 0},
    TC_CONFIG_END};

TC_MODULE_DEFINE(metrics_statsd, .name = "metrics-statsd", .version = "0.1.0",
                 .init = sd_init,
                 .summary = "StatsD export over UDP every interval (push sink "
                            "\"statsd\"; labels as DogStatsD tags)",
                 .config = sd_fields, .config_size = sizeof(struct sd_config));
