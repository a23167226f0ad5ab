/* mcp-stdio — the "stdio" transport: an MCP server run as a child process
 * speaking newline-delimited JSON-RPC over stdin/stdout.
 *
 * The command is split shell-style (ms_argv.c) and spawned without a shell
 * (PATH lookup, cwd inherited). stderr lines go to the log with
 * the channel as instance. Concurrent calls are multiplexed: each request's
 * id is replaced by a unique internal integer before it is written, and the
 * reply carrying that integer gets the original id text back — by splicing
 * bytes (ms_json.c): nothing is decoded and re-encoded, so ids of any size
 * work and every other byte passes as it came. A reply is held once (a
 * large one leaves in the buffer it was read into) and counted against
 * the in-flight reply budget; one that does not fit, or is over 64 MiB,
 * fails its own call (found from the line's first or last bytes; when it
 * cannot be told, the child is restarted). Notifications
 * from the server go to the in-flight call whose request named the same
 * progressToken (params._meta.progressToken or params.progressToken); a
 * notification without a token goes to the oldest in-flight call; the rest
 * (a token nobody in flight named, e.g. that of a timed-out call, or no
 * call in flight) are dropped (debug log). Server->client requests are
 * answered with -32601. A call that times out or is canceled retires its
 * internal id (ids are never reused); a late reply is dropped.
 *
 * The child's environment and descriptors: the binding's child_env (ABI
 * 1.3: the agent's environment without its secrets; `environ` from an
 * older core), and no descriptor but its three pipes: every other one is
 * closed in the child before exec (glibc's closefrom action: close_range,
 * or a walk of /proc/self/fd), also those libraries open without
 * close-on-exec. stderr is logged within limits (ms_stderr.c: per-line
 * cut, a token bucket, a summary of what was dropped); its last lines are
 * kept for the admin API (admin_state, ABI 1.3).
 *
 * When the child exits, in-flight calls fail with transport_closed/eof and
 * the child is restarted with backoff (200 ms doubling up to
 * restart_backoff_max); the last successful `initialize` is replayed to the
 * new child (reply swallowed), followed by notifications/initialized. Calls
 * that arrive meanwhile wait for the restart, bounded by their deadline;
 * probe() answers TC_AGAIN "mcp stdio child restarting" until then.
 *
 * initialize fails closed: one that gets an error reply forgets the saved
 * initialize (a restart replays nothing), and one that gets no reply before
 * its deadline also kills the child (the server may hold a session the
 * tunnel never saw), which then restarts uninitialized. A replayed
 * initialize that gets no reply within MS_REPLAY_TIMEOUT_MS kills the child
 * again.
 *
 * A configuration reload keeps the instance (and its child) as long as the
 * command line is the same (reusable_for).
 *
 * Threads: one supervisor thread per instance reads the child's stdout and
 * restarts it; one stderr thread per child. call() runs on worker threads;
 * replies and notifications are handed to it through its pending record and
 * delivered to the sink from the worker's own thread. Writing to a dead
 * child relies on SIGPIPE being ignored (the core does so at startup). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <tc/tc.h>

#include "ms_internal.h"

extern char **environ;

#if !defined(__GLIBC__) ||                                                     \
    (__GLIBC__ < 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ < 34))
#error "mcp-stdio needs posix_spawn_file_actions_addclosefrom_np (glibc 2.34+)"
#endif

#define MS_READ_BUF (64u * 1024u) /* the stdout buffer between messages */
#define MS_PEEK 256 /* bytes kept of a line too large to hold (its id) */
#define MS_POLL_NS 50000000ull /* cancel polling period */
#define MS_BACKOFF_MIN_MS 200
#define MS_REPLAY_TIMEOUT_MS 10000 /* a replayed initialize's reply */
#define MS_FIRST_PROBE_WAIT_MS 1000

struct ms_config {
  int64_t restart_backoff_max_ms;
  int64_t shutdown_grace_ms;
  int64_t stderr_line_max;
  int64_t message_max;
  int64_t stderr_lines_per_second;
  int64_t stderr_burst;
  int64_t stderr_tail_lines;
};

/* Set by init on the main thread before any instance exists. */
static int64_t ms_backoff_max_ms = 10000;
static int64_t ms_grace_ms = 2000;
static size_t ms_message_max = 64u << 20; /* one JSON-RPC message */
static struct ms_stderr_limits ms_stderr_lim = {1024, 20, 200, 20};

enum ms_state { MS_IDLE, MS_RESTARTING, MS_RUNNING, MS_STOPPED };

struct ms_msg {
  struct ms_msg *next;
  char *body;
  size_t len;
};

/* Why a call's reply could not be kept (it was read and dropped). */
enum ms_lost { MS_LOST_NONE = 0, MS_LOST_TOO_LARGE, MS_LOST_BUDGET };

/* One in-flight request; lives on the calling worker's stack, linked into
 * the instance's list (oldest first) while registered. Guarded by lock. */
struct ms_pending {
  struct ms_pending *next;
  uint64_t id;                  /* internal id */
  struct ms_span progress;      /* the request's progressToken (in its body) */
  struct ms_msg *nhead, *ntail; /* notifications not yet delivered */
  /* The terminal message, still carrying the internal id at reply_id:
   * the reader's buffer itself for a large reply (handed over with the
   * budget bytes it holds), else a copy. */
  char *reply;
  size_t reply_len, reply_cap, reply_reserved;
  size_t reply_id_off, reply_id_len;
  enum ms_lost lost; /* the reply came but could not be kept */
  int closed;        /* the child went away */
};

struct ms_inst {
  const struct tc_host *host;
  char *channel;
  char *command; /* the binding's command line, as given */
  char **argv;
  char *const *envp;    /* the binding's child_env (borrowed) or environ */
  pthread_mutex_t lock; /* guards everything below but in_fd */
  pthread_cond_t cond;  /* CLOCK_MONOTONIC; state/pending/pid changes */
  enum ms_state state;
  int stopping;
  pid_t pid; /* 0 when no unreaped child */
  int out_fd, err_fd;
  pthread_t sup_thr, err_thr;
  int sup_started, err_started;
  long err_pid;                /* the child err_thr reads from */
  struct ms_stderr err_state;  /* limits, counters, last lines */
  unsigned long long restarts; /* children started after the first */
  uint64_t next_id;
  uint64_t replay_id; /* internal id of a replayed initialize, or 0 */
  uint64_t replay_started_ns;
  int probed; /* probe() was called before */
  /* The last successful initialize as written to the child (one line) and
   * where its id sits, for the replay after a restart; NULL when none. */
  char *init_line;
  size_t init_len, init_id_off, init_id_len;
  struct ms_pending *pending;
  pthread_mutex_t write_lock; /* guards in_fd and whole-line writes */
  int in_fd;
};

