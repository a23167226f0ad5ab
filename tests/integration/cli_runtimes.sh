#!/usr/bin/env bash
# `tunnel-client runtimes` against real processes: a dev control plane and a
# dev MCP stub on 127.0.0.1:0, and background `run` agents started by
# `runtimes connect` in a private HOME (state in ~/.local/state/tunnel-client,
# profiles in ~/.config/tunnel-client).
#
# usage: cli_runtimes.sh CASE TUNNEL_CLIENT_BINARY
#
# The EXIT trap stops every runtime the case started (by the pids in
# processes.yaml, process group first), the tmux server of the case, and the
# helper daemons ($pids), then removes the temp dir.
set -uo pipefail

case_name=${1:?case}
bin=${2:?tunnel-client binary}

# shellcheck source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
init_work tc-rt
state="$work/.local/state/tunnel-client"
profiles="$work/.config/tunnel-client"
fail_logs=('*.stderr' '*.stdout' '.local/state/tunnel-client/logs/*.log')
fail_tail=20

CANARY="sk-canary-SECRET-$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')"
TUNNEL_ID="tunnel_22222222222222222222222222222222"
ADMIN_KEY="admin-$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')"

cleanup() {
  if [[ -f $state/processes.yaml ]]; then
    local p
    for p in $("$jq_bin" -r '.processes[] | select(.pid != null) | .pid' \
      "$state/processes.yaml" 2>/dev/null); do
      kill -KILL "-$p" 2>/dev/null
      kill -KILL "$p" 2>/dev/null
    done
    local s
    for s in $("$jq_bin" -r '.processes[] | select(.tmux_socket != null) |
      .tmux_socket' "$state/processes.yaml" 2>/dev/null | sort -u); do
      tmux -L "$s" kill-server 2>/dev/null
    done
  fi
  kill_pids
  rm -rf "$work"
}

# tc NAME ARGS...: run the CLI to completion (bounded) with a clean
# environment; stdout/stderr in $work/NAME.*, exit status in $rc.
tc() {
  local name=$1
  shift
  env -i PATH="$PATH" HOME="$work" CONTROL_PLANE_API_KEY="$CANARY" \
    ${TC_EXTRA_ENV:-} timeout 40 "$bin" "$@" \
    >"$work/$name.stdout" 2>"$work/$name.stderr" </dev/null
  rc=$?
}

wait_for_file() {
  local i
  for ((i = 0; i < 200; i++)); do
    [[ -s $1 ]] && return 0
    sleep 0.05
  done
  fail "$1 did not appear within 10s"
}

start_helpers() {
  "$bin" dev control-plane --listen 127.0.0.1:0 --api-key "$CANARY" \
    --admin-key "$ADMIN_KEY" --url-file "$work/cp.url" \
    >"$work/cp.stdout" 2>"$work/cp.stderr" &
  pids+=($!)
  "$bin" dev mcp-stub --listen-addr 127.0.0.1:0 --url-file "$work/stub.url" \
    >"$work/stub.stdout" 2>"$work/stub.stderr" &
  pids+=($!)
  wait_for_file "$work/cp.url"
  wait_for_file "$work/stub.url"
  CP=$(cat "$work/cp.url")
  MCP="$(cat "$work/stub.url")/mcp"
}

jqf() { "$jq_bin" -r "$1" "$2"; }

# A process that exists and is not a zombie (a stopped runtime may linger
# as a zombie when nothing reaps orphans in this container).
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  ! ps -o stat= -p "$1" | grep -q Z
}

pid_of() { jqf ".processes[\"$1\"].pid" "$state/processes.yaml"; }

assert_no_canary() {
  local f
  for f in "$@"; do
    [[ -f $f ]] || continue
    grep -qF -- "${CANARY#sk-canary-}" "$f" &&
      fail "the runtime API key leaked into $f"
  done
  return 0
}

# One stderr line, exit $2, the text $3 in it.
assert_error() {
  local name=$1 want=$2 needle=$3
  [[ $rc -eq $want ]] || fail "$name: exit status $rc, want $want"
  local lines
  lines=$(wc -l <"$work/$name.stderr")
  [[ $lines -eq 1 ]] || fail "$name: stderr has $lines lines, want 1"
  grep -qF -- "$needle" "$work/$name.stderr" ||
    fail "$name: stderr lacks '$needle': $(cat "$work/$name.stderr")"
}

