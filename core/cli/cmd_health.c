/* cli/cmd_health.c — `tunnel-client health (--url|--url-file|--port)
 * [--pid|--pid-file] [--require-control-plane-poll] [--json]`: probes a
 * running agent's /healthz and /readyz (500 ms each, 2xx = OK) and, when
 * asked, whether a control-plane poll has succeeded (/api/status
 * control_plane.last_successful_poll_at; a failed poll does not count). Exit 0
 * healthy, 2 not healthy (including a URL file that cannot be read), 1 for a
 * wrong command line. */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "cli/cli.h"
#include "cli/cmd_profiles.h"
#include "util/error.h"
#include "util/fs.h"

const char tc_health_usage[] =
    "Usage: tunnel-client health (--url URL | --url-file FILE | --port N)\n"
    "                            [--pid PID | --pid-file FILE]\n"
    "                            [--require-control-plane-poll] [--json]\n"
    "\n"
    "Asks a running agent whether it is healthy: GET /healthz and /readyz\n"
    "on its health listener, 500 ms each; a 2xx answer is OK.\n"
    "\n"
    "  --url URL        the health listener, e.g. http://127.0.0.1:8080\n"
    "  --url-file FILE  the file the agent wrote (--health.url-file); also\n"
    "                   http+unix:// URLs for --health.unix-socket\n"
    "  --port N         shorthand for --url http://127.0.0.1:N\n"
    "  --pid PID, --pid-file FILE\n"
    "                   also require that this process is running\n"
    "  --require-control-plane-poll\n"
    "                   also require a successful control-plane poll\n"
    "                   (/api/status control_plane.last_successful_poll_at)\n"
    "  --json           one JSON object instead of text\n"
    "\n"
    "Exit status: 0 healthy, 2 not healthy, 1 wrong command line.\n"
    "\n"
    "Examples:\n"
    "  tunnel-client run --profile work --health.url-file /tmp/tc.url &\n"
    "  tunnel-client health --url-file /tmp/tc.url\n"
    "  tunnel-client health --port 8080 --json --require-control-plane-poll\n";

#define PROBE_TIMEOUT_MS 500L
#define BODY_SHOWN 512

struct probe {
  char *url;
  bool ok;
  long status; /* 0 when no HTTP answer */
  char *body;
  char *error;
};

struct buf {
  char *data;
  size_t len;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  struct buf *b = ud;
  size_t add = size * n;
  if (b->len + add > 64 * 1024)
    return add;
  char *nd = realloc(b->data, b->len + add + 1);
  if (nd == NULL)
    return 0;
  memcpy(nd + b->len, p, add);
  b->len += add;
  nd[b->len] = '\0';
  b->data = nd;
  return add;
}

/* GET base+path; unix_socket non-NULL for http+unix. The body is kept
 * whole in *raw when raw != NULL. */
static void probe_get(const char *base, const char *unix_socket,
                      const char *path, struct probe *p, char **raw) {
  memset(p, 0, sizeof(*p));
  if (asprintf(&p->url, "%s%s", base, path) < 0)
    p->url = NULL;
  const char *http_url_base = unix_socket != NULL ? "http://localhost" : base;
  char *url = NULL;
  if (asprintf(&url, "%s%s", http_url_base, path) < 0)
    url = NULL;
  CURL *c = url != NULL ? curl_easy_init() : NULL;
  if (c == NULL) {
    p->error = strdup("out of memory");
    free(url);
    return;
  }
  char errbuf[CURL_ERROR_SIZE] = "";
  struct buf body = {NULL, 0};
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, PROBE_TIMEOUT_MS);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "tunnel-client-health");
  if (unix_socket != NULL)
    curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, unix_socket);
  CURLcode rc = curl_easy_perform(c);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &p->status);
    p->ok = p->status >= 200 && p->status < 300;
    const char *b = body.data ? body.data : "";
    size_t n = strlen(b);
    while (n > 0 && (b[n - 1] == '\n' || b[n - 1] == '\r' || b[n - 1] == ' '))
      n--;
    p->body = strndup(b, n < BODY_SHOWN ? n : BODY_SHOWN);
  } else {
    p->error = strdup(errbuf[0] ? errbuf : curl_easy_strerror(rc));
  }
  if (raw != NULL) {
    *raw = body.data;
    body.data = NULL;
  }
  free(body.data);
  curl_easy_cleanup(c);
  free(url);
}

