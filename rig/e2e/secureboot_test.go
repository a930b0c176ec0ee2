package e2e_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/efi/secureboot"
	"github.com/slkit/slkit/initramfs/uki"
	"github.com/slkit/slkit/rig/qemu"
	"github.com/slkit/slkit/rig/rigtest"
	"github.com/slkit/slkit/tpm"
)

// sbRig is the Secure Boot scenario: our own keys, the images, the disk
// and the VM's persistent state.
type sbRig struct {
	e                 *rigtest.Env
	keys              string
	vars, disk        string
	enroll            string // unsigned UKI that enrols the keys
	setup, post       string // signed pre-launch UKIs, entries "setup" and "post"
	pre               string // the pre-launch initramfs both carry
	secretFP          string
	slkit             string // the image build of slkit
	setupCmd, postCmd string // their command lines
}

const dbVar = "db-d719b2cb-3d3a-4596-a3bc-dad00e67656f"

// setupSecureBoot builds everything on the host: a Secure Boot key set
// (efi keygen --secure-boot), an unsigned enrolment UKI, two signed
// pre-launch UKIs differing only in their command line's slkit.entry
// (the UKI's command line is fixed: under Secure Boot systemd-stub
// ignores the boot option's), the two target images and the disk.
//
// Target "setup" seals the secret to PCRs 1, 4, 7, 8 and 11 (firmware
// boot variables, the UKI, Secure Boot policy, slkit's launch, the UKI's
// sections), queues a new Boot0009, BootOrder with 0009 appended (taking
// effect through a firmware reboot) and an authenticated db append
// signed by our KEK, and prepares the update from this boot's firmware
// log with the UKI the next boot starts (post.efi, on the disk). Target
// "post" reads its PCRs, says which object unseals, unseals.
func setupSecureBoot(t *testing.T) *sbRig {
	e := rigtest.New(t)
	r := &sbRig{e: e, keys: e.Path("keys"), vars: e.Path("OVMF_VARS.fd"), disk: e.Path("disk.img")}
	// Under Secure Boot the Debian kernel is in lockdown and kexecs only
	// kernels it verifies with its keyrings; this one has no built-in
	// Debian CA, so the certificate that signed the kernel goes into db
	// (its .platform keyring), taken from the kernel's signature with
	// osslsigncode and openssl.
	kcert := e.Path("kernel-signer.pem")
	if out, err := exec.Command("osslsigncode", "extract-signature", "-in", e.Kernel.Path, "-out", e.Path("kernel.p7"), "-pem").CombinedOutput(); err != nil {
		t.Fatalf("osslsigncode extract-signature: %v: %s", err, out)
	}
	if out, err := exec.Command("openssl", "pkcs7", "-in", e.Path("kernel.p7"), "-print_certs", "-out", kcert).CombinedOutput(); err != nil {
		t.Fatalf("openssl pkcs7: %v: %s", err, out)
	}
	e.Run("efi", "keygen", "--secure-boot", "--out", r.keys, "--db-cert", kcert)
	ks, err := secureboot.LoadKeySet(r.keys)
	if err != nil {
		t.Fatal(err)
	}
	dd := e.Path("disk")
	os.MkdirAll(dd, 0o755)
	secret := []byte("slkit secure boot secret 41c9")
	writeFile(t, filepath.Join(dd, "secret"), secret)
	r.secretFP = fmt.Sprintf("sha256:%x", sha256.Sum256(secret))
	e.Run("efi", "keygen", "--out", filepath.Join(dd, "efi.key"), "--pub", e.Path("efi.pub"))
	copyFile(t, e.Path("efi.pub"), filepath.Join(dd, "efi.key.pub"))
	lo, _ := (&efi.LoadOption{Attributes: 1, Description: "slkit secure boot test", FilePath: []byte{0x7f, 0xff, 4, 0}}).Marshal()
	writeFile(t, filepath.Join(dd, "boot0009.bin"), lo)
	// Our KEK signs a db append of a second certificate (its own).
	add, err := secureboot.AppendDB(ks.Owner, ks.Keys[secureboot.RoleKEK].Cert.Raw, ks.Keys[secureboot.RoleKEK], time.Now())
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dd, "db-append.auth"), add)
	e.Run("policy", "keygen", "--out", e.Path("policy.key"), "--pub", e.Path("policy.pub"))
	// The images carry the image build of slkit (half the size of the
	// host's: no rig, no image builder), which the firmware hashes five
	// times per boot under TCG.
	r.slkit = e.ImageSlkit()

	kernel := e.Kernel.Path
	efivarfs := filepath.Join(filepath.Dir(kernel), "modules", "kernel", "fs", "efivarfs", "efivarfs.ko")
	j, key, sealed := diskDir+"/journal", diskDir+"/efi.key", diskDir+"/s.sealed"
	mount := "efi mount --device " + diskDev + " --dir " + diskDir
	queue := func(op, args string) string {
		return "efi queue " + op + " " + args + " --key " + key + " --journal " + j
	}
	setupT := e.Image("sb-target-setup.cpio", "--slkit-binary", r.slkit, "--module", efivarfs, "--run", mount,
		"--then", "seal --pcrs 1,4,7,8,11 --in "+diskDir+"/secret --out "+sealed+" --eventlog "+firmwareLog,
		"--then", queue("set", efi.BootEntry(9).String()+" --file "+diskDir+"/boot0009.bin --expect-absent"),
		"--then", queue("append", bootOrder+" --hex 0900 --expect-current --reboot"),
		"--then", queue("append", dbVar+" --attr NV|BS|RT|AT --file "+diskDir+"/db-append.auth"),
		"--then", "update prepare --journal "+j+" --pub "+diskDir+"/efi.key.pub --sealed "+sealed+
			" --firmware-log "+firmwareLog+" --uki "+diskDir+"/post.efi --next-policy /slkit/policy.json --next-entry post --policy-key /slkit/policy.pub",
		"--then", "update status --sealed "+sealed)
	postT := e.Image("sb-target-post.cpio", "--slkit-binary", r.slkit, "--module", efivarfs, "--run", mount,
		"--then", "pcr read --json 0 1 2 3 4 5 6 7 8 9 11 12",
		"--then", "update status --sealed "+sealed,
		"--then", "unseal "+sealed+" --fingerprint",
		"--then", "efi vars get "+bootOrder)

	var entries []string
	for _, x := range []struct{ name, img string }{{"setup", setupT}, {"post", postT}} {
		entries = append(entries, fmt.Sprintf(`{"name": %q, "kernel": {"path": "/boot/vmlinuz", "sha256": %q},
   "initrd": {"path": "/boot/%s.cpio", "sha256": %q}, "cmdline": %q, "profile": "measured-v1"}`,
			x.name, fileSHA(t, kernel), x.name, fileSHA(t, x.img), qemu.DefaultAppend))
	}
	writeFile(t, e.Path("policy.json"), []byte(`{"version": 1, "entries": [`+strings.Join(entries, ",\n")+"]}\n"))
	e.Run("policy", "sign", "--key", e.Path("policy.key"), "--in", e.Path("policy.json"), "--out", e.Path("policy.signed"))

	// The pre-launch environment: read the PCRs and the firmware log the
	// boot left (for the test to compare), then launch, committing the
	// journal first (db is not on efivarfs' mutable list: allowed here).
	pre := []string{"--slkit-binary", r.slkit, "--policy", e.Path("policy.signed"), "--policy-key", e.Path("policy.pub"), "--module", efivarfs,
		"--add", e.Path("efi.pub") + ":/etc/efi.pub", "--add", kernel + ":/boot/vmlinuz",
		"--add", setupT + ":/boot/setup.cpio", "--add", postT + ":/boot/post.cpio",
		"--run", mount,
		"--then", "pcr read --json 0 1 2 3 4 5 6 7 9 11 12",
		"--then", "eventlog show --json " + firmwareLog,
		"--then", "launch --policy /etc/slkit/policy.json --policy-key /etc/slkit/policy.pub" +
			" --efi-journal " + j + " --efi-pub /etc/efi.pub --efi-allow " + dbVar + " --update-counter 0x0180534c" +
			" --handover /etc/slkit/policy.json:/slkit/policy.json --handover /etc/slkit/policy.pub:/slkit/policy.pub"}
	r.pre = e.Image("sb-prelaunch.cpio", pre...)
	r.setupCmd, r.postCmd = qemu.DefaultAppend+" slkit.entry=setup", qemu.DefaultAppend+" slkit.entry=post"
	sign := []string{"--sign-key", filepath.Join(r.keys, "db.key"), "--sign-cert", filepath.Join(r.keys, "db.crt")}
	r.setup = r.ukiImage("setup.efi", append(append([]string{"--cmdline", r.setupCmd}, sign...), pre...)...)
	r.post = r.ukiImage("post.efi", append(append([]string{"--cmdline", r.postCmd}, sign...), pre...)...)
	copyFile(t, r.post, filepath.Join(dd, "post.efi"))
	r.enroll = r.ukiImage("enroll.efi", "--slkit-binary", r.slkit, "--cmdline", qemu.DefaultAppend, "--module", efivarfs,
		"--add", filepath.Join(r.keys, "db.auth")+":/etc/sb/db.auth", "--add", filepath.Join(r.keys, "KEK.auth")+":/etc/sb/KEK.auth",
		"--add", filepath.Join(r.keys, "PK.auth")+":/etc/sb/PK.auth", "--run", "efi enroll --dir /etc/sb")
	if err := qemu.MakeExt4(context.Background(), dd, r.disk, 192); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{r.setup, r.enroll, r.pre} {
		if st, err := os.Stat(p); err == nil {
			t.Logf("%s: %.1f MB", filepath.Base(p), float64(st.Size())/1e6)
		}
	}
	return r
}

