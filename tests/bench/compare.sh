#!/usr/bin/env bash
# Sluice vs haproxy (L4) vs direct: sysbench QPS, p95 latency and proxy CPU per query.
#
#   tests/bench/compare.sh [--quick] [options]        (see --help and tests/bench/README.md)
#
# One run: brings up the local cluster (deploy/local/cluster.sh) unless a server already
# answers on --port-base, prepares sysbench tables on the primary, starts Sluice and
# haproxy on 127.0.0.1, runs every workload against every target and prints a markdown
# table. Every process this script starts is stopped by its pid on exit. A target that
# fails (does not start, does not answer, sysbench errors) is reported in the table and
# the run goes on.
set -uo pipefail   # no -e on purpose: one failing target must not end the run

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PY=/usr/bin/python3   # Debian's python3-pymysql is only visible to the system python

# ---------------------------------------------------------------- defaults
BASE=/tmp/sluice-bench
PORT_BASE=33306
SLUICE_PORT=36033
SLUICE_ADMIN_PORT=36032
SLUICE_METRICS_PORT=36070
HAPROXY_PORT=36034
TABLES=4
TABLE_SIZE=100000
THREADS=16
TIME=20
WARMUP=5
ROUNDS=1
WORKLOADS="oltp_point_select,oltp_read_only"
TARGETS="direct,sluice,haproxy"
PS_MODE=disable
SPLIT=0
IDLE_CLIENTS=0
CLUSTER=auto          # auto | start | external
KEEP_CLUSTER=0
PREPARE=auto          # auto | always | never
SLUICE_BIN="$ROOT/build/sluice"
SLUICE_WORKERS=0
SLUICE_POOL_MAX=64
SLUICE_LOG_LEVEL=warn
SCRAPE_MS=100          # sluice-scraped: /metrics scraped every SCRAPE_MS during its runs
MONITOR_USER=""
MONITOR_PASSWORD=""
DB_USER=app
DB_PASSWORD=app
DB_NAME=sluice_test
SYSBENCH_ARGS=""
OUT=""

usage() {
  cat <<EOF
Usage: tests/bench/compare.sh [options]

Targets (all on 127.0.0.1, all hitting the same single primary unless --split):
  direct          the primary, port --port-base (default $PORT_BASE)
  sluice          build/sluice on $SLUICE_PORT (admin $SLUICE_ADMIN_PORT, metrics $SLUICE_METRICS_PORT)
  sluice-scraped  the same Sluice, with /metrics scraped every --scrape-ms during the run
                  (not in the default list: --targets sluice,sluice-scraped --rounds 3)
  haproxy         haproxy 2.6 mode tcp, nbthread 1, on $HAPROXY_PORT -> primary

Options:
  --quick                 5 s per run, 2 s warm-up
  --time S                seconds per measured run (default $TIME)
  --warmup S              unmeasured warm-up run before each measured run (default $WARMUP; 0 = none)
  --threads N             sysbench client threads (default $THREADS)
  --tables N              sysbench tables (default $TABLES)
  --table-size N          rows per table (default $TABLE_SIZE)
  --workloads LIST        comma-separated sysbench scripts (default $WORKLOADS)
  --targets LIST          comma-separated subset of direct,sluice,sluice-scraped,haproxy
                          (default $TARGETS)
  --scrape-ms MS          sluice-scraped: scrape interval in ms (default $SCRAPE_MS)
  --ps-mode MODE          sysbench --db-ps-mode: disable (text protocol) or auto (default $PS_MODE)
  --rounds N              repeat every (workload, target) N times, report medians (default $ROUNDS)
  --sysbench-args "..."   extra arguments for every sysbench run (e.g. "--skip_trx=on")
  --split                 Sluice reader hostgroup = the two replicas (default: primary only)
  --idle-clients N        also measure proxy memory per idle client with N connections (< 5000)
  --base DIR              cluster and results directory (default $BASE)
  --port-base P           primary port; replicas P+1, P+2 (default $PORT_BASE; 33306-33397)
  --cluster MODE          auto: use a server already answering on --port-base, else start
                          deploy/local/cluster.sh; start: always start it; external: never
                          (default $CLUSTER)
  --keep-cluster          leave a cluster this script started running at the end
  --prepare MODE          auto: reuse sbtest tables when they have the right size;
                          always: cleanup + prepare; never (default $PREPARE)
  --sluice-bin PATH       Sluice binary (default build/sluice). When DIR/sluice is missing it
                          is built in DIR, configured as Release if DIR is not configured yet
  --sluice-workers N      Sluice "workers" (default $SLUICE_WORKERS = number of cores)
  --sluice-pool-max N     per-server pool max_connections (default $SLUICE_POOL_MAX)
  --sluice-log-level L    Sluice log_level (default $SLUICE_LOG_LEVEL)
  --monitor-user U --monitor-password P
                          credentials for Sluice's monitor (default: monitor/monitor if that
                          user can log in, else $DB_USER/$DB_PASSWORD)
  --out DIR               results directory (default BASE/results-<timestamp>)
  -h, --help
