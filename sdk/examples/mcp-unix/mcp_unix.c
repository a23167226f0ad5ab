/* mcp_unix.c — an example out-of-tree transport: MCP as newline-delimited
 * JSON over a Unix domain socket.
 *
 * Select it for a binding with `transport=mcp-unix` and give the socket with
 * `unix-socket=PATH` (the binding's URL is only a label here):
 *
 *   mcp:
 *     server_urls:
 *       -
 * channel=main,transport=mcp-unix,url=http://localhost/mcp,unix-socket=/run/mcp.sock
 *   modules:
 *     - name: mcp-unix
 *       config: {connect_timeout: 2s}
 *
 * Protocol: one connection per command. We write the JSON-RPC message and a
 * newline; a notification (no "id") completes with 202 at once. Otherwise we
 * read lines: messages with a "method" and no "result"/"error" are
 * server notifications, posted through sink->notify(); the first response
 * completes the call. Because each command has its own connection, ids
 * never collide and calls run concurrently.
 *
 * Threads: call() runs on the core's worker threads, concurrently; the
 * instance is read-only after create(), so no locking is needed.
 * Errors: every failure completes the call with provenance (connect,
 * transport_closed, timeout, protocol) — the core turns it into a JSON-RPC
 * error for the caller. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <tc/tc.h>

#include "mcp_unix.h"

static const struct tc_host *host;
static struct mcp_unix_config config;
static struct tc_metric *calls_total; /* mcp_unix_calls_total{outcome} */

struct mu_inst {
  char channel[72];
  struct sockaddr_un addr;
};

/* ---- JSON: just enough to classify a message ------------------------------
 * Reports which of "id", "method", "result", "error" are keys of the
 * top-level object. Strings are skipped with their escapes, nesting is
 * tracked, so keys inside params or result never count. */
enum { HAS_ID = 1, HAS_METHOD = 2, HAS_RESULT = 4, HAS_ERROR = 8 };

static int top_level_keys(const char *p, size_t n) {
  int depth = 0, keys = 0, expect_key = 0;
  for (size_t i = 0; i < n; i++) {
    char c = p[i];
    if (c == '"') {
      size_t start = ++i;
      while (i < n && p[i] != '"')
        i += p[i] == '\\' ? 2 : 1;
      if (depth == 1 && expect_key) {
        size_t len = i - start;
        const char *k = p + start;
        if (len == 2 && memcmp(k, "id", 2) == 0)
          keys |= HAS_ID;
        else if (len == 6 && memcmp(k, "method", 6) == 0)
          keys |= HAS_METHOD;
        else if (len == 6 && memcmp(k, "result", 6) == 0)
          keys |= HAS_RESULT;
        else if (len == 5 && memcmp(k, "error", 5) == 0)
          keys |= HAS_ERROR;
        expect_key = 0;
      }
    } else if (c == '{' || c == '[') {
      depth++;
      expect_key = c == '{' && depth == 1;
    } else if (c == '}' || c == ']') {
      depth--;
    } else if (c == ',' && depth == 1) {
      expect_key = 1;
    }
  }
  return keys;
}

/* ---- completing
 * -------------------------------------------------------------- */

static int finish(const struct tc_sink *sink, int status, const char *body,
                  size_t len, const char *source, const char *kind) {
  const char *outcome = source ? source : "ok";
  host->metric_add(calls_total, &outcome, 1);
  struct tc_response r;
  memset(&r, 0, sizeof(r));
  r.struct_size = sizeof(r);
  r.status = status;
  r.body = body;
  r.body_len = len;
  r.failure_source = source;
  r.failure_kind = kind;
  r.upstream_response_received = body != NULL;
  return sink->complete(sink, &r);
}

/* Milliseconds left before the command's deadline (or 1 s slices when it
 * has none); 0 when expired or canceled. */
