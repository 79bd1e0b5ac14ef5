#!/usr/bin/env bash
# Local single-node Ceph cluster with a RADOS Gateway (S3 and Swift APIs) for the S3 and Swift
# drivers' tests: one monitor, one OSD on the memstore object store (data in RAM: no disk, no loop
# device) and radosgw with the beast frontend, all plain background processes on 127.0.0.1.
#
#   ceph.sh install   apt-install ceph-mon ceph-mgr ceph-osd radosgw ceph-common if missing (root only)
#   ceph.sh start     install if needed, make a fresh cluster (configs, mon, OSD, users) and start it,
#                     wait until S3 and Swift auth answer (a no-op when this state dir's cluster
#                     already runs and is healthy)
#   ceph.sh stop      stop the daemons by their PID files
#   ceph.sh status    exit 0 when running and healthy, 3 when stopped, 1 otherwise
#   ceph.sh reset     stop, then delete the state dir
#
# Environment: STOWAGE_CEPH_PORT (radosgw, default 7480), STOWAGE_CEPH_MON_PORT (monitor, default
# 6990; the OSD's and radosgw's own messenger ports are the nine above it), STOWAGE_CEPH_DIR (state
# dir, default ${TMPDIR:-/tmp}/stowage-ceph-<radosgw port>). Everything binds to 127.0.0.1.
# The OSD keeps objects in RAM, so a stopped cluster's data is gone: start always makes a new one.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HOST=127.0.0.1
RGW_PORT=${STOWAGE_CEPH_PORT:-7480}
MON_PORT=${STOWAGE_CEPH_MON_PORT:-6990}
STATE=${STOWAGE_CEPH_DIR:-${TMPDIR:-/tmp}/stowage-ceph-$RGW_PORT}
START_TIMEOUT=${STOWAGE_CEPH_START_TIMEOUT:-60}

# The test users: S3 keys for user "tester", and its Swift subuser for v1 auth at /auth/1.0.
S3_ACCESS_KEY=stowage-tester
S3_SECRET_KEY=stowage-tester-secret
SWIFT_USER=tester:swift
SWIFT_KEY=stowage-swift-key

CONF="$STATE/ceph.conf"
RUN="$STATE/run"
LOG="$STATE/log"
# Start order; stop goes the other way. Names are the daemons' Ceph names.
DAEMONS=(mon.a osd.0 client.rgw)
PACKAGES=(ceph-mon ceph-mgr ceph-osd radosgw ceph-common)

SERVICE=ceph
PROCESSES=("${DAEMONS[@]}")
# say, fail, port_in_use, apt_install, stop_all, with_lock
# shellcheck source=../service.sh
. "$HERE/../service.sh"


installed() {
  local tool
  for tool in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph; do
    command -v "$tool" >/dev/null 2>&1 || return 1
  done
}

cmd_install() {
  if installed; then return 0; fi
  apt_install "Ceph (ceph-mon, ceph-osd, radosgw)" "${PACKAGES[@]}"
  installed || { echo "ceph: unavailable: installed, but ceph-mon/ceph-osd/radosgw are still not on PATH" >&2; exit 2; }
}

# Whether process PID is our daemon: its command line names our ceph.conf (not another cluster's).
is_ours() { tr '\0' ' ' <"/proc/$1/cmdline" | grep -F -- " $CONF " >/dev/null; }

