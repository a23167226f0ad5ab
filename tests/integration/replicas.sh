#!/usr/bin/env bash
# Active-active replicas: three `tunnel-client run` agents on one tunnel id
# against one `dev control-plane`, one MCP server (faults_mcp_server.mjs,
# each call answered after DELAY ms) and a bounded load through the
# control plane's MCP ingress (replicas_load.mjs: every call carries its own
# input, so each answer is matched to its caller).
#
# usage: replicas.sh CASE TUNNEL_CLIENT_BINARY
#
#   replicas_split    every call answered exactly once (0 lost, 0
#                     duplicated, each executed once by the MCP server),
#                     every replica served a share; prints the split
#   replicas_sigkill  SIGKILL one replica mid-load: only the commands it held
#                     fail (the caller gets 504 once the control plane's
#                     response timeout passes), the other two serve every
#                     other call and stay ready; prints how many and how
#                     long the callers waited
#   replicas_sigterm  SIGTERM one replica mid-load: it drains and exits 0,
#                     nothing is lost, the other two stay ready
#
# The figures are printed as "REPORT ..." lines (docs/deployment.md).
set -uo pipefail

case_name=${1:?case}
bin=${2:?tunnel-client binary}
tid=tunnel_22222222222222222222222222222222
key=local-tunnel-client-dev-proxy
auth="Authorization: Bearer $key"
here=$(cd "$(dirname "$0")" && pwd)

# shellcheck source=../lib/common.sh
source "$here/../lib/common.sh"
init_work tc-replicas
fail_logs=('*.log' 'load.json' 'stats.json')
fail_tail=30
need_tools "$jq_bin" "$node_bin" "$curl_bin"

calls=${TC_REPLICAS_CALLS:-600}
concurrency=${TC_REPLICAS_CONCURRENCY:-12}
delay_ms=${TC_REPLICAS_DELAY_MS:-20}
response_timeout_s=5 # the control plane's wait for a response (default 30s)

spawn mcp "MCP server" "$node_bin" "$here/faults_mcp_server.mjs" "$work/mcp.url"
target=$(cat "$work/mcp.url")/mcp
spawn cp "dev control-plane" env -i PATH="$PATH" HOME="$work" "$bin" dev control-plane \
  --listen 127.0.0.1:0 --url-file "$work/cp.url" --response-timeout "${response_timeout_s}s"
cp_pid=$spawned_pid
cp=$spawned_url

# Three replicas, identical but for their health ports: r1 r2 r3.
declare -A agent_pid health instance
for r in r1 r2 r3; do
  env -i PATH="$PATH" HOME="$work" CONTROL_PLANE_API_KEY="$key" "$bin" run \
    --control-plane.base-url "$cp" --control-plane.tunnel-id "$tid" \
    --mcp.server-url "$target" --health.listen-addr 127.0.0.1:0 \
    --health.url-file "$work/$r.url" >"$work/$r.log" 2>&1 &
  agent_pid[$r]=$!
  pids+=("${agent_pid[$r]}")
done
for r in r1 r2 r3; do
  wait_file "$work/$r.url" "${agent_pid[$r]}" "replica $r"
  health[$r]=$(cat "$work/$r.url")
done
for r in r1 r2 r3; do
  for ((i = 0; i < 200; i++)); do
    [[ $("$curl_bin" -s -o /dev/null -w '%{http_code}' "${health[$r]}/readyz") == 200 ]] && break
    sleep 0.05
  done
  [[ $("$curl_bin" -s -o /dev/null -w '%{http_code}' "${health[$r]}/readyz") == 200 ]] ||
    fail "replica $r not ready within 10s"
  instance[$r]=$(sed -n 's/.*client_instance_id=\([0-9a-f]\{32\}\).*/\1/p' "$work/$r.log" | head -1)
  [[ -n ${instance[$r]} ]] || fail "no client_instance_id in the log of $r"
done

# load OUT [--at K --signal S --pid P] [--watch-ready URL]...
load() {
  local out=$1
  shift
  "$node_bin" "$here/replicas_load.mjs" --url "$cp/v1/mcp/$tid" --calls "$calls" \
    --concurrency "$concurrency" --delay-ms "$delay_ms" --out "$work/$out" "$@" \
    >"$work/load.log" 2>&1 || fail "the load driver failed: $(cat "$work/load.log")"
}

# stat_of R FIELD: that replica's counter in /_dev/stats "instances".
stat_of() {
  "$jq_bin" -r --arg id "${instance[$1]}" \
    '(.instances[] | select(.instance_id == $id) | .'"$2"') // 0' "$work/stats.json"
}

# MCP-side executions of call-I: lines "slow:D:call-I" in the hits file.
executions() { grep -c -x "slow:$delay_ms:call-$1" "$work/mcp.url.hits"; }

# The split line: answered per replica and its share.
report_split() {
  local total=0 r line="REPORT split:"
  for r in r1 r2 r3; do total=$((total + $(stat_of "$r" answered))); done
  for r in r1 r2 r3; do
    line+=" $r $(stat_of "$r" answered) ($(awk -v a="$(stat_of "$r" answered)" -v t="$total" \
      'BEGIN { printf "%.1f", t ? 100 * a / t : 0 }')%)"
  done
  echo "$line of $total answered"
}

# Exactly-once on the MCP side for every call that was answered.
check_executed_once() {
  local dup
  dup=$(grep -o 'call-[0-9]*$' "$work/mcp.url.hits" | sort | uniq -d | head -5)
  [[ -z $dup ]] || fail "calls executed more than once by the MCP server: $dup"
}