static void probe_free(struct probe *p) {
  free(p->url);
  free(p->body);
  free(p->error);
}

static json_t *probe_json(const struct probe *p) {
  return json_pack("{s:s?, s:b, s:I, s:s?, s:s?}", "url", p->url, "ok", p->ok,
                   "status", (json_int_t)p->status, "body", p->body, "error",
                   p->error);
}

struct locator {
  const char *kind; /* "url" | "url_file" | "port" */
  const char *url, *url_file, *port;
  char *base;        /* resolved base URL (shown) */
  char *unix_socket; /* for http+unix:// */
  char *error;
};

static int resolve_locator(struct locator *l) {
  char *text = NULL;
  if (l->url_file != NULL) {
    char *err = NULL;
    if (tc_profile_read_text(l->url_file, &text, &err) != 0) {
      l->error = err;
      return -1;
    }
  }
  const char *raw = l->url != NULL ? l->url : text;
  if (l->port != NULL) {
    char *end = NULL;
    errno = 0;
    long port = strtol(l->port, &end, 10);
    if (errno != 0 || end == l->port || *end != '\0' || port < 1 ||
        port > 65535)
      return tc_set_error(&l->error, "invalid --port \"%s\" (use 1-65535)",
                          l->port);
    if (asprintf(&l->base, "http://127.0.0.1:%ld", port) < 0)
      l->base = NULL;
    return l->base != NULL ? 0 : -1;
  }
  /* trim */
  while (raw != NULL && (*raw == ' ' || *raw == '\t' || *raw == '\n'))
    raw++;
  size_t n = raw != NULL ? strlen(raw) : 0;
  while (n > 0 && (raw[n - 1] == '\n' || raw[n - 1] == '\r' ||
                   raw[n - 1] == ' ' || raw[n - 1] == '/'))
    n--;
  int rc = 0;
  if (n == 0) {
    rc = tc_set_error(&l->error, "%s is empty",
                      l->url_file != NULL ? l->url_file : "--url");
  } else if (strncmp(raw, "http+unix://", 12) == 0) {
    unsigned char *path = NULL;
    size_t plen = 0;
    char *enc = strndup(raw + 12, n - 12);
    if (enc == NULL || tc_base64url_decode(enc, &path, &plen) != 0 ||
        plen == 0) {
      rc = tc_set_error(&l->error,
                        "cannot decode the socket path of %.*s (expected "
                        "http+unix://<base64url path>)",
                        (int)n, raw);
      free(path);
    } else {
      l->unix_socket = (char *)path;
      l->base = strndup(raw, n);
    }
    free(enc);
  } else if (strncmp(raw, "http://", 7) == 0 ||
             strncmp(raw, "https://", 8) == 0) {
    l->base = strndup(raw, n);
  } else {
    rc = tc_set_error(&l->error,
                      "\"%.*s\" is not an http:// or http+unix:// URL",
                      (int)(n > 200 ? 200 : n), raw);
  }
  free(text);
  return rc;
}

struct proc {
  long pid; /* 0 when unknown */
  const char *pid_file;
  bool checked, running;
  char *error;
};

