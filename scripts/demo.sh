#!/usr/bin/env bash
# demo.sh — the seed's flow in one run on the OVMF rig (`make demo`): a
# secret sealed to the dynamic launch survives deferred EFI variable commits,
# by a kexec round trip and by a firmware reboot, with no reseal and no
# update window. It is the end-to-end test TestSeedFlowOnOVMF (rig/e2e) run
# as the demo: SLKIT_DEMO_OUT makes it narrate each step, print a timeline of
# phases with their elapsed times, and write out/demo/summary.json:
#
#  1. builds the target OS and pre-launch images, signs the launch policy
#     (require_drtm) and the relaunch policy, predicts PCR 17/18 of the
#     dynamic launch (`slkit predict --drtm emulated`) and forward-seals, in
#     the rig's swtpm, a random secret and the journal signing key to them
#     (`slkit seal`, `slkit efi keygen --seal-pcrs 17,18`); before any launch
#     both are refused;
#  2. OVMF boot (q35, the VARS file kept), the pre-launch environment
#     launches (emulated DCE on the swtpm control channel), the target
#     unseals; it queues a vendor variable and an append, leaves the launch
#     (`slkit drtm leave`: the secret and the key are now refused) and kexecs
#     the pre-launch environment from the disk, which commits, launches
#     again (the one DCE event the leave armed), and the target unseals
#     again;
#  3. it queues Boot0001, BootOrder, BootNext and the vendor variable and
#     reboots through the firmware; the pre-launch environment commits,
#     reboots once more (BootNext), launches; the target unseals the same
#     sealed object and shows the committed values; a DCE event it asks for
#     is refused by the host;
#  4. journals an attacker with the disk can leave (tampered signature,
#     truncated, another key) are refused with their reason; nothing is
#     committed, nothing launched.
#
# Everything lands in out/demo (git-ignored): summary.json, test.log (the
# whole test log, with the guests' consoles' paths). Needs `make deps`.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/out/demo
GO=${GO:-go}
rm -rf "$out"
mkdir -p "$out"
cd "$top"

set +e
SLKIT_DEMO_OUT=$out SLKIT_REQUIRE_RIG=1 "$GO" test -count=1 -timeout 30m -v -run '^TestSeedFlowOnOVMF$' ./rig/e2e/ 2>&1 |
	tee "$out/test.log" | grep --line-buffered -Ev '^(    |=== )'
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" -ne 0 ]; then
	echo "demo: FAILED (exit $rc): see $out/test.log" >&2
	exit "$rc"
fi
[ -s "$out/summary.json" ] || { echo "demo: FAILED: no $out/summary.json" >&2; exit 1; }
echo "demo: OK (files in $out)"
