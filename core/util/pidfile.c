/* util/pidfile.c — a locked pid file (see pidfile.h). */
#include "util/pidfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/error.h"
#include "util/fs.h"

/* Attempts at taking a path that another process unlinks or replaces
 * between our open() and flock(): each retry means the other side made
 * progress, so a small bound is enough. */
#define PIDFILE_TRIES 8

/* The pid written in the file (a holder's), or 0 when unreadable. */
static long holder_pid(int fd) {
  char buf[32];
  ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
  if (n <= 0)
    return 0;
  buf[n] = '\0';
  char *end = NULL;
  long pid = strtol(buf, &end, 10);
  return pid > 0 && (*end == '\n' || *end == '\0') ? pid : 0;
}

static int io_error(const char *path, const char *what, int e, char **err) {
  return tc_set_error(err,
                      "pid file (--pid.file) %s: %s: %s (check that the "
                      "directory exists and is writable)",
                      path, what, strerror(e));
}

int tc_pidfile_acquire(struct tc_pidfile *pf, const char *path, char **err) {
  memset(pf, 0, sizeof(*pf));
  pf->fd = -1;
  for (int attempt = 0; attempt < PIDFILE_TRIES; attempt++) {
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
      return io_error(path, "open", errno, err);
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      int e = errno;
      long pid = e == EWOULDBLOCK ? holder_pid(fd) : 0;
      close(fd);
      if (e != EWOULDBLOCK)
        return io_error(path, "lock", e, err);
      if (pid > 0)
        return tc_set_error(err,
                            "pid file (--pid.file) %s is held by another "
                            "tunnel-client (pid %ld): stop that agent first, "
                            "or give this one its own --pid.file and "
                            "--health.url-file",
                            path, pid);
      return tc_set_error(err,
                          "pid file (--pid.file) %s is locked by another "
                          "process: stop it first, or give this agent its "
                          "own --pid.file and --health.url-file",
                          path);
    }
    /* The previous holder may have unlinked (or someone replaced) the
     * path between our open() and flock(): then our lock is on a file
     * nobody will look at, so start over. */
    struct stat fst, pst;
    if (fstat(fd, &fst) != 0) {
      int e = errno;
      close(fd);
      return io_error(path, "stat", e, err);
    }
    if (lstat(path, &pst) != 0 || pst.st_dev != fst.st_dev ||
        pst.st_ino != fst.st_ino) {
      close(fd);
      continue;
    }
    char line[32];
    int n = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
    if (fchmod(fd, 0644) != 0 || ftruncate(fd, 0) != 0 ||
        pwrite(fd, line, (size_t)n, 0) != n || fsync(fd) != 0) {
      int e = errno != 0 ? errno : EIO;
      (void)unlink(path); /* ours and locked: nobody else wrote it */
      close(fd);
      return io_error(path, "write", e, err);
    }
    pf->path = path;
    pf->fd = fd;
    pf->dev = fst.st_dev;
    pf->ino = fst.st_ino;
    return 0;
  }
  return tc_set_error(err,
                      "pid file (--pid.file) %s keeps being replaced by "
                      "another process: give this agent its own --pid.file",
                      path);
}

int tc_pidfile_remove_if_ours(const struct tc_pidfile *pf) {
  if (pf->path == NULL)
    return 0;
  return tc_fs_remove_if_same(pf->path, pf->dev, pf->ino);
}

int tc_pidfile_release(struct tc_pidfile *pf) {
  if (pf->path == NULL)
    return 0;
  int rc = tc_pidfile_remove_if_ours(pf);
  int e = errno;
  close(pf->fd); /* drops the lock */
  pf->fd = -1;
  pf->path = NULL;
  errno = e;
  return rc;
}
