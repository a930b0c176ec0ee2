#!/usr/bin/env bash
# check-leftovers.sh RUNDIR — fails when a qemu or swtpm process started by
# this test run is still running. Tests end the processes they start by PID
# in t.Cleanup; this checks that they did. A process belongs to the run when
# its arguments name RUNDIR (the run's $TMPDIR, where every state directory
# and socket lives), so a swtpm or VM of the user's own is left alone.
set -u
run=${1:?usage: check-leftovers.sh RUNDIR}
left=$(ps -eo pid,comm,args | awk -v run="$run" '$2 ~ /^(qemu-system-x86|swtpm)$/ && index($0, run) {print}')
if [ -n "$left" ]; then
	echo "leftover qemu/swtpm processes of this test run ($run):" >&2
	echo "$left" >&2
	exit 1
fi
others=$(ps -eo comm | grep -cE '^(qemu-system-x86|swtpm)$')
echo "no qemu/swtpm process of this run left running ($others other qemu/swtpm process(es) not ours)"
