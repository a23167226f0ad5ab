#!/usr/bin/env bash
# Build the image of deploy/container/Containerfile with podman, for
# container_test.sh:
#
#   1. a Debian 12 base image made from Debian packages only (mmdebstrap
#      --variant=minbase, then `podman import`); kept as
#      localhost/tunnel-client-test-base:bookworm and reused by later runs
#      (TC_CONTAINER_REBUILD_BASE=1 makes it again);
#   2. the Containerfile built on it (BASE_IMAGE build argument) as TAG.
#
# usage: container_image.sh SOURCE_DIR OUT_DIR TAG
#
# Writes its logs to OUT_DIR and, last, OUT_DIR/status: "0" (built;
# OUT_DIR/report holds the REPORT lines), "77 <why>" (podman, runc or
# mmdebstrap missing, or podman cannot run a container here) or "1 <why>".
# The file appears only once everything else is written, so a reader may
# wait for it. scripts/test starts this at the beginning of a run, while the
# trees build; container_test.sh runs it itself otherwise.
set -uo pipefail

src=${1:?source dir}
out=${2:?output dir}
tag=${3:?image tag}
base_tag=localhost/tunnel-client-test-base:bookworm
mirror=${TC_DEBIAN_MIRROR:-http://deb.debian.org/debian}
mkdir -p "$out"
rm -f "$out/status" "$out/report"

finish() { # CODE WHY...
  local code=$1
  shift
  printf '%s %s\n' "$code" "$*" >"$out/status.tmp"
  mv "$out/status.tmp" "$out/status"
  exit 0
}
now_ms() { date +%s%3N; }

for tool in podman runc mmdebstrap; do
  command -v "$tool" >/dev/null || finish 77 "$tool is not installed (scripts/deps.sh installs it)"
done
# shellcheck source=podman_env.sh
source "$src/tests/deploy/podman_env.sh"
podman_env "$out"
podman info >"$out/podman-info.log" 2>&1 ||
  finish 77 "podman cannot run here: $(tail -3 "$out/podman-info.log")"

t0=$(now_ms)
if [[ -n ${TC_CONTAINER_REBUILD_BASE:-} ]] || ! podman image exists "$base_tag"; then
  mmdebstrap --variant=minbase --quiet \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    bookworm "$out/base.tar" "$mirror" >"$out/mmdebstrap.log" 2>&1 ||
    finish 1 "mmdebstrap of Debian 12 from $mirror failed (see mmdebstrap.log)"
  podman import "$out/base.tar" "$base_tag" >"$out/import.log" 2>&1 ||
    finish 1 "podman import failed (see import.log)"
  rm -f "$out/base.tar"
  base_how="built with mmdebstrap"
else
  base_how="reused"
fi
t_base=$(($(now_ms) - t0))
# A container can start at all (runtime, cgroups, ulimits)?
podman run --rm --network=host "$base_tag" true >"$out/probe.log" 2>&1 ||
  finish 77 "podman cannot start a container here: $(tail -3 "$out/probe.log")"

t0=$(now_ms)
podman build --network=host --layers=false --build-arg BASE_IMAGE="$base_tag" \
  --build-arg BUILD_JOBS="${TC_CONTAINER_JOBS:-2}" \
  --ignorefile "$src/deploy/container/Containerfile.dockerignore" \
  -f "$src/deploy/container/Containerfile" -t "$tag" "$src" >"$out/build.log" 2>&1 ||
  finish 1 "podman build failed (see build.log)"
t_build=$(($(now_ms) - t0))
size=$(podman image inspect --format '{{.Size}}' "$tag")
{
  echo "REPORT container: image $(awk -v s="$size" 'BEGIN { printf "%.1f MB", s / 1e6 }') ($size bytes) on a Debian 12 minbase ($base_how)"
  echo "REPORT container: base $((t_base / 1000)) s, build $((t_build / 1000)) s"
} >"$out/report"
finish 0 built
