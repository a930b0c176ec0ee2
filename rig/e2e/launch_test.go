package e2e_test

import (
	"crypto/sha256"
	"fmt"
	"os"
	"testing"

	"github.com/slkit/slkit/rig/qemu"
	"github.com/slkit/slkit/rig/rigtest"
)

// The measured launch of the README, end to end on the rig: the real
// Debian kernel boots the pre-launch image, which verifies the signed
// policy, measures kernel, initrd and command line into swtpm and kexecs
// into the target image through kexec_file_load (the Debian kernel has
// KEXEC_FILE=y: a silent fallback to kexec_load fails the test); the
// target replays the handed-over event log against the TPM and unseals a
// secret the host forward-sealed to the predicted PCR 8 and 9, checking it
// against the fingerprint its own measured image pins. Then two tampered
// launches:
//   - an entry with another command line (allowed by the policy, but not
//     what the secret was sealed to) boots, and the target's unseal is
//     refused, naming PCR 8 and the "cmdline" event;
//   - a pre-launch image whose target initrd differs from the policy is
//     refused before anything is booted, naming the initrd.
func TestMeasuredLaunchOnRig(t *testing.T) {
	t.Parallel()
	e := rigtest.New(t)
	const cmdline = qemu.DefaultAppend
	const sealed = "/slkit/demo.sealed"
	secret := "slkit rig test secret: 5d1c0e"
	fingerprint := fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(secret)))
	target := e.Image("target.cpio",
		"--run", "pcr read --json 8 9",
		"--then", "eventlog replay --against-tpm "+launchLog,
		"--then", "unseal "+sealed+" --fingerprint --expect-fingerprint "+fingerprint+" --eventlog "+launchLog)
	kernel := e.Kernel.Path
	e.Run("policy", "keygen", "--out", e.Path("policy.key"), "--pub", e.Path("policy.pub"))
	doc := fmt.Sprintf(`{"version": 1, "entries": [
  {"name": "demo", "kernel": {"path": "/boot/vmlinuz", "sha256": %q},
   "initrd": {"path": "/boot/target.cpio", "sha256": %q}, "cmdline": %q, "profile": "measured-v1"},
  {"name": "demo-verbose", "kernel": {"path": "/boot/vmlinuz", "sha256": %q},
   "initrd": {"path": "/boot/target.cpio", "sha256": %q}, "cmdline": %q, "profile": "measured-v1"}]}
`, rigtest.FileSHA256(t, kernel), rigtest.FileSHA256(t, target), cmdline, rigtest.FileSHA256(t, kernel), rigtest.FileSHA256(t, target), cmdline+" loglevel=4")
	e.WriteFile("policy.json", doc)
	e.Run("policy", "sign", "--key", e.Path("policy.key"), "--in", e.Path("policy.json"), "--out", e.Path("policy.signed"))

	pred := e.Run("predict", "--kernel", kernel, "--initrd", target, "--cmdline", cmdline,
		"--policy", e.Path("policy.signed"), "--json")
	e.WriteFile("predicted.json", pred)
	e.WriteFile("secret", secret)
	e.WithHostTPM(func(spec string) {
		e.Run("--tpm", spec, "seal", "--pcrs", "8,9", "--pcr-values", e.Path("predicted.json"),
			"--in", e.Path("secret"), "--out", e.Path("demo.sealed"))
	})

	prelaunch := func(name, targetFile string) string {
		return e.Image(name, "--policy", e.Path("policy.signed"), "--policy-key", e.Path("policy.pub"),
			"--add", kernel+":/boot/vmlinuz", "--add", targetFile+":/boot/target.cpio",
			"--add", e.Path("demo.sealed")+":/boot/demo.sealed",
			"--run", "launch --policy /etc/slkit/policy.json --policy-key /etc/slkit/policy.pub --handover /boot/demo.sealed:"+sealed)
	}
	pre := prelaunch("prelaunch.cpio", target)

	t.Run("launch and unseal", func(t *testing.T) {
		b := e.Boot(pre, cmdline)
		b.MustSucceed(t)
		if got := b.Fingerprints(); len(got) != 1 || got[0] != fingerprint {
			t.Errorf("fingerprint lines %q, want exactly %q", got, fingerprint)
		}
		if n := len(b.Lines("slkit: kexec: loaded with kexec_file_load")); n != 1 || len(b.Lines("loaded with kexec_load")) != 0 {
			t.Errorf("%d kexec_file_load lines; want the launch to report exactly one, and no kexec_load:\n%s", n, b.Tail(40))
		}
		// The PCRs the target read equal the host's prediction, in every bank.
		b.CheckPCRs(t, pred, 4, 8, 9)
		t.Logf("%s", b)
	})

	t.Run("changed command line is refused by unseal", func(t *testing.T) {
		b := e.Boot(pre, cmdline+" slkit.entry=demo-verbose")
		reason := b.MustFail(t, "unseal", "PCR 8", `"cmdline"`)
		if len(b.Lines("running slkit unseal")) != 1 {
			t.Errorf("the target did not run (reason %q)", reason)
		}
		if got := b.Fingerprints(); len(got) != 0 {
			t.Errorf("a secret fingerprint was printed after a refusal: %q", got)
		}
	})

	t.Run("changed initrd is never booted", func(t *testing.T) {
		tampered, err := os.ReadFile(target)
		if err != nil {
			t.Fatal(err)
		}
		tampered[len(tampered)-1] ^= 1 // in the trailer's padding: still a valid archive
		e.WriteFile("target-tampered.cpio", string(tampered))
		bad := prelaunch("prelaunch-tampered.cpio", e.Path("target-tampered.cpio"))
		b := e.Boot(bad, cmdline)
		b.MustFail(t, "launch exited with status 3", "initrd /boot/target.cpio", `policy entry "demo"`)
		if n := len(b.Lines("phase=init")); n != 1 {
			t.Errorf("%d environments started, want only the pre-launch one", n)
		}
	})
}

const launchLog = "/slkit/prelaunch-eventlog.bin"