/* ---- small helpers --------------------------------------------------------
 */

static uint64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Wait on cond until woken or until monotonic `until_ns`. Lock held. */
static void cond_wait_until(struct ms_inst *mi, uint64_t until_ns) {
  struct timespec ts;
  ts.tv_sec = (time_t)(until_ns / 1000000000ull);
  ts.tv_nsec = (long)(until_ns % 1000000000ull);
  pthread_cond_timedwait(&mi->cond, &mi->lock, &ts);
}

/* Write [buf, buf + n), one or more whole lines, to the child's stdin as
 * one unit. 0 or -1. */
static int write_raw(struct ms_inst *mi, const char *buf, size_t n) {
  int rc = 0;
  pthread_mutex_lock(&mi->write_lock);
  if (mi->in_fd < 0) {
    rc = -1;
  } else {
    size_t off = 0;
    while (off < n) {
      ssize_t w = write(mi->in_fd, buf + off, n - off);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0) {
        rc = -1;
        break;
      }
      off += (size_t)w;
    }
  }
  pthread_mutex_unlock(&mi->write_lock);
  return rc;
}

/* Write `s` plus '\n' to the child's stdin as one unit. 0 or -1. */
static int write_line(struct ms_inst *mi, const char *s, size_t n) {
  char *buf = malloc(n + 1);
  if (buf == NULL)
    return -1;
  memcpy(buf, s, n);
  buf[n] = '\n';
  int rc = write_raw(mi, buf, n + 1);
  free(buf);
  return rc;
}

static void close_stdin(struct ms_inst *mi) {
  pthread_mutex_lock(&mi->write_lock);
  if (mi->in_fd >= 0)
    close(mi->in_fd);
  mi->in_fd = -1;
  pthread_mutex_unlock(&mi->write_lock);
}

static void msgs_free(struct ms_msg *m) {
  while (m != NULL) {
    struct ms_msg *n = m->next;
    free(m->body);
    free(m);
    m = n;
  }
}

/* The in-flight reply budget (ABI 1.4; without it nothing is counted). */
static int budget_reserve(const struct tc_host *h, size_t n) {
  if (n == 0 || !TC_HOST_HAS(h, reply_reserve) || h->reply_reserve == NULL)
    return TC_OK;
  return h->reply_reserve(h, n);
}

static void budget_release(const struct tc_host *h, size_t n) {
  if (n > 0 && TC_HOST_HAS(h, reply_release) && h->reply_release != NULL)
    h->reply_release(h, n);
}

static void pending_unlink(struct ms_inst *mi, struct ms_pending *p) {
  for (struct ms_pending **pp = &mi->pending; *pp != NULL; pp = &(*pp)->next) {
    if (*pp == p) {
      *pp = p->next;
      return;
    }
  }
}

/* ---- child process --------------------------------------------------------
 */

static void *stderr_main(void *arg);

/* Spawn the child with three CLOEXEC pipes. Lock held. 0, or errno. */
static int spawn_child(struct ms_inst *mi) {
  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
  int rc = 0;
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 ||
      pipe2(err, O_CLOEXEC) != 0) {
    rc = errno;
    goto done;
  }
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  posix_spawn_file_actions_init(&fa);
  posix_spawnattr_init(&attr);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  /* Nothing else crosses exec: not our pipes' other ends, not sockets
   * that libraries opened without close-on-exec. */
  int cfrc = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  if (cfrc != 0) {
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    rc = cfrc;
    goto done;
  }
  sigset_t none, defs;
  sigemptyset(&none);
  sigemptyset(&defs);
  sigaddset(&defs, SIGPIPE);
  sigaddset(&defs, SIGTERM);
  sigaddset(&defs, SIGINT);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defs);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = 0;
  rc = posix_spawnp(&pid, mi->argv[0], &fa, &attr, mi->argv, mi->envp);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0)
    goto done;
  mi->pid = pid;
  pthread_mutex_lock(&mi->write_lock);
  mi->in_fd = in[1];
  pthread_mutex_unlock(&mi->write_lock);
  in[1] = -1;
  mi->out_fd = out[0];
  out[0] = -1;
  mi->err_fd = err[0];
  err[0] = -1;
  mi->err_pid = (long)pid;
  if (pthread_create(&mi->err_thr, NULL, stderr_main, mi) == 0)
    mi->err_started = 1;
  mi->host->log(mi->host, TC_LOG_INFO, mi->channel,
                "started MCP server process %s (pid %ld)", mi->argv[0],
                (long)pid);
done:
  for (int i = 0; i < 2; i++) {
    if (in[i] >= 0)
      close(in[i]);
    if (out[i] >= 0)
      close(out[i]);
    if (err[i] >= 0)
      close(err[i]);
  }
  return rc;
}

/* After stdout EOF: close stdin, give the child a moment, then SIGTERM and
 * finally SIGKILL; reap it and its stderr thread. Supervisor thread only
 * (the only reaper). Signals are sent under lock while the pid is unreaped,
 * so they never reach a recycled pid. */
static void reap_child(struct ms_inst *mi) {
  close_stdin(mi);
  uint64_t t0 = mono_ns();
  int sent_term = 0, sent_kill = 0, status = 0;
  pthread_mutex_lock(&mi->lock);
  while (mi->pid != 0) {
    pid_t r = waitpid(mi->pid, &status, WNOHANG);
    if (r == mi->pid || (r < 0 && errno == ECHILD)) {
      if (r == mi->pid && WIFSIGNALED(status))
        mi->host->log(mi->host, mi->stopping ? TC_LOG_INFO : TC_LOG_WARN,
                      mi->channel, "MCP server process %ld ended by signal %d",
                      (long)mi->pid, WTERMSIG(status));
      else if (r == mi->pid)
        mi->host->log(mi->host, mi->stopping ? TC_LOG_INFO : TC_LOG_WARN,
                      mi->channel, "MCP server process %ld exited (%d)",
                      (long)mi->pid, WEXITSTATUS(status));
      mi->pid = 0;
      pthread_cond_broadcast(&mi->cond);
      break;
    }
    uint64_t el = mono_ns() - t0;
    if (!sent_term && el > 500000000ull) {
      kill(mi->pid, SIGTERM);
      sent_term = 1;
    } else if (!sent_kill &&
               el > 500000000ull + (uint64_t)ms_grace_ms * 1000000ull) {
      kill(mi->pid, SIGKILL);
      sent_kill = 1;
    }
    cond_wait_until(mi, mono_ns() + 20000000ull);
  }
  pthread_mutex_unlock(&mi->lock);
  if (mi->err_started) {
    pthread_join(mi->err_thr, NULL);
    mi->err_started = 0;
  }
  close(mi->err_fd);
  close(mi->out_fd);
  mi->err_fd = mi->out_fd = -1;
}

