#!/usr/bin/env bash
# Runs every Go fuzz target in the module for a bounded time each.
# Usage: fuzz.sh [DURATION] [JOBS]   (default 30s per target, 1 at a time)
#
# With JOBS > 1, that many targets fuzz at once, each with one worker
# (-parallel 1), so the duration is each target's own wall-clock time.
# Each target's output goes to $FUZZLOG/TARGET.log (default out/fuzz);
# one summary line per target is printed when it ends.
#
# A target fails when go test does and either wrote a failing input to
# testdata/fuzz/TARGET/ or failed for another reason. Go 1.26's fuzz
# coordinator can report a bare "context deadline exceeded" when the
# -fuzztime deadline races a busy worker (go.dev/issue/75804, fixed in
# Go 1.27): with no new failing input that is counted as a flake, not a
# failure.
set -uo pipefail
cd "$(dirname "$0")/.."
t=${1:-30s}
jobs=${2:-1}
logs=${FUZZLOG:-out/fuzz}
mkdir -p "$logs"
par=()
[ "$jobs" -gt 1 ] && par=(-parallel 1)

# one runs target $2 of package $1 and prints one line: ok, flake or FAIL.
one() {
	local pkg=$1 f=$2 dir corpus before after rc log
	dir=$(go list -f '{{.Dir}}' "$pkg")
	corpus="$dir/testdata/fuzz/$f"
	log="$logs/$f.log"
	before=$(ls "$corpus" 2>/dev/null | sort)
	go test "$pkg" -run '^$' -fuzz "^$f\$" -fuzztime "$t" "${par[@]}" >"$log" 2>&1
	rc=$?
	local execs
	execs=$(grep -o 'execs: [0-9]*' "$log" | tail -1)
	if [ "$rc" -eq 0 ]; then
		echo "ok    $f ($pkg, $t, ${execs:-execs: ?})"
		return 0
	fi
	after=$(ls "$corpus" 2>/dev/null | sort)
	if [ "$before" = "$after" ] && grep -q '^    context deadline exceeded$' "$log" && ! grep -q 'Failing input written' "$log"; then
		echo "flake $f ($pkg): fuzztime deadline race (go.dev/issue/75804), no failing input"
		return 0
	fi
	echo "FAIL  $f ($pkg): see $log"
	return 1
}
export -f one
export t logs
export par_s="${par[*]}"

list=$(for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed "s/func /$(printf '%s' "$pkg" | sed 's/[\/&]/\\&/g') /"
done)
n=$(printf '%s\n' "$list" | grep -c .)
echo "fuzz: $n targets, $t each, $jobs at a time; logs in $logs"
printf '%s\n' "$list" | xargs -P "$jobs" -L 1 bash -c 'par=($par_s); one "$0" "$1"' | tee "$logs/summary.txt"
rc=${PIPESTATUS[1]}
fails=$(grep -c '^FAIL' "$logs/summary.txt")
flakes=$(grep -c '^flake' "$logs/summary.txt")
echo "fuzz: $n targets, $t each; $flakes deadline flakes; $([ "$fails" -eq 0 ] && [ "$rc" -eq 0 ] && echo 'no failing input' || echo "FAILED ($fails)")"
[ "$fails" -eq 0 ] && [ "$rc" -eq 0 ]
