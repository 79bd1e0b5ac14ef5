# Shared by the test servers' scripts (swift/swift.sh, ceph/ceph.sh), sourced after they set:
#   SERVICE    the name messages start with ("swift")
#   PROCESSES  the processes in start order (stop goes the other way), each with $RUN/<name>.pid
#   RUN, STATE the PID-file and state directories
# and define live_pid NAME (the PID from the PID file when that process is alive and is ours).

say() { echo "$SERVICE: $*"; }
fail() { echo "$SERVICE: error: $*" >&2; exit 1; }

port_in_use() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# apt_install WHAT PACKAGE...: installs Debian packages as root, with the current package lists first
# and `apt-get update` only when that fails. Exits 2 (unavailable: the tests skip, saying why) when
# it cannot: not root, no apt-get, or apt-get failed.
apt_install() {
  local what=$1
  shift
  if [ "$(id -u)" != 0 ]; then
    echo "$SERVICE: unavailable: $what is not installed and installing it needs root:" >&2
    echo "$SERVICE:   sudo apt-get install -y --no-install-recommends $*" >&2
    exit 2
  fi
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "$SERVICE: unavailable: no apt-get here; install $what ($*)" >&2
    exit 2
  fi
  say "installing $* (apt-get)"
  local apt_log="${TMPDIR:-/tmp}/stowage-$SERVICE-apt.log"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q --no-install-recommends "$@" >"$apt_log" 2>&1; then
    apt-get update -q >>"$apt_log" 2>&1 || true
    if ! apt-get install -y -q --no-install-recommends "$@" >>"$apt_log" 2>&1; then
      tail -n 20 "$apt_log" >&2
      echo "$SERVICE: unavailable: apt-get install $* failed" >&2
      exit 2
    fi
  fi
}

# Stops every process of ours, newest first: SIGTERM, up to 10 s to go, then SIGKILL.
stop_all() {
  local name pid pids=() i
  for ((i = ${#PROCESSES[@]} - 1; i >= 0; i--)); do
    name=${PROCESSES[i]}
    if pid=$(live_pid "$name"); then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
    rm -f "$RUN/$name.pid"
  done
  local deadline=$((SECONDS + 10))
  for pid in "${pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
  [ "${#pids[@]}" -gt 0 ] && say "stopped (${#pids[@]} processes)"
  return 0
}

# Serialises start/stop between concurrent callers (e.g. two test processes).
with_lock() {
  mkdir -p "$STATE"
  exec 9>"$STATE/lock"
  flock -w 120 9 || fail "could not lock $STATE/lock"
  "$@"
}
