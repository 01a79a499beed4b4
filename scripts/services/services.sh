#!/usr/bin/env bash
# Install, start, check and stop the real local services the tests use, on 127.0.0.1.
#
#   scripts/services/services.sh up      [service...]   install what is missing, start, wait until ready
#   scripts/services/services.sh down    [service...]   stop (SIGTERM, then SIGKILL after a timeout)
#   scripts/services/services.sh status  [service...]   one line per service; exit 1 if any is not ready
#   scripts/services/services.sh restart [service...]
#   scripts/services/services.sh install [service...]   only download/build into the cache
#   scripts/services/services.sh logs    service        last lines of its log
#   scripts/services/services.sh env                    `export SANDPOD_*_URL=...` lines for the backend
#   scripts/services/services.sh clean   [service...]   stop and delete its runtime data
#
# Services: redis, kafka, mongo (FerretDB), schema-registry (Apicurio). Default: all of them.
# Downloads and builds: ${SANDPOD_CACHE:-~/.cache/sandpod}. Data, logs, pids: <repo>/.services/.
# Ports: SANDPOD_REDIS_PORT (16379), SANDPOD_KAFKA_PORT (19092), SANDPOD_KAFKA_CONTROLLER_PORT (19093),
# SANDPOD_MONGO_PORT (27018), SANDPOD_MONGO_DEBUG_PORT (18088), SANDPOD_SCHEMA_REGISTRY_PORT (18081),
# SANDPOD_SCHEMA_REGISTRY_MANAGEMENT_PORT (18082). SANDPOD_KAFKA_CLUSTER_ID: the id Kafka's storage
# is formatted with the first time (default: 16 random bytes, base64url).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=SCRIPTDIR/lib.sh
source "$here/lib.sh"
# shellcheck source=SCRIPTDIR/redis.sh
source "$here/redis.sh"
# shellcheck source=SCRIPTDIR/kafka.sh
source "$here/kafka.sh"
# shellcheck source=SCRIPTDIR/mongo.sh
source "$here/mongo.sh"
# shellcheck source=SCRIPTDIR/schema-registry.sh
source "$here/schema-registry.sh"

ALL_SERVICES=(redis kafka mongo schema-registry)

usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
  exit "${1:-0}"
}

# Resolve names and aliases into the `services` array.
resolve() {
  services=()
  (($#)) || set -- "${ALL_SERVICES[@]}"
  local name
  for name in "$@"; do
    case $name in
      redis | kafka | mongo | schema-registry) services+=("$name") ;;
      ferretdb | mongodb) services+=(mongo) ;;
      apicurio | registry | schema_registry) services+=(schema-registry) ;;
      all) services+=("${ALL_SERVICES[@]}") ;;
      *) die "unknown service '$name' (known: ${ALL_SERVICES[*]})" ;;
    esac
  done
}

# call SERVICE FUNCTION: run <service>_<function> (schema-registry -> schema_registry_...).
call() { "${1//-/_}_$2"; }

cmd_install() {
  local svc
  for svc in "${services[@]}"; do call "$svc" install; done
}

cmd_up() {
  local svc pid started=()
  cmd_install
  # Start everything first, then wait: the JVMs boot in parallel.
  for svc in "${services[@]}"; do
    if pid=$(pid_of "$svc" "$(call "$svc" marker)"); then
      log "$svc: already running (pid $pid)"
      continue
    fi
    if port_open "$(call "$svc" port)"; then
      die "$svc: port $(call "$svc" port) is taken by a process these scripts did not start"
    fi
    call "$svc" start
    started+=("$svc")
  done
  local begin=$SECONDS
  for svc in "${services[@]}"; do
    wait_ready "$svc" "$(call "$svc" marker)" "$(call "$svc" timeout)" call "$svc" probe
    log "$svc: ready at $(call "$svc" address)"
  done
  if ((${#started[@]})); then log "started ${started[*]}; ready in $((SECONDS - begin))s"; fi
}

cmd_down() {
  # Stop them side by side: each takes a second or two to shut down cleanly.
  local svc pid rc=0 stoppers=()
  for svc in "${services[@]}"; do
    stop_service "$svc" "$(call "$svc" marker)" 30 &
    stoppers+=("$!")
  done
  for pid in "${stoppers[@]}"; do wait "$pid" || rc=1; done
  return "$rc"
}

cmd_status() {
  local svc pid state rc=0
  for svc in "${services[@]}"; do
    if pid=$(pid_of "$svc" "$(call "$svc" marker)"); then
      if call "$svc" probe >/dev/null 2>&1; then state=ready; else
        state="running, not ready"
        rc=1
      fi
      printf '%-16s %-20s pid %-8s %s\n' "$svc" "$state" "$pid" "$(call "$svc" address)"
    else
      printf '%-16s %-20s %-12s %s\n' "$svc" stopped "" "$(call "$svc" address)"
      rc=1
    fi
  done
  return "$rc"
}

cmd_logs() {
  ((${#services[@]} == 1)) || die "logs takes one service"
  local log_file
  log_file=$(svc_log "${services[0]}")
  [[ -f $log_file ]] || die "no log yet: $log_file"
  tail -n "${LINES_TO_SHOW:-60}" "$log_file"
}

cmd_env() {
  local svc
  for svc in "${services[@]}"; do call "$svc" env; done
}

cmd_clean() {
  local svc
  cmd_down
  for svc in "${services[@]}"; do
    rm -rf "$(svc_dir "$svc")"
    log "$svc: removed $(svc_dir "$svc")"
  done
}

main() {
  (($#)) || usage 1
  local command=$1
  shift
  case $command in
    -h | --help | help) usage 0 ;;
  esac
  resolve "$@"
  mkdir -p "$SANDPOD_SERVICES_DIR"
  # One invocation at a time (parallel make jobs, a second terminal).
  exec 9>"$SANDPOD_SERVICES_DIR/.lock"
  flock -w 600 9 || die "another services.sh is still running (lock $SANDPOD_SERVICES_DIR/.lock)"
  case $command in
    up | start) cmd_up ;;
    down | stop) cmd_down ;;
    restart) cmd_down && cmd_up ;;
    status) cmd_status ;;
    install) cmd_install ;;
    logs) cmd_logs ;;
    env) cmd_env ;;
    clean) cmd_clean ;;
    *) usage 1 ;;
  esac
}

main "$@"
