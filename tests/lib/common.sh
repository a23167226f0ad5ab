# shellcheck shell=bash disable=SC2034,SC2154 # set here, used by the sourcing script; and the reverse
# tests/lib/common.sh — helpers shared by the shell tests under tests/
# (integration/*.sh, e2e/peers.sh); sourced, never run:
#
#   source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
#   init_work tc-e2e   # $work: a fresh temp dir; the EXIT trap runs cleanup
#
# The sourcing script runs under `set -uo pipefail` and sets $case_name (the
# tag of FAIL lines). After sourcing it may change:
#   pids        PIDs cleanup (the EXIT trap) SIGKILLs and reaps if alive
#   kill_grace  seconds cleanup waits after a SIGTERM before the SIGKILL
#               (default empty: SIGKILL at once)
#   fail_logs   globs under $work whose files fail prints (default *.log)
#   fail_tail   last lines of each such file fail prints (default 30; 0: all)
#   wait_file_s how long wait_file waits (default 10 s)
# and it redefines a function where its needs genuinely differ (cleanup,
# jq_check, ...). Tools: $curl_bin, $jq_bin, $node_bin (TC_CURL, TC_JQ,
# TC_NODE override them).
#
# Processes: fail, need_tools, spawn, wait_file, wait_log, await_exit,
# stop_pid, free_port, now_ms. The `dev control-plane` test API (needs $cp
# and $auth): dev_get, set_faults, inject, cp_stat, wait_stat. The agent
# (its URL in $work/health.url): completed_count, wait_completed. JSON:
# tool_call, jq_check.
#
# Waits are on files, ports, log lines and counters, each with a deadline;
# a test that must show that something does NOT happen waits for the event
# after which it could no longer happen (wait_completed), not for a time.

curl_bin=${TC_CURL:-curl}
jq_bin=${TC_JQ:-jq}
node_bin=${TC_NODE:-node}
pids=()
kill_grace=
fail_logs=('*.log')
fail_tail=30
wait_file_s=10

# init_work PREFIX: $work = a new temp dir named PREFIX.XXXXXX; installs
# the EXIT trap.
init_work() {
  work=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
  trap cleanup EXIT
}

# kill_pids: SIGKILL and reap every PID in $pids that is still alive; when
# $kill_grace is set, SIGTERM first and SIGKILL only if the PID is still
# alive $kill_grace s later.
kill_pids() {
  local p deadline
  for p in "${pids[@]}"; do
    if kill -0 "$p" 2>/dev/null; then
      if [[ -n $kill_grace ]]; then
        kill -TERM "$p" 2>/dev/null
        deadline=$(($(now_ms) + $(awk -v s="$kill_grace" 'BEGIN { printf "%d", s * 1000 }')))
        while kill -0 "$p" 2>/dev/null && (($(now_ms) < deadline)); do sleep 0.02; done
      fi
      kill -KILL "$p" 2>/dev/null
      wait "$p" 2>/dev/null
    fi
  done
}

cleanup() {
  kill_pids
  rm -rf "$work"
}

# fail MSG...: "FAIL [$case_name]: MSG", then the last $fail_tail lines of
# each file matching $fail_logs, each line prefixed with the file name, all
# on stderr; exit 1.
fail() {
  echo "FAIL [$case_name]: $*" >&2
  local g f
  for g in "${fail_logs[@]}"; do
    for f in "$work"/$g; do
      [[ -f $f ]] || continue
      if ((fail_tail > 0)); then tail -n "$fail_tail" "$f"; else cat "$f"; fi |
        awk -v n="${f##*/}" '{print "  " n ": " $0}' >&2
    done
  done
  exit 1
}

# need_tools TOOL...: fail unless every TOOL is on PATH.
need_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || fail "$tool is not installed (scripts/deps.sh installs it)"
  done
}

# wait_file PATH PID WHAT: wait up to $wait_file_s for a non-empty PATH;
# fail as soon as PID exits.
wait_file() {
  local i max=$((wait_file_s * 20))
  for ((i = 0; i < max; i++)); do
    [[ -s $1 ]] && return 0
    kill -0 "$2" 2>/dev/null || fail "$3 exited before writing $1"
    sleep 0.05
  done
  fail "$3 did not write $1 within ${wait_file_s}s"
}

# spawn NAME WHAT CMD...: CMD in the background, stdout and stderr to
# $work/NAME.log, its PID added to pids; waits (wait_file) until it wrote
# its URL to $work/NAME.url (CMD must be told that path). Sets
# $spawned_pid and $spawned_url.
spawn() {
  local name=$1 what=$2
  shift 2
  "$@" >"$work/$name.log" 2>&1 &
  spawned_pid=$!
  pids+=("$spawned_pid")
  wait_file "$work/$name.url" "$spawned_pid" "$what"
  spawned_url=$(cat "$work/$name.url")
}

