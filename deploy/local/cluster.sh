#!/usr/bin/env bash
# A local MariaDB cluster for Sluice: one primary and two GTID replicas on 127.0.0.1.
#
#   deploy/local/cluster.sh up     [--base DIR] [--port-base N]
#   deploy/local/cluster.sh down   [--base DIR] [--wipe]
#   deploy/local/cluster.sh status [--base DIR] [--port-base N]
#
# Fault injection (NAME: primary, replica1, replica2, or a server's port; same --base and
# --port-base options):
#   deploy/local/cluster.sh kill NAME          kill -9, wait until it is gone (datadir kept)
#   deploy/local/cluster.sh start NAME         start it again with the same defaults file
#   deploy/local/cluster.sh freeze NAME        SIGSTOP (a hang, not a crash)
#   deploy/local/cluster.sh thaw NAME          SIGCONT
#   deploy/local/cluster.sh stop-replication NAME [--sql-thread]
#   deploy/local/cluster.sh start-replication NAME
#   deploy/local/cluster.sh delay NAME SECONDS (CHANGE MASTER TO MASTER_DELAY=SECONDS)
#   deploy/local/cluster.sh promote NAME       make NAME the writer, everyone else follows it
#   deploy/local/cluster.sh restore            back to the original topology
#
# Servers: primary on N (default 13306), replica1 on N+1, replica2 on N+2, server_id = port.
# Without --port-base, an existing DIR keeps the ports it was created with.
# Everything lives under DIR (default <repo>/run/cluster): DIR/<name>/{my.cnf,data/,tmp/,
# error.log,mariadbd.pid,mariadbd.sock}. Each server has its own tmpdir: parallel
# mariadb-install-db runs sharing /tmp were seen to lose their temporary tables. Each server is `mariadbd --defaults-file=DIR/<name>/my.cnf`
# started with setsid; `mariadb --defaults-file=DIR/<name>/my.cnf` gives a root shell on it.
#
# Users (created on the primary, replicated): app/app (ALL minus READ_ONLY ADMIN, so writes
# on a read_only replica fail), monitor/monitor (PROCESS, SLAVE MONITOR, REPLICATION CLIENT),
# repl/repl (REPLICATION SLAVE). root has no password and only the unix socket (unix_socket
# auth). Databases: sluice_test (for tests) and sluice_cluster (this script's marker table).
#
# up      initialises missing datadirs (in parallel), starts servers that are not running,
#         creates users once, points replicas at the primary (MASTER_USE_GTID=slave_pos),
#         then proves replication by writing a marker row on the primary and waiting for it
#         on both replicas. Safe to run on a running cluster.
# down    TERM by pid file, KILL after a timeout. Keeps datadirs unless --wipe.
# status  one line per server; exit 0 when all are up and replicating, 3 otherwise.
#
# The writer is `primary` until `promote` makes another server the writer; the choice is
# kept in DIR/.writer, so a restarted server comes back read-only unless it is the writer
# (my.cnf is rewritten on every start). Commands that leave replication running normally
# (start, start-replication, delay 0, promote, restore, and up) wait until each server
# concerned has applied what the writer had binlogged when they began. Events print
# `<event>_at=<unix time>` lines on stdout (killed_at, started_at, frozen_at, thawed_at,
# writable_at) for tests that measure recovery.
# promote NAME: every other server read_only=1; NAME catches up with the old writer
#         (MASTER_GTID_WAIT); NAME: STOP SLAVE, RESET SLAVE ALL, read_only=0; every other
#         server (the old writer too) replicates from NAME with MASTER_USE_GTID=slave_pos,
#         its gtid_slave_pos set to its own gtid_binlog_pos first (log_slave_updates is on
#         everywhere, so a server's binlog holds everything it applied); then the marker row
#         is written on NAME and awaited on the others.
# restore thaws every server, starts the ones that are down, then `promote primary` (only
#         the servers not already following the writer normally are touched; MASTER_DELAY
#         is reset to 0, stopped threads are started). `up` does the same on a promoted
#         cluster.
#
# Environment: SLUICE_CLUSTER_START_TIMEOUT (s, default 120), SLUICE_CLUSTER_STOP_TIMEOUT
# (s, default 30), SLUICE_CLUSTER_REPL_TIMEOUT (s, default 60).
set -euo pipefail

SLUICE_PROG=cluster.sh  # used by lib.sh
# shellcheck source=deploy/lib.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../lib.sh"

START_TIMEOUT=${SLUICE_CLUSTER_START_TIMEOUT:-120}
STOP_TIMEOUT=${SLUICE_CLUSTER_STOP_TIMEOUT:-30}
REPL_TIMEOUT=${SLUICE_CLUSTER_REPL_TIMEOUT:-60}
NAMES=(primary replica1 replica2)

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

