#!/usr/bin/env bash
# Install the Debian packages and tools sandpod needs on a fresh machine. Idempotent and quiet
# when everything is present; `make run` and .ci/run both call it.
#   --cluster   also what the local Kubernetes cluster and its image builds need (make cluster-deps)
set -euo pipefail

want=()
if [[ ${1:-} == --cluster ]]; then
  command -v etcd >/dev/null 2>&1 || want+=(etcd-server)
  command -v containerd >/dev/null 2>&1 || want+=(containerd)
  command -v runc >/dev/null 2>&1 || want+=(runc)
  [[ -x /usr/lib/cni/bridge ]] || want+=(containernetworking-plugins)
  command -v dockerd >/dev/null 2>&1 || want+=(docker.io)
  command -v debootstrap >/dev/null 2>&1 || want+=(debootstrap)
  command -v ip >/dev/null 2>&1 || want+=(iproute2)
  command -v openssl >/dev/null 2>&1 || want+=(openssl)
  command -v curl >/dev/null 2>&1 || want+=(curl)
  # runc 1.3 (the node's runtime, built from the Go module proxy) links libseccomp through cgo.
  [[ -f /usr/include/seccomp.h ]] || want+=(libseccomp-dev)
fi
command -v bwrap >/dev/null 2>&1 || want+=(bubblewrap)
command -v redis-server >/dev/null 2>&1 || want+=(redis-server)
command -v git >/dev/null 2>&1 || want+=(git)
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || want+=(chromium)
command -v shellcheck >/dev/null 2>&1 || want+=(shellcheck)  # pipeline scripts (make validate)
command -v ruby >/dev/null 2>&1 || want+=(ruby)  # the ruby:3 runtime of the local runner
# The local runner's C and C++ runtimes (Go, Rust, Java and Node.js come with the machine;
# runtimes whose toolchain is missing are listed as unavailable by GET /api/v1/runtimes).
command -v gcc >/dev/null 2>&1 || want+=(gcc libc6-dev)
command -v g++ >/dev/null 2>&1 || want+=(g++)

if ((${#want[@]})); then
  as_root=()
  if [[ $(id -u) -ne 0 ]]; then
    # Passwordless sudo (a GitHub Actions runner) is used; anything else is left to the user.
    if ! sudo -n true 2>/dev/null; then
      echo "missing packages: ${want[*]} (install them with: sudo apt-get install ${want[*]})" >&2
      exit 1
    fi
    as_root=(sudo -n)
  fi
  echo "installing: ${want[*]}"
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
fi

command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet uv
