#!/usr/bin/env bash
# demo-measured.sh — the measured launch (PCR 8/9, SeaBIOS) end to end on the
# QEMU + swtpm rig (`make demo-measured`; `make demo` is the seed's flow).
#
# 1. build a *target* initramfs: slkit, whose post-launch steps read PCRs 8
#    and 9, replay the handed-over event log against the TPM, and unseal the
#    demo secret (printing only its SHA-256 fingerprint, refusing any other
#    secret than the one whose fingerprint the image pins);
# 2. write and sign a launch policy for (Debian cloud kernel, target
#    initramfs, command line), with a second entry whose command line differs;
# 3. predict the PCR values the launch will produce, and forward-seal a demo
#    secret to them in the rig's swtpm (before the VM ever booted);
# 4. build the pre-launch initramfs (policy, key, kernel, target, sealed file);
# 5. boot it: verify the policy, measure, kexec; the target unseals;
# 6. boot it again selecting the other entry (changed command line): the
#    target's unseal is refused and says which PCR and event changed;
# 7. print the PCR table (predicted vs. read in the target) and the phases.
#
# Everything lands in out/demo-measured (git-ignored). Needs `make deps`
# and `make build` (the Makefile's demo-measured target runs both first).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${SLKIT_CACHE:-$top/.cache}
slkit=$top/bin/slkit
rig=$top/bin/slkit-rig
kernel=$cache/kernel/vmlinuz
out=$top/out/demo-measured
cmdline="console=ttyS0 panic=-1 quiet no_timer_check"
log=/slkit/prelaunch-eventlog.bin

