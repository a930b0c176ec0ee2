package e2e_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/rig/qemu"
	"github.com/slkit/slkit/rig/rigtest"
	"github.com/slkit/slkit/slaunch/slaunchtest"
	"github.com/slkit/slkit/tpm"
)

// TestSeedFlowOnOVMF is the seed's flow end to end on OVMF (q35, pflash
// CODE + a private VARS kept across reboots and QEMU runs, swtpm behind
// the control-channel mux, the host channel on ttyS1), in two QEMU runs:
//
// Run 1, one QEMU process, three firmware boots, three dynamic launches
// of the same target:
//
//  1. the pre-launch environment finds nothing queued and launches; the
//     target unseals the secret sealed to PCR 17+18 before the VM ever
//     booted, is refused the secret of another launch (PCR 18, the
//     command-line event), and runs the job "round-trip": queue a vendor
//     variable and an append (signing with the key sealed to the launch),
//     leave the launch, be refused the secret (PCR 17, the leave event)
//     and the journal key, and kexec the pre-launch environment from the
//     disk through the signed relaunch policy;
//  2. the pre-launch environment commits (no firmware reboot), asks for
//     the DCE event the leave armed, and launches; the same sealed object
//     unseals; the target reads the new values and runs "reboot-update":
//     queue the vendor variable again, a new Boot0001, BootOrder
//     0001,0000 and BootNext, and reboot through the firmware;
//  3. the pre-launch environment commits, reboots through the firmware
//     once more (BootNext takes effect only there), finds the journal
//     done and launches; the same sealed object unseals (PCR 1 changed:
//     the firmware measured the new BootOrder; PCR 17/18 did not); the
//     target reads the values and runs "rogue-dce": a DCE event asked
//     for inside the launch is refused by the host, and the secret still
//     unseals.
//
// At every launch PCR 17 and 18 read in the target equal the host's
// `predict --drtm emulated` and a standard-library computation from the
// profile's definition, in every bank. The sealed file never changes and
// has no update object.
//
// Run 2: journals that do not verify (bad signature, truncated, signed by
// another key) are refused by `slkit launch` in the pre-launch
// environment: one line naming the file and the reason, nothing committed,
// nothing launched; --efi-skip-bad-journal launches without it.
func TestSeedFlowOnOVMF(t *testing.T) {
	t.Parallel()
	demo := newSeedDemo(t)
	r := setupSeed(t, demo)
	demo.phase("setup: images, policies, forward seals, disk")
	sealedBefore := rigtest.MustRead(t, r.diskDir+"/secret.sealed")

	var ls []seedLaunch
	var b *rigtest.Boot
	t.Run("run 1: launch, round trip, firmware reboot, launch", func(t *testing.T) {
		r.request(t, "round-trip", "reboot-update", "rogue-dce")
		demo.narrate("run 1: OVMF boot; jobs requested on the disk: round-trip, reboot-update, rogue-dce")
		b = r.boot(20*time.Minute, demo.live()...)
		demo.run(b, "run 1")
		b.MustSucceed(t)
		ls = targetLaunches(b)
		if len(ls) != 3 {
			t.Fatalf("%d target launches, want 3\n%s", len(ls), b.Tail(60))
		}
		for i, l := range ls {
			r.checkLaunch(t, i+1, l)
		}
		r.checkRoundTrip(t, b, ls)
		r.checkRebootUpdate(t, b, ls)
		r.checkRogueDCE(t, b, ls[2])
		r.checkDCELog(t, b)
		demo.launches(r, b, ls)
		t.Logf("console:\n%s", strings.Join(b.Matching("slkit: efi:", "slkit: job", "refused, as it must be", "sha256:", "DRTM happened", "left the dynamic launch"), "\n"))
		t.Logf("%s", b)
	})
	if t.Failed() {
		return
	}
	t.Run("the sealed file never changed and has no update object", func(t *testing.T) {
		now, err := qemu.ReadExt4File(context.Background(), r.disk, "/secret.sealed")
		if err != nil {
			t.Fatal(err)
		}
		s, err := tpm.ParseSealed(now)
		if err != nil || !bytes.Equal(now, sealedBefore) || s.Update != nil || s.Policy.Counter != nil || fmt.Sprint(s.Policy.PCRs) != "[17 18]" {
			t.Fatalf("sealed file after the commits: %v, unchanged %v, update object %v, policy %+v", err, bytes.Equal(now, sealedBefore), s.Update != nil, s.Policy)
		}
	})
	t.Run("run 2: journals that do not verify commit nothing and launch nothing", func(t *testing.T) {
		r.checkBadJournals(t, demo)
	})
	demo.write(t)
}

