#!/usr/bin/env bash
# soak.sh — `make soak`: the power-cut test (TestPowerCutDuringCommit,
# rig/e2e) with many trials (SOAK_TRIALS, default 50; SLKIT_POWERCUT_SEED
# repeats a run), then its counts per kill point: trials, recovered,
# invariant held. The whole log goes to out/soak/test.log.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/out/soak
GO=${GO:-go}
mkdir -p "$out"
cd "$top"

set +e
SLKIT_POWERCUT_TRIALS=${SOAK_TRIALS:-50} SLKIT_REQUIRE_RIG=1 "$GO" test -count=1 -timeout 6h -v \
	-run '^TestPowerCutDuringCommit$' ./rig/e2e/ > "$out/test.log" 2>&1
rc=$?
set -e
grep -E 'power-cut seed|^    powercut_test.go:[0-9]+: cut [0-9]+ ' "$out/test.log" | sed 's/^    //' || true
awk '/^power cuts \(/ {on=1} on && /^(ok|FAIL|---)/ {on=0} on' "$out/test.log"
grep -E '^(--- |ok |FAIL)' "$out/test.log" || true
exit $rc
