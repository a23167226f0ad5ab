#!/usr/bin/env bash
# Fault injection on the control-plane side: `dev control-plane` one-shot
# faults (/_dev/faults) against a real `tunnel-client run` and `dev
# mcp-stub`. Each case checks the common pass criteria (faults_common.sh:
# at most one terminal response per command, none lost, agent alive and
# serving, fds/RSS bounded, no secret in any log).
#
# usage: faults_cp.sh CASE TUNNEL_CLIENT_BINARY
case_name=${1:?case}
bin=${2:?tunnel-client binary}
source "$(dirname "$0")/faults_common.sh"

start_all() {
  start_stub
  start_cp
  start_agent
  baseline
}

case $case_name in
faults_cp_poll_5xx) # 500/502/503/504 on four polls: backoff, then served
  start_all
  set_faults '{"poll":[{"status":500},{"status":502},{"status":503},{"status":504}]}'
  wait_stat '.faults_served == 4' "the four poll faults were not consumed" 15
  code=$(call_echo c1 1 after-5xx)
  [[ $code == 200 ]] || fail "call after poll 5xx: status $code"
  jq_check "$work/c1.body" '.result.structuredContent.echoed == "after-5xx"' "echo result"
  [[ $(cp_stat .faults_served) == 4 ]] || fail "want 4 poll faults served: $(dev_get stats)"
  finish
  ;;

faults_cp_poll_429) # Retry-After seconds, HTTP-date, and an invalid value
  start_all
  # The third 429 is served by the first poll after the HTTP-date, which
  # lies 3 s ahead (whole seconds, computed from one clock reading).
  when_s=$(($(date +%s) + 3))
  when=$(date -u -d "@$when_s" '+%a, %d %b %Y %H:%M:%S GMT')
  set_faults "{\"poll\":[{\"status\":429,\"retry_after\":\"1\"},
    {\"status\":429,\"retry_after\":\"$when\"},{\"status\":429,\"retry_after\":\"abc\"}]}"
  t0=$(now_ms)
  wait_stat '.faults_served == 3' "the three 429s were not consumed" 15
  t1=$(now_ms)
  ((t1 >= when_s * 1000)) ||
    fail "429s consumed $((when_s * 1000 - t1))ms before the Retry-After date: not honoured"
  code=$(call_echo c1 1 after-429)
  t2=$(now_ms)
  [[ $code == 200 ]] || fail "call after 429s: status $code"
  ((t2 - t0 <= 9000)) || fail "served $((t2 - t0))ms after the faults: waited too long"
  finish
  ;;

faults_cp_poll_reset) # connection reset at once and in the middle of a poll
  start_all
  set_faults '{"poll":[{"reset":true},{"reset":true,"delay_ms":400},{"reset":true}]}'
  wait_stat '.faults_served == 3' "the three resets were not consumed" 15
  code=$(call_echo c1 1 after-reset)
  [[ $code == 200 ]] || fail "call after poll resets: status $code"
  [[ $(cp_stat .faults_served) == 3 ]] || fail "want 3 poll faults served: $(dev_get stats)"
  finish
  ;;

faults_cp_slow_poll) # a poll answered 2.5 s late is still served normally
  start_all
  set_faults '{"poll":[{"delay_ms":2500}]}'
  wait_stat '.faults_served == 1' "the slow poll fault was not consumed" 15
  code=$(call_echo c1 1 after-slow)
  [[ $code == 200 ]] || fail "call after a slow poll: status $code"
  finish
  ;;

faults_cp_auth) # 401 then 403 on polls: not fatal, polling resumes
  start_all
  set_faults '{"poll":[{"status":401},{"status":403}]}'
  wait_stat '.faults_served == 2' "the 401/403 were not consumed" 15
  code=$(call_echo c1 1 after-auth)
  [[ $code == 200 ]] || fail "call after poll 401/403: status $code"
  [[ $(cp_stat .faults_served) == 2 ]] || fail "want 2 poll faults served: $(dev_get stats)"
  finish
  ;;

