/* cli/run_agent.c — the foreground agent's lifecycle (run_agent.h), shared
 * by `tunnel-client run` and `dev proxy`.
 *
 * Order: block SIGINT/SIGTERM/SIGHUP (before any thread exists, so every
 * thread inherits the mask and only the main thread's sigwait sees them; an
 * inherited "ignore" is reset like Go's signal.Notify does, so a SIGHUP
 * during start-up or shutdown never kills the process: it waits, or is
 * ignored once shutdown began) -> start the embedded MCP stub when
 * asked (run_embedded.h) -> load config -> register
 * secrets with the redactor -> open the log -> lock and write the pid file
 * (a second agent with the same file stops here; util/pidfile.h) -> load
 * and start modules -> the startup probe runner and the ops listener ->
 * (with --mcp.startup-wait-timeout, wait for the probe) -> the poller ->
 * the service-manager notifier (READY=1 once /readyz would answer 200,
 * watchdog pings while the poll loop is alive; only with $NOTIFY_SOCKET) ->
 * the caller's on_ready hook -> wait for a signal (then STOPPING=1). SIGHUP
 * sent by a process (kill, systemctl reload) reloads the configuration
 * (run_reload.h; RELOADING=1, then READY=1 once ready again); a SIGHUP from
 * the kernel (the controlling terminal hung up) shuts down like SIGTERM.
 * While replaced transport instances still finish calls, the wait wakes
 * every 50 ms to stop and destroy them once idle.
 * Shutdown runs in reverse; a small watcher thread turns a second signal
 * into an immediate exit (status 1) after removing the pid file, the URL
 * file and the unix socket, each only while it is still the one this agent
 * made.
 * Errors before the wait print one line on stderr ("configure
 * tunnel-client: ..." or "start tunnel-client: ...") and exit 1, with every
 * file written so far removed. */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/run_agent.h"
#include "cli/run_embedded.h"
#include "cli/run_reload.h"
#include "config/config.h"
#include "controlplane/client.h"
#include "controlplane/poller.h"
#include "dev/mcp_stub.h"
#include "dispatch/dispatcher.h"
#include "loader/loader.h"
#include "ops/core_metrics.h"
#include "ops/cp_status.h"
#include "ops/health.h"
#include "ops/readiness.h"
#include "ops/reload_status.h"
#include "ops/service_notify.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/pidfile.h"
#include "util/redact.h"

/* Read by the watcher thread; set before it starts. */
struct run_watch {
  sigset_t signals;
  struct tc_pidfile pidfile; /* a copy: the main thread releases its own */
  const char *url_file;      /* with its identity, when health_files has it */
  const char *socket_file;   /* ours: bound during start */
  struct tc_file_id url_id, socket_id;
  int health_files;       /* TC_HEALTH_HAS_* */
  const char *extra_file; /* the caller's (hooks), may be NULL */
  atomic_int done;
};

static void *second_signal_watch(void *arg) {
  struct run_watch *w = arg;
  const struct timespec tick = {0, 10 * 1000 * 1000}; /* join latency */
  while (!atomic_load(&w->done)) {
    int sig = sigtimedwait(&w->signals, NULL, &tick);
    if (sig != SIGINT && sig != SIGTERM)
      continue;
    tc_log(TC_LOG_WARN, NULL,
           "second signal during shutdown: exiting now without cleanup of "
           "modules",
           "signal", sig == SIGINT ? "SIGINT" : "SIGTERM", NULL);
    tc_pidfile_remove_if_ours(&w->pidfile);
    if (w->health_files & TC_HEALTH_HAS_URL_FILE)
      tc_fs_remove_if_same(w->url_file, w->url_id.dev, w->url_id.ino);
    if (w->health_files & TC_HEALTH_HAS_SOCKET)
      tc_fs_remove_if_same(w->socket_file, w->socket_id.dev, w->socket_id.ino);
    tc_fs_remove_if_exists(w->extra_file);
    _exit(1);
  }
  return NULL;
}

static int run_post(void *ud, const struct tc_cp_command *cmd,
                    const struct tc_cp_response *r, uint64_t deadline_ns,
                    const atomic_int *stop_retries, char **err) {
  return tc_cp_post(ud, cmd, r, deadline_ns, stop_retries, err);
}

/* Startup metadata fetch (GET /v1/tunnels/{id}): informative only, so it
 * runs beside the poller and a failure is just logged. */
