# Shared set-up for scripts/run_example.sh, scripts/run_tests.sh and .ci/run (sourced, not run).
# Provides: RMPC_ROOT, RMPC_JOBS, rmpc_section, rmpc_ensure_packages, rmpc_configure.

RMPC_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# All cores by default; RMPC_JOBS=1 on a shared machine.
RMPC_JOBS="${RMPC_JOBS:-$(nproc 2>/dev/null || echo 1)}"

# Debian/Ubuntu packages every build needs (tests use Catch2 and nlohmann-json, bench/ uses
# Google Benchmark).
RMPC_REQUIRED_PACKAGES=(build-essential cmake libeigen3-dev catch2 nlohmann-json3-dev libbenchmark-dev)

rmpc_section() {
  printf '\n==== %s ====\n' "$*"
}

# Prints the packages among "$@" that dpkg does not report as installed ("ii").
rmpc_missing_packages() {
  local pkg status
  for pkg in "$@"; do
    status="$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)"
    [[ "$status" == ii* ]] || printf '%s\n' "$pkg"
  done
}

# rmpc_ensure_packages <required...> [-- <optional...>]
# As root: apt-get update once, then installs whatever is missing. Otherwise: fails naming
# the missing required packages and only mentions the missing optional ones.
rmpc_ensure_packages() {
  local required=() optional=() seen_sep=0 arg
  for arg in "$@"; do
    if [[ "$arg" == "--" ]]; then seen_sep=1
    elif (( seen_sep )); then optional+=("$arg")
    else required+=("$arg")
    fi
  done
  if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "note: no dpkg-query (not Debian/Ubuntu?); skipping the package check." \
         "Needed: a C++17 compiler, CMake >= 3.16, Eigen >= 3.4, Catch2, nlohmann-json," \
         "Google Benchmark." >&2
    return 0
  fi
  local missing_required=() missing_optional=()
  mapfile -t missing_required < <(rmpc_missing_packages "${required[@]}")
  if (( ${#optional[@]} )); then
    mapfile -t missing_optional < <(rmpc_missing_packages "${optional[@]}")
  fi
  local missing=("${missing_required[@]}" "${missing_optional[@]}")
  (( ${#missing[@]} )) || return 0

  if [[ "$(id -u)" -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    rmpc_section "Installing missing packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    if (( ${#missing_required[@]} )); then
      apt-get install -y --no-install-recommends "${missing_required[@]}"
    fi
    if (( ${#missing_optional[@]} )); then
      apt-get install -y --no-install-recommends "${missing_optional[@]}" ||
        echo "warning: could not install optional packages: ${missing_optional[*]}" >&2
    fi
    return 0
  fi

  if (( ${#missing_optional[@]} )); then
    echo "note: optional packages not installed: ${missing_optional[*]}" >&2
  fi
  if (( ${#missing_required[@]} )); then
    echo "error: missing packages: ${missing_required[*]}" >&2
    echo "install them with:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing_required[*]}" >&2
    return 1
  fi
}

# rmpc_configure <build-dir> <build-type> [extra cmake args...]
rmpc_configure() {
  local build_dir="$1" build_type="$2"
  shift 2
  cmake -S "$RMPC_ROOT" -B "$build_dir" -DCMAKE_BUILD_TYPE="$build_type" "$@"
}
