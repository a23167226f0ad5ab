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
fail_logs=('*.log' '*.body' '*.hdr' '*.check')

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

# doctor_json NAME ARGS...: `doctor --json` against $cp and $target (the
# API key in the environment) into $work/NAME.json; sets $rc.
doctor_json() {
  local name=$1
  shift
  env -i PATH="$PATH" HOME="$work" CONTROL_PLANE_API_KEY="${doctor_key:-$key}" "$bin" doctor --json \
    --control-plane.base-url "$cp" --control-plane.tunnel-id "${doctor_tid:-$tid}" \
    --health.listen-addr 127.0.0.1:0 "$@" >"$work/$name.json" 2>"$work/$name.err"
  rc=$?
  [[ ! -s $work/$name.err ]] || fail "$name: doctor wrote to stderr: $(cat "$work/$name.err")"
}

# check_is NAME ID STATUS [SUMMARY_JQ]: check ID of doctor report NAME has
# STATUS, and its summary satisfies the jq test (on the summary string).
check_is() {
  local name=$1 id=$2 status=$3 test=${4:-true}
  "$jq_bin" -r "[.checks[] | select(.id == \"$id\")][0] | .status + \" \" + .summary" "$work/$name.json" >"$work/$name.$id.check"
  jq_check "$work/$name.json" "[.checks[] | select(.id == \"$id\")][0] |
    .status == \"$status\" and (.summary | $test)" "$name: $id $status"
}

