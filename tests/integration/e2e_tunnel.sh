#!/usr/bin/env bash
# End-to-end tunnel tests: real processes on 127.0.0.1 — `dev mcp-stub`,
# `dev control-plane` and `tunnel-client run` between them — driven through
# the control plane's MCP ingress with curl, checked with jq.
#
# usage: e2e_tunnel.sh CASE TUNNEL_CLIENT_BINARY CONTRACT_DIR
#
# CONTRACT_DIR is tests/contract (validate.mjs + openapi.json, after
# `npm ci --prefix tests/contract`). Every case ends by fetching every body
# the agent posted (GET /_dev/responses) and validating them against the
# contract, checking that no request got two terminal responses, then
# stopping the agent with SIGTERM (it must exit 0).
#
# Each process gets ephemeral ports (--url-file), runs under `env -i` with
# HOME in a private temp dir, and is killed by the EXIT trap if still alive.
# A few cases add a small node server (inline below): a slow MCP target, and
# a recording proxy in front of the control plane.
set -uo pipefail

case_name=${1:?case}
bin=${2:?tunnel-client binary}
contract_dir=${3:?contract dir}
tid=tunnel_22222222222222222222222222222222
key=local-tunnel-client-dev-proxy
auth="Authorization: Bearer $key"

# shellcheck source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
init_work tc-e2e
fail_logs=('*.log' '*.body' '*.json')
fail_tail=40
agent_pid=
stub_pid=
cp_pid=

need_tools "$jq_bin" "$node_bin" "$curl_bin"
[[ -d $contract_dir/node_modules/ajv ]] ||
  fail "ajv is missing: run npm ci --prefix tests/contract"

start_stub() {
  spawn stub "dev mcp-stub" env -i PATH="$PATH" HOME="$work" "$bin" dev mcp-stub \
    --listen-addr 127.0.0.1:0 --url-file "$work/stub.url"
  stub_pid=$spawned_pid
  target=$spawned_url/mcp
}

# start_cp [flags...]: the control plane; sets $cp (the URL the agent and
# the tests use) and $cp_direct.
start_cp() {
  spawn cp "dev control-plane" env -i PATH="$PATH" HOME="$work" "$bin" dev control-plane \
    --listen 127.0.0.1:0 --url-file "$work/cp.url" "$@"
  cp_pid=$spawned_pid
  cp_direct=$spawned_url
  cp=$cp_direct
}

# start_agent: `tunnel-client run` between $cp and $target, plus the flags
# in the agent_args array.
agent_args=()
start_agent() {
  env -i PATH="$PATH" HOME="$work" CONTROL_PLANE_API_KEY="$key" "$bin" run \
    --control-plane.base-url "${agent_cp:-$cp}" --control-plane.tunnel-id "$tid" \
    --mcp.server-url "$target" --health.listen-addr 127.0.0.1:0 \
    --health.url-file "$work/health.url" --control-plane.poll-timeout 1s \
    "${agent_args[@]}" >"$work/agent.log" 2>&1 &
  agent_pid=$!
  pids+=("$agent_pid")
  wait_file "$work/health.url" "$agent_pid" "tunnel-client run"
}

# stop_pid (tests/lib/common.sh) gives the agent 20s: its drain grace is 15s.
stop_agent() { stop_pid "$agent_pid" "tunnel-client run"; }

