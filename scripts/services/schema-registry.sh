# shellcheck shell=bash
# Schema Registry (Confluent API, /apis/ccompat/v7): Apicurio Registry 3.x from Maven Central
# (io.apicurio:apicurio-registry-app, classifier "all", tar.gz), in-memory storage: every start is empty.
#
# Apicurio 3.3.x is built for Java 21+. It is used when such a Java is found (the polyglot machine
# image has Temurin 25 in /usr/lib/jvm); otherwise 3.0.9, which runs on Debian's OpenJDK 17.

SCHEMA_REGISTRY_PORT=${SANDPOD_SCHEMA_REGISTRY_PORT:-18081}
SCHEMA_REGISTRY_MANAGEMENT_PORT=${SANDPOD_SCHEMA_REGISTRY_MANAGEMENT_PORT:-18082}
SCHEMA_REGISTRY_HEAP_OPTS=${SANDPOD_SCHEMA_REGISTRY_HEAP_OPTS:--Xms64m -Xmx384m}

schema_registry_marker() { printf 'apicurio'; }
schema_registry_port() { printf '%s' "$SCHEMA_REGISTRY_PORT"; }
schema_registry_timeout() { printf '60'; }
schema_registry_address() {
  printf 'http://%s:%s/apis/ccompat/v7' "$SANDPOD_HOST" "$SCHEMA_REGISTRY_PORT"
}
schema_registry_env() {
  printf 'export SANDPOD_SCHEMA_REGISTRY_URL=%s\n' "$(schema_registry_address)"
}

# Sets APICURIO_JAVA, APICURIO_VERSION and APICURIO_HOME (once).
_apicurio_select() {
  [[ -n ${APICURIO_HOME:-} ]] && return 0
  if [[ -n ${SANDPOD_APICURIO_JAVA:-} ]]; then
    APICURIO_JAVA=$SANDPOD_APICURIO_JAVA
    APICURIO_VERSION=${SANDPOD_APICURIO_VERSION:-3.3.3}
  elif APICURIO_JAVA=$(find_java 21); then
    APICURIO_VERSION=${SANDPOD_APICURIO_VERSION:-3.3.3}
  else
    APICURIO_JAVA=$(ensure_java17)
    APICURIO_VERSION=${SANDPOD_APICURIO_VERSION:-3.0.9}
  fi
  APICURIO_HOME=$SANDPOD_CACHE/apicurio/$APICURIO_VERSION
}

schema_registry_install() {
  ensure_cmd curl curl
  _apicurio_select
  [[ -f $APICURIO_HOME/.complete ]] && return 0
  local artifact=io.apicurio:apicurio-registry-app:$APICURIO_VERSION:tar.gz:all
  local tarball=$APICURIO_HOME/apicurio-registry-app-$APICURIO_VERSION-all.tar.gz
  log "schema-registry: fetching Apicurio Registry $APICURIO_VERSION from Maven Central into $APICURIO_HOME"
  rm -rf "$APICURIO_HOME"
  mkdir -p "$APICURIO_HOME/app"
  if ! mvn_quiet dependency:copy -Dartifact="$artifact" -DoutputDirectory="$APICURIO_HOME" \
    >"$APICURIO_HOME/install.log" 2>&1; then
    die "schema-registry: fetching $artifact failed; see $APICURIO_HOME/install.log"
  fi
  tar -xzf "$tarball" -C "$APICURIO_HOME/app"
  rm -f "$tarball"
  _apicurio_jar >/dev/null || die "schema-registry: no runnable jar in $tarball"
  touch "$APICURIO_HOME/.complete"
}

# 3.1+ ships the Quarkus fast-jar layout (quarkus-run.jar); 3.0.x a runner jar beside lib/.
_apicurio_jar() {
  local jar
  for jar in "$APICURIO_HOME/app/quarkus-run.jar" "$APICURIO_HOME"/app/apicurio-registry-app-*-runner.jar; do
    if [[ -f $jar ]]; then
      printf '%s' "$jar"
      return 0
    fi
  done
  return 1
}

schema_registry_start() {
  _apicurio_select
  local dir jar
  dir=$(svc_dir schema-registry)
  jar=$(_apicurio_jar)
  mkdir -p "$dir"
  rotate_log schema-registry
  local -a heap
  # shellcheck disable=SC2206 # the heap options are meant to split into words
  heap=($SCHEMA_REGISTRY_HEAP_OPTS)
  # -Dapicurio.sandpod marks the command line so the pid check cannot match another Java process.
  (cd "$dir" && spawn schema-registry "$APICURIO_JAVA" "${heap[@]}" \
    -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:+ExitOnOutOfMemoryError \
    -Dapicurio.sandpod=true \
    -Dquarkus.http.host="$SANDPOD_HOST" -Dquarkus.http.port="$SCHEMA_REGISTRY_PORT" \
    -Dquarkus.management.host="$SANDPOD_HOST" -Dquarkus.management.port="$SCHEMA_REGISTRY_MANAGEMENT_PORT" \
    -Dquarkus.http.access-log.enabled=false \
    -jar "$jar")
}

schema_registry_probe() {
  curl -fsS -o /dev/null "$(schema_registry_address)/subjects"
}
