#!/usr/bin/env bash
# systemd notification protocol (Type=notify): `tunnel-client run` with
# NOTIFY_SOCKET pointing at a datagram socket the test owns
# (fixtures/notify_sink.c prints each message with its arrival time).
#
# usage: service_notify.sh CASE TUNNEL_CLIENT_BINARY NOTIFY_SINK_BINARY
#
#   notify_ready_after_readyz  the control plane starts after the agent:
#                              STATUS= shows the /readyz reason, no READY=1
#                              while /readyz is 503, READY=1 once it is 200
#   notify_stopping_on_sigterm STOPPING=1 as soon as the drain starts, while
#                              a command is still in flight, before exit 0
#   notify_watchdog            WATCHDOG_USEC + WATCHDOG_PID = the agent:
#                              WATCHDOG=1 at half the timeout, never a gap
#                              as long as the timeout
#   notify_watchdog_other_pid  WATCHDOG_PID names another process: no ping
set -uo pipefail

case_name=${1:?case}
bin=${2:?tunnel-client binary}
sink_bin=${3:?notify_sink binary}
tid=tunnel_22222222222222222222222222222222
key=local-tunnel-client-dev-proxy
auth="Authorization: Bearer $key"

# shellcheck source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
init_work tc-notify; [[ -n ${KEEP:-} ]] && trap - EXIT
fail_logs=('*.log')
fail_tail=40
need_tools "$jq_bin" "$node_bin" "$curl_bin"

sock=$work/notify.sock
spawn_sink() {
  "$sink_bin" "$sock" >"$work/notify.log" 2>"$work/sink.err" &
  sink_pid=$!
  pids+=("$sink_pid")
  local i
  for ((i = 0; i < 200; i++)); do
    [[ -S $sock ]] && return 0
    kill -0 "$sink_pid" 2>/dev/null || fail "notify_sink exited: $(cat "$work/sink.err")"
    sleep 0.05
  done
  fail "notify_sink did not bind $sock within 10s"
}

start_stub() {
  spawn stub "dev mcp-stub" env -i PATH="$PATH" HOME="$work" "$bin" dev mcp-stub \
    --listen-addr 127.0.0.1:0 --url-file "$work/stub.url"
  stub_pid=$spawned_pid
  target=$spawned_url/mcp
}

# start_cp [--listen ADDR]: sets $cp.
start_cp() {
  spawn cp "dev control-plane" env -i PATH="$PATH" HOME="$work" "$bin" dev control-plane \
    --listen "${1:-127.0.0.1:0}" --url-file "$work/cp.url"
  cp_pid=$spawned_pid
  cp=$spawned_url
}

# start_agent CP_URL [VAR=VALUE...]: `run` with NOTIFY_SOCKET=$sock and the
# extra environment; WATCHDOG_PID=self becomes the agent's own PID (the
# shell execs into it).
start_agent() {
  local cp_url=$1
  shift
  local extra=() watchdog_self=0 v
  for v in "$@"; do
    if [[ $v == WATCHDOG_PID=self ]]; then watchdog_self=1; else extra+=("$v"); fi
  done
  env -i PATH="$PATH" HOME="$work" CONTROL_PLANE_API_KEY="$key" NOTIFY_SOCKET="$sock" \
    "${extra[@]}" WATCHDOG_SELF="$watchdog_self" bash -c '
      [[ $WATCHDOG_SELF == 1 ]] && export WATCHDOG_PID=$$
      unset WATCHDOG_SELF
      exec "$@"' agent "$bin" run \
    --control-plane.base-url "$cp_url" --control-plane.tunnel-id "$tid" \
    --mcp.server-url "$target" --health.listen-addr 127.0.0.1:0 \
    --health.url-file "$work/health.url" --control-plane.poll-timeout 1s \
    >"$work/agent.log" 2>&1 &
  agent_pid=$!
  pids+=("$agent_pid")
  wait_file "$work/health.url" "$agent_pid" "tunnel-client run"
  health=$(cat "$work/health.url")
}

readyz_code() { "$curl_bin" -s -o "$work/readyz.body" -w '%{http_code}' --max-time 5 "$health/readyz"; }

# wait_msg REGEX WHAT [SECONDS]: wait until a notification matches REGEX.
wait_msg() {
  local i
  for ((i = 0; i < ${3:-10} * 20; i++)); do
    grep -Eq "$1" "$work/notify.log" && return 0
    sleep 0.05
  done
  fail "no notification matching /$1/ ($2) within ${3:-10}s; got: $(tr '\n' ';' <"$work/notify.log" | head -c 800)"
}

count_msg() { grep -Ec "$1" "$work/notify.log"; }