# Slow MCP target (node): answers every POST after DELAY_MS with a JSON-RPC
# result echoing the id; appends "hit <id as JSON>" to $work/slow.hit when a
# request arrives. Requests without a body (the agent's OAuth discovery
# probes) get 404, `initialize` (the startup probe) its result and
# notifications 202, all at once and not counted.
start_slow_target() {
  local delay=$1
  spawn slow "slow target" "$node_bin" -e '
    const http = require("http"), fs = require("fs");
    const [delay, urlFile, hitFile] = process.argv.slice(1);
    http.createServer((req, res) => {
      let b = "";
      req.on("data", (c) => (b += c));
      req.on("end", () => {
        if (b === "") { res.writeHead(404); res.end(); return; } // OAuth discovery probes
        let id = null, method = null;
        try { ({ id = null, method = null } = JSON.parse(b)); } catch (e) {}
        if (method === "initialize") { // the startup probe: answer at once
          res.writeHead(200, { "Content-Type": "application/json" });
          res.end(JSON.stringify({ jsonrpc: "2.0", id, result: { protocolVersion: "2025-06-18", capabilities: {}, serverInfo: { name: "slow", version: "1" } } }));
          return;
        }
        if (id === null) { res.writeHead(202); res.end(); return; } // notifications
        fs.appendFileSync(hitFile, "hit " + JSON.stringify(id) + "\n");
        setTimeout(() => {
          res.writeHead(200, { "Content-Type": "application/json" });
          res.end(JSON.stringify({ jsonrpc: "2.0", id, result: { content: [{ type: "text", text: "slow" }] } }));
        }, Number(delay));
      });
    }).listen(0, "127.0.0.1", function () {
      fs.writeFileSync(urlFile + ".tmp", "http://127.0.0.1:" + this.address().port);
      fs.renameSync(urlFile + ".tmp", urlFile);
    });' "$delay" "$work/slow.url" "$work/slow.hit"
  target=$spawned_url/mcp
}

# Recording proxy (node) in front of $cp_direct: forwards every request
# (Host set to the upstream's) and appends "METHOD PATH INSTANCE_ID" to
# $work/requests.txt.
# Sets $agent_cp to its URL.
start_recording_proxy() {
  spawn proxy "recording proxy" "$node_bin" -e '
    const http = require("http"), fs = require("fs");
    const [upstream, urlFile, logFile] = process.argv.slice(1);
    const up = new URL(upstream);
    http.createServer((req, res) => {
      const id = req.headers["x-tunnel-client-instance-id"] ?? "-";
      fs.appendFileSync(logFile, `${req.method} ${req.url.split("?")[0]} ${id}\n`);
      // Host names the upstream, as a reverse proxy sets it by default
      // (the control plane refuses a Host that does not name it).
      const fwd = http.request({ host: up.hostname, port: up.port, method: req.method,
                                 path: req.url, headers: { ...req.headers, host: up.host } }, (r) => {
        res.writeHead(r.statusCode, r.headers);
        r.pipe(res);
      });
      fwd.on("error", () => res.destroy());
      req.pipe(fwd);
    }).listen(0, "127.0.0.1", function () {
      fs.writeFileSync(urlFile + ".tmp", "http://127.0.0.1:" + this.address().port);
      fs.renameSync(urlFile + ".tmp", urlFile);
    });' "$cp_direct" "$work/proxy.url" "$work/requests.txt"
  agent_cp=$spawned_url
}

# mcp METHOD NAME BODY [curl args...]: call the ingress (channel path in
# $mcp_path, default none); body to $work/NAME.body, headers to
# $work/NAME.hdr; prints the status.
mcp() {
  local method=$1 name=$2 body=$3
  shift 3
  local data=()
  [[ -n $body ]] && data=(-H 'Content-Type: application/json' --data-binary "$body")
  "$curl_bin" -sS --max-time 30 -X "$method" "${data[@]}" "$@" \
    -D "$work/$name.hdr" -o "$work/$name.body" -w '%{http_code}' \
    "$cp_direct/v1/mcp/$tid${mcp_path:-}" 2>"$work/$name.curlerr" ||
    fail "$name: curl failed: $(cat "$work/$name.curlerr")"
}

# dev_get, set_faults, inject, cp_stat, tool_call and jq_check: see
# tests/lib/common.sh ($cp is $cp_direct).

# rpc_cmd REQUEST_ID ID TIMEOUT_MEMBER: a jsonrpc tools/call echo command on
# main; TIMEOUT_MEMBER is e.g. '"response_timeout":"30s",' or ''.
rpc_cmd() {
  printf '{"request_id":"%s",%s"command_type":"jsonrpc","channel":"main","headers":{},"jsonrpc":%s}' \
    "$1" "$3" "$(tool_call "$2" echo '{"input":"injected"}')"
}

