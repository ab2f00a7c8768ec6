#!/usr/bin/env bash
# Sluice quick start, from any directory:
#   deploy/quickstart.sh [sluice arguments...]
# 1. installs missing Debian packages (deploy/packages.txt, groups build + cluster),
# 2. builds Sluice into build/ (Release),
# 3. starts the local MariaDB primary + 2 replicas (deploy/local/cluster.sh up: ports
#    13306-13308, data in run/cluster),
# 4. runs build/sluice --config conf/sluice.json in the foreground (extra arguments are
#    passed on). ^C stops Sluice; the cluster keeps running until
#    `deploy/local/cluster.sh down`.
set -euo pipefail

SLUICE_PROG=quickstart  # used by lib.sh
# shellcheck source=deploy/lib.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib.sh"
cd "$SLUICE_ROOT"

sluice_ensure_packages build cluster

sluice_msg "building (cmake, Release) into build/"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j "$(sluice_jobs)"
[ -x build/sluice ] || sluice_die "build finished but build/sluice is missing"

deploy/local/cluster.sh up

cat <<'EOF'

Sluice is starting with conf/sluice.json. From another terminal:
  application (MySQL protocol):  mariadb -h127.0.0.1 -P6033 -uapp -papp sluice_test
  admin (SQL, ProxySQL tables):  mariadb -h127.0.0.1 -P6032 -uadmin -padmin
  Prometheus metrics:            curl -s http://127.0.0.1:6070/metrics
  backends directly:             primary 13306, replicas 13307 and 13308 (user app/app)
  cluster state:                 deploy/local/cluster.sh status
Stop Sluice with ^C; stop the databases with: deploy/local/cluster.sh down

EOF
exec build/sluice --config conf/sluice.json "$@"
