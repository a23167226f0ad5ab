/* cli/cmd_dev_control_plane.c — `dev control-plane`: an in-memory tunnel
 * service with an MCP ingress (dev/control_plane.h) in the foreground until
 * SIGINT/SIGTERM, then exit 0. Errors are one line on stderr and exit 1. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/dev_common.h"
#include "dev/control_plane.h"

const char tc_dev_control_plane_usage[] =
    "Usage: tunnel-client dev control-plane [--listen 127.0.0.1:0]\n"
    "         [--tunnel-id ID] [--api-key KEY] [--admin-key KEY]\n"
    "         [--response-timeout 30s] [--allowed-hosts NAME[,NAME...]]\n"
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
    "  POST /_dev/commands  queue raw commands exactly as given (a JSON "
    "array)\n"
    "  GET  /_dev/responses, /_dev/stats   recorded responses and counters\n"
    "       (stats include the limit of each recent poll, and per agent\n"
    "       instance: commands delivered, answered, abandoned)\n"
    "/v1/tunnels/... and /_dev/... need 'Authorization: Bearer <api key>'.\n"
    "Every route refuses a request whose Host or Origin names another site\n"
    "(403; DNS-rebinding protection), a cross-site browser request (403) and\n"
    "two Host or two Origin headers (400).\n"
    "\n"
    "Flags:\n"
    "  --listen HOST:PORT        address to bind (default 127.0.0.1:0; port 0\n"
    "                            picks a free port)\n"
    "  --tunnel-id ID            tunnel id served (default tunnel_ + 32 x 2)\n"
    "  --api-key KEY             bearer key agents must send (default\n"
    "                            local-tunnel-client-dev-proxy)\n"
    "  --admin-key KEY           bearer key of the tunnel management API\n"
    "                            (POST/GET /v1/tunnels, POST/DELETE\n"
    "                            /v1/tunnels/{id}; default\n"
    "                            local-tunnel-client-dev-admin)\n"
    "  --response-timeout D      how long an ingress call waits for its "
    "response\n"
    "                            (e.g. 30s, 1500ms; default 30s)\n"
    "  --url-file F              write the base URL (http://host:port, no\n"
    "                            newline, mode 0600) once serving; removed on\n"
    "                            exit\n" TC_DEV_ALLOWED_HOSTS_HELP;

struct devcp_flags {
  char *listen;
  char *tunnel_id;
  char *api_key;
  char *admin_key;
  char *response_timeout;
  char *url_file;
  struct tc_dev_list allowed_hosts;
};

static int run_control_plane(struct devcp_flags *fl, int prc);

int tc_cmd_dev_control_plane(int argc, char **argv) {
  struct devcp_flags f = {"127.0.0.1:0", NULL, NULL,     NULL,
                          "30s",         NULL, {NULL, 0}};
  const struct tc_dev_flag known[] = {
      {"--listen", &f.listen, NULL, false, NULL},
      {"--tunnel-id", &f.tunnel_id, NULL, false, NULL},
      {"--api-key", &f.api_key, NULL, false, NULL},
      {"--admin-key", &f.admin_key, NULL, false, NULL},
      {"--response-timeout", &f.response_timeout, NULL, false, NULL},
      {"--url-file", &f.url_file, NULL, false, NULL},
      {"--allowed-hosts", NULL, NULL, false, &f.allowed_hosts},
  };
  int prc = tc_dev_parse_flags(
      "control-plane", tc_dev_control_plane_usage,
      "flags are --listen, --tunnel-id, --api-key, --admin-key, "
      "--response-timeout, --allowed-hosts and --url-file",
      known, sizeof(known) / sizeof(known[0]), argc, argv);
  int rc = run_control_plane(&f, prc);
  tc_dev_list_free(&f.allowed_hosts);
  return rc;
}

static int run_control_plane(struct devcp_flags *fl, int prc) {
  const struct devcp_flags f = *fl;
  if (prc != 0)
    return prc == 2 ? 0 : 1;
  int64_t timeout_ms = 0;
  if (tc_dev_response_timeout_ms("control-plane", f.response_timeout,
                                 &timeout_ms) != 0 ||
      tc_dev_check_allowed_hosts("control-plane", &f.allowed_hosts) != 0)
    return 1;

  sigset_t signals;
  tc_dev_block_signals(&signals);

  struct tc_devcp_options o = {.listen_addr = f.listen,
                               .tunnel_id = f.tunnel_id,
                               .api_key = f.api_key,
                               .admin_key = f.admin_key,
                               .response_timeout_ms = timeout_ms,
                               .allowed_hosts =
                                   (const char *const *)f.allowed_hosts.items,
                               .allowed_host_count = f.allowed_hosts.count};
  struct tc_devcp *cp = NULL;
  char *err = NULL;
  if (tc_devcp_start(&cp, &o, &err) != 0) {
    fprintf(stderr, "%s\n", err ? err : "dev control-plane: out of memory");
    free(err);
    return 1;
  }
  const char *base = tc_devcp_base_url(cp);
  if (f.url_file != NULL &&
      tc_dev_write_url_file("control-plane", f.url_file, base) != 0) {
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

  tc_dev_wait_for_stop(&signals, "devcp");
  tc_devcp_stop(cp);
  tc_dev_remove_output_file("devcp", f.url_file,
                            "could not remove the URL file");
  return 0;
}
