#!/usr/bin/env bash
# The local single-node Kubernetes cluster the pod runner is tested against.
#
#   scripts/cluster/cluster.sh up            k3s when it is installed; otherwise build (first time,
#                                            cached) and start etcd, kube-apiserver,
#                                            kube-controller-manager, kube-scheduler, containerd and
#                                            the kubelet, and wait for a Ready node
#   scripts/cluster/cluster.sh down          stop everything `up` started; leaves no process, mount,
#                                            network link or namespace behind (state is kept)
#   scripts/cluster/cluster.sh kubeconfig    print the admin kubeconfig's path
#   scripts/cluster/cluster.sh status        one line; exit 1 when the API server is not ready
#   scripts/cluster/cluster.sh import IMAGE...   copy images from the Docker engine into the node
#   scripts/cluster/cluster.sh events        the cluster's events, oldest first
#   scripts/cluster/cluster.sh kubectl ARG...    kubectl (the cached build) against the cluster
#   scripts/cluster/cluster.sh build         only build the Kubernetes binaries into the cache
#   scripts/cluster/cluster.sh clean         down, then delete the cluster's state
#
# Everything listens on 127.0.0.1 only. Pods get a bridge network with no host address, no gateway
# and no masquerade: they have no route anywhere. The kubelet's podPidsLimit is set (the runner
# refuses nodes without one). Needs root (cgroups, mounts, network namespaces).
# Env: SANDPOD_CLUSTER_DIR (state, default <repo>/.cluster), SANDPOD_CACHE (binaries, default
# ~/.cache/sandpod), SANDPOD_CLUSTER_POD_PIDS_LIMIT (default 512; "none" leaves it unset, to test
# the runner's refusal), SANDPOD_CLUSTER_WAIT (seconds, default 180), SANDPOD_CLUSTER_CONTAINERD
# (default 2: containerd v2.4.2 + runc v1.3.7 built from the Go module proxy into the cache, which
# run pods with hostUsers: false; "1": Debian's containerd 1.6 + runc 1.1, which cannot).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE=$ROOT/scripts/cluster
KUBE_VERSION=v1.34.4
BUILD_RECIPE=2 # raised when the build itself changes (flags), so cached binaries are rebuilt
CACHE=${SANDPOD_CACHE:-$HOME/.cache/sandpod}
BIN=$CACHE/kubernetes/$KUBE_VERSION-r$BUILD_RECIPE
DIR=${SANDPOD_CLUSTER_DIR:-$ROOT/.cluster}
PKI=$DIR/pki
RUN=$DIR/run
LOGS=$DIR/logs
SOCK=$RUN/containerd.sock
KUBECONFIG_ADMIN=$DIR/admin.kubeconfig
NODE=localhost # the API server reaches the kubelet by the node's Hostname address (127.0.0.1)
BRIDGE=sandpod0
POD_CIDR=10.244.0.0/24
SERVICE_CIDR=10.96.0.0/16
SERVICE_IP=10.96.0.1
ETCD_PORT=12379
API_PORT=16443
PIDS_LIMIT=${SANDPOD_CLUSTER_POD_PIDS_LIMIT:-512}
WAIT=${SANDPOD_CLUSTER_WAIT:-180}
CONTAINERD_MAJOR=${SANDPOD_CLUSTER_CONTAINERD:-2}
CONTAINERD2_VERSION=v2.4.2
RUNC2_VERSION=v1.3.7
CBIN=$CACHE/containerd/$CONTAINERD2_VERSION-runc-$RUNC2_VERSION
case $CONTAINERD_MAJOR in
  1) CONTAINERD=containerd CTR=ctr ;;
  2) CONTAINERD=$CBIN/containerd CTR=$CBIN/ctr ;;
  *) printf 'cluster: SANDPOD_CLUSTER_CONTAINERD is 1 or 2, not %s\n' "$CONTAINERD_MAJOR" >&2; exit 1 ;;
esac

log() { printf 'cluster: %s\n' "$*" >&2; }
die() { printf 'cluster: %s\n' "$*" >&2; exit 1; }

