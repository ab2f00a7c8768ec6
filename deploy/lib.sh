# shellcheck shell=bash
# Shared helpers for Sluice's shell scripts. Source it, don't run it:
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Defines SLUICE_ROOT (the repository root) and sluice_ensure_packages.

SLUICE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
SLUICE_PACKAGES_FILE="$SLUICE_ROOT/deploy/packages.txt"
# mariadbd, mariadb-install-db and friends live in /usr/sbin, which CI shells may lack.
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH="$PATH:/usr/sbin" ;; esac
case ":$PATH:" in *:/sbin:*) ;; *) PATH="$PATH:/sbin" ;; esac
export PATH

sluice_msg() { printf '%s: %s\n' "${SLUICE_PROG:-sluice}" "$*" >&2; }
sluice_die() { sluice_msg "error: $*"; exit 1; }

# sluice_packages GROUP... : the packages of deploy/packages.txt in any of the groups.
sluice_packages() {
  local want="$*"
  awk -v want=" $want " '
    /^[[:space:]]*(#|$)/ { next }
    { for (i = 2; i <= NF; i++) if (index(want, " " $i " ")) { print $1; next } }
  ' "$SLUICE_PACKAGES_FILE"
}

# sluice_ensure_packages GROUP... : install (apt-get) whatever of those groups is missing.
# Runs `apt-get update` once, and only when something is missing.
sluice_ensure_packages() {
  local pkg missing=()
  for pkg in $(sluice_packages "$@"); do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$pkg")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  sluice_msg "installing missing Debian packages: ${missing[*]}"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 ||
      sluice_die "not root and no sudo: install these packages first: ${missing[*]}"
    sudo=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get update -q ||
    sluice_die "apt-get update failed"
  "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null ||
    sluice_die "apt-get install failed for: ${missing[*]}"
}

# sluice_jobs : parallel build jobs (one per core; unbounded -j can exhaust memory).
sluice_jobs() { nproc 2>/dev/null || echo 2; }
