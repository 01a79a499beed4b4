# shellcheck shell=bash
# Shared helpers for the local services (sourced by services.sh, not run on its own).
#
# Layout:
#   ${SANDPOD_CACHE:-~/.cache/sandpod}/   downloads and builds, outside the clone, kept between runs
#   <repo>/.services/<service>/           runtime data, <service>.log and <service>.pid (git-ignored)

SERVICES_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SERVICES_LIB_DIR/../.." && pwd)
SANDPOD_CACHE=${SANDPOD_CACHE:-$HOME/.cache/sandpod}
SANDPOD_SERVICES_DIR=${SANDPOD_SERVICES_DIR:-$REPO_ROOT/.services}
SANDPOD_HOST=127.0.0.1

log() { printf '[services] %s\n' "$*" >&2; }
die() {
  printf '[services] ERROR: %s\n' "$*" >&2
  exit 1
}

# Runtime paths of one service.
svc_dir() { printf '%s/%s' "$SANDPOD_SERVICES_DIR" "$1"; }
svc_log() { printf '%s/%s/%s.log' "$SANDPOD_SERVICES_DIR" "$1" "$1"; }
svc_pidfile() { printf '%s/%s/%s.pid' "$SANDPOD_SERVICES_DIR" "$1" "$1"; }

# Keep the previous run's log as <name>.log.1 so a readiness check only sees this run's lines.
rotate_log() {
  local log_file
  log_file=$(svc_log "$1")
  mkdir -p "$(dirname "$log_file")"
  if [[ -f $log_file ]]; then mv -f "$log_file" "$log_file.1"; fi
  : >"$log_file"
}

# ---------------------------------------------------------------- prerequisites

_apt_updated=0
apt_install() {
  if [[ $(id -u) -ne 0 ]]; then
    die "missing packages: $* (install them with: sudo apt-get install $*)"
  fi
  if ((!_apt_updated)); then
    log "apt-get update"
    apt-get update -qq >/dev/null
    _apt_updated=1
  fi
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# ensure_cmd COMMAND DEBIAN_PACKAGE: install the package when the command is missing.
ensure_cmd() {
  command -v "$1" >/dev/null 2>&1 || apt_install "$2"
  command -v "$1" >/dev/null 2>&1 || die "$1 still missing after installing $2"
}

# Major version of a java binary, read from the JDK's release file (no JVM start), else from -version.
java_major() {
  local java=$1 home version
  home=$(dirname "$(dirname "$(readlink -f "$java")")")
  if [[ -f $home/release ]]; then
    version=$(sed -n 's/^JAVA_VERSION="\([^"]*\)".*/\1/p' "$home/release")
  else
    version=$("$java" -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n1)
  fi
  version=${version#1.}
  printf '%s' "${version%%[.+-]*}"
}

# find_java MIN_MAJOR: print the path of a java binary of at least that major version, or fail.
# Tries $JAVA_HOME, then the java on PATH, then each JDK under /usr/lib/jvm; the first that is new
# enough wins, so the system default is preferred.
find_java() {
  local min=$1 candidate major
  local candidates=()
  [[ -n ${JAVA_HOME:-} ]] && candidates+=("$JAVA_HOME/bin/java")
  command -v java >/dev/null 2>&1 && candidates+=("$(command -v java)")
  for candidate in /usr/lib/jvm/*/bin/java; do candidates+=("$candidate"); done
  for candidate in "${candidates[@]}"; do
    [[ -x $candidate ]] || continue
    major=$(java_major "$candidate")
    if [[ $major =~ ^[0-9]+$ ]] && ((major >= min)); then
      printf '%s' "$candidate"
      return 0
    fi
  done
  return 1
}

# ensure_java17: print a Java >= 17, installing Debian's OpenJDK 17 when there is none.
ensure_java17() {
  local java
  if ! java=$(find_java 17); then
    apt_install openjdk-17-jre-headless
    java=$(find_java 17) || die "no Java 17+ found even after installing openjdk-17-jre-headless"
  fi
  printf '%s' "$java"
}

mvn_quiet() {
  ensure_cmd mvn maven
  mvn -B -q --no-transfer-progress -Dstyle.color=never "$@"
}

# ---------------------------------------------------------------- processes

# pid_of NAME MARKER: print the pid from NAME's pidfile when that process is alive and its command
# line contains MARKER (guards against a recycled pid). Fails otherwise.
pid_of() {
  local pidfile pid
  pidfile=$(svc_pidfile "$1")
  [[ -s $pidfile ]] || return 1
  pid=$(<"$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$2" || return 1
  printf '%s' "$pid"
}

# spawn NAME COMMAND...: start COMMAND detached (own session, no stdin), output appended to the
# service log, its pid written to the service pidfile.
spawn() {
  local name=$1 log_file pidfile
  shift
  log_file=$(svc_log "$name")
  pidfile=$(svc_pidfile "$name")
  # The inner shell writes its own pid, then execs the command, so the pid is the service's.
  # shellcheck disable=SC2016 # $$ and $1 expand in the inner shell
  # fd 9 is services.sh's lock: the daemon must not inherit it.
  setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$pidfile" "$@" >>"$log_file" 2>&1 </dev/null 9>&- &
  # Wait until the pidfile exists so callers can rely on it.
  local i
  for ((i = 0; i < 50; i++)); do
    [[ -s $pidfile ]] && return 0
    sleep 0.05
  done
  die "$name: could not start (no pidfile); see $log_file"
}

# stop_service NAME MARKER [TIMEOUT_SECONDS]: SIGTERM, wait, then SIGKILL.
stop_service() {
  local name=$1 marker=$2 timeout=${3:-20} pid i
  if ! pid=$(pid_of "$name" "$marker"); then
    rm -f "$(svc_pidfile "$name")"
    log "$name: not running"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < timeout * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name: still running after ${timeout}s, sending SIGKILL to $pid"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.2
  fi
  rm -f "$(svc_pidfile "$name")"
  log "$name: stopped (pid $pid)"
}

# port_open PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_open() {
  (exec 3<>"/dev/tcp/$SANDPOD_HOST/$1") 2>/dev/null
}

# wait_ready NAME MARKER TIMEOUT PROBE...: poll PROBE until it succeeds. Fails with one line naming the
# log when the process dies or the timeout passes.
wait_ready() {
  local name=$1 marker=$2 timeout=$3 deadline
  shift 3
  deadline=$((SECONDS + timeout))
  while ((SECONDS < deadline)); do
    if ! pid_of "$name" "$marker" >/dev/null; then
      die "$name exited during startup; see $(svc_log "$name")"
    fi
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.25
  done
  die "$name not ready after ${timeout}s; see $(svc_log "$name")"
}
