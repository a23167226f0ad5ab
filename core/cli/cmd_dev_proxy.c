/* cli/cmd_dev_proxy.c — `dev proxy`: both halves of a tunnel in one
 * process: the dev control plane (dev/control_plane.h) plus the agent
 * (run_agent.h) polling it, so an MCP server is reachable at
 * <cp>/v1/mcp/<tunnel id>. Signals are blocked before any thread starts and
 * taken by the agent's sigwait(), as `run` does. Errors are one line on
 * stderr and exit 1. */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/dev_common.h"
#include "cli/run_agent.h"
#include "config/config.h"
#include "dev/control_plane.h"
#include "util/fs.h"
#include "util/log.h"

#define DEV_PROXY_DEFAULT_TUNNEL "tunnel_22222222222222222222222222222222"
/* The dev control plane's fixed key reaches the agent through this private
 * variable: --control-plane.api-key only takes references. */
#define DEV_PROXY_KEY_ENV "TUNNEL_CLIENT_DEV_PROXY_API_KEY"
#define DEV_PROXY_KEY "local-tunnel-client-dev-proxy"

const char tc_dev_proxy_usage[] =
    "Usage: tunnel-client dev proxy (--mcp-server-url URL | --mcp-command "
    "CMD |\n"
    "         --embedded-mcp-stub | --profile NAME | --profile-file F)\n"
    "         [--listen 127.0.0.1:0] [--tunnel-id ID] [--url-file F] "
    "[--print-json]\n"
    "         [--health-listen-addr 127.0.0.1:0] [--health-url-file F]\n"
    "         [--response-timeout 30s] [--duration D]\n"
    "         [--allowed-hosts NAME[,NAME...]]\n"
    "\n"
    "Runs the dev control plane ('tunnel-client dev help control-plane') and\n"
    "the agent in one process until SIGINT or SIGTERM (then exits 0 after the\n"
    "agent drained). MCP calls to http://HOST:PORT/v1/mcp/<tunnel id> go\n"
    "through the tunnel to the MCP server; the agent polls every 500ms.\n"
    "\n"
    "MCP server (exactly one):\n"
    "  --mcp-server-url URL      a Streamable HTTP MCP server\n"
    "  --mcp-command CMD         a stdio MCP server started by the agent\n"
    "  --embedded-mcp-stub       the built-in MCP stub (tools echo, "
    "uppercase,\n"
    "                            server_info) on 127.0.0.1:0\n"
    "  --profile NAME | --profile-file F   a profile's MCP bindings (its\n"
    "                            control-plane settings are replaced)\n"
    "\n"
    "Flags:\n"
    "  --listen HOST:PORT        control plane and MCP ingress address "
    "(default\n"
    "                            127.0.0.1:0; port 0 picks a free port)\n"
    "  --tunnel-id ID            tunnel id (default tunnel_ + 32 x 2)\n"
    "  --health-listen-addr A    the agent's health listener (default\n"
    "                            127.0.0.1:0)\n"
    "  --health-url-file F       write the health base URL there\n"
    "  --url-file F              write the info JSON (mode 0644) once "
    "serving:\n"
    "                            tunnel_id, mcp_url, mcp_transport,\n"
    "                            control_plane_base_url, health_url; removed "
    "on\n"
    "                            exit\n"
    "  --print-json              also print the info JSON on stdout\n"
    "  --response-timeout D      how long an MCP call waits for its response\n"
    "                            (default 30s)\n"
    "  --duration D              stop by itself after D (e.g. 2m), exit "
    "0\n" TC_DEV_ALLOWED_HOSTS_HELP
    "The control plane and MCP ingress refuse a request whose Host or Origin\n"
    "names another site (403; DNS-rebinding protection), a cross-site browser\n"
    "request (403) and two Host or two Origin headers (400).\n";

/* Values are borrowed from argv (or literals), hence not const: they go
 * into the agent's argv unchanged. */
struct proxy_flags {
  char *listen;
  char *tunnel_id;
  char *mcp_server_url;
  char *mcp_command;
  char *profile;
  char *profile_file;
  char *health_listen_addr;
  char *health_url_file;
  char *url_file;
  char *response_timeout;
  char *duration;
  bool embedded_stub;
  bool print_json;
  struct tc_dev_list allowed_hosts;
};

