# shellcheck shell=bash
# tests/deploy/podman_env.sh — sourced by the container scripts: podman
# settings this machine kind needs (runc as the runtime; no default
# ulimits: crun fails on setrlimit and on the hybrid cgroup layout). They
# belong to the test harness, not to the image or the user-facing docs.
#
#   podman_env DIR   writes DIR/containers.conf and exports CONTAINERS_CONF
podman_env() {
  cat >"$1/containers.conf" <<'CONF'
[containers]
default_ulimits = []
[engine]
runtime = "runc"
CONF
  export CONTAINERS_CONF=$1/containers.conf
}
