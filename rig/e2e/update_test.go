package e2e_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
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
	e           *rigtest.Env
	vars, disk  string
	pre, attack string
	secretFP    string
}

// setupRig builds everything on the host:
//
//   - four target images (entries of one signed launch policy, same kernel
//     and command line): "setup" seals the test secret to PCRs 1
//     (firmware: BootOrder and Boot#### are measured there) and 8, queues a
//     vendor variable, a new Boot0001 and a BootOrder change (--reboot: it
//     takes effect through the firmware), and prepares for entry "post"
//     (PCR 9 predicted from the firmware log and the policy); "idle" only
//     runs; "post" (after the update) checks which object unseals,
//     unseals, reads the new values, finishes and confirms the policy;
//     "kexec" queues a change, prepares a kexec round trip and relaunches
//     the pre-launch environment from the disk;
//   - the pre-launch image: mounts the disk, then launch takes the entry
//     and the entry's images from the disk (so its kernel command line, which the EFI stub
//     measures into PCR 9, is the same at every boot), checks the policy
//     anchor, commits the journal against its anchor (public key in the
//     image), counts the launch on the update counter, measures and
//     kexecs, handing the signed policy to the target;
//   - an "other OS": a target image booted directly, which runs the
//     launch of entry "post" from images on the disk with --dry-run (it
//     counts the launch and extends PCRs 8 and 9 exactly as the pre-launch
//     environment does) and then tries to unseal;
//   - the disk: the secret (test only: in real use it comes sealed), the
//     journal signing key (test only: in real use sealed to the launched
//     OS), the Boot0001 load option, the kernel and the targets' images
//     (under /boot), and for the kexec round trip the pre-launch image with
//     a relaunch policy.
func setupRig(t *testing.T) *rigUpdate {
	e := rigtest.New(t)
	r := &rigUpdate{e: e, vars: e.Path("OVMF_VARS.fd"), disk: e.Path("disk.img")}
	dd := e.Path("disk")
	for _, d := range []string{"attack", "boot"} {
		if err := os.MkdirAll(filepath.Join(dd, d), 0o755); err != nil {
			t.Fatal(err)
		}
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
		"--then", "update prepare --journal "+j+" --pub "+diskDir+"/efi.key.pub --sealed "+sealed+" --launches 3"+
			" --next-policy /slkit/policy.json --next-entry post --policy-key /slkit/policy.pub",
		"--then", status)
	idle := e.Image("target-idle.cpio", "--run", "pcr read 1 8 9")
	post := e.Image("target-post.cpio", "--module", efivarfs, "--run", mount,
		"--then", status,
		"--then", "unseal "+sealed+" --fingerprint",
		"--then", "efi vars get "+vendorVar,
		"--then", "efi vars get "+bootOrder,
		"--then", "update finish --sealed "+sealed,
		"--then", status,
		"--then", "policy confirm --policy /slkit/policy.json --out "+diskDir+"/policy.confirmed")
	kexec := e.Image("target-kexec.cpio", "--module", efivarfs, "--run", mount,
		"--then", "efi vars get "+vendorVar,
		"--then", queue(vendorVar+" --hex 0304 --expect-hex 0102"),
		"--then", "update prepare --via kexec --journal "+j+" --pub "+diskDir+"/efi.key.pub --sealed "+sealed+
			" --relaunch-policy "+diskDir+"/relaunch.signed --relaunch-entry prelaunch --next-policy /slkit/policy.json --next-entry post --policy-key /slkit/policy.pub",
		"--then", "launch --policy "+diskDir+"/relaunch.signed --policy-key /slkit/policy.pub --entry prelaunch --root "+diskDir+" --log /run/relaunch-eventlog.bin")
	a := diskDir + "/attack"
	r.attack = e.Image("other-os.cpio", "--run", mount,
		"--then", "launch --policy "+a+"/policy.signed --policy-key "+a+"/policy.pub --entry post --root "+diskDir+
			" --update-counter 0x0180534c --dry-run --log /run/other-eventlog.bin",
		"--then", "unseal "+sealed+" --fingerprint")

	var entries []string
	for _, x := range []struct{ name, img string }{{"setup", setup}, {"idle", idle}, {"post", post}, {"kexec", kexec}} {
		entries = append(entries, fmt.Sprintf(`{"name": %q, "kernel": {"path": "/boot/vmlinuz", "sha256": %q},
   "initrd": {"path": "/boot/%s.cpio", "sha256": %q}, "cmdline": %q, "profile": "measured-v1"}`,
			x.name, fileSHA(t, kernel), x.name, fileSHA(t, x.img), qemu.DefaultAppend))
	}
	writeFile(t, e.Path("policy.json"), []byte(`{"version": 1, "policy_version": 1, "entries": [`+strings.Join(entries, ",\n")+"]}\n"))
	e.Run("policy", "sign", "--key", e.Path("policy.key"), "--in", e.Path("policy.json"), "--out", e.Path("policy.signed"))

	r.pre = e.Image("prelaunch.cpio", "--policy", e.Path("policy.signed"), "--policy-key", e.Path("policy.pub"),
		"--module", efivarfs,
		"--add", e.Path("efi.pub")+":/etc/efi.pub",
		"--run", mount,
		"--then", "launch --policy /etc/slkit/policy.json --policy-key /etc/slkit/policy.pub --root "+diskDir+" --entry-file "+diskDir+"/entry"+
			" --policy-anchor 0x0180534d --policy-confirm "+diskDir+"/policy.confirmed"+
			" --efi-journal "+j+" --efi-pub /etc/efi.pub --efi-allow *-"+testGUID+" --update-counter 0x0180534c"+
			" --handover /etc/slkit/policy.json:/slkit/policy.json --handover /etc/slkit/policy.pub:/slkit/policy.pub")

	// The targets' images are on the disk, where the pre-launch
	// environment reads them (the policy pins their hashes); the other OS
	// launches entry "post" from the same files with a public copy of the
	// signed policy.
	copyFile(t, kernel, filepath.Join(dd, "boot", "vmlinuz"))
	for name, img := range map[string]string{"setup": setup, "idle": idle, "post": post, "kexec": kexec} {
		copyFile(t, img, filepath.Join(dd, "boot", name+".cpio"))
	}
	copyFile(t, e.Path("policy.signed"), filepath.Join(dd, "attack", "policy.signed"))
	copyFile(t, e.Path("policy.pub"), filepath.Join(dd, "attack", "policy.pub"))
	// The kexec round trip relaunches the pre-launch environment from the
	// disk, through a signed policy that pins its kernel and image.
	copyFile(t, r.pre, filepath.Join(dd, "prelaunch.cpio"))
	writeFile(t, e.Path("relaunch.json"), []byte(fmt.Sprintf(`{"version": 1, "entries": [{"name": "prelaunch",
  "kernel": {"path": "/boot/vmlinuz", "sha256": %q}, "initrd": {"path": "/prelaunch.cpio", "sha256": %q},
  "cmdline": %q, "profile": "measured-v1"}]}`, fileSHA(t, kernel), fileSHA(t, r.pre), qemu.DefaultAppend+" slkit.entry=post")))
	e.Run("policy", "sign", "--key", e.Path("policy.key"), "--in", e.Path("relaunch.json"), "--out", filepath.Join(dd, "relaunch.signed"))
	if err := qemu.MakeExt4(context.Background(), dd, r.disk, 192); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{r.pre, setup, r.disk} {
		if st, err := os.Stat(p); err == nil {
			t.Logf("%s: %.1f MB", filepath.Base(p), float64(st.Size())/1e6)
		}
	}
	return r
}

