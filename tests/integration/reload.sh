#!/usr/bin/env bash
# Configuration reload (SIGHUP) against real processes on 127.0.0.1:
# `dev control-plane`, `tunnel-client run --profile-file P`, and small MCP
# servers (reload_target.mjs, HTTP and stdio) that name themselves and
# their pid in every answer and can hold a call until the test releases it.
# Each case edits the profile, sends SIGHUP and checks what changed, what
# did not, and that calls in flight across the reload are answered once,
# by the server they started on.
#
# usage: reload.sh CASE TUNNEL_CLIENT_BINARY
#
# Cases end with SIGTERM: the agent must exit 0 (a sanitizer report makes
# it non-zero), and the control plane must have seen no duplicate terminal
# response (reload_terminal_hangup ends the agent with a hang-up instead).
set -uo pipefail

case_name=${1:?case}
bin=${2:?tunnel-client binary}
tid=tunnel_22222222222222222222222222222222
key=local-tunnel-client-dev-proxy
auth="Authorization: Bearer $key"

# shellcheck source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
init_work tc-reload
fail_logs=('*.log' '*.yaml' 'status.json')
fail_tail=40
target_js=$(cd "$(dirname "$0")" && pwd)/reload_target.mjs
need_tools "$jq_bin" "$node_bin" "$curl_bin"

agent_pid=
bg_pids=()
declare -A url

start_cp() {
  # Any port on 127.0.0.1: some cases put a recording proxy in front of it,
  # which forwards the agent's Host (the proxy's port).
  spawn cp "dev control-plane" env -i PATH="$PATH" HOME="$work" "$bin" dev control-plane \
    --listen 127.0.0.1:0 --url-file "$work/cp.url" --allowed-hosts 127.0.0.1
  cp=$spawned_url
  agent_cp=$cp
}

# start_target NAME: an HTTP MCP server answering "NAME pid=..."; its URL
# (with /mcp) in url[NAME].
start_target() {
  spawn "t_$1" "target $1" "$node_bin" "$target_js" http "$1" "$work/t_$1.url" \
    "$work/calls.log" "$work/release"
  url[$1]=$spawned_url/mcp
}

# stdio_cmd NAME: the command line of a stdio MCP server named NAME.
stdio_cmd() { echo "$node_bin $target_js stdio $1 $work/calls.log $work/release"; }

# write_profile: the profile from $api_key_yaml (the API key; by default a
# file: reference to $work/key), $cp_more (extra lines under
# control_plane:) and the YAML on stdin (the rest), written atomically.
printf '%s\n' "$key" >"$work/key"
api_key_yaml="file:$work/key"
cp_more=
write_profile() {
  {
    printf 'control_plane:\n  base_url: %s\n  tunnel_id: %s\n  poll_timeout: 1s\n' \
      "$agent_cp" "$tid"
    printf '  api_key: %s\n' "$api_key_yaml"
    [[ -n $cp_more ]] && printf '%s\n' "$cp_more"
    printf 'health:\n  listen_addr: 127.0.0.1:0\n  url_file: %s\n' "$work/health.url"
    cat
  } >"$work/p.yaml.tmp" && mv "$work/p.yaml.tmp" "$work/p.yaml"
}

# start_agent: `run --profile-file` in the background (no key in the
# environment: the profile names it).
start_agent() {
  env -i PATH="$PATH" HOME="$work" "$bin" run \
    --profile-file "$work/p.yaml" >"$work/agent.log" 2>&1 &
  agent_pid=$!
  pids+=("$agent_pid")
  wait_file "$work/health.url" "$agent_pid" "tunnel-client run"
  health=$(cat "$work/health.url")
}

stop_agent() {
  local b
  for b in "${bg_pids[@]}"; do wait "$b" 2>/dev/null; done
  bg_pids=()
  stop_pid "$agent_pid" "tunnel-client run"
  [[ $(cp_stat .duplicate_terminal_responses) == 0 ]] ||
    fail "a request got more than one terminal response: $(dev_get stats)"
}