kubectl() { "$BIN/kubectl" --kubeconfig "$KUBECONFIG_ADMIN" "$@"; }
use_k3s() { command -v k3s >/dev/null 2>&1 && [[ -z ${SANDPOD_CLUSTER_LOCAL:-} ]]; }

# ------------------------------------------------------------------------------- prerequisites
need_root() { [[ $(id -u) -eq 0 ]] || die "the local cluster needs root (cgroups, mounts, network namespaces): run as root, or install k3s"; }

need_tools() {
  local missing=() tool tools=(etcd containerd runc ctr openssl ip)
  if [[ $CONTAINERD_MAJOR == 2 ]]; then tools=(etcd openssl ip); fi # the rest: build_containerd2
  for tool in "${tools[@]}"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  [[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/host-local && -x /usr/lib/cni/loopback ]] || missing+=(cni-plugins)
  ((${#missing[@]} == 0)) || die "missing ${missing[*]}: run scripts/install-system-deps.sh --cluster (Debian: etcd-server containerd runc containernetworking-plugins openssl iproute2)"
  grep -q ' /sys/fs/cgroup/pids ' /proc/mounts || [[ -f /sys/fs/cgroup/cgroup.controllers ]] \
    || die "no pids cgroup controller mounted"
}

build() {
  mkdir -p "$BIN"
  # One build at a time (.ci/run starts one in the background that `up` may then wait for). The
  # lock lives in a subshell so its descriptor is not inherited by the cluster's processes.
  (
    flock 8
    local tools=(kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl) tool missing=()
    for tool in "${tools[@]}"; do [[ -x $BIN/$tool ]] || missing+=("$tool"); done
    ((${#missing[@]})) || exit 0
    command -v go >/dev/null 2>&1 || die "go is not installed: Go 1.24+ builds the Kubernetes binaries"
    log "building Kubernetes $KUBE_VERSION (${missing[*]}) into $BIN: ~15 min the first time on 2 cores"
    local pkgs=() start=$SECONDS ldflags="-s -w" pkg minor=${KUBE_VERSION#v1.}
    for tool in "${missing[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$tool"); done
    # The version stamps Kubernetes' own build sets (hack/lib/version.sh): without them every
    # component, and the node, reports v0.0.0-master.
    for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
      ldflags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=${minor%%.*}"
      ldflags+=" -X $pkg.gitTreeState=clean"
    done
    (cd "$HERE/kube" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags="$ldflags" -o "$BIN/" "${pkgs[@]}") \
      || die "building Kubernetes failed (see the go output above)"
    log "built in $((SECONDS - start))s"
  ) 8>"$BIN.lock"
}

# containerd 2 and runc 1.3 (SANDPOD_CLUSTER_CONTAINERD=2), built once into $CBIN: Debian bookworm's
# containerd 1.6 and runc 1.1 cannot run pods with user namespaces (hostUsers: false). runc needs cgo
# and libseccomp-dev. ~3.5 min on 2 cores the first time.
build_containerd2() {
  mkdir -p "$CBIN"
  (
    flock 8
    [[ -x $CBIN/containerd && -x $CBIN/containerd-shim-runc-v2 && -x $CBIN/ctr && -x $CBIN/runc ]] && exit 0
    command -v go >/dev/null 2>&1 || die "go is not installed: it builds containerd $CONTAINERD2_VERSION and runc $RUNC2_VERSION"
    [[ -f /usr/include/seccomp.h ]] || die "runc needs libseccomp-dev (apt-get install libseccomp-dev)"
    log "building containerd $CONTAINERD2_VERSION and runc $RUNC2_VERSION into $CBIN"
    local start=$SECONDS mod=github.com/containerd/containerd/v2
    GOBIN=$CBIN CGO_ENABLED=1 go install -trimpath -tags "seccomp urfave_cli_no_docs" \
      -ldflags "-s -w -X main.version=${RUNC2_VERSION#v}" "github.com/opencontainers/runc@$RUNC2_VERSION" \
      || die "building runc failed (see the go output above)"
    GOBIN=$CBIN CGO_ENABLED=0 go install -trimpath -tags "no_btrfs no_devmapper no_zfs urfave_cli_no_docs" \
      -ldflags "-s -w -X $mod/version.Version=$CONTAINERD2_VERSION" "$mod/cmd/containerd@$CONTAINERD2_VERSION" \
      "$mod/cmd/containerd-shim-runc-v2@$CONTAINERD2_VERSION" "$mod/cmd/ctr@$CONTAINERD2_VERSION" \
      || die "building containerd failed (see the go output above)"
    log "built containerd and runc in $((SECONDS - start))s"
  ) 8>"$CBIN.lock"
}

# ------------------------------------------------------------------------------- certificates
# cert NAME SUBJECT [SAN]: a key and a certificate signed by the cluster CA.
cert() {
  local name=$1 subject=$2 san=${3:-}
  [[ -f $PKI/$name.crt ]] && return 0
  local args=(-addext "basicConstraints=CA:FALSE")
  [[ -n $san ]] && args+=(-addext "subjectAltName=$san")
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$PKI/$name.key" \
    -subj "$subject" "${args[@]}" -out "$PKI/$name.csr" 2>/dev/null
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 3650 -copy_extensions copy -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$PKI/$name.csr"
}

pki() {
  mkdir -p "$PKI"
  chmod 700 "$PKI"
  if [[ ! -f $PKI/ca.crt ]]; then
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
      -keyout "$PKI/ca.key" -subj "/CN=sandpod-local-ca" -out "$PKI/ca.crt" 2>/dev/null
  fi
  cert apiserver "/CN=kube-apiserver" \
    "IP:127.0.0.1,IP:$SERVICE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
  cert admin "/O=system:masters/CN=sandpod-admin"
  cert controller-manager "/CN=system:kube-controller-manager"
  cert scheduler "/CN=system:kube-scheduler"
  cert kubelet "/O=system:nodes/CN=system:node:$NODE"
  cert kubelet-serving "/CN=$NODE" "DNS:$NODE,IP:127.0.0.1"
  if [[ ! -f $PKI/sa.key ]]; then
    openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
    openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  fi
}

# kubeconfig NAME CERT: a kubeconfig for one component (or the admin) with embedded credentials.
kubeconfig() {
  local file=$DIR/$1.kubeconfig cert=$2
  cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: sandpod-local
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority-data: $(base64 -w0 "$PKI/ca.crt")
users:
- name: $1
  user:
    client-certificate-data: $(base64 -w0 "$PKI/$cert.crt")
    client-key-data: $(base64 -w0 "$PKI/$cert.key")
contexts:
- name: sandpod-local
  context: {cluster: sandpod-local, user: $1}
current-context: sandpod-local
EOF
  chmod 600 "$file"
}

# ------------------------------------------------------------------------------- configuration
write_config() {
  mkdir -p "$RUN" "$LOGS" "$DIR/cni/net.d" "$DIR/containerd/certs.d" "$DIR/kubelet" "$DIR/pod-logs"
  pki
  kubeconfig admin admin
  kubeconfig controller-manager controller-manager
  kubeconfig scheduler scheduler
  kubeconfig kubelet kubelet

  # Pods get an address on a bridge that has none itself: no gateway, no masquerade, no route out.
  cat >"$DIR/cni/net.d/10-sandpod.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "sandpod",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": false,
      "isDefaultGateway": false,
      "ipMasq": false,
      "hairpinMode": false,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "$POD_CIDR"}]],
        "dataDir": "$DIR/cni/ipam"
      }
    },
    {"type": "loopback"}
  ]
}
EOF

  # restrict_oom_score_adj: root here lacks CAP_SYS_RESOURCE, so runc may not lower oom_score_adj.
  # Registry mirrors point at a closed loopback port: a missing image fails at once.
  if [[ $CONTAINERD_MAJOR == 2 ]]; then
    write_containerd2_config
  else
    cat >"$DIR/containerd.toml" <<EOF
