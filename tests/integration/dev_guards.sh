#!/usr/bin/env bash
# DNS-rebinding protection of the dev stand-ins (`dev control-plane`,
# `dev mcp-stub`, `dev proxy`) against the real binary: on every route a
# Host or Origin naming another site, or a cross-site browser request, gets
# 403 before anything is done; two Host or two Origin headers get 400;
# loopback names, the listen address and --allowed-hosts entries pass.
#
# usage: dev_guards.sh CASE TUNNEL_CLIENT_BINARY
#
# Cases: dev_guards_control_plane, dev_guards_mcp_stub, dev_guards_proxy,
# dev_guards_bad_flag. Every process runs under `env -i` with HOME in a
# private temp dir, on 127.0.0.1:0 (URL files), stopped by PID.
set -uo pipefail

case_name=${1:?case}
bin=${2:?tunnel-client binary}
tid=tunnel_22222222222222222222222222222222
key=local-tunnel-client-dev-proxy
auth="Authorization: Bearer $key"
evil=evil.example.com

# shellcheck source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
init_work tc-devguards
need_tools "$node_bin" "$curl_bin" "$jq_bin"
clean_env=(env -i PATH="$PATH" HOME="$work")

# req METHOD URL [curl args...]: status into $code, body into $body.
req() {
  local m=$1 u=$2
  shift 2
  code=$("$curl_bin" -sS --max-time 10 -X "$m" -o "$work/resp.body" -w '%{http_code}' "$@" "$u") ||
    fail "$m $u failed"
  body=$(cat "$work/resp.body")
}

expect() { # CODE WHAT
  [[ $code == "$1" ]] || fail "$2: status $code, want $1 (body: ${body:0:300})"
}

