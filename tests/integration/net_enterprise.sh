#!/usr/bin/env bash
# Enterprise network and OAuth tests: real processes on 127.0.0.1 —
# `dev mcp-stub` (plain, HTTPS, mutual TLS or OAuth-protected),
# `dev control-plane`, `tunnel-client run`, and Debian's tinyproxy — driven
# through the control plane's MCP ingress with curl, checked with jq.
#
# usage: net_enterprise.sh CASE TUNNEL_CLIENT_BINARY
#
# Certificates (a private CA, a server certificate for 127.0.0.1, a client
# certificate, an unrelated second CA) are made with openssl at test time.
# Every process gets ephemeral ports, runs under `env -i` with HOME in a
# private temp dir, and is killed by the EXIT trap if still alive.
set -uo pipefail

case_name=${1:?case}
bin=${2:?tunnel-client binary}
tid=tunnel_22222222222222222222222222222222
key=local-tunnel-client-dev-proxy

# shellcheck source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
init_work tc-net
fail_logs=('*.log' '*.body' '*.hdr')

need_tools "$jq_bin" "$node_bin" "$curl_bin" openssl tinyproxy

make_pki() {
  local d=$work/pki
  mkdir -p "$d"
  (
    cd "$d" || exit 1
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem -days 2 \
      -subj "/CN=tc test root" &&
      openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout other.key -out other.pem -days 2 \
        -subj "/CN=tc unrelated root" &&
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout srv.key -out srv.csr -subj "/CN=127.0.0.1" &&
      printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >srv.ext &&
      openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out srv.pem \
        -days 2 -extfile srv.ext &&
      openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout cli.key -out cli.csr -subj "/CN=tc client" &&
      openssl x509 -req -in cli.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out cli.pem -days 2 &&
      cat other.pem ca.pem >bundle.pem && : >empty.pem
  ) >"$work/openssl.log" 2>&1 || fail "openssl could not make the test certificates"
  pki=$d
}

start_stub() { # stub flags...
  spawn stub "dev mcp-stub" env -i PATH="$PATH" HOME="$work" "$bin" dev mcp-stub \
    --listen-addr 127.0.0.1:0 --url-file "$work/stub.url" "$@"
  stub=$spawned_url
  target=$stub/mcp
}

start_cp() {
  spawn cp "dev control-plane" env -i PATH="$PATH" HOME="$work" "$bin" dev control-plane \
    --listen 127.0.0.1:0 --url-file "$work/cp.url"
  cp=$spawned_url
}

# start_tinyproxy USER PASS: Debian's tinyproxy on a free port with Basic
# auth; sets $proxy_port. Its log is $work/tinyproxy.log.
start_tinyproxy() {
  proxy_port=$(free_port)
  cat >"$work/tinyproxy.conf" <<CONF
Port $proxy_port
Listen 127.0.0.1
Timeout 30
LogFile "$work/tinyproxy.log"
LogLevel Info
PidFile "$work/tinyproxy.pid"
MaxClients 50
Allow 127.0.0.1
BasicAuth $1 $2
DisableViaHeader Yes
CONF
  tinyproxy -d -c "$work/tinyproxy.conf" >"$work/tinyproxy.out" 2>&1 &
  pids+=($!)
  local i
  for ((i = 0; i < 200; i++)); do
    "$curl_bin" -s -o /dev/null "http://127.0.0.1:$proxy_port/" && return 0
    sleep 0.05
  done
  fail "tinyproxy did not start on port $proxy_port"
}

# run_agent ARGS...: `tunnel-client run` between $cp and $target in the
# background; sets $agent_pid. Log: $work/agent.log.
run_agent() {
  env -i PATH="$PATH" HOME="$work" CONTROL_PLANE_API_KEY="$key" "$bin" run \
    --control-plane.base-url "$cp" --control-plane.tunnel-id "$tid" \
    --mcp.server-url "$target" --health.listen-addr 127.0.0.1:0 \
    --health.url-file "$work/health.url" --control-plane.poll-timeout 1s \
    "$@" >"$work/agent.log" 2>&1 &
  agent_pid=$!
  pids+=("$agent_pid")
  wait_file "$work/health.url" "$agent_pid" "tunnel-client run"
}

