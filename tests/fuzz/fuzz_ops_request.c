/* fuzz_ops_request.c — libFuzzer target: the ops listener's request
 * handling end to end (ops/health.c: Host, peer and Origin guards, the
 * route table, body collection up to 64 KiB, and every route handler),
 * fed raw bytes of one or more pipelined HTTP/1.x requests.
 *
 * Once per process: a real agent context as `tunnel-client run` builds it
 * (configuration through tc_config_load, the built-in modules from the
 * build tree, started; a dispatcher with two MCP HTTP channels whose
 * startup probes have run; readiness; the admin log ring; the core
 * metrics with a few samples). Per input: an unbound listener answering
 * for http://127.0.0.1:8080 (tc_health_start_unbound: no socket, no
 * threads, cheap), one end of a socketpair handed to it as a connection
 * from the chosen peer (tc_health_serve_fd); the request bytes are written
 * to the other end, then shutdown(SHUT_WR), and the reply is read to end
 * of file while this thread runs the listener (tc_health_run). No TCP, no
 * ports, no thread hand-offs; stopping the listener frees the connection,
 * so libFuzzer's per-input malloc/free balance holds.
 *
 * Input: byte 0 picks the peer address the listener sees (low 3 bits: see
 * pick_peer) and, with bit 3, makes the first NUL of the request expand to
 * 64 KiB + 1 filler bytes (so bodies past the 64 KiB limit fit in
 * -max_len); the rest is the request stream.
 *
 * Invariants (abort otherwise): no crash, leak or sanitizer report; the
 * exchange never stalls for 5 s; a non-empty reply starts with "HTTP/1.";
 * a non-loopback peer never sees an admin route's answer (UI headers, log
 * export, /api JSON shapes) and never changes the log level.
 *
 * TC_FUZZ_OPS_ECHO=1 in the environment copies every reply to stderr
 * (reproducing a finding: fuzz_ops_request crash-file). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "config/config.h"
#include "dispatch/dispatcher.h"
#include "loader/loader.h"
#include "ops/core_metrics.h"
#include "ops/cp_status.h"
#include "ops/health.h"
#include "ops/readiness.h"
#include "util/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OPS_BASE_URL "http://127.0.0.1:8080"
#define FILLER_LEN (64u * 1024u + 1u) /* one byte past the body limit */
#define EXCHANGE_DEADLINE_MS 5000

/* ---- the agent, once per process ---------------------------------------- */

static struct tc_config g_cfg;
static struct tc_registry g_reg;
static struct tc_dispatcher *g_disp;
static struct tc_readiness *g_ready;
static struct tc_ops_context g_ctx;
static int g_echo; /* TC_FUZZ_OPS_ECHO set: replies go to stderr */

static __attribute__((noreturn)) void die(const char *what, const char *err) {
  fprintf(stderr, "fuzz_ops_request: %s%s%s\n", what, err ? ": " : "",
          err ? err : "");
  abort();
}

/* No command ever reaches the dispatcher (nothing polls). */
static int no_post(void *ud, const struct tc_cp_command *cmd,
                   const struct tc_cp_response *r, uint64_t deadline_ns,
                   const atomic_int *stop_retries, char **err) {
  (void)ud;
  (void)cmd;
  (void)r;
  (void)deadline_ns;
  (void)stop_retries;
  *err = strdup("the fuzz target has no control plane");
  return -1;
}