/* ---- reading ---------------------------------------------------------------
 */

static void *stderr_main(void *arg) {
  struct ms_inst *mi = arg;
  ms_stderr_drain(&mi->err_state, mi->err_fd, mi->err_pid, mi->host,
                  mi->channel);
  return NULL;
}

/* A request from the server: the tunnel cannot carry it to the client, so
 * it is answered -32601 at once (the server's own error then reaches the
 * tool call). */
static void answer_server_request(struct ms_inst *mi, const struct ms_view *v) {
  char method[96];
  size_t mn = v->method.n >= 2 ? v->method.n - 2 : 0;
  snprintf(method, sizeof(method), "%.*s", (int)(mn < 80 ? mn : 80),
           v->method.p != NULL ? v->method.p + 1 : "");
  for (char *c = method; *c != '\0'; c++)
    if ((unsigned char)*c < 0x20 || *c == '\\' || *c == '"')
      *c = '?';
  mi->host->log(mi->host, TC_LOG_WARN, mi->channel,
                "MCP server sent a request (%s); answering -32601", method);
  static const char head[] = "{\"jsonrpc\":\"2.0\",\"id\":";
  static const char tail[] =
      ",\"error\":{\"code\":-32601,\"message\":\"Method not found\"}}";
  size_t n = sizeof(head) - 1 + v->id.n + sizeof(tail) - 1;
  char *line = malloc(n + 1);
  if (line == NULL)
    return;
  memcpy(line, head, sizeof(head) - 1);
  memcpy(line + sizeof(head) - 1, v->id.p, v->id.n);
  memcpy(line + sizeof(head) - 1 + v->id.n, tail, sizeof(tail) - 1);
  line[n] = '\0';
  write_line(mi, line, n);
  free(line);
}

static void finish_replay(struct ms_inst *mi) {
  static const char note[] =
      "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}";
  write_line(mi, note, sizeof(note) - 1);
  pthread_mutex_lock(&mi->lock);
  mi->replay_id = 0;
  if (mi->state == MS_RESTARTING)
    mi->state = MS_RUNNING;
  pthread_cond_broadcast(&mi->cond);
  pthread_mutex_unlock(&mi->lock);
  mi->host->log(mi->host, TC_LOG_INFO, mi->channel,
                "replayed initialize to the restarted MCP server");
}

static void route_notification(struct ms_inst *mi, const char *line, size_t len,
                               struct ms_span tok) {
  struct ms_msg *m = malloc(sizeof(*m));
  char *copy = malloc(len + 1);
  if (m == NULL || copy == NULL) {
    free(m);
    free(copy);
    return;
  }
  memcpy(copy, line, len);
  copy[len] = '\0';
  m->next = NULL;
  m->body = copy;
  m->len = len;
  pthread_mutex_lock(&mi->lock);
  struct ms_pending *to = NULL;
  for (struct ms_pending *p = mi->pending; tok.p != NULL && p != NULL;
       p = p->next)
    if (ms_token_equal(p->progress, tok))
      to = p;
  if (to == NULL && tok.p == NULL)
    to = mi->pending; /* the oldest in-flight call */
  if (to != NULL) {
    if (to->ntail != NULL)
      to->ntail->next = m;
    else
      to->nhead = m;
    to->ntail = m;
    m = NULL;
    pthread_cond_broadcast(&mi->cond);
  }
  pthread_mutex_unlock(&mi->lock);
  if (m != NULL) {
    mi->host->log(mi->host, TC_LOG_DEBUG, mi->channel,
                  "no in-flight call for a notification; dropped");
    msgs_free(m);
  }
}

/* The child's stdout, read line by line. A line is held once: a large
 * reply leaves in the buffer it was read into (the reader starts a new
 * one), a small one is copied. Growth beyond MS_READ_BUF is charged to
 * the in-flight reply budget. */
struct ms_reader {
  struct ms_inst *mi;
  char *buf;
  size_t len, cap;
  size_t reserved; /* budget bytes held for cap beyond MS_READ_BUF */
  /* Skipping a line that cannot be held (too large, or the budget is
   * full) up to its end; its first and last bytes tell whose reply it was. */
  enum ms_lost skipping;
  char head[MS_PEEK];
  size_t head_len;
  char tail[MS_PEEK];
  size_t tail_len;
};

/* The internal id of a reply line, or 0. */
static uint64_t internal_id(struct ms_span id) {
  uint64_t v = 0;
  if (id.p == NULL || id.n == 0 || id.n > 19 || id.p[0] == '0')
    return 0;
  for (size_t i = 0; i < id.n; i++) {
    if (id.p[i] < '0' || id.p[i] > '9')
      return 0;
    v = v * 10 + (uint64_t)(id.p[i] - '0');
  }
  return v;
}

/* Give the line [start, start + n) of the reader's buffer, whose remainder
 * starts at `rest`, to `p` without copying: the reader carries on with a
 * new buffer holding the remainder. Lock held. 0, or -1 on ENOMEM. */
static int hand_over(struct ms_reader *rd, struct ms_pending *p, size_t start,
                     size_t n, size_t rest) {
  size_t left = rd->len - rest;
  size_t cap = MS_READ_BUF;
  while (cap < left)
    cap *= 2;
  char *nb = malloc(cap);
  if (nb == NULL)
    return -1;
  size_t extra = cap - MS_READ_BUF;
  if (budget_reserve(rd->mi->host, extra) != TC_OK)
    extra = 0; /* already read: held anyway, just not counted */
  memcpy(nb, rd->buf + rest, left);
  memmove(rd->buf, rd->buf + start, n);
  rd->buf[n] = '\0';
  p->reply = rd->buf;
  p->reply_len = n;
  p->reply_cap = rd->cap;
  p->reply_reserved = rd->reserved;
  rd->buf = nb;
  rd->cap = cap;
  rd->len = left;
  rd->reserved = extra;
  return 0;
}

/* One complete line [start, start + n) whose remainder begins at `rest`.
 * Returns 1 when the line left with the buffer (rd->buf now starts with
 * the remainder), else 0. */
