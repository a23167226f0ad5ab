#!/usr/bin/env bash
# Fault injection on a stdio binding: a real `tunnel-client run --mcp.command
# "node faults_stdio_server.mjs"` behind `dev control-plane`; the child exits
# mid-call, writes non-JSON lines, or floods stderr. Each case checks the
# common pass criteria (faults_common.sh) after the fault.
#
# usage: faults_stdio.sh CASE TUNNEL_CLIENT_BINARY
case_name=${1:?case}
bin=${2:?tunnel-client binary}
source "$(dirname "$0")/faults_common.sh"
command -v "$node_bin" >/dev/null || fail "node is not installed (scripts/deps.sh installs it)"

start_all() {
  start_cp
  target="cmd:$(command -v "$node_bin") $here/faults_stdio_server.mjs"
  start_agent
  baseline
}

case $case_name in
faults_stdio_child_exit) # the child exits mid-call: one -32603, then restarted
  start_all
  code=$(call_echo c1 1 exit)
  [[ $code == 502 ]] || fail "call whose child exited: status $code, want 502"
  jq_check "$work/c1.body" '.id == 1 and .error.code == -32603' "a synthesized -32603"
  finish
  ;;

faults_stdio_nonjson) # non-JSON lines on stdout are skipped
  start_all
  code=$(call_echo c1 1 nonjson)
  [[ $code == 200 ]] || fail "call after non-JSON lines: status $code, want 200"
  jq_check "$work/c1.body" '.id == 1 and .result.content[0].text == "nonjson"' "the answer"
  finish
  ;;

faults_stdio_stderr_flood) # 8 MiB on stderr: drained, call answered
  start_all
  code=$(call_echo c1 1 flood)
  [[ $code == 200 ]] || fail "call after a stderr flood: status $code, want 200"
  jq_check "$work/c1.body" '.id == 1 and .result.content[0].text == "flood"' "the answer"
  size=$(stat -c %s "$work/agent.log")
  ((size < 4 * 1024 * 1024)) || fail "the child's stderr flood was copied to the log ($size bytes)"
  finish
  ;;

faults_stdio_stderr_chatty) # 100,000 short stderr lines: rate-limited log
  # A chatty server must not fill the log: at most the burst (200) plus 20
  # lines a second reach it, one WARN line says how much was dropped, and
  # the last lines stay readable in /api/channels.
  start_all
  t0=$(now_ms)
  code=$(call_echo c1 1 chatty:100000)
  [[ $code == 200 ]] || fail "call after 100,000 stderr lines: status $code, want 200"
  for ((i = 0; i < 100; i++)); do
    grep -q 'dropped [0-9]* lines ([0-9]* bytes) of stderr' "$work/agent.log" && break
    sleep 0.05
  done
  secs=$((($(now_ms) - t0) / 1000 + 2))
  logged=$(grep -c 'stderr: chatty line' "$work/agent.log")
  ((logged <= 200 + 20 * secs)) ||
    fail "$logged chatty stderr lines reached the log in ${secs}s (limit 200 + 20/s)"
  grep -q 'dropped [0-9]* lines ([0-9]* bytes) of stderr' "$work/agent.log" ||
    fail "no 'dropped N lines (M bytes) of stderr' summary in the log"
  base=$(cat "$work/health.url")
  "$curl_bin" -sS --max-time 5 "$base/api/channels" >"$work/channels.json" ||
    fail "GET /api/channels failed"
  jq_check "$work/channels.json" '.channels[0].state.stderr.tail[-1].text == "chatty-last-line"' \
    "the last stderr line in /api/channels"
  jq_check "$work/channels.json" '.channels[0].state.stderr.dropped_lines > 90000' \
    "dropped stderr lines counted"
  grep -q 'chatty-cookie-SECRET' "$work/channels.json" &&
    fail "a Cookie value from the child's stderr is shown unredacted in /api/channels"
  jq_check "$work/channels.json" '.channels[0].state.pid > 0 and .channels[0].state.state == "running"' \
    "the child's pid and state"
  finish
  ;;

*)
  fail "unknown case"
  ;;
esac
