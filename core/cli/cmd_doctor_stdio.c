/* cli/cmd_doctor_stdio.c — does a stdio MCP server start and answer
 * `initialize`? (see cmd_doctor.h). The command runs the way the agent
 * runs it (split the same way, only descriptors 0-2, the agent's
 * environment without its secrets); doctor writes one initialize request,
 * waits for the reply, then closes stdin, sends SIGTERM and, after 1 s,
 * SIGKILL. Its last stderr lines become the evidence of a failure. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cmd_doctor.h"
#include "util/child_env.h"
#include "util/redact.h"
#include "util/sbuf.h"

extern char **environ;

#define TAIL_LINES 5
#define TAIL_LINE_MAX 200
#define STDOUT_MAX (1024 * 1024)
#define DOCTOR_RPC_ID "tunnel-client-doctor"

struct tail {
  char lines[TAIL_LINES][TAIL_LINE_MAX + 1];
  size_t next, count;
  char cur[TAIL_LINE_MAX + 1];
  size_t cur_len;
};

static void tail_push(struct tail *t) {
  size_t n = t->cur_len;
  if (n > 0 && t->cur[n - 1] == '\r')
    n--;
  memcpy(t->lines[t->next], t->cur, n);
  t->lines[t->next][n] = '\0';
  t->next = (t->next + 1) % TAIL_LINES;
  if (t->count < TAIL_LINES)
    t->count++;
  t->cur_len = 0;
}

static void tail_feed(struct tail *t, const char *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (p[i] == '\n') {
      tail_push(t);
    } else if (t->cur_len < TAIL_LINE_MAX) {
      t->cur[t->cur_len++] = p[i];
    }
  }
}

static uint64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void add_evidence(struct tc_probe_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void add_evidence(struct tc_probe_result *r, const char *fmt, ...) {
  if (r->n_evidence >= sizeof(r->evidence) / sizeof(r->evidence[0]))
    return;
  va_list ap;
  va_start(ap, fmt);
  char *s = NULL;
  if (vasprintf(&s, fmt, ap) < 0)
    s = NULL;
  va_end(ap);
  if (s != NULL) {
    char *clean = tc_redact(s);
    free(s);
    if (clean != NULL)
      r->evidence[r->n_evidence++] = clean;
  }
}

static void set_summary(struct tc_probe_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_summary(struct tc_probe_result *r, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  free(r->summary);
  if (vasprintf(&r->summary, fmt, ap) < 0)
    r->summary = NULL;
  va_end(ap);
}

/* One stdout line: 1 = the initialize reply (r filled), 0 = not it. */
static int on_stdout_line(const char *line, size_t len,
                          struct tc_probe_result *r) {
  json_t *msg = json_loadb(line, len, 0, NULL);
  const char *id = json_string_value(json_object_get(msg, "id"));
  int done = 0;
  if (json_is_object(msg) && id != NULL && strcmp(id, DOCTOR_RPC_ID) == 0 &&
      json_object_get(msg, "method") != NULL) {
    done = 1; /* e.g. `cat` */
    set_summary(r, "the process wrote the initialize request back instead of "
                   "answering it (is this an MCP server?)");
  } else if (json_is_object(msg) && id != NULL &&
             strcmp(id, DOCTOR_RPC_ID) == 0) {
    done = 1;
    json_t *res = json_object_get(msg, "result");
    json_t *info = json_object_get(res, "serverInfo");
    if (json_is_object(res)) {
      r->ok = true;
      const char *name = json_string_value(json_object_get(info, "name"));
      const char *ver = json_string_value(json_object_get(info, "version"));
      if (name != NULL)
        set_summary(r, "the MCP server process answered initialize (%s%s%s)",
                    name, ver ? " " : "", ver ? ver : "");
      else
        set_summary(r, "the MCP server process answered initialize");
    } else {
      const char *m = json_string_value(
          json_object_get(json_object_get(msg, "error"), "message"));
      set_summary(r, "the MCP server process refused initialize: %s",
                  m ? m : "error reply without a message");
    }
  }
  json_decref(msg);
  return done;
}

