#!/usr/bin/env bash
# Fails when any tracked C++ file differs from what clang-format makes of it.
set -euo pipefail
cd "$(dirname "$0")/.."
bad=()
while IFS= read -r f; do
  [[ -f "$f" ]] || continue
  clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done < <(git ls-files -co --exclude-standard '*.cc' '*.h')
if ((${#bad[@]})); then
  echo "format check: these files differ from clang-format (make format):"
  printf '  %s\n' "${bad[@]}"
  exit 1
fi
echo "format check: clean"
