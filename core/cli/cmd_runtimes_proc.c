/* cli/cmd_runtimes_proc.c — starting, checking and stopping the background
 * `run` processes of `runtimes` (see cmd_runtimes_internal.h): a detached
 * setsid child whose output goes to its log file, or a session on a tmux
 * server private to the state root.
 *
 * A PID alone is not an identity: the kernel start time of the process
 * (/proc/PID/stat field 22) is recorded with it, so a PID reused by another
 * program is reported as stale and never signalled. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cmd_runtimes_internal.h"
#include "config/config_internal.h"

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* In the child after fork(): only async-signal-safe calls. */
static void close_from(int lowfd) {
  long max = sysconf(_SC_OPEN_MAX);
  if (max < 0 || max > 65536)
    max = 65536;
  for (int fd = lowfd; fd < (int)max; fd++)
    close(fd);
}

pid_t tc_rt_spawn(char *const argv[], const char *log_path, char **err) {
  int logfd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (logfd < 0) {
    tc_cfg_fail(err, "open log file %s: %s", log_path, strerror(errno));
    return -1;
  }
  int nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (nullfd < 0) {
    close(logfd);
    tc_cfg_fail(err, "open /dev/null: %s", strerror(errno));
    return -1;
  }
  /* exec failures travel back over a CLOEXEC pipe. */
  int pfd[2];
  if (pipe(pfd) != 0) {
    close(logfd);
    close(nullfd);
    tc_cfg_fail(err, "pipe: %s", strerror(errno));
    return -1;
  }
  fcntl(pfd[1], F_SETFD, FD_CLOEXEC);
  fcntl(pfd[0], F_SETFD, FD_CLOEXEC);
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(logfd);
    close(nullfd);
    close(pfd[0]);
    close(pfd[1]);
    tc_cfg_fail(err, "fork: %s", strerror(e));
    return -1;
  }
  if (pid == 0) {
    setsid();
    signal(SIGPIPE, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (dup2(nullfd, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0)
      _exit(127);
    int wfd = pfd[1];
    if (wfd <= 2) /* cannot happen: 0-2 were open */
      _exit(127);
    /* Keep only 0-2 and the status pipe (CLOEXEC). */
    for (int fd = 3; fd < wfd; fd++)
      close(fd);
    close_from(wfd + 1);
    execv(argv[0], argv);
    int e = errno;
    ssize_t w = write(wfd, &e, sizeof(e));
    (void)w;
    _exit(127);
  }
  close(logfd);
  close(nullfd);
  close(pfd[1]);
  int child_errno = 0;
  ssize_t n;
  do
    n = read(pfd[0], &child_errno, sizeof(child_errno));
  while (n < 0 && errno == EINTR);
  close(pfd[0]);
  if (n == (ssize_t)sizeof(child_errno)) {
    waitpid(pid, NULL, 0);
    tc_cfg_fail(err, "start %s: %s (set --tunnel-client-bin)", argv[0],
                strerror(child_errno));
    return -1;
  }
  return pid;
}

/* /proc/PID/stat: "pid (comm) S ppid ... starttime(22) ...". comm may
 * contain spaces and ')', so parse from the last ')'. */
static int read_stat(pid_t pid, char *state, char *ticks, size_t tlen,
                     char *comm, size_t clen) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
  FILE *f = fopen(path, "re");
  if (f == NULL)
    return -1;
  char buf[1024];
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  char *open_p = strchr(buf, '(');
  char *close_p = strrchr(buf, ')');
  if (open_p == NULL || close_p == NULL || close_p < open_p)
    return -1;
  if (comm != NULL) {
    size_t cl = (size_t)(close_p - open_p - 1);
    if (cl >= clen)
      cl = clen - 1;
    memcpy(comm, open_p + 1, cl);
    comm[cl] = '\0';
  }
  char *p = close_p + 2; /* field 3: state */
  *state = *p;
  /* skip to field 22: fields 3..21 are 19 fields */
  for (int field = 3; field < 22 && p != NULL; field++) {
    p = strchr(p, ' ');
    if (p != NULL)
      p++;
  }
  if (p == NULL)
    return -1;
  size_t l = strcspn(p, " ");
  if (l >= tlen)
    l = tlen - 1;
  memcpy(ticks, p, l);
  ticks[l] = '\0';
  return 0;
}

