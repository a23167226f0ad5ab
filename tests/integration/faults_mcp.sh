#!/usr/bin/env bash
# Fault injection on the MCP side: a real `tunnel-client run` between `dev
# control-plane` and faults_mcp_server.mjs (a Streamable HTTP server that
# hangs, dies, resets, cuts an SSE stream or answers garbage / huge bodies
# on request). Each case checks the common pass criteria
# (faults_common.sh) after the fault.
#
# usage: faults_mcp.sh CASE TUNNEL_CLIENT_BINARY
case_name=${1:?case}
bin=${2:?tunnel-client binary}
source "$(dirname "$0")/faults_common.sh"
command -v "$node_bin" >/dev/null || fail "node is not installed (scripts/deps.sh installs it)"

start_all() {
  start_faulty
  start_cp
  start_agent
  baseline
}

# expect_tunnel_failure NAME: the ingress reply NAME.body is one JSON-RPC
# -32603 error for id 1 synthesized by the agent.
expect_tunnel_failure() {
  jq_check "$work/$1.body" '.id == 1 and .error.code == -32603 and
    (.error.data.tunnel_failure.version == 1)' "a synthesized -32603 tunnel failure"
}

port_of() { local u=${1#http://127.0.0.1:}; echo "${u%%/*}"; }

case $case_name in
faults_mcp_down_at_start) # nothing listens yet: 502, then served once it is up
  start_faulty
  port=$(port_of "$target")
  kill -KILL "$faulty_pid"
  wait "$faulty_pid" 2>/dev/null
  start_cp
  start_agent
  code=$(call_echo c1 1 ok)
  [[ $code == 502 ]] || fail "call while the server is down: status $code, want 502"
  expect_tunnel_failure c1
  jq_check "$work/c1.body" '.error.data.tunnel_failure.source == "connect"' "source connect"
  start_faulty "$port"
  baseline
  finish
  ;;

faults_mcp_dies_mid_call) # the server exits while handling the call
  start_all
  port=$(port_of "$target")
  code=$(call_echo c1 1 die)
  [[ $code == 502 ]] || fail "call whose server died: status $code, want 502"
  expect_tunnel_failure c1
  wait "$faulty_pid" 2>/dev/null
  start_faulty "$port"
  finish
  ;;

faults_mcp_reset) # the server resets the connection before replying
  start_all
  code=$(call_echo c1 1 reset)
  [[ $code == 502 ]] || fail "call reset by the server: status $code, want 502"
  expect_tunnel_failure c1
  finish
  ;;

faults_mcp_hang) # no answer before response_timeout: nothing posted
  start_all
  inject "[$(rpc_cmd hang-1 hang '"response_timeout":"1s",')]"
  wait_stat '.delivered_unanswered == 1' "the hanging command was not delivered"
  # Deadline 1 s after receipt: once the agent counts the command done (+
  # warm-up), no late post can follow.
  wait_completed 14 "the agent did not give up the hanging command"
  jq_check <(dev_get stats) '.responses.jsonrpc_response == (1 + 12) and .responses_rejected == 0' \
    "a response was posted after the deadline"
  finish 1
  ;;

faults_mcp_garbage) # 200 application/json that is not JSON: one -32603
  start_all
  code=$(call_echo c1 1 garbage)
  [[ $code == 502 ]] || fail "garbage reply: status $code, want 502"
  expect_tunnel_failure c1
  grep -q 'this is not json' "$work/c1.body" && fail "the target's body crossed the tunnel"
  finish
  ;;

faults_mcp_oversized) # an 80 MiB reply: refused, memory bounded
  start_all
  code=$(call_echo c1 1 huge:80)
  [[ $code == 502 ]] || fail "oversized reply: status $code, want 502"
  expect_tunnel_failure c1
  hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$agent_pid/status")
  ((hwm <= base_rss + ${TC_FAULT_PEAK_SLACK_KB:-131072})) ||
    fail "peak RSS ${hwm} KiB for an 80 MiB reply (baseline ${base_rss} KiB)"
  finish
  ;;

faults_mcp_sse_cut) # the SSE stream ends after a notification, no result
  start_all
  code=$(mcp c1 "$(tool_call 1 echo '{"input":"sse_cut"}')" \
    -H 'Accept: application/json, text/event-stream')
  [[ $code == 200 || $code == 502 ]] || fail "cut SSE stream: status $code"
  # The reply (JSON or the last SSE data line) ends with one -32603 for id 1.
  if grep -q '^data: ' "$work/c1.body"; then
    sed -n 's/^data: //p' "$work/c1.body" | tail -n 1 >"$work/c1.last"
    mv "$work/c1.last" "$work/c1.body"
  fi
  expect_tunnel_failure c1
  wait_completed 14 "the agent did not finish the call (+ warm-up)"
  jq_check <(dev_get stats) '.responses.jsonrpc_response == (2 + 12)' "one terminal response (+ warm-up)"
  finish
  ;;

*)
  fail "unknown case"
  ;;
esac