msg() { printf 'cluster: %s\n' "$*"; }
die() { printf 'cluster: error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- arguments
CMD=""
BASE=""
ARGS=()
SQL_THREAD_ONLY=0
PORT_BASE=13306
PORT_BASE_SET=0
WIPE=0
while [ $# -gt 0 ]; do
  case "$1" in
    up|down|status|kill|start|freeze|thaw|stop-replication|start-replication|delay|promote|restore)
      if [ -z "$CMD" ]; then CMD=$1; else ARGS+=("$1"); fi ;;
    --base) [ $# -ge 2 ] || die "--base needs a directory"; BASE=$2; shift ;;
    --base=*) BASE=${1#--base=} ;;
    --port-base) [ $# -ge 2 ] || die "--port-base needs a number"; PORT_BASE=$2; PORT_BASE_SET=1; shift ;;
    --port-base=*) PORT_BASE=${1#--port-base=}; PORT_BASE_SET=1 ;;
    --wipe) WIPE=1 ;;
    --sql-thread) SQL_THREAD_ONLY=1 ;;
    -h|--help) usage; exit 0 ;;
    -*) usage >&2; die "unknown argument '$1'" ;;
    *) [ -n "$CMD" ] || { usage >&2; die "unknown command '$1'"; }; ARGS+=("$1") ;;
  esac
  shift
done
[ -n "$CMD" ] || { usage >&2; exit 2; }
[[ "$PORT_BASE" =~ ^[0-9]+$ ]] && [ "$PORT_BASE" -ge 1024 ] && [ "$PORT_BASE" -le 65533 ] ||
  die "--port-base must be a number between 1024 and 65533, got '$PORT_BASE'"
[ "$WIPE" = 0 ] || [ "$CMD" = down ] || die "--wipe only goes with 'down'"
[ "$SQL_THREAD_ONLY" = 0 ] || [ "$CMD" = stop-replication ] || die "--sql-thread only goes with 'stop-replication'"
case "$CMD" in
  up|down|status|restore) want_args=0 ;;
  delay) want_args=2 ;;
  *) want_args=1 ;;
