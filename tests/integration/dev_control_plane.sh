#!/usr/bin/env bash
# `tunnel-client dev control-plane` against the real binary.
#
# usage: dev_control_plane.sh CASE TUNNEL_CLIENT_BINARY
#
# The service runs under `env -i` with HOME in a private temp dir, on
# 127.0.0.1:0 with --url-file so the test learns the port. The EXIT trap
# kills a service that is still running and removes the temp dir.
set -uo pipefail

case_name=${1:?case}
bin=${2:?tunnel-client binary}
tid=tunnel_22222222222222222222222222222222
auth='Authorization: Bearer local-tunnel-client-dev-proxy'

# shellcheck source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
init_work tc-devcp
fail_logs=('*.stdout' '*.stderr' '*.body')
fail_tail=0
cp_pid=

start_cp() {
  env -i PATH="$PATH" HOME="$work" "$bin" dev control-plane \
    --listen 127.0.0.1:0 --url-file "$work/cp.url" "$@" \
    >"$work/cp.stdout" 2>"$work/cp.stderr" &
  cp_pid=$!
  pids+=("$cp_pid")
  local i
  for ((i = 0; i < 200; i++)); do
    [[ -s $work/cp.url ]] && break
    kill -0 "$cp_pid" 2>/dev/null || fail "service exited before writing its URL file"
    sleep 0.05
  done
  [[ -s $work/cp.url ]] || fail "URL file did not appear within 10s"
  base=$(cat "$work/cp.url")
  [[ $base =~ ^http://127\.0\.0\.1:[0-9]+$ ]] || fail "URL file holds '$base'"
  [[ $(stat -c %a "$work/cp.url") == 600 ]] || fail "URL file mode is not 0600"
}

# stop_cp SIG: the service must exit 0 within 5s and remove its URL file.
stop_cp() {
  kill "-$1" "$cp_pid"
  local rc
  await_exit "$cp_pid" 5 || fail "service still running 5s after SIG$1"
  [[ $rc -eq 0 ]] || fail "exit status $rc after SIG$1, want 0"
  [[ ! -e $work/cp.url ]] || fail "URL file left behind"
}

case $case_name in
dev_control_plane_sigterm)
  start_cp
  grep -qF "$base/v1/mcp/$tid" "$work/cp.stdout" ||
    fail "banner does not print the MCP URL"
  code=$("$curl_bin" -sS --max-time 5 -H "$auth" -o "$work/poll.body" \
    -w '%{http_code}' "$base/v1/tunnels/$tid/poll?limit=1&timeout_ms=200") ||
    fail "poll request failed"
  [[ $code == 204 ]] || fail "empty poll status $code, want 204"
  code=$("$curl_bin" -sS --max-time 5 -o "$work/noauth.body" \
    -w '%{http_code}' "$base/v1/tunnels/$tid/poll?limit=1&timeout_ms=0") ||
    fail "unauthenticated poll failed"
  [[ $code == 401 ]] || fail "poll without the key: status $code, want 401"
  # A poll still waiting when SIGTERM arrives does not hold up the exit.
  "$curl_bin" -sS --max-time 20 -H "$auth" -o /dev/null \
    "$base/v1/tunnels/$tid/poll?limit=1&timeout_ms=600000" 2>/dev/null &
  cp=$base
  wait_stat '.polls_waiting == 1' "the long poll is not waiting at the service"
  stop_cp TERM
  ;;

dev_control_plane_bad_flag)
  env -i PATH="$PATH" HOME="$work" timeout 10 "$bin" dev control-plane \
    --response-timeout 1m30s >"$work/c.stdout" 2>"$work/c.stderr"
  rc=$?
  [[ $rc -eq 1 ]] || fail "exit status $rc, want 1"
  [[ $(wc -l <"$work/c.stderr") -eq 1 ]] || fail "stderr is not one line"
  grep -q -- '--response-timeout' "$work/c.stderr" || fail "stderr does not name the flag"
  env -i PATH="$PATH" HOME="$work" timeout 10 "$bin" dev control-plane \
    --listen nonsense >"$work/c.stdout" 2>"$work/c.stderr"
  rc=$?
  [[ $rc -eq 1 ]] || fail "bad --listen: exit status $rc, want 1"
  [[ $(wc -l <"$work/c.stderr") -eq 1 ]] || fail "bad --listen: stderr is not one line"
  env -i PATH="$PATH" HOME="$work" timeout 10 "$bin" dev help control-plane \
    >"$work/c.stdout" 2>"$work/c.stderr"
  rc=$?
  [[ $rc -eq 0 ]] || fail "dev help control-plane: exit status $rc"
  grep -q -- '/_dev/faults' "$work/c.stdout" || fail "help does not document /_dev/faults"
  env -i PATH="$PATH" HOME="$work" timeout 10 "$bin" dev help \
    >"$work/c.stdout" 2>"$work/c.stderr"
  grep -q 'control-plane' "$work/c.stdout" || fail "dev help does not list control-plane"
  grep -q 'mcp-stub' "$work/c.stdout" || fail "dev help no longer lists mcp-stub"
  ;;

*)
  echo "unknown case $case_name" >&2
  exit 2
  ;;
esac
echo "ok [$case_name]"
