#!/usr/bin/env bash
# A local MariaDB cluster for Sluice: one primary and two GTID replicas on 127.0.0.1.
#
#   deploy/local/cluster.sh up     [--base DIR] [--port-base N]
#   deploy/local/cluster.sh down   [--base DIR] [--wipe]
#   deploy/local/cluster.sh status [--base DIR] [--port-base N]
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
PORT_BASE=13306
PORT_BASE_SET=0
WIPE=0
while [ $# -gt 0 ]; do
  case "$1" in
    up|down|status) [ -z "$CMD" ] || die "only one command, got '$CMD' and '$1'"; CMD=$1 ;;
    --base) [ $# -ge 2 ] || die "--base needs a directory"; BASE=$2; shift ;;
    --base=*) BASE=${1#--base=} ;;
    --port-base) [ $# -ge 2 ] || die "--port-base needs a number"; PORT_BASE=$2; PORT_BASE_SET=1; shift ;;
    --port-base=*) PORT_BASE=${1#--port-base=}; PORT_BASE_SET=1 ;;
    --wipe) WIPE=1 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
  shift
done
[ -n "$CMD" ] || { usage >&2; exit 2; }
[[ "$PORT_BASE" =~ ^[0-9]+$ ]] && [ "$PORT_BASE" -ge 1024 ] && [ "$PORT_BASE" -le 65533 ] ||
  die "--port-base must be a number between 1024 and 65533, got '$PORT_BASE'"
[ "$WIPE" = 0 ] || [ "$CMD" = down ] || die "--wipe only goes with 'down'"
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
    if [ "$name" != primary ]; then
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

check_replication() {
  local token name got deadline left=()
  token="$(date +%s%N)-$$"
  sql primary "REPLACE INTO sluice_cluster.marker (id, token) VALUES (1, '$token')" ||
    fail_server primary "writing the replication marker row failed"
  left=("${NAMES[@]:1}")
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
    rm -f "$BASE/.bootstrapped" "$BASE/.lock"
    rmdir "$BASE" 2>/dev/null || true
    msg "stopped and wiped $BASE"
  else
    msg "stopped (datadirs kept in $BASE; 'down --wipe' removes them)"
  fi
}

# ---------------------------------------------------------------- status
cmd_status() {
  local name pid port state extra ok=1 ro io sq lag pos err
  for name in "${NAMES[@]}"; do
    port=$(port_of "$name")
    extra=""
    if [ -d "$BASE" ] && pid=$(find_pid "$name"); then
      port=$(cnf_port "$name")   # the port it was started with
      if ping_server "$name"; then
        state=up
        ro=$(sql "$name" "SELECT @@read_only" 2>/dev/null || echo '?')
        pos=$(sql "$name" "SELECT @@gtid_current_pos" 2>/dev/null || echo '?')
        extra="read_only=$ro gtid=${pos:--}"
        if [ "$name" != primary ]; then
          io=$(slave_field "$name" Slave_IO_Running)
          sq=$(slave_field "$name" Slave_SQL_Running)
          lag=$(slave_field "$name" Seconds_Behind_Master)
          extra="$extra io=${io:--} sql=${sq:--} lag=${lag:--}"
          err=$(slave_field "$name" Last_IO_Error)
          [ -n "$err" ] && extra="$extra io_error=\"$err\""
          err=$(slave_field "$name" Last_SQL_Error)
          [ -n "$err" ] && extra="$extra sql_error=\"$err\""
          [ "$io" = Yes ] && [ "$sq" = Yes ] || ok=0
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
  up|down)
    if [ -d "$BASE" ]; then
      # Serialise concurrent up/down on the same base directory.
      exec 9>"$BASE/.lock"
      flock -w 300 9 || die "another cluster.sh holds $BASE/.lock"
    fi
    "cmd_$CMD"
    ;;
  status) cmd_status ;;
esac