static int handle_line(struct ms_reader *rd, size_t start, size_t n,
                       size_t rest) {
  struct ms_inst *mi = rd->mi;
  const char *line = rd->buf + start;
  struct ms_view v;
  if (ms_view(mi->host, line, n, &v) != 0) {
    mi->host->log(mi->host, TC_LOG_WARN, mi->channel,
                  "MCP server wrote a line that is not a JSON-RPC object "
                  "(%zu bytes); ignored",
                  n);
    return 0;
  }
  int has_id = v.id.p != NULL && !ms_is_null(v.id);
  if (has_id && v.method.p != NULL) {
    answer_server_request(mi, &v);
    return 0;
  }
  if (!has_id && v.method.p != NULL) {
    route_notification(mi, line, n, v.progress);
    return 0;
  }
  uint64_t iid = internal_id(v.id);
  int replay = 0, routed = 0, taken = 0;
  pthread_mutex_lock(&mi->lock);
  if (iid != 0 && iid == mi->replay_id) {
    replay = 1;
  } else {
    for (struct ms_pending *p = mi->pending; iid != 0 && p != NULL;
         p = p->next) {
      if (p->id != iid || p->reply != NULL || p->lost != MS_LOST_NONE)
        continue;
      p->reply_id_off = (size_t)(v.id.p - line);
      p->reply_id_len = v.id.n;
      if (n >= MS_READ_BUF / 2 && hand_over(rd, p, start, n, rest) == 0) {
        taken = 1;
      } else {
        p->reply = malloc(n + 1);
        if (p->reply != NULL) {
          memcpy(p->reply, line, n);
          p->reply[n] = '\0';
          p->reply_len = n;
          p->reply_cap = n + 1;
        } else {
          p->closed = 1;
        }
      }
      routed = 1;
      pthread_cond_broadcast(&mi->cond);
      break;
    }
  }
  pthread_mutex_unlock(&mi->lock);
  if (replay && !v.has_result)
    mi->host->log(mi->host, TC_LOG_WARN, mi->channel,
                  "the restarted MCP server refused the replayed "
                  "initialize; serving it uninitialized");
  if (replay)
    finish_replay(mi);
  else if (!routed)
    mi->host->log(mi->host, TC_LOG_DEBUG, mi->channel,
                  "discarded a reply for a retired or unknown id");
  return taken;
}

/* Keep the last bytes of a skipped line. */
static void keep_tail(struct ms_reader *rd, const char *p, size_t n) {
  if (n >= MS_PEEK) {
    memcpy(rd->tail, p + n - MS_PEEK, MS_PEEK);
    rd->tail_len = MS_PEEK;
    return;
  }
  size_t keep = rd->tail_len + n > MS_PEEK ? MS_PEEK - n : rd->tail_len;
  memmove(rd->tail, rd->tail + rd->tail_len - keep, keep);
  memcpy(rd->tail + keep, p, n);
  rd->tail_len = keep + n;
}

/* The line being read cannot be held: keep its first bytes, give the
 * memory back, and skip to its end. */
static void start_skipping(struct ms_reader *rd, enum ms_lost why) {
  rd->skipping = why;
  rd->head_len = rd->len < MS_PEEK ? rd->len : MS_PEEK;
  memcpy(rd->head, rd->buf, rd->head_len);
  rd->tail_len = 0;
  keep_tail(rd, rd->buf, rd->len);
  rd->len = 0;
  char *nb = realloc(rd->buf, MS_READ_BUF);
  if (nb != NULL) {
    rd->buf = nb;
    rd->cap = MS_READ_BUF;
    budget_release(rd->mi->host, rd->reserved);
    rd->reserved = 0;
  }
}

/* A skipped line ended: fail the call it answered, found from its first
 * or last bytes; when that cannot be told, restart the child so that no
 * call waits for a reply that will never come. */
static void end_skipping(struct ms_reader *rd) {
  struct ms_inst *mi = rd->mi;
  enum ms_lost why = rd->skipping;
  rd->skipping = MS_LOST_NONE;
  uint64_t iid = ms_peek_head_id(rd->head, rd->head_len);
  if (iid == 0)
    iid = ms_peek_tail_id(rd->tail, rd->tail_len);
  int found = 0;
  pthread_mutex_lock(&mi->lock);
  for (struct ms_pending *p = mi->pending; iid != 0 && p != NULL; p = p->next)
    if (p->id == iid && p->reply == NULL) {
      p->lost = why;
      found = 1;
      pthread_cond_broadcast(&mi->cond);
    }
  pid_t pid = found ? 0 : mi->pid;
  if (pid != 0)
    kill(pid, SIGKILL);
  pthread_mutex_unlock(&mi->lock);
  const char *what = why == MS_LOST_BUDGET
                         ? "did not fit in the in-flight reply budget "
                           "(--mcp.max-inflight-reply-bytes)"
                         : "is over the limit of one message (mcp-stdio "
                           "setting message_max)";
  if (found)
    mi->host->log(mi->host, TC_LOG_WARN, mi->channel,
                  "a reply of the MCP server %s; that call fails", what);
  else
    mi->host->log(mi->host, TC_LOG_ERROR, mi->channel,
                  "a message of the MCP server %s and names no call; "
                  "restarting the server process",
                  what);
}

/* Room for more bytes after rd->len. 0, or -1 to skip the line. */
static int grow(struct ms_reader *rd) {
  if (rd->cap >= ms_message_max) {
    start_skipping(rd, MS_LOST_TOO_LARGE);
    return -1;
  }
  size_t cap = rd->cap * 2 < ms_message_max ? rd->cap * 2 : ms_message_max;
  if (budget_reserve(rd->mi->host, cap - rd->cap) != TC_OK) {
    start_skipping(rd, MS_LOST_BUDGET);
    return -1;
  }
  char *nb = realloc(rd->buf, cap);
  if (nb == NULL) {
    budget_release(rd->mi->host, cap - rd->cap);
    start_skipping(rd, MS_LOST_BUDGET);
    return -1;
  }
  rd->reserved += cap - rd->cap;
  rd->buf = nb;
  rd->cap = cap;
  return 0;
}

/* Read newline-delimited messages from the child's stdout until EOF. */
static void read_stdout(struct ms_inst *mi) {
  struct ms_reader rd;
  memset(&rd, 0, sizeof(rd));
  rd.mi = mi;
  rd.cap = MS_READ_BUF;
  rd.buf = malloc(rd.cap);
  if (rd.buf == NULL)
    return;
  size_t scanned = 0;
  for (;;) {
    if (rd.len == rd.cap && !rd.skipping && grow(&rd) != 0)
      scanned = 0;
    ssize_t r = read(mi->out_fd, rd.buf + rd.len, rd.cap - rd.len);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    if (rd.skipping) {
      char *nl = memchr(rd.buf, '\n', (size_t)r);
      if (nl == NULL) {
        keep_tail(&rd, rd.buf, (size_t)r);
        continue;
      }
      keep_tail(&rd, rd.buf, (size_t)(nl - rd.buf));
      end_skipping(&rd);
      size_t rest = (size_t)r - (size_t)(nl - rd.buf) - 1;
      memmove(rd.buf, nl + 1, rest);
      rd.len = rest;
      scanned = 0;
    } else {
      rd.len += (size_t)r;
    }
    size_t start = 0;
    for (size_t i = scanned; i < rd.len;) {
      char *nl = memchr(rd.buf + i, '\n', rd.len - i);
      if (nl == NULL)
        break;
      size_t end = (size_t)(nl - rd.buf), lend = end;
      if (lend > start && rd.buf[lend - 1] == '\r')
        lend--;
      if (lend > start && handle_line(&rd, start, lend - start, end + 1)) {
        start = i = 0; /* the buffer left with the line */
        continue;
      }
      start = i = end + 1;
    }
    memmove(rd.buf, rd.buf + start, rd.len - start);
    rd.len -= start;
    scanned = rd.len;
  }
  free(rd.buf);
  budget_release(mi->host, rd.reserved);
}