# wait_responses FILTER WHAT: poll /_dev/responses (10s) until the jq FILTER
# yields true on it.
wait_responses() {
  local i
  for ((i = 0; i < 200; i++)); do
    dev_get responses >"$work/r.json"
    [[ $("$jq_bin" -r "$1" "$work/r.json") == true ]] && return 0
    sleep 0.05
  done
  fail "$2 (jq '$1' on /_dev/responses: $(head -c 600 "$work/r.json"))"
}

# finish: contract validation of everything posted, no duplicate terminal
# response, then SIGTERM -> exit 0.
finish() {
  dev_get responses >"$work/responses.json"
  "$node_bin" "$contract_dir/validate.mjs" "$work/responses.json" >"$work/validate.log" 2>&1 ||
    fail "posted bodies do not match the contract: $(cat "$work/validate.log")"
  [[ $(cp_stat .duplicate_terminal_responses) == 0 ]] ||
    fail "a request got more than one terminal response: $(dev_get stats)"
  stop_services
}

# stop_services: the agent, then the control plane and the stub, each by
# SIGTERM with exit status 0.
stop_services() {
  stop_agent
  stop_pid "$cp_pid" "dev control-plane"
  [[ -z $stub_pid ]] || stop_pid "$stub_pid" "dev mcp-stub"
}

start_all() { # [control-plane flags...]
  start_stub
  start_cp "$@"
  start_agent
}

case $case_name in
e2e_echo)
  start_all
  # An idle agent sees 204s (poll timeout 1s) and keeps polling.
  wait_stat '.polls_empty >= 1' "no empty poll (204) while idle"
  code=$(mcp POST echo "$(tool_call 42 echo '{"input":"hello e2e"}')")
  [[ $code == 200 ]] || fail "echo: status $code, want 200"
  jq_check "$work/echo.body" '.jsonrpc == "2.0" and .id == 42 and
    .result.structuredContent.echoed == "hello e2e"' "echo result"
  grep -qi '^content-type: application/json' "$work/echo.hdr" || fail "echo reply is not JSON"
  dev_get responses >"$work/r.json"
  jq_check "$work/r.json" 'length == 1 and .[0].resp_type == "jsonrpc_response" and
    .[0].resp_code == 200 and .[0].channel == "main" and
    (.[0].request_id | startswith("devreq_")) and .[0].resp_json.id == 42' "posted body"
  ;;

e2e_sse_progress)
  start_all
  code=$(mcp POST sse "$(tool_call 7 echo '{"input":"streamed","progress":5,"stream":true}')" \
    -H 'Accept: application/json, text/event-stream')
  [[ $code == 200 ]] || fail "status $code, want 200"
  grep -qi '^content-type: text/event-stream' "$work/sse.hdr" || fail "reply is not an SSE stream"
  sed -n 's/^data: //p' "$work/sse.body" | "$jq_bin" -s . >"$work/events.json" ||
    fail "SSE data lines are not JSON"
  jq_check "$work/events.json" 'length == 6 and
    ([.[0:5][] | .method == "notifications/progress"] | all) and
    ([.[0:5][] | .params.progress] == [1,2,3,4,5]) and
    (.[5].id == 7 and .[5].result.structuredContent.echoed == "streamed")' \
    "five progress events, then the result"
  dev_get responses >"$work/r.json"
  jq_check "$work/r.json" '[.[].resp_type] == ["jsonrpc_notify","jsonrpc_notify",
    "jsonrpc_notify","jsonrpc_notify","jsonrpc_notify","jsonrpc_response"] and
    ([.[].request_id] | unique | length) == 1' "notify posts precede the terminal response"
  ;;