static void *fetch_metadata(void *arg) {
  struct tc_cp_client *cp = arg;
  char *json = NULL, *err = NULL;
  if (tc_cp_fetch_metadata(cp, &json, &err) == 0)
    tc_log(TC_LOG_INFO, "controlplane", "tunnel metadata", "tunnel", json,
           NULL);
  else
    tc_log(TC_LOG_WARN, "controlplane", "tunnel metadata unavailable", "error",
           err, NULL);
  free(json);
  free(err);
  return NULL;
}

/* One line on stderr (redacted) and, when logging to a file, in the log. */
static int start_failed(const struct tc_config *cfg, const char *prefix,
                        char *err) {
  char *clean = tc_redact(err ? err : "unknown error");
  fprintf(stderr, "%s: %s\n", prefix,
          clean ? clean : "(error text withheld: out of memory)");
  if (cfg != NULL && cfg->log_file != NULL)
    tc_log(TC_LOG_ERROR, NULL, prefix, "error", clean, NULL);
  free(clean);
  free(err);
  return 1;
}

/* --mcp.startup-wait-timeout > 0: hold the first poll until the startup
 * probe finished (it gives up by itself once the wait ran out). A pending
 * SIGINT/SIGTERM ends the wait early: the caller's sigwait() takes it. */
static void wait_startup_probe(struct tc_readiness *r) {
  tc_log(TC_LOG_INFO, "mcpclient",
         "waiting for the MCP startup probe before the first poll", NULL);
  while (!tc_readiness_wait_probes(r, 100)) {
    sigset_t pending;
    if (sigpending(&pending) == 0 && (sigismember(&pending, SIGINT) == 1 ||
                                      sigismember(&pending, SIGTERM) == 1))
      return;
  }
}

/* The service-manager notifier's view (ops/service_notify.h): the /readyz
 * verdict, and the poll loop's liveness for the watchdog. Both objects
 * outlive the notifier (it stops first at shutdown). */
struct run_notify_view {
  struct tc_readiness *readiness;
  struct tc_poller *poller;
};

static int notify_check(void *ud, bool *ready, char **text) {
  const struct run_notify_view *view = ud;
  struct tc_readiness_verdict v;
  if (tc_readiness_check(view->readiness, &v) != 0)
    return -1;
  *ready = v.ready;
  *text = v.text;
  v.text = NULL;
  tc_readiness_verdict_clear(&v);
  return 0;
}

static bool notify_alive(void *ud) {
  const struct run_notify_view *view = ud;
  return tc_poller_alive(view->poller);
}

/* Reload notification for the service manager (ops/service_notify.h). */
static void notify_reloading(void *ud) {
  tc_service_notify_reloading(*(struct tc_service_notify **)ud);
}

static void notify_reloaded(void *ud) {
  tc_service_notify_reloaded(*(struct tc_service_notify **)ud);
}

/* Serve signals until one asks to stop; returns its name. SIGHUP from a
 * process reloads; replaced instances are reaped between signals. */
static const char *wait_for_stop(const sigset_t *signals,
                                 struct tc_dispatcher *disp,
                                 struct tc_run_reloader *reloader) {
  for (;;) {
    siginfo_t info;
    memset(&info, 0, sizeof(info));
    int sig;
    if (tc_dispatcher_reap(disp) > 0) {
      const struct timespec tick = {0, 50 * 1000 * 1000};
      sig = sigtimedwait(signals, &info, &tick);
    } else {
      sig = sigwaitinfo(signals, &info);
    }
    if (sig == SIGHUP && info.si_code != SI_KERNEL) {
      tc_run_reload(reloader);
      continue;
    }
    if (sig == SIGHUP)
      return "SIGHUP (terminal hung up)";
    if (sig == SIGINT)
      return "SIGINT";
    if (sig == SIGTERM)
      return "SIGTERM";
  }
}

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int tc_run_agent(int argc, char **argv, const struct tc_run_hooks *hooks) {
  int64_t started_ms = wall_ms();
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, NULL);
  /* A shell starting us in the background (no job control) sets SIGINT to
   * "ignore", which would discard it before sigwait() sees it: take both
   * back (they stay blocked, so the default action never runs). */
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  signal(SIGHUP, SIG_DFL);
  signal(SIGPIPE, SIG_IGN);