// checkLaunch: what every launch must show. The DRTM log replays; PCR 17
// and 18 equal the host's prediction and the profile computed here, in
// every bank the target read (four); the secret unseals (its fingerprint
// is the secret's); the secret sealed to another launch is refused naming
// PCR 18 and the command-line event, and not PCR 17.
func (r *seedRig) checkLaunch(t *testing.T, n int, l seedLaunch) {
	t.Helper()
	e := l.env()
	if !e.has("DRTM happened: /slkit/drtm-eventlog.bin replays to PCR 17 and 18 in every bank it carries") {
		t.Errorf("launch %d: drtm verify:\n%s", n, e.output("drtm verify"))
	}
	var pred tpm.Expected
	if err := json.Unmarshal([]byte(r.pred), &pred); err != nil {
		t.Fatal(err)
	}
	if len(l.read.Banks) != 4 {
		t.Errorf("launch %d: the target read %d banks, want 4", n, len(l.read.Banks))
	}
	for i, h := range slaunchtest.EmulatedBanks {
		a := []tpm.Alg{tpm.SHA1, tpm.SHA256, tpm.SHA384, tpm.SHA512}[i]
		w17, w18, err := slaunchtest.EmulatedPCRs(h, slaunchtest.DLMEEntry(r.kernelBytes), r.kernelBytes, r.cmdline, r.targetBytes)
		if err != nil {
			t.Fatal(err)
		}
		for pcr, want := range map[int][]byte{17: w17, 18: w18} {
			got, _ := l.read.Get(a, pcr)
			p, _ := pred.Get(a, pcr)
			if !bytes.Equal(got, want) || !bytes.Equal(p, want) {
				t.Errorf("launch %d: %s PCR %d: read in the target %x, predicted on the host %x, computed here %x", n, a, pcr, got, p, want)
			}
		}
	}
	if len(l.fingerprints) == 0 || l.fingerprints[0] != r.secretFP {
		t.Errorf("launch %d: fingerprints %q, want %s first", n, l.fingerprints, r.secretFP)
	}
	if len(l.refused) == 0 || !strings.Contains(l.refused[0], `unseal refused: PCR 18: event 5 "Measured Kernel command line"`) ||
		strings.Contains(l.refused[0], "PCR 17") {
		t.Errorf("launch %d: the other launch's secret: %q", n, l.refused)
	}
}

// checkRoundTrip: launch 1 queued, left the launch (the secret and the
// journal key refused, naming PCR 17 and the leave event) and kexecked the
// pre-launch environment, which committed both entries without a firmware
// reboot; launch 2 reads them (the append exactly once).
func (r *seedRig) checkRoundTrip(t *testing.T, b *rigtest.Boot, ls []seedLaunch) {
	t.Helper()
	l1, l2 := ls[0], ls[1]
	if l1.job != "round-trip" || l2.job != "reboot-update" {
		t.Errorf("jobs %q, %q", l1.job, l2.job)
	}
	if _, ok := l1.vars[seedVendor]; ok {
		t.Errorf("launch 1 sees %s before any commit", seedVendor)
	}
	e1 := l1.env()
	if !e1.has(`left the dynamic launch: PCR 17 and 18 extended with "slkit: leave dynamic launch" (banks sha1,sha256,sha384,sha512)`) {
		t.Errorf("launch 1 did not leave:\n%s", e1.output("drtm leave"))
	}
	if len(l1.refused) != 3 || !strings.Contains(l1.refused[1], `unseal refused: PCR 17: extra event 7 "slkit: leave dynamic launch"`) ||
		!strings.Contains(l1.refused[1], `PCR 18: extra event 8 "slkit: leave dynamic launch"`) ||
		!strings.Contains(l1.refused[2], seedKey+`: the journal signing key: unseal refused: PCR 17: extra event 7 "slkit: leave dynamic launch"`) {
		t.Errorf("after the leave, launch 1 was refused: %q", l1.refused)
	}
	envs := environments(b)
	var relaunch seedEnv
	for i, e := range envs {
		if i > 0 && envs[i-1].has("slkit: job round-trip") {
			relaunch = e
		}
	}
	for _, want := range []string{"applied        " + seedVendor, "applied        " + seedAppend, "slkit: phase=drtm"} {
		if !relaunch.has(want) {
			t.Errorf("the pre-launch environment after the kexec lacks %q", want)
		}
	}
	if relaunch.has("rebooting") || !relaunch.has("slkit: running slkit launch") {
		t.Errorf("the round trip's pre-launch environment:\n%s", strings.Join(relaunch.lines, "\n"))
	}
	if got := l2.vars[seedVendor]; got != "0102" {
		t.Errorf("launch 2: %s = %q, want 0102", seedVendor, got)
	}
	if got := l2.vars[seedAppend]; got != "0a0b" {
		t.Errorf("launch 2: %s = %q, want 0a0b (appended once)", seedAppend, got)
	}
}