api() { "$curl_bin" -sS --max-time 10 "$health$1" || fail "GET $1 failed"; }

# metric LINE: /metrics has a line starting with LINE (read whole first:
# grep -q would cut curl's output short).
metric() {
  api /metrics >"$work/metrics.txt"
  grep -q "^$1" "$work/metrics.txt"
}

# attempts: reloads so far (ok + error), from /metrics.
attempts() {
  api /metrics | awk '/^tunnel_client_config_reloads_total\{/ {n += $2} END {print n + 0}'
}

# reload: SIGHUP, then wait (10 s) until the attempt is counted; the
# status is left in $work/status.json.
reload() {
  local before i
  before=$(attempts)
  kill -HUP "$agent_pid" || fail "the agent is not running"
  for ((i = 0; i < 200; i++)); do
    if [[ $(attempts) != "$before" ]]; then
      api /api/status >"$work/status.json"
      return 0
    fi
    kill -0 "$agent_pid" 2>/dev/null || fail "the agent died on SIGHUP"
    sleep 0.05
  done
  fail "no reload counted within 10s of SIGHUP"
}

# wait_for WHAT CMD...: up to 10 s for CMD to succeed.
wait_for() {
  local what=$1 i
  shift
  for ((i = 0; i < 200; i++)); do
    "$@" && return 0
    sleep 0.05
  done
  fail "$what (waited 10s)"
}

# call_bg ID CHANNEL [hold]: a tools/call through the tunnel in the
# background, tagged ID; status and body to $work/ID.code / ID.body.
call_bg() {
  local hold=false path=
  [[ ${3:-} == hold ]] && hold=true
  [[ $2 != main ]] && path=/$2
  local body
  body=$(printf '{"jsonrpc":"2.0","id":"%s","method":"tools/call","params":{"name":"who","arguments":{"tag":"%s","hold":%s}}}' \
    "$1" "$1" "$hold")
  "$curl_bin" -sS --max-time 60 -X POST -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' --data-binary "$body" \
    -o "$work/$1.body" -w '%{http_code}' "$cp/v1/mcp/$tid$path" \
    >"$work/$1.code" 2>"$work/$1.err" &
  bg_pids+=($!)
}

# call ID CHANNEL: call_bg and wait for it.
call() {
  call_bg "$1" "$2"
  wait "${bg_pids[-1]}"
}

# arrived TAG: the target logged the call (it is in flight there).
arrived() { grep -q "\"tag\":\"$1\"" "$work/calls.log" 2>/dev/null; }

# answered_by ID SERVER [PID]: the call got 200 from SERVER (and PID).
answered_by() {
  local code
  code=$(cat "$work/$1.code" 2>/dev/null)
  [[ $code == 200 ]] || fail "call $1: status '$code', want 200 ($(cat "$work/$1.err" "$work/$1.body" 2>/dev/null))"
  grep -q "\"$2 pid=${3:-}" "$work/$1.body" || fail "call $1 not answered by $2${3:+ pid $3}: $(cat "$work/$1.body")"
}

# pid_of ID: the server pid named in call ID's answer.
pid_of() { grep -o 'pid=[0-9]*' "$work/$1.body" | head -1 | cut -d= -f2; }

# once TAG: the servers saw call TAG exactly once (no retry, no duplicate).
once() {
  local n
  n=$(grep -c "\"tag\":\"$1\"" "$work/calls.log")
  [[ $n == 1 ]] || fail "call $1 reached the servers $n times, want 1"
}

release() { : >"$work/release"; }

status_is() { jq_check "$work/status.json" "$1" "$2"; }

case $case_name in
reload_channels)
  # main unchanged, alt moved to another server, gone removed, extra added,
  # with a call held in flight on each of the first three.
  start_cp
  for t in A B C D G; do start_target "$t"; done
  write_profile <<EOF
mcp:
  server_urls:
    - ${url[A]}
    - channel=alt,url=${url[B]}
    - channel=gone,url=${url[G]}
