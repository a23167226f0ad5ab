#!/usr/bin/env bash
# deploy/systemd/tunnel-client.service: checked without a running systemd.
#
# usage: systemd_unit.sh CASE TUNNEL_CLIENT_BINARY NOTIFY_SINK_BINARY SOURCE_DIR
#
#   systemd_verify    `systemd-analyze verify` accepts the unit (with
#                     ExecStart= pointed at the built binary) without a
#                     single warning, and the unit keeps its hardening
#   systemd_security  `systemd-analyze security --offline` exposure, printed;
#                     fails above 2.0
#   systemd_unit_runs the unit's own ExecStart= command line and the keys of
#                     its EnvironmentFile, with %d (the credentials
#                     directory) holding the api-key credential, start an
#                     agent that reaches READY=1 on a notification socket
#                     and answers a tools/call through the tunnel
set -uo pipefail

case_name=${1:?case}
bin=${2:?tunnel-client binary}
sink_bin=${3:?notify_sink binary}
src=${4:?source dir}
unit=$src/deploy/systemd/tunnel-client.service
envfile=$src/deploy/systemd/tunnel-client.env

# shellcheck source=../lib/common.sh
source "$src/tests/lib/common.sh"
init_work tc-systemd
fail_logs=('*.log' '*.out')
fail_tail=40

[[ -f $unit && -f $envfile ]] || fail "missing $unit or $envfile"
need_tools systemd-analyze

# The unit with ExecStart= running the binary under test.
verify_copy() {
  mkdir -p "$work/units"
  sed "s|^ExecStart=/usr/local/bin/tunnel-client |ExecStart=$bin |" "$unit" >"$work/units/tunnel-client.service"
  grep -q "^ExecStart=$bin " "$work/units/tunnel-client.service" ||
    fail "ExecStart= does not start with /usr/local/bin/tunnel-client: $(grep ^ExecStart= "$unit")"
}

case $case_name in
systemd_verify)
  verify_copy
  (cd "$work/units" && systemd-analyze verify ./tunnel-client.service) >"$work/verify.out" 2>&1
  rc=$?
  [[ $rc == 0 ]] || fail "systemd-analyze verify exit $rc: $(cat "$work/verify.out")"
  [[ ! -s $work/verify.out ]] || fail "systemd-analyze verify warned: $(cat "$work/verify.out")"
  # The contract of the unit (docs/deployment.md): each line must stay.
  for want in 'Type=notify' 'NotifyAccess=main' 'DynamicUser=yes' 'NoNewPrivileges=yes' \
    'ProtectSystem=strict' 'ProtectHome=yes' 'PrivateTmp=yes' \
    'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' 'CapabilityBoundingSet=' \
    'SystemCallFilter=@system-service' 'LoadCredential=api-key:/etc/tunnel-client/api-key' \
    'EnvironmentFile=/etc/tunnel-client/tunnel-client.env' 'Restart=on-failure' \
    'WatchdogSec=30s' 'TimeoutStopSec=30s'; do
    grep -qx "$want" "$unit" || fail "the unit lost '$want'"
  done
  echo "systemd-analyze verify: no warning"
  ;;

systemd_security)
  verify_copy
  systemd-analyze security --offline=true --no-pager "$work/units/tunnel-client.service" >"$work/security.out" 2>&1 ||
    fail "systemd-analyze security failed: $(tail -5 "$work/security.out")"
  level=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\) .*/\1/p' "$work/security.out")
  [[ -n $level ]] || fail "no exposure level in: $(tail -5 "$work/security.out")"
  echo "systemd-analyze security exposure: $level"
  grep '✗' "$work/security.out" | sed 's/^/  /'
  awk -v l="$level" 'BEGIN { exit !(l <= 2.0) }' || fail "exposure $level is above 2.0"
  ;;

systemd_unit_runs)
  need_tools "$jq_bin" "$node_bin" "$curl_bin"
  key=local-tunnel-client-dev-proxy
  tid=tunnel_22222222222222222222222222222222
  spawn stub "dev mcp-stub" env -i PATH="$PATH" HOME="$work" "$bin" dev mcp-stub \
    --listen-addr 127.0.0.1:0 --url-file "$work/stub.url"
  target=$spawned_url/mcp
  spawn cp "dev control-plane" env -i PATH="$PATH" HOME="$work" "$bin" dev control-plane \
    --listen 127.0.0.1:0 --url-file "$work/cp.url"
  cp=$spawned_url
  # %d = $CREDENTIALS_DIRECTORY holding the api-key credential (0400).
  mkdir -p "$work/credentials"
  printf '%s\n' "$key" >"$work/credentials/api-key"
  chmod 0400 "$work/credentials/api-key"
  exec_line=$(sed -n 's/^ExecStart=//p' "$unit")
  read -r -a argv <<<"${exec_line//%d/$work/credentials}"
  [[ ${argv[0]} == /usr/local/bin/tunnel-client ]] || fail "unexpected ExecStart= binary ${argv[0]}"
  argv[0]=$bin
  # The EnvironmentFile's keys, with this machine's tunnel, MCP server and a
  # free health port; every other key as shipped.
  port=$(free_port)
  envs=()
  while IFS= read -r line; do
    [[ $line =~ ^[A-Z_]+= ]] || continue
    case ${line%%=*} in
    CONTROL_PLANE_TUNNEL_ID) line=CONTROL_PLANE_TUNNEL_ID=$tid ;;
    MCP_SERVER_URL) line=MCP_SERVER_URL=$target ;;
    HEALTH_LISTEN_ADDR) line=HEALTH_LISTEN_ADDR=127.0.0.1:$port ;;
    esac
    envs+=("$line")
  done <"$envfile"
  ((${#envs[@]} >= 3)) || fail "the EnvironmentFile sets too few keys: ${envs[*]}"
  "$sink_bin" "$work/notify.sock" >"$work/notify.out" 2>&1 &
  pids+=($!)
  for ((i = 0; i < 200; i++)); do [[ -S $work/notify.sock ]] && break; sleep 0.05; done
  env -i PATH="$PATH" "${envs[@]}" CONTROL_PLANE_BASE_URL="$cp" \
    NOTIFY_SOCKET="$work/notify.sock" "${argv[@]}" >"$work/agent.log" 2>&1 &
  agent_pid=$!
  pids+=("$agent_pid")
  for ((i = 0; i < 300; i++)); do
    grep -q 'READY=1' "$work/notify.out" && break
    kill -0 "$agent_pid" 2>/dev/null || fail "the agent exited: $(tail -5 "$work/agent.log")"
    sleep 0.05
  done
  grep -q 'READY=1' "$work/notify.out" || fail "no READY=1 within 15s"
  [[ $("$curl_bin" -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz") == 200 ]] ||
    fail "/readyz is not 200 after READY=1"
  out=$("$curl_bin" -sS --max-time 30 -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' \
    --data-binary "$(tool_call 1 echo '{"input":"systemd"}')" "$cp/v1/mcp/$tid")
  [[ $("$jq_bin" -r '.result.structuredContent.echoed' <<<"$out") == systemd ]] ||
    fail "tools/call through the tunnel: $out"
  grep -q "$key" "$work/agent.log" && fail "the API key appears in the log"
  stop_pid "$agent_pid" "tunnel-client run"
  grep -q 'STOPPING=1' "$work/notify.out" || fail "no STOPPING=1 at SIGTERM"
  ;;

*)
  fail "unknown case"
  ;;
esac
echo "ok [$case_name]"
