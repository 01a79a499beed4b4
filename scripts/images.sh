#!/usr/bin/env bash
# Local image building on a machine with a Docker engine package but no registry.
#
#   scripts/images.sh engine-up              start dockerd if no engine answers (root; no iptables,
#                                            no bridge: containers get --network none or host)
#   scripts/images.sh engine-down            stop a dockerd this script started
#   scripts/images.sh python-base VERSION    make sandpod-local/python:VERSION-slim: Debian bookworm
#                                            (debootstrap, cached) plus this machine's CPython VERSION
#                                            in /usr/local, the layout of the official python image
#   scripts/images.sh rootfs                 only the cached bookworm root filesystem (debootstrap)
#   scripts/images.sh runtimes [VERSION...]  build sandpod-runtime-python:VERSION from
#                                            runtimes/python/Dockerfile on those bases
#   scripts/images.sh runtime NAME...        build runtimes/NAME/Dockerfile on the cached bookworm
#                                            root filesystem, with the toolchain from Debian's
#                                            packages (bash, c, ruby) or copied from this machine
#                                            (node, typescript, go, java, java-25, rust,
#                                            python-data: what the local runner runs); tags as
#                                            the catalogue
#   scripts/images.sh tags NAME...           print the image names `runtime NAME...` builds
#   scripts/images.sh base NAME              make the local base image NAME builds on and print its
#                                            name: a runtime folder (as `runtime`), python-VERSION
#                                            or debian (scripts/bake.sh passes them to bake)
#
# Env: SANDPOD_CACHE (default ~/.cache/sandpod: the debootstrap root filesystem), DEBIAN_MIRROR,
# RUNTIME_PYTHON_VERSIONS (default "3.11 3.12 3.13").
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${SANDPOD_CACHE:-$HOME/.cache/sandpod}
WORK=$ROOT/.cache/images
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
ROOTFS=$CACHE/debian-bookworm-minbase

log() { printf 'images: %s\n' "$*" >&2; }
die() { printf 'images: %s\n' "$*" >&2; exit 1; }

engine_up() {
  command -v docker >/dev/null 2>&1 || die "docker is not installed: apt-get install docker.io"
  docker info >/dev/null 2>&1 && return 0
  command -v dockerd >/dev/null 2>&1 || die "no Docker engine running and dockerd is not installed: apt-get install docker.io"
  [[ $(id -u) -eq 0 ]] || die "no Docker engine running, and starting one needs root"
  mkdir -p "$WORK"
  log "starting dockerd (no iptables, no bridge)"
  setsid dockerd --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false --bridge=none \
    --pidfile "$WORK/dockerd.pid" >"$WORK/dockerd.log" 2>&1 </dev/null &
  for _ in $(seq 120); do
    docker info >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  die "dockerd did not start; see $WORK/dockerd.log"
}

engine_down() {
  [[ -s $WORK/dockerd.pid ]] || return 0
  local pid
  pid=$(<"$WORK/dockerd.pid")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$WORK/dockerd.pid"
  log "stopped dockerd"
}

find_python() {
  local version=$1 candidate
  for candidate in "$HOME"/.pyenv/versions/"$version"*/bin/python"$version" "$(command -v "python$version" || true)"; do
    [[ -x $candidate ]] && { echo "$candidate"; return 0; }
  done
  die "no Python $version on this machine (pyenv install $version)"
}

bookworm_rootfs() {
  mkdir -p "$CACHE"
  # One debootstrap at a time (.ci/run starts one in the background early); the lock lives in a
  # subshell so no later process inherits it.
  (
    flock 7
    [[ -f $ROOTFS/.done ]] && exit 0
    command -v debootstrap >/dev/null 2>&1 || die "debootstrap is not installed: apt-get install debootstrap"
    log "debootstrap bookworm into $ROOTFS (once; cached)"
    rm -rf "$ROOTFS"
    debootstrap --variant=minbase \
      --include=ca-certificates,libssl3,libffi8,libsqlite3-0,libbz2-1.0,liblzma5,zlib1g,libreadline8,libncursesw6,libuuid1,libexpat1 \
      bookworm "$ROOTFS" "$DEBIAN_MIRROR" >"$CACHE/debootstrap.log" 2>&1 \
      || die "debootstrap failed; see $CACHE/debootstrap.log"
    rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*
    touch "$ROOTFS/.done"
  ) 7>"$ROOTFS.lock"
}