EOF
  start_agent
  wait_for "agent not ready" bash -c "[[ \$($curl_bin -s -o /dev/null -w '%{http_code}' $health/readyz) == 200 ]]"
  call_bg held-main main hold
  call_bg held-alt alt hold
  call_bg held-gone gone hold
  wait_for "held calls did not reach their servers" \
    bash -c "grep -q held-main $work/calls.log && grep -q held-alt $work/calls.log && grep -q held-gone $work/calls.log" 2>/dev/null
  write_profile <<EOF
mcp:
  server_urls:
    - ${url[A]}
    - channel=alt,url=${url[C]}
    - channel=extra,url=${url[D]}
EOF
  reload
  status_is '.reload.ok == true and .reload.generation == 1 and .reload.error == null' "reload ok"
  status_is '.reload.channels == {"added":["extra"],"removed":["gone"],"changed":["alt"]}' \
    "channel changes in /api/status"
  # auth-oauth reads the URL list once, for OAuth discovery of main.
  status_is '.reload.applied == ["mcp.server_urls"] and .reload.needs_restart == ["mcp.server_urls (module auth-oauth)"]' \
    "applied settings in /api/status"
  grep -q 'configuration reloaded.*channels_added=extra.*channels_removed=gone.*channels_changed=alt' \
    "$work/agent.log" || fail "no reload summary line"
  # New calls: the new set.
  call new-alt alt
  answered_by new-alt C
  call new-extra extra
  answered_by new-extra D
  call new-main main
  answered_by new-main A
  call new-gone gone
  [[ $(cat "$work/new-gone.code") == 400 ]] || fail "a removed channel answered $(cat "$work/new-gone.code"), want 400"
  grep -q 'unsupported channel' "$work/new-gone.body" || fail "removed channel: $(cat "$work/new-gone.body")"
  # The held calls finish where they started, once each.
  release
  for b in "${bg_pids[@]}"; do wait "$b"; done
  bg_pids=()
  answered_by held-main A
  answered_by held-alt B
  answered_by held-gone G
  for t in held-main held-alt held-gone new-alt new-extra new-main; do once "$t"; done
  wait_for "the replaced instances were not stopped after their last call" \
    bash -c "[[ \$(grep -c 'replaced transport instance stopped after its last call' $work/agent.log) == 2 ]]"
  # The ops surface shows the new set; extra had its startup probe.
  wait_for "extra had no startup probe" grep -q 'mcp startup probe ok.*channel=extra' "$work/agent.log"
  api /api/channels >"$work/channels.json"
  jq_check "$work/channels.json" '[.channels[].name] == ["main","alt","extra"]' "/api/channels after reload"
  jq_check "$work/channels.json" '[.channels[].probe] == ["ok","ok","ok"]' "probes after reload"
  jq_check "$work/channels.json" '.channels[1].requests_total == 2' "alt counters kept across the reload"
  [[ $("$curl_bin" -s -o /dev/null -w '%{http_code}' "$health/readyz") == 200 ]] || fail "not ready after reload"
  stop_agent
  ;;
reload_stdio_kept)
  # A stdio child survives a reload that does not change its command (same
  # pid); a new command starts a new child, a call held across that reload
  # is answered by the old one, which then ends.
  start_cp
  start_target H
  write_profile <<EOF
mcp:
  server_urls: [${url[H]}]
  commands:
    - channel=st,command=$(stdio_cmd one)
EOF
  start_agent
  call first st
  answered_by first one
  p1=$(pid_of first)
  write_profile <<EOF
mcp:
  server_urls: [${url[H]}]
  commands:
    - channel=st,command=$(stdio_cmd one)
  extra_headers:
    X-Reload-Test: hdr-v2
log:
  level: warn
  format: json
EOF
  reload
  status_is '.reload.ok and (.reload.applied | index("mcp.extra_headers")) != null' "header change applied"
  status_is '.reload.channels.changed == ["main"]' "only the HTTP channel got a new instance"
  call second st
  answered_by second one "$p1"
  kill -0 "$p1" 2>/dev/null || fail "the stdio child $p1 is gone after an unrelated reload"
  call_bg held st hold
  held_pid=${bg_pids[-1]}
  wait_for "held call did not reach the child" arrived held
  write_profile <<EOF
