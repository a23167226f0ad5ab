/* util/pidfile.h — the agent's pid file (--pid.file), held under a lock.
 *
 * The file is opened (created 0644 when missing), locked with flock()
 * LOCK_EX|LOCK_NB and then filled with "<pid>\n" in place. The descriptor
 * stays open (close-on-exec) and keeps the lock until release, so a second
 * agent given the same path fails to start instead of taking it over, and
 * the kernel drops the lock when the process dies, so a stale file left by
 * a crash never blocks a restart. Release unlinks the path only while it
 * still names the locked file (same device and inode).
 *
 * Threads: acquire and release on one thread. tc_pidfile_remove_if_ours()
 * only reads the struct, so another thread may call it on a copy (the
 * second-signal exit path). */
#ifndef TC_UTIL_PIDFILE_H
#define TC_UTIL_PIDFILE_H

#include <sys/types.h>

struct tc_pidfile {
  const char *path; /* borrowed; NULL when none is held */
  int fd;
  dev_t dev;
  ino_t ino;
};

/* Lock `path` and write this process's pid into it. Returns 0, or -1 with
 * *err (malloc()ed, one line): another holder ("is held by another
 * tunnel-client (pid N)...") or an I/O error naming the path. `path` must
 * outlive the pidfile. *pf is left empty on failure. */
int tc_pidfile_acquire(struct tc_pidfile *pf, const char *path, char **err);

/* Unlink the path if it is still our locked file; keeps the lock. Uses
 * only lstat() and unlink(). Returns 0 when removed or already gone, 1
 * when the path now names another file (left alone), -1 on an error
 * (errno). */
int tc_pidfile_remove_if_ours(const struct tc_pidfile *pf);

/* tc_pidfile_remove_if_ours(), then drop the lock and close. Idempotent;
 * returns what the removal returned (0 when nothing was held). */
int tc_pidfile_release(struct tc_pidfile *pf);

#endif /* TC_UTIL_PIDFILE_H */