static void start_agent(void) {
  const char *echo = getenv("TC_FUZZ_OPS_ECHO");
  g_echo = echo != NULL && echo[0] != '\0';
  /* Only what we set feeds the configuration. */
  clearenv();
  setenv("FUZZ_CP_KEY", "fuzz-control-plane-key", 1);
  char *args[] = {"--control-plane.base-url",
                  "http://127.0.0.1:9",
                  "--control-plane.tunnel-id",
                  "tunnel_22222222222222222222222222222222",
                  "--control-plane.api-key",
                  "env:FUZZ_CP_KEY",
                  "--mcp.server-url",
                  "http://127.0.0.1:9/mcp",
                  "--mcp.server-url",
                  "channel=docs,url=http://127.0.0.1:9/docs/mcp",
                  "--modules.dir",
                  TC_FUZZ_MODULE_DIR,
                  "--admin-ui.log-buffer-events",
                  "200",
                  "--log.file",
                  "/dev/null",
                  NULL};
  int argc = (int)(sizeof(args) / sizeof(args[0])) - 1;
  char *err = NULL;
  if (tc_config_load(&g_cfg, argc, args, TC_CONFIG_RUN, NULL, NULL, NULL,
                     &err) != 0)
    die("configuration", err);
  struct tc_log_options lo = {.level = g_cfg.log_level,
                              .format = g_cfg.log_format,
                              .file = g_cfg.log_file};
  if (tc_log_open(&lo, &err) != 0)
    die("log", err);
  if (tc_log_ring_enable((size_t)g_cfg.log_buffer_events) != 0)
    die("log ring", NULL);
  tc_cp_status_reset();
  const struct tc_core_metrics *m = tc_core_metrics();

  if (tc_loader_load_all(&g_reg, &g_cfg, &err) != 0 ||
      tc_registry_start(&g_reg, &err) != 0)
    die("modules", err);
  static const struct tc_dispatch_poster poster = {.post = no_post};
  if (tc_dispatcher_new(&g_disp, &g_cfg, &g_reg, &poster, &err) != 0)
    die("dispatcher", err);
  if (tc_readiness_new(&g_ready, &g_reg, g_disp) != 0)
    die("readiness", "out of memory");
  if (tc_readiness_start_probes(g_ready, &err) != 0)
    die("startup probes", err);
  /* Nothing listens on port 9: the probes fail fast. */
  if (!tc_readiness_wait_probes(g_ready, 20000))
    die("startup probes did not finish within 20 s", NULL);

  /* Something for /api/status, /api/logs and /metrics to show. */
  tc_cp_status_record(TC_CP_STATUS_POLL, 200, true, NULL, NULL, 2);
  tc_cp_status_record(TC_CP_STATUS_POLL, 0, false, "connection refused", NULL,
                      0);
  const char *ok[] = {"ok"}, *main_ch[] = {"main"};
  tc_metric_add(m->polls, ok, 3);
  tc_metric_observe(m->mcp_call_duration, main_ch, 0.25);
  tc_metric_set(m->queue_depth, NULL, 1);
  tc_log(TC_LOG_INFO, "fuzz", "ops_request target ready", "channels", "2",
         NULL);
  tc_log(TC_LOG_WARN, "fuzz", "a warning with \"quotes\" and <markup>", NULL);

  g_ctx = (struct tc_ops_context){.cfg = &g_cfg,
                                  .reg = &g_reg,
                                  .disp = g_disp,
                                  .readiness = g_ready,
                                  .started_unix_ms = 1700000000000};
}

/* The agent lives as long as the process (libFuzzer has no teardown hook
 * but ends with exit(); LeakSanitizer's exit-time check runs after this). */
static void stop_agent(void) {
  tc_readiness_free(g_ready);
  tc_dispatcher_free(g_disp);
  tc_registry_stop(&g_reg);
  tc_registry_free(&g_reg);
  tc_log_close();
  tc_log_ring_disable();
  tc_config_free(&g_cfg);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  start_agent();
  atexit(stop_agent);
  return 0;
}

/* ---- peers --------------------------------------------------------------- */

struct peer {
  struct sockaddr_storage ss;
  socklen_t len;
  int remote; /* not loopback: admin routes must answer 403 */
};

static void peer_v4(struct peer *p, const char *addr, int remote) {
  struct sockaddr_in *in = (struct sockaddr_in *)&p->ss;
  in->sin_family = AF_INET;
  in->sin_port = htons(40000);
  inet_pton(AF_INET, addr, &in->sin_addr);
  p->len = sizeof(*in);
  p->remote = remote;
}

static void peer_v6(struct peer *p, const char *addr, int remote) {
  struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&p->ss;
  in6->sin6_family = AF_INET6;
  in6->sin6_port = htons(40000);
  inet_pton(AF_INET6, addr, &in6->sin6_addr);
  p->len = sizeof(*in6);
  p->remote = remote;
}

/* Every branch of the loopback check: 127/8, ::1, v4-mapped, unix. */
static void pick_peer(unsigned sel, struct peer *p) {
  memset(p, 0, sizeof(*p));
  switch (sel & 7u) {
  case 0:
    peer_v4(p, "127.0.0.1", 0);
    break;
  case 1:
    peer_v4(p, "127.45.6.7", 0);
    break;
  case 2:
    peer_v6(p, "::1", 0);
    break;
  case 3:
    peer_v6(p, "::ffff:127.0.0.1", 0);
    break;
  case 4:
    peer_v4(p, "203.0.113.7", 1);
    break;
  case 5:
    peer_v6(p, "2001:db8::7", 1);
    break;
  case 6:
    peer_v6(p, "::ffff:198.51.100.2", 1);
    break;
  default: {
    struct sockaddr_un *un = (struct sockaddr_un *)&p->ss;
    un->sun_family = AF_UNIX;
    p->len = (socklen_t)offsetof(struct sockaddr_un, sun_path);
    p->remote = 0;
  }
  }
}

/* ---- the reply ----------------------------------------------------------- */

/* What only an admin route's handler answers (the guards answer 403 with
 * a fixed message before any of it). */
static const char *const admin_markers[] = {
    "Content-Security-Policy:", /* the UI: /, /ui, /assets/, favicon */
    "Content-Disposition:",     /* /api/logs/export */
    "\"client_instance_id\":",  /* /api/status */
    "{\"channels\":",           /* /api/channels */
    "{\"lines\":",              /* /api/logs */
    "\"supported_levels\":",    /* GET /api/log-level */
    "{\"level\":",              /* PUT /api/log-level */
    "{\"state\":",              /* /api/oauth */
};
#define MARKER_CARRY 31 /* longer than every marker */

struct reply {
  size_t total;
  char head[8];
  char carry[MARKER_CARRY];
  size_t carry_len;
  const char *admin; /* first admin marker seen */
};