e2e_notification_ack)
  start_all
  code=$(mcp POST note '{"jsonrpc":"2.0","method":"notifications/initialized"}')
  [[ $code == 202 ]] || fail "notification: status $code, want 202"
  [[ ! -s $work/note.body ]] || fail "notification reply has a body"
  dev_get responses >"$work/r.json"
  jq_check "$work/r.json" 'length == 1 and .[0].resp_type == "notify_ack" and
    .[0].resp_code == 202 and (.[0].resp_json == null)' "one notify_ack without resp_json"
  ;;

e2e_session_termination)
  start_all
  code=$(mcp POST init '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"e2e","version":"1"}}}')
  [[ $code == 200 ]] || fail "initialize: status $code"
  sid=$(sed -n 's/^[Mm]cp-[Ss]ession-[Ii]d: *\([0-9a-f]*\).*/\1/p' "$work/init.hdr")
  [[ $sid =~ ^[0-9a-f]{32}$ ]] || fail "initialize reply has no Mcp-Session-Id"
  code=$(mcp POST call "$(tool_call 2 uppercase '{"input":"abc"}')" -H "Mcp-Session-Id: $sid")
  [[ $code == 200 ]] || fail "call in the session: status $code"
  code=$(mcp DELETE del '' -H "Mcp-Session-Id: $sid")
  [[ $code == 204 ]] || fail "DELETE: status $code, want 204 from the stub"
  code=$(mcp DELETE del2 '' -H "Mcp-Session-Id: $sid")
  [[ $code == 404 ]] || fail "second DELETE: status $code, want 404 (session gone)"
  dev_get responses >"$work/r.json"
  jq_check "$work/r.json" '[.[] | select(.resp_type == "session_termination_response") |
    .resp_code] == [204, 404]' "two session_termination_responses (204, 404)"
  ;;

e2e_unknown_channel)
  start_all
  mcp_path=/nochannel
  code=$(mcp POST chan "$(tool_call 5 echo '{"input":"x"}')")
  [[ $code == 400 ]] || fail "unknown channel: status $code, want 400"
  grep -q 'unsupported channel' "$work/chan.body" || fail "reply does not say unsupported channel"
  jq_check "$work/chan.body" '.id == 5 and .error.code == -32603' "JSON-RPC error for id 5"
  grep -q '"structuredContent"' "$work/chan.body" && fail "the stub answered (fallback to main?)"
  dev_get responses >"$work/r.json"
  jq_check "$work/r.json" 'length == 1 and .[0].channel == "nochannel" and .[0].resp_code == 400' \
    "one 400 posted on channel nochannel"
  ;;

e2e_invalid_jsonrpc)
  start_all
  # Not a JSON object: the ingress refuses it; nothing is queued.
  code=$(mcp POST notjson '[1,2')
  [[ $code == 400 ]] || fail "malformed body: status $code, want 400 from the ingress"
  [[ $(cp_stat .commands_queued) == 0 ]] || fail "a malformed body was queued"
  # A JSON object that is not JSON-RPC reaches the agent: -32600 (id null).
  code=$(mcp POST noversion '{"foo":1}')
  [[ $code == 400 ]] || fail "non-JSON-RPC object: status $code, want 400"
  jq_check "$work/noversion.body" '.jsonrpc == "2.0" and .id == null and .error.code == -32600' \
    "-32600 with id null"
  # An id but neither method nor result: -32600 keeps the id.
  code=$(mcp POST nomethod '{"jsonrpc":"2.0","id":10}')
  [[ $code == 400 ]] || fail "no method: status $code, want 400"
  jq_check "$work/nomethod.body" '.id == 10 and .error.code == -32600' "-32600 with id 10"
  ;;