# await_exit PID SECONDS: wait up to SECONDS for PID to exit; sets $rc to
# its exit status, or returns 1 with $rc empty when it is still running.
await_exit() {
  local i
  rc=
  for ((i = 0; i < $2 * 20; i++)); do
    if ! kill -0 "$1" 2>/dev/null; then
      wait "$1"
      rc=$?
      return 0
    fi
    sleep 0.05
  done
  return 1
}

# stop_pid PID WHAT [MAX_S]: SIGTERM; PID must exit 0 within MAX_S
# (default 20). Under a sanitizer a report makes the exit status non-zero.
stop_pid() {
  kill -TERM "$1" 2>/dev/null || fail "$2 is not running at the end"
  local rc
  await_exit "$1" "${3:-20}" || fail "$2 still running ${3:-20}s after SIGTERM"
  [[ $rc -eq 0 ]] || fail "$2 exit status $rc after SIGTERM, want 0"
}

# free_port: a port the kernel just handed out and released.
free_port() {
  "$node_bin" -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close();});'
}

now_ms() { date +%s%3N; }

# dev_get PATH: GET $cp/_dev/PATH to stdout.
dev_get() {
  "$curl_bin" -sS --max-time 10 -H "$auth" "$cp/_dev/$1" || fail "GET /_dev/$1 failed"
}

# dev_post PATH JSON: POST JSON to $cp/_dev/PATH; fail unless it answers 200.
dev_post() {
  local out
  out=$("$curl_bin" -sS --max-time 10 -H "$auth" -H 'Content-Type: application/json' \
    --data-binary "$2" -w ' %{http_code}' "$cp/_dev/$1") || fail "POST /_dev/$1 failed"
  [[ $out == *' 200' ]] || fail "POST /_dev/$1: $out"
}

# set_faults JSON: queue one-shot control-plane faults.
set_faults() { dev_post faults "$1"; }

# inject JSON_ARRAY: queue raw commands (as given; request_id/shard_token
# generated when absent).
inject() { dev_post commands "$1"; }

# cp_stat FILTER: a jq filter over /_dev/stats.
cp_stat() { dev_get stats | "$jq_bin" -r "$1"; }

# wait_stat FILTER WHAT [SECONDS]: poll /_dev/stats until FILTER yields
# true (default 10 s); fail with WHAT and the stats otherwise.
wait_stat() {
  local deadline=$(($(now_ms) + ${3:-10} * 1000))
  until [[ $(cp_stat "$1") == true ]]; do
    (($(now_ms) < deadline)) || fail "$2 (jq '$1' on /_dev/stats: $(dev_get stats))"
    sleep 0.05
  done
}

# completed_count [OUTCOME]: commands the agent whose ops URL is in
# $work/health.url has finished (tunnel_client_commands_completed_total
# summed; only those with outcome OUTCOME — ok, error, post_failed,
# no_response — when given).
completed_count() {
  "$curl_bin" -sf --max-time 5 "$(cat "$work/health.url")/metrics" |
    awk -v o="${1:+outcome=\"$1\"}" '$1 ~ /^tunnel_client_commands_completed_total\{/ &&
      (o == "" || index($1, o)) { n += $2 } END { print n + 0 }'
}

# wait_completed N WHAT [OUTCOME]: wait (10 s) until completed_count
# [OUTCOME] >= N. The agent counts a command after it is done with it: its
# terminal response posted, the post given up, or nothing posted because
# the deadline passed. So once counted, no post for it can still come: the
# barrier a test waits for before it checks that something was NOT posted.
wait_completed() {
  local deadline=$(($(now_ms) + 10000)) n
  until (((n = $(completed_count "${3:-}")) >= $1)); do
    (($(now_ms) < deadline)) || fail "$2 (the agent counts $n completed ${3:-} command(s), want $1)"
    sleep 0.05
  done
}

# wait_log FILE PATTERN WHAT [SECONDS]: wait until a line of FILE matches
# the grep -E PATTERN (default 10 s).
wait_log() {
  local deadline=$(($(now_ms) + ${4:-10} * 1000))
  until grep -qE -- "$2" "$1" 2>/dev/null; do
    (($(now_ms) < deadline)) || fail "$3 (no line matching '$2' in ${1##*/})"
    sleep 0.05
  done
}

# tool_call ID TOOL ARGS_JSON: a JSON-RPC tools/call request.
tool_call() {
  printf '{"jsonrpc":"2.0","id":%s,"method":"tools/call","params":{"name":"%s","arguments":%s}}' "$1" "$2" "$3"
}

# jq_check FILE FILTER WHAT: FILTER must yield true on FILE.
jq_check() {
  [[ $("$jq_bin" -r "$2" "$1" 2>/dev/null) == true ]] ||
    fail "$3 (jq '$2' on ${1##*/}: $(head -c 600 "$1"))"
}
