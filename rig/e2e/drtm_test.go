package e2e_test

import (
	"crypto/sha256"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/slkit/slkit/rig/qemu"
	"github.com/slkit/slkit/rig/rigtest"
)

// The emulated dynamic launch end to end on the rig:
// the real Debian kernel boots the pre-launch image, which reports `slkit
// drtm status` ("not capable", exit 0) and runs `slkit launch --drtm
// emulated`: it measures PCR 8/9, asks the rig host over ttyS1 to run the
// _TPM_Hash sequence over the emulated DCE (swtpm behind the control-
// channel mux), is moved to locality 2, extends PCR17/18, verifies the
// DRTM log against the TPM and kexecs. The target verifies the handed-over
// DRTM log, reads PCR 8, 9, 17 and 18 (equal to `slkit predict --drtm
// emulated` on the host in every bank) and unseals a secret sealed on the
// host to the predicted PCR17+18 (with PolicyLocality(2)), which the host
// could not unseal before the launch. Then:
//   - a launch of a tampered kernel (bytes appended to the bzImage, which
//     kexec_file_load ignores) boots, its DRTM still verifies, and the
//     unseal is refused naming PCR 17 and the "DLME" event;
//   - the same policy on a rig without the emulated DCE (QEMU straight on
//     swtpm: no mux, no host channel) is refused: DRTM did not happen, and
//     the target never runs.
func TestEmulatedDRTMLaunchOnRig(t *testing.T) {
	t.Parallel()
	e := rigtest.New(t)
	const cmdline = qemu.DefaultAppend
	const sealed = "/slkit/drtm.sealed"
	secret := "slkit DRTM rig secret: 9f31c2"
	fingerprint := fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(secret)))
	target := e.Image("target.cpio",
		"--run", "drtm verify",
		"--then", "pcr read --json 8 9 17 18",
		"--then", "unseal "+sealed+" --fingerprint --expect-fingerprint "+fingerprint+" --eventlog /slkit/drtm-eventlog.bin")
	kernel := e.Kernel.Path
	kb, err := os.ReadFile(kernel)
	if err != nil {
		t.Fatal(err)
	}
	tampered := e.Path("vmlinuz-tampered")
	if err := os.WriteFile(tampered, append(kb, []byte(strings.Repeat("slkit: appended, not the measured kernel\n", 100))...), 0o644); err != nil {
		t.Fatal(err)
	}
	e.Run("policy", "keygen", "--out", e.Path("policy.key"), "--pub", e.Path("policy.pub"))
	entry := func(name, path, k string) string {
		return fmt.Sprintf(`{"name": %q, "kernel": {"path": %q, "sha256": %q},
   "initrd": {"path": "/boot/target.cpio", "sha256": %q}, "cmdline": %q, "profile": "measured-v1", "require_drtm": true}`,
			name, path, rigtest.FileSHA256(t, k), rigtest.FileSHA256(t, target), cmdline)
	}
	doc := `{"version": 1, "entries": [` + entry("drtm", "/boot/vmlinuz", kernel) + ",\n  " +
		entry("drtm-tampered", "/boot/vmlinuz-tampered", tampered) + "]}\n"
	e.WriteFile("policy.json", doc)
	e.Run("policy", "sign", "--key", e.Path("policy.key"), "--in", e.Path("policy.json"), "--out", e.Path("policy.signed"))

	pred := e.Run("predict", "--drtm", "emulated", "--kernel", kernel, "--initrd", target, "--cmdline", cmdline,
		"--policy", e.Path("policy.signed"), "--json")
	e.WriteFile("predicted.json", pred)
	e.WriteFile("secret", secret)
	e.WithHostTPM(func(spec string) {
		e.Run("--tpm", spec, "seal", "--pcrs", "17,18", "--pcr-values", e.Path("predicted.json"),
			"--in", e.Path("secret"), "--out", e.Path("drtm.sealed"))
		// Before any launch PCR17 is all 0xFF: the secret stays sealed.
		r := e.RunExit("--tpm", spec, "unseal", e.Path("drtm.sealed"), "--fingerprint")
		if r.Code != 3 || !strings.Contains(r.Stderr, "unseal refused: PCR 17: sha256 differs") || !strings.Contains(r.Stderr, "now ffffffff") ||
			r.Stdout != "" {
			t.Errorf("unseal before the launch: exit %d, stdout %q, stderr %q", r.Code, r.Stdout, r.Stderr)
		}
	})

	pre := e.Image("prelaunch.cpio", "--policy", e.Path("policy.signed"), "--policy-key", e.Path("policy.pub"),
		"--add", kernel+":/boot/vmlinuz", "--add", tampered+":/boot/vmlinuz-tampered", "--add", target+":/boot/target.cpio",
		"--add", e.Path("drtm.sealed")+":/boot/drtm.sealed",
		"--run", "drtm status",
		"--then", "launch --policy /etc/slkit/policy.json --policy-key /etc/slkit/policy.pub --drtm emulated --handover /boot/drtm.sealed:"+sealed)

	t.Run("launch, PCRs as predicted, unseal", func(t *testing.T) {
		b := e.Boot(pre, cmdline)
		b.MustSucceed(t)
		// drtm status in the VM: not capable, with the reasons, exit 0.
		status := strings.Join(b.Between("running slkit drtm status", "slkit: running"), "\n")
		for _, want := range []string{"Intel TXT: not capable", "AMD SKINIT: not capable", "running under a hypervisor"} {
			if !strings.Contains(status, want) {
				t.Errorf("drtm status in the VM lacks %q:\n%s", want, status)
			}
		}
		if len(b.Lines("slkit: phase=drtm")) != 1 || len(b.Lines("phase=init")) != 2 {
			t.Errorf("want one DRTM phase and two environments:\n%s", b.Tail(60))
		}
		if v := b.Between("running slkit drtm verify", "slkit: running"); len(v) == 0 || !strings.Contains(v[0], "DRTM happened") {
			t.Errorf("drtm verify in the target: %q", v)
		}
		if got := b.Fingerprints(); len(got) != 1 || got[0] != fingerprint {
			t.Errorf("fingerprint lines %q, want exactly %q", got, fingerprint)
		}
		if n := len(b.Lines("slkit: kexec: loaded with kexec_file_load")); n != 1 {
			t.Errorf("%d kexec_file_load lines, want 1", n)
		}
		b.CheckPCRs(t, pred, 4, 8, 9, 17, 18)
		t.Logf("%s", b)
	})

	t.Run("tampered kernel boots and the unseal names PCR 17 and DLME", func(t *testing.T) {
		b := e.Boot(pre, cmdline+" slkit.entry=drtm-tampered")
		reason := b.MustFail(t, "unseal", "PCR 17", `"DLME"`)
		if strings.Contains(reason, "PCR 18") {
			t.Errorf("PCR 18 named, but only the kernel changed: %q", reason)
		}
		if len(b.Lines("running slkit unseal")) != 1 || len(b.Lines("phase=init")) != 2 {
			t.Errorf("the tampered target did not run (reason %q)\n%s", reason, b.Tail(40))
		}
		if v := b.Between("running slkit drtm verify", "slkit: running"); len(v) == 0 || !strings.Contains(v[0], "DRTM happened") {
			t.Errorf("the tampered kernel's DRTM does not verify: %q", v)
		}
		if got := b.Fingerprints(); len(got) != 0 {
			t.Errorf("a secret fingerprint was printed after a refusal: %q", got)
		}
		t.Logf("%s", b)
	})

	t.Run("no emulated DCE: refused, the target never runs", func(t *testing.T) {
		b := e.Boot(pre, cmdline, rigtest.WithRig(qemu.WithDirectTPM()))
		b.MustFail(t, "launch exited with status 3", "DRTM did not happen", `entry "drtm"`)
		if n := len(b.Lines("phase=init")); n != 1 {
			t.Errorf("%d environments started, want only the pre-launch one", n)
		}
		if len(b.Lines("phase=kexec")) != 0 {
			t.Errorf("kexec phase reached")
		}
		t.Logf("%s", b)
	})
}
