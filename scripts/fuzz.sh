#!/usr/bin/env bash
# Runs every Go fuzz target for the given time each (default 5s).
# Usage: scripts/fuzz.sh [duration]
set -euo pipefail
fuzztime=${1:-5s}
found=0
while IFS= read -r file; do
  dir=$(dirname "$file")
  for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)' "$file" | awk '{print $2}'); do
    found=1
    echo "fuzz ${dir}:${target} for ${fuzztime}"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "./${dir}"
  done
done < <(git ls-files '*_test.go' 2>/dev/null || find . -name '*_test.go')
[ "$found" -eq 1 ] || echo "no fuzz targets found"
