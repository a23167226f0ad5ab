#!/usr/bin/env bash
# Ops surface tests: the real `tunnel-client run` with its ops listener on
# 127.0.0.1:0, beside `dev control-plane` and `dev mcp-stub` (or the
# probe-test fixture transport), driven with curl and checked with jq.
#
# usage: ops.sh CASE TUNNEL_CLIENT_BINARY PROBE_FIXTURE_SO
#
# Cases: listener_files, unix_socket, guards, probe_hosts,
# allowed_hosts_config, remote_peer, bad_requests,
# readyz_cp_down_then_up, readyz_cp_rejected, readyz_cp_unknown_tunnel,
# readyz_cp_forbidden, readyz_startup_wait,
# readyz_probe_failed, readyz_probe_note, metrics_flow, admin_api,
# slow_clients.
# Every process runs under `env -i` with HOME in a private temp dir and is
# killed by the EXIT trap if still alive; ports are ephemeral (a port picked
# for a server started later is taken from the kernel just before).
set -uo pipefail

case_name=${1:?case}
bin=${2:?tunnel-client binary}
fixture=${3:?probe fixture module}
promtool_bin=${TC_PROMTOOL:-promtool}
tid=tunnel_22222222222222222222222222222222
key=local-tunnel-client-dev-proxy

# shellcheck source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
init_work tc-ops
fail_logs=('*.log' '*.out')
agent_pid=

need_tools "$jq_bin" "$node_bin" "$curl_bin"

start_stub() { # [PORT]
  spawn stub "dev mcp-stub" env -i PATH="$PATH" HOME="$work" "$bin" dev mcp-stub \
    --listen-addr "127.0.0.1:${1:-0}" --url-file "$work/stub.url"
  target=$spawned_url/mcp
}

start_cp() { # [PORT]
  spawn cp "dev control-plane" env -i PATH="$PATH" HOME="$work" "$bin" dev control-plane \
    --listen "127.0.0.1:${1:-0}" --url-file "$work/cp.url"
  cp=$spawned_url
}