# agent_refuses WANT ARGS...: the agent must exit 1 at startup with WANT
# in its one-line error.
agent_refuses() {
  local want=$1
  shift
  env -i PATH="$PATH" HOME="$work" CONTROL_PLANE_API_KEY="$key" timeout 20 "$bin" run \
    --control-plane.base-url "$cp" --control-plane.tunnel-id "$tid" \
    --mcp.server-url "$target" --health.listen-addr 127.0.0.1:0 "$@" \
    >"$work/refused.log" 2>&1
  local rc=$?
  [[ $rc -eq 1 ]] || fail "agent exit status $rc with a bad setting, want 1"
  grep -q -- "$want" "$work/refused.log" || fail "startup error does not say '$want'"
}

stop_agent() { stop_pid "$agent_pid" "tunnel-client run"; }

# mcp NAME BODY [curl args...]: POST to the ingress; body/headers to
# $work/NAME.body/.hdr; prints the status.
mcp() {
  local name=$1 body=$2
  shift 2
  "$curl_bin" -sS --max-time 30 -X POST -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' --data-binary "$body" "$@" \
    -D "$work/$name.hdr" -o "$work/$name.body" -w '%{http_code}' \
    "$cp/v1/mcp/$tid" 2>"$work/$name.curlerr" ||
    fail "$name: curl failed: $(cat "$work/$name.curlerr")"
}

echo_call='{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"input":"through"}}}'
init_call='{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}'

# echo_ok NAME: a tools/call echo through the tunnel answers "through".
echo_ok() {
  local code
  code=$(mcp "$1" "$echo_call")
  [[ $code == 200 ]] || fail "$1: ingress status $code, want 200"
  grep -q '"through"' "$work/$1.body" || fail "$1: echo result missing"
}