void tc_rt_proc_start_ticks(pid_t pid, char *buf, size_t len) {
  char st = 0;
  buf[0] = '\0';
  if (read_stat(pid, &st, buf, len, NULL, 0) != 0)
    buf[0] = '\0';
}

int tc_rt_proc_check(pid_t pid, const char *start_ticks, char *why,
                     size_t whylen) {
  if (why != NULL && whylen > 0)
    why[0] = '\0';
  if (pid <= 1)
    return 0;
  if (kill(pid, 0) != 0 && errno == ESRCH) {
    if (why)
      snprintf(why, whylen, "pid %ld is gone", (long)pid);
    return 0;
  }
  char st = 0, ticks[32], comm[64];
  if (read_stat(pid, &st, ticks, sizeof(ticks), comm, sizeof(comm)) != 0)
    return 1; /* no /proc: trust kill() */
  if (st == 'Z' || st == 'X') {
    if (why)
      snprintf(why, whylen, "pid %ld has exited", (long)pid);
    return 0;
  }
  if (start_ticks != NULL && start_ticks[0] != '\0' &&
      strcmp(start_ticks, ticks) != 0) {
    if (why)
      snprintf(why, whylen,
               "pid %ld now belongs to another program (%s started later)",
               (long)pid, comm);
    return -1;
  }
  return 1;
}

int tc_rt_child_exited(pid_t pid, int *status) {
  int st = 0;
  pid_t r = waitpid(pid, &st, WNOHANG);
  if (r == pid) {
    if (status)
      *status = st;
    return 1;
  }
  return 0;
}

/* Gone, or a zombie that is not ours to reap. */
static int leader_gone(pid_t pid) {
  int st;
  if (waitpid(pid, &st, WNOHANG) == pid)
    return 1;
  return tc_rt_proc_check(pid, NULL, NULL, 0) == 0;
}

int tc_rt_proc_stop(pid_t pid, int64_t wait_ms) {
  if (pid <= 1)
    return 0;
  /* The runtime leads its own process group (setsid). */
  if (kill(-pid, SIGTERM) != 0 && kill(pid, SIGTERM) != 0 && errno == ESRCH)
    return 0;
  for (int64_t waited = 0; waited < wait_ms; waited += 50) {
    if (leader_gone(pid))
      return 0;
    sleep_ms(50);
  }
  kill(-pid, SIGKILL);
  kill(pid, SIGKILL);
  for (int i = 0; i < 20; i++) {
    if (leader_gone(pid))
      return 0;
    sleep_ms(50);
  }
  return -1;
}

/* ---- tmux ------------------------------------------------------------------
 */

static uint32_t fnv1a(const char *s) {
  uint32_t h = 2166136261u;
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 16777619u;
  }
  return h;
}

char *tc_rt_tmux_socket(const char *root) {
  return tc_cfg_printf("tunnel-client-%08x", fnv1a(root));
}

char *tc_rt_tmux_session(const char *root, const char *alias) {
  return tc_cfg_printf("tunnel-mcp__%s__%08x", alias, fnv1a(root));
}

/* Run tmux with argv quietly; returns its exit status (or -1). When out is
 * not NULL, the first line of stdout goes there. */