static int slice_ms(const struct tc_request *req) {
  if (req->is_canceled != NULL && req->is_canceled(req))
    return 0;
  if (req->deadline_ns == 0)
    return 1000;
  uint64_t now = host->monotonic_ns();
  if (now >= req->deadline_ns)
    return 0;
  uint64_t left = (req->deadline_ns - now) / 1000000u;
  return left > 1000 ? 1000 : (int)left + 1;
}

/* Connect without blocking past connect_timeout. Returns the fd or -1
 * with errno set. */
static int connect_socket(const struct mu_inst *mi) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return -1;
  if (connect(fd, (const struct sockaddr *)&mi->addr, sizeof(mi->addr)) == 0)
    return fd;
  if (errno != EAGAIN && errno != EINPROGRESS) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  struct pollfd pfd = {fd, POLLOUT, 0};
  int soerr = 0;
  socklen_t len = sizeof(soerr);
  if (poll(&pfd, 1, (int)config.connect_timeout_ms) != 1 ||
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0 || soerr) {
    close(fd);
    errno = soerr ? soerr : ETIMEDOUT;
    return -1;
  }
  return fd;
}

static int write_all(int fd, const char *p, size_t n,
                     const struct tc_request *req) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w > 0) {
      p += w;
      n -= (size_t)w;
      continue;
    }
    if (w < 0 && errno != EAGAIN && errno != EINTR)
      return -1;
    struct pollfd pfd = {fd, POLLOUT, 0};
    int ms = slice_ms(req);
    if (ms == 0)
      return -2;
    poll(&pfd, 1, ms);
  }
  return 0;
}

/* Read messages until the response; see the file comment. */
static int read_reply(int fd, const struct tc_request *req,
                      const struct tc_sink *sink) {
  size_t cap = 8192, len = 0;
  char *buf = malloc(cap);
  if (buf == NULL)
    return finish(sink, 502, NULL, 0, "client_internal", "out_of_memory");
  int rc;
  for (;;) {
    char *nl = memchr(buf, '\n', len);
    while (nl != NULL) {
      size_t line = (size_t)(nl - buf);
      int keys = top_level_keys(buf, line);
      if (line > 0 && (keys & (HAS_RESULT | HAS_ERROR))) {
        rc = finish(sink, 200, buf, line, NULL, NULL);
        goto out;
      }
      if (line > 0 && (keys & HAS_METHOD) && !(keys & HAS_ID)) {
        struct tc_response n;
        memset(&n, 0, sizeof(n));
        n.struct_size = sizeof(n);
        n.status = 200;
        n.body = buf;
        n.body_len = line;
        sink->notify(sink, &n);
      }
      /* Anything else (blank lines, server requests) is skipped. */
      memmove(buf, nl + 1, len - line - 1);
      len -= line + 1;
      nl = memchr(buf, '\n', len);
    }
    if (len == cap) {
      if ((int64_t)cap >= config.max_message_bytes) {
        rc = finish(sink, 502, NULL, 0, "protocol", "message_too_large");
        goto out;
      }
      char *grown = realloc(buf, cap * 2);
      if (grown == NULL) {
        rc = finish(sink, 502, NULL, 0, "client_internal", "out_of_memory");
        goto out;
      }
      buf = grown;
      cap *= 2;
    }
    int ms = slice_ms(req);
    if (ms == 0) {
      rc = finish(sink, 504, NULL, 0, "timeout", "deadline");
      goto out;
    }
    struct pollfd pfd = {fd, POLLIN, 0};
    if (poll(&pfd, 1, ms) <= 0)
      continue;
    ssize_t r = recv(fd, buf + len, cap - len, 0);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
      rc = finish(sink, 502, NULL, 0, "transport_closed", "eof");
      goto out;
    }
    if (r > 0)
      len += (size_t)r;
  }
out:
  free(buf);
  return rc;
}

/* ---- vtable
 * ------------------------------------------------------------------ */