EOF
}

die() { echo "compare.sh: $*" >&2; exit 2; }
need_arg() { [[ $# -ge 2 && -n "$2" ]] || die "$1 needs a value"; }
is_uint() { [[ "$1" =~ ^[0-9]+$ ]]; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) TIME=5; WARMUP=2; shift ;;
    --time) need_arg "$@"; TIME=$2; shift 2 ;;
    --warmup) need_arg "$@"; WARMUP=$2; shift 2 ;;
    --threads) need_arg "$@"; THREADS=$2; shift 2 ;;
    --tables) need_arg "$@"; TABLES=$2; shift 2 ;;
    --table-size) need_arg "$@"; TABLE_SIZE=$2; shift 2 ;;
    --workloads) need_arg "$@"; WORKLOADS=$2; shift 2 ;;
    --targets) need_arg "$@"; TARGETS=$2; shift 2 ;;
    --ps-mode) need_arg "$@"; PS_MODE=$2; shift 2 ;;
    --rounds) need_arg "$@"; ROUNDS=$2; shift 2 ;;
    --sysbench-args) [[ $# -ge 2 ]] || die "$1 needs a value"; SYSBENCH_ARGS=$2; shift 2 ;;
    --split) SPLIT=1; shift ;;
    --idle-clients) need_arg "$@"; IDLE_CLIENTS=$2; shift 2 ;;
    --base) need_arg "$@"; BASE=$2; shift 2 ;;
    --port-base) need_arg "$@"; PORT_BASE=$2; shift 2 ;;
    --cluster) need_arg "$@"; CLUSTER=$2; shift 2 ;;
    --keep-cluster) KEEP_CLUSTER=1; shift ;;
    --prepare) need_arg "$@"; PREPARE=$2; shift 2 ;;
    --sluice-bin) need_arg "$@"; SLUICE_BIN=$2; shift 2 ;;
    --sluice-workers) need_arg "$@"; SLUICE_WORKERS=$2; shift 2 ;;
    --sluice-pool-max) need_arg "$@"; SLUICE_POOL_MAX=$2; shift 2 ;;
    --sluice-log-level) need_arg "$@"; SLUICE_LOG_LEVEL=$2; shift 2 ;;
    --scrape-ms) need_arg "$@"; SCRAPE_MS=$2; shift 2 ;;
    --monitor-user) need_arg "$@"; MONITOR_USER=$2; shift 2 ;;
    --monitor-password) need_arg "$@"; MONITOR_PASSWORD=$2; shift 2 ;;
    --out) need_arg "$@"; OUT=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
done

for v in TIME WARMUP THREADS TABLES TABLE_SIZE ROUNDS IDLE_CLIENTS PORT_BASE SLUICE_WORKERS SLUICE_POOL_MAX SCRAPE_MS; do
  is_uint "${!v}" || die "$v must be a non-negative integer (got '${!v}')"
done
(( TIME >= 1 && THREADS >= 1 && TABLES >= 1 && TABLE_SIZE >= 1 && ROUNDS >= 1 && SCRAPE_MS >= 1 )) || die "time, threads, tables, table-size, rounds and scrape-ms must be >= 1"
(( PORT_BASE >= 33306 && PORT_BASE + 2 <= 33399 )) || die "--port-base must be within 33306..33397"
(( IDLE_CLIENTS < 5000 )) || die "--idle-clients must stay below 5000 (fd hard limit is 20000)"
[[ "$CLUSTER" =~ ^(auto|start|external)$ ]] || die "--cluster must be auto, start or external"
[[ "$PREPARE" =~ ^(auto|always|never)$ ]] || die "--prepare must be auto, always or never"
[[ "$PS_MODE" =~ ^(disable|auto)$ ]] || die "--ps-mode must be disable or auto"
IFS=, read -r -a WORKLOAD_LIST <<<"$WORKLOADS"
IFS=, read -r -a TARGET_LIST <<<"$TARGETS"
for t in "${TARGET_LIST[@]}"; do
  [[ "$t" =~ ^(direct|sluice|sluice-scraped|haproxy)$ ]] || die "unknown target '$t' (direct, sluice, sluice-scraped, haproxy)"
done
# Both Sluice targets are the same process; sluice-scraped only adds a scraper.
WANT_SLUICE=0
[[ ",$TARGETS," == *,sluice,* || ",$TARGETS," == *,sluice-scraped,* ]] && WANT_SLUICE=1
SLUICE_BIN=$(realpath -m "$SLUICE_BIN")

