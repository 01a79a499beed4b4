#!/usr/bin/env bash
# Build the base and backend images on a machine with a Docker engine but no registry, then run
# the backend image and wait for its own HEALTHCHECK to report "healthy". Along the way it checks
# that a code change leaves the base image as it was (same image id), that the backend image
# runs as a non-root uid, and that every locked runtime dependency imports in it.
#
# No registry means no python:3.12-slim, so the script makes an equivalent image locally:
# Debian bookworm from debootstrap, plus this machine's CPython 3.12 in /usr/local (the same
# layout as the official image), imported with `docker import`. Dockerfile.base is then built
# FROM it (its PYTHON_IMAGE argument); apt, PyPI and uv reach their registries through the host
# network, since the engine here runs without a bridge.
#
# Usage: scripts/docker_smoke.sh            (make docker-smoke)
# Env:   SMOKE_DIR (work folder, default .cache/docker-smoke), SMOKE_PYTHON (a python3.12),
#        DEBIAN_MIRROR, SMOKE_TIMEOUT (seconds to wait for healthy, default 120).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SMOKE_DIR=${SMOKE_DIR:-$ROOT/.cache/docker-smoke}
SMOKE_PYTHON=${SMOKE_PYTHON:-${UV_PYTHON:-python3.12}}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SMOKE_TIMEOUT=${SMOKE_TIMEOUT:-120}
PYTHON_IMAGE=sandpod-local/python:3.12-slim
TAG=smoke
BASE_IMAGE=sandpod/base:$TAG
BACKEND_IMAGE=sandpod/backend:$TAG
CONTAINER=sandpod-docker-smoke
STARTED_DOCKERD=""
START=$SECONDS

log() { printf '[docker-smoke %4ss] %s\n' "$((SECONDS - START))" "$*"; }
die() { printf 'docker-smoke: %s\n' "$*" >&2; exit 1; }

cleanup() {
  docker rm -f "$CONTAINER" >/dev/null 2>&1 || true
  if [[ -n $STARTED_DOCKERD && -f $SMOKE_DIR/dockerd.pid ]]; then
    log "stopping the Docker engine this script started"
    kill "$(cat "$SMOKE_DIR/dockerd.pid")" 2>/dev/null || true
  fi
}
trap cleanup EXIT

# The engine starts on this kind of machine only without iptables, ip forwarding, masquerading
# and the default bridge; containers then get --network none or host.
ensure_engine() {
  if docker info >/dev/null 2>&1; then
    return
  fi
  command -v dockerd >/dev/null 2>&1 || die "no Docker engine running and dockerd is not installed: apt-get install docker.io"
  [[ $(id -u) -eq 0 ]] || die "no Docker engine running, and starting one needs root"
  log "starting dockerd (no iptables, no bridge)"
  mkdir -p "$SMOKE_DIR"
  dockerd --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false --bridge=none \
    --pidfile "$SMOKE_DIR/dockerd.pid" >"$SMOKE_DIR/dockerd.log" 2>&1 &
  STARTED_DOCKERD=1
  for _ in $(seq 60); do
    docker info >/dev/null 2>&1 && return
    sleep 0.5
  done
  die "dockerd did not start; see $SMOKE_DIR/dockerd.log"
}

# A python:3.12-slim look-alike: debootstrap bookworm + the host's CPython 3.12 in /usr/local.
make_python_image() {
  if docker image inspect "$PYTHON_IMAGE" >/dev/null 2>&1; then
    log "$PYTHON_IMAGE already present"
    return
  fi
  command -v debootstrap >/dev/null 2>&1 || die "debootstrap is not installed: apt-get install debootstrap"
  local prefix rootfs=$SMOKE_DIR/rootfs
  prefix=$("$SMOKE_PYTHON" -c 'import sys; print(sys.base_prefix)')
  "$SMOKE_PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 12)' \
    || die "$SMOKE_PYTHON is not Python 3.12 (set SMOKE_PYTHON)"
  if [[ ! -f $rootfs/.debootstrap-done ]]; then
    log "debootstrap bookworm into $rootfs"
    rm -rf "$rootfs"
    debootstrap --variant=minbase \
      --include=ca-certificates,libssl3,libffi8,libsqlite3-0,libbz2-1.0,liblzma5,zlib1g,libreadline8,libncursesw6,libuuid1,libexpat1 \
      bookworm "$rootfs" "$DEBIAN_MIRROR" >"$SMOKE_DIR/debootstrap.log" 2>&1 \
      || die "debootstrap failed; see $SMOKE_DIR/debootstrap.log"
    touch "$rootfs/.debootstrap-done"
  fi
  log "copying CPython from $prefix into /usr/local"
  rm -rf "$rootfs/usr/local/bin" "$rootfs/usr/local/include" "$rootfs/usr/local/lib"
  tar -C "$prefix" -c --exclude='lib/python3.12/test' --exclude='lib/python3.12/site-packages/*' \
    --exclude='__pycache__' bin include lib | tar -C "$rootfs/usr/local" -x
  # The host's console scripts point at the host's prefix; the image gets its own from ensurepip.
  find "$rootfs/usr/local/bin" -maxdepth 1 -type f ! -name 'python3.12*' -delete
  # Trust what the host trusts: where egress goes through a TLS-inspecting proxy, its CA is in
  # /usr/local/share/ca-certificates, and pip and uv inside the build need it too.
  if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
  fi
  chroot "$rootfs" /usr/sbin/update-ca-certificates >/dev/null
  chroot "$rootfs" /sbin/ldconfig
  chroot "$rootfs" /usr/local/bin/python3.12 -m ensurepip --default-pip >/dev/null
  ln -sf python3.12 "$rootfs/usr/local/bin/python3"
  ln -sf python3.12 "$rootfs/usr/local/bin/python"
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb
  log "docker import $PYTHON_IMAGE"
  tar -C "$rootfs" --exclude=./.debootstrap-done -c . | docker import \
    --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
    --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
    --change 'CMD ["python3"]' - "$PYTHON_IMAGE" >/dev/null
}