echo "REPORT load: 3 replicas, $calls calls, concurrency $concurrency, MCP delay ${delay_ms} ms, response timeout ${response_timeout_s}s"
case $case_name in
replicas_split)
  load load.json --watch-ready "${health[r1]}/readyz" --watch-ready "${health[r2]}/readyz" \
    --watch-ready "${health[r3]}/readyz"
  dev_get stats >"$work/stats.json"
  jq_check "$work/load.json" ".calls == $calls and .ok == $calls" "every call answered with its own result"
  jq_check "$work/load.json" '.ready_failures == []' "every replica stayed ready"
  jq_check "$work/stats.json" '.duplicate_terminal_responses == 0 and .redeliveries == 0' "no duplicate"
  check_executed_once
  total=0
  for r in r1 r2 r3; do
    a=$(stat_of "$r" answered)
    ((a > 0)) || fail "replica $r answered nothing: not active-active ($(cat "$work/stats.json"))"
    [[ $(stat_of "$r" abandoned) == 0 && $(stat_of "$r" unanswered) == 0 ]] ||
      fail "replica $r left commands unanswered"
    total=$((total + a))
  done
  ((total == calls)) || fail "$total terminal responses for $calls calls"
  report_split
  echo "REPORT lost 0, duplicated 0, load took $("$jq_bin" -r .duration_ms "$work/load.json") ms"
  ;;

replicas_sigkill)
  victim=r2
  load load.json --at $((calls / 3)) --signal KILL --pid "${agent_pid[$victim]}" \
    --watch-ready "${health[r1]}/readyz" --watch-ready "${health[r3]}/readyz"
  await_exit "${agent_pid[$victim]}" 5 || fail "replica $victim survived SIGKILL"
  dev_get stats >"$work/stats.json"
  jq_check "$work/load.json" '.mismatched == []' "every 200 carried its own result"
  jq_check "$work/load.json" '.ready_failures == [] and .ready_checks > 0' "the other two stayed ready"
  jq_check "$work/stats.json" '.duplicate_terminal_responses == 0' "no duplicate terminal response"
  check_executed_once
  failed=$("$jq_bin" '.failed | length' "$work/load.json")
  held=$(($(stat_of $victim delivered) - $(stat_of $victim requeued) - $(stat_of $victim answered)))
  abandoned=$(stat_of $victim abandoned)
  # Only what the killed replica held is lost, and all of it is.
  ((held == abandoned)) || fail "held $held != abandoned $abandoned ($(cat "$work/stats.json"))"
  ((failed == held)) || fail "$failed calls failed, but the killed replica held $held"
  jq_check "$work/load.json" '[.failed[].status] | all(. == 504)' "the affected callers got 504"
  jq_check "$work/load.json" "[.failed[].body] | all(test(\"timed out waiting for tunnel-client response\"))" \
    "the 504 says the tunnel-client did not answer"
  min_wait=$("$jq_bin" '[.failed[].ms] | min // 0' "$work/load.json")
  max_wait=$("$jq_bin" '[.failed[].ms] | max // 0' "$work/load.json")
  ((failed == 0 || min_wait >= response_timeout_s * 1000 - 50)) ||
    fail "a caller got its 504 after ${min_wait} ms, before the ${response_timeout_s}s response timeout"
  ran=0
  for i in $("$jq_bin" -r '.failed[].i' "$work/load.json"); do
    ran=$((ran + $(executions "$i")))
  done
  for r in r1 r3; do
    [[ $(stat_of "$r" abandoned) == 0 ]] || fail "survivor $r lost commands"
  done
  ok=$("$jq_bin" .ok "$work/load.json")
  ((ok == calls - failed)) || fail "$ok calls ok, want $((calls - failed))"
  echo "REPORT sigkill: replica $victim killed after $("$jq_bin" .signal_after_calls "$work/load.json") of $calls calls;" \
    "it held $held commands (delivered $(stat_of $victim delivered), answered $(stat_of $victim answered));" \
    "$failed callers got HTTP 504 after ${min_wait}-${max_wait} ms (response timeout ${response_timeout_s}s);" \
    "$ran of them had already run on the MCP server; the other $ok calls succeeded"
  report_split
  ;;

replicas_sigterm)
  victim=r3
  load load.json --at $((calls / 3)) --signal TERM --pid "${agent_pid[$victim]}" \
    --watch-ready "${health[r1]}/readyz" --watch-ready "${health[r2]}/readyz"
  await_exit "${agent_pid[$victim]}" 20 || fail "replica $victim still running 20s after SIGTERM"
  [[ $rc == 0 ]] || fail "replica $victim exit status $rc after SIGTERM, want 0"
  dev_get stats >"$work/stats.json"
  jq_check "$work/load.json" ".calls == $calls and .ok == $calls" "every call answered with its own result"
  jq_check "$work/load.json" '.ready_failures == [] and .ready_checks > 0' "the other two stayed ready"
  jq_check "$work/stats.json" '.duplicate_terminal_responses == 0' "no duplicate terminal response"
  check_executed_once
  [[ $(stat_of $victim abandoned) == 0 && $(stat_of $victim unanswered) == 0 ]] ||
    fail "the drained replica left commands unanswered"
  grep -q 'command dropped' "$work/$victim.log" && fail "the drained replica dropped commands"
  echo "REPORT sigterm: replica $victim drained after $("$jq_bin" .signal_after_calls "$work/load.json") of $calls calls;" \
    "it answered $(stat_of $victim answered) (requeued $(stat_of $victim requeued) undelivered poll replies); lost 0"
  report_split
  ;;

*)
  fail "unknown case"
  ;;
esac
for r in r1 r2 r3; do
  kill -0 "${agent_pid[$r]}" 2>/dev/null || continue
  stop_pid "${agent_pid[$r]}" "replica $r"
done
stop_pid "$cp_pid" "dev control-plane"
echo "ok [$case_name]"
