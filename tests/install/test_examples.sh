#!/usr/bin/env bash
# The SDK examples as a module author uses them: install tunnel-client into a
# temporary prefix, build sdk/examples/* against the INSTALLED SDK with CMake
# (find_package) and with pkg-config (make), run their own fake-host tests,
# then load them into the installed daemon from a profile and send a real
# MCP call through the mcp-unix transport to a unix-socket MCP server, while
# metrics-jsonl writes the daemon's metrics to a file.
#
# usage: test_examples.sh BUILD_DIR SOURCE_DIR C_COMPILER [SANITIZE]
# SANITIZE (address|thread|"") matches the build, because the installed
# fake-host library carries the same instrumentation.
set -uo pipefail
build=$1 src=$2 cc=$3 san=${4:-}
work=$(mktemp -d "${TMPDIR:-/tmp}/tc-examples.XXXXXX")
prefix=$work/prefix
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  for f in "$work"/*.log; do [[ -f $f ]] && sed "s|^|  ${f##*/}: |" "$f" | tail -n 30 >&2; done
  exit 1
}

case $san in
  address) sanflags="-fsanitize=address,undefined -fno-sanitize-recover=all" ;;
  thread) sanflags="-fsanitize=thread" ;;
  *) sanflags="" ;;
esac

cmake --install "$build" --prefix "$prefix" >/dev/null || fail "cmake --install"
pc=$(find "$prefix" -name tunnel-client-sdk.pc | head -n1)
export PKG_CONFIG_PATH=$(dirname "$pc")
pkg-config --exists tunnel-client-fakehost || fail "tunnel-client-fakehost.pc not installed"
[[ -f $prefix/include/tc/fakehost.h ]] || fail "tc/fakehost.h not installed"
bin=$prefix/bin/tunnel-client

# 1. Build each example both ways, from a copy outside the source tree (so
#    nothing can reach into core/), and run its own tests.
for ex in mcp-unix metrics-jsonl; do
  cp -r "$src/sdk/examples/$ex" "$work/src-$ex"
  cmake -S "$work/src-$ex" -B "$work/cmake-$ex" -DCMAKE_C_COMPILER="$cc" \
    -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_FLAGS="-Wall -Wextra -Werror $sanflags" \
    >"$work/cmake-$ex.log" 2>&1 || fail "$ex: cmake configure against the installed SDK"
  cmake --build "$work/cmake-$ex" >>"$work/cmake-$ex.log" 2>&1 || fail "$ex: cmake build"
  ctest --test-dir "$work/cmake-$ex" --output-on-failure >>"$work/cmake-$ex.log" 2>&1 ||
    fail "$ex: its fake-host test failed (CMake build)"
  make -C "$work/src-$ex" CC="$cc" CFLAGS="-O1 -g -Werror $sanflags" all check \
    >"$work/make-$ex.log" 2>&1 || fail "$ex: pkg-config build or its test failed"
done
moddir=$work/modules
mkdir -p "$moddir"
cp "$work/src-mcp-unix/mcp-unix.so" "$work/cmake-metrics-jsonl/metrics-jsonl.so" "$moddir/" ||
  fail "example modules not built"

# 2. `modules describe` shows the example's config fields.
out=$("$bin" modules describe mcp-unix --modules.dir "$moddir" 2>&1) || fail "describe: $out"
for want in connect_timeout max_message_bytes "2s" "newline JSON over a unix socket"; do
  grep -q -- "$want" <<<"$out" || fail "modules describe mcp-unix lacks '$want': $out"
done

# 3. A real MCP call through the daemon and the custom transport.
wait_file() {
  for ((i = 0; i < 200; i++)); do
    [[ -s $1 ]] && return 0
    kill -0 "$2" 2>/dev/null || fail "$3 exited early"
    sleep 0.05
  done
  fail "$3 did not write $1"
}
sock=$work/mcp.sock
node "$src/tests/install/unix_mcp_server.mjs" "$sock" "$work/server.ready" >"$work/server.log" 2>&1 &
pids+=($!)
wait_file "$work/server.ready" $! "unix MCP server"

tid=tunnel_33333333333333333333333333333333
key=local-tunnel-client-dev-proxy
"$bin" dev control-plane --tunnel-id "$tid" --api-key "$key" --listen 127.0.0.1:0 --url-file "$work/cp.url" >"$work/cp.log" 2>&1 &
pids+=($!)
wait_file "$work/cp.url" $! "dev control-plane"
cp=$(cat "$work/cp.url")

cat >"$work/profile.yaml" <<EOF
control_plane:
  base_url: $cp
  tunnel_id: $tid
  poll_timeout: 1s
mcp:
  server_urls:
    - channel=main,transport=mcp-unix,url=http://localhost/mcp,unix-socket=$sock
modules:
  - mcp-unix
  - name: metrics-jsonl
    config:
      path: $work/metrics.jsonl
      interval: 200ms
EOF
env -i PATH="$PATH" HOME="$work" CONTROL_PLANE_API_KEY="$key" "$bin" run \
  --profile-file "$work/profile.yaml" --modules.dir "$moddir" \
  --health.listen-addr 127.0.0.1:0 --health.url-file "$work/health.url" \
  >"$work/agent.log" 2>&1 &
agent=$!
pids+=($agent)
wait_file "$work/health.url" $agent "tunnel-client run"

call() {
  curl -sS --max-time 20 -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' --data-binary "$1" \
    "$cp/v1/mcp/$tid" 2>&1
}
init=$(call '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}')
grep -q '"unix-mcp"' <<<"$init" || fail "initialize through mcp-unix: $init"
out=$(call '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"through a custom transport"}}}')
grep -q 'unix echo: through a custom transport' <<<"$out" || fail "tools/call through mcp-unix: $out"
grep -q 'notifications/progress' <<<"$out" || fail "the progress notification did not come through: $out"
grep -q 'method tools/call' "$work/server.log" || fail "the unix server never saw tools/call"

# The sink wrote the daemon's own metrics, including the example's counter.
for ((i = 0; i < 50; i++)); do
  grep -q '"name":"mcp_unix_calls_total","labels":{"outcome":"ok"},"value":2' \
    "$work/metrics.jsonl" 2>/dev/null && break
  sleep 0.1
done
grep -q '"name":"mcp_unix_calls_total","labels":{"outcome":"ok"},"value":2' "$work/metrics.jsonl" ||
  fail "metrics.jsonl lacks mcp_unix_calls_total=2: $(tail -n 5 "$work/metrics.jsonl" 2>&1)"

kill -TERM $agent
for ((i = 0; i < 200; i++)); do kill -0 $agent 2>/dev/null || break; sleep 0.1; done
wait $agent || fail "the agent exited with status $? after SIGTERM"
echo "examples: built with CMake and pkg-config against the installed SDK, tests passed, MCP call through mcp-unix ok"