faults_cp_post_reset) # the response POST is reset (before and after a delay)
  start_all
  set_faults '{"response":[{"reset":true},{"reset":true,"delay_ms":300}]}'
  code=$(call_echo c1 1 after-post-reset)
  [[ $code == 200 ]] || fail "call whose POSTs were reset: status $code"
  jq_check "$work/c1.body" '.id == 1 and .result.structuredContent.echoed == "after-post-reset"' \
    "echo result"
  wait_completed 14 "the agent did not finish the call (+ warm-up)"
  jq_check <(dev_get stats) '.faults_served == 2 and .responses.jsonrpc_response == (2 + 12)' \
    "one terminal response (plus the warm-up)"
  finish
  ;;

faults_cp_post_5xx) # 502/503/504 on the response POST: retried, one terminal
  start_all
  set_faults '{"response":[{"status":502},{"status":503,"retry_after":"1"}]}'
  code=$(call_echo c1 1 after-post-5xx)
  [[ $code == 200 ]] || fail "call whose POSTs got 5xx: status $code"
  set_faults '{"response":[{"status":504}]}'
  code=$(call_echo c2 2 after-post-504)
  [[ $code == 200 ]] || fail "call whose POST got 504: status $code"
  wait_completed 15 "the agent did not finish both calls (+ warm-up)"
  jq_check <(dev_get stats) '.faults_served == 3 and .responses.jsonrpc_response == (3 + 12)' \
    "one terminal response per call"
  finish
  ;;

faults_cp_post_404) # 404 on the POST is terminal: not retried, others served
  start_all
  set_faults '{"response":[{"status":404}]}'
  inject "[$(rpc_cmd f404-a a), $(rpc_cmd f404-b b), $(rpc_cmd f404-c c)]"
  wait_stat '.responses.jsonrpc_response == (3 + 12)' "two injected commands answered (+ warm-up)"
  # The agent says it stops at the 404 and finishes all three: a retried
  # post cannot follow.
  wait_log "$work/agent.log" 'answered 404.*not retrying' "the agent did not report the 404"
  wait_completed 16 "the agent did not finish the three commands (+ warm-up)"
  jq_check <(dev_get stats) '.faults_served == 1 and .responses.jsonrpc_response == (3 + 12) and
    .responses_rejected == 0' "no retry after 404"
  finish 1
  ;;

faults_cp_duplicate) # the same command delivered twice: one terminal
  # The target holds the call until the gate file exists, so the second
  # delivery reaches the agent while the first is still running (once the
  # first is answered, the control plane would no longer hand it out).
  start_faulty
  start_cp
  start_agent
  baseline
  set_faults '{"duplicate_delivery":true}'
  inject "[$(rpc_cmd dup-1 "gate:$work/dup.gate")]"
  wait_stat '.redeliveries == 1' "the command was not queued for a second delivery"
  wait_log "$work/agent.log" 'command delivered twice.*dup-1' "the agent did not report the duplicate"
  : >"$work/dup.gate"
  # The second delivery was dropped and the first is done: no second
  # terminal response can come after this.
  wait_completed 14 "the agent did not finish the command (+ warm-up)"
  jq_check <(dev_get stats) '.responses.jsonrpc_response == (2 + 12)' \
    "the duplicated command got no terminal response"
  finish
  ;;

faults_cp_post_reset_burst) # five resets and a 503 on one terminal POST
  # More failures in a row than the official client's three attempts: the
  # result still arrives, exactly once.
  start_all
  set_faults '{"response":[{"reset":true},{"reset":true},{"reset":true},
    {"reset":true,"delay_ms":100},{"reset":true},{"status":503}]}'
  code=$(call_echo c1 1 after-reset-burst)
  [[ $code == 200 ]] || fail "call whose POST failed six times: status $code"
  jq_check "$work/c1.body" '.id == 1 and .result.structuredContent.echoed == "after-reset-burst"' \
    "echo result"
  wait_stat '.faults_served == 6' "the six POST faults were not consumed"
  jq_check <(dev_get stats) '.responses.jsonrpc_response == (1 + 13)' \
    "one terminal response (plus the warm-up)"
  finish
  ;;