static void reply_feed(struct reply *r, const char *p, size_t n) {
  if (g_echo)
    fwrite(p, 1, n, stderr);
  for (size_t i = 0; r->total + i < sizeof(r->head) && i < n; i++)
    r->head[r->total + i] = p[i];
  r->total += n;
  /* Look for markers in carry + p, then keep p's tail as the carry. */
  char win[MARKER_CARRY + 4096];
  size_t off = 0;
  while (off < n) {
    size_t take = n - off < 4096 ? n - off : 4096;
    memcpy(win, r->carry, r->carry_len);
    memcpy(win + r->carry_len, p + off, take);
    size_t wl = r->carry_len + take;
    for (size_t i = 0;
         r->admin == NULL && i < sizeof(admin_markers) / sizeof(*admin_markers);
         i++)
      if (memmem(win, wl, admin_markers[i], strlen(admin_markers[i])) != NULL)
        r->admin = admin_markers[i];
    r->carry_len = wl < MARKER_CARRY ? wl : MARKER_CARRY;
    memmove(r->carry, win + wl - r->carry_len, r->carry_len);
    off += take;
  }
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Write out[0..n) and read the reply into *r, running the listener in
 * between (all on this thread: nothing blocks but tc_health_run, briefly);
 * half-close once everything is written, then read to end of file. Aborts
 * when nothing moves for 5 s (a long pipelined exchange may take longer in
 * total). */
static void exchange(struct tc_health_server *srv, int fd, const char *out,
                     size_t n, struct reply *r) {
  size_t sent = 0;
  int wr_open = 1;
  int64_t deadline = now_ms() + EXCHANGE_DEADLINE_MS;
  char buf[16384];
  for (;;) {
    if (now_ms() > deadline)
      die("the listener stalled: no byte read or written and the "
          "connection still open after 5 s",
          NULL);
    while (wr_open) {
      ssize_t w =
          sent < n ? send(fd, out + sent, n - sent, MSG_NOSIGNAL | MSG_DONTWAIT)
                   : 0;
      if (w > 0) {
        sent += (size_t)w;
        deadline = now_ms() + EXCHANGE_DEADLINE_MS;
        continue;
      }
      if (w < 0 && (errno == EAGAIN || errno == EINTR))
        break; /* the socket buffer is full: let the listener read */
      /* All sent, or the listener closed early (bad request, 413): the
       * rest is simply not sent. */
      shutdown(fd, SHUT_WR);
      wr_open = 0;
    }
    if (tc_health_run(srv, 10) != 0)
      die("tc_health_run failed", NULL);
    for (;;) {
      ssize_t got = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
      if (got > 0) {
        reply_feed(r, buf, (size_t)got);
        deadline = now_ms() + EXCHANGE_DEADLINE_MS;
        continue;
      }
      if (got < 0 && (errno == EAGAIN || errno == EINTR))
        break;
      return; /* end of file, or reset after an early close */
    }
  }
}

/* ---- one input ----------------------------------------------------------- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  struct peer peer;
  pick_peer(data[0], &peer);
  const char *req = (const char *)data + 1;
  size_t n = size - 1;

  /* Bit 3: the first NUL becomes FILLER_LEN bytes of body. */
  char *expanded = NULL;
  const char *nul = (data[0] & 8u) ? memchr(req, '\0', n) : NULL;
  if (nul != NULL) {
    size_t pre = (size_t)(nul - req), post = n - pre - 1;
    expanded = malloc(pre + FILLER_LEN + post);
    if (expanded == NULL)
      return 0;
    memcpy(expanded, req, pre);
    memset(expanded + pre, 'a', FILLER_LEN);
    memcpy(expanded + pre + FILLER_LEN, nul + 1, post);
    req = expanded;
    n = pre + FILLER_LEN + post;
  }

  /* Inputs may change it (PUT /api/log-level); each starts from info. */
  tc_log_set_level(TC_LOG_INFO);

  /* A listener per input (cheap: no socket, no threads); stopping it
   * frees the connection, so each input frees what it allocated (libFuzzer
   * compares mallocs and frees per input to spot leaks). */
  struct tc_health_server *srv = NULL;
  char *err = NULL;
  if (tc_health_start_unbound(&srv, &g_cfg, &g_ctx, OPS_BASE_URL, &err) != 0)
    die("ops listener", err);
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    die("socketpair", strerror(errno));
  if (tc_health_serve_fd(srv, sv[1], (const struct sockaddr *)&peer.ss,
                         peer.len) != 0)
    die("the listener refused a connection", strerror(errno));
  struct reply r = {0};
  exchange(srv, sv[0], req, n, &r);
  close(sv[0]);
  tc_health_stop(srv);
  free(expanded);

  if (r.total > 0 && (r.total < 7 || memcmp(r.head, "HTTP/1.", 7) != 0))
    die("the reply does not start with an HTTP/1.x status line", NULL);
  if (peer.remote && r.admin != NULL)
    die("a non-loopback peer got an admin route's answer, marker", r.admin);
  if (peer.remote && tc_log_get_level() != TC_LOG_INFO)
    die("a non-loopback peer changed the log level", NULL);
  return 0;
}