static void check_process(struct proc *p, const char *pid_arg) {
  char *text = NULL;
  if (pid_arg == NULL && p->pid_file == NULL)
    return;
  p->checked = true;
  const char *v = pid_arg;
  if (v == NULL) {
    char *err = NULL;
    if (tc_profile_read_text(p->pid_file, &text, &err) != 0) {
      p->error = err;
      return;
    }
    v = text;
  }
  char *end = NULL;
  errno = 0;
  long pid = strtol(v, &end, 10);
  while (end != NULL && (*end == '\n' || *end == ' ' || *end == '\r'))
    end++;
  if (errno != 0 || end == v || *end != '\0' || pid <= 0) {
    tc_set_error(&p->error, "%s does not hold a process id",
                 pid_arg ? "--pid" : p->pid_file);
  } else {
    p->pid = pid;
    p->running = kill((pid_t)pid, 0) == 0 || errno == EPERM;
    if (!p->running)
      tc_set_error(&p->error, "process %ld is not running", pid);
  }
  free(text);
}

struct poll_check {
  bool required, ok;
  char *url;
  char *last_poll_at;
  char *error;
};

static void check_poll(struct poll_check *pc, const char *base,
                       const char *sock) {
  struct probe p;
  char *raw = NULL;
  probe_get(base, sock, "/api/status", &p, &raw);
  pc->url = p.url;
  p.url = NULL;
  if (p.error != NULL) {
    pc->error = p.error;
    p.error = NULL;
  } else if (!p.ok) {
    tc_set_error(&pc->error, "/api/status answered HTTP %ld", p.status);
  } else {
    json_error_t je;
    json_t *j = raw ? json_loads(raw, 0, &je) : NULL;
    json_t *cp = json_object_get(j, "control_plane");
    json_t *last = json_object_get(cp, "last_successful_poll_at");
    const char *why = json_string_value(json_object_get(cp, "refusal"));
    if (why == NULL)
      why = json_string_value(json_object_get(cp, "last_error"));
    if (!json_is_object(cp))
      tc_set_error(&pc->error, "/api/status has no control_plane object");
    else if (last == NULL)
      tc_set_error(&pc->error,
                   "/api/status does not report "
                   "control_plane.last_successful_poll_at (the agent is "
                   "older than this command; upgrade it)");
    else if (json_is_string(last) && json_string_length(last) > 0) {
      pc->ok = true;
      pc->last_poll_at = strdup(json_string_value(last));
    } else {
      tc_set_error(&pc->error, "no control-plane poll has succeeded yet%s%s%s",
                   why != NULL ? " (last error: " : "", why != NULL ? why : "",
                   why != NULL ? ")" : "");
    }
    json_decref(j);
  }
  free(raw);
  probe_free(&p);
}

static void print_probe_text(const char *name, const struct probe *p) {
  if (p->error != NULL)
    printf("%-8s FAIL (%s: %s)\n", name, p->url ? p->url : "", p->error);
  else
    printf("%-8s %s (HTTP %ld %s)\n", name, p->ok ? "OK" : "FAIL", p->status,
           p->body ? p->body : "");
}