mcp:
  server_urls: [${url[H]}]
  commands:
    - channel=st,command=$(stdio_cmd two)
  extra_headers:
    X-Reload-Test: hdr-v2
log:
  level: warn
  format: json
EOF
  reload
  status_is '.reload.ok and .reload.channels.changed == ["st"]' "command change replaces the instance"
  call third st
  answered_by third two
  [[ $(pid_of third) != "$p1" ]] || fail "a new command kept the old child"
  kill -0 "$p1" 2>/dev/null || fail "the old child ended before its held call was answered"
  release
  wait "$held_pid"
  answered_by held one "$p1"
  wait_for "the old child $p1 did not end after its last call" bash -c "! kill -0 $p1 2>/dev/null"
  for t in first second held third; do once "$t"; done
  stop_agent
  ;;
reload_log_level)
  # log.level applies live in both directions; a level set through the
  # admin API survives a reload that does not touch log.level.
  start_cp
  for t in A B C; do start_target "$t"; done
  write_profile <<EOF
mcp:
  server_urls: [${url[A]}]
log:
  level: info
EOF
  start_agent
  write_profile <<EOF
mcp:
  server_urls: [${url[A]}]
log:
  level: debug
  format: struct-text
EOF
  reload
  status_is '.reload.ok and .log_level == "debug"' "log.level debug applied"
  write_profile <<EOF
mcp:
  server_urls:
    - ${url[A]}
    - channel=b,url=${url[B]}
log:
  level: debug
  format: struct-text
EOF
  reload
  grep -q 'level=DEBUG msg="transport started".*channel=b' "$work/agent.log" ||
    fail "no debug line once log.level is debug"
  write_profile <<EOF
mcp:
  server_urls:
    - ${url[A]}
    - channel=b,url=${url[B]}
log:
  level: info
EOF
  reload
  status_is '.reload.ok and .log_level == "info"' "log.level info applied"
  write_profile <<EOF
mcp:
  server_urls:
    - ${url[A]}
    - channel=b,url=${url[B]}
    - channel=c,url=${url[C]}
log:
  level: info
EOF
  reload
  ! grep -q 'transport started.*channel=c' "$work/agent.log" || fail "a debug line at level info"
  # The admin API's level survives an unrelated reload.
  "$curl_bin" -sS --max-time 5 -X PUT --data '{"level":"warn"}' "$health/api/log-level" >/dev/null ||
    fail "PUT /api/log-level failed"
  write_profile <<EOF
mcp:
  server_urls:
    - ${url[A]}
    - channel=b,url=${url[B]}
log:
  level: info
EOF
  reload
  status_is '.reload.ok and .log_level == "warn"' "admin API level kept by an unrelated reload"
  stop_agent
  ;;
reload_mcp_header)
  # The MCP server sees the new extra header on the next call.
  start_cp
  start_target A
  write_profile <<EOF
mcp:
  server_urls: [${url[A]}]
  extra_headers:
    X-Reload-Test: one
EOF
  start_agent
  call h1 main
  answered_by h1 A
  write_profile <<EOF
mcp:
  server_urls: [${url[A]}]
  extra_headers:
    X-Reload-Test: two
EOF
  reload
  status_is '.reload.ok and .reload.applied == ["mcp.extra_headers"]' "header change applied"
  call h2 main
  answered_by h2 A
  jq_check "$work/calls.log" 'select(.tag == "h1") | .x_reload_test == "one"' "first call header"
  jq_check "$work/calls.log" 'select(.tag == "h2") | .x_reload_test == "two"' "header after reload"
  ! grep -q '"two"' "$work/agent.log" || fail "a header value was logged"
  stop_agent
  ;;