/* Returns 0, 1 (error printed) or 2 (help printed: exit 0). */
static int parse_proxy_flags(int argc, char **argv, struct proxy_flags *f) {
  const struct tc_dev_flag known[] = {
      {"--listen", &f->listen, NULL, false, NULL},
      {"--tunnel-id", &f->tunnel_id, NULL, false, NULL},
      {"--mcp-server-url", &f->mcp_server_url, NULL, false, NULL},
      {"--mcp-command", &f->mcp_command, NULL, true, NULL},
      {"--profile", &f->profile, NULL, false, NULL},
      {"--profile-file", &f->profile_file, NULL, false, NULL},
      {"--health-listen-addr", &f->health_listen_addr, NULL, false, NULL},
      {"--health-url-file", &f->health_url_file, NULL, false, NULL},
      {"--url-file", &f->url_file, NULL, false, NULL},
      {"--response-timeout", &f->response_timeout, NULL, false, NULL},
      {"--duration", &f->duration, NULL, false, NULL},
      {"--embedded-mcp-stub", NULL, &f->embedded_stub, false, NULL},
      {"--print-json", NULL, &f->print_json, false, NULL},
      {"--allowed-hosts", NULL, NULL, false, &f->allowed_hosts},
  };
  return tc_dev_parse_flags("proxy", tc_dev_proxy_usage,
                            "see 'tunnel-client dev help proxy' for the flags",
                            known, sizeof(known) / sizeof(known[0]), argc,
                            argv);
}

/* Cross-flag checks; prints one line and returns -1 on error. */
static int check_proxy_flags(const struct proxy_flags *f, int64_t *timeout_ms,
                             int64_t *duration_ms) {
  int sources = (f->mcp_server_url != NULL) + (f->mcp_command != NULL) +
                (f->embedded_stub ? 1 : 0) +
                (f->profile != NULL || f->profile_file != NULL);
  if (sources != 1) {
    fprintf(stderr,
            "dev proxy: %s one of --mcp-server-url, --mcp-command, "
            "--embedded-mcp-stub or --profile/--profile-file\n",
            sources == 0 ? "choose the MCP server with" : "give only");
    return -1;
  }
  const char *why = NULL;
  if (tc_validate_tunnel_id(f->tunnel_id, &why) != 0) {
    fprintf(stderr, "dev proxy: invalid --tunnel-id: %s\n", why);
    return -1;
  }
  if (tc_dev_response_timeout_ms("proxy", f->response_timeout, timeout_ms) !=
          0 ||
      tc_dev_check_allowed_hosts("proxy", &f->allowed_hosts) != 0)
    return -1;
  *duration_ms = 0;
  if (f->duration != NULL &&
      (tc_parse_duration_ms(f->duration, duration_ms, &why) != 0 ||
       *duration_ms <= 0)) {
    fprintf(stderr,
            "dev proxy: --duration \"%.32s\" is not a positive duration; use "
            "e.g. 90s or 2m\n",
            f->duration);
    return -1;
  }
  return 0;
}

/* --duration: SIGTERM to ourselves after the deadline, which the agent's
 * sigwait() turns into a normal drain and exit 0. */
struct proxy_timer {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool stop;
  int64_t ms;
};

static void *proxy_timer_main(void *arg) {
  struct proxy_timer *t = arg;
  struct timespec until;
  clock_gettime(CLOCK_MONOTONIC, &until);
  until.tv_sec += (time_t)(t->ms / 1000);
  until.tv_nsec += (long)(t->ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&t->mu);
  int rc = 0;
  while (!t->stop && rc != ETIMEDOUT)
    rc = pthread_cond_timedwait(&t->cv, &t->mu, &until);
  bool fire = !t->stop;
  pthread_mutex_unlock(&t->mu);
  if (fire) {
    tc_log(TC_LOG_INFO, "devproxy", "--duration elapsed: stopping", NULL);
    kill(getpid(), SIGTERM);
  }
  return NULL;
}

