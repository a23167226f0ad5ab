/* cli/cmd_dev.c — `dev` subcommands: local stand-ins for the pieces of a
 * tunnel that normally live elsewhere.
 *
 *   dev mcp-stub  a Streamable HTTP MCP server (dev/mcp_stub.h) in the
 *                 foreground until SIGINT/SIGTERM, then exit 0.
 *   dev control-plane  an in-memory tunnel service with an MCP ingress
 *                 (dev/control_plane.h), same foreground/signal contract.
 *
 * Signals are blocked before any thread starts (every libmicrohttpd thread
 * inherits the mask) and taken with sigwait(), as `run` does. Errors are
 * one line on stderr and exit 1. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
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
    else
      fputs(dev_usage, stdout);
    return 0;
  }
  if (strcmp(argv[0], "mcp-stub") == 0)
    return cmd_mcp_stub(argc - 1, argv + 1);
  if (strcmp(argv[0], "control-plane") == 0)
    return cmd_control_plane(argc - 1, argv + 1);
  fprintf(stderr,
          "unknown dev command \"%.64s\"; run 'tunnel-client dev help' for the "
          "list\n",
          argv[0]);
  return 1;
}
