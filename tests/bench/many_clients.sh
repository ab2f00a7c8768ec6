#!/usr/bin/env bash
# Many clients over a small pool: sysbench with 1000 client threads through Sluice, whose
# pool holds at most 64 backend connections in total, against 64 threads connected directly
# (and, for scale, 1000 threads connected directly), in one run.
#
#   tests/bench/many_clients.sh [options]        (see --help and tests/bench/README.md)
#
# Prints a markdown table: QPS, p95 latency, errors, and the backend connections the
# primary saw during each run (PROCESSLIST of a dedicated user, sampled every 0.2 s).
# Every process this script starts is stopped by its pid on exit.
set -uo pipefail   # no -e: a failing run is reported in the table and the rest goes on

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PY=/usr/bin/python3

BASE=/tmp/sluice-bench
PORT_BASE=33306
SLUICE_PORT=36133
SLUICE_ADMIN_PORT=36132
SLUICE_METRICS_PORT=36170
CLIENTS=1000
DIRECT_THREADS=64
POOL_MAX=64
TIME=10
WARMUP=3
TABLES=4
TABLE_SIZE=100000
WORKLOADS="oltp_point_select,oltp_read_only"
DIRECT_MANY=1
CHECKOUT_MS=30000
CLUSTER=auto
KEEP_CLUSTER=0
SLUICE_BIN="$ROOT/build/sluice"
SLUICE_WORKERS=0
ADMIN_USER=app ADMIN_PASSWORD=app       # creates the bench user, reads PROCESSLIST
BENCH_USER=bench_many                   # sysbench's user through Sluice (PROCESSLIST rows counted)
DIRECT_USER=bench_direct                # sysbench's user for direct rows (idem; Sluice's idle
                                        # connections are not counted in direct rows)
DB_NAME=sluice_test
OUT=""

usage() {
  cat <<EOF
Usage: tests/bench/many_clients.sh [options]

Rows per workload (all on the primary 127.0.0.1:--port-base, text protocol):
  direct  $DIRECT_THREADS threads      sysbench straight to the primary
  Sluice  $CLIENTS threads    through Sluice on $SLUICE_PORT: one pool, the primary only (reads fall
                          back to the writer), max_connections $POOL_MAX = every backend connection
  direct  $CLIENTS threads    straight to the primary (--no-direct-many to skip)

Options:
  --clients N             client threads through Sluice (default $CLIENTS)
  --direct-threads N      threads of the direct baseline (default $DIRECT_THREADS)
  --pool-max N            Sluice pool max_connections (default $POOL_MAX)
  --time S                seconds per measured run (default $TIME)
  --warmup S              unmeasured run before each measured one (default $WARMUP; 0 = none)
  --workloads LIST        sysbench scripts (default $WORKLOADS)
  --tables N --table-size N   sysbench data (default $TABLES x $TABLE_SIZE; reused when present)
  --no-direct-many        skip the $CLIENTS-thread direct row
  --checkout-timeout-ms N Sluice checkout_timeout_ms (default $CHECKOUT_MS)
  --port-base P           primary port (default $PORT_BASE; a server answering there is reused,
                          else deploy/local/cluster.sh starts one under --base)
  --base DIR              cluster and results directory (default $BASE)
  --keep-cluster          leave a cluster this script started running
  --sluice-bin PATH       (default build/sluice)    --sluice-workers N (default 0 = cores)
  --out DIR               results directory (default BASE/many-<timestamp>)
EOF
}

die() { echo "many_clients.sh: $*" >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --clients) CLIENTS=$2; shift 2 ;;
    --direct-threads) DIRECT_THREADS=$2; shift 2 ;;
    --pool-max) POOL_MAX=$2; shift 2 ;;
    --time) TIME=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --workloads) WORKLOADS=$2; shift 2 ;;
    --tables) TABLES=$2; shift 2 ;;
    --table-size) TABLE_SIZE=$2; shift 2 ;;
    --no-direct-many) DIRECT_MANY=0; shift ;;
    --checkout-timeout-ms) CHECKOUT_MS=$2; shift 2 ;;
    --port-base) PORT_BASE=$2; shift 2 ;;
    --base) BASE=$2; shift 2 ;;
    --keep-cluster) KEEP_CLUSTER=1; shift ;;
    --sluice-bin) SLUICE_BIN=$2; shift 2 ;;
    --sluice-workers) SLUICE_WORKERS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
