#!/usr/bin/env bash
# SIGTERM under load: 100 commands in flight against a slow MCP server
# (faults_mcp_server.mjs "slow:MS"); the agent must post exactly one
# terminal response for each, exit 0 within the drain grace, and log no
# secret.
#
# usage: faults_shutdown.sh CASE TUNNEL_CLIENT_BINARY
case_name=${1:?case}
bin=${2:?tunnel-client binary}
source "$(dirname "$0")/faults_common.sh"
command -v "$node_bin" >/dev/null || fail "node is not installed (scripts/deps.sh installs it)"

case $case_name in
faults_sigterm_100_inflight)
  start_faulty
  start_cp
  agent_args=(--control-plane.max-inflight 128 --mcp.max-concurrent-requests 100)
  start_agent
  baseline
  cmds=
  for i in $(seq 1 100); do
    cmds+="${cmds:+,}$(rpc_cmd "inflight-$i" slow:2000)"
  done
  inject "[$cmds]"
  wait_stat '.delivered_unanswered == 100' "100 commands not in flight" 15
  t0=$(now_ms)
  stop_pid "$agent_pid" "tunnel-client run" 20
  t1=$(now_ms)
  dev_get stats >"$work/stats.json"
  jq_check "$work/stats.json" '.delivered_unanswered == 0 and .responses.jsonrpc_response == (101 + 12) and
    .duplicate_terminal_responses == 0' "every in-flight command answered exactly once"
  dev_get responses >"$work/responses.json"
  jq_check "$work/responses.json" '[.[] | select(.request_id | startswith("inflight-")) |
    .resp_code == 200] | (length >= 60 and all)' "in-flight commands answered with their result"
  ((t1 - t0 >= 500)) || fail "agent exited $((t1 - t0))ms after SIGTERM: did not drain"
  for f in "$work"/*.log; do
    grep -qF -- "$key" "$f" && fail "the API key appears in ${f##*/}"
    grep -qF -- "$bearer" "$f" && fail "the caller's bearer token appears in ${f##*/}"
  done
  stop_pid "$cp_pid" "dev control-plane"
  echo "ok [$case_name]"
  ;;

*)
  fail "unknown case"
  ;;
esac