version = 2
root = "$DIR/containerd/root"
state = "$RUN/containerd"
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "sandpod.local/pause:1"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  enable_unprivileged_ports = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$DIR/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".registry.mirrors."docker.io"]
    endpoint = ["http://127.0.0.1:9"]
EOF
  fi

  local pids_line="podPidsLimit: $PIDS_LIMIT"
  [[ $PIDS_LIMIT == none ]] && pids_line="# podPidsLimit unset (SANDPOD_CLUSTER_POD_PIDS_LIMIT=none)"
  cat >"$DIR/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: 127.0.0.1
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: AlwaysAllow}
tlsCertFile: $PKI/kubelet-serving.crt
tlsPrivateKeyFile: $PKI/kubelet-serving.key
cgroupDriver: cgroupfs
cgroupsPerQOS: true
containerRuntimeEndpoint: unix://$SOCK
podLogsDir: $DIR/pod-logs
$pids_line
containerLogMaxSize: 64Mi
failSwapOn: false
resolvConf: ""
makeIPTablesUtilChains: false
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "200Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%", imagefs.inodesFree: "1%"}
maxPods: 110
nodeStatusReportFrequency: 10s
EOF
}

# The same settings in containerd 2's format (config version 3), with the runc and shim built by
# build_containerd2 named by path (Debian's 1.6 shim is on PATH). Its images and snapshots live in
# containerd2/, apart from containerd 1.6's, so switching back and forth leaves each store intact.
# Plugins that would read or write outside the state folder (NRI's socket in /var/run/nri,
# /opt/containerd, CDI in /etc/cdi) are off.
write_containerd2_config() {
  mkdir -p "$DIR/containerd2/certs.d/docker.io" "$DIR/containerd2/opt"
  cat >"$DIR/containerd2/certs.d/docker.io/hosts.toml" <<EOF
server = "http://127.0.0.1:9"
[host."http://127.0.0.1:9"]
  capabilities = ["pull", "resolve"]
EOF
  cat >"$DIR/containerd.toml" <<EOF
version = 3
root = "$DIR/containerd2/root"
state = "$RUN/containerd"
imports = []
disabled_plugins = ["io.containerd.nri.v1.nri", "io.containerd.snapshotter.v1.blockfile", "io.containerd.snapshotter.v1.erofs", "io.containerd.differ.v1.erofs", "io.containerd.image-verifier.v1.bindir"]
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$DIR/containerd2/opt"
[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = "sandpod.local/pause:1"
  [plugins."io.containerd.cri.v1.images".registry]
    config_path = "$DIR/containerd2/certs.d"
[plugins."io.containerd.cri.v1.runtime"]
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  enable_unprivileged_ports = false
  enable_unprivileged_icmp = false
  enable_criu = false
  cdi_spec_dirs = []
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      runtime_path = "$CBIN/containerd-shim-runc-v2"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        BinaryName = "$CBIN/runc"
        SystemdCgroup = false
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = ["/usr/lib/cni"]
    conf_dir = "$DIR/cni/net.d"
[plugins."io.containerd.transfer.v1.local"]
  config_path = "$DIR/containerd2/certs.d"
[plugins."io.containerd.grpc.v1.cri"]
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
EOF
}

# ------------------------------------------------------------------------------- processes
pidfile() { printf '%s/%s.pid' "$RUN" "$1"; }

running() {
  local file pid
  file=$(pidfile "$1")
  [[ -s $file ]] || return 1
  pid=$(<"$file")
  kill -0 "$pid" 2>/dev/null && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$1"
}

# start NAME COMMAND...: run in its own session, log to logs/NAME.log, pid to run/NAME.pid.
start() {
  local name=$1
  shift
  running "$name" && return 0
  # shellcheck disable=SC2016  # expanded by the inner shell: it writes its own pid, then execs
  setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$(pidfile "$name")" "$@" \
    >>"$LOGS/$name.log" 2>&1 </dev/null &
  for _ in $(seq 50); do [[ -s $(pidfile "$name") ]] && return 0; sleep 0.1; done
  die "$name did not start; see $LOGS/$name.log"
}

# until_ok SECONDS WHAT COMMAND...: poll COMMAND until it succeeds.
until_ok() {
  local seconds=$1 what=$2 deadline
  shift 2
  deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "$what not ready after ${seconds}s; logs in $LOGS/"
    sleep 0.5
  done
}

api_ready() { kubectl get --raw=/readyz; }
kubelet_healthy() { curl -sf http://127.0.0.1:10248/healthz; }
node_ready() {
  [[ $(kubectl get node "$NODE" -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) == True ]]
}

start_all() {
  start etcd etcd --name sandpod --data-dir "$DIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls http://127.0.0.1:12380 --initial-advertise-peer-urls http://127.0.0.1:12380 \
    --initial-cluster sandpod=http://127.0.0.1:12380 --listen-metrics-urls '' --log-level warn
  # A containerd of the other SANDPOD_CLUSTER_CONTAINERD would be kept by `start` (same name).
  if running containerd && ! tr '\0' ' ' <"/proc/$(<"$(pidfile containerd)")/cmdline" | grep -q -- "^$CONTAINERD "; then
    die "a containerd other than $CONTAINERD is running: run down first, then up with the new SANDPOD_CLUSTER_CONTAINERD"
  fi
  start containerd "$CONTAINERD" --config "$DIR/containerd.toml"

  # The endpoint reconciler is off: it would publish 127.0.0.1 as the `kubernetes` service's
  # endpoint, which the API rejects; nothing here reaches the API through the service.
  start kube-apiserver "$BIN/kube-apiserver" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$API_PORT" \
    --etcd-servers="http://127.0.0.1:$ETCD_PORT" --endpoint-reconciler-type=none \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --client-ca-file="$PKI/ca.crt" --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
    --kubelet-client-certificate="$PKI/apiserver-kubelet-client.crt" --kubelet-client-key="$PKI/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority="$PKI/ca.crt" --kubelet-preferred-address-types=Hostname \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
    --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
    --allow-privileged=false --profiling=false --v=1
  until_ok 90 kube-apiserver api_ready

  start kube-controller-manager "$BIN/kube-controller-manager" \
    --kubeconfig="$DIR/controller-manager.kubeconfig" --bind-address=127.0.0.1 \
    --authentication-kubeconfig="$DIR/controller-manager.kubeconfig" \
    --authorization-kubeconfig="$DIR/controller-manager.kubeconfig" \
    --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
    --use-service-account-credentials --leader-elect=false --profiling=false \
    --controllers='*,-nodeipam,-service-lb-controller,-route,-cloud-node-lifecycle' --v=1
  start kube-scheduler "$BIN/kube-scheduler" \
    --kubeconfig="$DIR/scheduler.kubeconfig" --bind-address=127.0.0.1 \
    --authentication-kubeconfig="$DIR/scheduler.kubeconfig" --authorization-kubeconfig="$DIR/scheduler.kubeconfig" \
    --leader-elect=false --profiling=false --v=1
  until_ok 30 containerd "$CTR" --address "$SOCK" version
  start kubelet "$BIN/kubelet" --config="$DIR/kubelet.yaml" --kubeconfig="$DIR/kubelet.kubeconfig" \
    --root-dir="$DIR/kubelet" --hostname-override="$NODE" --v=1
}

pause_image() {
  "$CTR" --address "$SOCK" -n k8s.io images check "name==sandpod.local/pause:1" 2>/dev/null | grep -q pause && return 0
  log "building the pause image"
  local work
  work=$(mktemp -d)
  cp "$HERE/pause/pause.go" "$work/"
  (cd "$work" && printf 'module pause\n\ngo 1.24\n' >go.mod && CGO_ENABLED=0 go build -ldflags='-s -w' -o pause .)
  python3 "$HERE/image_archive.py" --name sandpod.local/pause:1 --file "$work/pause:/pause" \
    --entrypoint /pause --output "$work/pause.tar"
  "$CTR" --address "$SOCK" -n k8s.io images import --no-unpack=false "$work/pause.tar" >/dev/null
  rm -rf "$work"
}

up() {
  if use_k3s; then
    exec "$ROOT/scripts/k3s.sh" up
  fi
  need_root
  need_tools
  build
  if [[ $CONTAINERD_MAJOR == 2 ]]; then build_containerd2; fi
  write_config
  local start_time=$SECONDS
  start_all
  pause_image
  until_ok 60 "kubelet healthz" kubelet_healthy
  # After a restart the Node keeps its old Ready status for ~40 s: the kubelet's healthz came first.
  until_ok "$WAIT" "node $NODE" node_ready
  log "ready in $((SECONDS - start_time))s; admin kubeconfig: $KUBECONFIG_ADMIN"
}

# ------------------------------------------------------------------------------- tear-down
stop_pid() {
  local name=$1 file pid
  file=$(pidfile "$name")
  running "$name" || { rm -f "$file"; return 0; }
  pid=$(<"$file")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$file"
}

# Every process in the node's pod cgroups (all hierarchies), then the cgroups themselves.
kill_pods() {
  local hierarchy dirs=() dir
  for hierarchy in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
    [[ -d $hierarchy ]] && dirs+=("$hierarchy")
  done
  ((${#dirs[@]})) || return 0
  for _ in 1 2 3; do
    for dir in "${dirs[@]}"; do
      cat "$dir"/cgroup.procs "$dir"/*/cgroup.procs "$dir"/*/*/cgroup.procs "$dir"/*/*/*/cgroup.procs \
        2>/dev/null | xargs -r kill -KILL 2>/dev/null || true
    done
    sleep 0.2
  done
  for dir in "${dirs[@]}"; do
    find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
}

down() {
  if use_k3s; then
    exec "$ROOT/scripts/k3s.sh" down
  fi
  local name
  for name in kubelet kube-scheduler kube-controller-manager kube-apiserver; do stop_pid "$name"; done
  kill_pods
  # Shims outlive containerd; they name its socket on their command line.
  pkill -KILL -f -- "containerd-shim.*-address $SOCK" 2>/dev/null || true
  stop_pid containerd
  stop_pid etcd
  pkill -KILL -f -- "containerd-shim.*-address $SOCK" 2>/dev/null || true
  # Mounts under the state folder (container root filesystems, emptyDirs, network namespaces),
  # deepest first.
  local mount
  while read -r mount; do
    umount -l "$mount" 2>/dev/null || true
  done < <(awk -v dir="$DIR/" 'index($2, dir) == 1 {print $2}' /proc/mounts | sort -r)
  ip link delete "$BRIDGE" 2>/dev/null || true
  rm -rf "$DIR/cni/ipam" "$RUN"
  log "stopped"
}

# ------------------------------------------------------------------------------- the rest
status() {
  if use_k3s; then k3s kubectl get --raw=/readyz >/dev/null 2>&1 && echo "k3s ready" && return 0; echo "k3s not ready"; return 1; fi
  if [[ -f $KUBECONFIG_ADMIN ]] && api_ready >/dev/null 2>&1; then
    echo "ready: $(kubectl get node "$NODE" --no-headers 2>/dev/null | awk '{print $1, $2}')"
  else
    echo "not running"
    return 1
  fi
}

import_images() {
  (($#)) || die "usage: cluster.sh import IMAGE..."
  if use_k3s; then exec "$ROOT/scripts/k3s.sh" import "$@"; fi
  local image id stamp
  mkdir -p "$DIR/imported"
  for image in "$@"; do
    id=$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null) \
      || die "no image $image in the Docker engine (make runtime-images)"
    # The node keeps what it imported: the same build is not sent again (the Rust image is 1.1 GB).
    stamp=$DIR/imported/${image//[:\/]/_}
    if [[ -f $stamp && $(<"$stamp") == "$id" ]] \
      && "$CTR" --address "$SOCK" -n k8s.io images check "name==docker.io/library/$image" 2>/dev/null | grep -q complete; then
      continue
    fi
    log "importing $image"
    docker save "$image" | "$CTR" --address "$SOCK" -n k8s.io images import --digests - >/dev/null
    printf '%s' "$id" >"$stamp"
  done
}

print_kubeconfig() {
  if use_k3s; then echo "$ROOT/.k3s/kubeconfig.yaml"; else echo "$KUBECONFIG_ADMIN"; fi
}

case ${1:-} in
  up) up ;;
  down) down ;;
  kubeconfig) print_kubeconfig ;;
  status) status ;;
  import) shift; import_images "$@" ;;
  events) kubectl get events --all-namespaces --sort-by=.lastTimestamp -o wide ;;
  kubectl) shift; kubectl "$@" ;;
  build) build; if [[ $CONTAINERD_MAJOR == 2 ]]; then build_containerd2; fi ;;
  clean) down; rm -rf "$DIR"; log "removed $DIR" ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 1 ;;
esac