# start_agent [flags...]: `run` against $cp with binding flags in $binding
# (default: --mcp.server-url $target); sets $h (health base URL).
start_agent() {
  local b
  if ((${#binding[@]})); then b=("${binding[@]}"); else b=(--mcp.server-url "$target"); fi
  env -i PATH="$PATH" HOME="$work" CONTROL_PLANE_API_KEY="${agent_key:-$key}" "$bin" run \
    --control-plane.base-url "$cp" --control-plane.tunnel-id "$tid" \
    "${b[@]}" --health.url-file "$work/health.url" --control-plane.poll-timeout 1s \
    "$@" >"$work/agent.log" 2>&1 &
  agent_pid=$!
  pids+=("$agent_pid")
  wait_file "$work/health.url" "$agent_pid" "tunnel-client run"
  h=$(cat "$work/health.url")
}
binding=()

stop_agent() { stop_pid "$agent_pid" agent; }

# get PATH [curl args...]: body into $body, status into $code.
get() {
  local p=$1
  shift
  body=$("$curl_bin" -sS --max-time 5 -o "$work/resp.out" -w '%{http_code}' "$@" "$h$p") ||
    fail "request $p failed"
  code=$body
  body=$(cat "$work/resp.out")
}

expect() { # CODE BODY WHAT
  [[ $code == "$1" ]] || fail "$3: status $code, want $1 (body: $body)"
  [[ -z ${2-} || $body == "$2" ]] || fail "$3: body '$body', want '$2'"
}

# wait_ready CODE BODY: poll /readyz (15s) until it answers exactly this.
wait_readyz() {
  local i
  for ((i = 0; i < 300; i++)); do
    get /readyz
    [[ $code == "$1" && $body == "$2" ]] && return 0
    sleep 0.05
  done
  fail "/readyz never answered $1 '$2' (last: $code '$body')"
}

# jq_check and tool_call differ from tests/lib/common.sh's: on $body, echo.
jq_check() { # FILTER WHAT  (on $body)
  printf '%s' "$body" | "$jq_bin" -e "$1" >/dev/null ||
    fail "$2: jq '$1' is false on: $body"
}

tool_call() { # ID
  printf '{"jsonrpc":"2.0","id":%s,"method":"tools/call","params":{"name":"echo","arguments":{"input":"ops"}}}' "$1"
}

# ingress_call ID: one tools/call through the control plane's MCP ingress.
ingress_call() {
  local out
  out=$("$curl_bin" -sS --max-time 10 -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' \
    --data-binary "$(tool_call "$1")" -w ' %{http_code}' "$cp/v1/mcp/$tid") ||
    fail "ingress call $1 failed"
  [[ $out == *' 200' ]] || fail "ingress call $1: $out"
}

metric() { # NAME_WITH_LABELS -> value (0 when absent)
  "$curl_bin" -sS --max-time 5 "$h/metrics" | awk -v n="$1" '$1 == n {v=$2} END {print v+0}'
}

# wait_first_poll: until a poll completed (the first long poll ends after
# the 1s poll timeout; the metadata fetch may make the agent ready before).
wait_first_poll() {
  local i
  for ((i = 0; i < 200; i++)); do
    [[ $(metric 'tunnel_client_polls_total{result="empty"}') -ge 1 ]] && return 0
    sleep 0.05
  done
  fail "no poll completed within 10s"
}

port_of() { local u=${1##*:}; echo "${u%%/*}"; }

case $case_name in
listener_files)
  start_stub
  start_cp
  start_agent --health.listen-addr 127.0.0.1:0 --pid.file "$work/agent.pid"
  [[ $h =~ ^http://127\.0\.0\.1:[0-9]+$ ]] || fail "URL file holds '$h'"
  [[ $(port_of "$h") != 0 ]] || fail "port 0 was not replaced by the bound port"
  [[ $(tail -c 1 "$work/health.url" | od -An -c | tr -d ' ') != '\n' ]] ||
    fail "URL file ends with a newline"
  [[ $(stat -c %a "$work/health.url") == 600 ]] || fail "URL file mode $(stat -c %a "$work/health.url"), want 600"
  [[ $(cat "$work/agent.pid") == "$agent_pid" ]] || fail "pid file holds '$(cat "$work/agent.pid")', want $agent_pid"
  [[ $(stat -c %a "$work/agent.pid") == 644 ]] || fail "pid file mode, want 644"
  grep -Eq "HEALTH URL: $h( |$)" "$work/agent.log" || fail "startup log lacks 'HEALTH URL: $h'"
  grep -Eq "WEB UI: $h/ui( |$)" "$work/agent.log" || fail "startup log lacks 'WEB UI: $h/ui'"
  get /healthz
  expect 200 live "/healthz"
  stop_agent
  [[ ! -e $work/health.url ]] || fail "URL file left behind after stop"
  [[ ! -e $work/agent.pid ]] || fail "pid file left behind after stop"
  ;;

unix_socket)
  start_stub
  start_cp
  sock=$work/ops.sock
  # A stale socket file: its server was killed without cleanup.
  "$node_bin" -e 'require("net").createServer().listen(process.argv[1],()=>process.kill(process.pid,"SIGKILL"))' "$sock"
  [[ -S $sock ]] || fail "could not create a stale socket"
  start_agent --health.unix-socket "$sock"
  [[ $h == "http+unix://$(printf '%s' "$sock" | base64 -w0 | tr '+/' '-_' | tr -d '=')" ]] ||
    fail "URL file holds '$h' for $sock"
  grep -q 'removed stale health unix socket' "$work/agent.log" || fail "stale socket removal not logged"
  out=$("$curl_bin" -sS --max-time 5 --unix-socket "$sock" http://localhost/healthz) || fail "curl over the socket"
  [[ $out == live ]] || fail "/healthz over the unix socket: '$out'"
  [[ $(stat -c %a "$sock") == 600 ]] || fail "socket mode $(stat -c %a "$sock"), want 600"
  # A second agent on the live socket is refused with one line.
  env -i PATH="$PATH" HOME="$work" CONTROL_PLANE_API_KEY="$key" "$bin" run \
    --control-plane.base-url "$cp" --control-plane.tunnel-id "$tid" \
    --mcp.server-url "$target" --health.unix-socket "$sock" >"$work/second.out" 2>&1 &
  second=$!
  pids+=("$second")
  for ((i = 0; i < 200; i++)); do kill -0 "$second" 2>/dev/null || break; sleep 0.05; done
  wait "$second"
  rc=$?
  [[ $rc -eq 1 ]] || fail "second agent on a live socket: exit $rc, want 1"
  grep -q 'is in use by a running process' "$work/second.out" || fail "second agent: no 'in use' error"
  [[ -S $sock ]] || fail "the refused agent removed the live socket"
  stop_agent
  [[ ! -e $sock ]] || fail "socket left behind after stop"
  [[ ! -e $work/health.url ]] || fail "URL file left behind after stop"
  ;;

guards)
  start_stub
  start_cp
  start_agent --health.listen-addr 127.0.0.1:0
  port=$(port_of "$h")
  # The admin routes need a Host that names the listener (the read-only
  # probe routes answer any Host: probe_hosts).
  for p in /ui /api/status /nothing-here; do
    get "$p" -H "Host: evil.example:$port"
    expect 403 "" "forged Host with our port on $p"
  done
  get /api/status -H "Host: 127.0.0.1:1"
  expect 403 "" "Host with another port"
  get /api/status -H "Host: 127.0.0.1"
  expect 403 "" "Host without the port"
  get /api/status -H 'Host: evil.example'
  expect 403 "" "forged Host on /api/status"
  jq_check '.error | test("Host")' "forged Host error"
  jq_check '.error | test("--health.allowed-hosts")' "forged Host error names the setting"
  for host in "localhost:$port" "[::1]:$port" "LOCALHOST:$port"; do
    get /api/status -H "Host: $host"
    expect 200 "" "Host $host"
  done
  # State-changing methods: Origin absent or our own origin only.
  get /api/log-level -X PUT --data '{"level":"info"}'
  expect 200 '{"level":"info"}' "PUT without Origin"
  get /api/log-level -X PUT -H "Origin: $h" --data '{"level":"info"}'
  expect 200 "" "PUT with our Origin"
  get /api/log-level -X PUT -H "Origin: $h" -H 'Sec-Fetch-Site: same-origin' --data '{"level":"info"}'
  expect 200 "" "PUT with our Origin from a browser"
  get /api/log-level -X PUT -H "Host: localhost:$port" -H "Origin: http://localhost:$port" --data '{"level":"info"}'
  expect 200 "" "PUT with a localhost Host and matching Origin"
  get /api/log-level -X PUT -H 'Origin: http://evil.example' --data '{"level":"debug"}'
  expect 403 "" "PUT from another origin"
  jq_check '.error | test("cross-origin")' "cross-origin error"
  get /api/log-level -X PUT -H "Origin: http://localhost:$port" --data '{"level":"debug"}'
  expect 403 "" "Origin that differs from Host"
  get /api/log-level -X PUT -H 'Sec-Fetch-Site: cross-site' --data '{"level":"debug"}'
  expect 403 "" "Sec-Fetch-Site cross-site"
  get /healthz -X POST -H 'Origin: http://evil.example' --data x
  expect 403 "" "POST /healthz from another origin"
  get /healthz -X POST -H 'Host: evil.example' --data x
  expect 403 "" "POST /healthz with a forged Host"
  get /api/log-level -X PUT -H 'Origin: https://evil.example' --data '{"level":"debug"}'
  expect 403 "" "PUT from another https origin"
  get /api/log-level
  jq_check '.level == "info"' "level unchanged by refused requests"
  stop_agent
  ;;

probe_hosts)
  # Probes and scrapes arrive with whatever Host their network gives them:
  # a kubelet sends the pod IP with the container port, Prometheus a pod IP
  # or a Service name, a port mapping the host's port. /healthz, /readyz and
  # /metrics answer all of them (GET and HEAD); the admin routes and every
  # other method keep the Host guard.
  start_stub
  start_cp
  start_agent --health.listen-addr 0.0.0.0:0
  port=$(port_of "$h")
  h=http://127.0.0.1:$port
  wait_readyz 200 ready
  hosts=("10.1.2.3:8080" "10.1.2.3" "tunnel-client.ns.svc.cluster.local:8080"
    "tunnel-client.ns.svc" "127.0.0.1:18080" "[fd00::5]:8080" "evil.example")
  for host in "${hosts[@]}"; do
    get /healthz -H "Host: $host"
    expect 200 live "/healthz with Host $host"
    get /healthz -I -H "Host: $host"
    expect 200 "" "HEAD /healthz with Host $host"
    get /readyz -H "Host: $host"
    expect 200 ready "/readyz with Host $host"
    get /metrics -H "Host: $host"
    expect 200 "" "/metrics with Host $host"
    grep -q '^tunnel_client_ready 1$' "$work/resp.out" || fail "/metrics with Host $host lacks the ready gauge"
    for p in /ui /api/status /assets/app.js /; do
      get "$p" -H "Host: $host"
      expect 403 "" "$p with Host $host"
    done
    get /healthz -X POST -H "Host: $host" --data x
    expect 403 "" "POST /healthz with Host $host"
    get /metrics -X PUT -H "Host: $host" --data x
    expect 403 "" "PUT /metrics with Host $host"
  done
  stop_agent
  # --health.allowed-hosts: the operator's names reach the admin routes too
  # (a name, a .domain suffix, a host:port); others still do not.
  start_agent --health.listen-addr 0.0.0.0:0 \
    --health.allowed-hosts tunnel-client.ns.svc.cluster.local,.corp.example \
    --health.allowed-hosts 127.0.0.1:18080 --health.allowed-hosts '[fd00::5]'
  port=$(port_of "$h")
  h=http://127.0.0.1:$port
  for host in tunnel-client.ns.svc.cluster.local:8080 TUNNEL-CLIENT.ns.svc.cluster.local \
    ui.corp.example corp.example:443 127.0.0.1:18080 "[fd00::5]:9000" "[fd00:0::5]"; do
    get /api/status -H "Host: $host"
    expect 200 "" "/api/status with allowed Host $host"
    get /ui -H "Host: $host"
    expect 200 "" "/ui with allowed Host $host"
  done
  for host in 10.1.2.3:8080 127.0.0.1:18081 evilcorp.example tunnel-client.ns.svc \
    corp.example.evil.example "[fd00::6]"; do
    get /api/status -H "Host: $host"
    expect 403 "" "/api/status with Host $host (not allowed)"
  done
  # Behind a TLS-terminating proxy the browser's Origin is https://<name>.
  get /api/log-level -X PUT -H 'Host: ui.corp.example' -H 'Origin: https://ui.corp.example' \
    --data '{"level":"info"}'
  expect 200 "" "PUT from the allowed name over https"
  get /api/log-level -X PUT -H 'Host: ui.corp.example' -H 'Origin: https://evil.example' \
    --data '{"level":"debug"}'
  expect 403 "" "PUT with an Origin that is not the allowed Host"
  stop_agent
  ;;

allowed_hosts_config)
  # HEALTH_ALLOWED_HOSTS (comma-separated) and health.allowed_hosts (a YAML
  # list) work like the flag; malformed entries stop the start with one
  # line naming the entry, where it came from and what to write instead;
  # doctor and the profile commands take the key like run does.
  start_stub
  start_cp
  env -i PATH="$PATH" HOME="$work" CONTROL_PLANE_API_KEY="$key" \
    HEALTH_ALLOWED_HOSTS="ui.corp.example, .svc.cluster.local" "$bin" run \
    --control-plane.base-url "$cp" --control-plane.tunnel-id "$tid" --mcp.server-url "$target" \
    --health.listen-addr 127.0.0.1:0 --health.url-file "$work/health.url" >"$work/agent.log" 2>&1 &
  agent_pid=$!
  pids+=("$agent_pid")
  wait_file "$work/health.url" "$agent_pid" "tunnel-client run"
  h=$(cat "$work/health.url")
  get /api/status -H 'Host: ui.corp.example'
  expect 200 "" "env: allowed name"
  get /api/status -H 'Host: tc.ns.svc.cluster.local:8080'
  expect 200 "" "env: allowed suffix"
  get /api/status -H 'Host: other.example'
  expect 403 "" "env: other name"
  stop_agent
  mkdir -p "$work/p"
  cat >"$work/p/ops.yaml" <<YAML
config_version: 1
control_plane:
  base_url: "$cp"
  tunnel_id: "$tid"
mcp:
  server_urls:
    - "$target"
health:
  listen_addr: "127.0.0.1:0"
  allowed_hosts:
    - ui.corp.example
    - "127.0.0.1:18080"
YAML
  env -i PATH="$PATH" HOME="$work" CONTROL_PLANE_API_KEY="$key" "$bin" run \
    --profile-file "$work/p/ops.yaml" --health.url-file "$work/health.url" >"$work/agent.log" 2>&1 &
  agent_pid=$!
  pids+=("$agent_pid")
  wait_file "$work/health.url" "$agent_pid" "tunnel-client run"
  h=$(cat "$work/health.url")
  get /ui -H 'Host: 127.0.0.1:18080'
  expect 200 "" "YAML: allowed host:port"
  get /ui -H 'Host: 127.0.0.1:18081'
  expect 403 "" "YAML: another port"
  stop_agent
  # The profile passes doctor and the profile commands' validation.
  env -i PATH="$PATH" HOME="$work" CONTROL_PLANE_API_KEY="$key" "$bin" doctor --json \
    --profile-file "$work/p/ops.yaml" >"$work/doctor.json" 2>"$work/doctor.err" ||
    fail "doctor on a profile with health.allowed_hosts: $(cat "$work/doctor.json" "$work/doctor.err")"
  env -i PATH="$PATH" HOME="$work" "$bin" profiles --profile-dir "$work/pd" add ops \
    --from-file "$work/p/ops.yaml" >"$work/add.out" 2>&1 ||
    fail "profiles add refused health.allowed_hosts: $(cat "$work/add.out")"
  # Malformed entries: exit 1, one line, nothing started.
  refused() { # WANT ENV... -- FLAGS...
    local want=$1 envs=()
    shift
    while [[ $1 != -- ]]; do envs+=("$1"); shift; done
    shift
    env -i PATH="$PATH" HOME="$work" CONTROL_PLANE_API_KEY="$key" "${envs[@]}" timeout 20 "$bin" run \
      --control-plane.base-url "$cp" --control-plane.tunnel-id "$tid" --mcp.server-url "$target" \
      --health.listen-addr 127.0.0.1:0 "$@" >"$work/refused.out" 2>&1
    local rc=$?
    [[ $rc == 1 ]] || fail "malformed allowed host ($*${envs[*]}): exit $rc, want 1"
    [[ $(wc -l <"$work/refused.out") == 1 ]] || fail "want one line: $(cat "$work/refused.out")"
    grep -qF -- "$want" "$work/refused.out" || fail "error lacks '$want': $(cat "$work/refused.out")"
  }
  refused 'invalid health allowed host in --health.allowed-hosts: "https://ui.example.com" (write the host name only' \
    -- --health.allowed-hosts https://ui.example.com
  refused '"*.example.com" (wildcards are not supported: write .example.com' -- --health.allowed-hosts '*.example.com'
  refused '"ui.example.com:99999" (the port after the host must be a number from 1 to 65535)' \
    -- --health.allowed-hosts ui.example.com:99999
  refused '"ui.example.com/ui"' -- --health.allowed-hosts ui.example.com/ui
  refused '"300.1.2.3" (not a valid IPv4 address' -- --health.allowed-hosts 300.1.2.3
  refused 'in HEALTH_ALLOWED_HOSTS: "" (empty entry' HEALTH_ALLOWED_HOSTS=a.example,,b.example --
  printf 'config_version: 1\nhealth:\n  allowed_hosts: ui.corp.example\n' >"$work/p/scalar.yaml"
  refused 'scalar.yaml:3' -- --profile-file "$work/p/scalar.yaml"
  printf 'config_version: 1\nhealth:\n  allowed_hosts:\n    - "ui.corp.example:0"\n' >"$work/p/port0.yaml"
  refused 'port0.yaml:4 (health.allowed_hosts[0]): "ui.corp.example:0"' -- --profile-file "$work/p/port0.yaml"
  ;;

remote_peer)
  # Needs an address of this machine that is not loopback.
  ip=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$' | grep -v '^127\.' | head -n1)
  if [[ -z $ip ]]; then
    echo "SKIP [$case_name]: no non-loopback IPv4 address on this machine"
    exit 0
  fi
  start_stub
  start_cp
  start_agent --health.listen-addr 0.0.0.0:0
  port=$(port_of "$h")
  rh=http://$ip:$port
  check_remote() { # PATH CODE
    local out
    out=$("$curl_bin" -sS --max-time 5 -o "$work/resp.out" -w '%{http_code}' "$rh$1") || fail "remote $1"
    [[ $out == "$2" ]] || fail "remote peer $1: $out, want $2 ($(cat "$work/resp.out"))"
  }
  check_remote /healthz 200
  check_remote /metrics 200
  out=$("$curl_bin" -sS --max-time 5 -o /dev/null -w '%{http_code}' "$rh/readyz")
  [[ $out == 200 || $out == 503 ]] || fail "remote /readyz gated: $out"
  check_remote /api/status 403
  check_remote /ui 403
  check_remote /assets/app.js 403
  check_remote /nothing-here 403
  grep -q 'restricted to loopback' "$work/resp.out" || fail "remote refusal text: $(cat "$work/resp.out")"
  # Loopback callers still get the admin API.
  h=http://127.0.0.1:$port
  get /api/status
  expect 200 "" "loopback /api/status on a wildcard listener"
  stop_agent
  start_agent --health.listen-addr 0.0.0.0:0 --allow-remote-ui
  port=$(port_of "$h")
  rh=http://$ip:$port
  check_remote /api/status 200
  stop_agent
  ;;

bad_requests)
  start_stub
  start_cp
  start_agent --health.listen-addr 127.0.0.1:0
  { printf 'X-Big: '; head -c 200000 /dev/zero | tr '\0' a; echo; } >"$work/big.header"
  get /healthz -H "@$work/big.header"
  [[ $code =~ ^4[0-9][0-9]$ ]] || fail "200 KB header: status $code, want 4xx"
  head -c 100000 /dev/zero | tr '\0' a >"$work/big.body"
  get /api/log-level -X PUT --data-binary "@$work/big.body"
  expect 413 "" "100 KB body"
  get /api/log-level -X PUT --data '{"level":"loud"}'
  expect 400 "" "unknown level"
  jq_check '.error | test("invalid level")' "unknown level error"
  get /api/log-level -X PUT --data '{"level":"info","extra":1}'
  expect 400 "" "extra field"
  get /api/log-level -X PUT --data 'not json'
  expect 400 "" "not JSON"
  get /api/log-level -X DELETE
  expect 405 "" "DELETE /api/log-level"
  grep -q . "$work/resp.out" || fail "405 without a body"
  get /api/status -X POST --data x
  expect 405 "" "POST /api/status"
  get /metrics -X PUT --data x
  expect 405 "" "PUT /metrics"
  get /api/logs '-G' --data-urlencode 'limit=abc'
  expect 400 "" "limit=abc"
  get '/api/logs?limit=999999'
  expect 400 "" "limit too large"
  get /api/nothing
  expect 404 "" "unknown /api route"
  jq_check '.error == "not found"' "unknown /api route body"
  get /healthz -X BREW
  [[ $code =~ ^(200|4[0-9][0-9])$ ]] || fail "unknown method: $code"
  get /healthz
  expect 200 live "the listener survives bad requests"
  stop_agent
  ;;

readyz_cp_down_then_up)
  start_stub
  cport=$(free_port)
  cp=http://127.0.0.1:$cport
  start_agent --health.listen-addr 127.0.0.1:0
  for ((i = 0; i < 200; i++)); do
    get /readyz
    [[ $body == "control plane not reached: "*[a-z]* && $body != *"no answer yet" ]] && break
    sleep 0.05
  done
  expect 503 "" "/readyz with the control plane down"
  [[ $body == "control plane not reached: "* ]] || fail "/readyz body '$body'"
  [[ $body != *"$key"* ]] || fail "/readyz leaks the API key"
  get /api/status
  jq_check '.ready == false and .control_plane.reachable == false and (.control_plane.last_error | type == "string") and (.readiness_reasons | length >= 1)' "status with the control plane down"
  start_cp "$cport"
  wait_readyz 200 ready
  get /api/status
  jq_check '.ready == true and .readiness == "ready" and .control_plane.reachable == true' "status once reached"
  stop_agent
  ;;

readyz_cp_rejected)
  start_stub
  start_cp
  agent_key=some-other-key start_agent --health.listen-addr 127.0.0.1:0
  wait_readyz 503 "control plane rejected the API key (HTTP 401): set control_plane.api_key (CONTROL_PLANE_API_KEY) to a runtime API key of the organization that owns the tunnel"
  [[ $(metric 'tunnel_client_ready') == 0 ]] || fail "readiness gauge is not 0"
  for ((i = 0; i < 200; i++)); do # the metadata fetch may be refused first
    [[ $(metric 'tunnel_client_polls_total{result="http_error"}') -ge 1 ]] && break
    sleep 0.05
  done
  [[ $(metric 'tunnel_client_polls_total{result="http_error"}') -ge 1 ]] || fail "no http_error poll counted"
  stop_agent
  ;;

