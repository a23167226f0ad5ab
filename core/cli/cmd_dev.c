/* cli/cmd_dev.c — `dev` subcommands: local stand-ins for the pieces of a
 * tunnel that normally live elsewhere.
 *
 *   dev mcp-stub  a Streamable HTTP MCP server (dev/mcp_stub.h) in the
 *                 foreground until SIGINT/SIGTERM, then exit 0.
 *   dev control-plane  an in-memory tunnel service with an MCP ingress
 *                 (dev/control_plane.h), same foreground/signal contract.
 *   dev proxy     both halves of a tunnel in one process: the control
 *                 plane above plus the agent (run_agent.h) polling it, so
 *                 an MCP server is reachable at <cp>/v1/mcp/<tunnel id>.
 *
 * Signals are blocked before any thread starts (every libmicrohttpd thread
 * inherits the mask) and taken with sigwait(), as `run` does. Errors are
 * one line on stderr and exit 1. */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/run_agent.h"
#include "config/config.h"
#include "controlplane/duration.h"
#include "dev/control_plane.h"
#include "dev/mcp_stub.h"
#include "util/fs.h"
#include "util/log.h"

static const char dev_usage[] =
    "Usage: tunnel-client dev <command> [flags]\n"
    "\n"
    "Commands:\n"
    "  mcp-stub   run a local Streamable HTTP MCP server with OAuth discovery\n"
    "             documents (demo and test target)\n"
    "  control-plane\n"
    "             run a local in-memory tunnel service (poll/response API)\n"
    "             with an MCP ingress that turns HTTP calls into commands\n"
    "  proxy      run that control plane and the agent in one process: an\n"
    "             MCP server reachable through a local tunnel\n"
    "\n"
    "Run 'tunnel-client dev help <command>' for a command's flags.\n";

static const char mcp_stub_usage[] =
    "Usage: tunnel-client dev mcp-stub [--listen-addr 127.0.0.1:0]\n"
    "         [--server-name mcp-stub] [--server-version 0.1.0] [--url-file "
    "F]\n"
    "\n"
    "Serves a small MCP server until SIGINT or SIGTERM (then exits 0):\n"
    "  POST/DELETE /mcp   Streamable HTTP; tools echo{input}, "
    "uppercase{input},\n"
    "                     server_info. initialize issues an Mcp-Session-Id;\n"
    "                     an unknown or deleted session id gets 404; requests\n"
    "                     without one are served. GET /mcp is 405 (no\n"
    "                     server-initiated stream).\n"
    "  GET /.well-known/oauth-protected-resource[/mcp]  protected resource\n"
    "                     metadata; GET "
    "/.well-known/oauth-authorization-server\n"
    "                     and /jwks. URLs in them use the request's Host "
    "header.\n"
    "                     The advertised authorize/token/register endpoints\n"
    "                     are not implemented.\n"
    "\n"
    "Reply format: text/event-stream when Accept contains text/event-stream\n"
    "and either lists it before application/json (or has no "
    "application/json),\n"
    "or the call is tools/call with arguments.stream=true; otherwise\n"
    "application/json. A tools/call with arguments.progress=N (0..100) sends "
    "N\n"
    "notifications/progress events on the stream before the result.\n"
    "\n"
    "Flags:\n"
    "  --listen-addr HOST:PORT   address to bind (default 127.0.0.1:0; port 0\n"
    "                            picks a free port)\n"
    "  --server-name NAME        serverInfo.name (default mcp-stub)\n"
    "  --server-version VER      serverInfo.version (default 0.1.0)\n"
    "  --url-file F              write the base URL (http://host:port, no\n"
    "                            newline, mode 0600) once serving; removed on\n"
    "                            exit\n";

struct stub_flags {
  const char *listen_addr;
  const char *server_name;
  const char *server_version;
  const char *url_file;
};

/* A printable value without control characters, at most 256 bytes. */
static int plain_value(const char *v) {
  size_t n = strlen(v);
  if (n == 0 || n > 256)
    return 0;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
      return 0;
  return 1;
}