reload_cp_header)
  # Control-plane requests (polls and response POSTs) carry the new extra
  # header after the reload: a recording proxy in front of the control
  # plane logs "METHOD PATH VALUE" per request.
  start_cp
  start_target A
  spawn rec "recording proxy" "$node_bin" -e '
    const http = require("http"), fs = require("fs");
    const [upstream, urlFile, logFile] = process.argv.slice(1);
    const up = new URL(upstream);
    http.createServer((req, res) => {
      fs.appendFileSync(logFile, `${req.method} ${req.url.split("?")[0]} ${req.headers["x-reload-test"] ?? "-"}\n`);
      const fwd = http.request({ host: up.hostname, port: up.port, method: req.method,
                                 path: req.url, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode, r.headers);
        r.pipe(res);
      });
      fwd.on("error", () => res.destroy());
      req.pipe(fwd);
    }).listen(0, "127.0.0.1", function () {
      fs.writeFileSync(urlFile + ".tmp", "http://127.0.0.1:" + this.address().port);
      fs.renameSync(urlFile + ".tmp", urlFile);
    });' "$cp" "$work/rec.url" "$work/requests.txt"
  agent_cp=$spawned_url
  cp_more=$'  extra_headers:\n    X-Reload-Test: c1'
  write_profile <<EOF
mcp:
  server_urls: [${url[A]}]
EOF
  start_agent
  wait_for "no poll with the first header" grep -q "poll c1" "$work/requests.txt"
  cp_more=$'  extra_headers:\n    X-Reload-Test: c2'
  write_profile <<EOF
mcp:
  server_urls: [${url[A]}]
EOF
  reload
  status_is '.reload.ok and .reload.applied == ["control_plane.extra_headers"]' "cp header applied"
  wait_for "no poll with the new header" grep -q "poll c2" "$work/requests.txt"
  call p1 main
  answered_by p1 A
  wait_for "the response POST lacks the new header" grep -q "/response c2" "$work/requests.txt"
  # Once the new header is sent, the old one never is again.
  awk '/ c2$/ {seen=1} seen && / c1$/ {bad=1} END {exit bad}' "$work/requests.txt" ||
    fail "a request after the reload carried the old header"
  stop_agent
  ;;
reload_invalid)
  # A profile that does not validate keeps the running configuration: one
  # ERROR line, the reason (secret-free) in /api/status, the metric at 0;
  # fixing it reloads normally.
  start_cp
  for t in A B; do start_target "$t"; done
  write_profile <<EOF
mcp:
  server_urls: [${url[A]}]
EOF
  start_agent
  write_profile <<EOF
mcp:
  server_urls: [${url[B]}]
  bogus_key: 1
EOF
  reload
  status_is '.reload.ok == false and .reload.generation == 0' "invalid profile refused"
  status_is '.reload.error | test("p.yaml:[0-9]+: unknown key \"mcp.bogus_key\"")' "reason in /api/status"
  grep -q 'ERROR configuration reload refused; the running configuration stays.*unknown key' \
    "$work/agent.log" || fail "no ERROR line for the refused reload"
  metric 'tunnel_client_config_last_reload_successful 0' ||
    fail "last_reload_successful is not 0"
  call still main
  answered_by still A
  # A secret that does not validate is never shown.
  api_key_yaml='"sk-canary-SECRET 42"'
  write_profile <<EOF
mcp:
  server_urls: [${url[B]}]
EOF
  reload
  status_is '.reload.ok == false and (.reload.error | test("API key.*malformed"))' "bad key refused"
  ! grep -q 'canary-SECRET' "$work/status.json" "$work/agent.log" || fail "the bad key value leaked"
  # A channel whose transport refuses the binding: nothing is swapped.
  api_key_yaml="file:$work/key"
  write_profile <<EOF
mcp:
  server_urls: [${url[B]}]
  commands:
    - channel=broken,command=/nonexistent/mcp-server
EOF
  reload
  status_is '.reload.ok == false and (.reload.error | test("channel \"broken\""))' "failed instance refuses the reload"
  call still2 main
  answered_by still2 A
  write_profile <<EOF
mcp:
  server_urls: [${url[B]}]
