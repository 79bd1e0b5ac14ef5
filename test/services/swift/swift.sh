#!/usr/bin/env bash
# Local single-node OpenStack Swift (with its S3 API, s3api) for the S3 and Swift drivers' tests.
#
#   swift.sh install   apt-install python3-swift + memcached if missing (root only)
#   swift.sh start     install if needed, write configs + rings, start memcached and the
#                      account/container/object/proxy servers, wait until tempauth works
#                      (a no-op when this state dir's servers already run and are healthy)
#   swift.sh stop      stop the servers by their PID files
#   swift.sh status    exit 0 when running and healthy, 3 when stopped, 1 otherwise
#   swift.sh reset     stop, then delete the state dir (all stored data)
#
# Environment: STOWAGE_SWIFT_DIR (state dir, default ${TMPDIR:-/tmp}/stowage-swift),
# STOWAGE_SWIFT_PORT (proxy, default 8080), STOWAGE_SWIFT_BACKEND_PORT (first of four ports for
# object, container, account, memcached; default 6210, or the proxy port + 1 when that is not 8080;
# the state dir then defaults to .../stowage-swift-PORT). Everything binds to 127.0.0.1.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Swift comes from Debian's python3-swift: only the system interpreter can import it
# (a pyenv python3 may be first on PATH).
PY=/usr/bin/python3
LAUNCHER="$HERE/launcher.py"

HOST=127.0.0.1
PROXY_PORT=${STOWAGE_SWIFT_PORT:-8080}
# Another proxy port alone gives a separate instance: its own backend ports and state dir.
if [ "$PROXY_PORT" = 8080 ]; then
  BACKEND_PORT=${STOWAGE_SWIFT_BACKEND_PORT:-6210}
  STATE=${STOWAGE_SWIFT_DIR:-${TMPDIR:-/tmp}/stowage-swift}
else
  BACKEND_PORT=${STOWAGE_SWIFT_BACKEND_PORT:-$((PROXY_PORT + 1))}
  STATE=${STOWAGE_SWIFT_DIR:-${TMPDIR:-/tmp}/stowage-swift-$PROXY_PORT}
fi
OBJECT_PORT=$BACKEND_PORT
CONTAINER_PORT=$((BACKEND_PORT + 1))
ACCOUNT_PORT=$((BACKEND_PORT + 2))
MEMCACHED_PORT=$((BACKEND_PORT + 3))
SWIFT_USER=test:tester
SWIFT_KEY=testing
START_TIMEOUT=${STOWAGE_SWIFT_START_TIMEOUT:-60}

ETC="$STATE/etc"
RUN="$STATE/run"
LOG="$STATE/log"
DEVICES="$STATE/srv/node"
# Start order; stop goes the other way.
SERVERS=(memcached account-server container-server object-server proxy-server)

SERVICE=swift
PROCESSES=("${SERVERS[@]}")
# say, fail, port_in_use, apt_install, stop_all, with_lock
# shellcheck source=../service.sh
. "$HERE/../service.sh"


port_of() {
  case $1 in
    memcached) echo "$MEMCACHED_PORT" ;;
    account-server) echo "$ACCOUNT_PORT" ;;
    container-server) echo "$CONTAINER_PORT" ;;
    object-server) echo "$OBJECT_PORT" ;;
    proxy-server) echo "$PROXY_PORT" ;;
  esac
}

swift_importable() { [ -x "$PY" ] && "$PY" -c 'import swift' >/dev/null 2>&1; }
installed() { swift_importable && command -v memcached >/dev/null 2>&1; }

cmd_install() {
  if installed; then return 0; fi
  apt_install "OpenStack Swift (python3-swift) with memcached" python3-swift memcached
  installed || { echo "swift: unavailable: installed, but $PY still cannot import swift" >&2; exit 2; }
}

# Whether process PID is our server NAME: memcached by name, the others by our config directory.
is_ours() {
  if [ "$2" = memcached ]; then
    tr '\0' ' ' <"/proc/$1/cmdline" | grep '^memcached ' >/dev/null
  else
    tr '\0' ' ' <"/proc/$1/cmdline" | grep -F -- "$ETC/" >/dev/null
  fi
}