# start_tls_cp [CLIENT_CA]: tls_control_plane.mjs with the private CA's
# server certificate; sets $cp and $tls_cp_log.
start_tls_cp() {
  tls_cp_log=$work/tlscp.jsonl
  : >"$tls_cp_log"
  "$node_bin" "$(dirname "$0")/tls_control_plane.mjs" "$work/tlscp.url" "$tls_cp_log" \
    "$pki/srv.pem" "$pki/srv.key" "$tid" "$key" "$@" >"$work/tlscp.log" 2>&1 &
  pids+=($!)
  wait_file "$work/tlscp.url" $! "TLS control plane"
  cp=$(cat "$work/tlscp.url")
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
net_proxy_reload)
  # Proxy settings change live (SIGHUP): direct at start, through tinyproxy
  # after a reload adds http_proxy (polls, response POSTs, MCP calls, the
  # health check), direct again after a reload removes it — and then
  # /api/status no longer claims a proxy. The password never shows.
  start_stub
  start_cp
  start_tinyproxy tcuser 's3cretPass'
  printf 'log:\n  level: info\n' >"$work/p.yaml"
  run_agent --profile-file "$work/p.yaml"
  health=$(cat "$work/health.url")
  echo_ok direct_before
  cp_port=${cp##*:}
  stub_port=${stub##*:}
  ! grep -q "127.0.0.1:$stub_port" "$work/tinyproxy.log" 2>/dev/null ||
    fail "a call went through the proxy before it was configured"
  # reload_to GEN: SIGHUP, then up to 10 s for reload generation GEN.
  reload_to() {
    kill -HUP "$agent_pid" || fail "the agent is not running"
    local i
    for ((i = 0; i < 200; i++)); do
      "$curl_bin" -sS --max-time 5 "$health/api/status" >"$work/status.json" || fail "GET /api/status failed"
      [[ $("$jq_bin" -r .reload.generation "$work/status.json") == "$1" ]] && return 0
      sleep 0.05
    done
    fail "reload generation $1 not reached: $("$jq_bin" -c .reload "$work/status.json")"
  }
  printf 'http_proxy: "http://tcuser:s3cretPass@127.0.0.1:%s"\n' "$proxy_port" >"$work/p.yaml"
  reload_to 1
  jq_check "$work/status.json" '.reload.applied == ["http_proxy"]' "http_proxy applied"
  echo_ok via_proxy
  wait_log "$work/tinyproxy.log" "POST http://127.0.0.1:$stub_port/mcp" \
    "MCP call did not go through the reloaded proxy"
  wait_log "$work/tinyproxy.log" "GET http://127.0.0.1:$cp_port/v1/tunnels/$tid/poll" \
    "control-plane poll did not go through the reloaded proxy"
  wait_log "$work/tinyproxy.log" "POST http://127.0.0.1:$cp_port/v1/tunnels/$tid/response" \
    "control-plane response did not go through the reloaded proxy"
  wait_log "$work/agent.log" "proxy http://127.0.0.1:$proxy_port is healthy" \
    "the reloaded proxy's health check did not run"
  "$curl_bin" -sS --max-time 5 "$health/api/status" >"$work/status.json" || fail "GET /api/status failed"
  jq_check "$work/status.json" '.proxy_health == [{"route":"control_plane","healthy":true}]' \
    "proxy health after the reload"
  # Removed again: the next calls go direct.
  printf 'log:\n  level: info\n' >"$work/p.yaml"
  reload_to 2
  jq_check "$work/status.json" '.reload.applied == ["http_proxy"] and .proxy_health == []' \
    "no proxy health once the proxy is removed"
  via=$(grep -c "POST http://127.0.0.1:$stub_port/mcp" "$work/tinyproxy.log")
  echo_ok direct_after
  [[ $(grep -c "POST http://127.0.0.1:$stub_port/mcp" "$work/tinyproxy.log") == "$via" ]] ||
    fail "a call went through the proxy after the reload removed it"
  stop_agent
  ! grep -q 's3cretPass' "$work/agent.log" "$work/status.json" || fail "the proxy password leaked"
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
net_doctor_tls)
  # doctor reaches the control plane and the MCP server the way run does
  # (CA bundle added to the system roots, mTLS pair, net hooks) and names
  # each TLS failure with its fix; run agrees with every verdict.
  make_pki
  (
    cd "$pki" || exit 1
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout othercli.key \
      -out othercli.csr -subj "/CN=tc other client" &&
      openssl x509 -req -in othercli.csr -CA other.pem -CAkey other.key -CAcreateserial \
        -out othercli.pem -days 2 &&
      openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout self.key \
        -out self.pem -days 2 -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1"
  ) >>"$work/openssl.log" 2>&1 || fail "openssl could not make the extra certificates"
  start_stub
  start_tls_cp "$pki/ca.pem"
  good=(--ca-bundle "$pki/bundle.pem" --control-plane.client-cert "$pki/cli.pem"
    --control-plane.client-key "$pki/cli.key")

  # The control plane's certificate is not trusted without the bundle.
  doctor_json no_bundle --mcp.server-url "$target"
  [[ $rc == 2 ]] || fail "no bundle: exit $rc, want 2"
  check_is no_bundle control_plane_reachable FAIL \
    ". == \"TLS: the server certificate of $cp is not trusted by the system roots (no --ca-bundle is set)\""
  jq_check "$work/no_bundle.json" '[.checks[] | select(.id == "control_plane_reachable")][0].next[0] |
    startswith("If the server uses a private CA, point --ca-bundle")' "no bundle: the fix"
  jq_check "$work/no_bundle.json" '.failed_checks == ["control_plane_reachable"]' "no bundle: only the control plane fails"
  # run agrees: never ready, the TLS failure in /readyz.
  run_agent --control-plane.client-cert "$pki/cli.pem" --control-plane.client-key "$pki/cli.key"
  h=$(cat "$work/health.url")
  for ((i = 0; i < 200; i++)); do
    body=$("$curl_bin" -sS --max-time 5 "$h/readyz") || fail "GET /readyz"
    [[ $body == "control plane not reached: "*SSL* ]] && break
    sleep 0.05
  done
  [[ $body == "control plane not reached: "*SSL* ]] || fail "run without the bundle: /readyz '$body'"
  stop_agent

  # Trusted, but no client certificate: refused in the handshake.
  doctor_json no_cert --mcp.server-url "$target" --ca-bundle "$pki/bundle.pem"
  [[ $rc == 2 ]] || fail "no client certificate: exit $rc, want 2"
  # (The refusal arrives as a TLS alert, or — when the server's close wins
  # the race — as a connection closed right after the handshake.)
  check_is no_cert control_plane_reachable FAIL \
    "test(\"^TLS: $cp (requires a client certificate|closed the connection right after the TLS handshake: it may require a client certificate,) and none is configured$\")"
  # A certificate from a CA the server does not trust.
  doctor_json other_cert --mcp.server-url "$target" --ca-bundle "$pki/bundle.pem" \
    --control-plane.client-cert "$pki/othercli.pem" --control-plane.client-key "$pki/othercli.key"
  [[ $rc == 2 ]] || fail "untrusted client certificate: exit $rc, want 2"
  check_is other_cert control_plane_reachable FAIL \
    "test(\"^TLS: $cp (refused|closed the connection right after the TLS handshake: it refuses) the client certificate $pki/othercli.pem\")"
  # A key that is not the certificate's: run refuses to start, doctor says so.
  doctor_json bad_pair --mcp.server-url "$target" --ca-bundle "$pki/bundle.pem" \
    --control-plane.client-cert "$pki/cli.pem" --control-plane.client-key "$pki/srv.key"
  [[ $rc == 2 ]] || fail "mismatched pair: exit $rc, want 2"
  check_is bad_pair network_settings FAIL 'test("does not match the certificate")'
  check_is bad_pair control_plane_reachable SKIP
  agent_refuses "does not match" --ca-bundle "$pki/bundle.pem" \
    --control-plane.client-cert "$pki/cli.pem" --control-plane.client-key "$pki/srv.key"
  # An unusable bundle fails doctor for a stdio target too, as it stops run.
  doctor_json bad_bundle --mcp.command "sh -c cat" --ca-bundle "$pki/empty.pem"
  [[ $rc == 2 ]] || fail "empty bundle with a stdio target: exit $rc, want 2"
  check_is bad_bundle network_settings FAIL 'test("holds no PEM certificate")'
  agent_refuses "holds no PEM certificate" --ca-bundle "$pki/empty.pem"

  # Everything right: doctor passes (HTTP and stdio targets) and run works.
  doctor_json good --mcp.server-url "$target" "${good[@]}"
  [[ $rc == 0 ]] || fail "good settings: exit $rc, want 0: $(cat "$work/good.json")"
  check_is good network_settings PASS \
    "test(\"CA bundle $pki/bundle.pem added to the system roots; control-plane client certificate $pki/cli.pem\")"
  check_is good control_plane_reachable PASS \
    ". == \"$cp knows tunnel $tid and accepts the API key (HTTP 200)\""
  "$jq_bin" -e -s 'any(.method == "GET" and .path == "/v1/tunnels/'"$tid"'" and .client_cert == "tc client")' \
    "$tls_cp_log" >/dev/null || fail "doctor's request did not carry the client certificate"
  "$jq_bin" -e -s 'all(.path | endswith("/poll") | not)' "$tls_cp_log" >/dev/null ||
    fail "doctor polled (it would take commands meant for an agent)"
  doctor_json good_stdio \
    --mcp.command "sh -c 'exec $node_bin $(dirname "$0")/faults_stdio_server.mjs'" "${good[@]}"
  [[ $rc == 0 ]] || fail "good settings, stdio: exit $rc, want 0"
  run_agent "${good[@]}"
  h=$(cat "$work/health.url")
  env -i PATH="$PATH" HOME="$work" "$bin" health --url "$h" --require-control-plane-poll --json \
    >"$work/health.json" 2>&1
  for ((i = 0; i < 100; i++)); do
    env -i PATH="$PATH" HOME="$work" "$bin" health --url "$h" --require-control-plane-poll --json \
      >"$work/health.json" 2>&1 && break
    sleep 0.1
  done
  jq_check "$work/health.json" '.result == "ok" and .readyz.body == "ready" and .control_plane_poll.ok' \
    "run with the settings doctor passed is not healthy"
  stop_agent

  # The key and the tunnel id are checked too (what the service answers).
  doctor_key=wrong-key doctor_json bad_key --mcp.server-url "$target" "${good[@]}"
  check_is bad_key control_plane_reachable FAIL \
    ". == \"$cp rejected the API key (HTTP 401 tunnel_use_forbidden)\""
  doctor_tid=tunnel_55555555555555555555555555555555 doctor_json bad_tid --mcp.server-url "$target" "${good[@]}"
  check_is bad_tid control_plane_reachable FAIL \
    ". == \"$cp does not know tunnel id tunnel_55555555555555555555555555555555 (HTTP 404)\""
  grep -q "$key" "$work"/*.json && fail "the API key is in a doctor report"

  # An HTTPS MCP server whose certificate the bundle does not cover: a TLS
  # failure of mcp_server_reachable (not an OAuth one); OAuth is skipped.
  spawn stub2 "dev mcp-stub (self-signed)" env -i PATH="$PATH" HOME="$work" "$bin" dev mcp-stub \
    --listen-addr 127.0.0.1:0 --url-file "$work/stub2.url" --tls-cert "$pki/self.pem" \
    --tls-key "$pki/self.key"
  stub=$spawned_url
  target=$stub/mcp
  doctor_json mcp_tls --mcp.server-url "$target" "${good[@]}"
  [[ $rc == 2 ]] || fail "untrusted MCP server: exit $rc, want 2"
  check_is mcp_tls mcp_server_reachable FAIL \
    ". == \"TLS: the server certificate of $stub is not trusted by the CA bundle $pki/bundle.pem (nor by the system roots)\""
  check_is mcp_tls oauth_metadata SKIP
  jq_check "$work/mcp_tls.json" '.failed_checks == ["mcp_server_reachable"]' "only the MCP server fails"
  jq_check "$work/mcp_tls.json" '[.checks[] | select(.id == "mcp_server_reachable")][0].next[0] |
    startswith("Add the certificate of the CA that issued the server certificate")' "MCP TLS: the fix"
  # With its certificate in the bundle, it passes, OAuth included.
  cat "$pki/bundle.pem" "$pki/self.pem" >"$pki/bundle2.pem"
  doctor_json mcp_tls_ok --mcp.server-url "$target" --ca-bundle "$pki/bundle2.pem" \
    --control-plane.client-cert "$pki/cli.pem" --control-plane.client-key "$pki/cli.key"
  [[ $rc == 0 ]] || fail "MCP server in the bundle: exit $rc, want 0: $(cat "$work/mcp_tls_ok.json")"
  check_is mcp_tls_ok oauth_metadata PASS
  ;;
net_doctor_proxy)
  # doctor goes through the configured proxy like run (credentials
  # included, never shown), and a proxy that is down fails both checks
  # instead of passing on a direct connection.
  make_pki
  start_stub
  start_tls_cp
  start_tinyproxy tcuser 's3cretPass'
  doctor_json via_proxy --mcp.server-url "$target" --ca-bundle "$pki/ca.pem" \
    --http-proxy "http://tcuser:s3cretPass@127.0.0.1:$proxy_port"
  [[ $rc == 0 ]] || fail "through the proxy: exit $rc, want 0: $(cat "$work/via_proxy.json")"
  check_is via_proxy network_settings PASS "test(\"proxy http://127.0.0.1:$proxy_port\")"
  wait_log "$work/tinyproxy.log" "CONNECT 127.0.0.1:${cp##*:}" "doctor did not reach the control plane through the proxy"
  wait_log "$work/tinyproxy.log" "GET http://127.0.0.1:${stub##*:}/mcp" "doctor did not reach the MCP server through the proxy"
  ! grep -q 's3cretPass' "$work/via_proxy.json" || fail "the proxy password is in the report"
  doctor_json dead_proxy --mcp.server-url "$target" --ca-bundle "$pki/ca.pem" \
    --http-proxy "http://127.0.0.1:1"
  [[ $rc == 2 ]] || fail "dead proxy: exit $rc, want 2"
  check_is dead_proxy control_plane_reachable FAIL 'startswith("cannot connect to the proxy at 127.0.0.1:1")'
  check_is dead_proxy mcp_server_reachable FAIL 'startswith("cannot connect to the proxy at 127.0.0.1:1")'
  doctor_json bad_proxy_auth --mcp.server-url "$target" --ca-bundle "$pki/ca.pem" \
    --http-proxy "http://tcuser:wrongPass9@127.0.0.1:$proxy_port"
  [[ $rc == 2 ]] || fail "proxy refusing the credentials: exit $rc, want 2"
  check_is bad_proxy_auth control_plane_reachable FAIL 'test("proxy")'
  ! grep -q 'wrongPass9' "$work/bad_proxy_auth.json" || fail "the proxy password is in the report"
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
