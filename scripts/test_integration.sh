#!/usr/bin/env bash
# The full-stack integration run, called by `make test-integration` once k3s is up, the CI
# compose file is written and the images are built:
#   1. start docker-compose.ci.yaml and wait until every service is healthy (or done);
#   2. run pytest (unit + integration + e2e) with xdist and coverage against the stack;
#   3. always, pass or fail: save every container's log, `compose ps`, and the cluster's events
#      and pods into artifacts/logs/, then take the stack down with its volumes.
# Exits with the status of the first failing step.
# Env: COMPOSE_BIN (a compose v2 CLI; default the one in backend/.venv), STACK_WAIT (seconds,
#      default 300), PYTEST_WORKERS (default auto), ARTIFACTS (default artifacts/).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COMPOSE_FILE=$ROOT/docker-compose.ci.yaml
COMPOSE_BIN=${COMPOSE_BIN:-$ROOT/backend/.venv/bin/docker-compose}
ARTIFACTS=${ARTIFACTS:-$ROOT/artifacts}
STACK_WAIT=${STACK_WAIT:-300}
PYTEST_WORKERS=${PYTEST_WORKERS:-auto}

[[ -f $COMPOSE_FILE ]] || { echo "no docker-compose.ci.yaml: run 'make compose-ci'" >&2; exit 1; }

compose() { "$COMPOSE_BIN" --project-directory "$ROOT" -f "$COMPOSE_FILE" "$@"; }

collect() {
  local logs=$ARTIFACTS/logs service
  mkdir -p "$logs"
  compose ps --all >"$logs/compose-ps.txt" 2>&1 || true
  for service in $(compose config --services); do
    compose logs --no-color --timestamps "$service" >"$logs/$service.log" 2>&1 || true
  done
  "$ROOT/scripts/k3s.sh" events >"$logs/kubernetes-events.txt" 2>&1 || true
  k3s kubectl get pods --all-namespaces -o wide >"$logs/kubernetes-pods.txt" 2>&1 || true
  echo "logs and cluster events in ${logs#"$ROOT"/}/"
}

finish() {
  local status=$?
  collect
  compose down --volumes --remove-orphans >/dev/null 2>&1 || true
  exit "$status"
}
trap finish EXIT

echo "starting the stack (waiting up to ${STACK_WAIT}s for healthy)"
compose up --detach --wait --wait-timeout "$STACK_WAIT"

# The tests reach the stack through its published ports; MongoDB's test credentials are the
# ones compose_ci.sh wrote into the CI file.
yq=$("$ROOT/scripts/install-tools.sh" --print-path yq)
mongo_user=$("$yq" '.services.mongo.environment.MONGO_INITDB_ROOT_USERNAME' "$COMPOSE_FILE")
mongo_password=$("$yq" '.services.mongo.environment.MONGO_INITDB_ROOT_PASSWORD' "$COMPOSE_FILE")
export SANDPOD_STACK=compose
export SANDPOD_URL=http://127.0.0.1:8000
export SANDPOD_MONGO_URL="mongodb://${mongo_user}:${mongo_password}@127.0.0.1:27017/?authSource=admin"
export SANDPOD_REDIS_URL="redis://:${REDIS_PASSWORD:-sandpod-dev}@127.0.0.1:6379/0"
export SANDPOD_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092
export SANDPOD_SCHEMA_REGISTRY_URL=http://127.0.0.1:8081
export KUBECONFIG=$ROOT/.k3s/kubeconfig.yaml

suites=()
for suite in unit integration e2e; do
  [[ -d $ROOT/backend/tests/$suite ]] && suites+=("tests/$suite")
done
mkdir -p "$ARTIFACTS"
cd "$ROOT/backend"
uv run --frozen pytest "${suites[@]}" -m "unit or integration or e2e" -n "$PYTEST_WORKERS" \
  --cov --cov-report=term --cov-report="xml:$ARTIFACTS/coverage-integration.xml" \
  --junitxml="$ARTIFACTS/junit-integration.xml" -q