python_base() {
  local version=$1 image=sandpod-local/python:$1-slim
  docker image inspect "$image" >/dev/null 2>&1 && return 0
  bookworm_rootfs
  local python prefix rootfs=$WORK/rootfs-$version
  python=$(find_python "$version")
  prefix=$("$python" -c 'import sys; print(sys.base_prefix)')
  log "making $image from $prefix"
  rm -rf "$rootfs" && mkdir -p "$WORK"
  cp -a "$ROOTFS" "$rootfs"
  rm -rf "$rootfs/usr/local/bin" "$rootfs/usr/local/include" "$rootfs/usr/local/lib"
  tar -C "$prefix" -c --exclude="lib/python$version/test" --exclude="lib/python$version/site-packages/*" \
    --exclude='__pycache__' bin include lib | tar -C "$rootfs/usr/local" -x
  # The host's console scripts point at the host's prefix; keep the interpreter only.
  find "$rootfs/usr/local/bin" -maxdepth 1 -type f ! -name "python$version*" -delete
  # Trust what the host trusts (a TLS-inspecting proxy's CA), for builds that reach PyPI.
  if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
  fi
  chroot "$rootfs" /usr/sbin/update-ca-certificates >/dev/null
  chroot "$rootfs" /sbin/ldconfig
  chroot "$rootfs" "/usr/local/bin/python$version" -m ensurepip --default-pip >/dev/null
  ln -sf "python$version" "$rootfs/usr/local/bin/python3"
  ln -sf "python$version" "$rootfs/usr/local/bin/python"
  tar -C "$rootfs" --exclude=./.done -c . | docker import \
    --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
    --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
    --change 'CMD ["python3"]' - "$image" >/dev/null
  rm -rf "$rootfs"
}

debian_base() {
  local image=sandpod-local/debian:bookworm
  docker image inspect "$image" >/dev/null 2>&1 && return 0
  bookworm_rootfs
  log "making $image"
  tar -C "$ROOTFS" --exclude=./.done -c . | docker import \
    --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' - "$image" >/dev/null
}

# host_base NAME PATH [--apt PACKAGES] ITEM...: the bookworm root filesystem plus this machine's
# toolchain, PATH first on the search path. An ITEM is copied to the same path, or SRC=DEST
# relocates it (documentation left out); this machine is bookworm too, so its binaries run there.
# PACKAGES come from Debian's mirror. The same toolchains the local runner uses, where upstream
# bases cannot be pulled.
host_base() {
  local name=$1 path=$2 image=sandpod-local/$1:bookworm item src dest rootfs packages=""
  shift 2
  if [[ ${1:-} == --apt ]]; then packages=$2; shift 2; fi
  docker image inspect "$image" >/dev/null 2>&1 && return 0
  bookworm_rootfs
  rootfs=$WORK/rootfs-$name
  log "making $image from this machine's $*${packages:+, with the Debian packages $packages}"
  rm -rf "$rootfs" && mkdir -p "$WORK"
  cp -a "$ROOTFS" "$rootfs"
  # Builds that reach a registry (npm, PyPI) trust what this machine trusts (a TLS-inspecting
  # proxy's CA).
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
  if [[ -n $packages ]]; then
    cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
    # shellcheck disable=SC2086  # a space-separated package list
    { chroot "$rootfs" apt-get update -qq && chroot "$rootfs" apt-get install -y -qq \
        --no-install-recommends $packages; } >"$WORK/apt-$name.log" 2>&1 \
      || die "installing $packages failed; see $WORK/apt-$name.log"
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb
  fi
  for item in "$@"; do
    src=${item%%=*} dest=${item#*=}
    [[ -e $src ]] || die "$src is missing on this machine: the $name image copies it"
    # tar, not `cp --parents`: coreutils 9.1 leaves the parent folders it made mode 700, which
    # the sandbox user cannot traverse.
    mkdir -p "$rootfs$(dirname "$dest")"
    tar -C "$(dirname "$src")" --exclude='*/share/doc' \
      --transform "s,^$(basename "$src"),$(basename "$dest")," -c "$(basename "$src")" \
      | tar -C "$rootfs$(dirname "$dest")" -x
  done
  tar -C "$rootfs" --exclude=./.done -c . | docker import \
    --change "ENV PATH=$path:/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' - "$image" >/dev/null
  rm -rf "$rootfs"
}

RUST_TOOLCHAIN=stable-x86_64-unknown-linux-gnu

# The base each runtime folder builds on: Debian's packages, or this machine's toolchain.
runtime_base() {
  case $1 in
    c | bash | ruby) debian_base; echo sandpod-local/debian:bookworm ;;
    node | typescript)
      host_base node /usr/bin /usr/bin/node /usr/bin/npm /usr/lib/node_modules/npm
      echo sandpod-local/node:bookworm
      ;;
    go) host_base go /usr/local/go/bin /usr/local/go; echo sandpod-local/go:bookworm ;;
    java)
      host_base java /usr/lib/jvm/java-17-openjdk-amd64/bin \
        /usr/lib/jvm/java-17-openjdk-amd64 /etc/java-17-openjdk
      echo sandpod-local/java:bookworm
      ;;
    java-25)
      host_base java-25 /usr/lib/jvm/temurin-25-jdk-amd64/bin /usr/lib/jvm/temurin-25-jdk-amd64
      echo sandpod-local/java-25:bookworm
      ;;
    rust)
      host_base rust "/usr/local/rustup/toolchains/$RUST_TOOLCHAIN/bin" --apt "gcc libc6-dev" \
        "$HOME/.rustup/toolchains/$RUST_TOOLCHAIN=/usr/local/rustup/toolchains/$RUST_TOOLCHAIN"
      echo sandpod-local/rust:bookworm
      ;;
    python-data) python_base 3.12; echo sandpod-local/python:3.12-slim ;;
  esac
}