/* The child is gone: new calls wait for the restart, in-flight calls
 * fail. */
static void close_pending(struct ms_inst *mi) {
  pthread_mutex_lock(&mi->lock);
  if (!mi->stopping)
    mi->state = MS_RESTARTING;
  mi->replay_id = 0;
  for (struct ms_pending *p = mi->pending; p != NULL; p = p->next)
    p->closed = 1;
  pthread_cond_broadcast(&mi->cond);
  pthread_mutex_unlock(&mi->lock);
}

/* Lock held: state is RESTARTING, a child was just spawned. Replay the
 * last initialize (its reply is swallowed by handle_line) or go RUNNING. */
static void begin_replay(struct ms_inst *mi) {
  if (mi->init_line == NULL) {
    mi->state = MS_RUNNING;
    pthread_cond_broadcast(&mi->cond);
    return;
  }
  mi->replay_id = ++mi->next_id;
  mi->replay_started_ns = mono_ns();
  char id[24];
  int idn = snprintf(id, sizeof(id), "%llu", (unsigned long long)mi->replay_id);
  struct ms_span old = {mi->init_line + mi->init_id_off, mi->init_id_len};
  size_t n = 0;
  char *line =
      ms_splice_line(mi->init_line, mi->init_len - 1, old, id, (size_t)idn, &n);
  pthread_mutex_unlock(&mi->lock);
  if (line != NULL)
    write_raw(mi, line, n); /* a failure shows up as stdout EOF */
  free(line);
  pthread_mutex_lock(&mi->lock);
}

static void *supervisor_main(void *arg) {
  struct ms_inst *mi = arg;
  int64_t backoff = MS_BACKOFF_MIN_MS;
  uint64_t started = mono_ns();
  for (;;) {
    read_stdout(mi);
    close_pending(mi);
    reap_child(mi);
    /* A child that stayed up for 10 s resets the backoff. */
    if (mono_ns() - started > 10000000000ull)
      backoff = MS_BACKOFF_MIN_MS;
    pthread_mutex_lock(&mi->lock);
    for (;;) {
      uint64_t until = mono_ns() + (uint64_t)backoff * 1000000ull;
      while (!mi->stopping && mono_ns() < until)
        cond_wait_until(mi, until);
      if (mi->stopping)
        break;
      mi->host->log(mi->host, TC_LOG_INFO, mi->channel,
                    "restarting the MCP server process after %lld ms",
                    (long long)backoff);
      mi->restarts++;
      backoff =
          backoff * 2 > ms_backoff_max_ms ? ms_backoff_max_ms : backoff * 2;
      int rc = spawn_child(mi);
      if (rc == 0)
        break;
      mi->host->log(mi->host, TC_LOG_ERROR, mi->channel, "cannot start %s: %s",
                    mi->argv[0], strerror(rc));
    }
    if (mi->stopping) {
      mi->state = MS_STOPPED;
      pthread_cond_broadcast(&mi->cond);
      pthread_mutex_unlock(&mi->lock);
      return NULL;
    }
    begin_replay(mi);
    pthread_mutex_unlock(&mi->lock);
    started = mono_ns();
  }
}

/* ---- vtable -----------------------------------------------------------------
 */

static int ms_create(const struct tc_host *host,
                     const struct tc_binding *binding, void **inst,
                     char **errmsg) {
  const char *channel =
      binding != NULL && binding->channel != NULL ? binding->channel : "main";
  if (binding == NULL || binding->command == NULL ||
      binding->command[0] == '\0') {
    *errmsg = host->format("channel \"%s\": the stdio transport needs a "
                           "command (set --mcp.command)",
                           channel);
    return TC_ECONFIG;
  }
  char **argv = NULL;
  const char *why = NULL;
  int rc = ms_argv_split(binding->command, &argv, &why);
  if (rc == -2)
    return TC_ENOMEM;
  if (rc != 0) {
    *errmsg = host->format("channel \"%s\": cannot split the stdio command: "
                           "%s (quote words with '...' or \"...\")",
                           channel, why);
    return TC_ECONFIG;
  }
  struct ms_inst *mi = host->alloc(sizeof(*mi));
  if (mi == NULL) {
    ms_argv_free(argv);
    return TC_ENOMEM;
  }
  memset(mi, 0, sizeof(*mi));
  mi->host = host;
  mi->argv = argv;
  mi->in_fd = mi->out_fd = mi->err_fd = -1;
  mi->envp = environ;
  if (TC_HAS_FIELD(binding, struct tc_binding, child_env) &&
      binding->child_env != NULL)
    mi->envp = (char *const *)(uintptr_t)binding->child_env; /* exec API */
  mi->channel = host->format("%s", channel);
  mi->command = host->format("%s", binding->command);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&mi->cond, &ca);
  pthread_condattr_destroy(&ca);
  pthread_mutex_init(&mi->lock, NULL);
  pthread_mutex_init(&mi->write_lock, NULL);
  int err_ok = ms_stderr_init(&mi->err_state, &ms_stderr_lim) == 0;
  if (mi->channel == NULL || mi->command == NULL || !err_ok) {
    if (err_ok)
      ms_stderr_destroy(&mi->err_state);
    host->free(mi->channel);
    host->free(mi->command);
    ms_argv_free(argv);
    pthread_cond_destroy(&mi->cond);
    pthread_mutex_destroy(&mi->lock);
    pthread_mutex_destroy(&mi->write_lock);
    host->free(mi);
    return TC_ENOMEM;
  }
  *inst = mi;
  return TC_OK;
}

