#!/usr/bin/env bash
# Install what tunnel-client needs to build and test on Debian 12.
# Sourced by scripts/demo and scripts/test; safe to run again.
set -euo pipefail
TC_APT_PACKAGES=(build-essential cmake pkg-config clang curl ca-certificates
  libcurl4-openssl-dev libjansson-dev libyaml-dev libltdl-dev libmicrohttpd-dev libcmocka-dev
  libsystemd-dev # sd_notify: systemd Type=notify readiness and watchdog
  jq chromium tinyproxy libssl-dev libgnutls28-dev openssl
  prometheus # promtool: the ops tests parse /metrics with `promtool check metrics`
  systemd # systemd-analyze verify/security of deploy/systemd
  iproute2 # ip: the Kubernetes probe test's network namespace
  mmdebstrap podman runc # the container test: a Debian 12 base, build and run
  tmux)       # integration.runtimes_tmux (skipped without it)
# The contract and e2e tests run node (ajv from tests/contract); Debian 12's
# nodejs 18 is enough. A node already on PATH (e.g. from nvm) is used as is.
if ! command -v node >/dev/null 2>&1; then
  TC_APT_PACKAGES+=(nodejs npm)
fi

tc_install_deps() {
  local missing=()
  for p in "${TC_APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
}

# tc_build DIR [cmake args...]: configure and build into DIR.
tc_build() {
  local dir=$1; shift
  cmake -S "$TC_ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$dir" -j "$(nproc)"
}
