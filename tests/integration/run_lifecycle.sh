#!/usr/bin/env bash
# Lifecycle tests for `tunnel-client run` against the real binary.
#
# usage: run_lifecycle.sh CASE TUNNEL_CLIENT_BINARY PROJECT_VERSION
#
# Every daemon runs under `env -i` (no stray LOG_*/HEALTH_*/TUNNEL_* from the
# caller) with HOME in a private temp dir, a canary API key and an MCP URL
# that nobody listens on (127.0.0.1:9). The EXIT trap kills any daemon still
# running and removes the temp dir, so a failing case never leaks a process.
set -uo pipefail

case_name=${1:?case}
bin=${2:?tunnel-client binary}
version=${3:-}

# shellcheck source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
init_work tc-int
fail_logs=('*.stderr' '*.log')
fail_tail=0

CANARY="sk-canary-SECRET-$(od -An -tx1 -N8 /dev/urandom | tr -d ' \n')"
TUNNEL_ID="tunnel_0123456789abcdef0123456789abcdef"
MCP_URL="http://127.0.0.1:9/mcp"

# A minimal profile: tunnel id and a control plane nobody listens on; the
# API key comes from the environment.
write_profile() {
  cat >"$work/profile.yaml" <<EOF
config_version: 1
control_plane:
  base_url: "http://127.0.0.1:9"
  tunnel_id: "${1:-$TUNNEL_ID}"
health:
  listen_addr: "127.0.0.1:8080"
${2:-}
EOF
}

# run_tc NAME ARGS... : start the daemon in the background as NAME.
run_tc() {
  local name=$1
  shift
  env -i PATH="$PATH" HOME="$work" CONTROL_PLANE_API_KEY="$CANARY" \
    "$bin" run --profile-file "$work/profile.yaml" \
    --mcp.server-url "$MCP_URL" "$@" \
    >"$work/$name.stdout" 2>"$work/$name.stderr" &
  last_pid=$!
  pids+=("$last_pid")
}

# run_fg NAME ARGS... : run a command to completion (bounded), rc in $rc.
run_fg() {
  local name=$1
  shift
  env -i PATH="$PATH" HOME="$work" CONTROL_PLANE_API_KEY="$CANARY" \
    timeout 20 "$bin" "$@" >"$work/$name.stdout" 2>"$work/$name.stderr"
  rc=$?
}

# wait_for_file PATH PID: up to 10s; fails early when PID exits (unlike
# wait_file, the messages name the daemon and the file).
wait_for_file() {
  local i
  for ((i = 0; i < 200; i++)); do
    [[ -s $1 ]] && return 0
    kill -0 "$2" 2>/dev/null || fail "daemon exited before writing $1"
    sleep 0.05
  done
  fail "$1 did not appear within 10s"
}

# wait_exit PID SECONDS: sets $rc to the exit status; fails on timeout.
wait_exit() {
  await_exit "$1" "$2" || fail "daemon $1 still running ${2}s after the signal"
}

mode_of() { stat -c %a "$1"; }

assert_no_canary() {
  local f
  for f in "$@"; do
    [[ -f $f ]] || continue
    if grep -qF -- "$CANARY" "$f" || grep -qF -- "${CANARY#sk-canary-}" "$f"; then
      fail "the API key leaked into ${f##*/}"
    fi
  done
}

# One stderr line, exit 1, naming $2, without the canary.
assert_config_error() {
  local name=$1 needle=$2
  [[ $rc -eq 1 ]] || fail "exit status $rc, want 1"
  local lines
  lines=$(wc -l <"$work/$name.stderr")
  [[ $lines -eq 1 ]] || fail "stderr has $lines lines, want exactly 1"
  grep -q '^configure tunnel-client: ' "$work/$name.stderr" ||
    fail "stderr does not start with 'configure tunnel-client: '"
  grep -qiF -- "$needle" "$work/$name.stderr" ||
    fail "stderr does not name the problem ($needle)"
  assert_no_canary "$work/$name.stderr" "$work/$name.stdout"
}

