#!/usr/bin/env bash
# Make what the backend services need before they start, into CERTS_DIR:
#   ca.crt, ca.key        a development CA (kept: later runs reuse it)
#   api.crt, api.key      the API's TLS certificate, signed by that CA, for API_HOSTNAMES
#   kubeconfig.yaml       the backend's service-account credentials for the k3s cluster
#
# For the last one it applies the manifests in MANIFESTS_DIR (deploy/: namespace.yaml,
# rbac.yaml, networkpolicy.yaml) with the cluster admin's kubeconfig (ADMIN_KUBECONFIG, written
# by `make k3s-up`), takes the token of the ServiceAccount they declare (from its
# service-account-token Secret when they declare one, else a TokenRequest of TOKEN_DURATION), and
# checks the result can create pods in EXECUTIONS_NAMESPACE and not in `default`.
# Safe to run again: the CA and a still valid API certificate are kept, the manifests re-applied.
set -euo pipefail

CERTS_DIR=${CERTS_DIR:-/certs}
API_HOSTNAMES=${API_HOSTNAMES:-backend,localhost}
CERT_DAYS=${CERT_DAYS:-825}
ADMIN_KUBECONFIG=${ADMIN_KUBECONFIG:-/k3s/kubeconfig.yaml}
KUBE_SERVER=${KUBE_SERVER:-}
MANIFESTS_DIR=${MANIFESTS_DIR:-/deploy}
MANIFESTS=${MANIFESTS:-namespace.yaml rbac.yaml networkpolicy.yaml}
EXECUTIONS_NAMESPACE=${EXECUTIONS_NAMESPACE:-sandpod-executions}
REQUIRE_KUBERNETES=${REQUIRE_KUBERNETES:-true}
TOKEN_DURATION=${TOKEN_DURATION:-168h}
KUBE_WAIT_SECONDS=${KUBE_WAIT_SECONDS:-60}

log() { printf 'cert-generator: %s\n' "$*"; }
die() { printf 'cert-generator: %s\n' "$*" >&2; exit 1; }

umask 077
mkdir -p "$CERTS_DIR"
cd "$CERTS_DIR"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

make_ca() {
  if [[ -s ca.key && -s ca.crt ]]; then
    log "CA present"
    return
  fi
  openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
    -keyout ca.key -out ca.crt -days 3650 -subj "/CN=sandpod development CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  chmod 0644 ca.crt
  log "made a CA"
}

make_api_cert() {
  local sans="" name
  IFS=, read -ra names <<<"$API_HOSTNAMES"
  for name in "${names[@]}"; do
    sans+="DNS:${name},"
  done
  sans+="IP:127.0.0.1"
  if [[ -s api.key && -s api.crt ]] \
    && openssl x509 -in api.crt -noout -checkend $((30 * 24 * 3600)) >/dev/null \
    && [[ $(cat api.sans 2>/dev/null) == "$sans" ]] \
    && openssl verify -CAfile ca.crt api.crt >/dev/null 2>&1; then
    log "API certificate present and valid"
    return
  fi
  openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
    -keyout api.key -out "$work/api.csr" -subj "/CN=${names[0]}" 2>/dev/null
  printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n' "$sans" >"$work/api.ext"
  openssl x509 -req -in "$work/api.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
    -out api.crt -days "$CERT_DAYS" -extfile "$work/api.ext" 2>/dev/null
  chmod 0644 api.crt
  echo "$sans" >api.sans
  log "made the API certificate for $sans"
}

kube() { kubectl --kubeconfig "$work/admin.yaml" "$@"; }

