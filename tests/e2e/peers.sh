#!/usr/bin/env bash
# End-to-end tests with real third-party MCP peers from npm: the reference
# "everything" MCP server behind `tunnel-client dev proxy`, driven by the
# official TypeScript SDK client, by raw fetch() reading the SSE stream, and
# by the MCP conformance suite — each compared with a direct connection to
# the same server.
#
# usage: peers.sh CASE TUNNEL_CLIENT_BINARY E2E_DIR
#
# E2E_DIR is tests/e2e after `npm ci --prefix tests/e2e` (scripts/test runs
# it): node_modules holds the SDK, the server, the conformance suite and a
# Node 22 binary (the suite needs Node >= 22). Cases:
#   peers_http        server in Streamable HTTP mode, binding --mcp-server-url:
#                     SDK session direct vs tunnel (sdk_compare.mjs), then
#                     progress events counted on the wire (sse_progress.mjs)
#   peers_stdio       same with the server as a stdio child (--mcp-command);
#                     the direct SDK session spawns its own stdio child
#   peers_server_requests  an SDK-built server (sdk_server.mjs) whose tools
#                     ask the client something on the session's standalone
#                     stream, behind an HTTP binding: the calls end at once
#                     with the server's error text, not at the deadline;
#                     and 100 SSE answers reuse connections
#                     (server_requests.mjs)
#   conformance       conformance server suite (active scenarios) against
#                     the HTTP server directly, through a tunnel with an
#                     HTTP binding and through one with a stdio binding (the
#                     three runs at once): the same status for every check,
#                     except the documented session difference of the stdio
#                     binding (conformance_compare.mjs); the everything
#                     server has no DNS-rebinding protection, which the
#                     tunnel's ingress adds (--unprotected-server)
#   conformance_rebinding  the scenario dns-rebinding-protection against a
#                     server with the SDK's own protection (protected_http.mjs:
#                     Host only, and Host plus Origin) directly and through
#                     the tunnel, and against a stdio server through the
#                     tunnel: every check passes in every run, so the
#                     verdict through the tunnel is the direct one
#
# Every process listens on 127.0.0.1 with an ephemeral port (URL files),
# runs under `env -i` with HOME in a private temp dir, and is stopped by PID
# (the EXIT trap kills what is left). The dev proxy must exit 0 on SIGTERM.
set -uo pipefail

case_name=${1:?case}
bin=${2:?tunnel-client binary}
e2e_dir=${3:?tests/e2e dir}
node22=$e2e_dir/node_modules/.bin/node
everything_js=$e2e_dir/node_modules/@modelcontextprotocol/server-everything/dist/index.js
conformance_js=$e2e_dir/node_modules/@modelcontextprotocol/conformance/dist/index.js

# shellcheck source=../lib/common.sh
source "$(dirname "$0")/../lib/common.sh"
init_work tc-peers
# A Node server needs a few seconds to load on a busy machine.
wait_file_s=20

node_path=$(command -v "$node_bin") || fail "node is not installed (scripts/deps.sh installs it)"
[[ -f $everything_js && -f $conformance_js && -x $node22 ]] ||
  fail "MCP peers missing: run npm ci --prefix tests/e2e"
[[ $("$node22" --version) == v22.* ]] || fail "$node22 is not Node 22"

# run_env CMD...: a clean environment with a private HOME. Background
# processes use "${clean_env[@]}" directly, so that $! is their own PID.
clean_env=(env -i PATH="$PATH" HOME="$work")
run_env() { "${clean_env[@]}" "$@"; }

# start_everything_http: the server in Streamable HTTP mode; sets $direct.
start_everything_http() {
  spawn everything "everything server (HTTP)" \
    "${clean_env[@]}" "$node_path" "$e2e_dir/everything_http.mjs" "$work/everything.url"
  direct=$spawned_url
}

# start_proxy NAME FLAGS...: `dev proxy` with the given MCP source; sets
# $tunnel (its MCP URL) and ${NAME}_pid.
start_proxy() {
  local name=$1
  shift
  "${clean_env[@]}" "$bin" dev proxy --url-file "$work/$name.json" "$@" >"$work/$name.log" 2>&1 &
  local pid=$!
  pids+=($pid)
  printf -v "${name}_pid" %s $pid
  wait_file "$work/$name.json" $pid "dev proxy ($name)"
  tunnel=$(sed -n 's/.*"mcp_url":"\([^"]*\)".*/\1/p' "$work/$name.json")
  [[ $tunnel == http://127.0.0.1:* ]] || fail "no mcp_url in $(cat "$work/$name.json")"
}

# phase WHAT: a line with the seconds since the start, for the ctest log.
phase() { echo "== [${SECONDS}s] $*"; }

# in_e2e SCRIPT ARGS...: a test script, run from E2E_DIR so that the npm
# packages resolve; its output goes to the ctest log.
in_e2e() { (cd "$e2e_dir" && run_env timeout 100 "$node_path" "$@"); }

# conformance NAME URL [ARGS...]: the server suite (active scenarios, or
# what ARGS select) into $work/conf-NAME (the suite's exit 1 only means
# some check failed). Returns 1 (with the reason on stderr) when it could
# not run.
conformance() {
  local name=$1 url=$2
  shift 2
  (cd "$work" && run_env timeout 90 "$node22" "$conformance_js" server --url "$url" \
    -o "$work/conf-$name" "$@" >"$work/conf-$name.out" 2>&1)
  local rc=$?
  if [[ $rc -gt 1 || -z $(ls "$work/conf-$name" 2>/dev/null) ]]; then
    echo "conformance ($name): exit status $rc, results: $(ls "$work/conf-$name" 2>/dev/null | wc -l)" >&2
    tail -n 5 "$work/conf-$name.out" >&2
    return 1
  fi
}

stdio_cmd="'$node_path' '$everything_js' stdio"

case $case_name in
peers_http)
  start_everything_http
  start_proxy proxy --mcp-server-url "$direct"
  phase "SDK session: direct vs tunnel (HTTP binding)"
  in_e2e sdk_compare.mjs --tunnel "$tunnel" --direct-url "$direct" --binding http ||
    fail "SDK session through the tunnel differs from the direct one"
  phase "progress notifications on the wire"
  in_e2e sse_progress.mjs --tunnel "$tunnel" --direct "$direct" ||
    fail "progress notifications through the tunnel"
  stop_pid "$proxy_pid" "dev proxy"
  ;;

peers_stdio)
  start_proxy proxy --mcp-command "$stdio_cmd"
  phase "SDK session: direct stdio vs tunnel (stdio binding)"
  in_e2e sdk_compare.mjs --tunnel "$tunnel" --binding stdio \
    --direct-stdio "$node_path" "$everything_js" stdio ||
    fail "SDK session through the tunnel differs from the direct one"
  phase "progress notifications on the wire"
  in_e2e sse_progress.mjs --tunnel "$tunnel" || fail "progress notifications through the tunnel"
  stop_pid "$proxy_pid" "dev proxy"
  ;;