# raw HOSTPORT TEXT: send TEXT (with \r\n escapes) on a fresh connection;
# the status code of the reply into $code.
raw() {
  code=$("$node_bin" -e '
    const net = require("net");
    const [hp, text] = process.argv.slice(1);
    const i = hp.lastIndexOf(":");
    const s = net.connect(+hp.slice(i + 1), hp.slice(0, i), () =>
      s.write(text.replace(/\\r\\n/g, "\r\n")));
    let got = "";
    s.on("data", (d) => { got += d; });
    s.on("close", () => { console.log((/^HTTP\/1\.1 (\d+)/.exec(got) || [, "none"])[1]); });
    setTimeout(() => { console.log("timeout"); process.exit(0); }, 8000).unref();
  ' "$1" "$2")
}

# refused_everywhere BASE KEYED_PATHS... : each "METHOD PATH" refused with
# 403 for a foreign Host, a foreign Origin and a cross-site fetch, even
# with the bearer key; a text/plain "simple request" included.
refused_everywhere() {
  local base=$1 mp m p
  shift
  for mp in "$@"; do
    m=${mp%% *}
    p=${mp#* }
    req "$m" "$base$p" -H "$auth" -H "Host: $evil:${base##*:}" -H 'Content-Type: application/json' --data-binary '{}'
    expect 403 "$m $p with Host $evil"
    req "$m" "$base$p" -H "$auth" -H "Host: $evil" -H 'Content-Type: application/json' --data-binary '{}'
    expect 403 "$m $p with Host $evil (no port)"
    req "$m" "$base$p" -H "$auth" -H "Origin: http://$evil" -H 'Content-Type: text/plain' --data-binary '{}'
    expect 403 "$m $p with Origin http://$evil (text/plain simple request)"
    req "$m" "$base$p" -H "$auth" -H 'Sec-Fetch-Site: cross-site' -H 'Content-Type: application/json' --data-binary '{}'
    expect 403 "$m $p with Sec-Fetch-Site: cross-site"
  done
}

# duplicates BASE PATH: two Host or two Origin headers -> 400.
duplicates() {
  local hp=${1#http://}
  raw "$hp" "GET $2 HTTP/1.1\r\nHost: $hp\r\nHost: $evil\r\nConnection: close\r\n\r\n"
  [[ $code == 400 ]] || fail "GET $2 with two Host headers: $code, want 400"
  raw "$hp" "GET $2 HTTP/1.1\r\nHost: $evil\r\nHost: $hp\r\nConnection: close\r\n\r\n"
  [[ $code == 400 ]] || fail "GET $2 with two Host headers (foreign first): $code, want 400"
  raw "$hp" "GET $2 HTTP/1.1\r\nHost: $hp\r\nOrigin: http://$hp\r\nOrigin: http://$evil\r\nConnection: close\r\n\r\n"
  [[ $code == 400 ]] || fail "GET $2 with two Origin headers: $code, want 400"
}

rpc='{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"input":"hi"}}}'

case $case_name in
dev_guards_control_plane)
  spawn cp "dev control-plane" "${clean_env[@]}" "$bin" dev control-plane \
    --listen 127.0.0.1:0 --url-file "$work/cp.url" --allowed-hosts 'devcp.test,.svc.example:8443' \
    --allowed-hosts devcp2.test
  cp=$spawned_url
  port=${cp##*:}
  queued0=$(cp_stat .commands_queued)
  refused_everywhere "$cp" "GET /readyz" "GET /v1/tunnels/$tid" \
    "GET /v1/tunnels/$tid/poll?timeout_ms=0" "POST /v1/tunnels/$tid/response" \
    "POST /v1/mcp/$tid" "DELETE /v1/mcp/$tid" "GET /.well-known/oauth-protected-resource/v1/mcp/$tid" \
    "GET /_dev/responses" "GET /_dev/stats" "POST /_dev/faults" "POST /_dev/commands" \
    "POST /v1/tunnels" "GET /nowhere"
  # Nothing reached the queue: the refusal comes before the route.
  [[ $(cp_stat .commands_queued) == "$queued0" ]] || fail "a refused ingress call queued a command"
  # On the MCP route the refusal is a JSON-RPC error with id null.
  req POST "$cp/v1/mcp/$tid" -H "Host: $evil:$port" -H 'Content-Type: application/json' --data-binary "$rpc"
  expect 403 "ingress with a foreign Host"
  [[ $(printf '%s' "$body" | "$jq_bin" -r '.jsonrpc + " " + (.id|tostring) + " " + (.error.code|tostring)') == '2.0 null -32000' ]] ||
    fail "ingress refusal is not a JSON-RPC error: $body"
  [[ $body == *--allowed-hosts* ]] || fail "refusal does not name --allowed-hosts: $body"
  # Loopback names, the listen address and allowed names pass.
  for host in "127.0.0.1:$port" "localhost:$port" "[::1]:$port" "devcp.test:$port" "devcp2.test" \
    "a.svc.example:8443"; do
    req GET "$cp/_dev/stats" -H "$auth" -H "Host: $host"
    expect 200 "/_dev/stats with Host $host"
  done
  req GET "$cp/_dev/stats" -H "$auth" -H "Host: a.svc.example:8444"
  expect 403 "/_dev/stats with Host a.svc.example:8444 (port not allowed)"
  req GET "$cp/_dev/stats" -H "$auth" -H "Origin: http://localhost:$port"
  expect 200 "/_dev/stats with its own Origin"
  req GET "$cp/_dev/stats" -H "$auth" -H "Origin: http://localhost:3000"
  expect 403 "/_dev/stats with Origin of another local page"
  req GET "$cp/_dev/stats" -H "$auth" -H "Origin: http://devcp.test:$port" -H 'Sec-Fetch-Site: same-origin'
  expect 200 "/_dev/stats with an allowed Origin"
  duplicates "$cp" "/_dev/stats"
  duplicates "$cp" "/readyz"
  stop_pid "$spawned_pid" "dev control-plane"
  ;;

dev_guards_mcp_stub)
  spawn stub "dev mcp-stub" "${clean_env[@]}" "$bin" dev mcp-stub \
    --listen-addr 127.0.0.1:0 --url-file "$work/stub.url" --allowed-hosts mcp.test
  stub=$spawned_url
  port=${stub##*:}
  refused_everywhere "$stub" "POST /mcp" "DELETE /mcp" "GET /mcp" \
    "GET /.well-known/oauth-protected-resource/mcp" "GET /.well-known/oauth-authorization-server" \
    "GET /jwks" "GET /_stub/last-authorization" "GET /_stub/last-headers" "GET /nowhere"
  req POST "$stub/mcp" -H "Host: $evil:$port" -H 'Authorization: Bearer secret-1' \
    -H 'Content-Type: application/json' --data-binary "$rpc"
  expect 403 "/mcp with a foreign Host"
  [[ $(printf '%s' "$body" | "$jq_bin" -r '(.id|tostring) + " " + (.error.code|tostring)') == 'null -32000' ]] ||
    fail "/mcp refusal is not a JSON-RPC error: $body"
  # The refused request never reached the MCP handler.
  req GET "$stub/_stub/last-authorization"
  [[ $body != *secret-1* ]] || fail "a refused request was handled: $body"
  req POST "$stub/mcp" -H "Host: mcp.test:$port" -H 'Content-Type: application/json' \
    -H 'Accept: application/json' --data-binary "$rpc"
  expect 200 "/mcp with an allowed Host"
  req POST "$stub/mcp" -H "Origin: http://127.0.0.1:$port" -H 'Content-Type: application/json' \
    -H 'Accept: application/json' --data-binary "$rpc"
  expect 200 "/mcp with its own Origin"
  duplicates "$stub" "/jwks"
  stop_pid "$spawned_pid" "dev mcp-stub"
  ;;

dev_guards_proxy)
  # The setup scripts/demo leaves running: dev proxy with the embedded stub.
  "${clean_env[@]}" "$bin" dev proxy --embedded-mcp-stub --url-file "$work/proxy.json" \
    --allowed-hosts tunnel.test >"$work/proxy.log" 2>&1 &
  proxy_pid=$!
  pids+=("$proxy_pid")
  wait_file "$work/proxy.json" "$proxy_pid" "dev proxy"
  mcp=$("$jq_bin" -r .mcp_url "$work/proxy.json")
  cp=$("$jq_bin" -r .control_plane_base_url "$work/proxy.json")
  port=${cp##*:}
  req POST "$mcp" -H 'Content-Type: application/json' -H 'Accept: application/json' --data-binary "$rpc"
  expect 200 "tools/call through the tunnel"
  delivered0=$(cp_stat .commands_delivered)
  # A page on a rebound name, or a cross-origin simple request.
  req POST "$mcp" -H "Host: $evil:$port" -H 'Content-Type: application/json' --data-binary "$rpc"
  expect 403 "tools/call with a rebound Host"
  req POST "$mcp" -H "Origin: http://$evil" -H 'Content-Type: text/plain' --data-binary "$rpc"
  expect 403 "tools/call as a cross-origin text/plain request"
  req GET "$cp/_dev/responses" -H "$auth" -H "Host: $evil:$port"
  expect 403 "/_dev/responses with the public key and a rebound Host"
  [[ $(cp_stat .commands_delivered) == "$delivered0" ]] || fail "a refused call reached the agent"
  req POST "$mcp" -H "Host: tunnel.test:$port" -H 'Content-Type: application/json' \
    -H 'Accept: application/json' --data-binary "$rpc"
  expect 200 "tools/call with an allowed Host"
  stop_pid "$proxy_pid" "dev proxy"
  ;;

dev_guards_bad_flag)
  for cmd in "control-plane --listen 127.0.0.1:0" "mcp-stub --listen-addr 127.0.0.1:0" "proxy --embedded-mcp-stub"; do
    # shellcheck disable=SC2086 # the command and its flags are words
    "${clean_env[@]}" timeout 10 "$bin" dev $cmd --allowed-hosts 'ok.test,*.example' \
      >"$work/bad.out" 2>"$work/bad.err"
    rc=$?
    [[ $rc -eq 1 ]] || fail "dev $cmd with a wildcard entry: exit $rc, want 1"
    [[ $(wc -l <"$work/bad.err") -eq 1 ]] || fail "dev $cmd: stderr is not one line: $(cat "$work/bad.err")"
    grep -q -- '--allowed-hosts entry "\*.example": wildcards are not supported' "$work/bad.err" ||
      fail "dev $cmd: $(cat "$work/bad.err")"
    # shellcheck disable=SC2086
    "${clean_env[@]}" timeout 10 "$bin" dev $cmd --allowed-hosts 'a.test,,b.test' \
      >"$work/bad.out" 2>"$work/bad.err"
    rc=$?
    [[ $rc -eq 1 ]] || fail "dev $cmd with an empty entry: exit $rc, want 1"
    grep -q 'empty entry' "$work/bad.err" || fail "dev $cmd: $(cat "$work/bad.err")"
  done
  "$bin" dev help proxy | grep -q -- '--allowed-hosts' || fail "dev help proxy lacks --allowed-hosts"
  "$bin" dev help control-plane | grep -q -- '--allowed-hosts' || fail "dev help control-plane lacks --allowed-hosts"
  "$bin" dev help mcp-stub | grep -q -- '--allowed-hosts' || fail "dev help mcp-stub lacks --allowed-hosts"
  ;;

*)
  echo "unknown case $case_name" >&2
  exit 2
  ;;
esac
echo "ok [$case_name]"