/* Returns 0, 1 (error printed) or 2 (help printed: exit 0). */
static int parse_stub_flags(int argc, char **argv, struct stub_flags *f) {
  const struct {
    const char *name;
    const char **slot;
  } known[] = {
      {"--listen-addr", &f->listen_addr},
      {"--server-name", &f->server_name},
      {"--server-version", &f->server_version},
      {"--url-file", &f->url_file},
  };
  for (int i = 0; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      fputs(mcp_stub_usage, stdout);
      return 2;
    }
    size_t k = 0, nk = sizeof(known) / sizeof(known[0]);
    const char *value = NULL;
    for (; k < nk; k++) {
      size_t len = strlen(known[k].name);
      if (strncmp(arg, known[k].name, len) != 0)
        continue;
      if (arg[len] == '=') {
        value = arg + len + 1;
        break;
      }
      if (arg[len] == '\0') {
        if (i + 1 >= argc) {
          fprintf(stderr,
                  "dev mcp-stub: flag %s needs a value; see 'tunnel-client "
                  "dev help mcp-stub'\n",
                  known[k].name);
          return 1;
        }
        value = argv[++i];
        break;
      }
    }
    if (k == nk) {
      fprintf(stderr,
              "dev mcp-stub: unknown argument \"%.64s\"; flags are "
              "--listen-addr, --server-name, --server-version and --url-file\n",
              arg);
      return 1;
    }
    if (!plain_value(value)) {
      fprintf(stderr,
              "dev mcp-stub: %s must be 1..256 printable characters; fix its "
              "value\n",
              known[k].name);
      return 1;
    }
    *known[k].slot = value;
  }
  return 0;
}

static void print_banner(const struct tc_mcp_stub_options *o,
                         const char *base) {
  printf("MCP stub \"%s\" %s is serving (Ctrl-C or SIGTERM stops it)\n"
         "  Listen URL:          %s\n"
         "  MCP URL:             %s/mcp\n"
         "  PRMD URL:            %s/.well-known/oauth-protected-resource/mcp\n"
         "  AS metadata URL:     %s/.well-known/oauth-authorization-server\n"
         "\n"
         "Next steps:\n"
         "  # call the echo tool\n"
         "  curl -sS -X POST '%s/mcp' -H 'Content-Type: application/json' \\\n"
         "    -H 'Accept: application/json, text/event-stream' \\\n"
         "    -d '{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
         "\"params\":{\"name\":\"echo\",\"arguments\":{\"input\":\"hello\"}}}'"
         "\n"
         "  # put it behind a tunnel\n"
         "  tunnel-client run --mcp.server-url '%s/mcp' "
         "--control-plane.tunnel-id tunnel_...\n",
         o->server_name, o->server_version, base, base, base, base, base, base);
  fflush(stdout);
}

static int cmd_mcp_stub(int argc, char **argv) {
  struct stub_flags f = {"127.0.0.1:0", "mcp-stub", "0.1.0", NULL};
  int prc = parse_stub_flags(argc, argv, &f);
  if (prc != 0)
    return prc == 2 ? 0 : 1;

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, NULL);
  /* Undo an inherited "ignore" (background start without job control);
   * the signals stay blocked, so only sigwait() sees them. */
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  signal(SIGPIPE, SIG_IGN);

  struct tc_mcp_stub_options o = {.listen_addr = f.listen_addr,
                                  .server_name = f.server_name,
                                  .server_version = f.server_version};
  struct tc_mcp_stub *stub = NULL;
  char *err = NULL;
  if (tc_mcp_stub_start(&stub, &o, &err) != 0) {
    fprintf(stderr, "dev mcp-stub: %s\n", err ? err : "out of memory");
    free(err);
    return 1;
  }
  const char *base = tc_mcp_stub_base_url(stub);
  if (f.url_file != NULL &&
      tc_fs_write_atomic(f.url_file, base, strlen(base), 0600, &err) != 0) {
    fprintf(stderr, "dev mcp-stub: URL file (--url-file): %s\n",
            err ? err : "out of memory");
    free(err);
    tc_mcp_stub_stop(stub);
    return 1;
  }
  print_banner(&o, base);

  int sig = 0;
  while (sigwait(&signals, &sig) != 0 || (sig != SIGINT && sig != SIGTERM))
    ;
  tc_log(TC_LOG_INFO, "mcp-stub", "shutting down", "signal",
         sig == SIGINT ? "SIGINT" : "SIGTERM", NULL);
  tc_mcp_stub_stop(stub);
  if (f.url_file != NULL && tc_fs_remove_if_exists(f.url_file) != 0)
    tc_log(TC_LOG_WARN, "mcp-stub", "could not remove the URL file", "path",
           f.url_file, NULL);
  return 0;
}