// ukiImage builds a UKI with `slkit initramfs build --uki`.
func (r *sbRig) ukiImage(name string, flags ...string) string {
	out := r.e.Path(name)
	r.e.Run(append([]string{"initramfs", "build", "--uki", out, "--kernel", r.e.Kernel.Path}, flags...)...)
	return out
}

// boot boots uki from an ESP under OVMF's Secure Boot build with the
// persistent store and disk.
func (r *sbRig) boot(uki string, setupMode bool, opts ...rigtest.BootOption) *rigtest.Boot {
	return r.e.BootESP(uki, append([]rigtest.BootOption{rigtest.WithTimeout(8 * time.Minute),
		rigtest.WithVM(qemu.WithOVMF(qemu.OVMF{SecureBoot: true, SetupMode: setupMode, Vars: r.vars}), qemu.WithDisk(r.disk))}, opts...)...)
}

// TestSecureBootOnOVMFRig is the Secure Boot chain on the rig, one VARS
// store, swtpm state and disk across five QEMU runs:
//
//  1. setup mode: an unsigned enrolment UKI from the ESP enrols our PK,
//     KEK and db with `slkit efi enroll` (signed writes made on the host);
//  2. the signed pre-launch UKI boots under Secure Boot and launches: PCR 7
//     holds SecureBoot=1 and the authority event for our db certificate,
//     PCR 4 the UKI's Authenticode digest (osslsigncode's), PCR 11 and 9
//     the stubs' measurements of the bytes that went in; the target seals
//     a secret, queues Boot0009, BootOrder+0009 and a db append, and
//     prepares the update with --firmware-log and the next UKI: no window;
//  3. the other signed UKI commits the journal and reboots through the
//     firmware; the PCRs of the boot after it equal, in every bank, what
//     `slkit predict --uki --firmware-log --journal` computed on the host
//     from run 2's log; the target unseals through the update object;
//  4. an unsigned UKI and 5. a signed one with one byte flipped are
//     refused by the firmware: nothing of them runs.
func TestSecureBootOnOVMFRig(t *testing.T) {
	t.Parallel()
	r := setupSecureBoot(t)
	ctx := context.Background()
	var secs []string

	b := r.boot(r.enroll, true)
	b.MustSucceed(t)
	if len(b.Lines("enrolled db, KEK and PK: the firmware left setup mode")) != 1 {
		t.Fatalf("enrolment:\n%s", b.Tail(20))
	}
	secs = append(secs, fmt.Sprintf("enrol %.0fs", b.Elapsed.Seconds()))

	b = r.boot(r.setup, false)
	b.MustSucceed(t)
	secs = append(secs, fmt.Sprintf("signed boot, launch, seal, prepare %.0fs", b.Elapsed.Seconds()))
	logB := guestLog(t, outputs(b, "eventlog show")[0], r.e.Path("boot2.log"))
	readB := expected(t, outputs(b, "pcr read")[0])
	t.Run("measurements of the signed boot", func(t *testing.T) { r.checkSignedBoot(t, logB, readB) })
	for _, want := range []string{
		"next boot predicted from " + firmwareLog + ": PCRs 1,4,7,9,11 change",
		"update object sealed to sha256 PCRs 1,4,7,8,11",
		"the main object unseals",
	} {
		if len(b.Lines(want)) == 0 {
			t.Errorf("console lacks %q:\n%s", want, strings.Join(outputs(b, "update prepare"), "\n"))
		}
	}
	if w := append(b.Lines("update window:"), b.Lines("bounded by the update window")...); len(w) != 0 {
		t.Errorf("a window was opened:\n%s", strings.Join(w, "\n"))
	}

	// The host predicts run 3 from run 2's own log and the queued journal.
	jr, err := qemu.ReadExt4File(ctx, r.disk, "/journal")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, r.e.Path("journal"), jr)
	pred := r.e.Run("predict", "--firmware-log", r.e.Path("boot2.log"), "--uki", r.post, "--journal", r.e.Path("journal"),
		"--pub", r.e.Path("efi.pub"), "--json")

	b = r.boot(r.post, false, rigtest.WithVM(qemu.WithReboot()))
	b.MustSucceed(t)
	secs = append(secs, fmt.Sprintf("commit, firmware reboot, launch, unseal %.0fs", b.Elapsed.Seconds()))
	reads := outputs(b, "pcr read")
	if len(reads) != 3 || len(b.Lines("slkit: efi: rebooting")) != 1 {
		t.Fatalf("want a commit, a firmware reboot and a launch; %d pcr reads:\n%s", len(reads), strings.Join(b.Lines("slkit: "), "\n"))
	}
	n := comparePCRs(t, "after the update", expected(t, pred), expected(t, reads[1]), 0, 1, 2, 3, 4, 5, 6, 7, 9, 11, 12)
	t.Logf("predicted on the host from the previous boot's log, the UKI and the journal: %d PCR values in 4 banks equal the guest's", n)
	if order := after(b, "running slkit efi vars get "+bootOrder); !contains(order, ",0009") {
		t.Errorf("BootOrder after the update:\n%s", strings.Join(order, "\n"))
	}
	for _, want := range []string{"the update object unseals (the main object is refused: PCR 1", r.secretFP} {
		if len(b.Lines(want)) == 0 {
			t.Errorf("console lacks %q:\n%s", want, b.Tail(30))
		}
	}

	for _, c := range []struct{ name, img string }{{"unsigned UKI", r.enroll}, {"one byte flipped", r.flipped(t)}} {
		t.Run("refused: "+c.name, func(t *testing.T) {
			b := r.boot(c.img, false, rigtest.WithStopAt(`failed to load Boot\S+ .*(Access Denied|Security Violation)`, 5*time.Second))
			secs = append(secs, fmt.Sprintf("%s refused %.0fs", c.name, b.Elapsed.Seconds()))
			if !b.Stopped {
				t.Fatalf("the firmware did not refuse it: %s\n%s", b.Outcome(), b.Tail(30))
			}
			for _, l := range b.Console {
				if strings.Contains(l, "slkit:") || strings.Contains(l, "EFI stub") || strings.Contains(l, "Linux version") {
					t.Errorf("something of the image ran: %q", l)
				}
			}
			t.Logf("%s", strings.Join(b.Lines("BdsDxe"), "\n"))
		})
	}
	t.Logf("VM runs: %s", strings.Join(secs, ", "))
}

