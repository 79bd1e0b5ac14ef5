# Shared by the test servers' scripts (swift/swift.sh, ceph/ceph.sh), sourced after they set:
#   SERVICE    the name messages start with ("swift")
#   PROCESSES  the processes in start order (stop goes the other way), each with $RUN/<name>.pid
#   RUN, STATE the PID-file and state directories
# and define is_ours PID NAME (whether that live process is the one we started: guards against PID
# reuse and against other instances),
# health (exit 0 healthy, 3 stopped, else unhealthy), print_endpoints, cmd_install and cmd_start;
# optionally describe_process PID NAME (what status says about a running process) and before_reset.
# The script then ends with `service_main "$@"`.

say() { echo "$SERVICE: $*"; }

# The PID in $RUN/NAME.pid when that process is alive and is_ours says it is the one we started.
live_pid() {
  local file="$RUN/$1.pid" pid
  [ -f "$file" ] || return 1
  pid=$(cat "$file" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [ -r "/proc/$pid/cmdline" ] || return 1
  is_ours "$pid" "$1" || return 1
  echo "$pid"
}
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

# What status says about a running process; a script may redefine it (Swift adds the port).
describe_process() { echo "pid $1"; }
before_reset() { :; }

# Exit 0 when running and healthy, 3 when stopped, 1 otherwise; one line per process.
cmd_status() {
  local name pid rc=0
  for name in "${PROCESSES[@]}"; do
    if pid=$(live_pid "$name"); then
      say "$name running ($(describe_process "$pid" "$name"))"
    else
      say "$name stopped"
    fi
  done
  health || rc=$?
  case $rc in
    0) say "healthy"; print_endpoints ;;
    3) say "stopped" ;;
    *) say "unhealthy (logs in $LOG)" ;;
  esac
  return "$rc"
}

# The commands every service script takes; usage is the script's header comment.
service_main() {
  case ${1:-} in
    install) cmd_install ;;
    start) with_lock cmd_start ;;
    stop) with_lock stop_all ;;
    status) cmd_status ;;
    reset)
      before_reset
      with_lock stop_all
      rm -rf "$STATE"
      say "removed $STATE"
      ;;
    *)
      sed -n '2,/^set -euo pipefail/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
      exit 2
      ;;
  esac
}