#ifdef M_MMAP_THRESHOLD
  /* Reply buffers of 256 KiB and more come from mmap: they grow without
   * copying and go back to the system when freed, so the in-flight reply
   * budget bounds what the process holds. (A fixed threshold turns off
   * glibc's dynamic one, which after the first large free serves up to
   * 32 MiB from the heap, where growth copies and freed memory lingers.) */
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);
#endif

  struct tc_config cfg;
  memset(&cfg, 0, sizeof(cfg));
  char *err = NULL;
  /* The embedded stub must exist before the config is validated: it is
   * the main binding. */
  struct tc_run_embedded emb;
  int erc = tc_run_embedded_prepare(&emb, argc, argv, &err);
  if (erc != 0)
    return start_failed(
        NULL, erc == -1 ? "configure tunnel-client" : "start tunnel-client",
        err);
  if (tc_config_load(&cfg, emb.argc, emb.argv, TC_CONFIG_RUN,
                     tc_run_embedded_flags(), NULL, NULL, &err) != 0) {
    int rc = start_failed(NULL, "configure tunnel-client", err);
    tc_config_free(&cfg);
    tc_run_embedded_release(&emb);
    return rc;
  }
  tc_run_register_secrets(&cfg);

  struct tc_log_options lo = {
      .level = cfg.log_level, .format = cfg.log_format, .file = cfg.log_file};
  if (tc_log_open(&lo, &err) != 0) {
    int rc = start_failed(NULL, "start tunnel-client", err);
    tc_config_free(&cfg);
    tc_run_embedded_release(&emb);
    return rc;
  }
  /* The admin log buffer (/api/logs); without memory it stays off. */
  if (tc_log_ring_enable(cfg.log_buffer_events > 0
                             ? (size_t)cfg.log_buffer_events
                             : 2000) != 0)
    tc_log(TC_LOG_WARN, NULL,
           "admin log buffer disabled: out of memory (lower "
           "--admin-ui.log-buffer-events)",
           NULL);
  tc_cp_status_reset();
  tc_reload_status_reset();
  (void)tc_core_metrics(); /* every family shows from the first scrape */
  if (emb.stub != NULL)
    tc_logf(TC_LOG_INFO, NULL,
            "embedded MCP stub serving as channel main: %s/mcp",
            tc_mcp_stub_base_url(emb.stub));
  if (cfg.log_http_raw_unsafe)
    tc_log(TC_LOG_WARN, NULL,
           "raw HTTP logging is enabled (--log.http-raw-unsafe): debug lines "
           "will contain full requests and responses, including credentials; "
           "turn it off once troubleshooting is done",
           NULL);

  struct tc_registry reg;
  memset(&reg, 0, sizeof(reg));
  struct tc_health_server *health = NULL;
  struct tc_cp_client *cp = NULL;
  struct tc_dispatcher *disp = NULL;
  struct tc_poller *poller = NULL;
  struct tc_readiness *readiness = NULL;
  struct tc_service_notify *notifier = NULL;
  struct run_notify_view view = {NULL, NULL};
  struct tc_run_reloader *reloader = NULL;
  pthread_t meta_thread;
  int meta_started = 0, rc = 1;
  char pidbuf[32];
  snprintf(pidbuf, sizeof(pidbuf), "%ld", (long)getpid());
  struct tc_pidfile pidfile = {.fd = -1};

  if ((cfg.pid_file != NULL && cfg.pid_file[0] != '\0' &&
       tc_pidfile_acquire(&pidfile, cfg.pid_file, &err) != 0) ||
      tc_loader_load_all(&reg, &cfg, &err) != 0 ||
      tc_registry_start(&reg, &err) != 0 ||
      tc_cp_client_new(&cp, &cfg, &reg, &err) != 0)
    goto start_error;
  struct tc_dispatch_poster poster = {.ud = cp, .post = run_post};
  if (tc_dispatcher_new(&disp, &cfg, &reg, &poster, &err) != 0)
    goto start_error;
  if (tc_readiness_new(&readiness, &reg, disp) != 0) {
    err = strdup("out of memory");
    goto start_error;
  }
  struct tc_ops_context ops = {.cfg = &cfg,
                               .reg = &reg,
                               .disp = disp,
                               .readiness = readiness,
                               .started_unix_ms = started_ms};
  if (tc_readiness_start_probes(readiness, &err) != 0 ||
      tc_health_start_ops(&health, &cfg, &ops, &err) != 0)
    goto start_error;
  if (cfg.mcp_startup_wait_timeout_ms > 0)
    wait_startup_probe(readiness);
  if (tc_poller_start(&poller, cp, disp, &err) != 0)
    goto start_error;
  meta_started = pthread_create(&meta_thread, NULL, fetch_metadata, cp) == 0;
  view.readiness = readiness;
  view.poller = poller;
  struct tc_service_notify_ops nops = {
      .ud = &view, .check = notify_check, .alive = notify_alive};
  if (tc_service_notify_start(&notifier, &nops, &err) != 0)
    goto start_error;

  char origin[256];
  const char *base = tc_health_base_url(health);
  tc_log(TC_LOG_INFO, NULL, "tunnel-client started", "version",
         tc_version_string(), "tunnel_id", cfg.cp_tunnel_id,
         "client_instance_id", tc_cp_instance_id(), "control_plane",
         tc_url_origin(cfg.cp_base_url, origin, sizeof(origin)), "pid", pidbuf,
         "health",
         cfg.health_unix_socket && cfg.health_unix_socket[0]
             ? cfg.health_unix_socket
             : cfg.health_listen_addr,
         NULL);
  tc_logf(TC_LOG_INFO, "health", "HEALTH URL: %s", base);
  tc_logf(TC_LOG_INFO, "health", "WEB UI: %s/ui", base);
  if (hooks != NULL && hooks->on_ready != NULL) {
    struct tc_run_ready ready = {.cfg = &cfg, .health_base_url = base};
    if (hooks->on_ready(hooks->ud, &ready, &err) != 0) {
      if (err == NULL)
        err = strdup("out of memory");
      goto start_error;
    }
  }

  struct tc_run_parts parts = {.argc = emb.argc,
                               .argv = emb.argv,
                               .extra_flags = tc_run_embedded_flags(),
                               .reg = &reg,
                               .disp = disp,
                               .cp = cp,
                               .health = health,
                               .readiness = readiness};
  /* Service-manager notification: RELOADING=1, then READY=1. */
  struct tc_run_reload_notify notify = {&notifier, notify_reloading,
                                        notify_reloaded};
  if (tc_run_reloader_new(&reloader, &parts, &cfg, &notify) != 0) {
    err = strdup("out of memory");
    goto start_error;
  }
  const char *signame = wait_for_stop(&signals, disp, reloader);
  tc_log(TC_LOG_INFO, NULL, "shutting down", "signal", signame, NULL);
  char drain_status[96];
  snprintf(drain_status, sizeof(drain_status),
           "draining: finishing in-flight commands (grace period %lld ms)",
           (long long)tc_run_reloader_config(reloader)->shutdown_grace_ms);
  tc_service_notify_stopping(notifier, drain_status);
  notifier = NULL;

  struct run_watch watch = {.signals = signals,
                            .pidfile = pidfile,
                            .url_file = cfg.health_url_file,
                            .socket_file = cfg.health_unix_socket,
                            .extra_file =
                                hooks ? hooks->extra_cleanup_file : NULL};
  watch.health_files =
      tc_health_file_ids(health, &watch.url_id, &watch.socket_id);
  atomic_init(&watch.done, 0);
  pthread_t watcher;
  int watching =
      pthread_create(&watcher, NULL, second_signal_watch, &watch) == 0;
  rc = 0;
  goto shutdown;

