#!/usr/bin/env bash
# Fails when a qemu or swtpm process is still running after the tests.
# Tests end the processes they start by PID in t.Cleanup; this checks that they did.
set -u
left=$(ps -eo pid,comm,args | awk '$2 ~ /^(qemu-system-x86|swtpm)$/ {print}')
if [ -n "$left" ]; then
	echo "leftover qemu/swtpm processes after the tests:" >&2
	echo "$left" >&2
	exit 1
fi
echo "no qemu/swtpm processes left running"
