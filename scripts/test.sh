#!/usr/bin/env bash
# test.sh — the body of `make test`: vet, every test (unit and TPM tests on
# the simulator, TPM and CLI tests again on a fresh swtpm per test, then the
# end-to-end QEMU rig scenarios, two at a time: each VM runs on one core),
# then a check that no qemu/swtpm process this run started is left. Every
# temporary file of the run, swtpm state directories and sockets included,
# lives under one per-run directory ($TMPDIR), which is how the leftover
# check tells this run's processes from a user's own.
set -uo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}

run=$(mktemp -d /tmp/sk.XXXXXX)
export TMPDIR=$run
trap 'rm -rf "$run"' EXIT

rc=0
step() { echo "+ $*"; "$@" || rc=1; }
# quiet NAME CMD...: a step whose command line is too long to be worth
# printing (the unit step names every package).
quiet() { local name=$1; shift; echo "+ $name"; "$@" || rc=1; }
step "$GO" vet ./...
step bash -c "cd bench && $GO vet ./..."
unit=$("$GO" list ./... | grep -v '/rig/e2e$')
quiet "go test: the $(wc -w <<<"$unit") packages but rig/e2e" env SLKIT_REQUIRE_RIG=1 "$GO" test -count=1 -timeout 20m $unit
step env SLKIT_REQUIRE_RIG=1 SLKIT_TEST_TPM=swtpm "$GO" test -count=1 -timeout 10m ./tpm/... ./launch/... ./update/... ./attest/ ./cmd/slkit/
step env SLKIT_REQUIRE_RIG=1 "$GO" test -count=1 -timeout 45m -parallel 2 ./rig/e2e/
step bash scripts/check-leftovers.sh "$run"
exit $rc
