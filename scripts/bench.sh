#!/usr/bin/env bash
# bench.sh — slkit's benchmarks, each next to a baseline measured in the
# same run, with the ratio printed. Usage: bench.sh [-benchtime D] (default 2s)
set -euo pipefail
cd "$(dirname "$0")/.."
bt=${BENCHTIME:-2s}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

. scripts/bench-lib.sh

echo "== event log: parse + replay of the public real-machine logs (slkit vs go-attestation)"
(cd bench && go test -run '^$' -bench 'EventLogParseReplay' -benchtime "$bt" -count 3) | tee "$out/eventlog.txt"
ratio "$out/eventlog.txt" 'impl=slkit' 'impl=go-attestation' MB/s "event log parse+replay throughput (higher is better)"

for extra in scripts/bench.d/*.sh; do
	[ -e "$extra" ] || continue
	echo
	BENCHTIME=$bt OUT=$out bash -c ". scripts/bench-lib.sh; . $extra"
done
