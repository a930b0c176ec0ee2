# The seed flow's update cycle on the OVMF rig, both ways in the same QEMU
# run: from "the target queues" to "the target unsealed again", by a kexec
# round trip (leave the launch, kexec the pre-launch environment, commit,
# DCE event, launch) vs by a firmware reboot (reboot, commit, reboot again
# for BootNext, launch). Each sample is a whole run under TCG (a few minutes).
echo "== the seed's update cycle on the OVMF rig: kexec round trip vs firmware reboot (same run)"
go test -run '^$' -bench 'SeedUpdateCycle' -benchtime 1x -count 1 -timeout 60m ./rig/e2e/ | tee "$OUT/seed.txt"
awk '/^BenchmarkSeedUpdateCycle/ {
	for (i = 1; i < NF; i++) {
		if ($(i+1) == "s/round-trip") rt = $i
		if ($(i+1) == "s/reboot") rb = $i
	}
}
END {
	if (rt == "" || rb == "") { printf "%-58s  (missing)\n", "update cycle, round trip vs firmware reboot"; exit }
	printf "%-58s  round trip %6.1f s   firmware reboot %6.1f s   ratio %.2f (target <= 0.33)\n",
		"update cycle: target queues -> target unsealed again", rt, rb, rt / rb
}' "$OUT/seed.txt"
