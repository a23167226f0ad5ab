/* cli/cmd_runtimes_probe.c — how `runtimes` looks at a runtime from outside:
 * its health URL file (http://H:P or http+unix://<base64url path>),
 * /healthz and /readyz (500 ms each), the wait after a launch with its
 * progress line, and the tail of its log. */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cmd_runtimes_internal.h"
#include "config/config_internal.h"
#include "util/fs.h"
#include "util/sbuf.h"

#define PROBE_TIMEOUT_MS 500L
#define WAIT_STEP_MS 200L

void tc_rt_probe_clear(struct tc_rt_probe *p) {
  free(p->base_url);
  free(p->readyz_body);
  memset(p, 0, sizeof(*p));
}

static char *read_small_file(const char *path) {
  FILE *f = fopen(path, "re");
  if (f == NULL)
    return NULL;
  char buf[1024];
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  while (n > 0 &&
         (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
    buf[--n] = '\0';
  return n > 0 ? tc_cfg_strdup(buf) : NULL;
}

static size_t on_body(char *d, size_t sz, size_t n, void *ud) {
  struct tc_sbuf *b = ud;
  if (b->len < 4096)
    tc_sbuf_append(b, d, sz * n);
  return sz * n;
}

/* GET base+path; returns the status (0 = none) and the body's first line. */
static int get(const char *base, const char *path, char **first_line) {
  static int curl_ready = 0;
  if (!curl_ready) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    curl_ready = 1;
  }
  CURL *h = curl_easy_init();
  if (h == NULL)
    return 0;
  char *url = NULL, *sock = NULL;
  if (strncmp(base, "http+unix://", 12) == 0) {
    unsigned char *dec = NULL;
    size_t dl = 0;
    if (tc_base64url_decode(base + 12, &dec, &dl) == 0)
      sock = (char *)dec;
    url = tc_cfg_printf("http://localhost%s", path);
  } else {
    url = tc_cfg_printf("%s%s", base, path);
  }
  struct tc_sbuf body = {0};
  long status = 0;
  if (url != NULL) {
    curl_easy_setopt(h, CURLOPT_URL, url);
    if (sock != NULL)
      curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, sock);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, PROBE_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    if (curl_easy_perform(h) == CURLE_OK)
      curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  }
  if (first_line != NULL) {
    *first_line = NULL;
    if (status != 0 && body.data != NULL) {
      size_t l = strcspn(body.data, "\r\n");
      if (l > 300)
        l = 300;
      *first_line = tc_cfg_strndup(body.data, l);
    }
  }
  tc_sbuf_free(&body);
  curl_easy_cleanup(h);
  free(url);
  free(sock);
  return (int)status;
}

void tc_rt_probe_run(const char *url_file, struct tc_rt_probe *p) {
  tc_rt_probe_clear(p);
  p->base_url = url_file ? read_small_file(url_file) : NULL;
  if (p->base_url == NULL)
    return;
  p->healthz = get(p->base_url, "/healthz", NULL);
  p->healthy = p->healthz >= 200 && p->healthz < 300;
  if (!p->healthy)
    return;
  p->readyz = get(p->base_url, "/readyz", &p->readyz_body);
  p->ready = p->readyz >= 200 && p->readyz < 300;
}

const char *tc_rt_state_name(bool running, const struct tc_rt_probe *p) {
  if (p->ready)
    return "ready";
  if (p->healthy)
    return "healthy";
  return running ? "starting" : "stopped";
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void draw(const char *alias, int64_t elapsed, const char *what,
                 unsigned frame) {
  static const char spin[] = "|/-\\";
  fprintf(stderr, "\r\033[K%c waiting for %s: %s (%lld.%llds)", spin[frame % 4],
          alias, what, (long long)(elapsed / 1000),
          (long long)(elapsed % 1000 / 100));
  fflush(stderr);
}

enum tc_rt_wait_result tc_rt_wait(const char *alias, const char *url_file,
                                  pid_t child, int64_t timeout_ms,
                                  bool progress, struct tc_rt_probe *p,
                                  int *exit_status) {
  int64_t start = now_ms();
  unsigned frame = 0;
  enum tc_rt_wait_result res = TC_RT_WAIT_TIMEOUT;
  for (;;) {
    int st = 0;
    if (child > 0 && tc_rt_child_exited(child, &st)) {
      if (exit_status)
        *exit_status = st;
      res = TC_RT_WAIT_EXITED;
      break;
    }
    if (child < -1 && tc_rt_proc_check(-child, NULL, NULL, 0) == 0) {
      if (exit_status)
        *exit_status = -1; /* not our child: status unknown */
      res = TC_RT_WAIT_EXITED;
      break;
    }
    tc_rt_probe_run(url_file, p);
    if (p->ready) {
      res = TC_RT_WAIT_READY;
      break;
    }
    if (p->healthy && p->readyz == 404) { /* no readiness endpoint */
      res = TC_RT_WAIT_HEALTHY;
      break;
    }
    int64_t elapsed = now_ms() - start;
    if (elapsed >= timeout_ms) {
      res = p->healthy ? TC_RT_WAIT_HEALTHY : TC_RT_WAIT_TIMEOUT;
      break;
    }
    if (progress) {
      char what[160];
      if (p->base_url == NULL)
        snprintf(what, sizeof(what), "starting (health URL file pending)");
      else if (!p->healthy)
        snprintf(what, sizeof(what), "starting (/healthz not answering)");
      else
        snprintf(what, sizeof(what), "healthy, not ready: %.120s",
                 p->readyz_body ? p->readyz_body : "no /readyz answer");
      draw(alias, elapsed, what, frame++);
    }
    struct timespec ts = {0, WAIT_STEP_MS * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
  }
  if (progress) {
    fprintf(stderr, "\r\033[K");
    fflush(stderr);
  }
  return res;
}

json_t *tc_rt_tail(const char *path, size_t n) {
  json_t *out = json_array();
  FILE *f = path ? fopen(path, "re") : NULL;
  if (f == NULL || out == NULL) {
    if (f)
      fclose(f);
    return out ? out : json_array();
  }
  /* Read the last 16 KiB at most. */
  if (fseek(f, 0, SEEK_END) == 0) {
    long size = ftell(f);
    if (size > 16384)
      fseek(f, size - 16384, SEEK_SET);
    else
      fseek(f, 0, SEEK_SET);
  }
  char line[2048];
  while (fgets(line, sizeof(line), f) != NULL) {
    line[strcspn(line, "\r\n")] = '\0';
    json_t *s = json_string(line);
    if (s == NULL) /* not UTF-8 */
      continue;
    json_array_append_new(out, s);
    if (json_array_size(out) > n)
      json_array_remove(out, 0);
  }
  fclose(f);
  return out;
}