readyz_cp_unknown_tunnel)
  # A well-formed tunnel id the control plane does not know: every poll is
  # answered 404. Never ready; /api/status and the metrics agree; once the
  # service knows the id (restarted with it on the same port), ready.
  start_stub
  start_cp
  cp_pid=$spawned_pid
  cport=$(port_of "$cp")
  tid=tunnel_33333333333333333333333333333333
  start_agent --health.listen-addr 127.0.0.1:0
  why="control plane does not know this tunnel id (HTTP 404): check control_plane.tunnel_id against https://platform.openai.com/settings/organization/tunnels, and that control_plane.base_url and url_path name the service that hosts it"
  for ((i = 0; i < 200; i++)); do # the 404 of a poll, not only of the metadata fetch
    [[ $(metric 'tunnel_client_polls_total{result="http_error"}') -ge 2 ]] && break
    sleep 0.05
  done
  [[ $(metric 'tunnel_client_polls_total{result="http_error"}') -ge 2 ]] || fail "fewer than 2 polls answered 404"
  get /readyz
  expect 503 "$why" "/readyz for an unknown tunnel id"
  [[ $(metric 'tunnel_client_ready') == 0 ]] || fail "readiness gauge is not 0"
  [[ $(metric 'tunnel_client_last_successful_poll_timestamp_seconds') == 0 ]] ||
    fail "last successful poll gauge moved without a successful poll"
  get /api/status
  export WHY=$why
  jq_check '.ready == false and .readiness == env.WHY and .control_plane.reachable == true and .control_plane.refusal == env.WHY and .control_plane.refused_status == 404 and .control_plane.last_http_status == 404 and .control_plane.last_successful_poll_at == null and (.control_plane.last_poll_at | type == "string")' "status for an unknown tunnel id"
  get /healthz
  expect 200 live "/healthz stays live"
  # The service learns the id: the next poll succeeds and the agent is ready.
  stop_pid "$cp_pid" "dev control-plane"
  spawn cp2 "dev control-plane" env -i PATH="$PATH" HOME="$work" "$bin" dev control-plane \
    --listen "127.0.0.1:$cport" --url-file "$work/cp2.url" --tunnel-id "$tid"
  wait_readyz 200 ready
  get /api/status
  jq_check '.control_plane.refusal == null and .control_plane.refused_status == null and (.control_plane.last_successful_poll_at | type == "string")' "status once the tunnel is known"
  awk -v v="$(metric 'tunnel_client_last_successful_poll_timestamp_seconds')" 'BEGIN {exit !(v > 0)}' ||
    fail "last successful poll gauge still 0 after a successful poll"
  stop_agent
  ;;

