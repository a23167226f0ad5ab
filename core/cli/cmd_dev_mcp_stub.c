/* cli/cmd_dev_mcp_stub.c — `dev mcp-stub`: a Streamable HTTP MCP server
 * (dev/mcp_stub.h) in the foreground until SIGINT/SIGTERM, then exit 0.
 * Errors are one line on stderr and exit 1. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/dev_common.h"
#include "dev/mcp_stub.h"

const char tc_dev_mcp_stub_usage[] =
    "Usage: tunnel-client dev mcp-stub [--listen-addr 127.0.0.1:0]\n"
    "         [--server-name mcp-stub] [--server-version 0.1.0] [--url-file "
    "F]\n"
    "         [--allowed-hosts NAME[,NAME...]]\n"
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
    "  --url-file F              write the base URL (http(s)://host:port, no\n"
    "                            newline, mode 0600) once serving; removed on\n"
    "                            exit\n"
    "  --tls-cert F --tls-key F  serve HTTPS with this PEM certificate and "
    "key\n"
    "  --tls-client-ca F         require a client certificate issued by this\n"
    "                            PEM CA (mutual TLS; 403 without one)\n"
    "  --oauth-token T           OAuth-protected mode: POST/DELETE /mcp need\n"
    "                            'Authorization: Bearer T', else 401 with\n"
    "                            WWW-Authenticate resource_metadata=...\n"
    "  --oauth-issuer-mismatch   the AS metadata names another "
    "issuer\n" TC_DEV_ALLOWED_HOSTS_HELP
    "  GET /_stub/last-authorization shows the last Authorization header\n"
    "  received on /mcp; GET /_stub/last-headers every header of the last\n"
    "  POST or DELETE /mcp.\n"
    "Every route refuses a request whose Host or Origin names another site\n"
    "(403; DNS-rebinding protection), a cross-site browser request (403) and\n"
    "two Host or two Origin headers (400).\n";

struct stub_flags {
  char *listen_addr;
  char *server_name;
  char *server_version;
  char *url_file;
  char *tls_cert, *tls_key, *tls_client_ca, *oauth_token;
  bool issuer_mismatch;
  struct tc_dev_list allowed_hosts;
};

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

static int run_stub(const struct stub_flags *fl, int prc);

int tc_cmd_dev_mcp_stub(int argc, char **argv) {
  struct stub_flags f = {.listen_addr = "127.0.0.1:0",
                         .server_name = "mcp-stub",
                         .server_version = "0.1.0"};
  const struct tc_dev_flag known[] = {
      {"--listen-addr", &f.listen_addr, NULL, false, NULL},
      {"--server-name", &f.server_name, NULL, false, NULL},
      {"--server-version", &f.server_version, NULL, false, NULL},
      {"--url-file", &f.url_file, NULL, false, NULL},
      {"--tls-cert", &f.tls_cert, NULL, true, NULL},
      {"--tls-key", &f.tls_key, NULL, true, NULL},
      {"--tls-client-ca", &f.tls_client_ca, NULL, true, NULL},
      {"--oauth-token", &f.oauth_token, NULL, false, NULL},
      {"--oauth-issuer-mismatch", NULL, &f.issuer_mismatch, false, NULL},
      {"--allowed-hosts", NULL, NULL, false, &f.allowed_hosts},
  };
  int prc = tc_dev_parse_flags(
      "mcp-stub", tc_dev_mcp_stub_usage,
      "flags are --listen-addr, --server-name, --server-version, "
      "--url-file, --tls-cert, --tls-key, --tls-client-ca, --oauth-token, "
      "--oauth-issuer-mismatch and --allowed-hosts",
      known, sizeof(known) / sizeof(known[0]), argc, argv);
  int rc = run_stub(&f, prc);
  tc_dev_list_free(&f.allowed_hosts);
  return rc;
}

static int run_stub(const struct stub_flags *fl, int prc) {
  const struct stub_flags f = *fl;
  if (prc != 0)
    return prc == 2 ? 0 : 1;
  if (tc_dev_check_allowed_hosts("mcp-stub", &f.allowed_hosts) != 0)
    return 1;

  sigset_t signals;
  tc_dev_block_signals(&signals);

  struct tc_mcp_stub_options o = {
      .listen_addr = f.listen_addr,
      .server_name = f.server_name,
      .server_version = f.server_version,
      .tls_cert_file = f.tls_cert,
      .tls_key_file = f.tls_key,
      .tls_client_ca_file = f.tls_client_ca,
      .oauth_token = f.oauth_token,
      .oauth_issuer_mismatch = f.issuer_mismatch,
      .allowed_hosts = (const char *const *)f.allowed_hosts.items,
      .allowed_host_count = f.allowed_hosts.count};
  struct tc_mcp_stub *stub = NULL;
  char *err = NULL;
  if (tc_mcp_stub_start(&stub, &o, &err) != 0) {
    fprintf(stderr, "dev mcp-stub: %s\n", err ? err : "out of memory");
    free(err);
    return 1;
  }
  const char *base = tc_mcp_stub_base_url(stub);
  if (f.url_file != NULL &&
      tc_dev_write_url_file("mcp-stub", f.url_file, base) != 0) {
    tc_mcp_stub_stop(stub);
    return 1;
  }
  print_banner(&o, base);

  tc_dev_wait_for_stop(&signals, "mcp-stub");
  tc_mcp_stub_stop(stub);
  tc_dev_remove_output_file("mcp-stub", f.url_file,
                            "could not remove the URL file");
  return 0;
}
