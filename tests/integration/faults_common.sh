# faults_common.sh — helpers shared by the fault-injection scripts
# (faults_cp.sh, faults_mcp.sh, faults_stdio.sh, faults_shutdown.sh); sourced,
# not run. Expects $case_name and $bin set by the caller. Builds on
# tests/lib/common.sh (fail, wait_file, stop_pid, the /_dev helpers, ...).
#
# Processes: `dev control-plane` (a distinctive API key, so the logs can be
# searched for it), a target (the stub, faults_mcp_server.mjs or a stdio
# command) and `tunnel-client run --log.level debug` between them. Every
# process gets ephemeral ports via URL files and is SIGKILLed by the EXIT
# trap if still alive.
#
# Pass criteria checked by check_invariants (every case calls it last):
#   - no request id got two terminal responses (control plane count);
#   - every delivered command is answered, except those the case lists as
#     allowed to stay unanswered (deadline expired, 404 on the POST);
#   - the agent is alive and still serves a tools/call;
#   - open fds within +8 of the warm baseline, plus 6 for each worker the
#     pool (which grows on demand) started since, RSS within a slack
#     (TC_FAULT_RSS_SLACK_KB, default 32 MiB) of it;
#   - neither the API key nor the callers' bearer token appears in any log.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tid=tunnel_22222222222222222222222222222222
key="sk-faultkey-$RANDOM$RANDOM-do-not-log"
bearer="tok-caller-$RANDOM$RANDOM-secret"
auth="Authorization: Bearer $key"

# shellcheck source=../lib/common.sh
source "$here/../lib/common.sh"
init_work tc-faults
fail_logs=('*.log' '*.body' '*.json')
agent_pid=
cp_pid=
target=
agent_args=()
cp_args=()

# Under AddressSanitizer freed memory sits in a quarantine (256 MiB by
# default), so RSS bounds are loosened for sanitizer builds.
if grep -qa -e __asan_init -e __tsan_init "$bin" 2>/dev/null; then
  : "${TC_FAULT_RSS_SLACK_KB:=524288}" "${TC_FAULT_PEAK_SLACK_KB:=786432}"
fi

need_tools "$jq_bin" "$curl_bin"

start_stub() {
  spawn stub "dev mcp-stub" env -i PATH="$PATH" HOME="$work" "$bin" dev mcp-stub \
    --listen-addr 127.0.0.1:0 --url-file "$work/stub.url"
  target=$spawned_url/mcp
}

# start_faulty [PORT]: faults_mcp_server.mjs; sets $target, $faulty_pid.
start_faulty() {
  rm -f "$work/faulty.url"
  "$node_bin" "$here/faults_mcp_server.mjs" "$work/faulty.url" "${1:-0}" \
    >>"$work/faulty.log" 2>&1 &
  faulty_pid=$!
  pids+=($!)
  wait_file "$work/faulty.url" $! "faults_mcp_server.mjs"
  target=$(cat "$work/faulty.url")/mcp
}

start_cp() {
  spawn cp "dev control-plane" env -i PATH="$PATH" HOME="$work" "$bin" dev control-plane \
    --api-key "$key" --listen 127.0.0.1:0 --url-file "$work/cp.url" "${cp_args[@]}"
  cp_pid=$spawned_pid
  cp=$spawned_url
}

# start_agent: `run` between $cp and $target (an URL, or "cmd:COMMAND" for
# a stdio binding), plus agent_args.
start_agent() {
  local mcp=(--mcp.server-url "$target")
  [[ $target == cmd:* ]] && mcp=(--mcp.command "${target#cmd:}")
  rm -f "$work/health.url"
  env -i PATH="$PATH" HOME="$work" CONTROL_PLANE_API_KEY="$key" "$bin" run \
    --control-plane.base-url "$cp" --control-plane.tunnel-id "$tid" \
    "${mcp[@]}" --health.listen-addr 127.0.0.1:0 --log.level debug --log.format struct-text \
    --health.url-file "$work/health.url" --control-plane.poll-timeout 1s \
    "${agent_args[@]}" >>"$work/agent.log" 2>&1 &
  agent_pid=$!
  pids+=("$agent_pid")
  wait_file "$work/health.url" "$agent_pid" "tunnel-client run"
}

# mcp NAME BODY [curl args...]: POST to the ingress with the caller's bearer
# token; body to $work/NAME.body; prints the status (000 = no answer).
mcp() {
  local name=$1 body=$2
  shift 2
  "$curl_bin" -sS --max-time "${mcp_max_time:-30}" -H 'Content-Type: application/json' \
    -H "Authorization: Bearer $bearer" --data-binary "$body" "$@" \
    -o "$work/$name.body" -w '%{http_code}' "$cp/v1/mcp/$tid" 2>"$work/$name.curlerr"
}