/* ---- dev control-plane --------------------------------------------------- */

static const char control_plane_usage[] =
    "Usage: tunnel-client dev control-plane [--listen 127.0.0.1:0]\n"
    "         [--tunnel-id ID] [--api-key KEY] [--response-timeout 30s]\n"
    "         [--url-file F]\n"
    "\n"
    "Serves an in-memory tunnel service until SIGINT or SIGTERM (then exits "
    "0):\n"
    "  GET  /v1/tunnels/{id}            tunnel metadata\n"
    "  GET  /v1/tunnels/{id}/poll       long poll: 200 {\"commands\":[...]} "
    "as soon\n"
    "                                   as one is queued, 204 after "
    "timeout_ms\n"
    "  POST /v1/tunnels/{id}/response   responses (X-Tunnel-Shard-Token "
    "required)\n"
    "  POST|DELETE /v1/mcp/{id}[/{channel}]   MCP ingress (no auth): the call "
    "becomes\n"
    "                                   a command and waits for its response; "
    "SSE\n"
    "                                   when Accept has text/event-stream and\n"
    "                                   notifications arrive\n"
    "  GET  /.well-known/oauth-protected-resource/v1/mcp/{id}   PRMD via an\n"
    "                                   oauth_discovery command\n"
    "  POST /_dev/faults  one-shot faults, e.g. {\"poll\":[{\"status\":503,\n"
    "                     \"retry_after\":\"1\"}],\"response\":[{\"reset\":"
    "true},\n"
    "                     {\"delay_ms\":500}],\"duplicate_delivery\":true}; "
    "DELETE clears\n"
    "  GET  /_dev/responses, /_dev/stats   recorded responses and counters\n"
    "/v1/tunnels/... and /_dev/... need 'Authorization: Bearer <api key>'.\n"
    "\n"
    "Flags:\n"
    "  --listen HOST:PORT        address to bind (default 127.0.0.1:0; port 0\n"
    "                            picks a free port)\n"
    "  --tunnel-id ID            tunnel id served (default tunnel_ + 32 x 2)\n"
    "  --api-key KEY             bearer key agents must send (default\n"
    "                            local-tunnel-client-dev-proxy)\n"
    "  --response-timeout D      how long an ingress call waits for its "
    "response\n"
    "                            (e.g. 30s, 1500ms; default 30s)\n"
    "  --url-file F              write the base URL (http://host:port, no\n"
    "                            newline, mode 0600) once serving; removed on\n"
    "                            exit\n";

struct devcp_flags {
  const char *listen;
  const char *tunnel_id;
  const char *api_key;
  const char *response_timeout;
  const char *url_file;
};