case $case_name in
notify_ready_after_readyz)
  spawn_sink
  start_stub
  port=$(free_port)
  start_agent "http://127.0.0.1:$port"
  # Not ready: the control plane is not there yet. The notifier says why.
  wait_msg ' STATUS=control plane not reached' "the /readyz reason as STATUS="
  [[ $(readyz_code) == 503 ]] || fail "/readyz $(cat "$work/readyz.body"), want 503 before the control plane runs"
  sleep 1 # several notifier ticks while not ready
  [[ $(count_msg 'READY=1') == 0 ]] || fail "READY=1 sent while /readyz is 503: $(cat "$work/notify.log")"
  [[ $(readyz_code) == 503 ]] || fail "/readyz turned 200 without a control plane"
  start_cp "127.0.0.1:$port"
  wait_msg ' READY=1[|]STATUS=ready$' "READY=1 with STATUS=ready once the control plane answers"
  [[ $(readyz_code) == 200 ]] || fail "READY=1 sent but /readyz is $(cat "$work/readyz.body")"
  [[ $(count_msg 'READY=1') == 1 ]] || fail "READY=1 sent more than once: $(cat "$work/notify.log")"
  # Every STATUS= before READY=1 named a reason, none said ready.
  awk '/READY=1/ {exit} {print}' "$work/notify.log" | grep -q 'STATUS=ready' &&
    fail "STATUS=ready before READY=1: $(cat "$work/notify.log")"
  stop_pid "$agent_pid" "tunnel-client run"
  wait_msg ' STOPPING=1' "STOPPING=1 at SIGTERM"
  ;;

notify_stopping_on_sigterm)
  spawn_sink
  start_stub
  start_cp
  start_agent "$cp"
  wait_msg ' READY=1' "READY=1"
  # Hold the agent's response POST for 3 s so that the drain has work.
  dev_post faults '{"response":[{"delay_ms":3000}]}'
  "$curl_bin" -sS --max-time 30 -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' \
    --data-binary "$(tool_call 7 echo '{"input":"draining"}')" -o "$work/call.body" -w '%{http_code}' \
    "$cp/v1/mcp/$tid" >"$work/call.code" 2>"$work/call.err" &
  call_pid=$!
  pids+=("$call_pid")
  for ((i = 0; i < 200; i++)); do
    [[ $(cp_stat .faults_served) == 1 ]] && break
    sleep 0.05
  done
  [[ $(cp_stat .faults_served) == 1 ]] || fail "the response POST did not reach the control plane within 10s"
  kill -TERM "$agent_pid"
  wait_msg ' STOPPING=1' "STOPPING=1 after SIGTERM"
  kill -0 "$agent_pid" 2>/dev/null || fail "the agent exited before STOPPING=1 was read: not sent at drain start"
  [[ -s $work/call.body ]] && fail "the in-flight call finished before STOPPING=1: not sent at drain start"
  grep -q 'STOPPING=1[|]STATUS=draining' "$work/notify.log" ||
    fail "STOPPING=1 without the draining status: $(cat "$work/notify.log")"
  await_exit "$agent_pid" 20 || fail "agent still running 20s after SIGTERM"
  [[ $rc == 0 ]] || fail "agent exit status $rc after SIGTERM, want 0"
  wait "$call_pid"
  [[ $(cat "$work/call.code") == 200 ]] || fail "in-flight call: status $(cat "$work/call.code"), want 200"
  jq_check "$work/call.body" '.result.structuredContent.echoed == "draining"' "the drained call's result"
  # Nothing after STOPPING=1.
  [[ $(tail -n 1 "$work/notify.log") == *STOPPING=1* ]] ||
    fail "messages after STOPPING=1: $(cat "$work/notify.log")"
  ;;

notify_watchdog)
  spawn_sink
  start_stub
  start_cp
  start_agent "$cp" WATCHDOG_USEC=2000000 WATCHDOG_PID=self
  wait_msg ' READY=1' "READY=1"
  grep -q 'systemd watchdog enabled.*ping_every_ms=1000' "$work/agent.log" ||
    grep -q '"ping_every_ms":"1000"' "$work/agent.log" ||
    fail "the agent did not log its watchdog interval (1000 ms)"
  for ((i = 0; i < 200; i++)); do
    (($(count_msg 'WATCHDOG=1') >= 4)) && break
    sleep 0.05
  done
  (($(count_msg 'WATCHDOG=1') >= 4)) || fail "fewer than 4 WATCHDOG=1 in 10s: $(cat "$work/notify.log")"
  # No gap between pings reaches the 2 s timeout (they come every 1 s).
  gaps=$(awk '/WATCHDOG=1/ { if (last) print $1 - last; last = $1 }' "$work/notify.log")
  for g in $gaps; do
    ((g < 2000)) || fail "a ${g} ms gap between watchdog pings (timeout 2000 ms): $(cat "$work/notify.log")"
    ((g >= 500)) || fail "pings ${g} ms apart: not paced at half the timeout"
  done
  stop_pid "$agent_pid" "tunnel-client run"
  ;;

notify_watchdog_other_pid)
  spawn_sink
  start_stub
  start_cp
  start_agent "$cp" WATCHDOG_USEC=200000 WATCHDOG_PID=1
  wait_msg ' READY=1' "READY=1"
  sleep 1 # ten would-be ping intervals
  [[ $(count_msg 'WATCHDOG=1') == 0 ]] || fail "WATCHDOG=1 sent although WATCHDOG_PID is another process"
  stop_pid "$agent_pid" "tunnel-client run"
  ;;

*)
  fail "unknown case"
  ;;
esac
echo "ok [$case_name]"