EOF
  reload
  status_is '.reload.ok and .reload.generation == 1 and .reload.channels.changed == ["main"]' "fixed profile reloads"
  metric 'tunnel_client_config_last_reload_successful 1' ||
    fail "last_reload_successful is not 1 after a good reload"
  metric 'tunnel_client_config_reloads_total{result="error"} 3' ||
    fail "reload errors not counted"
  call fixed main
  answered_by fixed B
  stop_agent
  ;;
reload_needs_restart)
  # Settings bound at start are named (log and /api/status) and keep their
  # running value: the listener stays where it is, the tunnel id too.
  start_cp
  start_target A
  write_profile <<EOF
mcp:
  server_urls: [${url[A]}]
EOF
  start_agent
  other=$(free_port)
  sed -e "s/tunnel_id: $tid/tunnel_id: tunnel_33333333333333333333333333333333/" \
    -e "s/listen_addr: 127.0.0.1:0/listen_addr: 127.0.0.1:$other/" \
    "$work/p.yaml" >"$work/p2.yaml" && mv "$work/p2.yaml" "$work/p.yaml"
  reload
  status_is '.reload.ok and .reload.needs_restart == ["control_plane.tunnel_id","health.listen_addr"] and .reload.applied == []' \
    "needs_restart in /api/status"
  for k in control_plane.tunnel_id health.listen_addr; do
    grep -q "WARN setting changed but applies only after a restart; the running value stays.*setting=$k" \
      "$work/agent.log" || fail "$k not named in the log"
  done
  status_is ".tunnel_id == \"$tid\"" "tunnel id kept"
  ! "$curl_bin" -s -o /dev/null "http://127.0.0.1:$other/healthz" || fail "a new listener appeared"
  call still main
  answered_by still A
  # Named again on the next reload: the process still runs the old values.
  reload
  status_is '.reload.needs_restart == ["control_plane.tunnel_id","health.listen_addr"]' "named again"
  stop_agent
  ;;
reload_key_file)
  # A rotated file: secret takes effect: a wrong key makes the control plane
  # refuse the polls (/readyz says so), the right one brings it back.
  start_cp
  start_target A
  write_profile <<EOF
mcp:
  server_urls: [${url[A]}]
EOF
  start_agent
  ready() { [[ $("$curl_bin" -s -o "$work/readyz.txt" -w '%{http_code}' "$health/readyz") == "$1" ]]; }
  wait_for "not ready with the right key" ready 200
  printf 'wrong-key-0000\n' >"$work/key"
  reload
  status_is '.reload.ok and .reload.applied == ["control_plane.api_key"]' "key change applied"
  wait_for "the rotated (wrong) key was not used" ready 503
  grep -q 'rejected the API key' "$work/readyz.txt" || fail "readyz: $(cat "$work/readyz.txt")"
  printf '%s\n' "$key" >"$work/key"
  reload
  wait_for "not ready again with the right key" ready 200
  call k main
  answered_by k A
  ! grep -q 'wrong-key-0000' "$work/agent.log" "$work/status.json" || fail "a key value leaked"
  stop_agent
  ;;
reload_signals)
  # SIGHUP during start-up and during shutdown never kills the agent. The
  # MCP server is not up yet and --mcp.startup-wait-timeout holds the
  # start-up until it is: SIGHUPs sent meanwhile wait, and are served as
  # one reload once the agent runs.
  start_cp
  late=$(free_port)
  write_profile <<EOF