PRIMARY_PORT=$PORT_BASE
REPLICA1_PORT=$((PORT_BASE + 1))
REPLICA2_PORT=$((PORT_BASE + 2))
CLUSTER_DIR="$BASE/cluster"
[[ -n "$OUT" ]] || OUT="$BASE/results-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT/raw" || die "cannot create $OUT"
OUT=$(realpath "$OUT")
LOG="$OUT/compare.log"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" | tee -a "$LOG" >&2; }

# ---------------------------------------------------------------- process bookkeeping
STARTED_PIDS=()          # every long-running process started here, stopped on exit
CLUSTER_STARTED=0
SLUICE_PID=""
HAPROXY_PID=""

stop_pid() {  # stop_pid PID NAME: TERM, wait up to 10 s, then KILL
  local pid=$1 name=$2 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null
  for i in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    sleep 0.1
  done
  log "$name (pid $pid) ignored SIGTERM; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
}

CHILD_PID=""   # the sysbench / idle_clients.py run in progress, if any
SCRAPER_PID="" # scrape_loop.py during a sluice-scraped run

# Runs a command in the background and waits for it: unlike a foreground command, `wait`
# returns as soon as a signal arrives, so Ctrl-C or TERM stops the run at once.
run_child() {
  "$@" &
  CHILD_PID=$!
  wait "$CHILD_PID"
  local rc=$?
  CHILD_PID=""
  return "$rc"
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [[ -n "$CHILD_PID" ]] && stop_pid "$CHILD_PID" "running benchmark"
  [[ -n "$SCRAPER_PID" ]] && stop_pid "$SCRAPER_PID" "scraper"
  [[ -n "$SLUICE_PID" ]] && stop_pid "$SLUICE_PID" sluice
  [[ -n "$HAPROXY_PID" ]] && stop_pid "$HAPROXY_PID" haproxy
  local p
  for p in "${STARTED_PIDS[@]}"; do stop_pid "$p" "process"; done
  if (( CLUSTER_STARTED && ! KEEP_CLUSTER )); then
    log "stopping the cluster (deploy/local/cluster.sh down --base $CLUSTER_DIR)"
    "$ROOT/deploy/local/cluster.sh" down --base "$CLUSTER_DIR" >>"$LOG" 2>&1 \
      || log "cluster.sh down failed (see $LOG)"
  elif (( CLUSTER_STARTED )); then
    log "cluster left running (--keep-cluster): deploy/local/cluster.sh down --base $CLUSTER_DIR"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- helpers
sql() {  # sql PORT STATEMENT... : batch output, no headers, 10 s cap
  local port=$1; shift
  timeout -k 2 10 mariadb --protocol=TCP -h127.0.0.1 -P"$port" -u"$DB_USER" -p"$DB_PASSWORD" \
    --connect-timeout=5 -N -B "$DB_NAME" -e "$*"
}

answers() { sql "$1" "SELECT 1" >/dev/null 2>&1; }

wait_answers() {  # wait_answers PORT SECONDS [PID]: 0 when the port answers a query
  local port=$1 deadline=$((SECONDS + $2)) pid=${3:-}
  while (( SECONDS < deadline )); do
    answers "$port" && return 0
    [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null && return 1
    sleep 0.25
  done
  return 1
}

cpu_ticks() {  # utime+stime (clock ticks) of a process and all its threads, or empty
  local pid=$1 stat
  [[ -n "$pid" ]] || return 0
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 0
  stat=${stat##*) }          # drop "pid (comm) ": comm may contain spaces
  awk '{print $12 + $13}' <<<"$stat"   # fields 14 and 15 of the full line
}

rss_kb() {
  [[ -n "${1:-}" ]] || return 0
  awk '/^VmRSS:/{print $2}' "/proc/$1/status" 2>/dev/null
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

tsv_escape() { tr '\t\n' '  ' <<<"$*" | sed 's/ *$//'; }

RESULTS="$OUT/results.tsv"
printf 'workload\ttarget\tround\tstatus\tqps\tp95_ms\tqueries\tseconds\tproxy_ticks\tserver_ticks\tproxy_rss_kb\terrors\tnote\n' >"$RESULTS"

record() {  # record WORKLOAD TARGET ROUND STATUS QPS P95 QUERIES SECONDS PTICKS STICKS RSS ERRORS NOTE
  local IFS=$'\t'
  local fields=("$@")
  fields[12]=$(tsv_escape "${fields[12]:-}")
  printf '%s\n' "${fields[*]}" >>"$RESULTS"
}

record_fail_all() {  # record_fail_all TARGET NOTE: one failed row per workload
  local w
  for w in "${WORKLOAD_LIST[@]}"; do
    record "$w" "$1" 1 FAIL "" "" "" "" "" "" "" "" "$2"
  done
}

META="$OUT/meta.tsv"
meta() { printf '%s\t%s\n' "$1" "$(tsv_escape "$2")" >>"$META"; }
: >"$META"

# ---------------------------------------------------------------- preflight
for tool in sysbench mariadb haproxy timeout; do
  command -v "$tool" >/dev/null || die "$tool not found (apt-get install sysbench mariadb-client haproxy)"
done
[[ -x "$PY" ]] || die "$PY not found"
for p in "$SLUICE_PORT" "$SLUICE_ADMIN_PORT" "$SLUICE_METRICS_PORT" "$HAPROXY_PORT"; do
  port_free "$p" || die "port $p is already in use on 127.0.0.1"
done

log "results in $OUT"

# ---------------------------------------------------------------- cluster
cluster_up() {
  local cs="$ROOT/deploy/local/cluster.sh"
  [[ -x "$cs" ]] || die "no server answers on $PRIMARY_PORT and $cs is missing (start a server or use --cluster external)"
  log "starting the cluster: deploy/local/cluster.sh up --base $CLUSTER_DIR --port-base $PORT_BASE"
  CLUSTER_STARTED=1
  "$cs" up --base "$CLUSTER_DIR" --port-base "$PORT_BASE" >>"$LOG" 2>&1 \
    || die "cluster.sh up failed (see $LOG)"
  wait_answers "$PRIMARY_PORT" 60 || die "the primary on $PRIMARY_PORT does not answer after cluster.sh up"
}

case "$CLUSTER" in
  external)
    answers "$PRIMARY_PORT" || die "no server answers on 127.0.0.1:$PRIMARY_PORT as $DB_USER (--cluster external)" ;;
  auto)
    if answers "$PRIMARY_PORT"; then
      log "using the server already answering on $PRIMARY_PORT (it will not be stopped)"
    else
      cluster_up
    fi ;;
  start) cluster_up ;;
esac

SERVER_PID=$(cat "$(sql "$PRIMARY_PORT" "SELECT @@pid_file" 2>/dev/null)" 2>/dev/null || true)
[[ -n "$SERVER_PID" && -r "/proc/$SERVER_PID/stat" ]] || { log "cannot read the primary's pid: no server CPU column"; SERVER_PID=""; }

if (( SPLIT )); then
  for p in "$REPLICA1_PORT" "$REPLICA2_PORT"; do
    answers "$p" || die "--split: replica on $p does not answer"
  done
fi

# ---------------------------------------------------------------- sysbench data
SB_CONN=(--db-driver=mysql --mysql-host=127.0.0.1 --mysql-user="$DB_USER"
         --mysql-password="$DB_PASSWORD" --mysql-db="$DB_NAME")

tables_ready() {
  local i n
  for ((i = 1; i <= TABLES; i++)); do
    n=$(sql "$PRIMARY_PORT" "SELECT COUNT(*) FROM sbtest$i" 2>/dev/null) || return 1
    [[ "$n" == "$TABLE_SIZE" ]] || return 1
  done
}

if [[ "$PREPARE" == never ]]; then
  log "not preparing tables (--prepare never)"
elif [[ "$PREPARE" == auto ]] && tables_ready; then
  log "reusing sbtest1..$TABLES ($TABLE_SIZE rows each) on the primary"
else
  log "preparing $TABLES tables x $TABLE_SIZE rows on the primary"
  sysbench oltp_common "${SB_CONN[@]}" --mysql-port="$PRIMARY_PORT" --tables="$TABLES" \
    cleanup >>"$LOG" 2>&1
  pthreads=$(( TABLES < 4 ? TABLES : 4 ))
  run_child sysbench oltp_common "${SB_CONN[@]}" --mysql-port="$PRIMARY_PORT" --tables="$TABLES" \
    --table-size="$TABLE_SIZE" --threads="$pthreads" prepare >>"$LOG" 2>&1 \
    || die "sysbench prepare failed (see $LOG)"
fi

if (( SPLIT )); then  # the replicas must hold the same data before reads go there
  gtid=$(sql "$PRIMARY_PORT" "SELECT @@gtid_binlog_pos")
  for p in "$REPLICA1_PORT" "$REPLICA2_PORT"; do
    r=$(sql "$p" "SELECT MASTER_GTID_WAIT('$gtid', 120)" 2>/dev/null)
    [[ "$r" == 0 ]] || die "--split: replica on $p did not reach $gtid (MASTER_GTID_WAIT=$r)"
  done
  log "replicas caught up with $gtid"
fi

# ---------------------------------------------------------------- machine description
meta nproc "$(nproc)"
meta cpu_model "$(awk -F': *' '/^model name/{print $2; exit}' /proc/cpuinfo)"
meta kernel "$(uname -r)"
meta mariadb_version "$(sql "$PRIMARY_PORT" "SELECT VERSION()" 2>/dev/null)"
meta date "$(date '+%Y-%m-%d %H:%M %Z')"
meta loadavg "$(cut -d' ' -f1-3 /proc/loadavg)"
meta sysbench_version "$(sysbench --version 2>/dev/null)"
meta haproxy_version "$(haproxy -v 2>/dev/null | awk 'NR==1{print "HAProxy " $3}')"
meta sluice_commit "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)$(git -C "$ROOT" diff --quiet HEAD -- src include 2>/dev/null || echo '+dirty')"
meta clk_tck "$(getconf CLK_TCK)"
meta tables "$TABLES"
meta table_size "$TABLE_SIZE"
meta threads "$THREADS"
meta time "$TIME"
meta warmup "$WARMUP"
meta rounds "$ROUNDS"
meta ps_mode "$PS_MODE"
meta sysbench_args "$SYSBENCH_ARGS"
if (( SPLIT )); then
  meta routing "--split: Sluice writer hostgroup 10 = primary :$PRIMARY_PORT, reader hostgroup 20 = replicas :$REPLICA1_PORT, :$REPLICA2_PORT (reads inside transactions still go to the primary); direct and haproxy use the primary only"
else
  meta routing "every target hits the same single primary :$PRIMARY_PORT (Sluice writer hostgroup 10 and reader hostgroup 20 both = the primary only)"
fi
meta sluice_pool_max "$SLUICE_POOL_MAX"
if (( SLUICE_WORKERS == 0 )); then meta sluice_workers "0 (= $(nproc) cores)"; else meta sluice_workers "$SLUICE_WORKERS"; fi

# ---------------------------------------------------------------- Sluice
sluice_build_type() {
  local cache bt
  [[ -x "$SLUICE_BIN" ]] || { echo "not built"; return; }
  cache="$(dirname "$SLUICE_BIN")/CMakeCache.txt"
  bt=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$cache" 2>/dev/null)
  echo "${bt:-unknown}"
}

build_sluice() {  # builds SLUICE_BIN when it is missing and is <build dir>/sluice
  [[ -x "$SLUICE_BIN" ]] && return 0
  local dir
  dir=$(dirname "$SLUICE_BIN")
  if [[ "$(basename "$SLUICE_BIN")" != sluice ]]; then
    log "$SLUICE_BIN does not exist"; return 1
  fi
  log "$SLUICE_BIN missing: building it in $dir (configured as Release if not configured yet)"
  if [[ ! -f "$dir/CMakeCache.txt" ]]; then
    cmake -S "$ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=Release >>"$LOG" 2>&1 || return 1
  fi
  cmake --build "$dir" -j2 --target sluice >>"$LOG" 2>&1 || return 1
  [[ -x "$SLUICE_BIN" ]]
}

monitor_credentials() {
  if [[ -n "$MONITOR_USER" ]]; then return; fi
  if timeout 10 mariadb --protocol=TCP -h127.0.0.1 -P"$PRIMARY_PORT" -umonitor -pmonitor \
       --connect-timeout=5 -e "SELECT 1" >/dev/null 2>&1; then
    MONITOR_USER=monitor; MONITOR_PASSWORD=monitor
  else
    MONITOR_USER=$DB_USER; MONITOR_PASSWORD=$DB_PASSWORD
  fi
}

write_sluice_config() {  # generated for this run only; see README "Sluice configuration"
  local cfg=$1 readers
  if (( SPLIT )); then
    readers="    { \"hostgroup\": 20, \"host\": \"127.0.0.1\", \"port\": $REPLICA1_PORT, \"weight\": 1 },
    { \"hostgroup\": 20, \"host\": \"127.0.0.1\", \"port\": $REPLICA2_PORT, \"weight\": 1 }"
  else
    # Like with like: the reader hostgroup holds the primary too, so Sluice, haproxy and
    # direct all run every query on the very same server.
    readers="    { \"hostgroup\": 20, \"host\": \"127.0.0.1\", \"port\": $PRIMARY_PORT, \"weight\": 1 }"
  fi
  cat >"$cfg" <<EOF
{
  "workers": $SLUICE_WORKERS,
  "log_level": "$SLUICE_LOG_LEVEL",
  "frontend": {
    "listen": { "address": "127.0.0.1", "port": $SLUICE_PORT },
    "max_client_connections": 10000
  },
  "admin": { "listen": { "address": "127.0.0.1", "port": $SLUICE_ADMIN_PORT }, "user": "admin", "password": "admin" },
  "metrics": { "listen": { "address": "127.0.0.1", "port": $SLUICE_METRICS_PORT } },
  "monitor": { "user": "$MONITOR_USER", "password": "$MONITOR_PASSWORD", "down_retry_ms": 1000 },
  "pool": {
    "max_connections": $SLUICE_POOL_MAX,
    "max_idle": $SLUICE_POOL_MAX,
    "min_idle": 0,
    "idle_timeout_ms": 600000,
    "max_lifetime_ms": 3600000,
    "connect_timeout_ms": 3000,
    "checkout_timeout_ms": 10000
  },
  "routing": { "writer_hostgroup": 10, "reader_hostgroup": 20, "reads_fallback_to_writer": true },
  "users": [
    { "username": "$DB_USER", "password": "$DB_PASSWORD", "default_schema": "$DB_NAME" }
  ],
  "servers": [
    { "hostgroup": 10, "host": "127.0.0.1", "port": $PRIMARY_PORT, "weight": 1 },
$readers
  ]
}
EOF
}

# start_sluice / start_haproxy run in this shell (not in $(...)) so that the pid they set
# is seen by cleanup; on failure they set WHY and return 1.
WHY=""

port_holders() {  # who holds local port $1 (listener or connection), for error messages
  ss -Htanp "sport = :$1" 2>/dev/null | awk '{print $1, $4, "->", $5, $6}' | head -n 3 | tr '\n' ';'
}

# Our ports lie inside the kernel's ephemeral range (32768-60999), so an outgoing
# connection of any process can hold one for a while and make bind() fail. A proxy that
# exits saying so is started again, up to 5 times.
addr_in_use() { grep -qiE 'address already in use|EADDRINUSE|in use' "$1" 2>/dev/null; }

log_tail() { tail -n 2 "$1" 2>/dev/null | tr '\n' ' ' | cut -c1-200; }

start_sluice() {  # sets SLUICE_PID
  if ! build_sluice; then WHY="build failed (see compare.log)"; return 1; fi
  meta sluice_build_type "$(sluice_build_type)"
  [[ "$(sluice_build_type)" == Release ]] || log "warning: $SLUICE_BIN build type is $(sluice_build_type), not Release"
  monitor_credentials
  write_sluice_config "$OUT/sluice.json"
  local attempt why tail_
  for attempt in 1 2 3 4 5; do
    "$SLUICE_BIN" --config "$OUT/sluice.json" >"$OUT/sluice.log" 2>&1 &
    SLUICE_PID=$!
    log "sluice started (pid $SLUICE_PID, config $OUT/sluice.json)"
    wait_answers "$SLUICE_PORT" 20 "$SLUICE_PID" && return 0
    if kill -0 "$SLUICE_PID" 2>/dev/null; then
      why="does not answer SELECT 1 on $SLUICE_PORT"
    else
      wait "$SLUICE_PID"; why="exited with status $?"; SLUICE_PID=""
      if addr_in_use "$OUT/sluice.log" && (( attempt < 5 )); then
        log "sluice: a port is in use ($(port_holders "$SLUICE_PORT")$(port_holders "$SLUICE_ADMIN_PORT")$(port_holders "$SLUICE_METRICS_PORT")); retrying in 3 s"
        cp "$OUT/sluice.log" "$OUT/sluice.log.attempt$attempt"
        sleep 3; continue
      fi
    fi
    tail_=$(log_tail "$OUT/sluice.log")
    WHY="$why${tail_:+; log: $tail_}"
    return 1
  done
}

start_haproxy() {  # sets HAPROXY_PID
  local cfg="$OUT/haproxy.cfg" attempt
  sed -e "s|@MAXCONN@|4096|g" -e "s|@PIDFILE@|$OUT/haproxy.pid|g" \
      -e "s|@LISTEN@|127.0.0.1:$HAPROXY_PORT|g" -e "s|@SERVER@|127.0.0.1:$PRIMARY_PORT|g" \
      "$HERE/haproxy.cfg.in" >"$cfg"
  if ! haproxy -c -q -f "$cfg" >>"$LOG" 2>&1; then WHY="invalid config $cfg"; return 1; fi
  for attempt in 1 2 3 4 5; do
    # -db: stay in the foreground, no daemon, no master-worker: $! is the proxy itself.
    haproxy -db -f "$cfg" >"$OUT/haproxy.log" 2>&1 &
    HAPROXY_PID=$!
    log "haproxy started (pid $HAPROXY_PID, config $cfg)"
    wait_answers "$HAPROXY_PORT" 10 "$HAPROXY_PID" && return 0
    if ! kill -0 "$HAPROXY_PID" 2>/dev/null; then
      wait "$HAPROXY_PID"; HAPROXY_PID=""
      if addr_in_use "$OUT/haproxy.log" && (( attempt < 5 )); then
        log "haproxy: port $HAPROXY_PORT in use ($(port_holders "$HAPROXY_PORT")); retrying in 3 s"
        cp "$OUT/haproxy.log" "$OUT/haproxy.log.attempt$attempt"
        sleep 3; continue
      fi
    fi
    WHY="does not answer on $HAPROXY_PORT; log: $(log_tail "$OUT/haproxy.log")"
    return 1
  done
}

declare -A TARGET_PORT=([direct]=$PRIMARY_PORT [sluice]=$SLUICE_PORT [sluice-scraped]=$SLUICE_PORT [haproxy]=$HAPROXY_PORT)
declare -A TARGET_NOTE=()   # set when a target cannot be benchmarked at all

# haproxy first: it opens no connection when it starts, while Sluice's monitor and pools do
# (and their ephemeral source ports could land on 36034).
for t in haproxy sluice; do
  if [[ $t == sluice ]]; then (( WANT_SLUICE )) || continue
  else [[ ",$TARGETS," == *",$t,"* ]] || continue; fi
  WHY=""
  case "$t" in
    sluice) start_sluice || TARGET_NOTE[sluice]="Sluice did not start: $WHY" ;;
    haproxy) start_haproxy || TARGET_NOTE[haproxy]="haproxy did not start: $WHY" ;;
  esac
  [[ -n "${TARGET_NOTE[$t]:-}" ]] && log "${TARGET_NOTE[$t]}"