e2e_poll_retry_after)
  start_stub
  start_cp
  # 503 with Retry-After in seconds, then 429 with an HTTP-date 3 s ahead:
  # no poll (so no answer) may come before that instant.
  when_s=$(($(date +%s) + 3))
  when=$(date -u -d "@$when_s" '+%a, %d %b %Y %H:%M:%S GMT')
  set_faults "{\"poll\":[{\"status\":503,\"retry_after\":\"1\"},{\"status\":429,\"retry_after\":\"$when\"}]}"
  start_agent
  code=$(mcp POST echo "$(tool_call 3 echo '{"input":"after faults"}')")
  t1=$(now_ms)
  [[ $code == 200 ]] || fail "call after poll faults: status $code"
  jq_check "$work/echo.body" '.result.structuredContent.echoed == "after faults"' "echo result"
  [[ $(cp_stat .faults_served) == 2 ]] || fail "want both poll faults served: $(dev_get stats)"
  ((t1 >= when_s * 1000)) ||
    fail "served $((when_s * 1000 - t1))ms before the Retry-After date: not honoured"
  grep -q 'ERROR' "$work/agent.log" && fail "a retryable poll status was logged as an error"
  ;;

e2e_response_retry)
  start_all
  # 429 + Retry-After: 1, then 502 without one: the POST is retried, the
  # MCP call is not replayed, one terminal response lands.
  set_faults '{"response":[{"status":429,"retry_after":"1"},{"status":502}]}'
  t0=$(now_ms)
  code=$(mcp POST echo "$(tool_call 4 echo '{"input":"retried"}')")
  t1=$(now_ms)
  [[ $code == 200 ]] || fail "call with response faults: status $code"
  jq_check "$work/echo.body" '.id == 4 and .result.structuredContent.echoed == "retried"' "echo result"
  ((t1 - t0 >= 1000)) || fail "answered after $((t1 - t0))ms: Retry-After: 1 not honoured"
  wait_completed 1 "the agent did not finish the command"
  dev_get stats >"$work/stats.json"
  jq_check "$work/stats.json" '.faults_served == 2 and .responses.jsonrpc_response == 1 and
    .responses_rejected == 0 and .duplicate_terminal_responses == 0' "one terminal response"
  ;;

e2e_response_404)
  start_all --response-timeout 3s
  # 404 on the POST is terminal: no retry, so the ingress times out.
  set_faults '{"response":[{"status":404}]}'
  code=$(mcp POST echo "$(tool_call 6 echo '{"input":"lost"}')")
  [[ $code == 504 ]] || fail "status $code, want 504 (the only post got 404)"
  # The agent says it stops at the 404 and finishes the command: a retried
  # post cannot follow.
  wait_log "$work/agent.log" 'answered 404.*not retrying' "the agent did not report the 404"
  wait_completed 1 "the agent did not finish the command"
  dev_get stats >"$work/stats.json"
  jq_check "$work/stats.json" '.faults_served == 1 and .responses.jsonrpc_response == 0 and
    .responses_rejected == 0' "no retry after a 404"
  ;;

e2e_deadline_expired)
  # response_timeout 1s vs. a target that needs 3s: the call is cancelled
  # at the deadline and nothing is posted, not even late.
  start_slow_target 3000
  start_cp --response-timeout 1s
  start_agent
  t0=$(now_ms)
  code=$(mcp POST slow "$(tool_call 8 echo '{"input":"slow"}')")
  t1=$(now_ms)
  [[ $code == 504 ]] || fail "status $code, want 504 from the ingress"
  [[ -s $work/slow.hit ]] || fail "the target was never called"
  ((t1 - t0 < 2500)) || fail "ingress answered after $((t1 - t0))ms"
  # Once the agent counts the command done, no late post can follow; a post
  # at any time before that shows up below. (A post started just before the
  # deadline is cut off at it: counted post_failed, nothing recorded.)
  wait_completed 1 "the agent did not finish the command"
  [[ $(dev_get responses | "$jq_bin" length) == 0 ]] || fail "a response was posted after the deadline"
  [[ $(cp_stat .responses_rejected) == 0 ]] || fail "a late post was attempted"
  ;;