# The full daemon round trip, stopped with signal $1.
lifecycle() {
  local sig=$1
  write_profile
  run_tc d --health.listen-addr 127.0.0.1:0 \
    --health.url-file "$work/health.url" --pid.file "$work/tc.pid" \
    --log.file "$work/tc.log"
  local pid=$last_pid
  wait_for_file "$work/health.url" "$pid"
  wait_for_file "$work/tc.pid" "$pid"

  local base
  base=$(cat "$work/health.url")
  [[ $base =~ ^http://127\.0\.0\.1:[0-9]+$ ]] || fail "url file holds '$base'"
  [[ $(wc -c <"$work/health.url") -eq ${#base} ]] ||
    fail "url file has a trailing newline"
  [[ $(mode_of "$work/health.url") == 600 ]] ||
    fail "url file mode $(mode_of "$work/health.url"), want 600"

  [[ $(cat "$work/tc.pid") == "$pid" ]] ||
    fail "pid file holds '$(cat "$work/tc.pid")', want $pid"
  [[ $(tail -c1 "$work/tc.pid" | od -An -c | tr -d ' ') == '\n' ]] ||
    fail "pid file does not end with a newline"
  [[ $(mode_of "$work/tc.pid") == 644 ]] ||
    fail "pid file mode $(mode_of "$work/tc.pid"), want 644"

  local code
  code=$("$curl_bin" -sS --max-time 5 -o "$work/body" -w '%{http_code}' \
    "$base/healthz") || fail "GET /healthz failed"
  [[ $code == 200 ]] || fail "/healthz status $code"
  [[ $(cat "$work/body") == live ]] || fail "/healthz body '$(cat "$work/body")'"
  code=$("$curl_bin" -sS --max-time 5 -o /dev/null -w '%{http_code}' \
    "$base/definitely-not-a-route")
  [[ $code == 404 ]] || fail "unknown route status $code, want 404"

  # The log file: 0600, startup lines, the health URL.
  local i
  for ((i = 0; i < 100; i++)); do
    grep -qF "HEALTH URL: $base" "$work/tc.log" 2>/dev/null && break
    sleep 0.05
  done
  grep -qF "HEALTH URL: $base" "$work/tc.log" || fail "no 'HEALTH URL: $base' log line"
  grep -qF "WEB UI: $base/ui" "$work/tc.log" || fail "no 'WEB UI:' log line"
  grep -qF "tunnel-client started" "$work/tc.log" || fail "no startup log line"
  [[ $(mode_of "$work/tc.log") == 600 ]] || fail "log file mode $(mode_of "$work/tc.log")"

  kill "-$sig" "$pid"
  wait_exit "$pid" 5
  [[ $rc -eq 0 ]] || fail "exit status $rc after SIG$sig, want 0"
  [[ ! -e $work/health.url ]] || fail "url file left behind"
  [[ ! -e $work/tc.pid ]] || fail "pid file left behind"
  grep -qF "shutting down" "$work/tc.log" || fail "no 'shutting down' log line"
  assert_no_canary "$work/tc.log" "$work/d.stderr" "$work/d.stdout"
}

case $case_name in
run_sigterm) lifecycle TERM ;;
run_sigint) lifecycle INT ;;

run_unix_socket)
  write_profile
  sock="$work/ops.sock"
  run_tc d --health.unix-socket "$sock" --health.url-file "$work/health.url" \
    --log.file "$work/tc.log"
  wait_for_file "$work/health.url" "$last_pid"
  base=$(cat "$work/health.url")
  [[ $base == http+unix://* ]] || fail "url file holds '$base'"
  decoded=$(printf '%s' "${base#http+unix://}" | tr '_-' '/+' |
    { read -r b; while ((${#b} % 4)); do b+='='; done; printf '%s' "$b"; } |
    base64 -d)
  [[ $decoded == "$sock" ]] || fail "url file decodes to '$decoded'"
  [[ -S $sock ]] || fail "no socket at $sock"
  body=$("$curl_bin" -sS --max-time 5 --unix-socket "$sock" \
    http://localhost/healthz) || fail "GET /healthz over the socket failed"
  [[ $body == live ]] || fail "/healthz body '$body'"
  kill -TERM "$last_pid"
  wait_exit "$last_pid" 5
  [[ $rc -eq 0 ]] || fail "exit status $rc"
  [[ ! -e $sock ]] || fail "socket left behind"
  [[ ! -e $work/health.url ]] || fail "url file left behind"
  assert_no_canary "$work/tc.log" "$work/d.stderr"
  ;;

run_second_signal)
  write_profile
  run_tc d --health.listen-addr 127.0.0.1:0 \
    --health.url-file "$work/health.url" --pid.file "$work/tc.pid" \
    --log.file "$work/tc.log"
  wait_for_file "$work/health.url" "$last_pid"
  wait_for_file "$work/tc.pid" "$last_pid"
  kill -TERM "$last_pid"
  kill -TERM "$last_pid" 2>/dev/null
  wait_exit "$last_pid" 5
  [[ $rc -eq 0 || $rc -eq 1 ]] || fail "exit status $rc, want 0 or 1"
  [[ ! -e $work/health.url ]] || fail "url file left behind"
  [[ ! -e $work/tc.pid ]] || fail "pid file left behind"
  ;;

run_start_error)
  # A first daemon holds a port; a second one asked for it must fail
  # cleanly: one line, exit 1, its pid file removed again.
  write_profile
  run_tc first --health.listen-addr 127.0.0.1:0 \
    --health.url-file "$work/first.url"
  first=$last_pid
  wait_for_file "$work/first.url" "$first"
  port=$(cat "$work/first.url")
  port=${port##*:}
  run_fg second run --profile-file "$work/profile.yaml" \
    --mcp.server-url "$MCP_URL" --health.listen-addr "127.0.0.1:$port" \
    --health.url-file "$work/second.url" --pid.file "$work/second.pid"
  [[ $rc -eq 1 ]] || fail "second daemon exit status $rc, want 1"
  [[ $(wc -l <"$work/second.stderr") -eq 1 ]] ||
    fail "second daemon stderr is not one line"
  grep -q "^start tunnel-client: .*127\.0\.0\.1:$port" "$work/second.stderr" ||
    fail "stderr does not say 'start tunnel-client: ...' with the address"
  [[ ! -e $work/second.pid ]] || fail "pid file of the failed start left behind"
  [[ ! -e $work/second.url ]] || fail "url file of the failed start exists"
  assert_no_canary "$work/second.stderr" "$work/second.stdout"
  kill -TERM "$first"
  wait_exit "$first" 5
  [[ $rc -eq 0 ]] || fail "first daemon exit status $rc"
  ;;

run_shared_pid_file)
  # Two agents given the same --pid.file and --health.url-file: the second
  # must refuse (naming the first one's pid) and touch neither file.
  write_profile
  run_tc first --health.listen-addr 127.0.0.1:0 \
    --health.url-file "$work/health.url" --pid.file "$work/tc.pid"
  first=$last_pid
  wait_for_file "$work/health.url" "$first"
  wait_for_file "$work/tc.pid" "$first"
  first_url=$(cat "$work/health.url")
  run_fg second run --profile-file "$work/profile.yaml" \
    --mcp.server-url "$MCP_URL" --health.listen-addr 127.0.0.1:0 \
    --health.url-file "$work/health.url" --pid.file "$work/tc.pid"
  [[ $rc -eq 1 ]] || fail "second agent exit status $rc, want 1"
  [[ $(wc -l <"$work/second.stderr") -eq 1 ]] ||
    fail "second agent stderr is not one line"
  grep -q "^start tunnel-client: pid file .*tc.pid is held by another tunnel-client (pid $first)" \
    "$work/second.stderr" || fail "stderr does not name the holder's pid $first"
  [[ $(cat "$work/tc.pid") == "$first" ]] ||
    fail "pid file now holds '$(cat "$work/tc.pid")', want $first"
  [[ $(cat "$work/health.url") == "$first_url" ]] ||
    fail "url file now holds '$(cat "$work/health.url")', want $first_url"
  code=$("$curl_bin" -sS --max-time 5 -o /dev/null -w '%{http_code}' \
    "$first_url/healthz") || fail "first agent's /healthz failed"
  [[ $code == 200 ]] || fail "first agent's /healthz status $code"
  assert_no_canary "$work/second.stderr" "$work/second.stdout"
  kill -TERM "$first"
  wait_exit "$first" 5
  [[ $rc -eq 0 ]] || fail "first agent exit status $rc"
  [[ ! -e $work/tc.pid ]] || fail "pid file left behind"
  [[ ! -e $work/health.url ]] || fail "url file left behind"
  # A stale pid file (no agent holds it) is taken over.
  echo 999999 >"$work/tc.pid"
  run_tc third --health.listen-addr 127.0.0.1:0 --pid.file "$work/tc.pid"
  third=$last_pid
  for ((i = 0; i < 200; i++)); do
    [[ $(cat "$work/tc.pid" 2>/dev/null) == "$third" ]] && break
    kill -0 "$third" 2>/dev/null || fail "agent refused a stale pid file"
    sleep 0.05
  done
  [[ $(cat "$work/tc.pid") == "$third" ]] || fail "stale pid file not taken over"
  kill -TERM "$third"
  wait_exit "$third" 5
  [[ ! -e $work/tc.pid ]] || fail "pid file left behind by the third agent"
  ;;

run_files_replaced)
  # An agent removes its pid file and URL file on stop only while they are
  # still its own. Another agent that shares the URL file (with its own pid
  # file) takes the URL file over; the first must leave it in place.
  write_profile
  run_tc first --health.listen-addr 127.0.0.1:0 \
    --health.url-file "$work/health.url" --pid.file "$work/first.pid"
  first=$last_pid
  wait_for_file "$work/health.url" "$first"
  wait_for_file "$work/first.pid" "$first"
  first_url=$(cat "$work/health.url")
  run_tc second --health.listen-addr 127.0.0.1:0 \
    --health.url-file "$work/health.url" --pid.file "$work/second.pid"
  second=$last_pid
  wait_for_file "$work/second.pid" "$second"
  for ((i = 0; i < 200; i++)); do
    [[ $(cat "$work/health.url") != "$first_url" ]] && break
    sleep 0.05
  done
  second_url=$(cat "$work/health.url")
  [[ $second_url != "$first_url" ]] || fail "second agent did not write the url file"
  # Someone replaces the first agent's pid file too.
  echo 424242 >"$work/first.pid.new"
  mv "$work/first.pid.new" "$work/first.pid"
  kill -TERM "$first"
  wait_exit "$first" 5
  [[ $rc -eq 0 ]] || fail "first agent exit status $rc"
  [[ $(cat "$work/health.url" 2>/dev/null) == "$second_url" ]] ||
    fail "first agent removed or changed the second agent's url file"
  [[ $(cat "$work/first.pid" 2>/dev/null) == 424242 ]] ||
    fail "first agent removed a pid file that was no longer its own"
  # The second signal's fast exit follows the same rule.
  echo 434343 >"$work/second.pid.new"
  mv "$work/second.pid.new" "$work/second.pid"
  echo "http://127.0.0.1:1" >"$work/health.url.new"
  mv "$work/health.url.new" "$work/health.url"
  kill -TERM "$second"
  kill -TERM "$second" 2>/dev/null
  wait_exit "$second" 5
  [[ $(cat "$work/second.pid" 2>/dev/null) == 434343 ]] ||
    fail "second signal removed a pid file that was no longer the agent's"
  [[ $(cat "$work/health.url" 2>/dev/null) == "http://127.0.0.1:1" ]] ||
    fail "second signal removed a url file that was no longer the agent's"
  ;;

run_stdio_child_isolation)
  # A stdio MCP server gets only descriptors 0, 1 and 2 and none of the
  # agent's secrets: the API key, OPENAI_ADMIN_KEY and a variable behind an
  # env: reference of a secret setting (a header value). A variable listed
  # in --mcp.command-pass-env is passed all the same. The child exits once
  # and is checked when restarted, by which time the agent's listener and
  # control-plane client hold descriptors of their own.
  write_profile
  mkdir "$work/child"
  child="sh -c 'd=\$TC_TEST_DIR; n=\$(ls \$d | grep -c ^fds); ls /proc/self/fd >\$d/fds.\$n; env >\$d/env.\$n; [ \$n -ge 1 ] || exit 3; exec sleep 600'"
  env -i PATH="$PATH" HOME="$work" CONTROL_PLANE_API_KEY="$CANARY" \
    OPENAI_ADMIN_KEY=admin-canary-ADMIN HDR_SECRET=hdr-canary-HDR \
    OPENAI_API_KEY=passed-openai-key KEEP_ME=kept TC_TEST_DIR="$work/child" \
    "$bin" run --profile-file "$work/profile.yaml" \
    --health.listen-addr 127.0.0.1:0 --health.url-file "$work/health.url" \
    --control-plane.extra-headers "X-Custom: env:HDR_SECRET" \
    --mcp.command-pass-env OPENAI_API_KEY --mcp.command "$child" \
    --log.file "$work/tc.log" >"$work/d.stdout" 2>"$work/d.stderr" &
  pid=$!
  pids+=("$pid")
  wait_for_file "$work/health.url" "$pid"
  wait_for_file "$work/child/env.1" "$pid"
  for ((i = 0; i < 100; i++)); do
    grep -q '^KEEP_ME=' "$work/child/env.1" && break
    sleep 0.05
  done
  fds=$(tr '\n' ' ' <"$work/child/fds.1")
  # ls lists its own descriptors: stdio plus 3, the directory it reads.
  # Anything inherited from the agent would take 3 and push that to 4+.
  [[ $fds == "0 1 2 3 " ]] ||
    fail "the restarted child holds descriptors '$fds', want only 0 1 2 (and ls's own 3)"
  grep -q '^KEEP_ME=kept$' "$work/child/env.1" || fail "an ordinary variable was not passed"
  grep -q '^OPENAI_API_KEY=passed-openai-key$' "$work/child/env.1" ||
    fail "OPENAI_API_KEY listed in --mcp.command-pass-env was not passed"
  for v in CONTROL_PLANE_API_KEY OPENAI_ADMIN_KEY HDR_SECRET; do
    grep -q "^$v=" "$work/child/env.0" "$work/child/env.1" &&
      fail "the child inherited $v"
  done
  grep -qF -- "${CANARY#sk-canary-}" "$work/child/env.0" "$work/child/env.1" &&
    fail "the API key value reached the child"
  grep -q 'withheld=.*CONTROL_PLANE_API_KEY' "$work/tc.log" ||
    fail "the log does not name the withheld variables"
  kill -TERM "$pid"
  wait_exit "$pid" 10
  [[ $rc -eq 0 ]] || fail "exit status $rc"
  assert_no_canary "$work/tc.log" "$work/d.stderr"
  ;;

config_bad_pass_env)
  write_profile
  run_fg c run --profile-file "$work/profile.yaml" --mcp.server-url "$MCP_URL" \
    --mcp.command-pass-env "1BAD"
  assert_config_error c "invalid variable name in --mcp.command-pass-env"
  ;;

run_bad_pid_file)
  write_profile
  run_fg c run --profile-file "$work/profile.yaml" --mcp.server-url "$MCP_URL" \
    --health.listen-addr 127.0.0.1:0 --health.url-file "$work/health.url" \
    --pid.file "$work/missing-dir/tc.pid"
  [[ $rc -eq 1 ]] || fail "exit status $rc, want 1"
  [[ $(wc -l <"$work/c.stderr") -eq 1 ]] || fail "stderr is not one line"
  grep -q '^start tunnel-client: pid file.*missing-dir/tc.pid' "$work/c.stderr" ||
    fail "stderr does not name the pid file"
  [[ ! -e $work/health.url ]] || fail "url file written although start failed"
  assert_no_canary "$work/c.stderr" "$work/c.stdout"
  ;;

config_bad_tunnel_id)
  write_profile "tunnel_NOT-valid"
  run_fg c run --profile-file "$work/profile.yaml" --mcp.server-url "$MCP_URL"
  assert_config_error c "tunnel"
  ;;

config_unknown_yaml_key)
  write_profile "$TUNNEL_ID" "bogus_section_key: 1"
  run_fg c run --profile-file "$work/profile.yaml" --mcp.server-url "$MCP_URL"
  assert_config_error c "bogus_section_key"
  ;;

config_bad_api_key)
  # A malformed key (spaces are not allowed) must be reported without
  # echoing the value.
  write_profile
  CANARY="canary key with SPACES $(od -An -tx1 -N4 /dev/urandom | tr -d ' \n')"
  run_fg c run --profile-file "$work/profile.yaml" --mcp.server-url "$MCP_URL"
  assert_config_error c "api"
  grep -qF "SPACES" "$work/c.stderr" && fail "the malformed key was echoed"
  ;;

version)
  run_fg v --version
  [[ $rc -eq 0 ]] || fail "--version exit status $rc"
  out=$(cat "$work/v.stdout")
  [[ -n $out ]] || fail "--version printed nothing"
  if [[ -n $version && $out != "$version"* && $out != *" $version"* ]]; then
    fail "--version printed '$out', want $version"
  fi
  ;;

*)
  echo "unknown case $case_name" >&2
  exit 2
  ;;
esac
echo "ok [$case_name]"
