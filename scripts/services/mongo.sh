# shellcheck shell=bash
# MongoDB wire protocol: FerretDB v1 (SQLite handler), built from its Go module, telemetry disabled.

FERRETDB_VERSION=${SANDPOD_FERRETDB_VERSION:-v1.24.2}
MONGO_PORT=${SANDPOD_MONGO_PORT:-27018}
MONGO_DEBUG_PORT=${SANDPOD_MONGO_DEBUG_PORT:-18088}
# The build's own suffix: bump it when the source patch below changes, so caches rebuild.
FERRETDB_HOME=$SANDPOD_CACHE/ferretdb/$FERRETDB_VERSION-sandpod1
FERRETDB_MODULE=github.com/FerretDB/FerretDB

mongo_marker() { printf 'ferretdb'; }
mongo_port() { printf '%s' "$MONGO_PORT"; }
mongo_timeout() { printf '30'; }
mongo_address() { printf 'mongodb://%s:%s' "$SANDPOD_HOST" "$MONGO_PORT"; }
mongo_env() { printf 'export SANDPOD_MONGO_URL=%s\n' "$(mongo_address)"; }

find_go() {
  if command -v go >/dev/null 2>&1; then
    command -v go
  elif [[ -x /usr/local/go/bin/go ]]; then
    printf '/usr/local/go/bin/go'
  else
    die "mongo: Go is needed to build FerretDB and was not found (install Go 1.24+ or put it on PATH)"
  fi
}

# FerretDB v1's SQLite backend looks `_id` up as `_ferretdb_sjson->'$._id'` but makes the unique
# _id index on `_ferretdb_sjson->"_id"`; SQLite matches index expressions as written, so every
# find, update and delete by _id scanned the whole table (EXPLAIN QUERY PLAN: SCAN). Written as
# `->'_id'` (what the index's `"_id"` resolves to) it is an index SEARCH, same value. v1 gets no
# more releases (v2 needs PostgreSQL with the DocumentDB extension).
patch_ferretdb_id_lookups() {
  local file=$1/internal/backends/sqlite/metadata/metadata.go
  sed -i "s|IDColumn = DefaultColumn + \"->'\\\$._id'\"|IDColumn = DefaultColumn + \"->'_id'\"|" "$file"
  grep -qF "IDColumn = DefaultColumn + \"->'_id'\"" "$file" ||
    die "mongo: the _id lookup patch no longer applies to FerretDB $FERRETDB_VERSION ($file)"
}

mongo_install() {
  ensure_cmd curl curl
  [[ -x $FERRETDB_HOME/bin/ferretdb ]] && return 0
  local go src build_log
  go=$(find_go)
  build_log=$FERRETDB_HOME/install.log
  mkdir -p "$FERRETDB_HOME"
  log "mongo: building FerretDB $FERRETDB_VERSION into $FERRETDB_HOME (takes a minute or two)"
  # `go install module@version` would panic at start: FerretDB reads its version from a file its
  # own release tooling generates. So: take the module source, write that file, build it.
  if ! src=$("$go" mod download -json "$FERRETDB_MODULE@$FERRETDB_VERSION" 2>"$build_log" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p') || [[ -z $src ]]; then
    die "mongo: downloading $FERRETDB_MODULE@$FERRETDB_VERSION failed; see $build_log"
  fi
  rm -rf "${FERRETDB_HOME:?}/src" "${FERRETDB_HOME:?}/bin"
  cp -r "$src" "$FERRETDB_HOME/src"
  chmod -R u+w "$FERRETDB_HOME/src"
  printf '%s\n' "$FERRETDB_VERSION" >"$FERRETDB_HOME/src/build/version/version.txt"
  printf 'sandpod-local\n' >"$FERRETDB_HOME/src/build/version/package.txt"
  patch_ferretdb_id_lookups "$FERRETDB_HOME/src"
  if ! (cd "$FERRETDB_HOME/src" && "$go" build -trimpath -buildvcs=false \
    -o "$FERRETDB_HOME/bin/ferretdb.tmp" ./cmd/ferretdb) >>"$build_log" 2>&1; then
    die "mongo: building FerretDB failed; see $build_log"
  fi
  mv "$FERRETDB_HOME/bin/ferretdb.tmp" "$FERRETDB_HOME/bin/ferretdb"
  rm -rf "$FERRETDB_HOME/src"
}

mongo_start() {
  local dir
  dir=$(svc_dir mongo)
  mkdir -p "$dir/data" "$dir/state"
  rotate_log mongo
  spawn mongo "$FERRETDB_HOME/bin/ferretdb" \
    --handler=sqlite --sqlite-url="file:$dir/data/" \
    --listen-addr="$SANDPOD_HOST:$MONGO_PORT" \
    --debug-addr="$SANDPOD_HOST:$MONGO_DEBUG_PORT" \
    --state-dir="$dir/state" \
    --telemetry=disable \
    --log-level="${SANDPOD_MONGO_LOG_LEVEL:-INFO}"
}

mongo_probe() {
  port_open "$MONGO_PORT" && curl -fsS -o /dev/null "http://$SANDPOD_HOST:$MONGO_DEBUG_PORT/debug/readyz"
}