make_kubeconfig() {
  if [[ ! -f $ADMIN_KUBECONFIG ]]; then
    if [[ $REQUIRE_KUBERNETES == true ]]; then
      die "no cluster admin kubeconfig at $ADMIN_KUBECONFIG: run 'make k3s-up' first (or set REQUIRE_KUBERNETES=false)"
    fi
    log "no kubeconfig at $ADMIN_KUBECONFIG: skipping the Kubernetes credentials"
    return
  fi
  cp "$ADMIN_KUBECONFIG" "$work/admin.yaml"
  local cluster
  cluster=$(kube config view -o jsonpath='{.contexts[0].context.cluster}')
  if [[ -n $KUBE_SERVER ]]; then
    kube config set-cluster "$cluster" --server="$KUBE_SERVER" >/dev/null
  fi
  local deadline=$((SECONDS + KUBE_WAIT_SECONDS))
  until kube get --raw=/readyz >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "the cluster at $(kube config view --minify -o jsonpath='{.clusters[0].cluster.server}') is not ready after ${KUBE_WAIT_SECONDS}s"
    sleep 2
  done

  local file account="" namespace="" secret=""
  for file in $MANIFESTS; do
    [[ -f $MANIFESTS_DIR/$file ]] || die "missing manifest $MANIFESTS_DIR/$file (deploy/$file in the repository)"
    kube apply -f "$MANIFESTS_DIR/$file" >/dev/null
    log "applied $file"
  done
  # The service account is whatever the manifests declare (kind ServiceAccount), and its token
  # the Secret of type service-account-token that names it, if they declare one.
  local objects
  objects=$(for file in $MANIFESTS; do
    kube get -f "$MANIFESTS_DIR/$file" --no-headers -o custom-columns='KIND:.kind,NAMESPACE:.metadata.namespace,NAME:.metadata.name,TYPE:.type,FOR:.metadata.annotations.kubernetes\.io/service-account\.name'
  done)
  while read -r kind ns name _ _; do
    if [[ $kind == ServiceAccount ]]; then
      namespace=$ns account=$name
    fi
  done <<<"$objects"
  [[ -n $account ]] || die "no ServiceAccount in $MANIFESTS_DIR ($MANIFESTS)"
  while read -r kind ns name type for; do
    if [[ $kind == Secret && $ns == "$namespace" && $type == kubernetes.io/service-account-token && $for == "$account" ]]; then
      secret=$name
    fi
  done <<<"$objects"

  local token="" server
  if [[ -n $secret ]]; then
    # The token controller fills the Secret in shortly after it is created.
    deadline=$((SECONDS + KUBE_WAIT_SECONDS))
    until token=$(kube -n "$namespace" get secret "$secret" -o jsonpath='{.data.token}') && [[ -n $token ]]; do
      ((SECONDS < deadline)) || die "secret $namespace/$secret has no token after ${KUBE_WAIT_SECONDS}s"
      sleep 1
    done
    token=$(base64 -d <<<"$token")
    log "using the long-lived token of secret $namespace/$secret"
  else
    token=$(kube -n "$namespace" create token "$account" --duration="$TOKEN_DURATION")
    log "requested a token valid $TOKEN_DURATION"
  fi
  server=$(kube config view --minify -o jsonpath='{.clusters[0].cluster.server}')
  kube config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' \
    | base64 -d >"$work/cluster-ca.crt"

  local out=$work/kubeconfig.yaml
  kubectl --kubeconfig "$out" config set-cluster sandpod --server="$server" \
    --certificate-authority="$work/cluster-ca.crt" --embed-certs=true >/dev/null
  kubectl --kubeconfig "$out" config set-credentials "$account" --token="$token" >/dev/null
  kubectl --kubeconfig "$out" config set-context sandpod --cluster=sandpod --user="$account" \
    --namespace="$EXECUTIONS_NAMESPACE" >/dev/null
  kubectl --kubeconfig "$out" config use-context sandpod >/dev/null

  [[ $(kubectl --kubeconfig "$out" auth can-i create pods -n "$EXECUTIONS_NAMESPACE" 2>/dev/null) == yes ]] \
    || die "service account $namespace/$account cannot create pods in $EXECUTIONS_NAMESPACE: check deploy/rbac.yaml"
  if [[ $(kubectl --kubeconfig "$out" auth can-i create pods -n default 2>/dev/null) == yes ]]; then
    die "service account $namespace/$account can create pods in 'default': its role must be namespaced"
  fi
  mv "$out" kubeconfig.yaml
  log "wrote kubeconfig.yaml for service account $namespace/$account (namespace $EXECUTIONS_NAMESPACE)"
}

make_ca
make_api_cert
make_kubeconfig
