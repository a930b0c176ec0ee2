# The pre-launch hand-over on the rig: slkit launch (verify policy, measure
# into every bank, log, kexec) vs a plain u-root kexec of the same kernel,
# initrd and command line, and the guest's own limit for hashing the same
# bytes in the same banks, same run, with 1 and with 2 vCPUs. Each sample
# is a VM boot under TCG; every round boots the three images in turn.
echo "== launch hand-over on the rig: slkit launch vs plain u-root kexec vs the guest's hashing limit (same files, same run)"
go test -run '^$' -bench 'LaunchVsKexec' -benchtime 3x -count 1 -timeout 90m ./rig/e2e/ | tee "$OUT/launch.txt"
awk '
function val(unit,   i) { for (i = 1; i < NF; i++) if ($(i+1) == unit) return $i; return "" }
/^BenchmarkLaunchVsKexec\/cpus=/ {
	cpus = $1; sub(/.*cpus=/, "", cpus); sub(/-[0-9]+$/, "", cpus)
	printf "%-58s  slkit %6.2f s   baseline %6.2f s   ratio %.2fx\n", "run -> target init, " cpus " vCPU (raw)", val("slkit-s"), val("kexec-s"), val("x-raw")
	printf "%-58s  overhead %6.2f s   hashing limit %6.2f s   ratio %.2fx (target <= 1.1x)\n", "slkit - kexec vs the guest hashing limit, " cpus " vCPU", val("slkit-s") - val("kexec-s"), val("hash-s"), val("x-hash-limit")
	printf "%-58s  slkit measure %6.2f s   kexec to target init: slkit %6.2f s, baseline %6.2f s\n", "  where it goes, " cpus " vCPU", val("slkit-measure-s"), val("slkit-kexec-s"), val("kexec-kexec-s")
}' "$OUT/launch.txt"