readyz_cp_forbidden)
  # Polls answered 403 (the key may not use this tunnel): 503 with what it
  # means, as long as the refusals last; ready once they stop.
  start_stub
  start_cp
  auth="Authorization: Bearer $key"
  faults=$("$jq_bin" -cn '{poll: [range(64) | {status: 403}]}')
  set_faults "$faults" >/dev/null
  start_agent --health.listen-addr 127.0.0.1:0
  wait_readyz 503 "control plane refuses this tunnel to the API key (HTTP 403): use a runtime API key of the organization or project that owns the tunnel, and set control_plane.organization_id when the tunnel belongs to an organization"
  get /api/status
  jq_check '.ready == false and .control_plane.refused_status == 403 and (.control_plane.refusal | startswith("control plane refuses this tunnel"))' "status while refused"
  "$curl_bin" -sS --max-time 5 -X DELETE -H "$auth" "$cp/_dev/faults" >/dev/null || fail "clear faults"
  wait_readyz 200 ready
  stop_agent
  ;;

readyz_startup_wait)
  start_cp
  sport=$(free_port)
  binding=(--module mcp-http --module metrics-prometheus --module "$fixture"
    --mcp.server-url "channel=main,url=http://127.0.0.1:$sport/mcp,transport=probe-test")
  start_agent --health.listen-addr 127.0.0.1:0 --mcp.startup-wait-timeout 20s
  get /readyz
  expect 503 "mcp startup probe pending" "/readyz while the server is not up"
  get /api/channels
  jq_check '.channels[0].probe == "pending" and .channels[0].transport == "probe-test"' "channel probe pending"
  wait_log "$work/agent.log" 'waiting for the MCP startup probe before the first poll' \
    "the agent does not hold the first poll for the startup probe"
  # The window is what is tested: an agent without the gate polls within
  # milliseconds of starting; this one must not poll at all in 1.5 s.
  sleep 1.5
  polls=$("$curl_bin" -sS -H "Authorization: Bearer $key" "$cp/_dev/stats" | "$jq_bin" .polls)
  [[ $polls == 0 ]] || fail "$polls poll(s) before the startup probe finished"
  start_stub "$sport"
  wait_readyz 200 ready
  get /api/channels
  jq_check '.channels[0].probe == "ok" and .channels[0].probe_detail == null' "channel probe ok"
  for ((i = 0; i < 100; i++)); do
    polls=$("$curl_bin" -sS -H "Authorization: Bearer $key" "$cp/_dev/stats" | "$jq_bin" .polls)
    [[ $polls -gt 0 ]] && break
    sleep 0.05
  done
  [[ $polls -gt 0 ]] || fail "no poll after the startup probe finished"
  stop_agent
  ;;