# HTTP status of a GET (000 when nothing answers). Pipelines read to the end (no grep -q): with
# pipefail, an early exit could SIGPIPE the writer.
http_status() {
  local url=$1 header args=()
  shift
  for header in "$@"; do args+=(-H "$header"); done
  curl -s -o /dev/null -w '%{http_code}' --max-time 5 "${args[@]}" "$url" 2>/dev/null || true
}
# radosgw answers, and the Swift subuser gets a token (the users exist).
rgw_ready() {
  [ "$(http_status "http://$HOST:$RGW_PORT/")" = 200 ] &&
    [ "$(http_status "http://$HOST:$RGW_PORT/auth/1.0" "X-Auth-User: $SWIFT_USER" "X-Auth-Key: $SWIFT_KEY")" = 204 ]
}

# 0 = all our daemons alive and radosgw healthy, 3 = none alive, 1 = anything in between.
health() {
  local alive=0 daemon
  for daemon in "${DAEMONS[@]}"; do
    if live_pid "$daemon" >/dev/null; then alive=$((alive + 1)); fi
  done
  [ "$alive" = 0 ] && return 3
  [ "$alive" = "${#DAEMONS[@]}" ] && rgw_ready && return 0
  return 1
}


print_endpoints() {
  cat <<EOF
ceph: radosgw    http://$HOST:$RGW_PORT  (S3 endpoint, path-style, any region)
ceph: s3 keys    access key $S3_ACCESS_KEY  secret $S3_SECRET_KEY
ceph: swift      http://$HOST:$RGW_PORT/auth/1.0  user $SWIFT_USER  key $SWIFT_KEY  (storage URL /swift/v1)
ceph: monitor    v2:$HOST:$MON_PORT  (ceph -c $CONF ...)
ceph: state dir  $STATE  (logs in $LOG)
EOF
}

write_config() {
  local fsid
  fsid=$(cat /proc/sys/kernel/random/uuid)
  cat >"$CONF" <<EOF
# Written by test/services/ceph/ceph.sh: a throwaway single-node cluster on $HOST.
[global]
fsid = $fsid
mon host = v2:$HOST:$MON_PORT
public network = $HOST/32
# Loopback only and thrown away after the tests: no cephx keys to make and hand around.
auth cluster required = none
auth service required = none
auth client required = none
# radosgw asks for a secure monitor connection by default, which auth "none" cannot give.
ms mon client mode = crc secure
ms bind ipv6 = false
ms bind msgr1 = false
ms bind port min = $((MON_PORT + 1))
ms bind port max = $((MON_PORT + 9))
run dir = $RUN
admin socket = $RUN/\$name.asok
pid file = $RUN/\$name.daemon-pid
log file = $LOG/\$name.log
keyring = $STATE/keyring
# One OSD: pools of size 1, few placement groups, no autoscaler, no replication across hosts.
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon max pg per osd = 1000
osd crush chooseleaf type = 0
# Map changes (the OSD booting, radosgw's pools) commit in 50 ms instead of 1 s: a ~3 s start, not ~13 s.
paxos propose interval = 0.05

[mon.a]
mon data = $STATE/mon

[osd.0]
osd data = $STATE/osd
osd objectstore = memstore
# memstore's reported capacity (it allocates only what is stored): the suites hold more than the
# default 1 GiB at times (ConcurrentFileStreams writes 1 GiB at once), and a full OSD blocks writes.
memstore device bytes = 34359738368

[client]
# Deleted objects' RADOS data goes after a minute instead of two hours: it is held in RAM.
rgw gc obj min wait = 60
rgw gc processor period = 60
rgw enable usage log = false

[client.rgw]
# tcp_nodelay: without it every response with a body (a listing, a GET, an error) waits ~40 ms for
# the client's delayed ACK before its body goes out (Nagle): 43 ms instead of 1 ms per request.
rgw frontends = beast endpoint=$HOST:$RGW_PORT tcp_nodelay=1
EOF
}

# Start one daemon in the foreground of its own session (stdio to its .out, without the lock's fd 9)
# and record its PID.
spawn() {
  local daemon=$1
  shift
  setsid "$@" -f -c "$CONF" </dev/null >>"$LOG/$daemon.out" 2>&1 9>&- &
  echo $! >"$RUN/$daemon.pid"
}

show_logs() {
  local daemon
  for daemon in "${DAEMONS[@]}"; do
    for file in "$LOG/$daemon.out" "$LOG/$daemon.log"; do
      if [ -s "$file" ]; then
        echo "---- tail of $file" >&2
        tail -n 15 "$file" >&2
      fi
    done
  done
}


# Fails the start (with the logs) when a started daemon has exited.
check_alive() {
  local daemon
  for daemon in "$@"; do
    if ! live_pid "$daemon" >/dev/null; then
      show_logs
      stop_all
      fail "$daemon exited during start (logs above, full logs in $LOG)"
    fi
  done
}

# Runs a ceph/radosgw-admin command, failing the start with its output when it fails.
admin() {
  local output
  if ! output=$(timeout 30 "$@" -c "$CONF" 2>&1); then
    echo "$output" | tail -n 20 >&2
    show_logs
    stop_all
    fail "'$1 ${2:-} ${3:-}' failed (logs above, full logs in $LOG)"
  fi
}

# The state dir is wiped by start and reset: refuse unless it is empty (but for the lock) or
# holds a cluster this script made (a STOWAGE_CEPH_DIR pointing at anything else is a mistake).
ensure_ours() {
  [ -d "$STATE" ] || return 0
  if head -n 1 "$CONF" 2>/dev/null | grep -F '# Written by test/services/ceph/ceph.sh' >/dev/null; then return 0; fi
  if [ -z "$(find "$STATE" -mindepth 1 -maxdepth 1 ! -name lock -print)" ]; then return 0; fi
  fail "$STATE is not empty and holds no cluster of this script: not touching it (set STOWAGE_CEPH_DIR)"
}

cmd_start() {
  local started=$SECONDS rc=0
  health || rc=$?
  if [ "$rc" = 0 ]; then
    say "already running"
    print_endpoints
    echo "STOWAGE_CEPH_STATE=already-running"
    return 0
  fi
  [ "$rc" = 1 ] && { say "partly running or unhealthy: making a new cluster"; stop_all; }

  cmd_install
  local port
  for port in "$MON_PORT" "$RGW_PORT"; do
    if port_in_use "$port"; then
      fail "port $HOST:$port is already in use by another process; set STOWAGE_CEPH_PORT / STOWAGE_CEPH_MON_PORT"
    fi
  done

  # A new cluster every time (the OSD's data was in RAM): keep only the lock.
  ensure_ours
  find "$STATE" -mindepth 1 -maxdepth 1 ! -name lock -exec rm -rf {} +
  mkdir -p "$RUN" "$LOG" "$STATE/mon" "$STATE/osd"
  write_config

  # Monitor: a one-monitor map at our port, then its store.
  local fsid
  fsid=$(sed -n 's/^fsid = //p' "$CONF")
  monmaptool --create --fsid "$fsid" --addv a "[v2:$HOST:$MON_PORT]" "$STATE/monmap" >/dev/null
  ceph-mon -c "$CONF" --mkfs -i a --monmap "$STATE/monmap" >>"$LOG/mon.a.out" 2>&1 || { show_logs; fail "ceph-mon --mkfs failed"; }
  spawn mon.a ceph-mon -i a

  # OSD 0 (registering it waits for the monitor to form its quorum of one).
  local uuid
  uuid=$(cat /proc/sys/kernel/random/uuid)
  check_alive mon.a
  admin ceph osd new "$uuid"
  ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$uuid" >>"$LOG/osd.0.out" 2>&1 || { show_logs; stop_all; fail "ceph-osd --mkfs failed"; }
  spawn osd.0 ceph-osd -i 0

  # radosgw makes its pools on first start (which needs the OSD up), then the users.
  spawn client.rgw radosgw -n client.rgw
  local deadline=$((SECONDS + START_TIMEOUT))
  while [ "$(http_status "http://$HOST:$RGW_PORT/")" != 200 ]; do
    check_alive "${DAEMONS[@]}"
    if [ "$SECONDS" -ge "$deadline" ]; then
      show_logs
      stop_all
      fail "radosgw not answering after ${START_TIMEOUT}s (logs above, full logs in $LOG)"
    fi
    sleep 0.1
  done
  admin radosgw-admin -n client.admin user create --uid=tester --display-name=tester --access-key="$S3_ACCESS_KEY" --secret-key="$S3_SECRET_KEY"
  admin radosgw-admin -n client.admin subuser create --uid=tester --subuser="$SWIFT_USER" --access=full --key-type=swift --secret-key="$SWIFT_KEY"
  while ! rgw_ready; do
    check_alive "${DAEMONS[@]}"
    if [ "$SECONDS" -ge "$deadline" ]; then
      show_logs
      stop_all
      fail "Swift auth not working after ${START_TIMEOUT}s (logs above, full logs in $LOG)"
    fi
    sleep 0.1
  done
  say "started in $((SECONDS - started))s"
  print_endpoints
  echo "STOWAGE_CEPH_STATE=started"
}

# reset deletes the state dir only when it is one this script made.
before_reset() { ensure_ours; }

service_main "$@"
