#!/usr/bin/env bash
# MCP replies through a real `tunnel-client run`, checked on the wire:
# raw_control_plane.mjs hands out commands as the exact bytes written here
# and records every response POST without decoding it; the MCP server is
# replies_mcp_server.mjs (HTTP) or tests/modules/stdio_server.mjs (stdio).
#
# usage: replies.sh CASE TUNNEL_CLIENT_BINARY
# Cases:
#   replies_big_ids_http / _stdio  ids 18446744073709551617,
#        -9223372036854775809 and 12345678901234567890123 (JSON and SSE
#        replies): each answered with exactly its own id text
#   replies_memory_http / _stdio   one 60 MB reply, then ten at once, then
#        one over a 32 MiB budget: every command answered exactly once (the
#        large reply whole, or a 503 reply_budget_exhausted), the agent's
#        peak RSS (VmHWM) within one reply (one) and within the budget (ten)
#        plus a constant; figures printed
#   replies_sse_keepalive          200 SSE answers with 4 workers: at most
#        one connection per worker (plus the probe's)
# Every process listens on 127.0.0.1 with an ephemeral port (URL files) and
# is stopped by PID; the agent must exit 0 on SIGTERM.
set -uo pipefail

case_name=${1:?case}
bin=${2:?tunnel-client binary}
here=$(cd "$(dirname "$0")" && pwd)
tid=tunnel_22222222222222222222222222222222
key=raw-wire-key-0123

# shellcheck source=../lib/common.sh
source "$here/../lib/common.sh"
init_work tc-replies
fail_logs=("*.log")
wait_file_s=20
need_tools "$node_bin" "$curl_bin"

# Peak-RSS bounds only mean something without a sanitizer's allocator, and
# instrumented code scans 60 MB slowly: under a sanitizer the memory cases
# use replies and budgets a tenth of the size (the same ratios), and check
# behaviour only.
sanitized=0
grep -qa -e __asan_init -e __tsan_init "$bin" 2>/dev/null && sanitized=1

mkdir -p "$work/queue"
spawn cp "raw control plane" "$node_bin" "$here/raw_control_plane.mjs" \
  "$work/cp.url" "$work/queue" "$work/posts.jsonl"
cp_pid=$spawned_pid
cp=$spawned_url
touch "$work/posts.jsonl"

start_http_target() {
  spawn target "MCP server" "$node_bin" "$here/replies_mcp_server.mjs" "$work/target.url"
  target_args=(--mcp.server-url "$spawned_url/mcp")
}

start_stdio_target() {
  target_args=(--mcp.command "'$node_bin' '$here/../modules/stdio_server.mjs'")
}

# start_agent [flags...]: `run` between the raw control plane and the target.
start_agent() {
  rm -f "$work/health.url"
  env -i PATH="$PATH" HOME="$work" CONTROL_PLANE_API_KEY="$key" "$bin" run \
    --control-plane.base-url "$cp" --control-plane.tunnel-id "$tid" \
    "${target_args[@]}" --health.listen-addr 127.0.0.1:0 \
    --health.url-file "$work/health.url" --control-plane.poll-timeout 1s \
    "$@" >>"$work/agent.log" 2>&1 &
  agent_pid=$!
  pids+=("$agent_pid")
  wait_file "$work/health.url" "$agent_pid" "tunnel-client run"
}

# queue NAME ID ARGS_JSON: one tools/call command (request_id NAME, JSON-RPC
# id text ID, tool arguments ARGS_JSON), exactly these bytes.
queue() {
  printf '{"request_id":"%s","shard_token":"shard-%s","command_type":"jsonrpc","channel":"main","created_at":"2026-01-01T00:00:00Z","response_timeout":"120s","headers":{},"jsonrpc":{"jsonrpc":"2.0","id":%s,"method":"tools/call","params":{"name":"echo","arguments":%s}}}' \
    "$1" "$1" "$2" "$3" >"$work/queue/.$1"
  mv "$work/queue/.$1" "$work/queue/$1.json"
}

# terminal: how many terminal responses were recorded.
terminal() { grep -c '"resp_type":"jsonrpc_response"' "$work/posts.jsonl"; }