static int proxy_timer_start(struct proxy_timer *t, pthread_t *th) {
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_mutex_init(&t->mu, NULL);
  pthread_cond_init(&t->cv, &ca);
  pthread_condattr_destroy(&ca);
  t->stop = false;
  if (pthread_create(th, NULL, proxy_timer_main, t) != 0) {
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    return -1;
  }
  return 0;
}

static void proxy_timer_stop(struct proxy_timer *t, pthread_t th) {
  pthread_mutex_lock(&t->mu);
  t->stop = true;
  pthread_cond_signal(&t->cv);
  pthread_mutex_unlock(&t->mu);
  pthread_join(th, NULL);
  pthread_cond_destroy(&t->cv);
  pthread_mutex_destroy(&t->mu);
}

struct proxy_ready_ctx {
  const struct proxy_flags *f;
  const char *cp_base;
  const char *tunnel_id;
  bool info_written;
};

/* run_agent's on_ready hook: the tunnel is up; tell the user where. */
static int proxy_on_ready(void *ud, const struct tc_run_ready *r, char **err) {
  struct proxy_ready_ctx *c = ud;
  char *mcp_url = NULL, *health_url = NULL, *text = NULL;
  json_t *info = NULL;
  int rc = -1;
  if (asprintf(&mcp_url, "%s/v1/mcp/%s", c->cp_base, c->tunnel_id) < 0 ||
      asprintf(&health_url, "%s/readyz", r->health_base_url) < 0) {
    mcp_url = health_url = NULL;
    goto out;
  }
  info =
      json_pack("{s:s, s:s, s:s, s:s, s:s}", "tunnel_id", c->tunnel_id,
                "mcp_url", mcp_url, "mcp_transport", "http",
                "control_plane_base_url", c->cp_base, "health_url", health_url);
  text = info ? json_dumps(info, JSON_COMPACT) : NULL;
  if (text == NULL)
    goto out;
  if (c->f->url_file != NULL) {
    char *why = NULL;
    if (tc_fs_write_atomic(c->f->url_file, text, strlen(text), 0644, &why) !=
        0) {
      if (asprintf(err, "info file (--url-file): %s",
                   why ? why : "out of memory") < 0)
        *err = NULL;
      free(why);
      goto out;
    }
    c->info_written = true;
  }
  printf("Dev proxy is serving (Ctrl-C or SIGTERM stops it)\n"
         "MCP URL: %s\n"
         "  Control plane URL:   %s\n"
         "  Tunnel id:           %s\n"
         "  Readiness URL:       %s\n"
         "\n"
         "Next step: list the tools through the tunnel\n"
         "  curl -sS -X POST '%s' -H 'Content-Type: application/json' \\\n"
         "    -H 'Accept: application/json, text/event-stream' \\\n"
         "    -d '{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}'\n",
         mcp_url, c->cp_base, c->tunnel_id, health_url, mcp_url);
  if (c->f->print_json)
    printf("%s\n", text);
  fflush(stdout);
  rc = 0;
out:
  free(text);
  json_decref(info);
  free(health_url);
  free(mcp_url);
  return rc;
}

/* The agent's command line: our control plane, fast polls, and the MCP
 * source chosen. Strings are borrowed (flags, cp_base, literals). */
static int proxy_agent_argv(const struct proxy_flags *f, char *cp_base,
                            char **av, int cap) {
  int n = 0;
#define PUSH(s)                                                                \
  do {                                                                         \
    if (n >= cap)                                                              \
      return -1;                                                               \
    av[n++] = (s);                                                             \
  } while (0)
  PUSH("--control-plane.base-url");
  PUSH(cp_base);
  PUSH("--control-plane.tunnel-id");
  PUSH(f->tunnel_id);
  PUSH("--control-plane.api-key");
  PUSH("env:" DEV_PROXY_KEY_ENV);
  PUSH("--control-plane.poll-timeout");
  PUSH("500ms");
  PUSH("--control-plane.poll-deadline-guardrail");
  PUSH("100ms");
  PUSH("--health.listen-addr");
  PUSH(f->health_listen_addr);
  if (f->health_url_file != NULL) {
    PUSH("--health.url-file");
    PUSH(f->health_url_file);
  }
  if (f->mcp_server_url != NULL) {
    PUSH("--mcp.server-url");
    PUSH(f->mcp_server_url);
  }
  if (f->mcp_command != NULL) {
    PUSH("--mcp.command");
    PUSH(f->mcp_command);
  }
  if (f->embedded_stub)
    PUSH("--embedded-mcp-stub");
  if (f->profile != NULL) {
    PUSH("--profile");
    PUSH(f->profile);
  }
  if (f->profile_file != NULL) {
    PUSH("--profile-file");
    PUSH(f->profile_file);
  }
#undef PUSH
  return n;
}

