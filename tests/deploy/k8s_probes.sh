#!/usr/bin/env bash
# The Kubernetes manifests against the binary (k8s_manifests.mjs probe): in
# a private network namespace where the pod IP below is a local address and
# the manifests' port 8080 is free, the agent runs with each manifest's env
# and args and answers what the kubelet and Prometheus send.
#
# usage: k8s_probes.sh TUNNEL_CLIENT_BINARY SOURCE_DIR
# Exit 77 (skipped) when no network namespace can be made here.
set -uo pipefail
bin=${1:?tunnel-client binary}
src=${2:?source dir}
node_bin=${TC_NODE:-node}
pod_ip=10.244.1.23
[[ -d $src/tests/deploy/node_modules/kubernetes-models ]] ||
  { echo "FAIL: run npm ci --prefix tests/deploy (scripts/test does)" >&2; exit 1; }
if ! unshare -n true 2>/dev/null; then
  echo "SKIP: cannot create a network namespace here (unshare -n needs CAP_SYS_ADMIN)"
  exit 77
fi
exec unshare -n bash -c '
  ip link set lo up && ip addr add "$3/32" dev lo || { echo "FAIL: cannot set up the namespace" >&2; exit 1; }
  exec "$4" "$1/tests/deploy/k8s_manifests.mjs" probe "$1/deploy/kubernetes" "$2" "$3"' \
  k8s "$src" "$bin" "$pod_ip" "$node_bin"