/* Returns 0, 1 (error printed) or 2 (help printed: exit 0). */
static int parse_devcp_flags(int argc, char **argv, struct devcp_flags *f) {
  const struct {
    const char *name;
    const char **slot;
  } known[] = {
      {"--listen", &f->listen},
      {"--tunnel-id", &f->tunnel_id},
      {"--api-key", &f->api_key},
      {"--response-timeout", &f->response_timeout},
      {"--url-file", &f->url_file},
  };
  size_t nk = sizeof(known) / sizeof(known[0]);
  for (int i = 0; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      fputs(control_plane_usage, stdout);
      return 2;
    }
    size_t k = 0;
    const char *value = NULL;
    for (; k < nk; k++) {
      size_t len = strlen(known[k].name);
      if (strncmp(arg, known[k].name, len) != 0)
        continue;
      if (arg[len] == '=') {
        value = arg + len + 1;
        break;
      }
      if (arg[len] == '\0') {
        if (i + 1 >= argc) {
          fprintf(stderr,
                  "dev control-plane: flag %s needs a value; see "
                  "'tunnel-client dev help control-plane'\n",
                  known[k].name);
          return 1;
        }
        value = argv[++i];
        break;
      }
    }
    if (k == nk) {
      fprintf(stderr,
              "dev control-plane: unknown argument \"%.64s\"; flags are "
              "--listen, --tunnel-id, --api-key, --response-timeout and "
              "--url-file\n",
              arg);
      return 1;
    }
    if (!plain_value(value)) {
      fprintf(stderr,
              "dev control-plane: %s must be 1..256 printable characters; "
              "fix its value\n",
              known[k].name);
      return 1;
    }
    *known[k].slot = value;
  }
  return 0;
}

static int cmd_control_plane(int argc, char **argv) {
  struct devcp_flags f = {"127.0.0.1:0", NULL, NULL, "30s", NULL};
  int prc = parse_devcp_flags(argc, argv, &f);
  if (prc != 0)
    return prc == 2 ? 0 : 1;
  int64_t timeout_ns = 0;
  if (!tc_cp_parse_response_timeout(f.response_timeout, &timeout_ns) ||
      timeout_ns < 1000000) {
    fprintf(stderr,
            "dev control-plane: --response-timeout \"%.32s\" is not a "
            "duration of at least 1ms; use e.g. 30s or 1500ms\n",
            f.response_timeout);
    return 1;
  }

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, NULL);
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  signal(SIGPIPE, SIG_IGN);

  struct tc_devcp_options o = {.listen_addr = f.listen,
                               .tunnel_id = f.tunnel_id,
                               .api_key = f.api_key,
                               .response_timeout_ms = timeout_ns / 1000000};
  struct tc_devcp *cp = NULL;
  char *err = NULL;
  if (tc_devcp_start(&cp, &o, &err) != 0) {
    fprintf(stderr, "%s\n", err ? err : "dev control-plane: out of memory");
    free(err);
    return 1;
  }
  const char *base = tc_devcp_base_url(cp);
  if (f.url_file != NULL &&
      tc_fs_write_atomic(f.url_file, base, strlen(base), 0600, &err) != 0) {
    fprintf(stderr, "dev control-plane: URL file (--url-file): %s\n",
            err ? err : "out of memory");
    free(err);
    tc_devcp_stop(cp);
    return 1;
  }
  const char *tid =
      f.tunnel_id ? f.tunnel_id : "tunnel_22222222222222222222222222222222";
  printf("Dev control plane is serving (Ctrl-C or SIGTERM stops it)\n"
         "  Control plane URL:   %s\n"
         "  Tunnel id:           %s\n"
         "  MCP URL:             %s/v1/mcp/%s\n"
         "\n"
         "Next step:\n"
         "  tunnel-client run --control-plane.base-url '%s' "
         "--control-plane.tunnel-id %s \\\n"
         "    --control-plane.api-key <the --api-key value> "
         "--mcp.server-url <MCP server URL>\n",
         base, tid, base, tid, base, tid);
  fflush(stdout);

  int sig = 0;
  while (sigwait(&signals, &sig) != 0 || (sig != SIGINT && sig != SIGTERM))
    ;
  tc_log(TC_LOG_INFO, "devcp", "shutting down", "signal",
         sig == SIGINT ? "SIGINT" : "SIGTERM", NULL);
  tc_devcp_stop(cp);
  if (f.url_file != NULL && tc_fs_remove_if_exists(f.url_file) != 0)
    tc_log(TC_LOG_WARN, "devcp", "could not remove the URL file", "path",
           f.url_file, NULL);
  return 0;
}