// checkRebootUpdate: launch 2's changes were committed before the launch,
// with one more firmware reboot for BootNext (and none after it); launch
// 3 reads the new values; PCR 1 changed (the firmware measured the new
// BootOrder and Boot0001 at that reboot), PCR 17/18 did not.
func (r *seedRig) checkRebootUpdate(t *testing.T, b *rigtest.Boot, ls []seedLaunch) {
	t.Helper()
	if n := len(b.Lines("slkit: efi: rebooting: a committed change takes effect only through the firmware")); n != 1 {
		t.Errorf("%d firmware reboots for committed changes, want 1", n)
	}
	// The vendor variable was also committed by the round trip. After the
	// firmware reboot the commit finds the generation applied from the
	// journal's TPM anchor, which the commit before the reboot advanced.
	for v, applied := range map[string]int{seedVendor: 2, seedBoot0001: 1, seedOrder: 1, bootNext: 1} {
		if n := len(b.Lines("applied        " + v)); n != applied {
			t.Errorf("%s: applied %d times, want %d", v, n, applied)
		}
	}
	if n := len(b.Lines("applied already (TPM anchor)")); n != 1 {
		t.Errorf("%d commits found the generation applied from the TPM anchor, want 1 (after the firmware reboot)", n)
	}
	l3 := ls[2]
	for name, want := range map[string]string{seedVendor: "0304", seedOrder: "01000000", seedAppend: "0a0b"} {
		if got := l3.vars[name]; got != want {
			t.Errorf("launch 3: %s = %q, want %q", name, got, want)
		}
	}
	lo, err := efi.ParseLoadOption(mustHex(t, l3.vars[seedBoot0001]))
	if err != nil || lo.Description != "slkit seed flow" {
		t.Errorf("launch 3: Boot0001 = %q: %v", l3.vars[seedBoot0001], err)
	}
	// The rig's OVMF boots QEMU's -kernel before its boot manager would
	// use (and delete) BootNext, so BootNext keeps its committed value;
	// what needed the firmware is what it measured (PCR 1, below).
	if v := l3.vars[bootNext]; v != "0100" {
		t.Errorf("launch 3: BootNext = %q, want 0100 (Boot0001), as committed", v)
	}
	p1a, _ := ls[0].read.Get(tpm.SHA256, 1)
	p1c, _ := l3.read.Get(tpm.SHA256, 1)
	if p1a == nil || p1a.Equal(p1c) {
		t.Errorf("PCR 1 did not change across the firmware-variable update (%s → %s)", p1a, p1c)
	}
}

// checkRogueDCE: in launch 3 a DCE event asked for by the launched OS
// (a dry-run relaunch of its own entry with --drtm emulated) is refused
// by the host, and logged there; PCR 17/18 are untouched (the secret
// still unseals).
func (r *seedRig) checkRogueDCE(t *testing.T, b *rigtest.Boot, l3 seedLaunch) {
	t.Helper()
	if l3.job != "rogue-dce" || len(l3.refused) != 2 || !strings.Contains(l3.refused[1], "DRTM did not happen") ||
		!strings.Contains(l3.refused[1], "DCE request refused: tpm-hash: no DCE event is armed") {
		t.Errorf("launch 3's DCE request: job %q, refused %q", l3.job, l3.refused)
	}
	if len(l3.fingerprints) != 2 || l3.fingerprints[1] != r.secretFP {
		t.Errorf("after the refused DCE request the secret does not unseal: %q", l3.fingerprints)
	}
	refusals := 0
	for _, l := range b.DCE {
		if strings.Contains(l, "REFUSED the guest's tpm-hash: no DCE event is armed") {
			refusals++
		}
	}
	if refusals != 1 {
		t.Errorf("the host logged %d refused DCE events, want 1:\n%s", refusals, strings.Join(b.DCE, "\n"))
	}
}

// checkDCELog: the host's DCE service saw exactly the flow's events:
// armed at the VM's start and every platform reset, one DCE event per
// arming, the leave re-arming once, and the rogue request refused.
func (r *seedRig) checkDCELog(t *testing.T, b *rigtest.Boot) {
	t.Helper()
	var kinds []string
	for _, l := range b.DCE {
		switch {
		case strings.Contains(l, "armed for one DCE event: the VM started"):
			kinds = append(kinds, "start")
		case strings.Contains(l, "armed for one DCE event: platform reset"):
			kinds = append(kinds, "reset")
		case strings.Contains(l, "DCE event: _TPM_Hash"):
			kinds = append(kinds, "hash")
		case strings.Contains(l, "the launched OS left the launch"):
			kinds = append(kinds, "leave")
		case strings.Contains(l, "REFUSED"):
			kinds = append(kinds, "refused")
		}
	}
	want := "start reset hash leave hash reset reset hash refused"
	if got := strings.Join(kinds, " "); got != want {
		t.Errorf("DCE decisions %q, want %q:\n%s", got, want, strings.Join(b.DCE, "\n"))
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
