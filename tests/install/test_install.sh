#!/usr/bin/env bash
# Install into a temporary prefix, check the installed layout, then build an
# out-of-tree module twice (CMake package and pkg-config) and load both with
# the installed binary.
# Usage: test_install.sh BUILD_DIR SOURCE_DIR C_COMPILER
set -euo pipefail
build=$1 src=$2 cc=$3
work=$(mktemp -d /tmp/tc-install.XXXXXX)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

cmake --install "$build" --prefix "$prefix" >/dev/null
fail() { echo "FAIL: $*" >&2; exit 1; }

[ -x "$prefix/bin/tunnel-client" ] || fail "binary not installed"
pc=$(find "$prefix" -name tunnel-client-sdk.pc | head -n1)
[ -n "$pc" ] || fail "tunnel-client-sdk.pc not installed"
cfg=$(find "$prefix" -name TunnelClientSDKConfig.cmake | head -n1)
[ -n "$cfg" ] || fail "CMake package not installed"
for h in version module host transport hook net metrics errors headers; do
  [ -f "$prefix/include/tc/$h.h" ] || fail "SDK header tc/$h.h not installed"
done
export PKG_CONFIG_PATH=$(dirname "$pc")
moddir=$(pkg-config --variable=moduledir tunnel-client-sdk)
moddir=$(cd "$moddir" && pwd) || fail "pkg-config moduledir does not exist"
[ "$moddir" = "$(cd "$prefix" && pwd)/$(cd "$prefix" && ls -d lib*/tunnel-client/modules)" ] ||
  fail "moduledir $moddir is not under the install prefix"
for m in mcp-http mcp-stdio auth-oauth proxy metrics-prometheus metrics-statsd; do
  [ -f "$moddir/$m.so" ] || fail "module $m.so not installed in $moddir"
done
# Private core headers must not be installed.
[ -z "$(find "$prefix/include" -name 'config.h' -o -name 'loader.h')" ] || fail "core headers installed"

# 1. CMake package consumer.
cmake -S "$src/tests/install/consumer" -B "$work/consumer" -DCMAKE_C_COMPILER="$cc" \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_FLAGS="-Wall -Wextra -Werror" >/dev/null
cmake --build "$work/consumer" >/dev/null
so=$(find "$work/consumer" -name consumer-hook.so | head -n1)
[ -n "$so" ] || fail "consumer-hook.so not built"

# 2. pkg-config consumer.
mkdir -p "$work/pc"
"$cc" -std=c11 -Wall -Wextra -Werror -shared -fPIC -fvisibility=hidden \
  $(pkg-config --cflags tunnel-client-sdk) -o "$work/pc/consumer-hook.so" \
  "$src/tests/install/consumer/consumer_hook.c"

for dir in "$(dirname "$so")" "$work/pc"; do
  out=$("$prefix/bin/tunnel-client" modules list --modules.dir "$moddir" --module consumer-hook \
        --modules.dir "$dir" 2>&1) || fail "installed binary refused the consumer module: $out"
  echo "$out" | grep -q "consumer-hook" || fail "consumer-hook not listed: $out"
done
# The installed binary loads the installed built-ins.
out=$("$prefix/bin/tunnel-client" modules list --modules.dir "$moddir" 2>&1) || fail "$out"
for m in mcp-http mcp-stdio auth-oauth proxy metrics-prometheus metrics-statsd; do
  echo "$out" | grep -q "^$m" || fail "installed module $m not listed: $out"
done
echo "install layout, CMake package, pkg-config and module loading: ok"
