#!/usr/bin/env bash
# deploy/container/Containerfile, built and run for real with podman:
#
#   1.-2. the image (container_image.sh: a Debian 12 base made from Debian
#      packages with mmdebstrap, then the Containerfile built on it) — made
#      here, or taken from TC_CONTAINER_PREBUILD_DIR, where scripts/test
#      starts container_image.sh at the beginning of a run so the download
#      and compile overlap with the host builds (this test then waits for
#      that directory's status file);
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
# fails). The podman settings this machine kind needs live in
# podman_env.sh, not in the image.
set -uo pipefail

case_name=container_build_run
bin=${1:?tunnel-client binary}
src=${2:?source dir}
tid=tunnel_22222222222222222222222222222222
key=local-tunnel-client-dev-proxy
image=localhost/tunnel-client-test:$$
name=tunnel-client-test-$$

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

need_tools "$jq_bin" "$node_bin" "$curl_bin"
# shellcheck source=podman_env.sh
source "$src/tests/deploy/podman_env.sh"

cleanup() {
  podman rm -f -t 0 "$name" >/dev/null 2>&1
  [[ -n ${TC_CONTAINER_KEEP_IMAGE:-} ]] || podman rmi -f "$image" >/dev/null 2>&1
  kill_pids
  rm -rf "$work"
}

t_all=$(now_ms)
# 1.-2. The image: prebuilt by scripts/test, or built now.
if [[ -n ${TC_CONTAINER_PREBUILD_DIR:-} ]]; then
  img_dir=$TC_CONTAINER_PREBUILD_DIR
  image=$(cat "$img_dir/tag" 2>/dev/null) || fail "no tag in $img_dir (scripts/test writes it)"
  wait_file_s=1500 # the prebuild started with the run; it downloads and compiles
  while [[ ! -s $img_dir/status ]]; do
    [[ -e $img_dir/pid ]] && ! kill -0 "$(cat "$img_dir/pid")" 2>/dev/null && [[ ! -s $img_dir/status ]] &&
      fail "container_image.sh (pid $(cat "$img_dir/pid")) ended without a status"
    (( $(now_ms) - t_all > wait_file_s * 1000 )) && fail "the prebuilt image was not ready within ${wait_file_s}s"
    sleep 0.5
  done
else
  img_dir=$work/image
  "$src/tests/deploy/container_image.sh" "$src" "$img_dir" "$image"
fi
podman_env "$work"
read -r img_code img_why <"$img_dir/status"
for f in "$img_dir"/*.log; do [[ -f $f ]] && cp "$f" "$work/image-${f##*/}"; done
case $img_code in
0) ;;
77) skip "$img_why" ;;
*) fail "the image could not be built: $img_why" ;;
esac
t_image=$(($(now_ms) - t_all))

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

cat "$img_dir/report"
echo "REPORT container: this test waited $((t_image / 1000)) s for the image, start to ready ${t_ready} ms, total $((($(now_ms) - t_all) / 1000)) s"
echo "ok [$case_name]"
