#!/usr/bin/env bash
# k3s for the compose stack's Kubernetes runner.
#
#   scripts/k3s.sh install   install k3s with the official installer (CI runners; needs the
#                            k3s release downloads, so not on a machine without GitHub)
#   scripts/k3s.sh up        start k3s if it is not running, wait for a Ready node, and write the
#                            admin kubeconfig to .k3s/kubeconfig.yaml (the cert-generator reads
#                            it; compose mounts .k3s/ read-only)
#   scripts/k3s.sh import IMAGE...
#                            copy images from the Docker engine into k3s's containerd (the
#                            executor pods' runtime images are built locally, never pulled)
#   scripts/k3s.sh events    print the cluster's events, oldest first (artifacts of a CI run)
#   scripts/k3s.sh down      stop a k3s this script started
#
# The API server's certificate names host.docker.internal, so containers reach it through the
# host gateway (KUBE_SERVER in docker-compose.yaml).
# Env: K3S_VERSION (install), K3S_DIR (default .k3s), K3S_WAIT (seconds, default 180).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
K3S_DIR=${K3S_DIR:-$ROOT/.k3s}
K3S_VERSION=${K3S_VERSION:-v1.31.4+k3s1}
K3S_WAIT=${K3S_WAIT:-180}
K3S_ARGS=(--write-kubeconfig-mode 0644 --tls-san host.docker.internal --disable traefik --disable metrics-server)
ADMIN_KUBECONFIG=/etc/rancher/k3s/k3s.yaml

log() { printf 'k3s: %s\n' "$*"; }
die() { printf 'k3s: %s\n' "$*" >&2; exit 1; }

need_k3s() {
  command -v k3s >/dev/null 2>&1 \
    || die "k3s is not installed: install it from https://k3s.io (or run 'make k3s-install')"
}

ready() { k3s kubectl get --raw=/readyz >/dev/null 2>&1; }

install_k3s() {
  if command -v k3s >/dev/null 2>&1; then
    log "already installed: $(k3s --version | head -n 1)"
    return
  fi
  command -v curl >/dev/null 2>&1 || die "curl is not installed"
  local installer
  installer=$(mktemp)
  curl -sfL https://get.k3s.io -o "$installer"
  INSTALL_K3S_VERSION=$K3S_VERSION INSTALL_K3S_EXEC="server ${K3S_ARGS[*]}" sh "$installer"
  rm -f "$installer"
}

up() {
  need_k3s
  mkdir -p "$K3S_DIR"
  if ! ready; then
    if command -v systemctl >/dev/null 2>&1 && systemctl cat k3s >/dev/null 2>&1; then
      log "starting the k3s service"
      systemctl start k3s
    else
      log "starting k3s server (log: ${K3S_DIR#"$ROOT"/}/k3s.log)"
      nohup k3s server "${K3S_ARGS[@]}" >"$K3S_DIR/k3s.log" 2>&1 &
      echo $! >"$K3S_DIR/k3s.pid"
    fi
  fi
  local deadline=$((SECONDS + K3S_WAIT))
  until ready && k3s kubectl wait --for=condition=Ready node --all --timeout=5s >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "no Ready node after ${K3S_WAIT}s (see ${K3S_DIR#"$ROOT"/}/k3s.log or 'journalctl -u k3s')"
    sleep 2
  done
  command install -m 0644 "$ADMIN_KUBECONFIG" "$K3S_DIR/kubeconfig.yaml"
  log "ready; admin kubeconfig in ${K3S_DIR#"$ROOT"/}/kubeconfig.yaml"
}

# k3s's containerd socket belongs to root: use passwordless sudo where we are not root.
as_root() {
  if [[ $(id -u) -eq 0 ]]; then
    "$@"
  else
    sudo -n "$@"
  fi
}

import_images() {
  need_k3s
  (($#)) || die "usage: scripts/k3s.sh import IMAGE..."
  local image
  for image in "$@"; do
    docker image inspect "$image" >/dev/null 2>&1 || die "no image $image in the Docker engine"
    log "importing $image"
    docker save "$image" | as_root k3s ctr images import - >/dev/null
  done
}

events() {
  need_k3s
  k3s kubectl get events --all-namespaces --sort-by=.lastTimestamp -o wide
}

down() {
  if [[ -f $K3S_DIR/k3s.pid ]]; then
    kill "$(cat "$K3S_DIR/k3s.pid")" 2>/dev/null || true
    rm -f "$K3S_DIR/k3s.pid"
    log "stopped"
  elif command -v systemctl >/dev/null 2>&1 && systemctl cat k3s >/dev/null 2>&1; then
    systemctl stop k3s
    log "stopped the k3s service"
  fi
}

case ${1:-} in
  install) install_k3s ;;
  up) up ;;
  import) shift; import_images "$@" ;;
  events) events ;;
  down) down ;;
  *) die "usage: scripts/k3s.sh install|up|import IMAGE...|events|down" ;;
esac
