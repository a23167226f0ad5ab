/* test_mcp_unix.c — the example transport under the fake host, against a
 * real unix-socket server running in a thread of this test.
 *
 * The server answers each connection's one request: for "tools/call" it
 * first sends a progress notification, then the result echoing the request
 * id; for "hang" it never answers; for "close" it hangs up. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <tc/fakehost.h>

#include "mcp_unix.h"

extern const struct tc_module tc_module; /* mcp_unix.c */

static int failures;
#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      failures++;                                                              \
    }                                                                          \
  } while (0)

static int listen_fd;

static void *serve_one(void *arg) {
  int fd = (int)(intptr_t)arg;
  char req[4096];
  size_t len = 0;
  while (len < sizeof(req) - 1 && memchr(req, '\n', len) == NULL) {
    ssize_t r = read(fd, req + len, sizeof(req) - 1 - len);
    if (r <= 0)
      break;
    len += (size_t)r;
  }
  req[len] = '\0';
  if (strstr(req, "\"hang\"") != NULL) {
    sleep(3);
  } else if (strstr(req, "\"tools/call\"") != NULL) {
    const char *id = strstr(req, "\"id\":");
    int n = id ? atoi(id + 5) : 0;
    char out[512];
    int m = snprintf(
        out, sizeof(out),
        "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\","
        "\"params\":{\"progress\":1,\"message\":\"has \\\"id\\\" inside\"}}\n"
        "{\"jsonrpc\":\"2.0\",\"id\":%d,\"result\":{\"content\":[{\"type\":"
        "\"text\",\"text\":\"echo\"}]}}\n",
        n);
    if (write(fd, out, (size_t)m) != m)
      perror("write");
  }
  close(fd); /* also the "close" case: hang up without an answer */
  return NULL;
}

static void *server(void *arg) {
  (void)arg;
  for (;;) {
    int fd = accept(listen_fd, NULL, NULL);
    if (fd < 0)
      return NULL;
    pthread_t t;
    pthread_create(&t, NULL, serve_one, (void *)(intptr_t)fd);
    pthread_detach(t);
  }
}

int main(void) {
  char dir[] = "/tmp/mcp-unix-test.XXXXXX";
  if (mkdtemp(dir) == NULL)
    return 2;
  char path[200];
  snprintf(path, sizeof(path), "%s/mcp.sock", dir);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  strcpy(sa.sun_path, path);
  listen_fd = socket(AF_UNIX, SOCK_STREAM, 0);
  if (bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
      listen(listen_fd, 16) != 0)
    return 2;
  pthread_t srv;
  pthread_create(&srv, NULL, server, NULL);

  struct tc_fakehost *fh = tc_fakehost_new("mcp-unix");
  struct mcp_unix_config cfg = {1000, 1 << 20};
  char *err = NULL;
  CHECK(tc_fakehost_init(fh, &tc_module, &cfg, &err) == TC_OK);
  const struct tc_transport_vtable *vt = tc_fakehost_transport(fh, "mcp-unix");
  CHECK(vt != NULL);
  if (vt == NULL)
    return 1;

  /* A binding without a socket is refused with a clear message. */
  struct tc_binding b = {
      .struct_size = sizeof(b), .channel = "main", .transport = "mcp-unix"};
  void *inst = NULL;
  CHECK(vt->create(tc_fakehost_host(fh), &b, &inst, &err) == TC_ECONFIG);
  CHECK(err != NULL && strstr(err, "needs unix-socket=PATH") != NULL);
  free(err);
  err = NULL;

  b.unix_socket = path;
  CHECK(vt->create(tc_fakehost_host(fh), &b, &inst, &err) == TC_OK);

  /* A call: one notification, then the response with our id. */
  struct tc_fakehost_result r;
  CHECK(tc_fakehost_call(vt, inst, "jsonrpc", "main",
                         "{\"jsonrpc\":\"2.0\",\"id\":42,\"method\":"
                         "\"tools/call\",\"params\":{\"name\":\"echo\"}}",
                         2000, &r) == TC_OK);
  CHECK(r.status == 200 && r.failure_source == NULL);
  CHECK(r.body != NULL && strstr(r.body, "\"id\":42") != NULL);
  CHECK(r.notify_count == 1 &&
        strstr(r.notifications[0], "notifications/progress") != NULL);
  tc_fakehost_result_clear(&r);

  /* A notification completes with 202 and no body. */
  CHECK(tc_fakehost_call(vt, inst, "jsonrpc", "main",
                         "{\"jsonrpc\":\"2.0\",\"method\":"
                         "\"notifications/initialized\"}",
                         2000, &r) == TC_OK);
  CHECK(r.status == 202 && r.body == NULL);
  tc_fakehost_result_clear(&r);

  /* The server hangs up: transport_closed. */
  CHECK(tc_fakehost_call(vt, inst, "jsonrpc", "main",
                         "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"close\"}",
                         2000, &r) == TC_OK);
  CHECK(r.failure_source && strcmp(r.failure_source, "transport_closed") == 0);
  tc_fakehost_result_clear(&r);

  /* The server never answers: the deadline wins. */
  CHECK(tc_fakehost_call(vt, inst, "jsonrpc", "main",
                         "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"hang\"}",
                         300, &r) == TC_OK);
  CHECK(r.failure_source && strcmp(r.failure_source, "timeout") == 0);
  tc_fakehost_result_clear(&r);
  vt->destroy(inst);

  /* Nobody listening: a connect failure, logged at debug level. */
  b.unix_socket = "/nonexistent/mcp.sock";
  CHECK(vt->create(tc_fakehost_host(fh), &b, &inst, &err) == TC_OK);
  CHECK(tc_fakehost_call(vt, inst, "jsonrpc", "main",
                         "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"ping\"}",
                         2000, &r) == TC_OK);
  CHECK(r.failure_source && strcmp(r.failure_source, "connect") == 0);
  CHECK(tc_fakehost_log_contains(fh, "mcp-unix/main: connect failed"));
  tc_fakehost_result_clear(&r);
  vt->destroy(inst);

  /* The module counted every outcome. */
  double v = 0;
  const char *ok[] = {"ok"}, *conn[] = {"connect"};
  CHECK(tc_fakehost_metric_value(fh, "mcp_unix_calls_total", ok, &v) == TC_OK &&
        v == 2);
  CHECK(tc_fakehost_metric_value(fh, "mcp_unix_calls_total", conn, &v) ==
            TC_OK &&
        v == 1);

  tc_fakehost_free(fh);
  shutdown(listen_fd, SHUT_RDWR); /* accept() fails: the server returns */
  pthread_join(srv, NULL);
  close(listen_fd);
  unlink(path);
  rmdir(dir);
  if (failures == 0)
    printf("mcp-unix: all checks passed\n");
  return failures == 0 ? 0 : 1;
}
