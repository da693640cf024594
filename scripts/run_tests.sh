#!/usr/bin/env bash
# Builds everything (library tests, examples, benchmarks) in Release with warnings as errors
# and runs ctest. Extra arguments go to ctest, e.g. `scripts/run_tests.sh -R qp`.
# Environment: RMPC_BUILD_DIR (default build/tests), RMPC_JOBS (default: all cores).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

build_dir="${RMPC_BUILD_DIR:-$RMPC_ROOT/build/tests}"

rmpc_ensure_packages "${RMPC_REQUIRED_PACKAGES[@]}"

rmpc_section "Configure (Release, -Werror) in $build_dir"
rmpc_configure "$build_dir" Release \
  -DCMAKE_CXX_FLAGS="-Wall -Wextra -Wpedantic -Werror" \
  -DRMPC_BUILD_TESTS=ON -DRMPC_BUILD_EXAMPLES=ON -DRMPC_BUILD_BENCHMARKS=ON

rmpc_section "Build (-j$RMPC_JOBS)"
build_start=$SECONDS
cmake --build "$build_dir" -j "$RMPC_JOBS"
echo "build took $(( (SECONDS - build_start) / 60 )) min $(( (SECONDS - build_start) % 60 )) s"

rmpc_section "Test"
cd "$build_dir"
ctest --output-on-failure -j "$RMPC_JOBS" "$@"
