/* util/fs.c — atomic file writes, removal, base64url (see fs.h). */
#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void set_err(char **err, const char *what, const char *path, int e) {
  if (err == NULL)
    return;
  if (asprintf(err,
               "%s %s: %s (check that the directory exists and is writable)",
               what, path, strerror(e)) < 0)
    *err = NULL;
}

static int write_fully(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

int tc_fs_write_atomic(const char *path, const void *data, size_t len,
                       mode_t mode, char **err) {
  return tc_fs_write_atomic_id(path, data, len, mode, NULL, err);
}

int tc_fs_write_atomic_id(const char *path, const void *data, size_t len,
                          mode_t mode, struct tc_file_id *id, char **err) {
  if (path == NULL || path[0] == '\0') {
    errno = EINVAL;
    set_err(err, "write", "(empty path)", EINVAL);
    return -1;
  }
  const char *slash = strrchr(path, '/');
  size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
  const char *base = slash ? slash + 1 : path;
  char *tmp = NULL;
  if (asprintf(&tmp, "%.*s.%s.tmp-XXXXXX", (int)dirlen, path, base) < 0) {
    set_err(err, "write", path, ENOMEM);
    errno = ENOMEM;
    return -1;
  }
  int fd = mkostemp(tmp, O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    set_err(err, "write", path, e);
    free(tmp);
    errno = e;
    return -1;
  }
  int rc = -1, e = 0;
  struct stat st;
  if (fchmod(fd, mode) != 0 || write_fully(fd, data, len) != 0 ||
      fsync(fd) != 0 || fstat(fd, &st) != 0) {
    e = errno;
    close(fd);
  } else if (close(fd) != 0) {
    e = errno;
  } else if (rename(tmp, path) != 0) {
    e = errno;
  } else {
    rc = 0;
    if (id != NULL) {
      id->dev = st.st_dev;
      id->ino = st.st_ino;
    }
    /* Make the rename itself durable; failure here is not fatal. */
    char *dir = dirlen ? strndup(path, dirlen) : strdup(".");
    int dfd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (dfd >= 0) {
      (void)fsync(dfd);
      close(dfd);
    }
    free(dir);
  }
  if (rc != 0) {
    unlink(tmp);
    set_err(err, "write", path, e);
    errno = e;
  }
  free(tmp);
  return rc;
}

int tc_fs_remove_if_exists(const char *path) {
  if (path == NULL || path[0] == '\0')
    return 0;
  if (unlink(path) == 0 || errno == ENOENT)
    return 0;
  return -1;
}

int tc_fs_remove_if_same(const char *path, dev_t dev, ino_t ino) {
  if (path == NULL || path[0] == '\0')
    return 0;
  struct stat st;
  if (lstat(path, &st) != 0)
    return errno == ENOENT ? 0 : -1;
  if (st.st_dev != dev || st.st_ino != ino)
    return 1;
  if (unlink(path) == 0 || errno == ENOENT)
    return 0;
  return -1;
}

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *tc_base64url_encode(const void *data, size_t len) {
  const unsigned char *in = data;
  size_t outlen = len / 3 * 4 + (len % 3 ? len % 3 + 1 : 0);
  char *out = malloc(outlen + 1);
  if (out == NULL)
    return NULL;
  size_t o = 0, i = 0;
  for (; i + 3 <= len; i += 3) {
    unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
    out[o++] = b64url[v >> 18 & 63];
    out[o++] = b64url[v >> 12 & 63];
    out[o++] = b64url[v >> 6 & 63];
    out[o++] = b64url[v & 63];
  }
  if (len - i == 1) {
    unsigned v = (unsigned)in[i] << 16;
    out[o++] = b64url[v >> 18 & 63];
    out[o++] = b64url[v >> 12 & 63];
  } else if (len - i == 2) {
    unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
    out[o++] = b64url[v >> 18 & 63];
    out[o++] = b64url[v >> 12 & 63];
    out[o++] = b64url[v >> 6 & 63];
  }
  out[o] = '\0';
  return out;
}

static int b64url_value(char c) {
  const char *p = c ? strchr(b64url, c) : NULL;
  return p ? (int)(p - b64url) : -1;
}

int tc_base64url_decode(const char *in, unsigned char **out, size_t *outlen) {
  size_t n = strlen(in);
  while (n > 0 && in[n - 1] == '=')
    n--;
  if (n % 4 == 1)
    return -1;
  unsigned char *buf = malloc(n / 4 * 3 + 3);
  if (buf == NULL)
    return -1;
  size_t o = 0;
  unsigned acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; i++) {
    int v = b64url_value(in[i]);
    if (v < 0) {
      free(buf);
      return -1;
    }
    acc = (acc << 6 | (unsigned)v) & 0xffffffu;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      buf[o++] = (unsigned char)(acc >> bits & 0xff);
    }
  }
  buf[o] = '\0';
  *out = buf;
  if (outlen != NULL)
    *outlen = o;
  return 0;
}
