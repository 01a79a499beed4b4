#!/usr/bin/env bash
# `docker buildx bake` (docker-bake.hcl) on this kind of machine: a local Docker engine (Debian's
# docker.io, started by scripts/images.sh engine-up), no registry, buildx from
# scripts/install-tools.sh.
#
#   scripts/bake.sh [FLAG...]              base, cert-generator, then backend (make docker-build)
#   scripts/bake.sh runtimes [NAME...]     the runtime-* targets (default: every one), tagged as
#                                          the catalogue
#
# What differs from one `docker buildx bake --load` run (CI, with a registry and a BuildKit
# container):
#   - the builder is the engine's own BuildKit (the docker driver), which builds FROM the engine's
#     images without pulling: the bases are the sandpod-local/... images scripts/images.sh makes
#     (Debian bookworm from debootstrap plus this machine's toolchains), passed as build arguments;
#   - that BuildKit (v0.8 in docker.io 20.10) predates named contexts, so backend is built FROM
#     the base image just loaded (the bake file's BASE_IMAGE) in a second run, and the `lock`
#     context of python-data and typescript is an image of that name (NAMED_CONTEXTS=false: a
#     named context at all makes that BuildKit refuse the build), as in images.sh;
#   - steps reach apt, PyPI and npm through the host network (the engine has no bridge here);
#   - dl.k8s.io is not reachable: cert-generator copies kubectl from an image made of the local
#     cluster's own build (~/.cache/sandpod/kubernetes/*/kubectl, or KUBECTL=path), if there is one.
# BAKE_LOCAL decides: 1 this way, 0 one plain `docker buildx bake --load` run (CI), unset: this
# way when the builder's BuildKit predates named contexts (older than v0.10, as here).
#
# FLAGs go to every bake run (make docker-build's BAKE_FLAGS). Env: SANDPOD_TAG (default dev),
# BAKE_LOCAL, KUBECTL, BAKE_PROGRESS (default plain).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
IMAGES=$ROOT/scripts/images.sh
TAG=${SANDPOD_TAG:-dev}
START=$SECONDS

log() { printf '[bake %4ss] %s\n' "$((SECONDS - START))" "$*" >&2; }
die() { printf 'bake: %s\n' "$*" >&2; exit 1; }

bake() {
  log "docker buildx bake $*"
  (cd "$ROOT" && TAG=$TAG NAMED_CONTEXTS=false docker buildx bake --file docker-bake.hcl \
    --allow network.host --set '*.network=host' --load --progress "${BAKE_PROGRESS:-plain}" "$@")
}

# The builder's BuildKit predates named contexts (v0.10), as the engine's own in docker.io 20.10.
old_buildkit() {
  local version
  version=$(docker buildx inspect | awk '/^BuildKit version:/ {print $3; exit}')
  [[ $version =~ ^v0\.([0-9]+)([.+-]|$) ]] && ((BASH_REMATCH[1] < 10))
}

# An image holding this machine's kubectl build at /usr/local/bin/kubectl; prints its name.
kubectl_image() {
  local kubectl=${KUBECTL:-} dir
  if [[ -z $kubectl ]]; then
    kubectl=$(find "${SANDPOD_CACHE:-$HOME/.cache/sandpod}/kubernetes" -maxdepth 2 -type f -name kubectl \
      -executable 2>/dev/null | sort -V | tail -n 1)
  fi
  [[ -n $kubectl && -x $kubectl ]] || return 0
  dir=$(mktemp -d)
  install -D -m 0755 "$kubectl" "$dir/usr/local/bin/kubectl"
  tar -C "$dir" -c usr | docker import - sandpod-local/kubectl:latest >/dev/null
  rm -rf "$dir"
  log "kubectl for cert-generator: $kubectl ($("$kubectl" version --client 2>/dev/null | head -n 1))"
  echo sandpod-local/kubectl:latest
}

images() {
  local python debian kubectl cert=()
  python=$("$IMAGES" base python-3.12)
  debian=$("$IMAGES" base debian)
  cert=(--set "cert-generator.args.DEBIAN_IMAGE=$debian")
  kubectl=$(kubectl_image)
  if [[ -n $kubectl ]]; then
    cert+=(--set cert-generator.args.KUBECTL_FROM=image --set "cert-generator.args.KUBECTL_IMAGE=$kubectl")
  fi
  PYTHON_IMAGE=$python bake "${cert[@]}" "$@" base cert-generator
  BASE_IMAGE=sandpod/base:$TAG bake "$@" backend
}

# The runtime folder behind a bake target: runtime-python-3-12 -> python, runtime-java-25 -> java-25.
runtimes() {
  local names=("$@") name target base args=()
  ((${#names[@]})) || names=(python bash c ruby node typescript go java java-25 rust python-data)
  local targets=()
  for name in "${names[@]}"; do
    if [[ $name == python ]]; then
      local version
      for version in ${RUNTIME_PYTHON_VERSIONS:-3.11 3.12 3.13}; do
        base=$("$IMAGES" base "python-$version")
        target=runtime-python-${version//./-}
        targets+=("$target")
        args+=(--set "$target.args.BASE_IMAGE=$base")
      done
      continue
    fi
    base=$("$IMAGES" base "$name")
    target=runtime-$name
    targets+=("$target")
    args+=(--set "$target.args.BASE_IMAGE=$base")
    # The named context `lock` (COPY --from=lock): this BuildKit resolves it as an image.
    if [[ -d $ROOT/runtimes/$name && $(find "$ROOT/runtimes/$name" -type f ! -name Dockerfile | wc -l) -gt 0 ]]; then
      tar -C "$ROOT/runtimes/$name" --exclude=./Dockerfile -c . | docker import - lock:latest >/dev/null
      # One lock image at a time: build this target on its own now.
      bake "${args[@]}" "$target"
      targets=("${targets[@]:0:${#targets[@]}-1}")
    fi
  done
  ((${#targets[@]} == 0)) || bake "${args[@]}" "${targets[@]}"
}

command -v docker >/dev/null 2>&1 || die "docker is not installed: apt-get install docker.io"
docker buildx version >/dev/null 2>&1 \
  || die "docker buildx is not installed: scripts/install-tools.sh buildx (builds it and adds the docker CLI plugin)"
"$IMAGES" engine-up
if [[ ${BAKE_LOCAL:-} == 0 ]] || { [[ -z ${BAKE_LOCAL:-} ]] && ! old_buildkit; }; then
  # runtimes NAME... -> the targets runtime-NAME; runtimes alone -> the group
  if [[ ${1:-} == runtimes ]]; then
    shift
    if (($#)); then set -- "${@/#/runtime-}"; else set -- runtimes; fi
  fi
  log "docker buildx bake --load $*"
  (cd "$ROOT" && TAG=$TAG docker buildx bake --file docker-bake.hcl --load "$@")
  exit
fi
case ${1:-} in
  runtimes) shift; runtimes "$@" ;;
  *) images "$@" ;;
esac
log "done"