int tc_cmd_health(int argc, char **argv) {
  if (tc_prof_wants_help(argc, argv)) {
    fputs(tc_health_usage, stdout);
    return 0;
  }
  struct locator l;
  memset(&l, 0, sizeof(l));
  const char *pid_arg = NULL, *pid_file = NULL;
  bool json = false, require_poll = false;
  struct tc_prof_opt opts[] = {
      {"url", &l.url, NULL},
      {"url-file", &l.url_file, NULL},
      {"port", &l.port, NULL},
      {"pid", &pid_arg, NULL},
      {"pid-file", &pid_file, NULL},
      {"json", NULL, &json},
      {"require-control-plane-poll", NULL, &require_poll},
      {NULL, NULL, NULL}};
  char **pos = NULL, *err = NULL;
  size_t npos = 0;
  if (tc_prof_parse(argc, argv, opts, &pos, &npos, &err) != 0)
    return tc_prof_fail("health", err);
  free(pos);
  if (npos > 0)
    return tc_prof_fail("health", strdup("unexpected argument (see --help)"));
  int locators = (l.url != NULL) + (l.url_file != NULL) + (l.port != NULL);
  if (locators != 1)
    return tc_prof_fail(
        "health",
        strdup(locators == 0 ? "give one of --url, --url-file or --port"
                             : "--url, --url-file and --port are mutually "
                               "exclusive (give one)"));
  if (pid_arg != NULL && pid_file != NULL)
    return tc_prof_fail("health",
                        strdup("--pid and --pid-file are mutually exclusive"));
  l.kind = l.url ? "url" : l.url_file ? "url_file" : "port";

  struct probe hz, rz;
  memset(&hz, 0, sizeof(hz));
  memset(&rz, 0, sizeof(rz));
  struct proc pr = {0, pid_file, false, false, NULL};
  struct poll_check pc = {require_poll, false, NULL, NULL, NULL};
  char *ui = NULL;
  bool resolved = resolve_locator(&l) == 0 && l.base != NULL;
  check_process(&pr, pid_arg);
  if (resolved) {
    probe_get(l.base, l.unix_socket, "/healthz", &hz, NULL);
    probe_get(l.base, l.unix_socket, "/readyz", &rz, NULL);
    if (require_poll)
      check_poll(&pc, l.base, l.unix_socket);
    if (asprintf(&ui, "%s/ui", l.base) < 0)
      ui = NULL;
  }
  bool ok = resolved && hz.ok && rz.ok && (!require_poll || pc.ok) &&
            (!pr.checked || pr.running);

  if (json) {
    json_t *o = json_object();
    json_object_set_new(o, "locator",
                        json_pack("{s:s, s:s?, s:s?, s:s?, s:s?, s:s?}", "kind",
                                  l.kind, "url", l.url, "url_file", l.url_file,
                                  "port", l.port, "resolved_base_url", l.base,
                                  "error", l.error));
    json_object_set_new(
        o, "process",
        pr.checked
            ? json_pack("{s:o, s:s?, s:b, s:s?}", "pid",
                        pr.pid ? json_integer(pr.pid) : json_null(), "pid_file",
                        pr.pid_file, "running", pr.running, "error", pr.error)
            : json_null());
    json_object_set_new(o, "base_url",
                        l.base ? json_string(l.base) : json_null());
    json_object_set_new(o, "ui_url", ui ? json_string(ui) : json_null());
    json_object_set_new(o, "healthz", resolved ? probe_json(&hz) : json_null());
    json_object_set_new(o, "readyz", resolved ? probe_json(&rz) : json_null());
    json_object_set_new(o, "control_plane_poll",
                        require_poll && resolved
                            ? json_pack("{s:s?, s:b, s:s?, s:s?}", "url",
                                        pc.url, "ok", pc.ok, "last_poll_at",
                                        pc.last_poll_at, "error", pc.error)
                            : json_null());
    json_object_set_new(o, "result", json_string(ok ? "ok" : "fail"));
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text != NULL)
      printf("%s\n", text);
    free(text);
    json_decref(o);
  } else {
    if (!resolved) {
      printf("Locator: FAIL (%s)\n", l.error ? l.error : "out of memory");
    } else {
      printf("Base URL: %s\nUI:       %s\n", l.base, ui ? ui : "");
      print_probe_text("healthz", &hz);
      print_probe_text("readyz", &rz);
      if (require_poll) {
        if (pc.ok)
          printf("%-8s OK (last successful poll at %s)\n", "poll",
                 pc.last_poll_at);
        else
          printf("%-8s FAIL (%s)\n", "poll", pc.error ? pc.error : "unknown");
      }
    }
    if (pr.checked)
      printf("%-8s %s (%s)\n", "process", pr.running ? "OK" : "FAIL",
             pr.running ? "running"
             : pr.error ? pr.error
                        : "not running");
    printf("Result: %s\n", ok ? "OK" : "FAIL");
  }
  fflush(stdout);
  probe_free(&hz);
  probe_free(&rz);
  free(pc.url);
  free(pc.last_poll_at);
  free(pc.error);
  free(pr.error);
  free(ui);
  free(l.base);
  free(l.unix_socket);
  free(l.error);
  return ok ? 0 : 2;
}