peers_server_requests)
  spawn sdkserver "SDK server" "${clean_env[@]}" "$node_path" "$e2e_dir/sdk_server.mjs" \
    "$work/sdkserver.url"
  start_proxy proxy --mcp-server-url "$spawned_url" --response-timeout 10s
  phase "server->client requests on the standalone stream; SSE connection reuse"
  in_e2e server_requests.mjs --tunnel "$tunnel" --deadline-ms 10000 \
    --conns "$work/sdkserver.url.conns" ||
    fail "server requests or connection reuse through the tunnel"
  stop_pid "$proxy_pid" "dev proxy"
  ;;

conformance)
  # One direct run and one through each binding, all three at once.
  start_everything_http
  start_proxy http_proxy --mcp-server-url "$direct"
  http_tunnel=$tunnel
  start_proxy stdio_proxy --mcp-command "$stdio_cmd"
  stdio_tunnel=$tunnel
  phase "conformance: 3 runs"
  conformance direct "$direct" &
  c1=$!
  conformance http "$http_tunnel" &
  c2=$!
  conformance stdio "$stdio_tunnel" &
  c3=$!
  wait $c1
  r1=$?
  wait $c2
  r2=$?
  wait $c3
  r3=$?
  ((r1 == 0 && r2 == 0 && r3 == 0)) || fail "a conformance run did not complete (direct $r1, http $r2, stdio $r3)"
  phase "conformance: direct vs tunnel with an HTTP binding"
  in_e2e conformance_compare.mjs "$work/conf-direct" "$work/conf-http" --unprotected-server ||
    fail "conformance results through the tunnel (HTTP binding) differ from the direct ones"
  phase "conformance: direct vs tunnel with a stdio binding"
  in_e2e conformance_compare.mjs "$work/conf-direct" "$work/conf-stdio" --stdio-binding \
    --unprotected-server ||
    fail "conformance results through the tunnel (stdio binding) differ from the direct ones"
  stop_pid "$http_proxy_pid" "dev proxy (HTTP binding)"
  stop_pid "$stdio_proxy_pid" "dev proxy (stdio binding)"
  ;;

conformance_rebinding)
  # The SDK's protection as a loopback server sets it up (Host only), and
  # with the transport's Host and Origin allowlists.
  rebind=(--scenario dns-rebinding-protection)
  for mode in host strict; do
    spawn "protected_$mode" "protected MCP server ($mode)" \
      "${clean_env[@]}" "$node_path" "$e2e_dir/protected_http.mjs" "$mode" "$work/protected_$mode.url"
    printf -v "direct_$mode" %s "$spawned_url"
    start_proxy "proxy_$mode" --mcp-server-url "$spawned_url"
    printf -v "tunnel_$mode" %s "$tunnel"
  done
  start_proxy proxy_stdio --mcp-command "$stdio_cmd"
  tunnel_stdio=$tunnel
  phase "dns-rebinding-protection: direct and through the tunnel"
  for run in host strict; do
    direct_url=direct_$run
    tunnel_url=tunnel_$run
    conformance "$run-direct" "${!direct_url}" "${rebind[@]}" || fail "conformance ($run, direct) did not run"
    conformance "$run-tunnel" "${!tunnel_url}" "${rebind[@]}" || fail "conformance ($run, tunnel) did not run"
    in_e2e conformance_compare.mjs "$work/conf-$run-direct" "$work/conf-$run-tunnel" --no-basics \
      --require dns-rebinding-protection ||
      fail "dns-rebinding-protection through the tunnel differs from the direct verdict ($run)"
  done
  # A stdio server has no Host or Origin to check: the ingress gives the
  # verdict a protected server gives directly.
  conformance stdio-tunnel "$tunnel_stdio" "${rebind[@]}" || fail "conformance (stdio, tunnel) did not run"
  in_e2e conformance_compare.mjs "$work/conf-strict-direct" "$work/conf-stdio-tunnel" --no-basics \
    --require dns-rebinding-protection ||
    fail "dns-rebinding-protection through the tunnel (stdio binding) differs from a protected server's"
  for p in host strict stdio; do
    pid=proxy_${p}_pid
    stop_pid "${!pid}" "dev proxy ($p)"
  done
  ;;

*)
  echo "unknown case $case_name" >&2
  exit 2
  ;;
esac
echo "ok [$case_name] in ${SECONDS}s"