e2e_instance_id)
  start_stub
  start_cp
  start_recording_proxy
  start_agent
  for i in 1 2 3; do
    code=$(mcp POST "c$i" "$(tool_call "$i" echo '{"input":"id"}')")
    [[ $code == 200 ]] || fail "call $i: status $code"
  done
  wait_completed 3 "the agent did not finish the three calls"
  ids=$(awk '{print $3}' "$work/requests.txt" | sort -u)
  [[ $(wc -l <<<"$ids") == 1 ]] || fail "instance ids differ across requests: $ids"
  [[ $ids =~ ^[0-9a-f]{32}$ ]] || fail "instance id '$ids' is not 32 lowercase hex"
  [[ $(grep -c "^POST /v1/tunnels/$tid/response " "$work/requests.txt") -ge 3 ]] ||
    fail "the proxy saw fewer than 3 response posts"
  grep -q "^GET /v1/tunnels/$tid/poll " "$work/requests.txt" || fail "the proxy saw no poll"
  # A second agent process gets a different id.
  first=$ids
  stop_agent
  # The old agent's last long poll may still be open at the control plane
  # (through the proxy, until its 1 s timeout); a command handed to it
  # would be lost, so wait until no poll is parked there.
  wait_stat '.polls_waiting == 0' "the old agent's poll is still waiting at the control plane"
  : >"$work/requests.txt"
  rm -f "$work/health.url"
  start_agent
  code=$(mcp POST c4 "$(tool_call 4 echo '{"input":"id"}')")
  [[ $code == 200 ]] || fail "call to the second agent: status $code"
  second=$(awk '{print $3}' "$work/requests.txt" | sort -u)
  [[ $second =~ ^[0-9a-f]{32}$ && $second != "$first" ]] ||
    fail "second process id '$second' (first '$first')"
  ;;

e2e_sigterm_drain)
  # SIGTERM while the target is still working: the call completes, its
  # response is posted, the agent exits 0.
  start_slow_target 2000
  start_cp
  start_agent
  mcp POST slow "$(tool_call 9 echo '{"input":"drain"}')" >"$work/slow.code" &
  call_pid=$!
  for ((i = 0; i < 100; i++)); do
    [[ -s $work/slow.hit ]] && break
    sleep 0.05
  done
  [[ -s $work/slow.hit ]] || fail "the call did not reach the target within 5s"
  t0=$(now_ms)
  stop_agent
  t1=$(now_ms)
  wait "$call_pid"
  [[ $(cat "$work/slow.code") == 200 ]] || fail "in-flight call: status $(cat "$work/slow.code"), want 200"
  jq_check "$work/slow.body" '.id == 9 and .result.content[0].text == "slow"' "the slow result"
  ((t1 - t0 >= 1000)) || fail "agent exited $((t1 - t0))ms after SIGTERM: did not wait for the call"
  dev_get responses >"$work/responses.json"
  jq_check "$work/responses.json" 'length == 1 and .[0].resp_code == 200' "one posted response"
  "$node_bin" "$contract_dir/validate.mjs" "$work/responses.json" >"$work/validate.log" 2>&1 ||
    fail "posted body does not match the contract: $(cat "$work/validate.log")"
  stop_pid "$cp_pid" "dev control-plane"
  echo "ok [$case_name]"
  exit 0
  ;;

