# Shared helpers of the cli_*.sh tests (sourced). Each test gets a private
# temporary HOME ($work), processes started with start_bg are killed by the
# EXIT trap, and fail() prints the logs of the case before exiting 1.
# Needs: $case_name and $bin set by the sourcing script.
set -uo pipefail

curl_bin=${TC_CURL:-curl}
jq_bin=${TC_JQ:-jq}
node_bin=${TC_NODE:-node}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/tc-cli.XXXXXX")
bindir=$(cd "$(dirname "$bin")" && pwd)
pids=()

cleanup() {
  local p
  for p in "${pids[@]}"; do
    if kill -0 "$p" 2>/dev/null; then
      kill -TERM "$p" 2>/dev/null
      sleep 0.2
      kill -KILL "$p" 2>/dev/null
      wait "$p" 2>/dev/null
    fi
  done
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL [$case_name]: $*" >&2
  local f
  for f in "$work"/*.log "$work"/*.out "$work"/*.err "$work"/*.json; do
    [[ -f $f ]] && awk -v n="${f##*/}" '{print "  " n ": " $0}' "$f" | tail -n 40 >&2
  done
  exit 1
}

# tcli ARGS...: the binary in a clean environment (HOME=$work, plus any
# VAR=value words given in the tc_env array).
tc_env=()
tcli() {
  env -i PATH="$bindir:$PATH" HOME="$work" TMPDIR="$work" "${tc_env[@]}" "$bin" "$@"
}

# tcli_exec ARGS...: like tcli, but replaces the calling (sub)shell, so
# that `tcli_exec ... &` makes $! the binary's pid.
tcli_exec() {
  exec env -i PATH="$bindir:$PATH" HOME="$work" TMPDIR="$work" "${tc_env[@]}" "$bin" "$@"
}

# wait_file PATH PID WHAT: up to 10 s for a non-empty PATH.
wait_file() {
  local i
  for ((i = 0; i < 200; i++)); do
    [[ -s $1 ]] && return 0
    kill -0 "$2" 2>/dev/null || fail "$3 exited before writing $1"
    sleep 0.05
  done
  fail "$3 did not write $1 within 10s"
}

# start_stub: `dev mcp-stub` on an ephemeral port; sets $stub (base URL).
start_stub() {
  tcli_exec dev mcp-stub --listen-addr 127.0.0.1:0 --url-file "$work/stub.url" \
    >"$work/stub.log" 2>&1 &
  pids+=($!)
  wait_file "$work/stub.url" $! "dev mcp-stub"
  stub=$(cat "$work/stub.url")
}

# start_cp [flags]: `dev control-plane`; sets $cp.
start_cp() {
  tcli_exec dev control-plane --listen 127.0.0.1:0 --url-file "$work/cp.url" "$@" \
    >"$work/cp.log" 2>&1 &
  pids+=($!)
  wait_file "$work/cp.url" $! "dev control-plane"
  cp=$(cat "$work/cp.url")
}

# start_fake NAME MODE [--unix PATH]: cli_fake_server.mjs; sets $fake.
start_fake() {
  local name=$1
  shift
  "$node_bin" "$here/cli_fake_server.mjs" "$work/$name.url" "$@" \
    >"$work/$name.log" 2>&1 &
  pids+=($!)
  wait_file "$work/$name.url" $! "fake server $name"
  fake=$(cat "$work/$name.url")
}

# jq_check FILE FILTER WHAT
jq_check() {
  [[ $("$jq_bin" -r "$2" "$1" 2>&1) == true ]] ||
    fail "$3: jq '$2' is not true for $(head -c 3000 "$1")"
}

# one_line FILE WHAT: FILE holds exactly one non-empty line.
one_line() {
  [[ $(wc -l <"$1") -eq 1 && -s $1 ]] || fail "$2: want one stderr line, got: $(cat "$1")"
}
