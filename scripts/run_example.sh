#!/usr/bin/env bash
# Builds and runs the bundled example: examples/linear_2d (the paper's 2-D study) when
# present, else the small QP demo. Arguments are passed to the example unchanged; it runs
# in the current directory. Environment: RMPC_BUILD_DIR (default build/release), RMPC_JOBS.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

build_dir="${RMPC_BUILD_DIR:-$RMPC_ROOT/build/release}"

# gnuplot only draws the example's plots; everything else works without it.
rmpc_ensure_packages "${RMPC_REQUIRED_PACKAGES[@]}" -- gnuplot-nox

if [[ -f "$RMPC_ROOT/examples/linear_2d/CMakeLists.txt" ]]; then
  target=linear_2d
else
  target=qp_demo
fi

rmpc_section "Configure (Release) in $build_dir"
rmpc_configure "$build_dir" Release -DRMPC_BUILD_EXAMPLES=ON

rmpc_section "Build $target (-j$RMPC_JOBS)"
cmake --build "$build_dir" -j "$RMPC_JOBS" --target "$target"

exe="$(find "$build_dir" -type f -name "$target" -perm -u+x -print -quit)"
if [[ -z "$exe" ]]; then
  echo "error: built target $target but found no executable named $target in $build_dir" >&2
  exit 1
fi

rmpc_section "Run $target $*"
exec "$exe" "$@"
