#!/usr/bin/env bash
# Install the pinned Go tools the pipeline uses, from the Go module proxy, into .cache/bin:
#   yq          mikefarah yq v4 (scripts/compose_ci.sh; the Python `yq` on some PATHs is another tool)
#   actionlint  the GitHub workflow linter (tests/tooling/test_pipeline_files.py)
#   buildx      the Docker Buildx CLI plugin (`make docker-build`, `make docker-smoke` on an engine
#               that lacks it), linked as ~/.docker/cli-plugins/docker-buildx (or $DOCKER_CONFIG's)
#
# Usage: scripts/install-tools.sh [--print-path] [TOOL...]     (default TOOLs: yq actionlint)
# Idempotent: a tool whose pinned version is already installed is left alone.
# Env: TOOLS_BIN (default .cache/bin), GO (the go command).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS_BIN=${TOOLS_BIN:-$ROOT/.cache/bin}

declare -A MODULE=(
  [yq]=github.com/mikefarah/yq/v4
  [actionlint]=github.com/rhysd/actionlint/cmd/actionlint
  [buildx]=github.com/docker/buildx/cmd/buildx
)
declare -A VERSION=(
  [yq]=v4.54.3
  [actionlint]=v1.7.12
  [buildx]=v0.38.2
)
# Link flags per tool: buildx reports v0.0.0+unknown unless its version is set at link time.
declare -A LDFLAGS=(
  [buildx]="-s -w -X github.com/docker/buildx/version.Version=${VERSION[buildx]}"
)

print_path=""
if [[ ${1:-} == --print-path ]]; then
  print_path=1
  shift
fi
tools=("$@")
((${#tools[@]})) || tools=(yq actionlint)

find_go() {
  if [[ -n ${GO:-} ]]; then
    echo "$GO"
  elif command -v go >/dev/null 2>&1; then
    command -v go
  elif [[ -x /usr/local/go/bin/go ]]; then
    echo /usr/local/go/bin/go
  else
    echo "go is not installed: install Go 1.24 or newer (https://go.dev/dl/ or apt-get install golang)" >&2
    return 1
  fi
}

install_tool() {
  local name=$1 module=${MODULE[$1]:-} version=${VERSION[$1]:-}
  [[ -n $module ]] || { echo "unknown tool '$name' (known: ${!MODULE[*]})" >&2; return 1; }
  local stamp=$TOOLS_BIN/.$name.version
  if [[ -x $TOOLS_BIN/$name && $(cat "$stamp" 2>/dev/null) == "$version" ]]; then
    return 0
  fi
  local go
  go=$(find_go)
  echo "installing $name $version (go install $module)" >&2
  mkdir -p "$TOOLS_BIN"
  GOBIN=$TOOLS_BIN GOFLAGS=-buildvcs=false "$go" install -trimpath -ldflags "${LDFLAGS[$name]:-}" \
    "$module@$version" >&2
  echo "$version" >"$stamp"
}

link_buildx_plugin() {
  docker buildx version >/dev/null 2>&1 && return 0
  local plugins=${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins
  mkdir -p "$plugins"
  ln -sf "$TOOLS_BIN/buildx" "$plugins/docker-buildx"
  echo "linked $plugins/docker-buildx -> $TOOLS_BIN/buildx" >&2
}

for tool in "${tools[@]}"; do
  install_tool "$tool"
  if [[ $tool == buildx ]] && command -v docker >/dev/null 2>&1; then
    link_buildx_plugin
  fi
  if [[ -n $print_path ]]; then
    echo "$TOOLS_BIN/$tool"
  fi
done