mcp:
  server_urls: [http://127.0.0.1:$late/mcp]
  startup_wait_timeout: 30s
EOF
  env -i PATH="$PATH" HOME="$work" "$bin" run \
    --profile-file "$work/p.yaml" >"$work/agent.log" 2>&1 &
  agent_pid=$!
  pids+=("$agent_pid")
  # Every thread keeps SIGHUP blocked once `run` began (its first step);
  # the main thread's mask hides it while it waits in sigwaitinfo(), so
  # look at all of them.
  hup_blocked() {
    local blk
    for blk in $(awk '/^SigBlk:/ {print $2}' /proc/"$agent_pid"/task/*/status 2>/dev/null); do
      (((16#$blk & 1) != 0)) && return 0
    done
    return 1
  }
  wait_for "the agent never blocked SIGHUP" hup_blocked
  wait_file "$work/health.url" "$agent_pid" "tunnel-client run"
  health=$(cat "$work/health.url")
  wait_for "the agent is not waiting for the MCP server" \
    grep -q 'waiting for the MCP startup probe' "$work/agent.log"
  for i in 1 2 3; do
    kill -HUP "$agent_pid" || fail "the agent died on a SIGHUP during start-up"
    sleep 0.05
  done
  ! grep -q 'tunnel-client started' "$work/agent.log" || fail "start-up ended before the SIGHUPs"
  spawn t_A "target A" "$node_bin" "$target_js" http A "$work/t_A.url" \
    "$work/calls.log" "$work/release" "$late"
  wait_for "no reload after the start-up SIGHUPs" grep -q 'configuration reloaded' "$work/agent.log"
  [[ $(grep -c 'configuration reloaded' "$work/agent.log") == 1 ]] ||
    fail "pending SIGHUPs were not served as one reload"
  call_bg held main hold
  held_pid=${bg_pids[-1]}
  wait_for "held call did not reach the server" arrived held
  kill -TERM "$agent_pid"
  wait_for "no shutdown" grep -q 'shutting down signal=SIGTERM' "$work/agent.log"
  kill -HUP "$agent_pid" 2>/dev/null || fail "the agent died before the SIGHUP"
  sleep 0.2
  kill -0 "$agent_pid" 2>/dev/null || fail "SIGHUP during shutdown killed the agent"
  release
  wait "$held_pid"
  bg_pids=()
  answered_by held A
  await_exit "$agent_pid" 20 || fail "the agent did not exit after SIGTERM"
  [[ $rc == 0 ]] || fail "exit status $rc after SIGTERM (+SIGHUP), want 0"
  [[ $(grep -c 'configuration reloaded' "$work/agent.log") == 1 ]] ||
    fail "SIGHUP during shutdown reloaded"
  ;;
reload_terminal_hangup)
  # A SIGHUP from the kernel (the controlling terminal went away) is not a
  # reload request: the agent shuts down as on SIGTERM and exits 0.
  need_tools script
  start_cp
  start_target A
  write_profile <<EOF
mcp:
  server_urls: [${url[A]}]
EOF
  # script(1) gives the agent a pty as its controlling terminal; killing
  # script closes the pty master, and the kernel hangs the terminal up.
  env -i PATH="$PATH" HOME="$work" TERM=dumb \
    script -qfec "exec $bin run --profile-file $work/p.yaml >$work/agent.log 2>&1" /dev/null \
    >/dev/null 2>&1 &
  script_pid=$!
  pids+=("$script_pid")
  wait_file "$work/health.url" "$script_pid" "tunnel-client run (under script)"
  wait_for "no start line" grep -q 'tunnel-client started' "$work/agent.log"
  agent_pid=$(grep -o 'tunnel-client started.* pid=[0-9]*' "$work/agent.log" | grep -o '[0-9]*$')
  [[ -n $agent_pid ]] || fail "no pid in the start line"
  pids+=("$agent_pid")
  kill -KILL "$script_pid"
  wait_for "the agent did not stop after the hang-up" bash -c "! kill -0 $agent_pid 2>/dev/null"
  grep -q 'shutting down signal="SIGHUP (terminal hung up)"' "$work/agent.log" ||
    fail "the hang-up was not a shutdown"
  grep -q 'tunnel-client stopped' "$work/agent.log" || fail "no clean stop after the hang-up"
  # Its exit status went to script(1), which is gone: a sanitizer report
  # would be in the log.
  ! grep -qE 'Sanitizer|runtime error' "$work/agent.log" || fail "sanitizer report at exit"
  ! grep -q 'configuration reloaded' "$work/agent.log" || fail "the hang-up reloaded"
  ;;
*)
  fail "unknown case"
  ;;
esac
echo "PASS [$case_name]"