// boot boots the pre-launch image under OVMF with the persistent VARS
// store and disk, launching entry (written to the disk: the kernel command
// line stays the same); the guest's reboots stay in the same QEMU run.
func (r *rigUpdate) boot(t *testing.T, entry string) *rigtest.Boot {
	if err := qemu.WriteExt4File(context.Background(), r.disk, "/entry", []byte(entry+"\n")); err != nil {
		t.Fatal(err)
	}
	return r.bootImage(r.pre)
}

func (r *rigUpdate) bootImage(img string) *rigtest.Boot {
	return r.e.Boot(img, qemu.DefaultAppend,
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

func wantLines(t *testing.T, b *rigtest.Boot, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if len(b.Lines(want)) == 0 {
			t.Errorf("console lacks %q", want)
		}
	}
}

// TestUpdateOnOVMFRig runs the update workflow end to end under OVMF with
// the same VARS file, swtpm state and disk across QEMU runs:
//
//  1. the launched OS seals a secret to PCRs 1 and 8, queues a vendor
//     variable, a Boot0001 and a BootOrder change, and prepares;
//  2. next boot: the pre-launch environment commits the journal and
//     reboots through the firmware (the BootOrder change needs it); the
//     firmware measures the new BootOrder into PCR 1; the pre-launch
//     environment finds the journal applied (its TPM anchor), counts the
//     launch (the window opens) and launches "idle";
//  3. another OS booted from other media during the window counts a launch
//     and extends PCRs 8 and 9 with the launch's events: it cannot unseal
//     (the EFI stub measured its own image into PCR 9);
//  4. the post-update launch: the main object is refused (PCR 1) and the
//     update object releases the secret inside the window; the target
//     reads the new values, finishes and confirms its policy;
//  5. a journal with a bad signature: nothing committed, the launch
//     refused, saying why (and the policy anchor rose to the confirmed
//     version first);
//  6. the kexec round trip: the launched OS queues a change, prepares and
//     kexecs back into the pre-launch environment (from the disk), which
//     commits and relaunches without a firmware reboot.
func TestUpdateOnOVMFRig(t *testing.T) {
	t.Parallel()
	r := setupRig(t)
	ctx := context.Background()
	var rebootPath, kexecPath time.Duration

	t.Run("prepare", func(t *testing.T) {
		b := r.boot(t, "setup")
		b.MustSucceed(t)
		if !contains(b.Lines("update object sealed to sha256 PCRs 8,9, PCRs 9 predicted for /slkit/policy.json entry \"post\" from the firmware event log; firmware PCRs 1 left out (the queued changes are measured there), bounded by the update window: counter 0x0180534c in"), "and by PCRs 9 as the pre-launch stage leaves them") {
			t.Errorf("prepare did not report the window:\n%s", strings.Join(after(b, "running slkit update prepare"), "\n"))
		}
		wantLines(t, b, "slkit: efi: journal anchor 0x0180534e defined", "launch policy version 1, TPM minimum 0 (anchor 0x0180534d, defined now)")
		t.Logf("%s", b)
	})

	t.Run("commit, firmware reboot, launch", func(t *testing.T) {
		b := r.boot(t, "idle")
		b.MustSucceed(t)
		wantLines(t, b,
			"slkit: efi:   1 set           applied        "+vendorVar,
			"slkit: efi:   2 set           applied        "+boot0001,
			"slkit: efi:   3 set           applied        "+bootOrder,
			"slkit: efi: rebooting: a committed change takes effect only through the firmware",
			"applied already (TPM anchor)",
			"slkit: update counter 0x0180534c incremented to")
		if n := len(b.Lines("slkit: phase=efi-commit")); n != 2 {
			t.Errorf("%d commits, want 2 (before and after the firmware reboot)", n)
		}
		if d, ok := b.Phase("init", "verify-policy"); ok {
			rebootPath = d
		}
		logLines(t, b, "slkit: efi:", "slkit: update counter")
		t.Logf("%s", b)
	})

	t.Run("another OS cannot unseal", func(t *testing.T) {
		b := r.bootImage(r.attack)
		reason := b.MustFail(t, "update object: PCR 9")
		// It opened the window and reproduced PCR 8: only PCR 9 is left.
		wantLines(t, b, "slkit: update counter 0x0180534c incremented to")
		if strings.Contains(reason, "update object: PCR 8") || strings.Contains(reason, "update window") {
			t.Errorf("refused for another reason than PCR 9: %s", reason)
		}
		logLines(t, b, "slkit: update counter", "result=")
		t.Logf("%s", b)
	})

	t.Run("post-update launch, unseal, finish", func(t *testing.T) {
		b := r.boot(t, "post")
		b.MustSucceed(t)
		wantLines(t, b,
			"applied already (TPM anchor)",
			"the update object unseals (the main object is refused: PCR 1: event",
			`"BootOrder" sha256 differs`,
			r.secretFP,
			"order: 0001,0000",
			"the update object released the secret; the main object was refused: PCR 1",
			"closes at the next launch",
			"confirmed policy_version 1")
		if v := after(b, "running slkit efi vars get "+vendorVar); !contains(v, "data: 0102") {
			t.Errorf("vendor variable after the commit:\n%s", strings.Join(v, "\n"))
		}
		if last := b.Lines("the main object unseals"); len(last) != 1 {
			t.Errorf("after finish the main object does not unseal: %q", b.Tail(6))
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
		b := r.boot(t, "post")
		reason := b.MustFail(t, "launch exited with status 3", "commit EFI variables: nothing committed, nothing launched", "journal signature does not verify")
		if len(b.Lines("phase=measure")) != 0 || len(b.Lines("phase=init")) != 1 {
			t.Errorf("something was measured or launched after the refusal: %s", reason)
		}
		wantLines(t, b, "launch policy version 1, TPM minimum 1 (anchor 0x0180534d, raised: the launched OS confirmed this policy)")
		if got := r.readDisk(t, "/journal.state"); !bytes.Equal(got, state) {
			t.Error("the refused journal changed the state file")
		}
		if err := qemu.WriteExt4File(ctx, r.disk, "/journal", good); err != nil {
			t.Fatal(err)
		}
		logLines(t, b, "slkit: efi", "slkit: launch policy", "result=")
		t.Logf("%s", b)
	})

	t.Run("kexec round trip", func(t *testing.T) {
		b := r.boot(t, "kexec")
		b.MustSucceed(t)
		// The variable is still what the commit wrote: the tampered run
		// wrote nothing.
		if v := after(b, "running slkit efi vars get "+vendorVar); !contains(v, "data: 0102") {
			t.Errorf("vendor variable before the round trip:\n%s", strings.Join(v, "\n"))
		}
		wantLines(t, b,
			"update object sealed to sha256 PCRs 1,8, PCRs 8 predicted for "+diskDir+"/relaunch.signed entry \"prelaunch\" then /slkit/policy.json entry \"post\" from the current PCR values",
			"slkit: efi:   1 set           applied        "+vendorVar,
			"not incremented: PCR 8 is not at its reset value",
			"the update object unseals (the main object is refused: PCR 8",
			r.secretFP,
			"data: 0304",
			"the update object released the secret; the main object was refused: PCR 8")
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