done
[[ -n "${TARGET_NOTE[sluice]:-}" ]] && TARGET_NOTE[sluice-scraped]=${TARGET_NOTE[sluice]}
[[ -n "$(sed -n 's/^sluice_build_type\t//p' "$META")" ]] || meta sluice_build_type "$(sluice_build_type)"
meta sluice_target "$WANT_SLUICE"
meta scrape_ms "$SCRAPE_MS"

proxy_pid_of() {
  case "$1" in
    sluice|sluice-scraped) echo "$SLUICE_PID" ;;
    haproxy) echo "$HAPROXY_PID" ;;
    *) echo "" ;;
  esac
}

read -r -a SB_EXTRA <<<"$SYSBENCH_ARGS"

sb_field() {  # sb_field FILE REGEX: first number after the label
  sed -n "s/^ *$2: *\([0-9.]*\).*/\1/p" "$1" | head -n 1
}

run_one() {  # run_one WORKLOAD TARGET ROUND
  local w=$1 t=$2 round=$3 port=${TARGET_PORT[$2]} ppid raw rc
  ppid=$(proxy_pid_of "$t")
  raw="$OUT/raw/$w.$t.r$round"
  if [[ -n "$ppid" ]] && ! kill -0 "$ppid" 2>/dev/null; then
    record "$w" "$t" "$round" FAIL "" "" "" "" "" "" "" "" "$t process (pid $ppid) is gone"
    log "$w / $t: the $t process has exited"
    return
  fi
  if ! answers "$port"; then
    record "$w" "$t" "$round" FAIL "" "" "" "" "" "" "" "" "does not answer SELECT 1 on $port"
    log "$w / $t: does not answer SELECT 1 on $port"
    return
  fi
  local sb=(sysbench "$w" "${SB_CONN[@]}" --mysql-port="$port" --tables="$TABLES"
            --table-size="$TABLE_SIZE" --threads="$THREADS" --db-ps-mode="$PS_MODE"
            --report-interval=0 --percentile=95 "${SB_EXTRA[@]}")
  if [[ "$t" == sluice-scraped ]]; then  # scraped through warm-up and measured run
    "$PY" "$HERE/scrape_loop.py" --port "$SLUICE_METRICS_PORT" --interval-ms "$SCRAPE_MS" \
      >"$raw.scrapes.json" 2>>"$LOG" &
    SCRAPER_PID=$!
  fi
  if (( WARMUP > 0 )); then
    run_child timeout -k 5 $((WARMUP + 60)) "${sb[@]}" --time="$WARMUP" run >"$raw.warmup.txt" 2>&1
  fi
  local p0 s0 p1 s1
  p0=$(cpu_ticks "$ppid"); s0=$(cpu_ticks "$SERVER_PID")
  run_child timeout -k 5 $((TIME + 60)) "${sb[@]}" --time="$TIME" run >"$raw.txt" 2>&1
  rc=$?
  p1=$(cpu_ticks "$ppid"); s1=$(cpu_ticks "$SERVER_PID")
  local scrape_note=""
  if [[ -n "$SCRAPER_PID" ]]; then
    stop_pid "$SCRAPER_PID" scraper
    SCRAPER_PID=""
    scrape_note=$("$PY" -c 'import json,sys; print("{scrapes} scrapes every {achieved_interval_ms} ms, {mean_ms} ms mean, {bytes_per_scrape} B, {errors} errors".format(**json.load(open(sys.argv[1]))))' "$raw.scrapes.json" 2>/dev/null || echo "scraper summary missing")
  fi
  local rss queries qps p95 secs errs note pt="" st=""
  rss=$(rss_kb "$ppid")
  queries=$(sb_field "$raw.txt" "queries")
  qps=$(sed -n 's/^ *queries: *[0-9]* *(\([0-9.]*\) per sec.*/\1/p' "$raw.txt" | head -n 1)
  p95=$(sb_field "$raw.txt" "95th percentile")
  secs=$(sb_field "$raw.txt" "total time")
  errs=$(sb_field "$raw.txt" "ignored errors")
  [[ -n "$p0" && -n "$p1" ]] && pt=$((p1 - p0))
  [[ -n "$s0" && -n "$s1" ]] && st=$((s1 - s0))
  if (( rc != 0 )) || [[ -z "$queries" || "$queries" == 0 ]]; then
    note=$(grep -m1 -E 'FATAL|ALERT|[Ee]rror' "$raw.txt" | sed 's/^ *//' | cut -c1-160)
    if (( rc == 124 || rc == 137 )); then
      note="sysbench timed out; $note"
      # A target that hangs would cost TIME+60 s per remaining run: give up on it.
      [[ "$t" != direct ]] && TARGET_NOTE[$t]="skipped: timed out earlier in $w"
    fi
    [[ -n "$note" ]] || note="sysbench exit status $rc"
    record "$w" "$t" "$round" FAIL "" "" "" "" "$pt" "$st" "$rss" "" "$note"
    log "$w / $t: FAILED: $note"
  else
    record "$w" "$t" "$round" ok "$qps" "$p95" "$queries" "$secs" "$pt" "$st" "$rss" "$errs" "$scrape_note"
    log "$w / $t: $qps qps, p95 $p95 ms${pt:+, proxy $pt ticks}${st:+, server $st ticks}${scrape_note:+; $scrape_note}"
  fi
}