# wait_posts N [SECONDS]: until N terminal responses were recorded.
wait_posts() {
  local i
  for ((i = 0; i < ${2:-60} * 20; i++)); do
    (($(terminal) >= $1)) && return 0
    kill -0 "$agent_pid" 2>/dev/null || fail "the agent died"
    sleep 0.05
  done
  fail "want $1 terminal responses, got $(terminal) in ${2:-60}s"
}

# check_posts JS: a node predicate over `posts` (the recorded POSTs, in
# order); fails with the predicate's message when it returns a string.
check_posts() {
  "$node_bin" -e '
    const fs = require("fs");
    const posts = fs.readFileSync(process.argv[1], "utf8").trim().split("\n")
      .filter(Boolean).map((l) => JSON.parse(l));
    const why = (new Function("posts", process.argv[2]))(posts);
    if (why) { console.error(why); process.exit(1); }' "$work/posts.jsonl" "$1" ||
    fail "response POSTs: see above"
}

# cpu_ms PID: user + system CPU time so far, in ms.
cpu_ms() {
  awk -v hz="$(getconf CLK_TCK)" '{ print int(($14 + $15) * 1000 / hz) }' "/proc/$1/stat"
}
hwm_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# No request answered twice, every queued command answered.
check_once() {
  local want
  want=$(find "$work/queue" -name '*.json' | wc -l)
  check_posts "
    const ids = posts.filter((p) => p.resp_type === 'jsonrpc_response').map((p) => p.request_id);
    if (new Set(ids).size !== ids.length) return 'a request was answered twice: ' + ids.join(' ');
    if (ids.length !== $want) return 'want $want terminal responses, got ' + ids.length;"
}

stop_all() {
  stop_pid "$agent_pid" "tunnel-client run"
  grep -q 'AddressSanitizer\|runtime error:\|ThreadSanitizer' "$work/agent.log" &&
    fail "sanitizer report in agent.log"
  echo "ok [$case_name]"
}

big_ids() {
  local ids=(18446744073709551617 -9223372036854775809 12345678901234567890123) n=0 id
  for id in "${ids[@]}"; do
    n=$((n + 1))
    queue "json$n" "$id" '{}'
    queue "sse$n" "$id" '{"sse":true}'
  done
  wait_posts 6
  check_posts '
    const want = ["18446744073709551617", "-9223372036854775809", "12345678901234567890123"];
    for (const p of posts.filter((x) => x.resp_type === "jsonrpc_response")) {
      const id = want[Number(p.request_id.replace(/\D/g, "")) - 1];
      if (p.resp_code !== 200 || !p.body.includes(`"id":${id},"result":`))
        return `${p.request_id}: want status 200 and the result for id ${id}, got ${p.body}`;
    }'
  check_once
}