static int ms_start(void *inst, char **errmsg) {
  struct ms_inst *mi = inst;
  pthread_mutex_lock(&mi->lock);
  int rc = spawn_child(mi);
  if (rc == 0) {
    mi->state = MS_RUNNING;
    if (pthread_create(&mi->sup_thr, NULL, supervisor_main, mi) == 0) {
      mi->sup_started = 1;
    } else {
      rc = EAGAIN;
      kill(mi->pid, SIGKILL);
    }
  }
  pthread_mutex_unlock(&mi->lock);
  if (rc != 0 && mi->pid != 0) {
    reap_child(mi);
    mi->state = MS_IDLE;
  }
  if (rc != 0) {
    *errmsg = mi->host->format("channel \"%s\": cannot start the MCP server "
                               "command \"%s\": %s (check --mcp.command and "
                               "PATH)",
                               mi->channel, mi->argv[0], strerror(rc));
    return TC_ERR;
  }
  return TC_OK;
}

static int complete_failure(const struct tc_sink *sink, int status,
                            const char *source, const char *kind) {
  struct tc_response res;
  memset(&res, 0, sizeof(res));
  res.struct_size = sizeof(res);
  res.status = status;
  res.failure_source = source;
  res.failure_kind = kind;
  return sink->complete(sink, &res);
}

static int complete_status(const struct tc_sink *sink, int status) {
  struct tc_response res;
  memset(&res, 0, sizeof(res));
  res.struct_size = sizeof(res);
  res.status = status;
  return sink->complete(sink, &res);
}

/* Why a waiting call must give up now, or NULL. */
static const char *call_expired(const struct tc_request *req, uint64_t now) {
  if (req->deadline_ns != 0 && now >= req->deadline_ns)
    return "deadline";
  if (req->is_canceled != NULL && req->is_canceled(req))
    return "canceled";
  return NULL;
}

static uint64_t next_wake(const struct ms_inst *mi,
                          const struct tc_request *req) {
  uint64_t now = mi->host->monotonic_ns(), step = MS_POLL_NS;
  if (req->deadline_ns != 0 && req->deadline_ns > now &&
      req->deadline_ns - now < step)
    step = req->deadline_ns - now;
  return mono_ns() + step;
}

/* Lock held: a child that has not answered its replayed initialize in
 * time is killed (fail closed); the supervisor then restarts it. */
static void check_replay_stuck(struct ms_inst *mi) {
  if (mi->replay_id == 0 || mi->pid == 0 ||
      mono_ns() - mi->replay_started_ns <
          (uint64_t)MS_REPLAY_TIMEOUT_MS * 1000000ull)
    return;
  mi->host->log(mi->host, TC_LOG_WARN, mi->channel,
                "MCP server process %ld did not answer the replayed "
                "initialize within %d ms; killing it",
                (long)mi->pid, MS_REPLAY_TIMEOUT_MS);
  kill(mi->pid, SIGKILL);
  mi->replay_id = 0;
}

/* Lock held: wait until the child is RUNNING. NULL, or why not. */
static const char *wait_running(struct ms_inst *mi,
                                const struct tc_request *req) {
  while (mi->state != MS_RUNNING) {
    if (mi->stopping || mi->state == MS_STOPPED || mi->state == MS_IDLE)
      return "closed";
    check_replay_stuck(mi);
    const char *why = call_expired(req, mi->host->monotonic_ns());
    if (why != NULL)
      return why;
    cond_wait_until(mi, next_wake(mi, req));
  }
  return NULL;
}

/* A message without id (or a bare response): write it, answer 202. */
static int call_oneway(struct ms_inst *mi, const struct tc_request *req,
                       const struct tc_sink *sink) {
  pthread_mutex_lock(&mi->lock);
  const char *why = wait_running(mi, req);
  pthread_mutex_unlock(&mi->lock);
  if (why != NULL && strcmp(why, "closed") == 0)
    return complete_failure(sink, 502, "transport_closed", "eof");
  if (why != NULL)
    return complete_failure(sink, 504, "timeout", why);
  struct ms_span none = {req->body, 0};
  size_t n = 0;
  char *line = ms_splice_line(req->body, req->body_len, none, "", 0, &n);
  int rc = line != NULL ? write_raw(mi, line, n) : -1;
  free(line);
  if (rc != 0)
    return complete_failure(sink, 502, "transport_closed", "eof");
  return complete_status(sink, 202);
}

/* Deliver queued notifications from the worker thread. Lock held. */
static void deliver_notes(struct ms_inst *mi, struct ms_pending *p,
                          const struct tc_sink *sink, int *notes_ok) {
  while (p->nhead != NULL) {
    struct ms_msg *m = p->nhead;
    p->nhead = m->next;
    if (p->nhead == NULL)
      p->ntail = NULL;
    pthread_mutex_unlock(&mi->lock);
    if (*notes_ok) {
      struct tc_response n;
      memset(&n, 0, sizeof(n));
      n.struct_size = sizeof(n);
      n.status = 200;
      n.body = m->body;
      n.body_len = m->len;
      if (sink->notify(sink, &n) < 0)
        *notes_ok = 0;
    }
    free(m->body);
    free(m);
    pthread_mutex_lock(&mi->lock);
  }
}

/* An initialize got no reply: whether the server took it is unknown, so
 * the child is not trusted any more. Forget the saved initialize and kill
 * the child; the supervisor restarts it uninitialized and the other
 * in-flight calls fail with transport_closed. */
static void fail_closed_initialize(struct ms_inst *mi,
                                   const struct tc_request *req) {
  pthread_mutex_lock(&mi->lock);
  free(mi->init_line);
  mi->init_line = NULL;
  if (!mi->stopping && mi->pid != 0) {
    mi->host->log(mi->host, TC_LOG_WARN, mi->channel,
                  "request %s: initialize got no reply; restarting MCP "
                  "server process %ld (fail closed)",
                  req->request_id ? req->request_id : "?", (long)mi->pid);
    kill(mi->pid, SIGKILL);
    /* New calls wait for the next child, not the dying one. */
    if (mi->state == MS_RUNNING)
      mi->state = MS_RESTARTING;
  }
  pthread_mutex_unlock(&mi->lock);
}

/* The reply to post: the original id put back in place of the internal
 * one, in the reply's own buffer. Lock not held (the call owns p->reply
 * once unlinked). Returns 0, or -1 on ENOMEM. */
static int restore_id(struct ms_pending *p, struct ms_span orig) {
  char *b =
      ms_splice_in_place(p->reply, p->reply_len, &p->reply_cap, p->reply_id_off,
                         p->reply_id_len, orig.p, orig.n);
  if (b == NULL)
    return -1;
  p->reply = b;
  p->reply_len = p->reply_len - p->reply_id_len + orig.n;
  return 0;
}

/* Remember a successful initialize (the line written, where its id is) for
 * the replay after a restart; a refused one clears it. */