/* ---- dev proxy ----------------------------------------------------------- */

#define DEV_PROXY_DEFAULT_TUNNEL "tunnel_22222222222222222222222222222222"
/* The dev control plane's fixed key reaches the agent through this private
 * variable: --control-plane.api-key only takes references. */
#define DEV_PROXY_KEY_ENV "TUNNEL_CLIENT_DEV_PROXY_API_KEY"
#define DEV_PROXY_KEY "local-tunnel-client-dev-proxy"

static const char proxy_usage[] =
    "Usage: tunnel-client dev proxy (--mcp-server-url URL | --mcp-command "
    "CMD |\n"
    "         --embedded-mcp-stub | --profile NAME | --profile-file F)\n"
    "         [--listen 127.0.0.1:0] [--tunnel-id ID] [--url-file F] "
    "[--print-json]\n"
    "         [--health-listen-addr 127.0.0.1:0] [--health-url-file F]\n"
    "         [--response-timeout 30s] [--duration D]\n"
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
    "  --duration D              stop by itself after D (e.g. 2m), exit 0\n";

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
};

/* `--flag` or `--flag=true|false`. Returns 1 when arg is the flag. */
static int proxy_bool_flag(const char *arg, const char *name, bool *out,
                           int *bad) {
  size_t len = strlen(name);
  if (strncmp(arg, name, len) != 0)
    return 0;
  if (arg[len] == '\0')
    *out = true;
  else if (strcmp(arg + len, "=true") == 0)
    *out = true;
  else if (strcmp(arg + len, "=false") == 0)
    *out = false;
  else if (arg[len] == '=')
    *bad = 1;
  else
    return 0;
  return 1;
}