# GET a URL, print the response headers, succeed on 2xx. curl is cheaper than starting Python
# (which matters while four servers are starting on two cores); Python is the fallback.
# Pipelines here read to the end (no grep -q): with pipefail, an early exit could SIGPIPE the writer.
http_get() {
  local url=$1 header args=()
  shift
  if command -v curl >/dev/null 2>&1; then
    for header in "$@"; do args+=(-H "$header"); done
    curl -sf -o /dev/null -D - --max-time 5 "${args[@]}" "$url" 2>/dev/null
  else
    "$PY" "$LAUNCHER" probe "$url" "$@" 2>/dev/null
  fi
}
probe() { http_get "$@" >/dev/null; }
login() {
  http_get "http://$HOST:$PROXY_PORT/auth/v1.0" "X-Auth-User: $SWIFT_USER" "X-Auth-Key: $SWIFT_KEY" |
    grep -i '^x-auth-token:' >/dev/null
}

# 0 = all our processes alive and the proxy healthy, 3 = none alive, 1 = anything in between.
health() {
  local alive=0 server
  for server in "${SERVERS[@]}"; do
    if live_pid "$server" >/dev/null; then alive=$((alive + 1)); fi
  done
  [ "$alive" = 0 ] && return 3
  [ "$alive" = "${#SERVERS[@]}" ] && probe "http://$HOST:$PROXY_PORT/healthcheck" && login && return 0
  return 1
}


print_endpoints() {
  cat <<EOF
swift: proxy      http://$HOST:$PROXY_PORT  (S3 endpoint, region us-east-1, path-style)
swift: auth       http://$HOST:$PROXY_PORT/auth/v1.0  user $SWIFT_USER  key $SWIFT_KEY
swift: s3 keys    access key $SWIFT_USER  secret $SWIFT_KEY
swift: state dir  $STATE  (logs in $LOG)
EOF
}

write_configs() {
  mkdir -p "$ETC" "$RUN" "$LOG" "$DEVICES/d1" "$DEVICES/d2"
  cat >"$ETC/swift.conf" <<EOF
[swift-hash]
swift_hash_path_suffix = stowage-test-suffix
swift_hash_path_prefix = stowage-test-prefix

[storage-policy:0]
name = Policy-0
default = yes

[swift-constraints]
EOF

  local server
  for server in account container object; do
    local port_var="${server^^}_PORT"
    {
      cat <<EOF
[DEFAULT]
bind_ip = $HOST
bind_port = ${!port_var}
workers = 0
swift_dir = $ETC
devices = $DEVICES
mount_check = false
disable_fallocate = true
log_name = $server-server
log_level = INFO

[pipeline:main]
pipeline = healthcheck $server-server

[filter:healthcheck]
use = egg:swift#healthcheck

[app:$server-server]
use = egg:swift#$server
EOF
      # Without an object-updater, a late container update would only be parked as async_pending.
      if [ "$server" = object ]; then echo "container_update_timeout = 10"; fi
    } >"$ETC/$server-server.conf"
  done

  cat >"$ETC/proxy-server.conf" <<EOF
[DEFAULT]
bind_ip = $HOST
bind_port = $PROXY_PORT
workers = 0
swift_dir = $ETC
log_name = proxy-server
log_level = INFO

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk tempurl formpost s3api tempauth copy slo dlo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
allow_account_management = true

[filter:catch_errors]
use = egg:swift#catch_errors

[filter:gatekeeper]
use = egg:swift#gatekeeper

[filter:healthcheck]
use = egg:swift#healthcheck

[filter:proxy-logging]
use = egg:swift#proxy_logging

[filter:cache]
use = egg:swift#memcache
memcache_servers = $HOST:$MEMCACHED_PORT
# The proxy is one process (workers = 0) serving every test's requests; with the default pool of
# 2 connections, a loaded machine made it time out on memcached, stop using it for 60 s and
# answer every auth request 503.
memcache_max_connections = 16

[filter:listing_formats]
use = egg:swift#listing_formats

[filter:bulk]
use = egg:swift#bulk

[filter:tempurl]
use = egg:swift#tempurl

[filter:formpost]
use = egg:swift#formpost

[filter:s3api]
use = egg:swift#s3api
location = us-east-1
max_upload_part_num = 10000

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = $SWIFT_KEY .admin
token_life = 86400

[filter:copy]
use = egg:swift#copy

[filter:slo]
use = egg:swift#slo
max_manifest_segments = 10000
# 10000 segments with long names do not fit the default 8 MiB manifest.
max_manifest_size = 33554432

[filter:dlo]
use = egg:swift#dlo
EOF

  # Rings encode the backend ports: rebuild them only when those change.
  local ring_key="$OBJECT_PORT $CONTAINER_PORT $ACCOUNT_PORT object-replicas-2"
  if [ "$(cat "$ETC/rings.ports" 2>/dev/null)" != "$ring_key" ] || [ ! -f "$ETC/account.ring.gz" ]; then
    "$PY" "$LAUNCHER" rings "$ETC" "$OBJECT_PORT" "$CONTAINER_PORT" "$ACCOUNT_PORT"
    echo "$ring_key" >"$ETC/rings.ports"
  fi
}

