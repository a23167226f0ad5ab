#!/usr/bin/env bash
# deploy/container/Containerfile, built and run for real with podman:
#
#   1. a Debian 12 base image made from Debian packages only (mmdebstrap
#      --variant=minbase, then `podman import`); kept as
#      localhost/tunnel-client-test-base:bookworm and reused by later runs
#      (TC_CONTAINER_REBUILD_BASE=1 makes it again);
#   2. the Containerfile built on it (BASE_IMAGE build argument);
#   3. the image checked: non-root USER, HEALTH_LISTEN_ADDR=:8080, the
#      entrypoint, the modules in /usr/lib/tunnel-client/modules;
#   4. run with a read-only root file system (no tmpfs either), all
#      capabilities dropped, no-new-privileges, the API key from a mounted
#      file, --network=host, against `dev control-plane` + `dev mcp-stub` on
#      the host: /readyz turns 200, a tools/call through the tunnel returns
#      the echo, the process runs as uid 10001, `podman stop` drains it to
#      exit status 0.
# Prints the image size and the time of each step ("REPORT ...").
#
# usage: container_test.sh TUNNEL_CLIENT_BINARY SOURCE_DIR
#
# Exit 77 (skipped) when podman, runc or mmdebstrap is missing or podman
# cannot run a container here, unless TC_CONTAINER_TEST=required (then it
# fails). The podman settings this machine kind needs (runc; no default
# ulimits) live in a containers.conf of the test, not in the image.
set -uo pipefail