# The catalogue's image names per runtime folder (backend/sandpod/domain/catalogue.toml).
runtime_tags() {
  case $1 in
    c) echo sandpod-runtime-c:gcc-12 sandpod-runtime-cpp:gcc-12 ;;
    bash) echo sandpod-runtime-bash:5 ;;
    ruby) echo sandpod-runtime-ruby:3 ;;
    node) echo sandpod-runtime-node:20 ;;
    typescript) echo sandpod-runtime-typescript:5 ;;
    go) echo sandpod-runtime-go:1.26 ;;
    java) echo sandpod-runtime-java:17 ;;
    java-25) echo sandpod-runtime-java:25 ;;
    rust) echo sandpod-runtime-rust:1 ;;
    python-data) echo sandpod-runtime-python:3.12-data ;;
    *) die "no local build for runtime $1 (bash, c, ruby, node, typescript, go, java, java-25, rust, python-data)" ;;
  esac
}

# The local base for `images.sh base NAME` (stdout: its name).
local_base() {
  local base
  case $1 in
    python-[0-9]*) python_base "${1#python-}"; echo "sandpod-local/python:${1#python-}-slim" ;;
    debian) debian_base; echo sandpod-local/debian:bookworm ;;
    *)
      base=$(runtime_base "$1")
      [[ -n $base ]] || die "no local base for $1 (a runtime folder, python-VERSION or debian)"
      echo "$base"
      ;;
  esac
}

runtime() {
  (($#)) || die "usage: images.sh runtime NAME..."
  engine_up
  local name tag tags base folder args
  for name in "$@"; do
    # java-25: the Java folder's Dockerfile for another JDK
    folder=${name%-25} args=()
    [[ $name == java-25 ]] && args=(--build-arg JAVA_VERSION=25)
    tags=()
    for tag in $(runtime_tags "$name"); do tags+=(--tag "$tag"); done
    base=$(runtime_base "$name")
    # The lock files bake passes as the named context `lock` (COPY --from=lock): the classic
    # builder takes an image of that name instead.
    if [[ $(find "$ROOT/runtimes/$folder" -type f ! -name Dockerfile | wc -l) -gt 0 ]]; then
      tar -C "$ROOT/runtimes/$folder" --exclude=./Dockerfile -c . | docker import - lock:latest >/dev/null
    fi
    log "building runtimes/$folder (${tags[*]}) on $base"
    # The layer cache keeps the package step: a rebuild after an entrypoint change is seconds.
    DOCKER_BUILDKIT=0 docker build --quiet --network host --file "$ROOT/runtimes/$folder/Dockerfile" \
      --build-arg BASE_IMAGE="$base" "${args[@]}" \
      "${tags[@]}" "$ROOT/backend/sandpod/adapters/kubernetes" >/dev/null
  done
}

runtimes() {
  # shellcheck disable=SC2086  # a space-separated list of versions
  (($#)) || set -- ${RUNTIME_PYTHON_VERSIONS:-3.11 3.12 3.13}
  engine_up
  local version
  for version in "$@"; do
    python_base "$version"
    log "building sandpod-runtime-python:$version"
    DOCKER_BUILDKIT=0 docker build --quiet --network host --file "$ROOT/runtimes/python/Dockerfile" \
      --build-arg PYTHON_VERSION="$version" --build-arg BASE_IMAGE="sandpod-local/python:$version-slim" \
      --tag "sandpod-runtime-python:$version" "$ROOT/backend/sandpod/adapters/kubernetes" >/dev/null
  done
}

case ${1:-} in
  engine-up) engine_up ;;
  engine-down) engine_down ;;
  rootfs) bookworm_rootfs ;;
  python-base) engine_up; python_base "${2:?usage: images.sh python-base VERSION}" ;;
  runtimes) shift; runtimes "$@" ;;
  runtime) shift; runtime "$@" ;;
  base) engine_up; local_base "${2:?usage: images.sh base NAME}" ;;
  tags) shift; for name in "$@"; do runtime_tags "$name"; done | tr ' ' '\n' ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 1 ;;
esac
