#!/usr/bin/env bash
# `tunnel-client dev mcp-stub` against the real binary.
#
# usage: dev_mcp_stub.sh CASE TUNNEL_CLIENT_BINARY
#
# The stub runs under `env -i` with HOME in a private temp dir, on
# 127.0.0.1:0 with --url-file so the test learns the port. The EXIT trap
# kills a stub that is still running and removes the temp dir.
set -uo pipefail

case_name=${1:?case}
bin=${2:?tunnel-client binary}

# shellcheck source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
init_work tc-stub
fail_logs=('*.stdout' '*.stderr' '*.body')
fail_tail=0
stub_pid=

start_stub() {
  env -i PATH="$PATH" HOME="$work" "$bin" dev mcp-stub \
    --listen-addr 127.0.0.1:0 --url-file "$work/stub.url" "$@" \
    >"$work/stub.stdout" 2>"$work/stub.stderr" &
  stub_pid=$!
  pids+=("$stub_pid")
  local i
  for ((i = 0; i < 200; i++)); do
    [[ -s $work/stub.url ]] && break
    kill -0 "$stub_pid" 2>/dev/null || fail "stub exited before writing its URL file"
    sleep 0.05
  done
  [[ -s $work/stub.url ]] || fail "URL file did not appear within 10s"
  base=$(cat "$work/stub.url")
  [[ $base =~ ^http://127\.0\.0\.1:[0-9]+$ ]] || fail "URL file holds '$base'"
  [[ $(stat -c %a "$work/stub.url") == 600 ]] || fail "URL file mode is not 0600"
}

# stop_stub SIG: the stub must exit 0 within 5s and remove its URL file.
stop_stub() {
  kill "-$1" "$stub_pid"
  local rc
  await_exit "$stub_pid" 5 || fail "stub still running 5s after SIG$1"
  [[ $rc -eq 0 ]] || fail "exit status $rc after SIG$1, want 0"
  [[ ! -e $work/stub.url ]] || fail "URL file left behind"
}

# post NAME JSON [HEADER...]: POST to /mcp; status in $code, headers and
# body in $work/NAME.{headers,body}.
post() {
  local name=$1 json=$2
  shift 2
  local args=()
  local h
  for h in "$@"; do args+=(-H "$h"); done
  code=$("$curl_bin" -sS --max-time 5 -X POST "$base/mcp" \
    -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' "${args[@]}" \
    -D "$work/$name.headers" -o "$work/$name.body" -w '%{http_code}' \
    --data-binary "$json") || fail "POST $name failed"
}

round_trip() {
  start_stub --server-name int-stub --server-version 1.2.3
  grep -qF "MCP URL:             $base/mcp" "$work/stub.stdout" ||
    fail "banner does not print the MCP URL"
  grep -qF "$base/.well-known/oauth-protected-resource/mcp" "$work/stub.stdout" ||
    fail "banner does not print the PRMD URL"
  grep -qF "$base/.well-known/oauth-authorization-server" "$work/stub.stdout" ||
    fail "banner does not print the AS metadata URL"

  post init '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"it","version":"0"}}}'
  [[ $code == 200 ]] || fail "initialize status $code"
  local sid
  sid=$(tr -d '\r' <"$work/init.headers" | sed -n 's/^[Mm]cp-[Ss]ession-[Ii]d: //p')
  [[ $sid =~ ^[0-9a-f]{32}$ ]] || fail "no session id in the initialize reply"
  grep -qF '"serverInfo":{"name":"int-stub","version":"1.2.3"}' "$work/init.body" ||
    fail "initialize does not report serverInfo"

  post initialized '{"jsonrpc":"2.0","method":"notifications/initialized"}' \
    "Mcp-Session-Id: $sid"
  [[ $code == 202 ]] || fail "notification status $code, want 202"

  post echo '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"input":"hello from bash"}}}' \
    "Mcp-Session-Id: $sid"
  [[ $code == 200 ]] || fail "tools/call echo status $code"
  grep -qF '"structuredContent":{"echoed":"hello from bash"}' "$work/echo.body" ||
    fail "echo did not echo"

  # The next-step command from the banner works as printed.
  local cmd
  cmd=$(grep -A2 '^  curl ' "$work/stub.stdout" | sed 's/\\$//' | tr -d '\n')
  [[ -n $cmd ]] || fail "banner has no curl next step"
  out=$(PATH="$(dirname "$curl_bin"):$PATH" bash -c "$cmd" 2>&1) ||
    fail "banner curl command failed: $out"
  [[ $out == *'"echoed":"hello"'* ]] || fail "banner curl command printed '$out'"

  code=$("$curl_bin" -sS --max-time 5 -o /dev/null -w '%{http_code}' \
    -X DELETE -H "Mcp-Session-Id: $sid" "$base/mcp")
  [[ $code == 204 ]] || fail "DELETE status $code, want 204"
  post gone '{"jsonrpc":"2.0","id":3,"method":"ping"}' "Mcp-Session-Id: $sid"
  [[ $code == 404 ]] || fail "request on a deleted session: status $code, want 404"
  stop_stub "$1"
}

case $case_name in
dev_mcp_stub_sigterm) round_trip TERM ;;
dev_mcp_stub_sigint) round_trip INT ;;

dev_mcp_stub_bad_flag)
  env -i PATH="$PATH" HOME="$work" timeout 10 "$bin" dev mcp-stub \
    --listen-addr nonsense >"$work/c.stdout" 2>"$work/c.stderr"
  rc=$?
  [[ $rc -eq 1 ]] || fail "exit status $rc, want 1"
  [[ $(wc -l <"$work/c.stderr") -eq 1 ]] || fail "stderr is not one line"
  grep -q -- '--listen-addr' "$work/c.stderr" || fail "stderr does not name the flag"
  env -i PATH="$PATH" HOME="$work" timeout 10 "$bin" dev mcp-stub --bogus \
    >"$work/c.stdout" 2>"$work/c.stderr"
  rc=$?
  [[ $rc -eq 1 ]] || fail "unknown flag: exit status $rc, want 1"
  grep -qF -- '--bogus' "$work/c.stderr" || fail "stderr does not name --bogus"
  env -i PATH="$PATH" HOME="$work" timeout 10 "$bin" dev help mcp-stub \
    >"$work/c.stdout" 2>"$work/c.stderr"
  rc=$?
  [[ $rc -eq 0 ]] || fail "dev help mcp-stub: exit status $rc"
  grep -q 'text/event-stream' "$work/c.stdout" ||
    fail "dev help mcp-stub does not document the reply format rule"
  ;;

*)
  echo "unknown case $case_name" >&2
  exit 2
  ;;
esac
echo "ok [$case_name]"