e2e_concurrent)
  start_all
  export -f mcp tool_call fail
  export work cp_direct tid curl_bin mcp_path=
  seq 1 50 | xargs -P 10 -I{} bash -c '
    code=$(mcp POST "c{}" "$(tool_call {} echo "{\"input\":\"msg-{}\"}")")
    [[ $code == 200 ]] || { echo "call {}: status $code" >"$work/c{}.err"; exit 1; }' ||
    fail "some concurrent calls failed: $(cat "$work"/*.err 2>/dev/null)"
  for i in $(seq 1 50); do
    [[ $("$jq_bin" -r '"\(.id) \(.result.structuredContent.echoed)"' "$work/c$i.body") == "$i msg-$i" ]] ||
      fail "call $i got $(cat "$work/c$i.body")"
  done
  dev_get stats >"$work/stats.json"
  jq_check "$work/stats.json" '.responses.jsonrpc_response == 50 and .commands_delivered == 50 and
    .pending == 0' "50 terminal responses"
  rm -f "$work"/c*.body
  ;;

e2e_deadline_variants)
  # Five injected commands differing only in response_timeout: "0s" is
  # expired at receipt (target never called, nothing posted); a valid one,
  # a malformed one ("abc" = no deadline), null and absent are answered.
  start_slow_target 0
  start_cp
  start_agent
  inject "[$(rpc_cmd dl-0s 100 '"response_timeout":"0s",'),
    $(rpc_cmd dl-30s 101 '"response_timeout":"30s",'),
    $(rpc_cmd dl-abc 102 '"response_timeout":"abc",'),
    $(rpc_cmd dl-null 103 '"response_timeout":null,'),
    $(rpc_cmd dl-absent 104 '')]"
  wait_responses 'length >= 4' "four answered commands"
  # All five done (dl-0s dropped at receipt): a post for dl-0s cannot follow.
  wait_completed 5 "the agent did not finish the five commands"
  dev_get responses >"$work/r.json"
  jq_check "$work/r.json" '([.[].request_id] | sort) == ["dl-30s","dl-abc","dl-absent","dl-null"]
    and all(.[]; .resp_type == "jsonrpc_response" and .resp_code == 200 and
      .resp_json.id == {"dl-30s":101,"dl-abc":102,"dl-null":103,"dl-absent":104}[.request_id])' \
    "exactly the four non-expired commands answered, with their ids"
  [[ $(sort "$work/slow.hit" | tr '\n' ' ') == "hit 101 hit 102 hit 103 hit 104 " ]] ||
    fail "target calls: $(tr '\n' ' ' <"$work/slow.hit"), want ids 101..104 only (never 100)"
  [[ $(cp_stat '.commands_delivered == 5 and .responses_rejected == 0') == true ]] ||
    fail "want 5 commands delivered, no rejected post: $(dev_get stats)"
  ;;

e2e_command_headers)
  # A command straight from the service (injected: the ingress has its own
  # blocklist) with hop-by-hop and other headers no transport may pass on:
  # the MCP server sees none of them, and every other header as sent.
  start_all
  origin=${target%/mcp} # forwarded: the stub's own Origin check decides
  hdrs='{"Connection":["keep-alive, X-Hop-A"],"X-Hop-A":["1"],"Keep-Alive":["timeout=5"],
    "TE":["trailers"],"Upgrade":["h2c"],"Proxy-Authorization":["Basic cHJveHk6c2VjcmV0"],
    "Proxy-Connection":["keep-alive"],"Expect":["100-continue"],"Cookie":["sid=secret"],
    "X-Forwarded-For":["203.0.113.9"],"Forwarded":["for=203.0.113.9"],"X-Real-IP":["203.0.113.9"],
    "Accept-Encoding":["gzip"],"Content-Type":["text/plain"],"Transfer-Encoding":["chunked"],
    "Authorization":["Bearer tok-1"],"Mcp-Protocol-Version":["2025-06-18"],
    "Origin":["'"$origin"'"],"X-Custom":["c1"]}'
  inject "[{\"request_id\":\"hdr-1\",\"command_type\":\"jsonrpc\",\"channel\":\"main\",
    \"headers\":$hdrs,\"jsonrpc\":$(tool_call 300 echo '{"input":"headers"}')}]"
  wait_responses 'any(.[]; .request_id == "hdr-1")' "the command answered"
  jq_check "$work/r.json" '.[] | select(.request_id == "hdr-1") | .resp_code == 200 and
    .resp_json.result.structuredContent.echoed == "headers"' "the call went through"
  "$curl_bin" -sS --max-time 10 "${target%/mcp}/_stub/last-headers" >"$work/seen.json" ||
    fail "GET /_stub/last-headers"
  jq_check "$work/seen.json" '[.headers[][0] | ascii_downcase] as $n |
    ($n - ["x-hop-a","keep-alive","te","upgrade","proxy-authorization","proxy-connection",
      "expect","cookie","x-forwarded-for","forwarded","x-real-ip","accept-encoding",
      "transfer-encoding"]) == $n' "no stripped header reached the MCP server"
  jq_check "$work/seen.json" '[.headers[] | select(.[0] | ascii_downcase == "connection") |
    .[1] | ascii_downcase | select(test("x-hop-a"))] == []' "no Connection value of the caller"
  jq_check "$work/seen.json" '.headers as $h | [["authorization","Bearer tok-1"],
    ["mcp-protocol-version","2025-06-18"],["origin","'"$origin"'"],["x-custom","c1"],
    ["content-type","application/json"]] | all(. as $w | $h | any(.[0] | ascii_downcase == $w[0]) and
    any((.[0] | ascii_downcase) == $w[0] and .[1] == $w[1]))' \
    "the other headers passed as sent (Content-Type the agent's own)"
  ;;