# call_echo NAME ID INPUT: tools/call echo; prints the status.
call_echo() { mcp "$1" "$(tool_call "$2" echo "{\"input\":\"$3\"}")"; }

# rpc_cmd REQUEST_ID INPUT [EXTRA_FIELDS]: one raw jsonrpc command calling
# echo with INPUT and the caller's bearer token as a forwarded header.
rpc_cmd() {
  printf '{"request_id":"%s",%s"command_type":"jsonrpc","channel":"main","headers":{"Authorization":["Bearer %s"]},"jsonrpc":%s}' \
    "$1" "${3:-}" "$bearer" "$(tool_call 1 echo "{\"input\":\"$2\"}")"
}

proc_rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
proc_fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

# baseline: one warm call through the tunnel, then 12 concurrent ones (so
# every worker holds its cached connections), then record fds and RSS.
# Counts as one jsonrpc_response in /_dev/stats plus 12 more.
baseline() {
  local code i
  code=$(call_echo warm 9000 ok)
  [[ $code == 200 ]] || fail "warm-up call: status $code"
  for i in $(seq 1 12); do
    call_echo "warm$i" "$((9100 + i))" ok >"$work/warm$i.code" &
  done

  for i in $(seq 1 12); do
    while [[ ! -s $work/warm$i.code ]]; do sleep 0.05; done
    [[ $(cat "$work/warm$i.code") == 200 ]] || fail "warm-up call $i: $(cat "$work/warm$i.code")"
  done
  warm_responses=13
  base_fds=$(proc_fds "$agent_pid")
  base_rss=$(proc_rss_kb "$agent_pid")
  base_workers=$(agent_workers)
}

# agent_workers: worker threads started so far (tunnel_client_workers).
agent_workers() {
  "$curl_bin" -sf --max-time 5 "$(cat "$work/health.url")/metrics" |
    awk '$1 == "tunnel_client_workers" { n = int($2) } END { print n + 0 }'
}

# fd_bound: the baseline plus 8 for connection caches, plus 6 for each
# worker started since the baseline (its MCP and control-plane connections
# and libcurl's wake-up socketpair of each handle): a bound that a leak,
# which grows with every command, still crosses.
fd_bound() {
  local grown=$(($(agent_workers) - base_workers))
  ((grown < 0)) && grown=0
  echo $((base_fds + 8 + 6 * grown))
}

# check_invariants [ALLOWED_UNANSWERED]: the pass criteria listed at the top.
check_invariants() {
  local allowed=${1:-0} code i
  kill -0 "$agent_pid" 2>/dev/null || fail "the agent died"
  code=$(call_echo after 9001 ok)
  [[ $code == 200 ]] || fail "the agent does not serve after the fault: status $code"
  jq_check "$work/after.body" '.id == 9001 and (.result != null)' "call after the fault"
  dev_get stats >"$work/stats.json"
  jq_check "$work/stats.json" '.duplicate_terminal_responses == 0' \
    "a request got more than one terminal response"
  jq_check "$work/stats.json" ".delivered_unanswered <= $allowed" \
    "delivered commands left without a terminal response (allowed $allowed)"
  if [[ -n ${base_fds:-} ]]; then
    # The connection caches may hold a few more sockets after the fault.
    local bound
    bound=$(fd_bound)
    for ((i = 0; i < 20; i++)); do
      (($(proc_fds "$agent_pid") <= bound)) && break
      sleep 0.1
    done
    local fds rss slack=${TC_FAULT_RSS_SLACK_KB:-32768}
    fds=$(proc_fds "$agent_pid")
    rss=$(proc_rss_kb "$agent_pid")
    ((fds <= bound)) ||
      fail "fd leak: $base_fds -> $fds open fds (bound $bound; workers $base_workers -> $(agent_workers))"
    ((rss <= base_rss + slack)) || fail "RSS grew from ${base_rss} KiB to ${rss} KiB"
  fi
  for f in "$work"/*.log; do
    grep -qF -- "$key" "$f" && fail "the API key appears in ${f##*/}"
    grep -qF -- "$bearer" "$f" && fail "the caller's bearer token appears in ${f##*/}"
  done
  return 0
}

# finish [ALLOWED_UNANSWERED]: check_invariants, then SIGTERM everything
# (exit 0 each) and print ok.
finish() {
  check_invariants "${1:-0}"
  stop_pid "$agent_pid" "tunnel-client run"
  stop_pid "$cp_pid" "dev control-plane"
  for f in "$work"/*.log; do
    grep -qF -- "$key" "$f" && fail "the API key appears in ${f##*/} (at exit)"
    grep -qF -- "$bearer" "$f" && fail "the caller's bearer token appears in ${f##*/} (at exit)"
    grep -q 'AddressSanitizer\|runtime error:\|ThreadSanitizer' "$f" &&
      fail "sanitizer report in ${f##*/}"
  done
  echo "ok [$case_name]"
}