faults_cp_post_outage) # the control plane is unreachable while a result is posted
  # The agent reaches the control plane through a TCP relay. The relay dies
  # while the MCP server works on a call and stays down until the agent has
  # failed to post the result more often than the official client's three
  # attempts (about 1-2 s); then it comes back on the same port. The
  # caller must get the result exactly once. The relay forwards the
  # agent's Host (the relay's port), which the control plane must allow.
  start_faulty
  cp_args=(--allowed-hosts 127.0.0.1)
  start_cp
  "$node_bin" "$here/tcp_relay.mjs" "$work/relay.url" "$cp" >>"$work/relay.log" 2>&1 &
  relay_pid=$!
  pids+=("$relay_pid")
  wait_file "$work/relay.url" "$relay_pid" "tcp_relay.mjs"
  relay=$(cat "$work/relay.url")
  direct=$cp
  cp=$relay start_agent
  cp=$direct
  baseline
  mcp c1 "$(tool_call 1 echo '{"input":"slow:1500"}')" >"$work/c1.code" &
  caller=$!
  for ((i = 0; i < 200; i++)); do
    grep -qx 'slow:1500' "$work/faulty.url.hits" 2>/dev/null && break
    sleep 0.05
  done
  grep -qx 'slow:1500' "$work/faulty.url.hits" || fail "the slow call never reached the MCP server"
  kill -KILL "$relay_pid"
  wait "$relay_pid" 2>/dev/null
  before=$(grep -c 'response POST failed; retrying' "$work/agent.log")
  outage_from=$(now_ms)
  for ((i = 0; i < 300; i++)); do
    n=$(($(grep -c 'response POST failed; retrying' "$work/agent.log") - before))
    ((n >= 4)) && break
    grep -q 'response post failed' "$work/agent.log" && break
    sleep 0.05
  done
  outage_ms=$(($(now_ms) - outage_from))
  "$node_bin" "$here/tcp_relay.mjs" "$work/relay.url" "$cp" "${relay##*:}" >>"$work/relay.log" 2>&1 &
  pids+=($!)
  rm -f "$work/relay.url"
  wait_file "$work/relay.url" $! "tcp_relay.mjs (restarted)"
  wait "$caller"
  code=$(cat "$work/c1.code")
  [[ $code == 200 ]] ||
    fail "the result posted during a ${outage_ms} ms control-plane outage was lost: status $code"
  jq_check "$work/c1.body" '.id == 1 and .result.content[0].text == "slow:1500"' "the slow call's result"
  echo "control plane unreachable for ${outage_ms} ms (relay down)"
  grep -q 'response post failed' "$work/agent.log" && fail "the agent gave up a result"
  jq_check <(dev_get stats) '.responses.jsonrpc_response == (1 + 13)' \
    "one terminal response (plus the warm-up)"
  finish
  ;;

faults_cp_post_retry_shutdown) # SIGTERM while a result is being retried
  # The shutdown grace bounds the retries: with the control plane refusing
  # every POST (503), the agent stops retrying once the 1 s grace ran out
  # and exits 0, promptly, saying what it abandoned.
  agent_args=(--shutdown.grace-period 1s)
  start_all
  faults=$(printf '{"status":503},%.0s' $(seq 1 60))
  set_faults "{\"response\":[${faults%,}]}"
  call_echo c1 1 never-posted >"$work/c1.code" &
  before=$(grep -c 'response POST failed; retrying' "$work/agent.log")
  for ((i = 0; i < 200; i++)); do
    (($(grep -c 'response POST failed; retrying' "$work/agent.log") - before >= 2)) && break
    sleep 0.05
  done
  t0=$(now_ms)
  stop_pid "$agent_pid" "tunnel-client run" 10
  took=$(($(now_ms) - t0))
  echo "agent exited ${took} ms after SIGTERM (grace 1000 ms)"
  ((took < 4000)) || fail "the agent took ${took} ms to stop with a 1 s grace"
  grep -q 'abandoned: the shutdown grace period ran out' "$work/agent.log" ||
    fail "the log does not say the result was abandoned at shutdown"
  stop_pid "$cp_pid" "dev control-plane"
  echo "ok [$case_name]"
  ;;

*)
  fail "unknown case"
  ;;
esac