e2e_unknown_command_type)
  # A command_type the agent does not know is skipped (nothing posted,
  # logged with its request id); the agent keeps serving.
  start_all
  inject "[{\"request_id\":\"uc-bogus\",\"command_type\":\"bogus\",\"channel\":\"main\",
    \"headers\":{},\"jsonrpc\":$(tool_call 200 echo '{"input":"bogus"}')},
    $(rpc_cmd uc-normal 201 '"response_timeout":"30s",')]"
  wait_responses 'any(.[]; .request_id == "uc-normal")' "the normal command answered"
  code=$(mcp POST after "$(tool_call 202 echo '{"input":"still serving"}')")
  [[ $code == 200 ]] || fail "call after the bogus command: status $code"
  jq_check "$work/after.body" '.id == 202 and .result.structuredContent.echoed == "still serving"' \
    "echo after the bogus command"
  dev_get responses >"$work/r.json"
  jq_check "$work/r.json" 'length == 2 and all(.[]; .request_id != "uc-bogus") and
    (.[] | select(.request_id == "uc-normal") | .resp_code == 200 and .resp_json.id == 201)' \
    "nothing posted for the bogus command"
  grep -q 'uc-bogus' "$work/agent.log" || fail "the skipped command's request id is not logged"
  kill -0 "$agent_pid" 2>/dev/null || fail "the agent exited"
  ;;

e2e_poll_batching)
  # 10 commands at once against max-inflight 3 and one worker: every poll
  # asks for 1..3, several polls are needed, each command answered once.
  start_slow_target 200
  start_cp
  agent_args=(--control-plane.max-inflight 3 --mcp.max-concurrent-requests 1)
  start_agent
  cmds=
  for i in $(seq 1 10); do
    cmds+="${cmds:+,}$(rpc_cmd "pb-$i" "$((300 + i))" '"response_timeout":"60s",')"
  done
  inject "[$cmds]"
  wait_responses 'length >= 10' "ten responses"
  wait_completed 10 "the agent did not finish the ten commands"
  dev_get responses >"$work/r.json"
  jq_check "$work/r.json" 'length == 10 and ([.[].request_id] | sort) ==
    ([range(1;11) | "pb-\(.)"] | sort) and
    all(.[]; .resp_type == "jsonrpc_response" and .resp_code == 200 and
      .resp_json.id == 300 + (.request_id | ltrimstr("pb-") | tonumber))' \
    "each of the 10 commands answered exactly once with its id"
  dev_get stats >"$work/stats.json"
  jq_check "$work/stats.json" '(.poll_limits | length) >= 4 and
    all(.poll_limits[]; type == "number" and . >= 1 and . <= 3)' \
    "every poll limit within 1..max-inflight (3)"
  jq_check "$work/stats.json" '.polls - .polls_empty >= 4 and .commands_delivered == 10 and
    .redeliveries == 0 and .pending == 0' "at least ceil(10/3) polls delivered commands"
  ;;

*)
  echo "unknown case $case_name" >&2
  exit 2
  ;;
esac
finish
echo "ok [$case_name]"