# Start one server detached (own session, stdio to its log, without the lock's fd 9) and record its PID.
spawn() {
  local server=$1 log="$LOG/$1.log"
  # Each start gets a fresh log; the previous one is kept as .log.1.
  if [ -f "$log" ]; then mv -f "$log" "$log.1"; fi
  echo "---- $(date -u +%FT%TZ) $server starting" >"$log"
  if [ "$server" = memcached ]; then
    local as_user=()
    # memcached refuses to run as root unless told which user to be.
    if [ "$(id -u)" = 0 ]; then as_user=(-u root); fi
    setsid memcached -l "$HOST" -p "$MEMCACHED_PORT" -U 0 -m 64 "${as_user[@]}" </dev/null >>"$log" 2>&1 9>&- &
  else
    setsid "$PY" "$LAUNCHER" serve "$ETC" "$ETC/$server.conf" "$server" </dev/null >>"$log" 2>&1 9>&- &
  fi
  echo $! >"$RUN/$server.pid"
}

show_logs() {
  local server
  for server in "${SERVERS[@]}"; do
    if [ -f "$LOG/$server.log" ]; then
      echo "---- tail of $LOG/$server.log" >&2
      tail -n 20 "$LOG/$server.log" >&2
    fi
  done
}


cmd_start() {
  local started=$SECONDS rc=0
  health || rc=$?
  if [ "$rc" = 0 ]; then
    say "already running"
    print_endpoints
    echo "STOWAGE_SWIFT_STATE=already-running"
    return 0
  fi
  if [ "$rc" = 3 ] && probe "http://$HOST:$PROXY_PORT/healthcheck" && login; then
    # A Swift that this state dir did not start (another STOWAGE_SWIFT_DIR, a SAIO) already serves
    # the same endpoint with the same credentials: use it and leave it alone.
    say "already running (not started from $STATE)"
    print_endpoints
    echo "STOWAGE_SWIFT_STATE=already-running"
    return 0
  fi
  [ "$rc" = 1 ] && { say "partly running or unhealthy: restarting"; stop_all; }

  cmd_install
  local server port
  for server in "${SERVERS[@]}"; do
    port=$(port_of "$server")
    if port_in_use "$port"; then
      fail "port $HOST:$port (for $server) is already in use by another process; set STOWAGE_SWIFT_PORT / STOWAGE_SWIFT_BACKEND_PORT"
    fi
  done

  write_configs
  for server in "${SERVERS[@]}"; do spawn "$server"; done

  # Ready when the proxy is healthy and tempauth hands out a token (which needs memcached and the
  # account server); a server that dies meanwhile fails the start at once.
  local deadline=$((SECONDS + START_TIMEOUT))
  while :; do
    for server in "${SERVERS[@]}"; do
      if ! live_pid "$server" >/dev/null; then
        show_logs
        stop_all
        fail "$server exited during start (logs above, full logs in $LOG)"
      fi
    done
    if probe "http://$HOST:$PROXY_PORT/healthcheck" && login; then break; fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      show_logs
      stop_all
      fail "not ready after ${START_TIMEOUT}s (logs above, full logs in $LOG)"
    fi
    sleep 0.2
  done
  say "started in $((SECONDS - started))s"
  print_endpoints
  echo "STOWAGE_SWIFT_STATE=started"
}

# Shown with its port in status lines.
describe_process() { echo "pid $1, port $(port_of "$2")"; }

service_main "$@"