[ -x "$slkit" ] && [ -x "$rig" ] || { echo "demo-measured: $slkit or $rig missing: run make build" >&2; exit 1; }
[ -f "$kernel" ] || { echo "demo-measured: $kernel missing: run make deps" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$out"
cd "$out"

t0=$(date +%s.%N)
phases=()
last=$t0
step() { # step NAME: close the previous step's timing, announce the next
	local now
	now=$(date +%s.%N)
	[ ${#phases[@]} -gt 0 ] && phases[-1]+=" $(awk "BEGIN {print $now - $last}")"
	last=$now
	phases+=("$1")
	if [ -t 1 ]; then printf '\n\033[1m== %s\033[0m\n' "$1"; else printf '\n== %s\n' "$1"; fi
}

swtpm_pid=
cleanup() { [ -n "$swtpm_pid" ] && kill "$swtpm_pid" 2>/dev/null && wait "$swtpm_pid" 2>/dev/null; return 0; }
trap cleanup EXIT

step "build the target initramfs"
head -c 32 /dev/urandom > secret
want=sha256:$(sha256sum secret | cut -d' ' -f1)
echo "demo secret: 32 random bytes, fingerprint $want (pinned in the target image)"
"$slkit" initramfs build --out target.cpio --slkit-binary "$slkit" \
	--run "pcr read --json 8 9" \
	--then "eventlog replay --against-tpm $log" \
	--then "unseal /slkit/demo.sealed --fingerprint --expect-fingerprint $want --eventlog $log"

step "sign a launch policy"
"$slkit" policy keygen --out policy.key --pub policy.pub
ksha=$(sha256sum "$kernel" | cut -d' ' -f1)
tsha=$(sha256sum target.cpio | cut -d' ' -f1)
entry() { # entry NAME CMDLINE
	printf '  {"name": "%s", "kernel": {"path": "/boot/vmlinuz", "sha256": "%s"},\n' "$1" "$ksha"
	printf '   "initrd": {"path": "/boot/target.cpio", "sha256": "%s"},\n' "$tsha"
	printf '   "cmdline": "%s", "profile": "measured-v1"}' "$2"
}
{
	echo '{"version": 1, "entries": ['
	entry demo "$cmdline"
	echo ','
	entry demo-verbose "$cmdline loglevel=4"
	echo ']}'
} > policy.json
"$slkit" policy sign --key policy.key --in policy.json --out policy.signed
"$slkit" policy verify --pub policy.pub policy.signed

step "predict PCRs 8 and 9 and forward-seal the demo secret"
"$slkit" predict --kernel "$kernel" --initrd target.cpio --cmdline "$cmdline" --policy policy.signed
"$slkit" predict --kernel "$kernel" --initrd target.cpio --cmdline "$cmdline" --policy policy.signed --json > predicted.json
# The rig's TPM, started on the host with a data socket (the VM later boots
# with the same state directory), so the secret is sealed to *its* SRK.
mkdir -p tpm
swtpm socket --tpm2 --tpmstate dir="$out/tpm" --server type=unixio,path="$out/tpm/data.sock" \
	--ctrl type=unixio,path="$out/tpm/ctrl.sock" --flags not-need-init,startup-clear \
	--log file="$out/tpm/swtpm-host.log" &
swtpm_pid=$!
for _ in $(seq 100); do [ -S tpm/data.sock ] && [ -S tpm/ctrl.sock ] && break; sleep 0.05; done
"$slkit" --tpm "swtpm:unix:$out/tpm/data.sock" \
	seal --pcrs 8,9 --pcr-values predicted.json --in secret --out demo.sealed
kill "$swtpm_pid"; wait "$swtpm_pid" 2>/dev/null || true; swtpm_pid=
echo "sealed to PCRs 8,9 (sha256) in $out/tpm: demo.sealed"

step "build the pre-launch initramfs"
"$slkit" initramfs build --out prelaunch.cpio --slkit-binary "$slkit" \
	--policy policy.signed --policy-key policy.pub \
	--add "$kernel:/boot/vmlinuz" --add target.cpio:/boot/target.cpio --add demo.sealed:/boot/demo.sealed \
	--run "launch --policy /etc/slkit/policy.json --policy-key /etc/slkit/policy.pub --handover /boot/demo.sealed:/slkit/demo.sealed"

step "boot 1: measured launch, the target unseals"
"$rig" run --kernel "$kernel" --initrd prelaunch.cpio --append "$cmdline" \
	--tpm-state tpm --dir boot1 --timeout 3m
got=$(grep -aoE '^sha256:[0-9a-f]{64}' boot1/console.log | head -1 || true)
if [ "$got" != "$want" ]; then
	echo "demo-measured: FAILED: the target printed fingerprint '$got', want $want" >&2
	exit 1
fi
echo "the target unsealed the secret: $got (matches)"

step "boot 2: another command line, the unseal is refused"
set +e
"$rig" run --kernel "$kernel" --initrd prelaunch.cpio --append "$cmdline slkit.entry=demo-verbose" \
	--tpm-state tpm --dir boot2 --timeout 3m
rc=$?
set -e
refusal=$(grep -a 'slkit: result=fail' boot2/console.log | tail -1 || true)
if [ "$rc" -ne 3 ] || ! grep -q 'unseal refused: PCR 8: event [0-9]* "cmdline"' <<<"$refusal"; then
	echo "demo-measured: FAILED: want a refused unseal naming PCR 8 and the cmdline event (rig exit $rc): $refusal" >&2
	exit 1
fi
if grep -aqE '^sha256:[0-9a-f]{64}' boot2/console.log; then
	echo "demo-measured: FAILED: a fingerprint was printed after a refusal" >&2
	exit 1
fi
echo "refused, as it must be: ${refusal#*reason=}"

step "PCRs: predicted on the host vs. read in the target"
# The target's `pcr read --json` output sits between its step markers.
awk '/slkit: running slkit pcr read/ {on=1; next} /slkit: running/ {on=0} on' boot1/console.log | tr -d '\r' > read.json
"$slkit" pcr compare predicted.json read.json

step done
echo
printf '%-58s %8s\n' "phase" "seconds"
for p in "${phases[@]:0:${#phases[@]}-1}"; do
	printf '%-58s %8.1f\n' "${p% *}" "${p##* }"
done
printf '%-58s %8.1f\n' "total" "$(awk "BEGIN {print $(date +%s.%N) - $t0}")"
echo "demo-measured: OK (files in $out)"