start_error:
  rc = start_failed(&cfg, "start tunnel-client", err);
  watching = 0;
  if (notifier != NULL)
    tc_service_notify_stopping(notifier, "start-up failed; see the log");
  notifier = NULL;

shutdown:
  /* Stop taking work, let what was taken finish and be posted, then tear
   * down in reverse order of start. */
  tc_poller_stop(poller);
  if (disp != NULL)
    tc_dispatcher_drain(
        disp, reloader != NULL
                  ? tc_run_reloader_config(reloader)->shutdown_grace_ms
                  : cfg.shutdown_grace_ms);
  if (cp != NULL)
    tc_cp_client_interrupt(cp); /* ends the metadata fetch if still going */
  if (meta_started)
    pthread_join(meta_thread, NULL);
  /* The listener reads the dispatcher and readiness: it goes first. */
  tc_health_stop(health);
  tc_readiness_free(readiness); /* joins the startup probe, if still busy */
  tc_dispatcher_free(disp);
  tc_cp_client_free(cp);
  tc_registry_stop(&reg);
  tc_run_embedded_release(&emb); /* after the transports that used it */
  int pid_gone = tc_pidfile_release(&pidfile);
  if (pid_gone < 0)
    tc_log(TC_LOG_WARN, NULL, "could not remove the pid file", "path",
           cfg.pid_file, "error", strerror(errno), NULL);
  else if (pid_gone > 0)
    tc_log(TC_LOG_WARN, NULL,
           "pid file was replaced by another process; left in place", "path",
           cfg.pid_file, NULL);
  tc_registry_free(&reg);
  tc_run_reloader_free(reloader); /* after config_get's last reader */
  if (watching) {
    atomic_store(&watch.done, 1);
    pthread_join(watcher, NULL);
  }
  if (rc == 0)
    tc_log(TC_LOG_INFO, NULL, "tunnel-client stopped", NULL);
  tc_log_close();
  tc_log_ring_disable();
  tc_config_free(&cfg);
  return rc;
}