done
for v in CLIENTS DIRECT_THREADS POOL_MAX TIME WARMUP TABLES TABLE_SIZE CHECKOUT_MS PORT_BASE SLUICE_WORKERS; do
  [[ "${!v}" =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer (got '${!v}')"
done
(( PORT_BASE >= 33306 && PORT_BASE + 2 <= 33399 )) || die "--port-base must be within 33306..33397"
(( CLIENTS + 100 < $(ulimit -n) )) || die "--clients $CLIENTS needs more file descriptors than ulimit -n ($(ulimit -n))"
IFS=, read -r -a WORKLOAD_LIST <<<"$WORKLOADS"
PRIMARY_PORT=$PORT_BASE
[[ -n "$OUT" ]] || OUT="$BASE/many-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT/raw" || die "cannot create $OUT"
OUT=$(realpath "$OUT")
LOG="$OUT/many_clients.log"
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" | tee -a "$LOG" >&2; }

# ------------------------------------------------------------------ processes
CLUSTER_STARTED=0 SLUICE_PID="" SAMPLER_PID="" CHILD_PID=""
stop_pid() {
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null
  for i in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
}
run_child() { "$@" & CHILD_PID=$!; wait "$CHILD_PID"; local rc=$?; CHILD_PID=""; return "$rc"; }
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [[ -n "$CHILD_PID" ]] && stop_pid "$CHILD_PID"
  [[ -n "$SAMPLER_PID" ]] && stop_pid "$SAMPLER_PID"
  [[ -n "$SLUICE_PID" ]] && stop_pid "$SLUICE_PID"
  if (( CLUSTER_STARTED && ! KEEP_CLUSTER )); then
    log "stopping the cluster this script started"
    "$ROOT/deploy/local/cluster.sh" down --base "$BASE/cluster" --port-base "$PORT_BASE" >>"$LOG" 2>&1
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

sql() {  # sql PORT STATEMENT (as the admin user)
  local port=$1; shift
  timeout -k 2 20 mariadb --protocol=TCP -h127.0.0.1 -P"$port" -u"$ADMIN_USER" -p"$ADMIN_PASSWORD" \
    --connect-timeout=5 -N -B -e "$*"
}
answers() { sql "$1" "SELECT 1" >/dev/null 2>&1; }
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

for tool in sysbench mariadb timeout; do command -v "$tool" >/dev/null || die "$tool not found"; done
for p in "$SLUICE_PORT" "$SLUICE_ADMIN_PORT" "$SLUICE_METRICS_PORT"; do
  port_free "$p" || die "port $p is already in use on 127.0.0.1"
done
[[ -x "$SLUICE_BIN" ]] || die "$SLUICE_BIN not found (cmake --build build)"
log "results in $OUT"

# ------------------------------------------------------------------ cluster, user, data
if answers "$PRIMARY_PORT"; then
  log "using the server already answering on $PRIMARY_PORT (left running)"
else
  log "starting deploy/local/cluster.sh up --base $BASE/cluster --port-base $PORT_BASE"
  CLUSTER_STARTED=1
  "$ROOT/deploy/local/cluster.sh" up --base "$BASE/cluster" --port-base "$PORT_BASE" >>"$LOG" 2>&1 \
    || die "cluster.sh up failed (see $LOG)"
fi
SERVER_MAX=$(sql "$PRIMARY_PORT" "SELECT @@max_connections")
(( DIRECT_MANY == 0 || CLIENTS + 50 < SERVER_MAX )) || {
  log "the primary allows $SERVER_MAX connections: skipping the $CLIENTS-thread direct row"; DIRECT_MANY=0; }

for u in "$BENCH_USER" "$DIRECT_USER"; do
  sql "$PRIMARY_PORT" "CREATE USER IF NOT EXISTS '$u'@'%' IDENTIFIED BY '$u';
    GRANT ALL ON \`$DB_NAME\`.* TO '$u'@'%'; CREATE DATABASE IF NOT EXISTS \`$DB_NAME\`" \
    || die "cannot create user $u on the primary"
done

sb_conn() {  # sb_conn USER
  echo --db-driver=mysql --mysql-host=127.0.0.1 --mysql-user="$1" --mysql-password="$1" --mysql-db="$DB_NAME"
}
read -r -a SB_CONN <<<"$(sb_conn "$BENCH_USER")"
ready=1
for ((i = 1; i <= TABLES; i++)); do
  n=$(sql "$PRIMARY_PORT" "SELECT COUNT(*) FROM $DB_NAME.sbtest$i" 2>/dev/null) || { ready=0; break; }
  [[ "$n" == "$TABLE_SIZE" ]] || { ready=0; break; }
done
if (( ready )); then
  log "reusing sbtest1..$TABLES ($TABLE_SIZE rows each)"
else
  log "preparing $TABLES tables x $TABLE_SIZE rows"
  sysbench oltp_common "${SB_CONN[@]}" --mysql-port="$PRIMARY_PORT" --tables="$TABLES" cleanup >>"$LOG" 2>&1
  run_child sysbench oltp_common "${SB_CONN[@]}" --mysql-port="$PRIMARY_PORT" --tables="$TABLES" \
    --table-size="$TABLE_SIZE" --threads=4 prepare >>"$LOG" 2>&1 || die "sysbench prepare failed (see $LOG)"
fi

# ------------------------------------------------------------------ Sluice
MONITOR_USER=monitor MONITOR_PASSWORD=monitor
timeout 10 mariadb --protocol=TCP -h127.0.0.1 -P"$PRIMARY_PORT" -umonitor -pmonitor -e "SELECT 1" \
  >/dev/null 2>&1 || { MONITOR_USER=$ADMIN_USER; MONITOR_PASSWORD=$ADMIN_PASSWORD; }
# One pool: the primary in the writer hostgroup and no reader, so reads fall back to the
# writer and max_connections is the total number of backend connections.
cat >"$OUT/sluice.json" <<EOF
{
  "workers": $SLUICE_WORKERS,
  "log_level": "warn",
  "frontend": { "listen": { "address": "127.0.0.1", "port": $SLUICE_PORT }, "max_client_connections": 10000 },
  "admin": { "listen": { "address": "127.0.0.1", "port": $SLUICE_ADMIN_PORT } },
  "metrics": { "listen": { "address": "127.0.0.1", "port": $SLUICE_METRICS_PORT } },
  "monitor": { "user": "$MONITOR_USER", "password": "$MONITOR_PASSWORD" },
  "pool": { "max_connections": $POOL_MAX, "max_idle": $POOL_MAX, "checkout_timeout_ms": $CHECKOUT_MS },
  "routing": { "writer_hostgroup": 10, "reader_hostgroup": 20, "reads_fallback_to_writer": true },
  "users": [ { "username": "$BENCH_USER", "password": "$BENCH_USER" } ],
  "servers": [ { "hostgroup": 10, "host": "127.0.0.1", "port": $PRIMARY_PORT } ]
}
EOF
"$SLUICE_BIN" --config "$OUT/sluice.json" >"$OUT/sluice.log" 2>&1 &
SLUICE_PID=$!
for i in $(seq 100); do
  timeout 5 mariadb --protocol=TCP -h127.0.0.1 -P"$SLUICE_PORT" -u"$BENCH_USER" -p"$BENCH_USER" \
    -e "SELECT 1" >/dev/null 2>&1 && break
  kill -0 "$SLUICE_PID" 2>/dev/null || die "Sluice exited: $(tail -5 "$OUT/sluice.log")"
  sleep 0.1
done

metric() {  # metric NAME: sum of a Sluice metric's samples
  $PY - "$SLUICE_METRICS_PORT" "$1" <<'EOF'
import sys, urllib.request
port, name = sys.argv[1], sys.argv[2]
try:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
except Exception:
    print(""); sys.exit()
print(int(sum(float(l.rsplit(" ", 1)[1]) for l in text.splitlines()
              if l.startswith(name + "{") or l.startswith(name + " "))))
EOF
}

# PROCESSLIST sampler: prints the bench user's connection count on the primary every 0.2 s.
start_sampler() {  # start_sampler FILE USER
  $PY -u - "$PRIMARY_PORT" "$ADMIN_USER" "$ADMIN_PASSWORD" "$2" >"$1" 2>>"$LOG" <<'EOF' &
import sys, time, pymysql
port, user, pw, who = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
c = pymysql.connect(host="127.0.0.1", port=port, user=user, password=pw, autocommit=True)
cur = c.cursor()
while True:
    cur.execute("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = %s", (who,))
    print(cur.fetchone()[0], flush=True)
    time.sleep(0.2)
EOF
  SAMPLER_PID=$!
}

sb_field() { sed -n "s/^ *$2: *\([0-9.]*\).*/\1/p" "$1" | head -n 1; }

ROWS="$OUT/rows.tsv"
: >"$ROWS"
run_row() {  # run_row WORKLOAD LABEL PORT THREADS
  local w=$1 label=$2 port=$3 threads=$4 raw="$OUT/raw/$1.$2.$4" user=$BENCH_USER conn
  [[ "$label" == direct ]] && user=$DIRECT_USER
  read -r -a conn <<<"$(sb_conn "$user")"
  local sb=(sysbench "$w" "${conn[@]}" --mysql-port="$port" --tables="$TABLES"
            --table-size="$TABLE_SIZE" --threads="$threads" --db-ps-mode=disable
            --report-interval=0 --percentile=95)
  if (( WARMUP > 0 )); then
    run_child timeout -k 5 $((WARMUP + 120)) "${sb[@]}" --time="$WARMUP" run >"$raw.warmup.txt" 2>&1
  fi
  local c0="" c1=""
  [[ "$label" == Sluice ]] && c0=$(metric sluice_pool_connects_total)
  start_sampler "$raw.processlist" "$user"
  run_child timeout -k 5 $((TIME + 180)) "${sb[@]}" --time="$TIME" run >"$raw.txt" 2>&1
  local rc=$?
  stop_pid "$SAMPLER_PID"; SAMPLER_PID=""
  [[ "$label" == Sluice ]] && c1=$(metric sluice_pool_connects_total)
  local qps p95 errs peak median connects="" status=ok note=""
  qps=$(sed -n 's/^ *queries: *[0-9]* *(\([0-9.]*\) per sec.*/\1/p' "$raw.txt" | head -n 1)
  p95=$(sb_field "$raw.txt" "95th percentile")
  errs=$(sb_field "$raw.txt" "ignored errors")
  peak=$(sort -n "$raw.processlist" | tail -n 1)
  median=$(sort -n "$raw.processlist" | awk '{a[NR]=$1} END {if (NR) print a[int((NR + 1) / 2)]}')
  [[ -n "$c0" && -n "$c1" ]] && connects=$((c1 - c0))
  if (( rc != 0 )) || [[ -z "$qps" ]]; then
    status=FAIL
    note=$(grep -m1 -E 'FATAL|ALERT|[Ee]rror' "$raw.txt" | sed 's/^ *//' | cut -c1-120)
    [[ -n "$note" ]] || note="sysbench exit status $rc"
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$w" "$label" "$threads" "$status" "${qps:-}" \
    "${p95:-}" "${errs:-}" "${peak:-}" "${median:-}" "$connects" "$note" >>"$ROWS"
  log "$w / $label $threads threads: $status ${qps:-?} qps, p95 ${p95:-?} ms, server connections peak ${peak:-?} median ${median:-?}${connects:+, Sluice backend connects $connects}${note:+ ($note)}"
}

for w in "${WORKLOAD_LIST[@]}"; do
  run_row "$w" direct "$PRIMARY_PORT" "$DIRECT_THREADS"
  run_row "$w" Sluice "$SLUICE_PORT" "$CLIENTS"
  (( DIRECT_MANY )) && run_row "$w" direct "$PRIMARY_PORT" "$CLIENTS"
  kill -0 "$SLUICE_PID" 2>/dev/null || { log "Sluice exited during $w: $(tail -3 "$OUT/sluice.log")"; break; }
done

# ------------------------------------------------------------------ report
{
  echo "- Machine: $(nproc) CPUs, $(awk -F': *' '/^model name/{print $2; exit}' /proc/cpuinfo), MariaDB $(sql "$PRIMARY_PORT" "SELECT VERSION()"), $(date -u '+%Y-%m-%d %H:%M UTC'), load average at end $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- Sluice $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null), workers=$SLUICE_WORKERS (0 = cores), one pool on the primary: max_connections=$POOL_MAX (= all backend connections), checkout_timeout_ms=$CHECKOUT_MS"
  echo "- sysbench $(sysbench --version | awk '{print $2}'), $TABLES tables x $TABLE_SIZE rows, --db-ps-mode=disable, ${TIME} s per run after a ${WARMUP} s warm-up; every row runs on the same primary :$PRIMARY_PORT"
  echo "- server connections: PROCESSLIST rows of the benchmark's user on the primary, sampled every 0.2 s during the measured run"
  echo
  echo "| workload | target | client threads | QPS | QPS vs direct $DIRECT_THREADS | p95 ms | errors | server connections (peak / median) | Sluice backend connects during run | status |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"
  awk -F'\t' -v base="$DIRECT_THREADS" '
    function fmt(x) { return x == "" ? "" : sprintf("%.0f", x) }
    $2 == "direct" && $3 == base { ref[$1] = $5 }
    { rows[NR] = $0 }
    END {
      for (i = 1; i <= NR; i++) {
        split(rows[i], f, "\t")
        ratio = (ref[f[1]] > 0 && f[5] != "") ? sprintf("%.2fx", f[5] / ref[f[1]]) : ""
        st = f[4] == "ok" ? "ok" : f[4] ": " f[11]
        printf "| %s | %s | %s | %s | %s | %s | %s | %s / %s | %s | %s |\n", f[1], f[2], f[3], fmt(f[5]), ratio, f[6], f[7], f[8], f[9], f[10], st
      }
    }' "$ROWS"
} >"$OUT/report.md"
cat "$OUT/report.md"
