#!/usr/bin/env bash
# Install the Debian packages and tools sandpod needs on a fresh machine. Idempotent and quiet
# when everything is present; `make run` and .ci/run both call it.
set -euo pipefail

want=()
command -v bwrap >/dev/null 2>&1 || want+=(bubblewrap)
command -v redis-server >/dev/null 2>&1 || want+=(redis-server)
command -v git >/dev/null 2>&1 || want+=(git)

if ((${#want[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "missing packages: ${want[*]} (install them with: sudo apt-get install ${want[*]})" >&2
    exit 1
  fi
  echo "installing: ${want[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
fi

command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet uv
