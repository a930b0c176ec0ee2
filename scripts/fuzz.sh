#!/usr/bin/env bash
# Runs every Go fuzz target in the module for a bounded time each.
# Usage: fuzz.sh [DURATION]   (default 30s per target)
set -euo pipefail
cd "$(dirname "$0")/.."
t=${1:-30s}
fail=0
for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	targets=$(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/func //' || true)
	for f in $targets; do
		echo "== $pkg $f ($t)"
		if ! go test "$pkg" -run '^$' -fuzz "^$f\$" -fuzztime "$t"; then fail=1; fi
	done
done
exit $fail