esac
[ ${#ARGS[@]} -eq $want_args ] || die "'$CMD' takes $want_args argument(s), got ${#ARGS[@]}: ${ARGS[*]:-none}"
[ -n "$BASE" ] || BASE="$SLUICE_ROOT/run/cluster"
[ "$BASE" != / ] || die "refusing to use / as the cluster directory"

if [ -d "$BASE" ]; then
  BASE="$(cd "$BASE" && pwd -P)"
elif [ "$CMD" = up ]; then
  mkdir -p "$BASE" || die "cannot create $BASE"
  BASE="$(cd "$BASE" && pwd -P)"
else
  case "$BASE" in /*) ;; *) BASE="$PWD/$BASE" ;; esac
fi

if [ "$(id -u)" -eq 0 ]; then
  RUN_USER=root          # mariadbd refuses to run as root unless told user=root
else
  RUN_USER="$(id -un)"
fi
ADMIN_USER=$RUN_USER     # unix_socket auth: the OS user is the database user

# ---------------------------------------------------------------- per-server paths
idx_of() { local i; for i in 0 1 2; do [ "${NAMES[$i]}" = "$1" ] && { echo "$i"; return; }; done; }
port_of() { echo $((PORT_BASE + $(idx_of "$1"))); }
dir_of() { echo "$BASE/$1"; }
cnf_of() { echo "$BASE/$1/my.cnf"; }
data_of() { echo "$BASE/$1/data"; }
pidfile_of() { echo "$BASE/$1/mariadbd.pid"; }
errlog_of() { echo "$BASE/$1/error.log"; }
tmpdir_of() { echo "$BASE/$1/tmp"; }
sock_of() {
  # sun_path holds 107 bytes: fall back to a short path in /tmp for deep base dirs.
  local s="$BASE/$1/mariadbd.sock"
  if [ ${#s} -gt 100 ]; then
    s="/tmp/sluice-$(printf '%s' "$BASE" | cksum | cut -d' ' -f1)-$1.sock"
  fi
  echo "$s"
}

# The server that takes writes: `primary` unless `promote` chose another (DIR/.writer).
writer_name() {
  local w=""
  { read -r w <"$BASE/.writer"; } 2>/dev/null || true
  if [ -n "$w" ] && [ -n "$(idx_of "$w")" ]; then echo "$w"; else echo primary; fi
}

# NAME from a name or a port of this cluster (dies otherwise).
resolve_name() {
  local a=$1 n
  for n in "${NAMES[@]}"; do
    if [ "$a" = "$n" ] || [ "$a" = "$(port_of "$n")" ]; then echo "$n"; return 0; fi
  done
  die "unknown server '$a' (expected one of ${NAMES[*]} or ports $(port_of primary)-$(port_of replica2))"
}

# Port recorded in an existing my.cnf (the one a running server was started with).
cnf_port() { sed -n 's/^port[[:space:]]*=[[:space:]]*\([0-9]*\).*/\1/p' "$(cnf_of "$1")" 2>/dev/null | head -n1; }

sql() { # sql NAME STATEMENTS... : run as root over the unix socket, tab-separated, no headers
  local name=$1; shift
  mariadb --no-defaults --protocol=socket -S "$(sock_of "$name")" -u"$ADMIN_USER" \
    --connect-timeout=5 -N -B -e "$*"
}

ping_server() {
  mariadb-admin --no-defaults --protocol=socket -S "$(sock_of "$1")" -u"$ADMIN_USER" \
    --connect-timeout=2 ping >/dev/null 2>&1
}

# ---------------------------------------------------------------- processes
# Is PID a live (non-zombie) mariadbd started with this server's defaults file?
# (Builtins only: this runs in polling loops on busy machines.)
is_ours() {
  local pid=$1 want="--defaults-file=$BASE/$2/my.cnf" stat a args=()
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  { IFS= read -r stat <"/proc/$pid/stat"; } 2>/dev/null || return 1
  stat=${stat##*) }
  case "${stat:0:1}" in Z|X|x) return 1 ;; esac
  { mapfile -d '' -t args <"/proc/$pid/cmdline"; } 2>/dev/null || return 1
  [ ${#args[@]} -gt 0 ] || return 1
  case "${args[0]##*/}" in mariadbd|mysqld) ;; *) return 1 ;; esac
  for a in "${args[@]}"; do
    [ "$a" = "$want" ] && return 0
  done
  return 1
}

# Prints the pid of this server if it runs (pid file first, then a /proc scan, so a lost or
# stale pid file does not hide a running server; the pid file is then rewritten). Removes a
# stale pid file.
find_pid() {
  local name=$1 pf pid="" f
  pf=$(pidfile_of "$name")
  if [ -f "$pf" ]; then
    { read -r pid <"$pf"; } 2>/dev/null || true
    if is_ours "$pid" "$name"; then echo "$pid"; return 0; fi
  fi
  for f in $(grep -lsF -- "--defaults-file=$(cnf_of "$name")" /proc/[0-9]*/cmdline); do
    pid=${f#/proc/}; pid=${pid%/cmdline}
    if is_ours "$pid" "$name"; then
      echo "$pid" >"$pf" 2>/dev/null || true   # restore a lost or wrong pid file
      echo "$pid"; return 0
    fi
  done
  if [ -f "$pf" ]; then
    rm -f "$pf"
  fi
  return 1
}

# Describes who listens on PORT (empty when nobody does).
port_listener() {
  local port=$1
  if command -v ss >/dev/null 2>&1; then
    ss -Hltnp "sport = :$port" 2>/dev/null || ss -Hltn "sport = :$port" 2>/dev/null || true
  elif (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "something accepts connections on 127.0.0.1:$port"
  fi
}

log_tail() {
  local name=$1 f
  f=$(errlog_of "$name")
  if [ -s "$f" ]; then
    printf -- '---- last lines of %s ----\n' "$f" >&2
    tail -n 30 "$f" >&2
    printf -- '----\n' >&2
  fi
}

fail_server() { # fail_server NAME MESSAGE
  printf 'cluster: error: %s: %s\n' "$1" "$2" >&2
  log_tail "$1"
  exit 1
}

# ---------------------------------------------------------------- config
write_cnf() {
  local name=$1 port
  port=$(port_of "$name")
  {
    echo "# Generated by deploy/local/cluster.sh; rewritten on every start."
    echo "[client]"
    echo "socket=$(sock_of "$name")"
    echo "user=$ADMIN_USER"
    echo
    echo "[mariadbd]"
    [ "$RUN_USER" = root ] && echo "user=root"
    cat <<EOF
port=$port
bind-address=127.0.0.1
socket=$(sock_of "$name")
pid-file=$(pidfile_of "$name")
datadir=$(data_of "$name")
log-error=$(errlog_of "$name")
tmpdir=$(tmpdir_of "$name")
server_id=$port
report_host=127.0.0.1
report_port=$port
log_bin=mariadb-bin
log_bin_index=mariadb-bin.index
relay_log=relay-bin
relay_log_index=relay-bin.index
binlog_format=ROW
gtid_strict_mode=ON
log_slave_updates=ON
log_bin_trust_function_creators=1
slave_net_timeout=10
skip-name-resolve
max_connect_errors=1000000
max_allowed_packet=1G
max_connections=2000
character-set-server=utf8mb4
collation-server=utf8mb4_general_ci
innodb_buffer_pool_size=128M
innodb_flush_log_at_trx_commit=2
innodb_buffer_pool_dump_at_shutdown=OFF
innodb_buffer_pool_load_at_startup=OFF
sync_binlog=0
performance_schema=OFF
EOF
    if [ "$name" != "$(writer_name)" ]; then
      echo "read_only=1"
    fi
  } >"$(cnf_of "$name").tmp"
  mv -f "$(cnf_of "$name").tmp" "$(cnf_of "$name")"
}

# ---------------------------------------------------------------- up
init_datadirs() {
  local name data pids=() names=() i
  for name in "${NAMES[@]}"; do
    data=$(data_of "$name")
    [ -d "$data/mysql" ] && continue
    mkdir -p "$(dir_of "$name")" "$(tmpdir_of "$name")"
    rm -rf "$data.tmp"
    msg "$name: initialising datadir $data"
    # Into data.tmp, renamed when complete: an interrupted init is never taken for a datadir.
    mariadb-install-db --no-defaults --datadir="$data.tmp" --user="$RUN_USER" \
      --auth-root-authentication-method=socket --auth-root-socket-user="$ADMIN_USER" \
      --skip-test-db --skip-name-resolve --tmpdir="$(tmpdir_of "$name")" \
      >"$(dir_of "$name")/install-db.log" 2>&1 9>&- &
    pids+=($!); names+=("$name")
  done
  for i in "${!pids[@]}"; do
    if ! wait "${pids[$i]}"; then
      tail -n 30 "$(dir_of "${names[$i]}")/install-db.log" >&2
      die "${names[$i]}: mariadb-install-db failed (log: $(dir_of "${names[$i]}")/install-db.log)"
    fi
    mv "$(data_of "${names[$i]}").tmp" "$(data_of "${names[$i]}")"
  done
}

declare -A LOG_OFFSET=() START_TRIES=()

start_server() { # starts NAME in the background; assumes it is not running
  local name=$1 errlog
  errlog=$(errlog_of "$name")
  rm -f "$(pidfile_of "$name")"
  mkdir -p "$(tmpdir_of "$name")"
  write_cnf "$name"
  LOG_OFFSET[$name]=$(stat -c %s "$errlog" 2>/dev/null || echo 0)
  START_TRIES[$name]=$(( ${START_TRIES[$name]:-0} + 1 ))
  msg "$name: starting mariadbd on 127.0.0.1:$(port_of "$name")"
  # setsid: own session, so a terminal's ^C or a test harness' process group kill does not
  # take it down; stopped by pid only. fd 9 is this script's lock: the server must not keep it.
  setsid mariadbd --defaults-file="$(cnf_of "$name")" \
    </dev/null >>"$errlog" 2>&1 9>&- &
}

# True when the server started by this run died because its port was taken. Our ports may
# sit in the kernel's ephemeral range (ip_local_port_range, 32768-60999 by default), where any
# outgoing connection can hold them for a while: nothing listens there, so the check before
# start cannot see it.
died_on_busy_port() {
  local name=$1
  [ -n "${LOG_OFFSET[$name]:-}" ] || return 1
  tail -c +"$(( ${LOG_OFFSET[$name]} + 1 ))" "$(errlog_of "$name")" 2>/dev/null |
    grep -q 'Address already in use'
}

wait_up() {
  local name=$1 deadline pid port holders
  deadline=$((SECONDS + START_TIMEOUT))
  while ! ping_server "$name"; do
    if ! pid=$(find_pid "$name"); then
      sleep 0.2   # the pid file may be written a moment after the process appears
      if ! find_pid "$name" >/dev/null; then
        port=$(port_of "$name")
        if died_on_busy_port "$name"; then
          if [ "${START_TRIES[$name]}" -lt 5 ] && [ $SECONDS -lt $deadline ]; then
            holders=$(ss -Htan "sport = :$port" 2>/dev/null | awk '{printf "%s%s %s->%s", (NR > 1 ? "; " : ""), $1, $4, $5}')
            msg "$name: port $port is busy (${holders:-no visible socket: a closed client socket may still hold it}), retrying in 1s"
            sleep 1
            start_server "$name"
            continue
          fi
          fail_server "$name" "port $port stayed in use (bind: Address already in use).
Sockets on it: $(ss -Htanp "sport = :$port" 2>/dev/null)
Ports in $(tr '\t' '-' </proc/sys/net/ipv4/ip_local_port_range) are the kernel's ephemeral range: outgoing connections may take them. Prefer a --port-base outside it."
        fi
        fail_server "$name" "mariadbd exited during start-up"
      fi
    fi
    [ $SECONDS -lt $deadline ] ||
      fail_server "$name" "not answering mariadb-admin ping after ${START_TIMEOUT}s"
    sleep 0.1
  done
}

bootstrap_primary() {
  local marker="$BASE/.bootstrapped"
  [ -f "$marker" ] && return 0
  msg "primary: creating users app, monitor, repl and databases sluice_test, sluice_cluster"
  # Idempotent, and logged to the binlog so the replicas replay it.
  sql primary "
    DROP USER IF EXISTS 'app'@'%', 'monitor'@'%', 'repl'@'%';
    CREATE USER 'app'@'%' IDENTIFIED BY 'app';
    GRANT ALL PRIVILEGES ON *.* TO 'app'@'%' WITH GRANT OPTION;
    REVOKE READ_ONLY ADMIN ON *.* FROM 'app'@'%';
    CREATE USER 'monitor'@'%' IDENTIFIED BY 'monitor';
    GRANT PROCESS, SLAVE MONITOR, REPLICATION CLIENT ON *.* TO 'monitor'@'%';
    CREATE USER 'repl'@'%' IDENTIFIED BY 'repl';
    GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%';
    CREATE DATABASE IF NOT EXISTS sluice_test;
    CREATE DATABASE IF NOT EXISTS sluice_cluster;
    CREATE TABLE IF NOT EXISTS sluice_cluster.marker (
      id INT PRIMARY KEY, token VARCHAR(64) NOT NULL,
      written_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB;
  " || fail_server primary "creating users and databases failed"
  echo "bootstrapped $(date -u +%FT%TZ)" >"$marker"
}

# Field of SHOW SLAVE STATUS on NAME (\G output parsed; empty when not a replica).
slave_field() {
  local name=$1 field=$2
  mariadb --no-defaults --protocol=socket -S "$(sock_of "$name")" -u"$ADMIN_USER" \
    --connect-timeout=5 -e 'SHOW SLAVE STATUS\G' 2>/dev/null |
    sed -n "s/^ *$field: //p" | head -n1
}

setup_replica() {
  local name=$1 pport host port user gtid
  pport=$(port_of primary)
  host=$(slave_field "$name" Master_Host)
  port=$(slave_field "$name" Master_Port)
  user=$(slave_field "$name" Master_User)
  gtid=$(slave_field "$name" Using_Gtid)
  if [ "$host" != 127.0.0.1 ] || [ "$port" != "$pport" ] || [ "$user" != repl ] ||
     [ "$gtid" != Slave_Pos ]; then
    msg "$name: replicating from 127.0.0.1:$pport (GTID, slave_pos)"
    sql "$name" "
      STOP SLAVE;
      CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=$pport,
        MASTER_USER='repl', MASTER_PASSWORD='repl',
        MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1;
    " || fail_server "$name" "CHANGE MASTER failed"
  fi
  sql "$name" "START SLAVE" >/dev/null 2>&1 || true   # a note when already running
}

check_replication() { # a marker row written on the writer reaches every other server
  local token name got deadline left=() writer
  writer=$(writer_name)
  token="$(date +%s%N)-$$"
  sql "$writer" "REPLACE INTO sluice_cluster.marker (id, token) VALUES (1, '$token')" ||
    fail_server "$writer" "writing the replication marker row failed"
  for name in "${NAMES[@]}"; do
    [ "$name" = "$writer" ] || left+=("$name")
  done
  deadline=$((SECONDS + REPL_TIMEOUT))
  while [ ${#left[@]} -gt 0 ]; do
    local still=()
    for name in "${left[@]}"; do
      got=$(sql "$name" "SELECT token FROM sluice_cluster.marker WHERE id=1" 2>/dev/null || true)
      [ "$got" = "$token" ] || still+=("$name")
    done
    left=("${still[@]+"${still[@]}"}")
    [ ${#left[@]} -eq 0 ] && break
    if [ $SECONDS -ge $deadline ]; then
      for name in "${left[@]}"; do
        printf 'cluster: error: %s: marker row not replicated after %ss: io=%s sql=%s\n' \
          "$name" "$REPL_TIMEOUT" "$(slave_field "$name" Slave_IO_Running)" \
          "$(slave_field "$name" Slave_SQL_Running)" >&2
        printf '  Last_IO_Error: %s\n  Last_SQL_Error: %s\n' \
          "$(slave_field "$name" Last_IO_Error)" "$(slave_field "$name" Last_SQL_Error)" >&2
        log_tail "$name"
      done
      printf '%s\n' "cluster: hint: if the primary's datadir was recreated while the replicas' were kept, start from scratch with: $0 down --base $BASE --wipe" >&2
      exit 1
    fi
    sleep 0.1
  done
}

cmd_up() {
  local name pid port cport listener t0=$SECONDS to_start=()
  sluice_ensure_packages cluster
  for name in "${NAMES[@]}"; do
    port=$(port_of "$name")
    if pid=$(find_pid "$name"); then
      cport=$(cnf_port "$name")
      [ "$cport" = "$port" ] ||
        die "$name is already running (pid $pid) on port $cport, not $port: run '$0 down --base $BASE' first"
      kill -CONT "$pid" 2>/dev/null || true   # in case a test left it stopped (SIGSTOP)
      msg "$name: already running (pid $pid, port $port)"
    else
      listener=$(port_listener "$port")
      [ -z "$listener" ] ||
        die "$name: port $port is already in use by another process (not this cluster's $name):
$listener"
      to_start+=("$name")
    fi
  done
  if [ ${#to_start[@]} -gt 0 ]; then
    init_datadirs
    for name in "${to_start[@]}"; do start_server "$name"; done
  fi
  for name in "${NAMES[@]}"; do wait_up "$name"; done
  bootstrap_primary
  if [ "$(writer_name)" != primary ]; then
    msg "the cluster was promoted to $(writer_name): making primary the writer again"
    promote_to primary
  fi
  for name in "${NAMES[@]:1}"; do setup_replica "$name"; done
  check_replication
  msg "up in $((SECONDS - t0))s: primary 127.0.0.1:$(port_of primary), replicas" \
    "127.0.0.1:$(port_of replica1) and 127.0.0.1:$(port_of replica2) (base $BASE)"
}

# ---------------------------------------------------------------- down
cmd_down() {
  local name pid deadline pids=() names=() alive i
  if [ ! -d "$BASE" ]; then
    msg "nothing at $BASE: nothing to stop"
    return 0
  fi
  for name in "${NAMES[@]}"; do
    if pid=$(find_pid "$name"); then
      msg "$name: stopping pid $pid"
      kill -TERM "$pid" 2>/dev/null || true
      kill -CONT "$pid" 2>/dev/null || true   # in case a test left it stopped (SIGSTOP)
      pids+=("$pid"); names+=("$name")
    else
      msg "$name: not running"
    fi
  done
  deadline=$((SECONDS + STOP_TIMEOUT))
  while :; do
    alive=0
    for i in "${!pids[@]}"; do
      is_ours "${pids[$i]}" "${names[$i]}" && alive=1
    done
    [ $alive = 0 ] && break
    if [ $SECONDS -ge $deadline ]; then
      for i in "${!pids[@]}"; do
        if is_ours "${pids[$i]}" "${names[$i]}"; then
          msg "${names[$i]}: still running after ${STOP_TIMEOUT}s, sending KILL to pid ${pids[$i]}"
          kill -KILL "${pids[$i]}" 2>/dev/null || true
        fi
      done
      sleep 0.5
      break
    fi
    sleep 0.1
  done
  for name in "${NAMES[@]}"; do
    if pid=$(find_pid "$name"); then
      die "$name: pid $pid would not stop"
    fi
    rm -f "$(pidfile_of "$name")"
  done
  if [ "$WIPE" = 1 ]; then
    for name in "${NAMES[@]}"; do
      rm -f "$(sock_of "$name")" "$(sock_of "$name").lock"
      rm -rf "${BASE:?}/$name"
    done
    rm -f "$BASE/.bootstrapped" "$BASE/.lock" "$BASE/.writer"
    rmdir "$BASE" 2>/dev/null || true
    msg "stopped and wiped $BASE"
  else
    msg "stopped (datadirs kept in $BASE; 'down --wipe' removes them)"
  fi
}

# ---------------------------------------------------------------- fault injection
event() { printf '%s_at=%s\n' "$1" "$(date +%s.%N)"; }   # stdout, read by tests

# Values of several SHOW SLAVE STATUS fields of NAME, one per line ('-' when empty).
slave_fields() {
  local name=$1 out f v
  shift
  out=$(mariadb --no-defaults --protocol=socket -S "$(sock_of "$name")" -u"$ADMIN_USER" \
    --connect-timeout=5 -e 'SHOW SLAVE STATUS\G' 2>/dev/null) || true
  for f in "$@"; do
    v=$(printf '%s\n' "$out" | sed -n "s/^ *$f: //p" | head -n1)
    echo "${v:--}"
  done
}

# True when NAME replicates from SOURCE normally: GTID slave_pos, no delay, both threads on.
is_following() {
  local f
  mapfile -t f < <(slave_fields "$1" Master_Port Using_Gtid SQL_Delay Slave_IO_Running Slave_SQL_Running)
  [ "${f[0]}" = "$(port_of "$2")" ] && [ "${f[1]}" = Slave_Pos ] && [ "${f[2]}" = 0 ] &&
    [ "${f[3]}" = Yes ] && [ "${f[4]}" = Yes ]
}

repl_fail() { # repl_fail NAME MESSAGE : replication did not do what we waited for
  local name=$1 f
  mapfile -t f < <(slave_fields "$name" Slave_IO_Running Slave_SQL_Running Last_IO_Error Last_SQL_Error)
  printf 'cluster: error: %s: %s (io=%s sql=%s)\n  Last_IO_Error: %s\n  Last_SQL_Error: %s\n' \
    "$name" "$2" "${f[0]}" "${f[1]}" "${f[2]}" "${f[3]}" >&2
  log_tail "$name"
  exit 1
}

# Points NAME at SOURCE (GTID slave_pos, no delay) and starts both threads. It continues from
# what it has itself applied: log_slave_updates is on everywhere, so gtid_binlog_pos holds
# everything it replicated and everything written on it while it was the writer.
replicate_from() {
  local name=$1 src=$2
  msg "$name: replicating from $src (127.0.0.1:$(port_of "$src"), GTID slave_pos)"
  sql "$name" "
    STOP SLAVE;
    SET GLOBAL gtid_slave_pos = @@GLOBAL.gtid_binlog_pos;
    CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=$(port_of "$src"),
      MASTER_USER='repl', MASTER_PASSWORD='repl',
      MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1, MASTER_DELAY=0;
    START SLAVE;" >/dev/null || fail_server "$name" "CHANGE MASTER TO $src failed"
}

wait_threads() { # both replication threads of NAME running
  local name=$1 deadline f
  deadline=$((SECONDS + REPL_TIMEOUT))
  while :; do
    mapfile -t f < <(slave_fields "$name" Slave_IO_Running Slave_SQL_Running)
    [ "${f[0]}" = Yes ] && [ "${f[1]}" = Yes ] && return 0
    [ $SECONDS -lt $deadline ] || repl_fail "$name" "replication threads not running after ${REPL_TIMEOUT}s"
    sleep 0.1
  done
}

# Threads running, then MASTER_GTID_WAIT for POS (default: the writer's gtid_binlog_pos now).
catch_up() {
  local name=$1 pos=${2-} r
  [ -n "$pos" ] || pos=$(sql "$(writer_name)" "SELECT @@GLOBAL.gtid_binlog_pos") ||
    fail_server "$(writer_name)" "reading gtid_binlog_pos failed"
  wait_threads "$name"
  [ -n "$pos" ] || return 0
  r=$(sql "$name" "SELECT MASTER_GTID_WAIT('$pos', $REPL_TIMEOUT)") || r=error
  [ "$r" = 0 ] || repl_fail "$name" "did not reach GTID position $pos within ${REPL_TIMEOUT}s"
}

running_pid() { find_pid "$1" || die "$1 is not running"; }

cmd_kill() {
  local name pid deadline
  name=$(resolve_name "${ARGS[0]}")
  pid=$(running_pid "$name")
  kill -KILL "$pid"
  event killed
  deadline=$((SECONDS + STOP_TIMEOUT))
  while is_ours "$pid" "$name"; do
    [ $SECONDS -lt $deadline ] || die "$name: pid $pid still alive ${STOP_TIMEOUT}s after SIGKILL"
    sleep 0.05
  done
  rm -f "$(pidfile_of "$name")"
  msg "$name: killed (pid $pid), datadir kept"
}

# Starts NAME if it is down (same defaults file; read_only unless it is the writer), then
# waits until it answers and, unless it is the writer, until it has caught up.
start_one() {
  local name=$1 pid listener
  if pid=$(find_pid "$name"); then
    kill -CONT "$pid" 2>/dev/null || true
    msg "$name: already running (pid $pid)"
  else
    [ -d "$(data_of "$name")/mysql" ] || die "$name has no datadir: run '$0 up' first"
    listener=$(port_listener "$(port_of "$name")")
    [ -z "$listener" ] || die "$name: port $(port_of "$name") is in use by another process:
$listener"
    start_server "$name"
    wait_up "$name"
    event started
  fi
}

cmd_start() {
  local name
  name=$(resolve_name "${ARGS[0]}")
  start_one "$name"
  if [ "$name" != "$(writer_name)" ]; then
    sql "$name" "START SLAVE" >/dev/null 2>&1 || true   # a note when already running
    catch_up "$name"
    event caught_up
  fi
}

cmd_freeze() {
  local name pid
  name=$(resolve_name "${ARGS[0]}")
  pid=$(running_pid "$name")
  kill -STOP "$pid"
  event frozen
  msg "$name: SIGSTOP sent to pid $pid ('$0 thaw $name' resumes it)"
}

cmd_thaw() {
  local name pid
  name=$(resolve_name "${ARGS[0]}")
  pid=$(running_pid "$name")
  kill -CONT "$pid"
  event thawed
  msg "$name: SIGCONT sent to pid $pid"
}

cmd_stop_replication() {
  local name what=""
  name=$(resolve_name "${ARGS[0]}")
  [ "$name" != "$(writer_name)" ] || die "$name is the writer: it does not replicate"
  running_pid "$name" >/dev/null
  [ "$SQL_THREAD_ONLY" = 1 ] && what=" SQL_THREAD"
  sql "$name" "STOP SLAVE$what" >/dev/null || fail_server "$name" "STOP SLAVE$what failed"
  event replication_stopped
  msg "$name: STOP SLAVE$what"
}

cmd_start_replication() {
  local name
  name=$(resolve_name "${ARGS[0]}")
  [ "$name" != "$(writer_name)" ] || die "$name is the writer: it does not replicate"
  running_pid "$name" >/dev/null
  sql "$name" "START SLAVE" >/dev/null || fail_server "$name" "START SLAVE failed"
  event replication_started
  catch_up "$name"
  event caught_up
}

cmd_delay() {
  local name secs=${ARGS[1]}
  name=$(resolve_name "${ARGS[0]}")
  [[ "$secs" =~ ^[0-9]+$ ]] || die "delay: SECONDS must be a whole number, got '$secs'"
  [ "$name" != "$(writer_name)" ] || die "$name is the writer: it does not replicate"
  running_pid "$name" >/dev/null
  sql "$name" "STOP SLAVE; CHANGE MASTER TO MASTER_DELAY=$secs; START SLAVE" >/dev/null ||
    fail_server "$name" "CHANGE MASTER TO MASTER_DELAY=$secs failed"
  event delay_set
  msg "$name: MASTER_DELAY=$secs"
  if [ "$secs" = 0 ]; then
    catch_up "$name"
    event caught_up
  else
    wait_threads "$name"
  fi
}

# Makes NEW the writer; see the header for the steps.
promote_to() {
  local new=$1 old n pos
  old=$(writer_name)
  for n in "${NAMES[@]}"; do
    find_pid "$n" >/dev/null || die "$n is not running: promotion needs every server up ('$0 start $n')"
  done
  for n in "${NAMES[@]}"; do
    [ "$n" = "$new" ] && continue
    sql "$n" "SET GLOBAL read_only=1" >/dev/null || fail_server "$n" "SET GLOBAL read_only=1 failed"
  done
  if [ "$old" != "$new" ]; then
    event old_writer_read_only
    pos=$(sql "$old" "SELECT @@GLOBAL.gtid_binlog_pos") || fail_server "$old" "reading gtid_binlog_pos failed"
    is_following "$new" "$old" || replicate_from "$new" "$old"
    catch_up "$new" "$pos"
  fi
  sql "$new" "STOP SLAVE; RESET SLAVE ALL; SET GLOBAL read_only=0" >/dev/null ||
    fail_server "$new" "making it writable failed"
  echo "$new" >"$BASE/.writer"
  event writable
  [ "$old" = "$new" ] || msg "$new: promoted, now the writer (127.0.0.1:$(port_of "$new")); $old is read-only"
  for n in "${NAMES[@]}"; do
    [ "$n" = "$new" ] && continue
    is_following "$n" "$new" || replicate_from "$n" "$new"
  done
  check_replication
}

cmd_promote() {
  promote_to "$(resolve_name "${ARGS[0]}")"
}

cmd_restore() {
  local n pid t0=$SECONDS
  for n in "${NAMES[@]}"; do
    if pid=$(find_pid "$n"); then kill -CONT "$pid" 2>/dev/null || true; fi
  done
  for n in "${NAMES[@]}"; do start_one "$n"; done
  promote_to primary
  msg "restored in $((SECONDS - t0))s: primary 127.0.0.1:$(port_of primary) is the writer, replicas follow it"
}

# ---------------------------------------------------------------- status
cmd_status() {
  local name pid port state extra ok=1 ro io sq lag pos stat writer f
  writer=$(writer_name)
  for name in "${NAMES[@]}"; do
    port=$(port_of "$name")
    extra=""
    if [ -d "$BASE" ] && pid=$(find_pid "$name"); then
      port=$(cnf_port "$name")   # the port it was started with
      stat=""
      { IFS= read -r stat <"/proc/$pid/stat"; } 2>/dev/null || true
      stat=${stat##*) }
      if [ "${stat:0:1}" = T ]; then
        state=frozen   # SIGSTOP: asking it anything would hang
        ok=0
      elif ping_server "$name"; then
        state=up
        ro=$(sql "$name" "SELECT @@read_only" 2>/dev/null || echo '?')
        pos=$(sql "$name" "SELECT @@gtid_current_pos" 2>/dev/null || echo '?')
        extra="read_only=$ro gtid=${pos:--}"
        if [ "$name" = "$writer" ]; then
          extra="writer $extra"
        else
          mapfile -t f < <(slave_fields "$name" Slave_IO_Running Slave_SQL_Running \
            Seconds_Behind_Master Master_Port SQL_Delay Last_IO_Error Last_SQL_Error)
          io=${f[0]} sq=${f[1]} lag=${f[2]}
          extra="replica $extra master=${f[3]} io=$io sql=$sq lag=$lag"
          [ "${f[4]}" = 0 ] || [ "${f[4]}" = - ] || extra="$extra delay=${f[4]}"
          [ "${f[5]}" = - ] || extra="$extra io_error=\"${f[5]}\""
          [ "${f[6]}" = - ] || extra="$extra sql_error=\"${f[6]}\""
          [ "$io" = Yes ] && [ "$sq" = Yes ] && [ "${f[3]}" = "$(port_of "$writer")" ] || ok=0
        fi
      else
        state=starting
        ok=0
      fi
    else
      pid=-
      state=down
      ok=0
    fi
    printf '%-8s port=%-5s pid=%-7s %-8s %s\n' "$name" "$port" "$pid" "$state" "$extra"
  done
  [ $ok = 1 ] && return 0 || return 3
}

# ---------------------------------------------------------------- main
# Without --port-base, a base dir that already holds a cluster keeps the ports it was made with.
if [ "$PORT_BASE_SET" = 0 ] && [ -f "$(cnf_of primary)" ]; then
  p=$(cnf_port primary)
  [ -z "$p" ] || PORT_BASE=$p
fi

case "$CMD" in
  status) cmd_status ;;
  *)
    if [ -d "$BASE" ]; then
      # Serialise concurrent up/down on the same base directory.
      exec 9>"$BASE/.lock"
      flock -w 300 9 || die "another cluster.sh holds $BASE/.lock"
    fi
    "cmd_${CMD//-/_}"
    ;;
esac
