#!/usr/bin/env bash
# `tunnel-client dev proxy` and `run --embedded-mcp-stub` against the real
# binary.
#
# usage: dev_proxy.sh CASE TUNNEL_CLIENT_BINARY
#
# Everything runs under `env -i` with HOME in a private temp dir, on
# 127.0.0.1:0; the proxy's --url-file (info JSON) tells the test its MCP
# URL. The EXIT trap kills a proxy that is still running and removes the
# temp dir.
set -uo pipefail

case_name=${1:?case}
bin=${2:?tunnel-client binary}
tid=tunnel_22222222222222222222222222222222

# shellcheck source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
init_work tc-devproxy
fail_logs=('*.stdout' '*.stderr' '*.body' '*.json')
fail_tail=0
proxy_pid=

# json_field NAME FILE: a top-level string member of a one-line JSON object.
json_field() {
  sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p" "$2"
}

start_proxy() {
  env -i PATH="$PATH" HOME="$work" "$bin" dev proxy \
    --url-file "$work/info.json" "$@" \
    >"$work/proxy.stdout" 2>"$work/proxy.stderr" &
  proxy_pid=$!
  pids+=("$proxy_pid")
  local i
  for ((i = 0; i < 200; i++)); do
    [[ -s $work/info.json ]] && break
    kill -0 "$proxy_pid" 2>/dev/null || fail "proxy exited before writing its info file"
    sleep 0.05
  done
  [[ -s $work/info.json ]] || fail "info file did not appear within 10s"
  mcp_url=$(json_field mcp_url "$work/info.json")
  cp_base=$(json_field control_plane_base_url "$work/info.json")
}

# wait_exit SECONDS: the proxy must exit within SECONDS; sets rc.
wait_exit() {
  await_exit "$proxy_pid" "$1" || fail "proxy still running after $1s"
}

# mcp_call BODY OUT: POST a JSON-RPC message to the tunnel's MCP URL.
mcp_call() {
  "$curl_bin" -sS --max-time 20 -X POST "$mcp_url" \
    -H 'Content-Type: application/json' -H 'Accept: application/json' \
    -d "$1" -o "$2" -w '%{http_code}'
}