readyz_probe_failed)
  start_cp
  sport=$(free_port)
  binding=(--module mcp-http --module metrics-prometheus --module "$fixture"
    --mcp.server-url "channel=main,url=http://127.0.0.1:$sport/mcp,transport=probe-test")
  start_agent --health.listen-addr 127.0.0.1:0
  wait_readyz 503 "mcp probe failed: Connection refused"
  get /api/channels
  jq_check '.channels[0].probe == "failed" and (.channels[0].probe_detail | test("Connection refused"))' "channel probe failed"
  get /api/status
  jq_check '.ready == false and .readiness == "mcp probe failed: Connection refused"' "status readiness text"
  stop_agent
  ;;

readyz_probe_note)
  start_stub
  start_cp
  binding=(--module mcp-http --module metrics-prometheus --module "$fixture"
    --mcp.server-url "channel=main,url=${target%/mcp}/needs-auth,transport=probe-test")
  start_agent --health.listen-addr 127.0.0.1:0
  wait_readyz 200 "ready (mcp initialize requires auth: HTTP 401)"
  get /api/channels
  jq_check '.channels[0].probe == "ok" and .channels[0].probe_detail == "mcp initialize requires auth: HTTP 401"' "channel probe note"
  get /api/status
  jq_check '.ready == true and .readiness == "ready (mcp initialize requires auth: HTTP 401)" and .readiness_reasons == []' "status with a note"
  stop_agent
  ;;