# ---------------------------------------------------------------- idle clients
# Before the benchmarks: memory that earlier sessions freed would otherwise be reused by
# the idle clients and hide their cost.
if (( IDLE_CLIENTS > 0 )); then
  max_conn=$(sql "$PRIMARY_PORT" "SELECT @@max_connections" 2>/dev/null || echo 0)
  for t in "${TARGET_LIST[@]}"; do
    if [[ -n "${TARGET_NOTE[$t]:-}" ]]; then
      printf '{"target": "%s", "requested": %d, "opened": 0, "skipped": "%s"}\n' \
        "$t" "$IDLE_CLIENTS" "target unavailable" >>"$OUT/idle.jsonl"
      continue
    fi
    [[ "$t" == sluice-scraped ]] && continue  # the same process as sluice
    if [[ "$t" != sluice ]] && (( IDLE_CLIENTS + THREADS + 10 > max_conn )); then
      # direct and haproxy cost one server connection per client
      printf '{"target": "%s", "requested": %d, "opened": 0, "skipped": "%s"}\n' \
        "$t" "$IDLE_CLIENTS" "server max_connections=$max_conn is too low" >>"$OUT/idle.jsonl"
      log "idle clients: skipping $t (server max_connections=$max_conn)"
      continue
    fi
    pid=$(proxy_pid_of "$t"); [[ "$t" == direct ]] && pid=$SERVER_PID
    [[ -n "$pid" ]] || continue
    log "opening $IDLE_CLIENTS idle clients to $t"
    run_child timeout -k 5 600 "$PY" "$HERE/idle_clients.py" --port "${TARGET_PORT[$t]}" -n "$IDLE_CLIENTS" \
      --user "$DB_USER" --password "$DB_PASSWORD" --db "$DB_NAME" --pids "$pid" \
      --server-port "$PRIMARY_PORT" --label "$t" --measured-pid "$pid" \
      >>"$OUT/idle.jsonl" 2>>"$LOG" \
      || { log "idle clients against $t failed";
           printf '{"target": "%s", "requested": %d, "opened": 0, "skipped": "%s"}\n' \
             "$t" "$IDLE_CLIENTS" "idle_clients.py failed (see compare.log)" >>"$OUT/idle.jsonl"; }
  done
fi

# ---------------------------------------------------------------- benchmarks
for w in "${WORKLOAD_LIST[@]}"; do
  for ((round = 1; round <= ROUNDS; round++)); do
    for t in "${TARGET_LIST[@]}"; do
      if [[ -n "${TARGET_NOTE[$t]:-}" ]]; then
        record "$w" "$t" "$round" FAIL "" "" "" "" "" "" "" "" "${TARGET_NOTE[$t]}"
        continue
      fi
      log "running $w against $t (round $round/$ROUNDS, ${TIME}s)"
      run_one "$w" "$t" "$round"
    done
  done
done

# ---------------------------------------------------------------- report
"$PY" "$HERE/report.py" "$OUT" | tee "$OUT/report.md"
log "report saved as $OUT/report.md"