# docker-bake.hcl's own targets, with the host network (no bridge here) and --load.
bake() {
  local name=$1
  shift
  log "bake $name"
  (cd "$ROOT" && TAG=$TAG PYTHON_IMAGE=$PYTHON_IMAGE docker buildx bake --file docker-bake.hcl \
    --allow network.host --set '*.network=host' --load --progress plain "$@") \
    >"$SMOKE_DIR/build-$name.log" 2>&1 \
    || { tail -n 40 "$SMOKE_DIR/build-$name.log" >&2; die "building $name failed; see $SMOKE_DIR/build-$name.log"; }
}

main() {
  command -v docker >/dev/null 2>&1 || die "docker is not installed: apt-get install docker.io"
  mkdir -p "$SMOKE_DIR"
  ensure_engine
  docker buildx version >/dev/null 2>&1 || die "docker buildx is not installed: scripts/install-tools.sh buildx (builds it and adds the docker CLI plugin)"
  make_python_image

  bake base base
  local base_id
  base_id=$(docker image inspect -f '{{.Id}}' "$BASE_IMAGE")
  # This engine's BuildKit predates named contexts (backend's `base = "target:base"`), so the
  # backend is built FROM the base image just loaded (the bake file's BASE_IMAGE variable).
  BASE_IMAGE=$BASE_IMAGE bake backend backend

  # A code change must not touch the base: rebuild the base from a context whose sandpod/ differs.
  local ctx=$SMOKE_DIR/context
  rm -rf "$ctx" && mkdir -p "$ctx"
  cp -r "$ROOT/backend/Dockerfile.base" "$ROOT/backend/pyproject.toml" "$ROOT/backend/uv.lock" \
    "$ROOT/backend/requirements-uv.txt" \
    "$ROOT/backend/.dockerignore" "$ROOT/backend/sandpod" "$ctx/"
  printf '\n# docker-smoke: a code change\n' >>"$ctx/sandpod/__init__.py"
  bake base-after-code-change --allow "fs.read=$ctx" --set "base.context=$ctx" base
  [[ $(docker image inspect -f '{{.Id}}' "$BASE_IMAGE") == "$base_id" ]] \
    || die "a code change rebuilt the base image (expected the same image id)"
  log "a code change left the base image unchanged ($base_id)"

  log "checks inside $BACKEND_IMAGE"
  local uid
  uid=$(docker run --rm --network none "$BACKEND_IMAGE" id -u)
  [[ $uid != 0 ]] || die "the backend image runs as root"
  docker run --rm --network none "$BACKEND_IMAGE" python -c \
    'import aiokafka, confluent_kafka, fastapi, fastavro, kubernetes_asyncio, pymongo, redis, uvicorn, sandpod; print("imports ok, uid", __import__("os").getuid())'

  # The image's own command (`sandpod api`), in embedded mode: it needs no other service.
  docker rm -f "$CONTAINER" >/dev/null 2>&1 || true
  docker run -d --name "$CONTAINER" --network none --read-only --tmpfs /tmp \
    -e SANDPOD_MODE=embedded -e SANDPOD_ENVIRONMENT=development "$BACKEND_IMAGE" >/dev/null
  local status=starting deadline=$((SECONDS + SMOKE_TIMEOUT))
  while ((SECONDS < deadline)); do
    status=$(docker inspect -f '{{.State.Health.Status}}' "$CONTAINER")
    [[ $status == starting ]] || break
    sleep 1
  done
  if [[ $status != healthy ]]; then
    docker logs "$CONTAINER" 2>&1 | tail -n 40 >&2
    docker inspect -f '{{json .State.Health}}' "$CONTAINER" >&2
    die "the backend container is '$status', not healthy"
  fi
  log "healthy: $(docker inspect -f '{{(index .State.Health.Log 0).ExitCode}} {{.Config.User}}' "$CONTAINER" | awk '{print "healthcheck exit " $1 ", user " $2}')"
  docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E '^sandpod' || true
  log "done"
}

main "$@"