case $case_name in
net_proxy_tinyproxy)
  # Control-plane polls, responses and MCP calls all go through tinyproxy
  # (explicit --http-proxy with credentials); the health check CONNECTs to
  # the control plane; the password never appears in the agent's output.
  start_stub
  start_cp
  start_tinyproxy tcuser 's3cretPass'
  run_agent --http-proxy "http://tcuser:s3cretPass@127.0.0.1:$proxy_port"
  echo_ok via_proxy
  cp_port=${cp##*:}
  stub_port=${stub##*:}
  wait_log "$work/tinyproxy.log" "GET http://127.0.0.1:$cp_port/v1/tunnels/$tid/poll" \
    "control-plane poll did not go through the proxy"
  wait_log "$work/tinyproxy.log" "POST http://127.0.0.1:$cp_port/v1/tunnels/$tid/response" \
    "control-plane response did not go through the proxy"
  wait_log "$work/tinyproxy.log" "POST http://127.0.0.1:$stub_port/mcp" \
    "MCP call did not go through the proxy"
  wait_log "$work/tinyproxy.log" "CONNECT 127.0.0.1:$cp_port" "no proxy health CONNECT"
  wait_log "$work/agent.log" "proxy http://127.0.0.1:$proxy_port is healthy" \
    "proxy health not logged as healthy"
  # The same state in the admin API, and no credentials anywhere in it.
  "$curl_bin" -sS --max-time 5 "$(cat "$work/health.url")/api/status" >"$work/status.json" ||
    fail "GET /api/status failed"
  jq_check "$work/status.json" '.proxy_health == [{"route":"control_plane","healthy":true}]' \
    "proxy health in /api/status"
  ! grep -q 's3cretPass' "$work/status.json" || fail "the proxy password is in /api/status"
  stop_agent
  ! grep -q 's3cretPass' "$work/agent.log" || fail "the proxy password was logged"
  ;;
net_proxy_bad_credentials)
  # Wrong proxy password: the health check reports the proxy's refusal
  # (tinyproxy answers 401 or 407), nothing leaks.
  start_stub
  start_cp
  start_tinyproxy tcuser 's3cretPass'
  run_agent --http-proxy "http://tcuser:wrongPass9@127.0.0.1:$proxy_port"
  wait_log "$work/agent.log" "proxy http://127.0.0.1:$proxy_port is unhealthy: CONNECT answered HTTP 40[17]" \
    "proxy health did not report the refusal"
  "$curl_bin" -sS --max-time 5 "$(cat "$work/health.url")/api/status" >"$work/status.json" ||
    fail "GET /api/status failed"
  jq_check "$work/status.json" '.proxy_health == [{"route":"control_plane","healthy":false}]' \
    "proxy health in /api/status"
  stop_agent
  ! grep -q 'wrongPass9' "$work/agent.log" || fail "the proxy password was logged"
  ;;
net_tls_ca_bundle)
  # HTTPS MCP server signed by a private CA: without the bundle the call
  # fails as a TLS failure; with a bundle of several certificates it works
  # (net_tls_bad_bundle: an empty bundle is a startup error.)
  make_pki
  start_stub --tls-cert "$pki/srv.pem" --tls-key "$pki/srv.key"
  [[ $stub == https://* ]] || fail "stub URL $stub is not https"
  start_cp
  run_agent
  code=$(mcp no_bundle "$echo_call")
  jq_check "$work/no_bundle.body" '.error.data.tunnel_failure.source == "tls"' \
    "without the CA bundle the call must fail as a TLS failure (status $code)"
  wait_log "$work/agent.log" "(certificate|SSL)" "no readable TLS error in the agent log"
  stop_agent
  run_agent --ca-bundle "$pki/bundle.pem"
  echo_ok with_bundle
  wait_log "$work/agent.log" "ca_bundle: 2 certificate" "bundle load not logged"
  stop_agent
  ;;
net_mtls)
  # The MCP server requires a client certificate from the private CA.
  make_pki
  start_stub --tls-cert "$pki/srv.pem" --tls-key "$pki/srv.key" --tls-client-ca "$pki/ca.pem"
  start_cp
  run_agent --ca-bundle "$pki/ca.pem"
  code=$(mcp no_cert "$echo_call")
  jq_check "$work/no_cert.body" '.error.data.tunnel_failure.upstream_status == 403' \
    "without a client certificate the server must refuse (status $code)"
  stop_agent
  run_agent --ca-bundle "$pki/ca.pem" --mcp.client-cert "$pki/cli.pem" \
    --mcp.client-key "$pki/cli.key"
  echo_ok with_cert
  stop_agent
  ;;
net_tls_bad_bundle)
  # Unreadable or certificate-less bundles, and a client key that does not
  # belong to its certificate, stop the start with a one-line error.
  make_pki
  target=https://127.0.0.1:9/mcp
  start_cp
  agent_refuses "holds no PEM certificate" --ca-bundle "$pki/empty.pem"
  agent_refuses "cannot read" --ca-bundle "$work/missing.pem"
  agent_refuses "does not match" --ca-bundle "$pki/ca.pem" \
    --mcp.client-cert "$pki/cli.pem" --mcp.client-key "$pki/srv.key"
  ;;
