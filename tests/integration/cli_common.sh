# Shared helpers of the cli_*.sh tests (sourced), on top of
# tests/lib/common.sh. Each test gets a private temporary HOME ($work),
# processes in $pids are stopped by the EXIT trap (SIGTERM, then SIGKILL
# after 0.2 s), and fail() prints the logs of the case before exiting 1.
# Needs: $case_name and $bin set by the sourcing script.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../lib/common.sh
source "$here/../lib/common.sh"
init_work tc-cli
bindir=$(cd "$(dirname "$bin")" && pwd)
kill_grace=0.2
fail_logs=('*.log' '*.out' '*.err' '*.json')
fail_tail=40

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

# start_stub: `dev mcp-stub` on an ephemeral port; sets $stub (base URL).
start_stub() {
  spawn stub "dev mcp-stub" tcli_exec dev mcp-stub --listen-addr 127.0.0.1:0 \
    --url-file "$work/stub.url"
  stub=$spawned_url
}

# start_cp [flags]: `dev control-plane`; sets $cp.
start_cp() {
  spawn cp "dev control-plane" tcli_exec dev control-plane --listen 127.0.0.1:0 \
    --url-file "$work/cp.url" "$@"
  cp=$spawned_url
}

# start_fake NAME MODE [--unix PATH]: cli_fake_server.mjs; sets $fake.
start_fake() {
  local name=$1
  shift
  spawn "$name" "fake server $name" "$node_bin" "$here/cli_fake_server.mjs" "$work/$name.url" "$@"
  fake=$spawned_url
}

# jq_check FILE FILTER WHAT (prints jq's errors and more of FILE than
# tests/lib/common.sh's)
jq_check() {
  [[ $("$jq_bin" -r "$2" "$1" 2>&1) == true ]] ||
    fail "$3: jq '$2' is not true for $(head -c 3000 "$1")"
}

# one_line FILE WHAT: FILE holds exactly one non-empty line.
one_line() {
  [[ $(wc -l <"$1") -eq 1 && -s $1 ]] || fail "$2: want one stderr line, got: $(cat "$1")"
}