static int mu_create(const struct tc_host *h, const struct tc_binding *b,
                     void **inst, char **errmsg) {
  if (b->unix_socket == NULL || b->unix_socket[0] == '\0') {
    *errmsg = h->format("channel \"%s\": the mcp-unix transport needs "
                        "unix-socket=PATH in the binding",
                        b->channel);
    return TC_ECONFIG;
  }
  struct mu_inst *mi = calloc(1, sizeof(*mi));
  if (mi == NULL)
    return TC_ENOMEM;
  if (strlen(b->unix_socket) >= sizeof(mi->addr.sun_path)) {
    free(mi);
    *errmsg = h->format("channel \"%s\": unix-socket path is longer than "
                        "%zu bytes",
                        b->channel, sizeof(mi->addr.sun_path) - 1);
    return TC_ECONFIG;
  }
  strncpy(mi->channel, b->channel, sizeof(mi->channel) - 1);
  mi->addr.sun_family = AF_UNIX;
  memcpy(mi->addr.sun_path, b->unix_socket, strlen(b->unix_socket) + 1);
  *inst = mi;
  return TC_OK;
}

static int mu_call(void *inst, const struct tc_request *req,
                   const struct tc_sink *sink) {
  struct mu_inst *mi = inst;
  int fd = connect_socket(mi);
  if (fd < 0) {
    int e = errno;
    host->log(host, TC_LOG_DEBUG, mi->channel, "connect failed: %s",
              strerror(e));
    return finish(sink, 502, NULL, 0, "connect",
                  e == ETIMEDOUT ? "connect_timeout" : "connection_refused");
  }
  int w = write_all(fd, req->body, req->body_len, req);
  if (w == 0)
    w = write_all(fd, "\n", 1, req);
  int rc;
  if (w == -2)
    rc = finish(sink, 504, NULL, 0, "timeout", "deadline");
  else if (w != 0)
    rc = finish(sink, 502, NULL, 0, "transport_closed", "write_failed");
  else if (!(top_level_keys(req->body, req->body_len) & HAS_ID))
    rc = finish(sink, 202, NULL, 0, NULL, NULL); /* notification */
  else
    rc = read_reply(fd, req, sink);
  close(fd);
  return rc;
}

static void mu_destroy(void *inst) {
  free(inst);
}

static const struct tc_transport_vtable mcp_unix_transport = {
    .struct_size = sizeof(struct tc_transport_vtable),
    .name = "mcp-unix",
    .create = mu_create,
    .call = mu_call,
    .destroy = mu_destroy,
};

/* ---- module ---------------------------------------------------------------
 */

static const struct tc_config_field mcp_unix_fields[] = {
    {"connect_timeout", TC_CFG_DURATION, "2s",
     offsetof(struct mcp_unix_config, connect_timeout_ms),
     "how long to wait for the socket to accept a connection", 1, 60000},
    {"max_message_bytes", TC_CFG_INT, "4194304",
     offsetof(struct mcp_unix_config, max_message_bytes),
     "largest message accepted from the server", 8192, 64 << 20},
    TC_CONFIG_END};

static int mu_init(const struct tc_host *h, struct tc_registrar *reg,
                   const void *cfg, char **errmsg) {
  host = h;
  config = *(const struct mcp_unix_config *)cfg;
  static const char *const labels[] = {"outcome", NULL};
  static const struct tc_metric_desc calls = {
      sizeof(calls),
      "mcp_unix_calls_total",
      "Commands forwarded by the mcp-unix transport, by outcome",
      TC_METRIC_COUNTER,
      labels,
      NULL,
      0};
  calls_total = h->metric_register(h, &calls, errmsg);
  if (calls_total == NULL)
    return TC_ECONFIG;
  return reg->add_transport(reg, &mcp_unix_transport, errmsg);
}

TC_MODULE_DEFINE(mcp_unix, .name = "mcp-unix", .version = "1.0.0",
                 .summary = "example: MCP as newline JSON over a unix socket",
                 .init = mu_init, .config = mcp_unix_fields,
                 .config_size = sizeof(struct mcp_unix_config));
