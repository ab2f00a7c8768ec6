#!/usr/bin/env bash
# Sluice test runner, from any directory:
#   tests/run.sh [--unit] [pytest arguments...]
#     e.g. tests/run.sh                 everything
#          tests/run.sh --unit          build + unit tests (ctest) only
#          tests/run.sh -k pool -x      e2e arguments go to pytest
#          tests/run.sh tests/e2e/test_pool.py   only these test paths (else tests/e2e)
# Steps: install missing Debian packages (deploy/packages.txt: build, plus cluster + test
# unless --unit), build into build/ (Release; -DSLUICE_WERROR=ON when CI=true), ctest, then
# `/usr/bin/python3 -m pytest tests/e2e -q` (its conftest starts and stops its own MariaDB
# cluster and Sluice; this script starts and stops nothing itself).
# Ends with exactly one line `tests: N passed, M failed` (ctest tests + pytest tests; a step
# that fails without failing a test, e.g. the build or a pytest run that collects nothing,
# counts as one failure) and exits non-zero on any failure.
# Environment: CI=true (warnings are errors), SLUICE_E2E_TIMEOUT (seconds, default 1800;
# pytest gets SIGINT then, so its fixtures still clean up; 0 = no limit).
set -uo pipefail

SLUICE_PROG=tests/run.sh  # used by lib.sh
# shellcheck source=deploy/lib.sh
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../deploy/lib.sh"
ORIG_PWD=$PWD
cd "$SLUICE_ROOT" || exit 1

UNIT_ONLY=0
PYTEST_ARGS=()
E2E_PATHS=(tests/e2e)   # replaced by test paths given on the command line
for arg in "$@"; do
  case "$arg" in
    --unit) UNIT_ONLY=1 ;;
    --help) sed -n '2,/^set -uo/{/^set -uo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
    -*) PYTEST_ARGS+=("$arg") ;;
    *)
      # A test path (file, dir, file::test), relative to where we were called from.
      case "$arg" in /*) p=$arg ;; *) p="$ORIG_PWD/$arg" ;; esac
      if [ -e "${p%%::*}" ]; then
        [ "${E2E_PATHS[0]}" = tests/e2e ] && E2E_PATHS=()
        E2E_PATHS+=("$p")
      else
        PYTEST_ARGS+=("$arg")
      fi
      ;;
  esac
done
if [ $UNIT_ONLY = 1 ] && [ ${#PYTEST_ARGS[@]} -gt 0 ]; then
  sluice_msg "--unit: ignoring pytest arguments: ${PYTEST_ARGS[*]}"
fi

PASSED=0
FAILED=0
WORK="$(mktemp -d "${TMPDIR:-/tmp}/sluice-tests.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
JOBS="$(sluice_jobs)"

finish() {
  echo "tests: $PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ] && [ "${1:-0}" -eq 0 ] && exit 0
  exit 1
}

step_failed() { # a step failed without a test result to show for it
  sluice_msg "FAILED: $*"
  FAILED=$((FAILED + 1))
}

# junit_count FILE : adds FILE's counts (every <testsuite> element) to PASSED and FAILED,
# prints what it found. Works for ctest's and pytest's JUnit XML.
junit_count() {
  local file=$1 suites tests=0 fails=0 skipped=0 line v a
  suites=$(tr '\n\t' '  ' <"$file" | grep -o '<testsuite [^>]*>' || true)
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    for a in tests failures errors skipped disabled; do
      v=$(printf '%s' "$line" | sed -n "s/.* $a=\"\([0-9]*\)\".*/\1/p")
      v=${v:-0}
      case $a in
        tests) tests=$((tests + v)) ;;
        failures|errors) fails=$((fails + v)) ;;
        skipped|disabled) skipped=$((skipped + v)) ;;
      esac
    done
  done <<<"$suites"
  PASSED=$((PASSED + tests - fails - skipped))
  FAILED=$((FAILED + fails))
  JUNIT_FAILS=$fails
  sluice_msg "$2: $((tests - fails - skipped)) passed, $fails failed, $skipped skipped"
}

# ------------------------------------------------------------------ packages
groups=(build)
[ $UNIT_ONLY = 1 ] || groups+=(cluster test)
if ! (sluice_ensure_packages "${groups[@]}"); then
  step_failed "installing packages"
  finish 1
fi

# Node.js clients of the e2e suite (mysql2 from npm, pinned by tests/e2e/node's lockfile).
if [ $UNIT_ONLY = 0 ]; then
  if ! command -v npm >/dev/null 2>&1; then
    sluice_msg "installing nodejs and npm"
    (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm) >/dev/null ||
      { step_failed "installing nodejs/npm"; finish 1; }
  fi
  if ! (cd tests/e2e/node && npm ci --no-audit --no-fund --loglevel=error >/dev/null); then
    step_failed "npm ci in tests/e2e/node"
    finish 1
  fi
fi

# ------------------------------------------------------------------ build
werror=OFF
[ "${CI:-}" = true ] && werror=ON
sluice_msg "building into build/ (Release, SLUICE_WERROR=$werror)"
if ! cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DSLUICE_WERROR=$werror; then
  step_failed "cmake configure"
  finish 1
fi
if ! cmake --build build -j "$JOBS"; then
  step_failed "build"
  finish 1
fi

# ------------------------------------------------------------------ unit tests
sluice_msg "unit tests (ctest)"
ctest --test-dir build --output-on-failure -j "$JOBS" --output-junit "$WORK/ctest.xml"
rc=$?
JUNIT_FAILS=0
if [ -s "$WORK/ctest.xml" ]; then
  junit_count "$WORK/ctest.xml" ctest
fi
if [ $rc -ne 0 ] && [ "$JUNIT_FAILS" -eq 0 ]; then
  step_failed "ctest exited with status $rc"
fi

# ------------------------------------------------------------------ e2e tests
if [ $UNIT_ONLY = 0 ]; then
  if [ -z "$(find tests/e2e \( -name 'test_*.py' -o -name '*_test.py' \) -print -quit 2>/dev/null)" ]; then
    sluice_msg "no e2e test files in tests/e2e: e2e skipped"
  else
    sluice_msg "e2e tests (pytest tests/e2e)"
    timeout_cmd=()
    limit=${SLUICE_E2E_TIMEOUT:-1800}
    if [ "$limit" != 0 ]; then
      # SIGINT: pytest treats it as ^C and still runs fixture teardown (stops its cluster).
      timeout_cmd=(timeout --foreground -s INT -k 120 "$limit")
    fi
    "${timeout_cmd[@]}" /usr/bin/python3 -m pytest "${E2E_PATHS[@]}" -q \
      --junitxml="$WORK/e2e.xml" "${PYTEST_ARGS[@]+"${PYTEST_ARGS[@]}"}"
    rc=$?
    JUNIT_FAILS=0
    if [ -s "$WORK/e2e.xml" ]; then
      junit_count "$WORK/e2e.xml" pytest
    fi
    if [ $rc -eq 124 ]; then
      step_failed "pytest timed out after ${limit}s (SLUICE_E2E_TIMEOUT) and was interrupted"
    elif [ $rc -ne 0 ] && [ "$JUNIT_FAILS" -eq 0 ]; then
      case $rc in
        5) step_failed "pytest collected no tests (exit 5)" ;;
        *) step_failed "pytest exited with status $rc" ;;
      esac
    fi
  fi
fi

finish 0
