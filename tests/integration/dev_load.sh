#!/usr/bin/env bash
# `dev load` against a real `dev mcp-stub` on 127.0.0.1:0: counts, JSON
# report shape, duration bound, and one-line errors with exit 1.
#
# usage: dev_load.sh CASE TUNNEL_CLIENT_BINARY
set -uo pipefail
case_name=${1:?case}
bin=${2:?tunnel-client binary}
# shellcheck source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
init_work tc-load
fail_logs=('*.out' '*.err')
fail_tail=20
stub_pid=
start_stub() {
  "$bin" dev mcp-stub --listen-addr 127.0.0.1:0 --url-file "$work/stub.url" >"$work/stub.err" 2>&1 &
  stub_pid=$!
  pids+=("$stub_pid")
  for ((i = 0; i < 200; i++)); do
    [[ -s $work/stub.url ]] && break
    sleep 0.05
  done
  [[ -s $work/stub.url ]] || fail "dev mcp-stub did not start"
  url=$(cat "$work/stub.url")/mcp
}
# one_line_error EXPECTED_SUBSTRING ARGS...: exit 1, one stderr line.
one_line_error() {
  local want=$1
  shift
  "$bin" dev load "$@" >"$work/e.out" 2>"$work/e.err"
  local rc=$?
  [[ $rc == 1 ]] || fail "dev load $*: exit $rc, want 1"
  [[ $(wc -l <"$work/e.err") == 1 ]] || fail "dev load $*: want one stderr line"
  grep -qF -- "$want" "$work/e.err" || fail "dev load $*: stderr lacks '$want'"
}

case $case_name in
dev_load_stub)
  start_stub
  "$bin" dev load --url "$url" --concurrency 4 --requests 300 --payload-bytes 512 --json \
    >"$work/r.out" 2>"$work/r.err" || fail "dev load exit $?"
  [[ $("$jq_bin" -r '.requests == 300 and .errors == 0 and .concurrency == 4 and
    .payload_bytes == 512 and .requests_per_second > 0 and
    .latency_us.p50 > 0 and .latency_us.p50 <= .latency_us.p95 and
    .latency_us.p95 <= .latency_us.p99 and .latency_us.p99 <= .latency_us.max and
    (.target | test("^http://127\\.0\\.0\\.1:[0-9]+$"))' "$work/r.out") == true ]] ||
    fail "JSON report"
  "$bin" dev load --url "$url" --duration 1s >"$work/t.out" 2>"$work/t.err" || fail "duration run exit $?"
  grep -q '^  req/s ' "$work/t.out" || fail "text report has no req/s line"
  grep -Eq '^  latency   p50 [0-9.]+ ms  p95 [0-9.]+ ms  p99 [0-9.]+ ms  max [0-9.]+ ms$' \
    "$work/t.out" || fail "text report has no latency line"
  secs=$(sed -n 's/.* errors in \([0-9.]*\) s$/\1/p' "$work/t.out")
  awk -v s="$secs" 'BEGIN { exit !(s >= 0.95 && s < 5) }' || fail "--duration 1s ran ${secs}s"
  ;;
dev_load_errors)
  start_stub
  one_line_error "initialize failed" --url "${url%/mcp}/nope" --requests 5
  kill -KILL "$stub_pid"
  wait "$stub_pid" 2>/dev/null
  one_line_error "initialize failed: Couldn't connect" --url "$url" --requests 5
  one_line_error "--url" --requests 5
  one_line_error "--concurrency" --url "$url" --concurrency 0
  one_line_error "not both" --url "$url" --requests 5 --duration 1s
  one_line_error "--duration" --url "$url" --duration soon
  one_line_error "unknown argument" --url "$url" --bogus
  "$bin" dev help load | grep -q -- '--payload-bytes' || fail "dev help load lacks --payload-bytes"
  ;;
*) fail "unknown case" ;;
esac
echo "ok [$case_name]"
