/* util/fs.h — small file helpers: atomic writes, removal, base64url.
 *
 * Threads: every function is reentrant. Errors: -1 with errno set, and
 * *err (malloc()ed, one line naming the path) where the signature has one. */
#ifndef TC_UTIL_FS_H
#define TC_UTIL_FS_H

#include <stddef.h>
#include <sys/types.h>

/* Replace `path` with `len` bytes of `data`: a temporary file in the same
 * directory is written, given `mode`, fsync()ed and rename()d over `path`
 * (readers see the old or the new content, never a mix). Returns 0, or -1
 * with *err set (when err != NULL); the temporary file never remains. */
int tc_fs_write_atomic(const char *path, const void *data, size_t len,
                       mode_t mode, char **err);

/* The identity of a file we wrote, to remove it later only if the path
 * still names it (another process may have replaced it meanwhile). */
struct tc_file_id {
  dev_t dev;
  ino_t ino;
};

/* tc_fs_write_atomic() that also reports the identity of the new file. */
int tc_fs_write_atomic_id(const char *path, const void *data, size_t len,
                          mode_t mode, struct tc_file_id *id, char **err);

/* unlink(path) only while it names the file (dev, ino): 0 when removed or
 * missing, 1 when the path names another file (left alone), -1 on error
 * (errno). Uses only lstat() and unlink(), so it is safe on a thread that
 * is about to _exit(). A replacement between the two calls cannot be
 * ruled out: the window is one system call wide. */
int tc_fs_remove_if_same(const char *path, dev_t dev, ino_t ino);

/* unlink(path); a missing file counts as success. Returns 0 or -1 (errno). */
int tc_fs_remove_if_exists(const char *path);

/* URL-safe base64 (RFC 4648 §5) without padding; malloc()ed, NULL on
 * ENOMEM. */
char *tc_base64url_encode(const void *data, size_t len);
/* Decode URL-safe base64, with or without '=' padding. Returns 0 and a
 * malloc()ed buffer (NUL-terminated for convenience; *outlen excludes the
 * NUL), or -1 when the input is not base64url or on ENOMEM. */
int tc_base64url_decode(const char *in, unsigned char **out, size_t *outlen);

#endif /* TC_UTIL_FS_H */