static void stop_child(pid_t pid, int *status, bool *reaped) {
  if (*reaped)
    return;
  kill(pid, SIGTERM);
  for (int i = 0; i < 100; i++) {
    if (waitpid(pid, status, WNOHANG) == pid) {
      *reaped = true;
      return;
    }
    struct timespec ts = {0, 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  kill(pid, SIGKILL);
  *reaped = waitpid(pid, status, 0) == pid;
}

void tc_probe_stdio_start(const struct tc_config *cfg,
                          const struct tc_binding_cfg *b, int timeout_ms,
                          struct tc_probe_result *out) {
  memset(out, 0, sizeof(*out));
  char **argv = NULL;
  const char *why = NULL;
  if (b->command == NULL || tc_exec_split(b->command, &argv, &why) != 0) {
    set_summary(out, "cannot split the MCP command: %s",
                why ? why : "no command");
    return;
  }
  char **env = tc_child_env_build(environ, cfg->mcp_command_pass_env,
                                  cfg->mcp_command_pass_env_count);
  int in[2] = {-1, -1}, o[2] = {-1, -1}, e[2] = {-1, -1};
  pid_t pid = 0;
  int rc = ENOMEM;
  if (env != NULL && pipe2(in, O_CLOEXEC) == 0 && pipe2(o, O_CLOEXEC) == 0 &&
      pipe2(e, O_CLOEXEC) == 0) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, o[1], 1);
    posix_spawn_file_actions_adddup2(&fa, e[1], 2);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, env);
    posix_spawn_file_actions_destroy(&fa);
  } else if (env != NULL) {
    rc = errno;
  }
  free(env);
  if (in[0] >= 0)
    close(in[0]);
  if (o[1] >= 0)
    close(o[1]);
  if (e[1] >= 0)
    close(e[1]);
  if (rc != 0) {
    set_summary(out, "cannot start %s: %s", argv[0], strerror(rc));
    if (in[1] >= 0)
      close(in[1]);
    if (o[0] >= 0)
      close(o[0]);
    if (e[0] >= 0)
      close(e[0]);
    tc_exec_argv_free(argv);
    return;
  }
  /* A child that exits early must not kill doctor with SIGPIPE. */
  struct sigaction ign = {.sa_handler = SIG_IGN}, old;
  sigemptyset(&ign.sa_mask);
  sigaction(SIGPIPE, &ign, &old);
  char *req = NULL;
  if (asprintf(&req,
               "{\"jsonrpc\":\"2.0\",\"id\":\"" DOCTOR_RPC_ID "\","
               "\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
               "\"2025-06-18\",\"capabilities\":{},\"clientInfo\":{\"name\":"
               "\"tunnel-client-doctor\",\"version\":\"%s\"}}}\n",
               tc_version_string()) < 0)
    req = NULL;
  if (req != NULL)
    (void)!write(in[1], req, strlen(req));
  free(req);

  struct tail tail;
  memset(&tail, 0, sizeof(tail));
  struct tc_sbuf so = TC_SBUF_INIT;
  uint64_t t0 = mono_ms(), until = t0 + (uint64_t)timeout_ms;
  bool done = false, out_eof = false, err_eof = false, reaped = false;
  int status = 0;
  char buf[8192];
  while (!done && !(out_eof && err_eof)) {
    uint64_t now = mono_ms();
    if (now >= until)
      break;
    struct pollfd p[2] = {{out_eof ? -1 : o[0], POLLIN, 0},
                          {err_eof ? -1 : e[0], POLLIN, 0}};
    int pr = poll(p, 2, (int)(until - now));
    if (pr < 0 && errno == EINTR)
      continue;
    if (pr <= 0)
      break;
    if (!err_eof && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t n = read(e[0], buf, sizeof(buf));
      if (n > 0)
        tail_feed(&tail, buf, (size_t)n);
      else if (n == 0 || errno != EINTR)
        err_eof = true;
    }
    if (!out_eof && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t n = read(o[0], buf, sizeof(buf));
      if (n > 0 && so.len + (size_t)n <= STDOUT_MAX) {
        tc_sbuf_append(&so, buf, (size_t)n);
        char *nl;
        while (!done && so.data != NULL &&
               (nl = memchr(so.data, '\n', so.len)) != NULL) {
          size_t l = (size_t)(nl - so.data);
          done = on_stdout_line(so.data, l, out) != 0;
          memmove(so.data, nl + 1, so.len - l - 1);
          so.len -= l + 1;
        }
      } else if (n == 0 || (n < 0 && errno != EINTR)) {
        out_eof = true;
      } else if (n > 0) {
        set_summary(out, "the MCP server process wrote over 1 MiB to stdout "
                         "without a reply to initialize");
        done = true;
      }
    }
  }
  uint64_t took = mono_ms() - t0;
  if (!done) {
    if (out_eof) {
      /* Give it a moment to exit so the status can be told. */
      for (int i = 0; i < 50 && !reaped; i++) {
        reaped = waitpid(pid, &status, WNOHANG) == pid;
        if (!reaped) {
          struct timespec ts = {0, 10 * 1000 * 1000};
          nanosleep(&ts, NULL);
        }
      }
      if (reaped && WIFEXITED(status))
        set_summary(out,
                    "the MCP server process exited with status %d before "
                    "answering initialize",
                    WEXITSTATUS(status));
      else if (reaped && WIFSIGNALED(status))
        set_summary(out,
                    "the MCP server process was killed by signal %d before "
                    "answering initialize",
                    WTERMSIG(status));
      else
        set_summary(out, "the MCP server process closed its stdout before "
                         "answering initialize");
    } else {
      set_summary(out,
                  "the MCP server process did not answer initialize within "
                  "%d ms",
                  timeout_ms);
    }
  }
  close(in[1]);
  stop_child(pid, &status, &reaped);
  /* What is left in the pipe; non-blocking, since a process the server
   * started may still hold its write end. */
  fcntl(e[0], F_SETFL, fcntl(e[0], F_GETFL) | O_NONBLOCK);
  for (int i = 0; i < 64; i++) {
    ssize_t n = read(e[0], buf, sizeof(buf));
    if (n <= 0)
      break;
    tail_feed(&tail, buf, (size_t)n);
  }
  if (tail.cur_len > 0)
    tail_push(&tail);
  close(o[0]);
  close(e[0]);
  tc_sbuf_free(&so);
  sigaction(SIGPIPE, &old, NULL);
  add_evidence(out, "started %s (pid %ld); %s after %llu ms", argv[0],
               (long)pid, out->ok ? "answered" : "gave up",
               (unsigned long long)took);
  if (!out->ok) {
    if (tail.count == 0)
      add_evidence(out, "it wrote nothing to stderr");
    for (size_t i = 0; i < tail.count; i++)
      add_evidence(
          out, "stderr: %s",
          tail.lines[(tail.next + TAIL_LINES - tail.count + i) % TAIL_LINES]);
  }
  tc_exec_argv_free(argv);
}