connect() { # NAME ALIAS [more flags]
  local name=$1 alias=$2
  shift 2
  tc "$name" runtimes connect --alias "$alias" --tunnel-id "$TUNNEL_ID" \
    --mcp-server-url "$MCP" --control-plane-base-url "$CP" --wait 10s "$@"
}

case $case_name in
runtimes_lifecycle)
  start_helpers
  # connect: text report, a detached process in its own session.
  connect c1 My_Docs
  [[ $rc -eq 0 ]] || fail "connect exit $rc"
  grep -q '^Connected my-docs using process mode$' "$work/c1.stdout" ||
    fail "no 'Connected my-docs using process mode' line"
  pid=$(pid_of my-docs)
  [[ $pid =~ ^[0-9]+$ ]] || fail "no pid recorded ($pid)"
  alive "$pid" || fail "runtime pid $pid is not running"
  [[ $(ps -o sid= -p "$pid" | tr -d ' ') == "$pid" ]] ||
    fail "runtime is not a session leader (setsid)"
  [[ -s $work/c1.stderr ]] && fail "stderr not empty when not a TTY: $(cat "$work/c1.stderr")"

  # status --json: the contract fields.
  tc s1 runtimes status my-docs --json
  [[ $rc -eq 0 ]] || fail "status exit $rc"
  [[ $(jqf .process_running "$work/s1.stdout") == true ]] || fail "process_running"
  [[ $(jqf .healthy "$work/s1.stdout") == true ]] || fail "healthy"
  st=$(jqf .runtime_state "$work/s1.stdout")
  ready=$(jqf .ready "$work/s1.stdout")
  [[ $st == ready || $st == healthy ]] || fail "runtime_state $st"
  [[ ($st == ready && $ready == true) || ($st == healthy && $ready == false) ]] ||
    fail "runtime_state $st disagrees with ready=$ready"
  [[ $(jqf .tunnel_id "$work/s1.stdout") == "$TUNNEL_ID" ]] || fail "tunnel_id"
  [[ $(jqf .pid "$work/s1.stdout") == "$pid" ]] || fail "pid"
  [[ $(jqf '.next_steps | length' "$work/s1.stdout") -ge 1 ]] || fail "next_steps"
  [[ $(jqf .remote.id "$work/s1.stdout") == "$TUNNEL_ID" ]] ||
    fail "remote lookup did not reach the control plane"
  url=$(jqf .health_url "$work/s1.stdout")
  code=$(curl -s -o /dev/null -w '%{http_code}' "$url/healthz")
  [[ $code == 200 ]] || fail "health URL $url/healthz -> $code"

  # The agent really polls: /_dev/stats counts its polls.
  polls=0
  for ((i = 0; i < 40; i++)); do
    polls=$(curl -s -H "Authorization: Bearer $CANARY" "$CP/_dev/stats" |
      "$jq_bin" -r .polls)
    [[ $polls -ge 1 ]] && break
    sleep 0.1
  done
  [[ $polls -ge 1 ]] || fail "the runtime never polled the control plane"

  # Text status: first line alias<TAB>state<TAB>tunnel.
  tc s2 runtimes status my-docs
  head -n1 "$work/s2.stdout" | grep -qP "^my-docs\t$st\t$TUNNEL_ID$" ||
    fail "status text first line: $(head -n1 "$work/s2.stdout")"

  # State files: 0600, JSON, no key value anywhere (only references).
  for f in aliases.yaml processes.yaml history.md health/my-docs.url; do
    [[ $(stat -c %a "$state/$f") == 600 ]] || fail "$f mode $(stat -c %a "$state/$f")"
  done
  [[ $(stat -c %a "$profiles/my-docs.yaml") == 600 ]] || fail "profile mode"
  [[ $(jqf .control_plane.api_key "$profiles/my-docs.yaml") == env:CONTROL_PLANE_API_KEY ]] ||
    fail "profile api_key is not the reference"
  ls "$state" | grep -q '\.tmp' && fail "temporary file left in the state dir"
  assert_no_canary "$state"/*.yaml "$state/history.md" "$profiles/my-docs.yaml" \
    "$work/c1.stdout" "$work/s1.stdout" "$state/logs/my-docs.log"

  # connect again: already running, no second process.
  connect c2 my-docs
  [[ $rc -eq 0 ]] || fail "second connect exit $rc"
  grep -q 'already running' "$work/c2.stdout" || fail "second connect did not say already running"
  [[ $(pid_of my-docs) == "$pid" ]] || fail "second connect replaced the process"

  # list
  tc l1 runtimes list
  grep -qE "^my-docs +$st +$TUNNEL_ID +$pid" "$work/l1.stdout" || fail "list: $(cat "$work/l1.stdout")"

  # rm while running is refused.
  tc r1 runtimes rm my-docs
  assert_error r1 1 "stop it first"

  # stop: process gone, URL file removed, state stopped; twice is fine.
  tc st1 runtimes stop my-docs
  [[ $rc -eq 0 ]] || fail "stop exit $rc"
  grep -q "^Stopped my-docs (pid $pid)" "$work/st1.stdout" || fail "stop output"
  alive "$pid" && fail "pid $pid still alive after stop"
  [[ -e $state/health/my-docs.url ]] && fail "URL file left after stop"
  tc st2 runtimes disconnect my-docs --json
  [[ $rc -eq 0 && $(jqf .already_stopped "$work/st2.stdout") == true ]] ||
    fail "second stop: rc $rc"
  tc s3 runtimes status my-docs --json
  [[ $(jqf .runtime_state "$work/s3.stdout") == stopped &&
    $(jqf .process_running "$work/s3.stdout") == false ]] || fail "status after stop"
  grep -q 'action=connect alias=my-docs' "$state/history.md" || fail "history"

  # rm: records, profile, URL and log are gone.
  tc r2 runtimes rm my-docs
  [[ $rc -eq 0 ]] || fail "rm exit $rc"
  [[ -e $profiles/my-docs.yaml || -e $state/logs/my-docs.log ]] &&
    fail "rm left files"
  [[ $(jqf '.aliases | length' "$state/aliases.yaml") == 0 ]] || fail "alias record left"
  tc s4 runtimes status my-docs
  assert_error s4 1 "unknown alias my-docs"
  tc s5 runtimes status my-docs --json
  [[ $rc -eq 2 && $(jqf .error "$work/s5.stdout") == "unknown alias" ]] ||
    fail "status --json of an unknown alias: rc $rc"
  ;;

runtimes_stale)
  start_helpers
  connect c1 st
  [[ $rc -eq 0 ]] || fail "connect exit $rc"
  pid=$(pid_of st)
  # The process dies behind our back.
  kill -KILL "-$pid"
  for ((i = 0; i < 50; i++)); do
    alive "$pid" || break
    sleep 0.05
  done
  tc s1 runtimes status st --json
  [[ $(jqf .process_running "$work/s1.stdout") == false ]] || fail "dead pid reported running"
  [[ $(jqf .stale "$work/s1.stdout") == true ]] || fail "dead pid not stale"
  [[ $(jqf .runtime_state "$work/s1.stdout") == stopped ]] || fail "state not stopped"
  jqf '.local.issues[]' "$work/s1.stdout" | grep -q 'stale process record' ||
    fail "no stale issue"
  jqf '.repair_actions[]' "$work/s1.stdout" | grep -q 'runtimes stop st' ||
    fail "no repair action"

  # The pid now belongs to another program: recorded start time differs.
  sleep 30 &
  other=$!
  pids+=("$other")
  "$jq_bin" --argjson p "$other" '.processes.st.pid = $p |
    .processes.st.mode = "process" | .processes.st.start_ticks = "1"' \
    "$state/processes.yaml" >"$work/p.json" && cp "$work/p.json" "$state/processes.yaml"
  tc s2 runtimes status st --json
  [[ $(jqf .process_running "$work/s2.stdout") == false ]] || fail "reused pid reported running"
  jqf '.local.issues[]' "$work/s2.stdout" | grep -q 'belongs to another program' ||
    fail "reused pid not detected: $(jqf .local.issues "$work/s2.stdout")"
  tc st1 runtimes stop st
  [[ $rc -eq 0 ]] || fail "stop exit $rc"
  grep -q 'cleared its stale process record' "$work/st1.stdout" || fail "stop output"
  alive "$other" || fail "stop signalled a process that is not the runtime"
  tc s3 runtimes status st --json
  [[ $(jqf .stale "$work/s3.stdout") == false ]] || fail "stale record not cleared"
  ;;

runtimes_cleanup)
  start_helpers
  connect c1 live
  [[ $rc -eq 0 ]] || fail "connect live exit $rc"
  connect c2 gone
  [[ $rc -eq 0 ]] || fail "connect gone exit $rc"
  connect c3 kept
  [[ $rc -eq 0 ]] || fail "connect kept exit $rc"
  tc x1 runtimes stop gone
  tc x2 runtimes stop kept
  rm -f "$profiles/gone.yaml"
  tc k1 runtimes cleanup --json
  [[ $rc -eq 0 ]] || fail "cleanup exit $rc"
  cls() { jqf ".entries[] | select(.alias == \"$1\") | .class" "$work/k1.stdout"; }
  [[ $(cls live) == live_runtime ]] || fail "live -> $(cls live)"
  [[ $(cls gone) == stale_alias ]] || fail "gone -> $(cls gone)"
  [[ $(cls kept) == valid_profile ]] || fail "kept -> $(cls kept)"
  [[ $(jqf '.aliases | length' "$state/aliases.yaml") == 3 ]] || fail "dry run removed something"
  tc k2 runtimes cleanup
  grep -q "cleanup --apply" "$work/k2.stdout" || fail "dry run does not mention --apply"
  tc k3 runtimes cleanup --apply
  [[ $rc -eq 0 ]] || fail "cleanup --apply exit $rc"
  [[ $(jqf '.aliases | keys | join(",")' "$state/aliases.yaml") == "kept,live" ]] ||
    fail "after --apply: $(jqf '.aliases | keys' "$state/aliases.yaml")"
  [[ -e $state/logs/gone.log ]] && fail "stale alias log kept"
  alive "$(pid_of live)" || fail "cleanup touched the live runtime"
  tc x3 runtimes stop live
  ;;

runtimes_unknown_tunnel)
  # A well-formed tunnel id the control plane does not know: connect and
  # status say healthy but not ready, with the agent's reason; the same
  # commands for a known tunnel say ready.
  start_helpers
  unknown=tunnel_44444444444444444444444444444444
  tc u1 runtimes connect --alias ghost --tunnel-id "$unknown" \
    --mcp-server-url "$MCP" --control-plane-base-url "$CP" --wait 3s --json
  [[ $rc -eq 0 ]] || fail "connect of an unknown tunnel id: exit $rc, want 0 (healthy)"
  [[ $(jqf .runtime_state "$work/u1.stdout") == healthy && $(jqf .ready "$work/u1.stdout") == false ]] ||
    fail "connect reports $(jqf .runtime_state "$work/u1.stdout") ready=$(jqf .ready "$work/u1.stdout"), want healthy, not ready"
  tc u2 runtimes status ghost --json
  [[ $(jqf .ready "$work/u2.stdout") == false ]] || fail "status: ready is not false"
  [[ $(jqf .runtime_state "$work/u2.stdout") == healthy ]] ||
    fail "status: runtime_state $(jqf .runtime_state "$work/u2.stdout"), want healthy"
  [[ $(jqf .local.health.readyz_status "$work/u2.stdout") == 503 ]] || fail "status: /readyz status is not 503"
  jqf .readiness "$work/u2.stdout" | grep -q '^control plane does not know this tunnel id (HTTP 404): check control_plane.tunnel_id' ||
    fail "status: readiness is '$(jqf .readiness "$work/u2.stdout")'"
  "$jq_bin" -e '.next_steps | any(startswith("not ready yet: control plane does not know this tunnel id"))' \
    "$work/u2.stdout" >/dev/null || fail "status: next steps do not give the reason"
  tc u3 runtimes status ghost
  grep -q $'^ghost\thealthy\t'"$unknown" "$work/u3.stdout" || fail "text status: $(head -1 "$work/u3.stdout")"
  grep -q 'does not know this tunnel id' "$work/u3.stdout" || fail "text status does not give the reason"
  # The known tunnel: ready.
  connect k1 known --json
  [[ $rc -eq 0 ]] || fail "connect of the known tunnel: exit $rc"
  [[ $(jqf .runtime_state "$work/k1.stdout") == ready && $(jqf .ready "$work/k1.stdout") == true ]] ||
    fail "known tunnel: $(jqf .runtime_state "$work/k1.stdout") ready=$(jqf .ready "$work/k1.stdout"), want ready"
  tc k2 runtimes status known --json
  [[ $(jqf .ready "$work/k2.stdout") == true && $(jqf .readiness "$work/k2.stdout") == ready ]] ||
    fail "status of the known tunnel is not ready"
  tc s1 runtimes stop ghost
  tc s2 runtimes stop known
  assert_no_canary "$work"/*.stdout "$work"/*.stderr
  ;;

runtimes_errors)
  start_helpers
  tc h1 runtimes --help
  [[ $rc -eq 0 ]] && grep -q '^Examples:' "$work/h1.stdout" || fail "runtimes --help"
  tc h2 runtimes connect --help
  [[ $rc -eq 0 ]] && grep -q 'connect --alias' "$work/h2.stdout" || fail "connect --help"
  tc h3 help runtimes
  [[ $rc -eq 0 ]] && grep -q 'runtimes status' "$work/h3.stdout" || fail "help runtimes"
  tc e1 runtimes bogus
  assert_error e1 1 'unknown command "bogus"'
  tc e2 runtimes connect --alias x --tunnel-id "$TUNNEL_ID" --mcp-server-url "$MCP" \
    --runtime-api-key "$CANARY"
  assert_error e2 1 "must be env:NAME or file:PATH"
  assert_no_canary "$work/e2.stderr"
  tc e3 runtimes connect --alias x --tunnel-id "$TUNNEL_ID" \
    --mcp-server-url "http://user:pw@127.0.0.1:1/mcp"
  assert_error e3 1 "inline credential"
  tc e4 runtimes connect --alias '___' --mcp-server-url "$MCP"
  assert_error e4 1 "invalid alias"
  tc e5 runtimes connect --alias x --tunnel-id "$TUNNEL_ID" --mcp-server-url "$MCP" \
    --runtime-api-key env:NOPE_NOT_SET
  assert_error e5 1 "NOPE_NOT_SET"
  tc e6 runtimes connect --alias x --mcp-server-url "$MCP"
  assert_error e6 1 "--tunnel-id"
  # The agent exits during start-up: exit 1 naming the log, state stopped.
  tc e7 runtimes connect --alias bad --tunnel-id "$TUNNEL_ID" \
    --mcp-command /nonexistent/mcp-server --control-plane-base-url "$CP" --wait 10s
  assert_error e7 1 "bad exited during start-up"
  grep -qF "$state/logs/bad.log" "$work/e7.stderr" || fail "e7 does not name the log"
  tc e8 runtimes status bad --json
  [[ $(jqf .runtime_state "$work/e8.stdout") == stopped ]] || fail "bad not stopped"
  # Never healthy within --wait: exit 2 with the payload in --json. The
  # wrapper holds the agent back until a file that nobody creates exists
  # (`runtimes stop` ends it).
  cat >"$work/slow.sh" <<EOF
#!/bin/sh
until [ -e "$work/never" ]; do sleep 0.05; done
exec "$bin" "\$@"
EOF
  chmod +x "$work/slow.sh"
  tc e9 runtimes connect --alias slow --tunnel-id "$TUNNEL_ID" --mcp-server-url "$MCP" \
    --control-plane-base-url "$CP" --wait 300ms --json --tunnel-client-bin "$work/slow.sh"
  [[ $rc -eq 2 ]] || fail "not healthy in --json: exit $rc, want 2"
  [[ $(jqf .runtime_state "$work/e9.stdout") == starting ]] || fail "e9 state"
  [[ -s $work/e9.stderr ]] && fail "--json printed on stderr"
  tc e10 runtimes stop slow
  [[ $rc -eq 0 ]] || fail "stop slow exit $rc"
  ;;

runtimes_progress_pty)
  start_helpers
  command -v script >/dev/null || fail "script(1) is required"
  # A wrapper that holds the agent back until the pty shows three progress
  # frames, so the wait takes a while however fast the agent starts.
  cat >"$work/slow.sh" <<EOF
#!/bin/sh
until [ "\$(tr '\\r' '\\n' <"$work/pty.out" | grep -c 'waiting for tty')" -ge 3 ]; do
  sleep 0.05
done
exec "$bin" "\$@"
EOF
  # Where no progress may show, the agent is held back 1 s: the window in
  # which a spinner would have drawn several frames.
  cat >"$work/hold.sh" <<EOF
#!/bin/sh
sleep 1
exec "$bin" "\$@"
EOF
  chmod +x "$work/slow.sh" "$work/hold.sh"
  cmd="runtimes connect --alias tty --tunnel-id $TUNNEL_ID --mcp-server-url $MCP"
  cmd+=" --control-plane-base-url $CP --wait 10s --tunnel-client-bin"
  quiet_cmd="$cmd $work/hold.sh"
  cmd+=" $work/slow.sh"
  # On a pseudo-terminal: spinner frames with carriage returns on stderr.
  env -i PATH="$PATH" HOME="$work" CONTROL_PLANE_API_KEY="$CANARY" TERM=dumb \
    timeout 30 script -qfec "$bin $cmd" /dev/null >"$work/pty.out" 2>&1
  rc=$?
  [[ $rc -eq 0 ]] || fail "connect on a pty exit $rc"
  grep -q 'waiting for tty: starting (health URL file pending)' "$work/pty.out" ||
    fail "no progress line on the pty: $(od -c "$work/pty.out" | head)"
  frames=$(tr '\r' '\n' <"$work/pty.out" | grep -c 'waiting for tty')
  [[ $frames -ge 3 ]] || fail "only $frames progress frames"
  grep -q 'Connected tty using process mode' "$work/pty.out" || fail "no result on the pty"
  tc s1 runtimes stop tty
  # Not a TTY: no progress at all.
  tc p2 $quiet_cmd
  [[ $rc -eq 0 ]] || fail "connect without a tty exit $rc"
  grep -q 'waiting for' "$work/p2.stdout" "$work/p2.stderr" && fail "progress without a TTY"
  tc s2 runtimes stop tty
  # --json on a pty: quiet too.
  env -i PATH="$PATH" HOME="$work" CONTROL_PLANE_API_KEY="$CANARY" TERM=dumb \
    timeout 30 script -qfec "$bin $quiet_cmd --json" /dev/null >"$work/pty2.out" 2>&1
  grep -q 'waiting for' "$work/pty2.out" && fail "progress with --json"
  tc s3 runtimes stop tty
  ;;

runtimes_tmux)
  command -v tmux >/dev/null || { echo "SKIP [$case_name]: no tmux"; exit 77; }
  start_helpers
  connect c1 tm --mode tmux
  [[ $rc -eq 0 ]] || fail "connect --mode tmux exit $rc"
  grep -q 'Connected tm using tmux mode' "$work/c1.stdout" || fail "tmux connect output"
  sock=$(jqf .processes.tm.tmux_socket "$state/processes.yaml")
  sess=$(jqf .processes.tm.session_name "$state/processes.yaml")
  [[ $sess == tunnel-mcp__tm__* ]] || fail "session name $sess"
  tmux -L "$sock" has-session -t "=$sess" || fail "no tmux session"
  tc s1 runtimes status tm --json
  [[ $(jqf .tmux.session_name "$work/s1.stdout") == "$sess" &&
    $(jqf .process_running "$work/s1.stdout") == true &&
    $(jqf .healthy "$work/s1.stdout") == true ]] || fail "tmux status"
  tc s2 runtimes stop tm
  [[ $rc -eq 0 ]] || fail "stop exit $rc"
  tmux -L "$sock" has-session -t "=$sess" 2>/dev/null && fail "tmux session left"
  # An agent that exits at once in its tmux session: reported, exit 1.
  tc e1 runtimes connect --alias tmbad --mode tmux --tunnel-id "$TUNNEL_ID" \
    --mcp-command /nonexistent/mcp-server --control-plane-base-url "$CP" --wait 10s
  assert_error e1 1 "tmbad exited during start-up"
  ;;

*) fail "unknown case" ;;
esac
echo "PASS [$case_name]"