static int run_tmux(char *const argv[], char *out, size_t outlen) {
  int pfd[2];
  if (pipe(pfd) != 0)
    return -1;
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    close(pfd[0]);
    close(pfd[1]);
    return -1;
  }
  if (pid == 0) {
    int nullfd = open("/dev/null", O_RDWR);
    dup2(nullfd, 0);
    dup2(pfd[1], 1);
    dup2(nullfd, 2);
    close_from(3);
    execvp("tmux", argv);
    _exit(127);
  }
  close(pfd[1]);
  char buf[256];
  size_t got = 0;
  ssize_t n;
  while ((n = read(pfd[0], buf + got, sizeof(buf) - 1 - got)) > 0 ||
         (n < 0 && errno == EINTR))
    if (n > 0 && (got += (size_t)n) >= sizeof(buf) - 1)
      break;
  close(pfd[0]);
  buf[got] = '\0';
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (out != NULL && outlen > 0) {
    size_t l = strcspn(buf, "\r\n");
    if (l >= outlen)
      l = outlen - 1;
    memcpy(out, buf, l);
    out[l] = '\0';
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

bool tc_rt_tmux_available(void) {
  char *argv[] = {"tmux", "-V", NULL};
  return run_tmux(argv, NULL, 0) == 0;
}

bool tc_rt_tmux_has(const char *socket, const char *session) {
  char target[256];
  snprintf(target, sizeof(target), "=%s", session);
  char *argv[] = {"tmux", "-L", (char *)(uintptr_t)socket, "has-session", "-t",
                  target, NULL};
  return run_tmux(argv, NULL, 0) == 0;
}

int tc_rt_tmux_kill(const char *socket, const char *session) {
  char target[256];
  snprintf(target, sizeof(target), "=%s", session);
  char *argv[] = {"tmux", "-L", (char *)(uintptr_t)socket, "kill-session", "-t",
                  target, NULL};
  return run_tmux(argv, NULL, 0) == 0 ? 0 : -1;
}

pid_t tc_rt_tmux_start(const char *socket, const char *session,
                       char *const argv[], const char *const env_names[],
                       char **err) {
  /* tmux -L S start-server ; set-option -g update-environment "A B" ;
   *   new-session -d -s NAME -- argv... ; list-panes -t =NAME -F
   *   #{pane_pid} */
  char names[1024] = "";
  for (size_t i = 0; env_names != NULL && env_names[i] != NULL; i++) {
    if (strlen(names) + strlen(env_names[i]) + 2 >= sizeof(names))
      break;
    if (names[0] != '\0')
      strcat(names, " ");
    strcat(names, env_names[i]);
  }
  size_t argc = 0;
  while (argv[argc] != NULL)
    argc++;
  char target[256];
  snprintf(target, sizeof(target), "=%s", session);
  char **t = calloc(argc + 24, sizeof(*t));
  if (t == NULL) {
    tc_cfg_fail(err, "out of memory");
    return -1;
  }
  size_t k = 0;
  t[k++] = "tmux";
  t[k++] = "-L";
  t[k++] = (char *)(uintptr_t)socket;
  t[k++] = "start-server";
  t[k++] = ";";
  t[k++] = "set-option";
  t[k++] = "-g";
  t[k++] = "update-environment";
  t[k++] = names;
  t[k++] = ";";
  t[k++] = "new-session";
  t[k++] = "-d";
  t[k++] = "-s";
  t[k++] = (char *)(uintptr_t)session;
  t[k++] = "--";
  for (size_t i = 0; i < argc; i++)
    t[k++] = argv[i];
  t[k++] = ";";
  t[k++] = "list-panes";
  t[k++] = "-t";
  t[k++] = target;
  t[k++] = "-F";
  t[k++] = "#{pane_pid}";
  t[k] = NULL;
  char out[64] = "";
  int rc = run_tmux(t, out, sizeof(out));
  free(t);
  long pid = strtol(out, NULL, 10);
  if (rc != 0 || pid <= 1) {
    tc_cfg_fail(err, "tmux could not start session %s (exit %d)", session, rc);
    return -1;
  }
  return (pid_t)pid;
}
