#!/usr/bin/env bash
# Style gates that cost seconds: every tracked C++ file as clang-format-14 formats it with the
# repository's .clang-format, and no header over 350 lines (one job per file).
#   scripts/check_style.sh          check (exit 1 naming the files that fail)
#   scripts/check_style.sh --fix    format the tracked files in place first
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$RMPC_ROOT"
rmpc_ensure_packages clang-format-14 git
mapfile -t files < <(git ls-files '*.hpp' '*.cpp' '*.h')
if [[ "${1:-}" == "--fix" ]]; then
  clang-format-14 -i "${files[@]}"
fi
status=0
report="$(mktemp)"
trap 'rm -f "$report"' EXIT
if ! clang-format-14 --dry-run --Werror "${files[@]}" 2> "$report"; then
  grep -o '^[^:]*:[0-9]*' "$report" | sort -u | head -n 20
  echo "check_style: files above are not clang-format-14 clean (scripts/check_style.sh --fix)"
  status=1
fi
long=$(for f in "${files[@]}"; do
  [[ "$f" == include/*.hpp ]] && (( $(wc -l < "$f") > 350 )) && echo "$f: $(wc -l < "$f") lines"
done || true)
if [[ -n "$long" ]]; then
  echo "$long"
  echo "check_style: headers over 350 lines (split them by job)"
  status=1
fi
(( status == 0 )) && echo "check_style: ${#files[@]} files clang-format clean, no header over 350 lines"
exit $status