metrics_flow)
  command -v "$promtool_bin" >/dev/null || fail "promtool is not installed (scripts/deps.sh installs prometheus)"
  start_stub
  start_cp
  start_agent --health.listen-addr 127.0.0.1:0
  wait_readyz 200 ready
  wait_first_poll
  "$curl_bin" -sS -D "$work/metrics.head" "$h/metrics" >"$work/before.prom" || fail "GET /metrics"
  grep -qi '^content-type: text/plain; version=0.0.4' "$work/metrics.head" || fail "content type: $(cat "$work/metrics.head")"
  # A real parser and linter: exit 0 means it parsed and had no findings.
  "$promtool_bin" check metrics <"$work/before.prom" >"$work/promtool.out" 2>&1 ||
    fail "promtool check metrics failed: $(cat "$work/promtool.out")"
  for m in tunnel_client_build_info tunnel_client_ready tunnel_client_polls_total \
    tunnel_client_last_successful_poll_timestamp_seconds tunnel_client_queue_depth \
    tunnel_client_queue_capacity tunnel_client_workers_busy tunnel_client_workers \
    tunnel_client_response_post_retries_total; do
    grep -q "^# TYPE $m " "$work/before.prom" || fail "/metrics lacks $m"
  done
  for r in commands empty http_error network_error; do
    grep -q "^tunnel_client_polls_total{result=\"$r\"} " "$work/before.prom" ||
      fail "/metrics lacks the $r poll series"
  done
  [[ $(awk '$1 == "tunnel_client_ready" {print $2}' "$work/before.prom") == 1 ]] || fail "ready gauge is not 1"
  [[ $(awk '$1 == "tunnel_client_queue_capacity" {print $2}' "$work/before.prom") == 20 ]] || fail "queue capacity is not 20"
  ts=$(awk '$1 == "tunnel_client_last_successful_poll_timestamp_seconds" {print $2}' "$work/before.prom")
  awk -v t="$ts" -v now="$(date +%s)" 'BEGIN {exit !(t > now - 60 && t <= now + 1)}' ||
    fail "last successful poll timestamp $ts is not recent"
  recv_before=$(metric 'tunnel_client_commands_received_total{channel="main",type="jsonrpc"}')
  ok_before=$(metric 'tunnel_client_commands_completed_total{channel="main",type="jsonrpc",outcome="ok"}')
  for id in 1 2 3; do ingress_call "$id"; done
  for ((i = 0; i < 100; i++)); do
    ok_after=$(metric 'tunnel_client_commands_completed_total{channel="main",type="jsonrpc",outcome="ok"}')
    [[ $ok_after -ge $((ok_before + 3)) ]] && break
    sleep 0.05
  done
  [[ $ok_after -eq $((ok_before + 3)) ]] || fail "completed ok moved $ok_before -> $ok_after, want +3"
  recv_after=$(metric 'tunnel_client_commands_received_total{channel="main",type="jsonrpc"}')
  [[ $recv_after -eq $((recv_before + 3)) ]] || fail "received moved $recv_before -> $recv_after, want +3"
  "$curl_bin" -sS "$h/metrics" >"$work/after.prom"
  count=$(awk '$1 == "tunnel_client_mcp_call_duration_seconds_count{channel=\"main\"}" {print $2}' "$work/after.prom")
  [[ $count -ge 3 ]] || fail "call duration histogram count '$count', want >= 3"
  grep -q '^tunnel_client_mcp_call_duration_seconds_bucket{channel="main",le="+Inf"} ' "$work/after.prom" ||
    fail "no +Inf bucket for the call duration"
  [[ $(awk '$1 == "tunnel_client_queue_depth" {print $2}' "$work/after.prom") == 0 ]] || fail "queue depth not back to 0"
  [[ $(awk '$1 == "tunnel_client_workers_busy" {print $2}' "$work/after.prom") == 0 ]] || fail "workers busy not back to 0"
  "$promtool_bin" check metrics <"$work/after.prom" >"$work/promtool.out" 2>&1 ||
    fail "promtool check metrics after traffic failed: $(cat "$work/promtool.out")"
  get /api/channels
  jq_check '.channels[0].requests_total >= 3 and .channels[0].errors_total == 0 and .channels[0].in_flight == 0' "channel counters"
  stop_agent
  ;;