net_discovery_headers)
  # Static header scoping (mcp-oauth-ops.md 1.6): the WWW-Authenticate probe
  # and PRMD GETs carry the extra headers with the discovery headers
  # overriding them, as does the startup probe; runtime calls carry only
  # the extra headers; neither
  # value ever reaches the log. The target records each request's headers.
  "$node_bin" -e '
    const http = require("http"), fs = require("fs");
    const [urlFile, logFile] = process.argv.slice(1);
    http.createServer((req, res) => {
      let b = "";
      req.on("data", (c) => (b += c));
      req.on("end", () => {
        const kind = req.url.startsWith("/.well-known/") ? "prmd" : b === "" ? "probe" : "call";
        let method = null;
        try { method = JSON.parse(b).method ?? null; } catch (e) {}
        fs.appendFileSync(logFile, JSON.stringify({ kind, method, path: req.url,
          both: req.headers["x-both"] ?? null, disc: req.headers["x-disc"] ?? null,
          stat: req.headers["x-static"] ?? null }) + "\n");
        if (kind !== "call") { res.writeHead(404); res.end(); return; }
        const m = JSON.parse(b);
        if (m.id === undefined) { res.writeHead(202); res.end(); return; }
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ jsonrpc: "2.0", id: m.id, result: { content: [{ type: "text", text: "through" }] } }));
      });
    }).listen(0, "127.0.0.1", function () {
      fs.writeFileSync(urlFile + ".tmp", "http://127.0.0.1:" + this.address().port);
      fs.renameSync(urlFile + ".tmp", urlFile);
    });' "$work/hdr.url" "$work/hdr.jsonl" >"$work/hdr.log" 2>&1 &
  pids+=($!)
  wait_file "$work/hdr.url" $! "header-recording target"
  target=$(cat "$work/hdr.url")/mcp
  start_cp
  run_agent --mcp.extra-headers "X-Static: st4tic-V4lue" --mcp.extra-headers "X-Both: from-extra" \
    --mcp.discovery-extra-headers "X-Disc: d1sc-V4lue" --mcp.discovery-extra-headers "X-Both: from-discovery"
  echo_ok scoped
  for ((i = 0; i < 100; i++)); do
    grep -q '"kind":"prmd"' "$work/hdr.jsonl" 2>/dev/null && break
    sleep 0.05
  done
  "$jq_bin" -s . "$work/hdr.jsonl" >"$work/hdr.json"
  jq_check "$work/hdr.json" '[.[] | select(.kind == "probe")] | length > 0 and all(.disc == "d1sc-V4lue" and .both == "from-discovery" and .stat == "st4tic-V4lue")' \
    "WWW-Authenticate probe headers"
  jq_check "$work/hdr.json" '[.[] | select(.kind == "prmd")] | length > 0 and all(.disc == "d1sc-V4lue" and .both == "from-discovery" and .stat == "st4tic-V4lue")' \
    "PRMD GET headers"
  # The startup probe (initialize) is a discovery request too.
  jq_check "$work/hdr.json" '[.[] | select(.method == "initialize")] | length > 0 and all(.disc == "d1sc-V4lue" and .both == "from-discovery")' \
    "startup probe headers"
  jq_check "$work/hdr.json" '[.[] | select(.method == "tools/call")] | length == 1 and all(.disc == null and .both == "from-extra" and .stat == "st4tic-V4lue")' \
    "runtime call headers"
  stop_agent
  ! grep -Eq 'd1sc-V4lue|st4tic-V4lue' "$work/agent.log" || fail "a static header value was logged"
  ;;
net_oauth_tunnel)
  # OAuth-protected MCP server behind the tunnel: 401 with the rewritten
  # WWW-Authenticate, PRMD through the tunnel with the tunnel's resource,
  # and an authorized call whose Authorization arrives unchanged.
  token='tok.A-b_c~9+/x='
  start_stub --oauth-token "$token"
  start_cp
  run_agent
  code=$(mcp unauth "$init_call")
  [[ $code == 401 ]] || fail "unauthenticated initialize: status $code, want 401"
  want="resource_metadata=\"$cp/.well-known/oauth-protected-resource/v1/mcp/$tid\""
  grep -i '^www-authenticate:' "$work/unauth.hdr" | grep -qF -- "$want" ||
    fail "WWW-Authenticate not rewritten to the tunnel PRMD URL: $(grep -i www-auth "$work/unauth.hdr")"
  "$curl_bin" -sS --max-time 30 -o "$work/prmd.body" -w '%{http_code}' \
    "$cp/.well-known/oauth-protected-resource/v1/mcp/$tid" >"$work/prmd.code" ||
    fail "PRMD GET through the tunnel failed"
  [[ $(cat "$work/prmd.code") == 200 ]] || fail "PRMD through the tunnel: status $(cat "$work/prmd.code")"
  jq_check "$work/prmd.body" ".resource == \"$cp/v1/mcp/$tid\"" "PRMD resource is not the tunnel URL"
  jq_check "$work/prmd.body" ".authorization_servers[0] == \"$stub\"" \
    "PRMD authorization_servers changed"
  code=$(mcp authed "$init_call" -H "Authorization: Bearer $token")
  [[ $code == 200 ]] || fail "authorized initialize: status $code, want 200"
  jq_check "$work/authed.body" '.result.serverInfo.name == "mcp-stub"' "initialize result missing"
  "$curl_bin" -sS --max-time 10 "$stub/_stub/last-authorization" >"$work/seen.body" ||
    fail "cannot read what the stub saw"
  jq_check "$work/seen.body" ".authorization == \"Bearer $token\"" \
    "the Authorization header did not reach the MCP server unchanged"
  wait_log "$work/agent.log" "protected resource metadata found" \
    "startup discovery did not find the PRMD"
  stop_agent
  ;;
*)
  fail "unknown case $case_name"
  ;;
esac
echo "ok [$case_name]"
