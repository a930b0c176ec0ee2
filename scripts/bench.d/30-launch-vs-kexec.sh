# The pre-launch hand-over on the rig: slkit launch (verify policy, measure
# into every bank, log, kexec) vs a plain u-root kexec of the same kernel,
# initrd and command line, and the guest's own limit for hashing the same
# bytes in the same banks, same run, with 1 and with 2 vCPUs. Each sample
# is a VM boot under TCG.
echo "== launch hand-over on the rig: slkit launch vs plain u-root kexec vs the guest's hashing limit (same files, same run)"
go test -run '^$' -bench 'LaunchVsKexec' -benchtime 1x -count 2 -timeout 60m ./rig/e2e/ | tee "$OUT/launch.txt"
for cpus in 1 2; do
	ratio "$OUT/launch.txt" "cpus=$cpus/impl=slkit" "cpus=$cpus/impl=u-root-kexec" s/launch "run -> target init, $cpus vCPU, s (lower is better)"
	awk -v cpus="$cpus" '
	function val(unit,   i) { for (i = 1; i < NF; i++) if ($(i+1) == unit) return $i; return "" }
	$1 ~ "cpus=" cpus "/impl=slkit" { v = val("s/launch"); if (v != "") { s += v; ns++ } }
	$1 ~ "cpus=" cpus "/impl=u-root-kexec" { v = val("s/launch"); if (v != "") { k += v; nk++ } }
	$1 ~ "cpus=" cpus "/impl=hash-only" { v = val("s/hash"); if (v != "") { h += v; nh++ } }
	END {
		label = "overhead over kexec / guest hashing limit, " cpus " vCPU"
		if (!ns || !nk || !nh) { printf "%-58s  (missing)\n", label; exit }
		s /= ns; k /= nk; h /= nh
		printf "%-58s  overhead %6.2f s   hashing limit %6.2f s   ratio %.2fx (target <= 1.1x)\n", label, s - k, h, (s - k) / h
	}' "$OUT/launch.txt"
done