admin_api)
  start_stub
  start_cp
  start_agent --health.listen-addr 127.0.0.1:0 --admin-ui.log-buffer-events 5
  wait_readyz 200 ready
  wait_first_poll
  get /api/status
  expect 200 "" "/api/status"
  jq_check '(.version | type == "string") and (.client_instance_id | test("^[0-9a-f]{32}$")) and .tunnel_id == "'"$tid"'" and (.started_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$")) and (.uptime_seconds | type == "number") and .health_url == "'"$h"'" and .ready == true and .readiness == "ready" and .readiness_reasons == [] and .log_level == "info"' "status fields"
  jq_check '.control_plane.base_url == "'"$cp"'" and .control_plane.reachable == true and (.control_plane.last_poll_at | type == "string") and (.control_plane.last_successful_poll_at | type == "string") and .control_plane.last_http_status == 204 and .control_plane.refusal == null and .control_plane.last_error == null and .control_plane.polls_total >= 1 and .control_plane.poll_errors_total == 0' "status control_plane"
  jq_check '[.modules[] | select(.name == "metrics-prometheus" and .kinds == ["metrics-sink"] and (.version | type == "string"))] | length == 1' "status modules"
  grep -q "$key" <<<"$body" && fail "/api/status shows the API key"
  get /api/channels
  jq_check '.channels | length == 1' "one channel"
  jq_check '.channels[0] | .name == "main" and .transport == "http" and .target == "'"${target%/mcp}"'" and .in_flight == 0 and .requests_total == 0 and .errors_total == 0 and .last_error == null and .probe == "ok" and .probe_detail == null' "channel fields"
  get /api/logs
  jq_check '(.lines | length) >= 1 and (.lines | length) <= 5 and (.next | type == "number")' "logs page"
  jq_check 'all(.lines[]; (.seq | type == "number") and (.time | type == "string") and (.level | IN("debug","info","warn","error")) and (.component | type == "string") and (.text | type == "string"))' "log line fields"
  next=$(printf '%s' "$body" | "$jq_bin" .next)
  get /api/log-level -X PUT --data '{"level":"debug"}'
  expect 200 '{"level":"debug"}' "PUT debug"
  get /api/log-level
  jq_check '.level == "debug" and .supported_levels == ["debug","info","warn","error"]' "GET log level"
  get /api/status
  jq_check '.log_level == "debug"' "status log level after PUT"
  get "/api/logs?since=$next"
  jq_check '[.lines[] | select(.text | test("log level changed from=info to=debug"))] | length == 1' "level change logged after since=$next"
  jq_check 'all(.lines[]; .seq > '"$next"') and .next > '"$next" "since filters"
  get "/api/logs?since=0&limit=2"
  jq_check '(.lines | length) == 2 and .next == .lines[1].seq' "limit=2"
  ingress_call 7 # debug lines now reach the buffer
  get /api/logs
  jq_check '(.lines | length) == 5' "ring keeps --admin-ui.log-buffer-events lines"
  "$curl_bin" -sS -D "$work/export.head" -o "$work/export.out" "$h/api/logs/export" || fail "export"
  grep -qi '^content-disposition: attachment; filename="tunnel-client-logs-[0-9TZ]*\.txt"' "$work/export.head" ||
    fail "export headers: $(cat "$work/export.head")"
  grep -qi '^content-type: text/plain' "$work/export.head" || fail "export content type"
  [[ $(wc -l <"$work/export.out") -eq 5 ]] || fail "export has $(wc -l <"$work/export.out") lines, want 5"
  grep -q "$key" "$work/export.out" && fail "export contains the API key"
  get /api/oauth # auth-oauth's state: the stub serves PRMD and AS metadata
  expect 200 "" "/api/oauth"
  jq_check '.state == "ready" and .prmd.status == 200 and .authorization_server.issuer_mismatch == false' "/api/oauth state"
  stop_agent
  ;;

slow_clients)
  # Drippers, idle connections and half-sent bodies by the hundred, from
  # other addresses and from the probes' own: /healthz and /readyz keep
  # answering 200 within 1 s, and every hostile connection is cut by the
  # 10 s header/body deadlines (ops_slow_clients.mjs prints the figures).
  start_stub
  start_cp
  start_agent --health.listen-addr 127.0.0.1:0
  wait_readyz 200 ready
  "$node_bin" "$(dirname "$0")/ops_slow_clients.mjs" "$h" "$agent_pid" >"$work/slow.out" 2>&1
  rc=$?
  cat "$work/slow.out"
  [[ $rc -eq 0 ]] || fail "probes or deadlines under hostile connections (see above)"
  get /healthz
  expect 200 live "/healthz after the flood"
  stop_agent
  ;;

*)
  fail "unknown case"
  ;;
esac
echo "PASS [$case_name]"
