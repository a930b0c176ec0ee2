package e2e_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/rig/qemu"
	"github.com/slkit/slkit/rig/rigtest"
)

// The shared disk, as both environments mount it (an ext4 image made on
// the host, attached as NVMe: the cloud kernel has both built in).
const (
	diskDev = "/dev/nvme0n1"
	diskDir = "/run/disk"
	// firmwareLog is the firmware's event log, which the kernel still
	// exposes after slkit's kexec.
	firmwareLog = "/sys/kernel/security/tpm0/binary_bios_measurements"
	testGUID    = "5c5eb1e8-4d3b-4a2f-9c61-0f3e2a7b9d10"
)

var (
	vendorVar = "SlkitUpdateTest-" + testGUID
	bootOrder = efi.BootOrder.String()
	boot0001  = efi.BootEntry(1).String()
)

// rigUpdate is the scenario: keys, images, the disk and the VM's
// persistent state (OVMF variable store, swtpm state).
type rigUpdate struct {
	e          *rigtest.Env
	vars, disk string
	pre        string
	secretFP   string
}

func fileSHA(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func writeFile(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// setupRig builds everything on the host:
//
//   - three target images (policy entries of one signed launch policy, same
//     kernel and command line, so PCR 8 is the same for all):
//     "setup" seals the test secret to PCRs 1 (firmware: BootOrder and
//     Boot#### are measured there) and 8, queues a vendor variable, a new
//     Boot0001 and a BootOrder change (--reboot: it takes effect through
//     the firmware), and prepares; "post" (after the update) checks which
//     object unseals, unseals, reads the new values, finishes; "kexec"
//     queues a change, prepares a kexec round trip and relaunches the
//     pre-launch environment from the disk;
//   - the pre-launch image: mounts the disk, then launch commits the
//     journal (public key in the image), increments the update counter,
//     measures and kexecs, handing the signed policy to the target;
//   - the disk: the secret (test only: in real use it comes sealed), the
//     journal signing key (test only: in real use sealed to the launched
//     OS), the Boot0001 load option, and for the kexec round trip the
//     pre-launch kernel and image with a relaunch policy.
func setupRig(t *testing.T) *rigUpdate {
	e := rigtest.New(t)
	r := &rigUpdate{e: e, vars: e.Path("OVMF_VARS.fd"), disk: e.Path("disk.img")}
	dd := e.Path("disk")
	if err := os.MkdirAll(dd, 0o755); err != nil {
		t.Fatal(err)
	}
	secret := []byte("slkit rig update secret 7f3a91")
	writeFile(t, filepath.Join(dd, "secret"), secret)
	r.secretFP = fmt.Sprintf("sha256:%x", sha256.Sum256(secret))
	e.Run("efi", "keygen", "--out", filepath.Join(dd, "efi.key"), "--pub", e.Path("efi.pub"))
	writeFile(t, filepath.Join(dd, "efi.key.pub"), mustRead(t, e.Path("efi.pub")))
	lo, err := (&efi.LoadOption{Attributes: 1, Description: "slkit update test", FilePath: []byte{0x7f, 0xff, 4, 0}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dd, "boot0001.bin"), lo)
	e.Run("policy", "keygen", "--out", e.Path("policy.key"), "--pub", e.Path("policy.pub"))

	kernel := e.Kernel.Path
	efivarfs := filepath.Join(filepath.Dir(kernel), "modules", "kernel", "fs", "efivarfs", "efivarfs.ko")
	j, key, sealed := diskDir+"/journal", diskDir+"/efi.key", diskDir+"/s.sealed"
	mount := "efi mount --device " + diskDev + " --dir " + diskDir
	queue := func(args string) string { return "efi queue set " + args + " --key " + key + " --journal " + j }
	status := "update status --sealed " + sealed
	setup := e.Image("target-setup.cpio", "--module", efivarfs, "--run", mount,
		"--then", "seal --pcrs 1,8 --in "+diskDir+"/secret --out "+sealed+" --eventlog "+firmwareLog,
		"--then", queue(vendorVar+" --hex 0102 --expect-absent"),
		"--then", queue(boot0001+" --file "+diskDir+"/boot0001.bin --expect-absent"),
		"--then", queue(bootOrder+" --boot-order 0001,0000 --expect-hex 0000 --reboot"),
		"--then", "update prepare --journal "+j+" --pub "+diskDir+"/efi.key.pub --sealed "+sealed,
		"--then", status)
	post := e.Image("target-post.cpio", "--module", efivarfs, "--run", mount,
		"--then", status,
		"--then", "unseal "+sealed+" --fingerprint",
		"--then", "efi vars get "+vendorVar,
		"--then", "efi vars get "+bootOrder,
		"--then", "update finish --sealed "+sealed,
		"--then", status)
	kexec := e.Image("target-kexec.cpio", "--module", efivarfs, "--run", mount,
		"--then", "efi vars get "+vendorVar,
		"--then", queue(vendorVar+" --hex 0304 --expect-hex 0102"),
		"--then", "update prepare --via kexec --journal "+j+" --pub "+diskDir+"/efi.key.pub --sealed "+sealed+
			" --relaunch-policy "+diskDir+"/relaunch.signed --relaunch-entry prelaunch --next-policy /slkit/policy.json --next-entry post --policy-key /slkit/policy.pub",
		"--then", "launch --policy "+diskDir+"/relaunch.signed --policy-key /slkit/policy.pub --entry prelaunch --root "+diskDir+" --log /run/relaunch-eventlog.bin")

	var entries []string
	for _, x := range []struct{ name, img string }{{"setup", setup}, {"post", post}, {"kexec", kexec}} {
		entries = append(entries, fmt.Sprintf(`{"name": %q, "kernel": {"path": "/boot/vmlinuz", "sha256": %q},
   "initrd": {"path": "/boot/%s.cpio", "sha256": %q}, "cmdline": %q, "profile": "measured-v1"}`,
			x.name, fileSHA(t, kernel), x.name, fileSHA(t, x.img), qemu.DefaultAppend))
	}
	writeFile(t, e.Path("policy.json"), []byte(`{"version": 1, "entries": [`+strings.Join(entries, ",\n")+"]}\n"))
	e.Run("policy", "sign", "--key", e.Path("policy.key"), "--in", e.Path("policy.json"), "--out", e.Path("policy.signed"))

	r.pre = e.Image("prelaunch.cpio", "--policy", e.Path("policy.signed"), "--policy-key", e.Path("policy.pub"),
		"--module", efivarfs,
		"--add", e.Path("efi.pub")+":/etc/efi.pub",
		"--add", kernel+":/boot/vmlinuz",
		"--add", setup+":/boot/setup.cpio", "--add", post+":/boot/post.cpio", "--add", kexec+":/boot/kexec.cpio",
		"--run", mount,
		"--then", "launch --policy /etc/slkit/policy.json --policy-key /etc/slkit/policy.pub"+
			" --efi-journal "+j+" --efi-pub /etc/efi.pub --efi-allow *-"+testGUID+" --update-counter 0x0180534c"+
			" --handover /etc/slkit/policy.json:/slkit/policy.json --handover /etc/slkit/policy.pub:/slkit/policy.pub")

	// The kexec round trip relaunches the pre-launch environment from the
	// disk, through a signed policy that pins its kernel and image.
	copyFile(t, kernel, filepath.Join(dd, "vmlinuz"))
	copyFile(t, r.pre, filepath.Join(dd, "prelaunch.cpio"))
	writeFile(t, e.Path("relaunch.json"), []byte(fmt.Sprintf(`{"version": 1, "entries": [{"name": "prelaunch",
  "kernel": {"path": "/vmlinuz", "sha256": %q}, "initrd": {"path": "/prelaunch.cpio", "sha256": %q},
  "cmdline": %q, "profile": "measured-v1"}]}`, fileSHA(t, kernel), fileSHA(t, r.pre), qemu.DefaultAppend+" slkit.entry=post")))
	e.Run("policy", "sign", "--key", e.Path("policy.key"), "--in", e.Path("relaunch.json"), "--out", filepath.Join(dd, "relaunch.signed"))
	if err := qemu.MakeExt4(context.Background(), dd, r.disk, 128); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{r.pre, setup, r.disk} {
		if st, err := os.Stat(p); err == nil {
			t.Logf("%s: %.1f MB", filepath.Base(p), float64(st.Size())/1e6)
		}
	}
	return r
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func copyFile(t *testing.T, src, dst string) { writeFile(t, dst, mustRead(t, src)) }

// boot boots the pre-launch image under OVMF with the persistent VARS
// store and disk; the guest's reboots stay in the same QEMU run.
func (r *rigUpdate) boot(entry string) *rigtest.Boot {
	return r.e.Boot(r.pre, qemu.DefaultAppend+" slkit.entry="+entry,
		rigtest.WithTimeout(5*time.Minute),
		rigtest.WithVM(qemu.WithOVMF(qemu.OVMF{Vars: r.vars}), qemu.WithDisk(r.disk), qemu.WithReboot()))
}

func (r *rigUpdate) readDisk(t *testing.T, p string) []byte {
	t.Helper()
	b, err := qemu.ReadExt4File(context.Background(), r.disk, p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// after returns the console lines after the first one containing from.
func after(b *rigtest.Boot, from string) []string { return b.Between(from, "") }

// logLines logs the console lines that contain any of subs: what the
// flow said, for a reader of the test log.
func logLines(t *testing.T, b *rigtest.Boot, subs ...string) {
	t.Helper()
	var out []string
	for _, l := range b.Console {
		for _, s := range subs {
			if strings.Contains(l, s) {
				out = append(out, strings.TrimSpace(l))
				break
			}
		}
	}
	t.Logf("console:\n%s", strings.Join(out, "\n"))
}

func contains(lines []string, s string) bool {
	for _, l := range lines {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

// TestUpdateOnOVMFRig is issue 6's "done when", end to end under OVMF with
// the same VARS file, swtpm state and disk across QEMU runs:
//
//  1. the launched OS seals a secret to PCRs 1 and 8, queues a vendor
//     variable, a Boot0001 and a BootOrder change, and prepares;
//  2. next boot: the pre-launch environment commits the journal and
//     reboots through the firmware (the BootOrder change needs it); the
//     firmware measures the new BootOrder into PCR 1; the pre-launch
//     environment finds the journal done and launches; the target's main
//     object is refused (PCR 1) and the update object releases the secret
//     inside the window; the target reads the new values and finishes;
//  3. a journal with a bad signature: nothing committed, the launch
//     refused, saying why;
//  4. the kexec round trip: the launched OS queues a change, prepares and
//     kexecs back into the pre-launch environment (from the disk), which
//     commits and relaunches without a firmware reboot; PCR 8 (extended
//     further, not reset) was forward-sealed from its current value.
func TestUpdateOnOVMFRig(t *testing.T) {
	r := setupRig(t)
	ctx := context.Background()
	var rebootPath, kexecPath time.Duration

	t.Run("prepare", func(t *testing.T) {
		b := r.boot("setup")
		b.MustSucceed(t)
		if !contains(b.Lines("update object sealed to sha256 PCRs 8; firmware PCRs 1 left out, bounded by the update window: counter 0x0180534c"), "the next launch opens it") {
			t.Errorf("prepare did not report the window:\n%s", strings.Join(after(b, "running slkit update prepare"), "\n"))
		}
		if len(b.Lines("the main object unseals; update window: counter 0x0180534c")) != 1 {
			t.Errorf("status before the update:\n%s", b.Tail(10))
		}
		t.Logf("%s", b)
	})

	t.Run("commit, firmware reboot, launch, unseal, finish", func(t *testing.T) {
		b := r.boot("post")
		b.MustSucceed(t)
		for _, want := range []string{
			"slkit: efi:   1 set           applied        " + vendorVar,
			"slkit: efi:   2 set           applied        " + boot0001,
			"slkit: efi:   3 set           applied        " + bootOrder,
			"slkit: efi: rebooting: a committed change takes effect only through the firmware",
			"slkit: efi:   3 set           done-earlier   " + bootOrder,
			"slkit: update counter 0x0180534c incremented to",
			"the update object unseals (the main object is refused: PCR 1: event",
			`"BootOrder" sha256 differs`,
			r.secretFP,
			"order: 0001,0000",
			"the update object released the secret; the main object was refused: PCR 1",
			"update window closed: counter 0x0180534c is now",
		} {
			if len(b.Lines(want)) == 0 {
				t.Errorf("console lacks %q", want)
			}
		}
		if v := after(b, "running slkit efi vars get "+vendorVar); !contains(v, "data: 0102") {
			t.Errorf("vendor variable after the commit:\n%s", strings.Join(v, "\n"))
		}
		if n := len(b.Lines("slkit: phase=efi-commit")); n != 2 {
			t.Errorf("%d commits, want 2 (before and after the firmware reboot)", n)
		}
		if last := b.Lines("the main object unseals"); len(last) != 1 {
			t.Errorf("after finish the main object does not unseal: %q", b.Tail(6))
		}
		if d, ok := b.Phase("init", "verify-policy"); ok {
			rebootPath = d
		}
		logLines(t, b, "slkit: efi:", "slkit: update counter", diskDir+"/s.sealed:", "sha256:", "order:", "data:", "update window")
		t.Logf("%s", b)
	})

	t.Run("tampered journal commits nothing", func(t *testing.T) {
		good := r.readDisk(t, "/journal")
		state := r.readDisk(t, "/journal.state")
		// An attacker with the disk but not the key: the vendor variable's
		// queued value changed, the entry's checksum fixed up, so that only
		// the signature can tell.
		bad := tamperValue(t, good, "SlkitUpdateTest", []byte{0xba, 0xd0})
		if err := qemu.WriteExt4File(ctx, r.disk, "/journal", bad); err != nil {
			t.Fatal(err)
		}
		b := r.boot("post")
		reason := b.MustFail(t, "launch exited with status 3", "commit EFI variables: nothing committed, nothing launched", "journal signature does not verify")
		if len(b.Lines("phase=measure")) != 0 || len(b.Lines("phase=init")) != 1 {
			t.Errorf("something was measured or launched after the refusal: %s", reason)
		}
		if got := r.readDisk(t, "/journal.state"); !bytes.Equal(got, state) {
			t.Error("the refused journal changed the state file")
		}
		if err := qemu.WriteExt4File(ctx, r.disk, "/journal", good); err != nil {
			t.Fatal(err)
		}
		logLines(t, b, "slkit: efi", "result=")
		t.Logf("%s", b)
	})

	t.Run("kexec round trip", func(t *testing.T) {
		b := r.boot("kexec")
		b.MustSucceed(t)
		// The variable is still what the second run committed: the
		// tampered run wrote nothing.
		if v := after(b, "running slkit efi vars get "+vendorVar); !contains(v, "data: 0102") {
			t.Errorf("vendor variable before the round trip:\n%s", strings.Join(v, "\n"))
		}
		for _, want := range []string{
			"update object sealed to sha256 PCRs 1,8, PCRs 8 predicted for " + diskDir + "/relaunch.signed entry \"prelaunch\" then /slkit/policy.json entry \"post\" from the current PCR values",
			"slkit: efi:   1 set           applied        " + vendorVar,
			"the update object unseals (the main object is refused: PCR 8",
			r.secretFP,
			"data: 0304",
			"the update object released the secret; the main object was refused: PCR 8",
		} {
			if len(b.Lines(want)) == 0 {
				t.Errorf("console lacks %q", want)
			}
		}
		if len(b.Lines("slkit: efi: rebooting")) != 0 || len(b.Lines("slkit: phase=init")) != 4 {
			t.Errorf("want 4 environments (pre-launch, target, pre-launch by kexec, target) and no firmware reboot:\n%s", strings.Join(b.Lines("slkit: phase="), "\n"))
		}
		// From the relaunch's policy check to the post-update target.
		inits := 0
		var from time.Duration
		for _, p := range b.Phases {
			switch {
			case p.Name == "init":
				inits++
				if inits == 4 && from > 0 {
					kexecPath = p.Start - from
				}
			case p.Name == "verify-policy" && inits == 2:
				from = p.Start
			}
		}
		logLines(t, b, "slkit: efi:", "slkit: update counter", diskDir+"/s.sealed", "sha256:", "data:", "running slkit launch")
		t.Logf("%s", b)
	})
	t.Logf("update round trip on the rig: firmware reboot path %.1fs (QEMU start, commit, reboot, firmware, launch, to the target's init), kexec path %.1fs (relaunch's policy check to the post-update target's init)",
		rebootPath.Seconds(), kexecPath.Seconds())
}

// tamperValue replaces the data of the journal entry whose name starts
// with name by data of the same length and recomputes the entry's CRC-32C
// (efi/README.md, journal format: name at entry offset 68, data after it,
// the CRC in the entry's last 4 bytes), leaving the signature as it was.
func tamperValue(t *testing.T, j []byte, name string, data []byte) []byte {
	t.Helper()
	out := append([]byte(nil), j...)
	i := bytes.Index(out, []byte(name))
	if i < 68 {
		t.Fatalf("no entry %q in the journal", name)
	}
	entry := i - 68
	n := int(binary.LittleEndian.Uint16(out[entry+10:]))
	d := int(binary.LittleEndian.Uint32(out[entry+64:]))
	l := int(binary.LittleEndian.Uint32(out[entry:]))
	if d != len(data) || l != 72+n+d {
		t.Fatalf("entry %q: %d data bytes, length %d", name, d, l)
	}
	copy(out[i+n:], data)
	binary.LittleEndian.PutUint32(out[entry+l-4:], crc32.Checksum(out[entry:entry+l-4], crc32.MakeTable(crc32.Castagnoli)))
	return out
}