case $case_name in
dev_proxy_embedded_stub)
  start_proxy --embedded-mcp-stub --health-url-file "$work/health.url"
  [[ $(stat -c %a "$work/info.json") == 644 ]] || fail "info file mode is not 0644"
  [[ $cp_base =~ ^http://127\.0\.0\.1:[0-9]+$ ]] || fail "control_plane_base_url is '$cp_base'"
  [[ $mcp_url == "$cp_base/v1/mcp/$tid" ]] || fail "mcp_url is '$mcp_url'"
  [[ $(json_field tunnel_id "$work/info.json") == "$tid" ]] || fail "tunnel_id missing"
  [[ $(json_field mcp_transport "$work/info.json") == http ]] || fail "mcp_transport is not http"
  health=$(cat "$work/health.url")
  [[ $(json_field health_url "$work/info.json") == "$health/readyz" ]] ||
    fail "health_url is not the readiness URL of the health URL file ($health)"
  [[ $(curl -s -m 5 "$health/healthz") == live ]] || fail "/healthz does not answer 'live'"
  for ((i = 0; i < 100; i++)); do
    [[ $(curl -s -m 5 "$health/readyz") == ready ]] && break
    sleep 0.1
  done
  [[ $(curl -s -m 5 "$health/readyz") == ready ]] || fail "health_url does not become 'ready'"
  grep -qxF "MCP URL: $mcp_url" "$work/proxy.stdout" || fail "stdout lacks 'MCP URL: $mcp_url'"

  code=$(mcp_call '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"input":"through the tunnel"}}}' \
    "$work/echo.body") || fail "tools/call request failed"
  [[ $code == 200 ]] || fail "tools/call status $code, want 200"
  grep -qF '"id":7' "$work/echo.body" || fail "response id is not 7"
  grep -qF '"text":"through the tunnel"' "$work/echo.body" || fail "echo result text does not match"
  grep -qF '"echoed":"through the tunnel"' "$work/echo.body" || fail "structured echo result missing"

  code=$(mcp_call '{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"uppercase","arguments":{"input":"abc"}}}' \
    "$work/upper.body") || fail "second tools/call failed"
  [[ $code == 200 ]] || fail "uppercase status $code"
  grep -qF '"uppercase":"ABC"' "$work/upper.body" || fail "uppercase result does not match"

  kill -TERM "$proxy_pid"
  wait_exit 10
  [[ $rc -eq 0 ]] || fail "exit status $rc after SIGTERM, want 0"
  [[ ! -e $work/info.json ]] || fail "info file left behind"
  [[ ! -e $work/health.url ]] || fail "health URL file left behind"
  ;;

dev_proxy_duration)
  start_proxy --embedded-mcp-stub --duration 1s --print-json
  grep -qF "\"mcp_url\":\"$mcp_url\"" "$work/proxy.stdout" || fail "--print-json did not print the info JSON"
  wait_exit 10
  [[ $rc -eq 0 ]] || fail "exit status $rc after --duration, want 0"
  ;;

dev_proxy_bad_flags)
  env -i PATH="$PATH" HOME="$work" timeout 10 "$bin" dev proxy \
    >"$work/c.stdout" 2>"$work/c.stderr"
  rc=$?
  [[ $rc -eq 1 ]] || fail "no MCP source: exit status $rc, want 1"
  [[ $(wc -l <"$work/c.stderr") -eq 1 ]] || fail "no MCP source: stderr is not one line"
  grep -q -- '--embedded-mcp-stub' "$work/c.stderr" || fail "no MCP source: stderr does not list the choices"
  env -i PATH="$PATH" HOME="$work" timeout 10 "$bin" dev proxy --embedded-mcp-stub \
    --mcp-server-url http://127.0.0.1:9/mcp >"$work/c.stdout" 2>"$work/c.stderr"
  rc=$?
  [[ $rc -eq 1 ]] || fail "two MCP sources: exit status $rc, want 1"
  [[ $(wc -l <"$work/c.stderr") -eq 1 ]] || fail "two MCP sources: stderr is not one line"
  env -i PATH="$PATH" HOME="$work" timeout 10 "$bin" dev proxy --embedded-mcp-stub \
    --duration soon >"$work/c.stdout" 2>"$work/c.stderr"
  rc=$?
  [[ $rc -eq 1 ]] || fail "bad --duration: exit status $rc, want 1"
  grep -q -- '--duration' "$work/c.stderr" || fail "bad --duration: stderr does not name the flag"
  env -i PATH="$PATH" HOME="$work" timeout 10 "$bin" dev help proxy \
    >"$work/c.stdout" 2>"$work/c.stderr"
  rc=$?
  [[ $rc -eq 0 ]] || fail "dev help proxy: exit status $rc"
  grep -q -- '--url-file' "$work/c.stdout" || fail "help does not document --url-file"
  ;;

run_embedded_conflict)
  for flag in --mcp.server-url --mcp.command; do
    env -i PATH="$PATH" HOME="$work" CONTROL_PLANE_API_KEY=sk-test-123 timeout 10 \
      "$bin" run --embedded-mcp-stub "$flag" http://127.0.0.1:9/mcp \
      --control-plane.tunnel-id "$tid" --health.listen-addr 127.0.0.1:0 \
      >"$work/c.stdout" 2>"$work/c.stderr"
    rc=$?
    [[ $rc -eq 1 ]] || fail "$flag: exit status $rc, want 1"
    [[ $(wc -l <"$work/c.stderr") -eq 1 ]] || fail "$flag: stderr is not one line"
    grep -qF -- "configure tunnel-client: --embedded-mcp-stub conflicts with $flag" \
      "$work/c.stderr" || fail "$flag: stderr does not name the conflict"
    grep -qF 'sk-test-123' "$work/c.stderr" "$work/c.stdout" && fail "$flag: API key echoed"
  done
  # Without a conflict the API key is still required.
  env -i PATH="$PATH" HOME="$work" timeout 10 "$bin" run --embedded-mcp-stub \
    --control-plane.tunnel-id "$tid" >"$work/c.stdout" 2>"$work/c.stderr"
  rc=$?
  [[ $rc -eq 1 ]] || fail "no API key: exit status $rc, want 1"
  grep -qi 'api key' "$work/c.stderr" || fail "no API key: stderr does not say so"
  ;;

*)
  echo "unknown case $case_name" >&2
  exit 2
  ;;
esac
echo "ok [$case_name]"