case_name=container_build_run
bin=${1:?tunnel-client binary}
src=${2:?source dir}
tid=tunnel_22222222222222222222222222222222
key=local-tunnel-client-dev-proxy
base_tag=localhost/tunnel-client-test-base:bookworm
image=localhost/tunnel-client-test:$$
name=tunnel-client-test-$$
mirror=${TC_DEBIAN_MIRROR:-http://deb.debian.org/debian}

# shellcheck source=../lib/common.sh
source "$src/tests/lib/common.sh"
init_work tc-container
fail_logs=('*.log')
fail_tail=40

skip() {
  if [[ ${TC_CONTAINER_TEST:-} == required ]]; then
    fail "$* (TC_CONTAINER_TEST=required)"
  fi
  echo "SKIP [$case_name]: $*"
  exit 77
}

for tool in podman runc mmdebstrap; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (scripts/deps.sh installs it)"
done
need_tools "$jq_bin" "$node_bin" "$curl_bin"

cat >"$work/containers.conf" <<'EOF'
[containers]
default_ulimits = []
[engine]
runtime = "runc"
EOF
export CONTAINERS_CONF=$work/containers.conf

cleanup() {
  podman rm -f -t 0 "$name" >/dev/null 2>&1
  [[ -n ${TC_CONTAINER_KEEP_IMAGE:-} ]] || podman rmi -f "$image" >/dev/null 2>&1
  kill_pids
  rm -rf "$work"
}

podman info >"$work/podman-info.log" 2>&1 || skip "podman cannot run here: $(tail -3 "$work/podman-info.log")"

t_all=$(now_ms)
# 1. The Debian 12 base.
t0=$(now_ms)
if [[ -n ${TC_CONTAINER_REBUILD_BASE:-} ]] || ! podman image exists "$base_tag"; then
  mmdebstrap --variant=minbase --quiet \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    bookworm "$work/base.tar" "$mirror" >"$work/mmdebstrap.log" 2>&1 ||
    fail "mmdebstrap of Debian 12 from $mirror failed"
  podman import "$work/base.tar" "$base_tag" >"$work/import.log" 2>&1 || fail "podman import failed"
  rm -f "$work/base.tar"
  base_how="built with mmdebstrap"
else
  base_how="reused"
fi
t_base=$(($(now_ms) - t0))
# A container can start at all (runtime, cgroups, ulimits)?
podman run --rm --network=host "$base_tag" true >"$work/probe.log" 2>&1 ||
  skip "podman cannot start a container here: $(tail -3 "$work/probe.log")"

# 2. The image.
t0=$(now_ms)
podman build --network=host --layers=false --build-arg BASE_IMAGE="$base_tag" \
  --build-arg BUILD_JOBS="${TC_CONTAINER_JOBS:-2}" \
  --ignorefile "$src/deploy/container/Containerfile.dockerignore" \
  -f "$src/deploy/container/Containerfile" -t "$image" "$src" >"$work/build.log" 2>&1 ||
  fail "podman build failed"
t_build=$(($(now_ms) - t0))
size=$(podman image inspect --format '{{.Size}}' "$image")

# 3. What the image declares.
podman image inspect "$image" >"$work/inspect.json" || fail "podman image inspect failed"
jq_check "$work/inspect.json" '.[0].Config.User == "10001:10001"' "the image runs as uid 10001"
jq_check "$work/inspect.json" '.[0].Config.Env | index("HEALTH_LISTEN_ADDR=:8080") != null' \
  "HEALTH_LISTEN_ADDR=:8080 in the image"
jq_check "$work/inspect.json" '.[0].Config.Entrypoint == ["/usr/bin/tunnel-client","run"]' \
  "entrypoint tunnel-client run"
podman run --rm --read-only --read-only-tmpfs=false --network=host \
  --entrypoint /usr/bin/tunnel-client "$image" modules list >"$work/modules.log" 2>&1 ||
  fail "tunnel-client modules list failed in the image"
for m in mcp-http mcp-stdio auth-oauth proxy metrics-prometheus metrics-statsd; do
  grep -q "/usr/lib/tunnel-client/modules/$m.so" "$work/modules.log" ||
    fail "module $m not loaded from /usr/lib/tunnel-client/modules"
done

# 4. Run it against a control plane and an MCP server on the host.
spawn stub "dev mcp-stub" env -i PATH="$PATH" HOME="$work" "$bin" dev mcp-stub \
  --listen-addr 127.0.0.1:0 --url-file "$work/stub.url"
target=$spawned_url/mcp
spawn cp "dev control-plane" env -i PATH="$PATH" HOME="$work" "$bin" dev control-plane \
  --listen 127.0.0.1:0 --url-file "$work/cp.url"
cp=$spawned_url
printf '%s\n' "$key" >"$work/api-key"
chmod 0444 "$work/api-key"
port=$(free_port) # --network=host: the image's :8080 may be taken here
t0=$(now_ms)
podman run -d --name "$name" --read-only --read-only-tmpfs=false --network=host \
  --cap-drop=ALL --security-opt=no-new-privileges \
  -v "$work/api-key:/run/secrets/api-key:ro" \
  -e CONTROL_PLANE_BASE_URL="$cp" -e CONTROL_PLANE_TUNNEL_ID="$tid" \
  -e MCP_SERVER_URL="$target" -e HEALTH_LISTEN_ADDR="127.0.0.1:$port" \
  "$image" --control-plane.api-key file:/run/secrets/api-key >"$work/run.log" 2>&1 ||
  fail "podman run failed"
ready=
for ((i = 0; i < 600; i++)); do
  if [[ $("$curl_bin" -s -o "$work/readyz.body" -w '%{http_code}' "http://127.0.0.1:$port/readyz") == 200 ]]; then
    ready=1
    break
  fi
  [[ $(podman inspect --format '{{.State.Running}}' "$name" 2>/dev/null) == true ]] || {
    podman logs "$name" >"$work/container.log" 2>&1
    fail "the container stopped before /readyz answered 200"
  }
  sleep 0.05
done
podman logs "$name" >"$work/container.log" 2>&1
[[ -n $ready ]] || fail "/readyz not 200 within 30s: $(cat "$work/readyz.body" 2>/dev/null)"
t_ready=$(($(now_ms) - t0))
out=$("$curl_bin" -sS --max-time 30 -H 'Content-Type: application/json' \
  -H 'Accept: application/json, text/event-stream' \
  --data-binary "$(tool_call 1 echo '{"input":"from the container"}')" "$cp/v1/mcp/$tid")
[[ $("$jq_bin" -r '.result.structuredContent.echoed' <<<"$out" 2>/dev/null) == "from the container" ]] ||
  fail "tools/call through the containerized agent: $out"
pid=$(podman inspect --format '{{.State.Pid}}' "$name")
uid=$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")
[[ $uid == 10001 ]] || fail "the agent runs as uid $uid, want 10001"
podman stop -t 30 "$name" >/dev/null 2>&1 || fail "podman stop failed"
podman logs "$name" >"$work/container.log" 2>&1
code=$(podman inspect --format '{{.State.ExitCode}}' "$name")
[[ $code == 0 ]] || fail "the agent exited $code after SIGTERM, want 0"
grep -q 'tunnel-client stopped' "$work/container.log" || fail "no clean stop in the container log"
grep -q "$key" "$work/container.log" && fail "the API key appears in the container log"

echo "REPORT container: image $(awk -v s="$size" 'BEGIN { printf "%.1f MB", s / 1e6 }') ($size bytes) on a Debian 12 minbase ($base_how)"
echo "REPORT container: base $((t_base / 1000)) s, build $((t_build / 1000)) s, start to ready ${t_ready} ms, total $((($(now_ms) - t_all) / 1000)) s"
echo "ok [$case_name]"