// checkSignedBoot checks the signed boot's firmware log against the bytes
// that went into the UKI and against independent tools, and the PCRs the
// guest read against the log and `slkit predict`.
func (r *sbRig) checkSignedBoot(t *testing.T, l *tpm.EventLog, read tpm.Expected) {
	ks, _ := secureboot.LoadKeySet(r.keys)
	var sb, auth, app []tpm.Event
	var pcr9, pcr11 []tpm.Digest
	for _, e := range l.Events {
		v, _ := e.UEFIVariable()
		switch {
		case e.Type == tpm.EvEFIVariableDriverConfig && v != nil && v.Name() == "SecureBoot":
			sb = append(sb, e)
		case e.Type == tpm.EvEFIVariableAuthority:
			auth = append(auth, e)
		case e.Type == tpm.EvEFIBootServicesApp:
			app = append(app, e)
		case e.PCR == 9:
			pcr9 = append(pcr9, e.Digests[tpm.SHA256])
		case e.PCR == 11:
			pcr11 = append(pcr11, e.Digests[tpm.SHA256])
		}
	}
	if v, _ := sb[0].UEFIVariable(); len(sb) != 1 || !bytes.Equal(v.Data, []byte{1}) {
		t.Errorf("SecureBoot measured as %x, want 01", v.Data)
	}
	wantAuth := append(append([]byte(nil), ks.Owner[:]...), ks.Keys[secureboot.RoleDB].Cert.Raw...)
	if len(auth) != 1 {
		t.Fatalf("%d authority events, want 1", len(auth))
	}
	if v, _ := auth[0].UEFIVariable(); auth[0].PCR != 7 || v.Name() != "db" || efi.GUID(v.GUID) != efi.ImageSecurityGUID || !bytes.Equal(v.Data, wantAuth) {
		t.Errorf("authority event %s %x, want db with our owner and db certificate", v.Name(), v.Data)
	}
	if len(app) != 1 || app[0].PCR != 4 || app[0].Digests[tpm.SHA256].String() != osslDigest(t, r.setup) {
		t.Errorf("PCR 4 application events %v, want one with osslsigncode's digest %s", app, osslDigest(t, r.setup))
	}
	kernel, _ := os.ReadFile(r.e.Kernel.Path)
	cpio, _ := os.ReadFile(r.pre)
	want11 := []tpm.Digest{sha([]byte(".linux\x00")), sha(kernel), sha([]byte(".osrel\x00")), sha([]byte(uki.DefaultOSRelease)),
		sha([]byte(".cmdline\x00")), sha([]byte(r.setupCmd)), sha([]byte(".initrd\x00")), sha(cpio)}
	if fmt.Sprint(pcr11) != fmt.Sprint(want11) {
		t.Errorf("PCR 11 events %v, want the stub's name/data pairs %v", pcr11, want11)
	}
	if want9 := []tpm.Digest{sha(utf16z(r.setupCmd)), sha(cpio)}; fmt.Sprint(pcr9) != fmt.Sprint(want9) {
		t.Errorf("PCR 9 events %v, want the EFI stub's load options and initrd %v", pcr9, want9)
	}
	replay, _ := l.Replay()
	comparePCRs(t, "the firmware log's replay", tpm.Expected{PCRs: *replay}, read, 0, 1, 2, 3, 4, 5, 6, 7, 9, 11)
	self := r.e.Run("predict", "--firmware-log", r.e.Path("boot2.log"), "--uki", r.setup, "--json")
	comparePCRs(t, "predict --uki of the image booted", expected(t, self), read, 0, 1, 2, 3, 4, 5, 6, 7, 9, 11, 12)
}

// flipped is the signed setup UKI with one byte of its kernel flipped.
func (r *sbRig) flipped(t *testing.T) string {
	b, _ := os.ReadFile(r.setup)
	p, err := uki.ParsePE(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	b[p.Section(".linux").Offset+4096] ^= 0x20
	out := r.e.Path("flipped.efi")
	writeFile(t, out, b)
	return out
}
