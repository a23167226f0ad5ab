#!/usr/bin/env bash
# The first-use walk, in a temporary HOME: the commands printed by
# `tunnel-client help quickstart` ("  $ " lines) are run as printed, with
# a local `dev control-plane` standing in for the tunnel service (its
# tunnel id and API key are the quickstart's placeholder values, and
# CONTROL_PLANE_BASE_URL points the agent at it) and HEALTH_LISTEN_ADDR=
# 127.0.0.1:0 so no fixed port is used. Path 1 (embedded stub) must poll
# the control plane; paths 2-4 write profiles; path 5 + "Then" run
# init -> doctor -> run -> health against `dev mcp-stub`; a tools/call then
# goes through the tunnel to the stub.
#
# usage: cli_walkthrough.sh CASE TUNNEL_CLIENT_BINARY
case_name=${1:?case}
bin=${2:?tunnel-client binary}
source "$(dirname "$0")/cli_common.sh"

[[ $case_name == walkthrough_quickstart ]] || fail "unknown case"

tcli help quickstart >"$work/quickstart.txt" || fail "help quickstart failed"
# commands SECTION: the "  $ " lines of a section ("pre" = before Path 1).
commands() {
  awk -v want="$1" '
    /^Path [0-9]:/ { sect = "path" substr($2, 1, 1) }
    /^Then, / { sect = "then" }
    NR == 1 { sect = "pre" }
    /^  \$ / && sect == want { sub(/^  \$ /, ""); print }' "$work/quickstart.txt"
}
for s in pre path1 path2 path3 path4 path5 then; do
  [[ -n $(commands $s) ]] || fail "quickstart section $s has no commands"
done

# The placeholders the quickstart exports become the dev control plane's.
eval "$(commands pre)"
[[ $TUNNEL_ID == tunnel_* && -n $CONTROL_PLANE_API_KEY ]] || fail "quickstart exports"
start_cp --tunnel-id "$TUNNEL_ID" --api-key "$CONTROL_PLANE_API_KEY"
auth="Authorization: Bearer $CONTROL_PLANE_API_KEY"

# Path 2 needs npx on PATH (init checks the program exists); give a
# stand-in when node's npx is not installed.
mkdir -p "$work/bin"
if ! command -v npx >/dev/null; then
  printf '#!/bin/sh\nexit 0\n' >"$work/bin/npx"
  chmod +x "$work/bin/npx"
fi

# run_section NAME...: the sections' commands as one bash script; a
# command ending in '&' has its pid recorded in bg.pids.
qs_env=(env -i PATH="$bindir:$work/bin:$PATH" HOME="$work" TMPDIR="$work"
  CONTROL_PLANE_BASE_URL="$cp" HEALTH_LISTEN_ADDR=127.0.0.1:0
  CONTROL_PLANE_POLL_TIMEOUT=1s)
run_section() {
  local out=$work/qs.sh n=0 line
  : >"$out"
  echo 'set -e' >>"$out"
  commands pre >>"$out"
  for s in "$@"; do
    while IFS= read -r line; do
      n=$((n + 1))
      echo "$line" >>"$out"
      if [[ $line == *'&' ]]; then
        echo "echo \$! >>\"\$HOME/bg.pids\"" >>"$out"
      fi
      echo "echo __step_ok $n" >>"$out"
    done < <(commands "$s")
  done
  steps=$n
  (cd "$work" && "${qs_env[@]}" timeout 25 bash "$out") >"$work/qs.out" 2>"$work/qs.err"
}

cp_polls() {
  "$curl_bin" -sS --max-time 5 -H "$auth" "$cp/_dev/stats" | "$jq_bin" -r .polls
}

# Path 1: the embedded stub agent polls the control plane, stops on TERM.
before=$(cp_polls)
(cd "$work" && exec "${qs_env[@]}" bash -c "$(commands pre)
exec $(commands path1)") >"$work/path1.log" 2>&1 &
p1=$!
pids+=($p1)
for ((i = 0; i < 100; i++)); do
  (($(cp_polls) > before)) && break
  kill -0 $p1 2>/dev/null || fail "path 1 agent exited: $(tail -5 "$work/path1.log")"
  sleep 0.1
done
(($(cp_polls) > before)) || fail "path 1 agent did not poll within 10s"
kill -TERM $p1
wait $p1
rc=$?
[[ $rc == 0 ]] || fail "path 1 agent: exit $rc after SIGTERM, want 0"

# Paths 2-4: profiles written.
run_section path2 path3 path4
[[ $(grep -c '^__step_ok' "$work/qs.out") == "$steps" ]] ||
  fail "paths 2-4 stopped early: $(cat "$work/qs.err")"
for p in local remote corp; do
  [[ -f $work/.config/tunnel-client/$p.yaml ]] || fail "profile $p not written"
done
grep -q '^Sample: sample_mcp_enterprise_proxy' "$work/qs.out" || fail "corp sample"

# Path 5 and "Then": stub, init, doctor, run, health.
run_section path5 then
qs_rc=$?
while read -r p; do pids+=("$p"); done <"$work/bg.pids"
# Every command but the last (health) completed.
[[ $(grep -c '^__step_ok' "$work/qs.out") -ge $((steps - 1)) ]] ||
  fail "quickstart stopped early (exit $qs_rc): $(cat "$work/qs.err")"
grep -q '^Created profile demo at ' "$work/qs.out" || fail "init did not create demo"
grep -q '^RESULT ok$' "$work/qs.out" || fail "doctor did not pass"
grep -q '^CHECK oauth_metadata .*PASS' "$work/qs.out" || fail "doctor did not find the stub's OAuth"
grep -q '^healthz  OK' "$work/qs.out" || fail "health: healthz not OK"
if grep -q '^readyz   FAIL (HTTP 404' "$work/qs.out"; then
  # The agent has no /readyz yet: health must call that not healthy.
  [[ $qs_rc == 2 ]] || fail "health with /readyz 404: exit $qs_rc, want 2"
  grep -q '^Result: FAIL$' "$work/qs.out" || fail "health with /readyz 404: no Result: FAIL"
else
  # Ready once the first poll and the MCP probe are done: the quickstart
  # says to run health again while the agent starts.
  health_cmd=$(commands then | tail -n 1)
  for ((i = 0; i < 40 && qs_rc != 0; i++)); do
    sleep 0.25
    (cd "$work" && "${qs_env[@]}" bash -c "$health_cmd") >"$work/health.out" 2>&1
    qs_rc=$?
  done
  [[ $qs_rc == 0 ]] || fail "health: exit $qs_rc, want 0: $(cat "$work/health.out")"
  grep -q '^Result: OK$' "$work/health.out" "$work/qs.out" || fail "health: no Result: OK"
fi

# A real MCP call through the tunnel reaches the stub via the agent.
body='{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"input":"walkthrough"}}}'
"$curl_bin" -sS --max-time 20 -H 'Content-Type: application/json' \
  -H 'Accept: application/json, text/event-stream' --data-binary "$body" \
  -o "$work/call.json" "$cp/v1/mcp/$TUNNEL_ID" || fail "MCP call through the tunnel failed"
jq_check "$work/call.json" '.id == 7 and .result.structuredContent.echoed == "walkthrough"' \
  "echo through the tunnel"

# Stop the agent: it removes its URL file on a clean stop.
agent=$(sed -n 2p "$work/bg.pids")
kill -TERM "$agent"
for ((i = 0; i < 100; i++)); do
  kill -0 "$agent" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$agent" 2>/dev/null && fail "agent still running 10s after SIGTERM"
[[ ! -e $work/tc-health.url ]] || fail "agent left its URL file behind"
exit 0
