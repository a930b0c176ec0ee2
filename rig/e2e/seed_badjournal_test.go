package e2e_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/slkit/slkit/rig/qemu"
	"github.com/slkit/slkit/rig/rigtest"
)

// badJournals are the journals an attacker with the disk (but not the
// key sealed to the launch) can leave for the pre-launch environment, and
// the reason `slkit launch` must give for each.
var badJournals = []struct {
	name, what, reason string
}{
	{"bad-signature.journal", "a journal whose signature was tampered with", "journal signature does not verify"},
	{"bad-truncated.journal", "a truncated journal", "truncated"},
	{"bad-key.journal", "a journal signed by another key", "signed by the wrong key"},
}

// checkBadJournals is run 2: the pre-launch environment's `slkit launch`,
// with the flags of the real image, on each bad journal: refused (exit 3,
// or 1 for the malformed one) with one line naming the file and the
// reason, before anything is measured or any DCE event; no variable
// changes, no state file is written; --efi-skip-bad-journal launches (a
// dry run) without committing, saying why.
func (r *seedRig) checkBadJournals(t *testing.T, demo *seedDemo) {
	e, ctx := r.e, context.Background()
	good, err := qemu.ReadExt4File(ctx, r.disk, "/journal")
	if err != nil {
		t.Fatal(err)
	}
	state, err := qemu.ReadExt4File(ctx, r.disk, "/journal.state")
	if err != nil {
		t.Fatal(err)
	}
	sig := append([]byte(nil), good...)
	sig[len(sig)-1] ^= 0x01 // the signature's last byte
	e.Run("efi", "keygen", "--out", e.Path("attacker.key"), "--pub", e.Path("attacker.pub"))
	e.Run("efi", "queue", "set", seedVendor, "--hex", "6666", "--key", e.Path("attacker.key"), "--journal", e.Path("bad-key.journal"), "--anchor", "none")
	for name, b := range map[string][]byte{"bad-signature.journal": sig, "bad-truncated.journal": good[:len(good)-17],
		"bad-key.journal": rigtest.MustRead(t, e.Path("bad-key.journal"))} {
		if err := qemu.WriteExt4File(ctx, r.disk, "/"+name, b); err != nil {
			t.Fatal(err)
		}
	}
	flags := []string{"--slkit-binary", r.imgSlkit, "--module", r.efivarfs,
		"--policy", e.Path("policy.signed"), "--policy-key", e.Path("policy.pub"), "--add", e.Path("efi.pub") + ":/etc/seed/efi.pub",
		"--run", "efi mount --device " + seedDev + " --dir " + seedDisk, "--then", "efi vars list --json"}
	for _, j := range badJournals {
		flags = append(flags, "--then", "! "+prelaunchLaunch(seedDisk+"/"+j.name, ""))
	}
	flags = append(flags, "--then", "efi vars list --json",
		"--then", prelaunchLaunch(seedDisk+"/bad-signature.journal", "--efi-skip-bad-journal --dry-run"))
	img := e.Image("prelaunch-bad-journals.cpio", flags...)
	demo.phase("run 2: three bad journals onto the disk, the image that tries them")
	demo.narrate("run 2: the pre-launch environment's launch on journals an attacker with the disk left there")
	b := r.bootImage(img, 8*time.Minute, demo.live()...)
	demo.run(b, "run 2")
	b.MustSucceed(t)
	envs := environments(b)
	if len(envs) != 1 {
		t.Fatalf("%d environments: something was launched\n%s", len(envs), b.Tail(40))
	}
	env := envs[0]
	var refused []string
	for _, l := range env.lines {
		if s, ok := strings.CutPrefix(strings.TrimSpace(l), "slkit: refused, as it must be: "); ok {
			refused = append(refused, s)
		}
	}
	if len(refused) != len(badJournals) {
		t.Fatalf("%d refusals, want %d:\n%s", len(refused), len(badJournals), strings.Join(env.lines, "\n"))
	}
	for i, j := range badJournals {
		line := refused[i]
		if !strings.Contains(line, "commit EFI variables: nothing committed, nothing launched: "+seedDisk+"/"+j.name+": ") ||
			!strings.Contains(line, j.reason) {
			t.Errorf("%s: refusal %q lacks the file and %q", j.what, line, j.reason)
		}
		demo.refusal("the pre-launch environment: "+j.what, line)
	}
	// Nothing was measured or launched by the refused launches: the only
	// measure and DCE event are the --efi-skip-bad-journal dry run's.
	if n := env.count("slkit: phase=measure"); n != 1 {
		t.Errorf("%d measure phases, want only the dry run's", n)
	}
	var hashes int
	for _, l := range b.DCE {
		if strings.Contains(l, "DCE event: _TPM_Hash") {
			hashes++
		}
	}
	if hashes != 1 {
		t.Errorf("%d DCE events, want only the dry run's:\n%s", hashes, strings.Join(b.DCE, "\n"))
	}
	warn := env.index("slkit: efi: warning: nothing committed, launching without the journal: " + seedDisk + "/bad-signature.journal: ")
	if warn < 0 || !strings.Contains(env.lines[warn], "journal signature does not verify") || !env.has(`dry run: entry "seed" measured`) {
		t.Errorf("--efi-skip-bad-journal did not launch without the journal, saying why:\n%s", strings.Join(env.lines, "\n"))
	}
	var lists []string
	for i, l := range env.lines {
		if strings.Contains(l, "slkit: running slkit efi vars list --json") {
			lists = append(lists, seedEnv{lines: env.lines[i:]}.output("efi vars list --json"))
		}
	}
	if len(lists) != 2 || lists[0] != lists[1] || !strings.Contains(lists[0], "SlkitSeed") {
		t.Errorf("the variables changed across the refused launches (%d lists)", len(lists))
	}
	for _, j := range badJournals {
		if _, err := qemu.ReadExt4File(ctx, r.disk, "/"+j.name+".state"); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: a state file was written (%v)", j.name, err)
		}
	}
	if now, err := qemu.ReadExt4File(ctx, r.disk, "/journal.state"); err != nil || string(now) != string(state) {
		t.Errorf("the real journal's state changed: %v", err)
	}
	t.Logf("%s", b)
}