static int run_proxy(struct proxy_flags *fl, int prc);

int tc_cmd_dev_proxy(int argc, char **argv) {
  struct proxy_flags f = {.listen = "127.0.0.1:0",
                          .tunnel_id = DEV_PROXY_DEFAULT_TUNNEL,
                          .health_listen_addr = "127.0.0.1:0",
                          .response_timeout = "30s"};
  int prc = parse_proxy_flags(argc, argv, &f);
  int rc = run_proxy(&f, prc);
  tc_dev_list_free(&f.allowed_hosts);
  return rc;
}

static int run_proxy(struct proxy_flags *fl, int prc) {
  struct proxy_flags f = *fl;
  if (prc != 0)
    return prc == 2 ? 0 : 1;
  int64_t timeout_ms = 0, duration_ms = 0;
  if (check_proxy_flags(&f, &timeout_ms, &duration_ms) != 0)
    return 1;

  /* Before any thread exists: the mask is inherited by the control plane's
   * threads and the agent's, so only the agent's sigwait() sees them. */
  sigset_t signals;
  tc_dev_block_signals(&signals);
  if (setenv(DEV_PROXY_KEY_ENV, DEV_PROXY_KEY, 1) != 0) {
    fprintf(stderr, "dev proxy: cannot set %s: %s\n", DEV_PROXY_KEY_ENV,
            strerror(errno));
    return 1;
  }

  struct tc_devcp_options o = {.listen_addr = f.listen,
                               .tunnel_id = f.tunnel_id,
                               .api_key = DEV_PROXY_KEY,
                               .response_timeout_ms = timeout_ms,
                               .allowed_hosts =
                                   (const char *const *)f.allowed_hosts.items,
                               .allowed_host_count = f.allowed_hosts.count};
  struct tc_devcp *cp = NULL;
  char *err = NULL;
  if (tc_devcp_start(&cp, &o, &err) != 0) {
    fprintf(stderr, "dev proxy: %s\n", err ? err : "out of memory");
    free(err);
    return 1;
  }
  char *base = strdup(tc_devcp_base_url(cp)); /* a char * for the argv */
  char *av[32];
  int ac = base != NULL ? proxy_agent_argv(&f, base, av, 31) : -1;
  struct proxy_timer timer = {.ms = duration_ms};
  pthread_t timer_thread;
  bool timing = false;
  int rc = 1;
  if (ac < 0) {
    fprintf(stderr, "dev proxy: out of memory\n");
    goto out;
  }
  av[ac] = NULL;
  if (duration_ms > 0) {
    if (proxy_timer_start(&timer, &timer_thread) != 0) {
      fprintf(stderr, "dev proxy: cannot start the --duration timer\n");
      goto out;
    }
    timing = true;
  }
  struct proxy_ready_ctx ctx = {
      .f = &f, .cp_base = base, .tunnel_id = f.tunnel_id};
  struct tc_run_hooks hooks = {
      .ud = &ctx, .on_ready = proxy_on_ready, .extra_cleanup_file = f.url_file};
  rc = tc_run_agent(ac, av, &hooks);
  if (ctx.info_written)
    tc_dev_remove_output_file("devproxy", f.url_file,
                              "could not remove the info file");

out:
  if (timing)
    proxy_timer_stop(&timer, timer_thread);
  tc_devcp_stop(cp); /* after the agent drained: its last posts land here */
  free(base);
  return rc;
}