static void save_initialize(struct ms_inst *mi, const char *line, size_t n,
                            size_t id_off, size_t id_len, int succeeded) {
  char *copy = NULL;
  if (succeeded && (copy = malloc(n + 1)) != NULL) {
    memcpy(copy, line, n);
    copy[n] = '\0';
  }
  pthread_mutex_lock(&mi->lock);
  free(mi->init_line);
  mi->init_line = copy;
  mi->init_len = n;
  mi->init_id_off = id_off;
  mi->init_id_len = id_len;
  pthread_mutex_unlock(&mi->lock);
}

static int ms_call(void *inst, const struct tc_request *req,
                   const struct tc_sink *sink) {
  struct ms_inst *mi = inst;
  struct ms_view v;
  if (req->body == NULL || ms_view(mi->host, req->body, req->body_len, &v) != 0)
    return complete_failure(sink, 502, "protocol", "malformed_json");
  if (v.id.p == NULL || ms_is_null(v.id) || v.method.p == NULL ||
      v.method.p[0] != '"')
    return call_oneway(mi, req, sink);
  struct ms_pending p;
  memset(&p, 0, sizeof(p));
  p.progress = v.progress;
  int is_init = ms_method_is(v.method, "initialize"), notes_ok = 1, rc;
  const char *why = NULL;
  char *line = NULL;
  size_t line_len = 0, id_off = (size_t)(v.id.p - req->body), id_len = 0;

  pthread_mutex_lock(&mi->lock);
  why = wait_running(mi, req);
  if (why == NULL) {
    p.id = ++mi->next_id;
    char id[24];
    int idn = snprintf(id, sizeof(id), "%llu", (unsigned long long)p.id);
    id_len = (size_t)idn;
    line =
        ms_splice_line(req->body, req->body_len, v.id, id, id_len, &line_len);
    if (line == NULL) {
      why = "oom";
    } else {
      struct ms_pending **tail = &mi->pending;
      while (*tail != NULL)
        tail = &(*tail)->next;
      *tail = &p;
    }
  }
  pthread_mutex_unlock(&mi->lock);
  if (why == NULL && write_raw(mi, line, line_len) != 0) {
    pthread_mutex_lock(&mi->lock);
    p.closed = 1;
    pthread_mutex_unlock(&mi->lock);
  }

  pthread_mutex_lock(&mi->lock);
  if (why == NULL) {
    for (;;) {
      deliver_notes(mi, &p, sink, &notes_ok);
      if (p.reply != NULL || p.closed || p.lost != MS_LOST_NONE)
        break;
      why = call_expired(req, mi->host->monotonic_ns());
      if (why != NULL)
        break;
      cond_wait_until(mi, next_wake(mi, req));
    }
    pending_unlink(mi, &p); /* retires the internal id */
    deliver_notes(mi, &p, sink, &notes_ok);
  }
  pthread_mutex_unlock(&mi->lock);

  if (p.reply != NULL) {
    if (is_init) {
      /* Keep the initialize to replay only when it succeeded; a failed
       * one supersedes the last session, so nothing is replayed then. */
      struct ms_view rv;
      int ok =
          ms_view(mi->host, p.reply, p.reply_len, &rv) == 0 && rv.has_result;
      save_initialize(mi, line, line_len, id_off, id_len, ok);
    }
    if (restore_id(&p, v.id) != 0) {
      rc = complete_failure(sink, 502, "client_internal", "out_of_memory");
    } else {
      struct tc_headers h = TC_HEADERS_INIT;
      tc_headers_add(&h, "Content-Type", "application/json");
      struct tc_response res;
      memset(&res, 0, sizeof(res));
      res.struct_size = sizeof(res);
      res.status = 200;
      res.headers = &h;
      res.body = p.reply;
      res.body_len = p.reply_len;
      res.upstream_response_received = 1;
      rc = sink->complete(sink, &res); /* posted before it returns */
      tc_headers_clear(&h);
    }
  } else if (p.lost == MS_LOST_BUDGET) {
    struct tc_response res;
    memset(&res, 0, sizeof(res));
    res.struct_size = sizeof(res);
    res.status = 503;
    res.failure_source = "client_internal";
    res.failure_kind = "reply_budget_exhausted";
    res.upstream_response_received = 1;
    rc = sink->complete(sink, &res);
  } else if (p.lost == MS_LOST_TOO_LARGE) {
    rc = complete_failure(sink, 502, "protocol", "response_body_too_large");
  } else if (why != NULL && strcmp(why, "oom") == 0) {
    rc = complete_failure(sink, 502, "client_internal", "out_of_memory");
  } else if (p.closed || (why != NULL && strcmp(why, "closed") == 0)) {
    mi->host->log(mi->host, TC_LOG_WARN, mi->channel,
                  "request %s failed: the MCP server process went away",
                  req->request_id ? req->request_id : "?");
    rc = complete_failure(sink, 502, "transport_closed", "eof");
  } else {
    mi->host->log(mi->host, TC_LOG_WARN, mi->channel,
                  "request %s: no reply before the %s; id retired",
                  req->request_id ? req->request_id : "?", why);
    /* Only a deadline (the command's response_timeout) fails closed; a
     * cancellation at shutdown leaves the child to stop(). */
    if (is_init && strcmp(why, "deadline") == 0)
      fail_closed_initialize(mi, req);
    rc = complete_failure(sink, 504, "timeout", why);
  }
  free(p.reply);
  budget_release(mi->host, p.reply_reserved);
  free(line);
  msgs_free(p.nhead);
  return rc;
}

/* Readiness: live state, answered at once, except that the very first call
 * may wait up to MS_FIRST_PROBE_WAIT_MS for the first spawn. */
static int ms_probe(void *inst, char **detail) {
  struct ms_inst *mi = inst;
  *detail = NULL;
  pthread_mutex_lock(&mi->lock);
  if (!mi->probed) {
    mi->probed = 1;
    uint64_t until = mono_ns() + (uint64_t)MS_FIRST_PROBE_WAIT_MS * 1000000ull;
    while (mi->state == MS_IDLE && !mi->stopping && mono_ns() < until)
      cond_wait_until(mi, until);
  }
  check_replay_stuck(mi);
  enum ms_state st = mi->state;
  int stopping = mi->stopping;
  pthread_mutex_unlock(&mi->lock);
  if (stopping || st == MS_STOPPED) {
    *detail = strdup("mcp stdio transport stopped");
    return TC_ECLOSED;
  }
  switch (st) {
  case MS_RUNNING:
    return TC_OK;
  case MS_RESTARTING:
    *detail = strdup("mcp stdio child restarting");
    return TC_AGAIN;
  default:
    *detail = mi->host->format("mcp probe failed: MCP server process %s is "
                               "not running",
                               mi->argv[0]);
    return TC_ECLOSED;
  }
}