/* Returns 0, 1 (error printed) or 2 (help printed: exit 0). */
static int parse_proxy_flags(int argc, char **argv, struct proxy_flags *f) {
  const struct {
    const char *name;
    char **slot;
  } known[] = {
      {"--listen", &f->listen},
      {"--tunnel-id", &f->tunnel_id},
      {"--mcp-server-url", &f->mcp_server_url},
      {"--mcp-command", &f->mcp_command},
      {"--profile", &f->profile},
      {"--profile-file", &f->profile_file},
      {"--health-listen-addr", &f->health_listen_addr},
      {"--health-url-file", &f->health_url_file},
      {"--url-file", &f->url_file},
      {"--response-timeout", &f->response_timeout},
      {"--duration", &f->duration},
  };
  size_t nk = sizeof(known) / sizeof(known[0]);
  for (int i = 0; i < argc; i++) {
    char *arg = argv[i];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      fputs(proxy_usage, stdout);
      return 2;
    }
    int bad = 0;
    if (proxy_bool_flag(arg, "--embedded-mcp-stub", &f->embedded_stub, &bad) ||
        proxy_bool_flag(arg, "--print-json", &f->print_json, &bad)) {
      if (bad) {
        fprintf(stderr,
                "dev proxy: \"%.64s\": boolean flags take no value or "
                "=true/=false\n",
                arg);
        return 1;
      }
      continue;
    }
    size_t k = 0;
    char *value = NULL;
    for (; k < nk; k++) {
      size_t len = strlen(known[k].name);
      if (strncmp(arg, known[k].name, len) != 0)
        continue;
      if (arg[len] == '=') {
        value = arg + len + 1;
        break;
      }
      if (arg[len] == '\0') {
        if (i + 1 >= argc) {
          fprintf(stderr,
                  "dev proxy: flag %s needs a value; see 'tunnel-client dev "
                  "help proxy'\n",
                  known[k].name);
          return 1;
        }
        value = argv[++i];
        break;
      }
    }
    if (k == nk) {
      fprintf(stderr,
              "dev proxy: unknown argument \"%.64s\"; see 'tunnel-client dev "
              "help proxy' for the flags\n",
              arg);
      return 1;
    }
    /* A command line may be long; everything else is short and plain. */
    if (!plain_value(value) &&
        !(known[k].slot == &f->mcp_command && value[0] != '\0')) {
      fprintf(stderr,
              "dev proxy: %s must be 1..256 printable characters; fix its "
              "value\n",
              known[k].name);
      return 1;
    }
    *known[k].slot = value;
  }
  return 0;
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
  int64_t ns = 0;
  if (!tc_cp_parse_response_timeout(f->response_timeout, &ns) || ns < 1000000) {
    fprintf(stderr,
            "dev proxy: --response-timeout \"%.32s\" is not a duration of at "
            "least 1ms; use e.g. 30s or 1500ms\n",
            f->response_timeout);
    return -1;
  }
  *timeout_ms = ns / 1000000;
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
      asprintf(&health_url, "%s/healthz", r->health_base_url) < 0) {
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
         "  Health URL:          %s\n"
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

static int cmd_proxy(int argc, char **argv) {
  struct proxy_flags f = {.listen = "127.0.0.1:0",
                          .tunnel_id = DEV_PROXY_DEFAULT_TUNNEL,
                          .health_listen_addr = "127.0.0.1:0",
                          .response_timeout = "30s"};
  int prc = parse_proxy_flags(argc, argv, &f);
  if (prc != 0)
    return prc == 2 ? 0 : 1;
  int64_t timeout_ms = 0, duration_ms = 0;
  if (check_proxy_flags(&f, &timeout_ms, &duration_ms) != 0)
    return 1;

  /* Before any thread exists: the mask is inherited by the control plane's
   * threads and the agent's, so only the agent's sigwait() sees them. */
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, NULL);
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  signal(SIGPIPE, SIG_IGN);
  if (setenv(DEV_PROXY_KEY_ENV, DEV_PROXY_KEY, 1) != 0) {
    fprintf(stderr, "dev proxy: cannot set %s: %s\n", DEV_PROXY_KEY_ENV,
            strerror(errno));
    return 1;
  }

  struct tc_devcp_options o = {.listen_addr = f.listen,
                               .tunnel_id = f.tunnel_id,
                               .api_key = DEV_PROXY_KEY,
                               .response_timeout_ms = timeout_ms};
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
  if (ctx.info_written && tc_fs_remove_if_exists(f.url_file) != 0)
    tc_log(TC_LOG_WARN, "devproxy", "could not remove the info file", "path",
           f.url_file, NULL);

out:
  if (timing)
    proxy_timer_stop(&timer, timer_thread);
  tc_devcp_stop(cp); /* after the agent drained: its last posts land here */
  free(base);
  return rc;
}

int tc_cmd_dev(int argc, char **argv) {
  if (argc < 1) {
    fputs(dev_usage, stderr);
    return 1;
  }
  if (strcmp(argv[0], "help") == 0 || strcmp(argv[0], "--help") == 0 ||
      strcmp(argv[0], "-h") == 0) {
    if (argc >= 2 && strcmp(argv[1], "mcp-stub") == 0)
      fputs(mcp_stub_usage, stdout);
    else if (argc >= 2 && strcmp(argv[1], "control-plane") == 0)
      fputs(control_plane_usage, stdout);
    else if (argc >= 2 && strcmp(argv[1], "proxy") == 0)
      fputs(proxy_usage, stdout);
    else
      fputs(dev_usage, stdout);
    return 0;
  }
  if (strcmp(argv[0], "mcp-stub") == 0)
    return cmd_mcp_stub(argc - 1, argv + 1);
  if (strcmp(argv[0], "control-plane") == 0)
    return cmd_control_plane(argc - 1, argv + 1);
  if (strcmp(argv[0], "proxy") == 0)
    return cmd_proxy(argc - 1, argv + 1);
  fprintf(stderr,
          "unknown dev command \"%.64s\"; run 'tunnel-client dev help' for the "
          "list\n",
          argv[0]);
  return 1;
}