# memory: the 60 MB reply alone, then ten at once (a tenth of that under a
# sanitizer, with a budget a tenth of the default).
memory() {
  local mb=60000000 budget=256MiB small=32MiB mib base hwm1 hwm10
  if ((sanitized)); then
    mb=6000000 budget=25MiB small=4MiB
    stop_pid "$agent_pid" "tunnel-client run"
    start_agent --mcp.max-inflight-reply-bytes "$budget"
  fi
  mib=$("$node_bin" -e "console.log($mb / 1048576)")
  queue warm 1 '{}'
  wait_posts 1
  sleep 0.5
  base=$(rss_kb "$agent_pid")
  queue one 2 "{\"mib\":$mib,\"bytes\":$mb}"
  wait_posts 2 120
  hwm1=$(hwm_kb "$agent_pid")
  check_posts "
    const p = posts[1];
    if (p.resp_code !== 200 || p.bytes < $mb) return 'the 60 MB reply: ' + JSON.stringify(p).slice(0, 300);"
  local i
  for i in $(seq 10 19); do queue "ten$i" "$i" "{\"mib\":$mib,\"bytes\":$mb}"; done
  wait_posts 12 240
  hwm10=$(hwm_kb "$agent_pid")
  check_posts "
    let ok = 0;
    for (const p of posts.slice(2)) {
      if (p.resp_code === 200 && p.bytes >= $mb) { ok++; continue; }
      if (p.resp_code === 503 && p.body && p.body.includes('reply_budget_exhausted')) continue;
      return p.request_id + ': neither the reply nor a reply_budget_exhausted 503: ' + JSON.stringify(p).slice(0, 400);
    }
    if (ok === 0) return 'none of the ten replies went through';"
  local ok
  ok=$(grep -c '"resp_code":200' "$work/posts.jsonl")
  ok=$((ok - 2))
  echo "figures [$case_name]: baseline RSS ${base} KiB; peak (VmHWM) after one $((mb / 1000000)) MB reply ${hwm1} KiB (+$(((hwm1 - base) / 1024)) MiB); after ten at once ${hwm10} KiB (+$(((hwm10 - base) / 1024)) MiB), $ok of 10 delivered, $((10 - ok)) refused by the $budget budget"
  if ((!sanitized)); then
    # One reply is held once: 64 MiB of buffer for 60 MB, plus a constant.
    ((hwm1 - base <= 96 * 1024)) ||
      fail "one 60 MB reply took the peak RSS ${hwm1} KiB, $(((hwm1 - base) / 1024)) MiB over the baseline (want <= 96)"
    # Ten at once stay within the 256 MiB budget plus a constant.
    ((hwm10 - base <= (256 + 64) * 1024)) ||
      fail "ten 60 MB replies took the peak RSS to ${hwm10} KiB, $(((hwm10 - base) / 1024)) MiB over the baseline (want <= 320)"
  fi
  check_once

  # A budget smaller than one reply: that call fails clearly, the agent
  # stays up and serves.
  stop_pid "$agent_pid" "tunnel-client run"
  start_agent --mcp.max-inflight-reply-bytes "$small"
  queue small 20 "{\"mib\":$mib,\"bytes\":$mb}"
  queue after 21 '{}'
  wait_posts 14 120
  check_posts "
    const small = posts.find((p) => p.request_id === 'small');
    const after = posts.find((p) => p.request_id === 'after');
    if (!small || small.resp_code !== 503 || !small.body.includes('reply_budget_exhausted') ||
        !small.body.includes('Service Unavailable'))
      return 'over the budget: ' + JSON.stringify(small);
    if (!after || after.resp_code !== 200) return 'the call after it: ' + JSON.stringify(after);"
  check_once
}

case $case_name in
replies_big_ids_http)
  start_http_target
  start_agent
  big_ids
  ;;
replies_big_ids_stdio)
  start_stdio_target
  start_agent
  big_ids
  ;;
replies_memory_http)
  start_http_target
  start_agent
  memory
  ;;
replies_memory_stdio)
  start_stdio_target
  start_agent
  memory
  ;;
replies_sse_keepalive)
  start_http_target
  start_agent --mcp.max-concurrent-requests 4
  # Once the startup requests (probe, OAuth discovery) are done...
  queue warm 99 '{"sse":true}'
  wait_posts 1
  before=$(cat "$work/target.url.conns")
  cpu0=$(cpu_ms "$agent_pid")
  t0=$(now_ms)
  for i in $(seq 100 299); do queue "s$i" "$i" '{"sse":true}'; done
  wait_posts 201 120
  t1=$(now_ms)
  cpu1=$(cpu_ms "$agent_pid")
  check_posts "
    const t = posts.filter((p) => p.resp_type === 'jsonrpc_response');
    if (t.length !== 201 || t.some((p) => p.resp_code !== 200)) return 'want 201 answers';"
  conns=$(($(cat "$work/target.url.conns") - before))
  echo "figures [$case_name]: 200 SSE calls, 4 workers: $conns new TCP connections at the server; agent CPU $((cpu1 - cpu0)) ms ($(((cpu1 - cpu0) * 1000 / 200)) us per call), $((t1 - t0)) ms wall"
  ((conns <= 4)) || fail "200 SSE calls opened $conns connections (want <= 4: one per worker)"
  check_once
  ;;
*)
  fail "unknown case"
  ;;
esac
stop_all
