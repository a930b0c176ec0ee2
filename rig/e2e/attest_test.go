package e2e_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slkit/slkit/attest"
	"github.com/slkit/slkit/rig/qemu"
	"github.com/slkit/slkit/rig/rigtest"
	"github.com/slkit/slkit/rig/swtpm"
	"github.com/slkit/slkit/tpm"
)

// Remote attestation on the rig, one SeaBIOS boot sequence with the
// emulated DRTM. The swtpm is manufactured with an EK certificate from a
// local CA. Enrollment happens on the host with the same TPM state (a
// fleet does it at provisioning): a first bundle gives the EK certificate
// and the AK, the verifier makes the credential-activation challenge.
//
// The nonce and the challenge reach the guest on a shared disk (an ext4
// image on NVMe, as the update workflow uses): the verifier writes
// /nonce and /challenge.json before the boot. The pre-launch environment
// launches policy entry "drtm" with the emulated DRTM; the target mounts
// the disk, answers the challenge on its TPM (attest activate, at
// locality 2) and quotes with the nonce (attest quote: the firmware log
// from securityfs, the pre-launch and DRTM logs slkit handed over), and
// the evidence comes back on the same disk (/evidence.json).
//
// The host verifies it against the signed policy, tpm2_checkquote accepts
// its quotes, and the same evidence is refused when checked against a
// policy entry with another kernel, with a new nonce (an old bundle), as a
// bundle without activation or from another TPM that copied the secret,
// and with one event removed from a log.
func TestAttestationOnRig(t *testing.T) {
	t.Parallel()
	e := rigtest.New(t)
	const cmdline = qemu.DefaultAppend
	caDir := e.Path("ca")
	ca := swtpm.NewLocalCA(caDir)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// Manufacture the TPM, enroll its AK on the host.
	s, err := swtpm.Start(ctx, e.TPMState, swtpm.WithDataSocket(), swtpm.WithEKCert(caDir))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	disk := e.Path("disk")
	if err := os.MkdirAll(disk, 0o755); err != nil {
		t.Fatal(err)
	}
	noLogs := []string{"--firmware-log=", "--prelaunch-log=", "--drtm-log="}
	e.Run(append([]string{"--tpm", s.Spec(), "attest", "quote", "--nonce", strings.Repeat("00", 32), "--out", e.Path("enroll.json")}, noLogs...)...)
	s.Close()
	chain, err := ca.Chain()
	if err != nil {
		t.Fatal(err)
	}
	caPEM := e.WriteFile("ek-ca.pem", string(chain))
	e.Run("attest", "challenge", e.Path("enroll.json"), "--ek-ca", caPEM, "--out", filepath.Join(disk, "challenge.json"), "--record", e.Path("record.json"))
	nonce := hex.EncodeToString([]byte("slkit rig attestation nonce 0001"))
	e.WriteFile("disk/nonce", nonce+"\n")
	img := e.Path("disk.img")
	if err := qemu.MakeExt4(ctx, disk, img, 16); err != nil {
		t.Fatal(err)
	}

	// The policy, the images as the verifier keeps them, the boot.
	target := e.Image("target.cpio",
		"--run", "efi mount --device "+diskDev+" --dir "+diskDir,
		"--then", "attest activate "+diskDir+"/challenge.json --out "+diskDir+"/secret",
		"--then", "attest quote --nonce-file "+diskDir+"/nonce --activation "+diskDir+"/secret --out "+diskDir+"/evidence.json")
	kernel := e.Kernel.Path
	other := e.Path("vmlinuz-other")
	kb, err := os.ReadFile(kernel)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(other, append(kb, "slkit: another kernel\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	images := e.Path("images")
	os.MkdirAll(filepath.Join(images, "boot"), 0o755)
	for name, src := range map[string]string{"vmlinuz": kernel, "vmlinuz-other": other, "target.cpio": target} {
		if err := os.Symlink(src, filepath.Join(images, "boot", name)); err != nil {
			t.Fatal(err)
		}
	}
	e.Run("policy", "keygen", "--out", e.Path("policy.key"), "--pub", e.Path("policy.pub"))
	sign := func(name, kernelPath, kernelFile string) string {
		doc := `{"version": 1, "entries": [{"name": "drtm", "kernel": {"path": "` + kernelPath + `", "sha256": "` + rigtest.FileSHA256(t, kernelFile) +
			`"}, "initrd": {"path": "/boot/target.cpio", "sha256": "` + rigtest.FileSHA256(t, target) + `"}, "cmdline": "` + cmdline +
			`", "profile": "measured-v1", "require_drtm": true}]}` + "\n"
		e.WriteFile(name+".json", doc)
		e.Run("policy", "sign", "--key", e.Path("policy.key"), "--in", e.Path(name+".json"), "--out", e.Path(name+".signed"))
		return e.Path(name + ".signed")
	}
	signed := sign("policy", "/boot/vmlinuz", kernel)
	pre := e.Image("prelaunch.cpio", "--policy", signed, "--policy-key", e.Path("policy.pub"),
		"--add", kernel+":/boot/vmlinuz", "--add", target+":/boot/target.cpio",
		"--run", "launch --policy /etc/slkit/policy.json --policy-key /etc/slkit/policy.pub --drtm emulated")
	b := e.Boot(pre, cmdline, rigtest.WithVM(qemu.WithDisk(img)))
	b.MustSucceed(t)
	t.Logf("%s", b)
	read := func(p string) []byte {
		out, err := qemu.ReadExt4File(ctx, img, p)
		if err != nil {
			t.Fatalf("the guest's %s: %v\n%s", p, err, b.Tail(30))
		}
		return out
	}
	evPath := e.Path("evidence.json")
	evb := read("/evidence.json")
	if err := os.WriteFile(evPath, evb, 0o644); err != nil {
		t.Fatal(err)
	}
	secret := e.Path("secret")
	os.WriteFile(secret, read("/secret"), 0o600)

	verify := func(ev, nonce string, extra ...string) rigtest.Result {
		return e.RunExit(append([]string{"attest", "verify", ev, "--nonce", nonce, "--ek-ca", caPEM, "--record", e.Path("record.json"),
			"--policy", signed, "--policy-key", e.Path("policy.pub"), "--images", images}, extra...)...)
	}
	r := verify(evPath, nonce)
	if r.Code != 0 || !strings.Contains(r.Stdout, `launched: policy entry "drtm", dynamic launch (PCR 8, 9, 17, 18)`) ||
		!strings.Contains(r.Stdout, "activated") || !strings.Contains(r.Stdout, "drtm log: 6 events, PCR 17-18, replays in sha1, sha256, sha384, sha512") {
		t.Fatalf("verify: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	t.Logf("attest verify of the guest's evidence:\n%s", r.Stdout)

	t.Run("tpm2_checkquote accepts the export", func(t *testing.T) {
		dir := e.Path("tpm2-tools")
		out := e.Run("attest", "export", evPath, "--tpm2-tools", dir)
		n := 0
		for _, line := range strings.Split(out, "\n") {
			if cmd := strings.TrimSpace(line); strings.HasPrefix(cmd, "tpm2_checkquote ") {
				args := strings.Fields(cmd)
				c := exec.Command(args[0], args[1:]...)
				c.Dir = dir
				if o, err := c.CombinedOutput(); err != nil {
					t.Errorf("%s: %v\n%s", cmd, err, o)
				}
				n++
			}
		}
		if n != 4 {
			t.Errorf("%d tpm2_checkquote commands, want 4:\n%s", n, out)
		}
	})
	t.Run("a kernel the policy does not allow", func(t *testing.T) {
		r := verify(evPath, nonce, "--policy", sign("other", "/boot/vmlinuz-other", other))
		if r.Code != 3 || !strings.Contains(r.Stderr, "launch matches no entry of the policy") ||
			!strings.Contains(r.Stderr, `prelaunch event 2 "kernel" differs`) || !strings.Contains(r.Stderr, `drtm event 3 "DLME" differs`) {
			t.Errorf("exit %d\n%s", r.Code, r.Stderr)
		}
	})
	t.Run("an old bundle", func(t *testing.T) {
		r := verify(evPath, strings.Repeat("ab", 32))
		if r.Code != 3 || !strings.Contains(r.Stderr, "an old or replayed bundle") {
			t.Errorf("exit %d\n%s", r.Code, r.Stderr)
		}
	})
	t.Run("an AK that did not pass activation", func(t *testing.T) {
		var m map[string]any
		json.Unmarshal(evb, &m)
		delete(m, "activation")
		nb, _ := json.Marshal(m)
		r := verify(e.WriteFile("no-activation.json", string(nb)), nonce)
		if r.Code != 3 || !strings.Contains(r.Stderr, "AK did not pass credential activation: the evidence carries no activation secret") {
			t.Errorf("without activation: exit %d\n%s", r.Code, r.Stderr)
		}
		// Another TPM certified by the same CA, with the copied secret.
		o, err := swtpm.Start(ctx, e.Path("other-tpm"), swtpm.WithDataSocket(), swtpm.WithEKCert(caDir))
		if err != nil {
			t.Fatal(err)
		}
		defer o.Close()
		e.Run(append([]string{"--tpm", o.Spec(), "attest", "quote", "--nonce", nonce, "--activation", secret, "--out", e.Path("stolen.json")}, noLogs...)...)
		r = verify(e.Path("stolen.json"), nonce)
		if r.Code != 3 || !strings.Contains(r.Stderr, "AK did not pass credential activation") {
			t.Errorf("another TPM: exit %d\n%s", r.Code, r.Stderr)
		}
	})
	t.Run("a log with one event removed", func(t *testing.T) {
		ev, err := attest.ParseEvidence(evb)
		if err != nil {
			t.Fatal(err)
		}
		l, err := tpm.ParseEventLog(ev.Logs.PreLaunch)
		if err != nil {
			t.Fatal(err)
		}
		l.Events = l.Events[1:] // the launch-policy event
		ev.Logs.PreLaunch, _ = l.MarshalBinary()
		cut, _ := ev.Marshal()
		r := verify(e.WriteFile("cut.json", string(cut)), nonce)
		if r.Code != 3 || !strings.Contains(r.Stderr, "does not replay to the quoted sha1 PCR 8") {
			t.Errorf("exit %d\n%s", r.Code, r.Stderr)
		}
	})
}