static void ms_stop(void *inst) {
  struct ms_inst *mi = inst;
  if (mi == NULL || !mi->sup_started)
    return;
  close_stdin(mi);
  pthread_mutex_lock(&mi->lock);
  mi->stopping = 1;
  pthread_cond_broadcast(&mi->cond);
  if (mi->pid != 0)
    kill(mi->pid, SIGTERM);
  uint64_t until = mono_ns() + (uint64_t)ms_grace_ms * 1000000ull;
  while (mi->pid != 0 && mono_ns() < until)
    cond_wait_until(mi, until);
  if (mi->pid != 0) {
    mi->host->log(mi->host, TC_LOG_WARN, mi->channel,
                  "MCP server process %ld ignored SIGTERM; killing it",
                  (long)mi->pid);
    kill(mi->pid, SIGKILL);
  }
  pthread_mutex_unlock(&mi->lock);
  pthread_join(mi->sup_thr, NULL);
  mi->sup_started = 0;
}

static void ms_destroy(void *inst) {
  struct ms_inst *mi = inst;
  if (mi == NULL)
    return;
  ms_stop(mi);
  free(mi->init_line);
  ms_argv_free(mi->argv);
  pthread_cond_destroy(&mi->cond);
  pthread_mutex_destroy(&mi->lock);
  pthread_mutex_destroy(&mi->write_lock);
  ms_stderr_destroy(&mi->err_state);
  mi->host->free(mi->channel);
  mi->host->free(mi->command);
  mi->host->free(mi);
}

/* Admin state (ABI 1.3): the child's pid, restarts and stderr. Takes the
 * instance lock only to read two numbers. */
static int ms_admin_state(void *inst, char **json) {
  struct ms_inst *mi = inst;
  pthread_mutex_lock(&mi->lock);
  long pid = (long)mi->pid;
  unsigned long long restarts = mi->restarts;
  const char *state = mi->state == MS_RUNNING      ? "running"
                      : mi->state == MS_RESTARTING ? "restarting"
                      : mi->state == MS_STOPPED    ? "stopped"
                                                   : "idle";
  pthread_mutex_unlock(&mi->lock);
  json_t *j = json_pack(
      "{s:s,s:s,s:o,s:I,s:o}", "command", mi->argv[0], "state", state, "pid",
      pid != 0 ? json_integer(pid) : json_null(), "restarts",
      (json_int_t)restarts, "stderr", ms_stderr_state(&mi->err_state));
  *json = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
  json_decref(j);
  return *json != NULL ? TC_OK : TC_ENOMEM;
}

/* Same NULL-terminated environment? */
static int env_same(char *const *a, const char *const *b) {
  size_t i = 0;
  for (; a[i] != NULL && b[i] != NULL; i++)
    if (strcmp(a[i], b[i]) != 0)
      return 0;
  return a[i] == b[i];
}

/* A reload changed the binding: the child only depends on the command and
 * the environment it starts with (the HTTP settings of a binding mean
 * nothing to it), so while both are the same the child keeps running. */
static int ms_reusable_for(void *inst, const struct tc_binding *next) {
  const struct ms_inst *mi = inst;
  if (next->command == NULL || strcmp(next->command, mi->command) != 0)
    return TC_DECLINED;
  const char *const *env = (const char *const *)environ;
  if (TC_HAS_FIELD(next, struct tc_binding, child_env) &&
      next->child_env != NULL)
    env = next->child_env;
  return env_same(mi->envp, env) ? TC_OK : TC_DECLINED;
}

static const struct tc_transport_vtable ms_transport = {
    .struct_size = sizeof(struct tc_transport_vtable),
    .name = "stdio",
    .flags = TC_TRANSPORT_PROC_AFFINITY,
    .create = ms_create,
    .start = ms_start,
    .call = ms_call,
    .probe = ms_probe,
    .stop = ms_stop,
    .destroy = ms_destroy,
    .admin_state = ms_admin_state,
    .reusable_for = ms_reusable_for,
};

static int ms_init(const struct tc_host *host, struct tc_registrar *reg,
                   const void *config, char **errmsg) {
  (void)host;
  const struct ms_config *c = config;
  if (c != NULL) { /* both durations: validated by the core's bounds */
    ms_backoff_max_ms = c->restart_backoff_max_ms;
    ms_grace_ms = c->shutdown_grace_ms;
    ms_stderr_lim.line_max = c->stderr_line_max;
    ms_stderr_lim.lines_per_second = c->stderr_lines_per_second;
    ms_stderr_lim.burst = c->stderr_burst;
    ms_stderr_lim.tail_lines = c->stderr_tail_lines;
    ms_message_max = (size_t)c->message_max;
  }
  return reg->add_transport(reg, &ms_transport, errmsg);
}

static const struct tc_config_field ms_fields[] = {
    {"restart_backoff_max", TC_CFG_DURATION, "10s",
     offsetof(struct ms_config, restart_backoff_max_ms),
     "longest wait between restarts of a crashed MCP server process", 1000,
     600000},
    {"shutdown_grace", TC_CFG_DURATION, "2s",
     offsetof(struct ms_config, shutdown_grace_ms),
     "time the MCP server process gets to exit after SIGTERM before SIGKILL", 0,
     60000},
    {"stderr_line_max", TC_CFG_INT, "1024",
     offsetof(struct ms_config, stderr_line_max),
     "bytes of a stderr line that are logged and kept; the rest is counted", 80,
     65536},
    {"stderr_lines_per_second", TC_CFG_INT, "20",
     offsetof(struct ms_config, stderr_lines_per_second),
     "stderr lines logged per second at most (more are dropped and counted)", 1,
     100000},
    {"stderr_burst", TC_CFG_INT, "200",
     offsetof(struct ms_config, stderr_burst),
     "stderr lines logged at once before the per-second limit applies", 1,
     100000},
    {"stderr_tail_lines", TC_CFG_INT, "20",
     offsetof(struct ms_config, stderr_tail_lines),
     "last stderr lines kept for /api/channels and doctor", 1, 1000},
    {"message_max", TC_CFG_INT, "67108864",
     offsetof(struct ms_config, message_max),
     "bytes of one message from the MCP server at most; a longer reply "
     "fails its call",
     65536, 1073741824},
    TC_CONFIG_END};

TC_MODULE_DEFINE(mcp_stdio, .name = "mcp-stdio", .version = "0.3.0",
                 .init = ms_init,
                 .summary = "MCP server as a child process over stdio "
                            "(transport \"stdio\")",
                 .config = ms_fields, .config_size = sizeof(struct ms_config));
