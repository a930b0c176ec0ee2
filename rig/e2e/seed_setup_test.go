package e2e_test

import (
	"context"
	"crypto/rand"
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

// The seed's flow (docs/seed-flow.md) on the OVMF rig: one target OS,
// launched dynamically every time, whose secret is sealed to PCR 17+18
// once, before the VM ever boots; the firmware-variable changes it queues
// are committed by the pre-launch environment, by a kexec round trip or by
// a firmware reboot, and the same sealed object unseals after each.
//
// Paths as both environments see the shared disk (/run/disk).
const (
	seedDisk     = "/run/disk"
	seedJournal  = seedDisk + "/journal"
	seedSecret   = seedDisk + "/secret.sealed"
	seedOther    = seedDisk + "/other.sealed"
	seedKey      = seedDisk + "/efi.key.sealed"
	seedJobs     = seedDisk + "/jobs"
	seedRelaunch = seedDisk + "/relaunch.signed"
	seedGUID     = "7d9e2b5c-3f1a-4c6e-8b2d-91a0c4e5f607"
	// The handed-over DRTM log, and the one `drtm leave` writes.
	handedLog = "/slkit/drtm-eventlog.bin"
	leftLog   = "/run/slkit/drtm-eventlog.bin"
)

// The shared disk's device in both environments (NVMe, built into the
// cloud kernel).
const seedDev = "/dev/nvme0n1"

var (
	seedVendor   = "SlkitSeed-" + seedGUID
	seedAppend   = "SlkitSeedLog-" + seedGUID
	seedBoot0001 = efi.BootEntry(1).String()
	seedOrder    = efi.BootOrder.String()
	bootNext     = efi.BootNext.String()
)

// seedRig is the flow's setup: keys, images, policies, the forward seals,
// the shared disk and the VM's persistent state (OVMF variable store,
// swtpm state).
type seedRig struct {
	e *rigtest.Env
	// target and pre are the images; pred is `predict --drtm emulated
	// --json` of the target's launch.
	target, pre, pred string
	vars, disk        string
	// secret is the launch's secret; secretFP its fingerprint.
	secret   []byte
	secretFP string
	// kernel, initrd (the target image) and cmdline of the launch, for
	// the independent PCR computation.
	kernelBytes, targetBytes []byte
	cmdline                  string
	diskDir                  string
	// imgSlkit and efivarfs go into every image.
	imgSlkit, efivarfs string
	// demo narrates each step (the test log; the demo's output).
	demo *seedDemo
}

func queueStep(args string) string {
	return "efi queue " + args + " --key " + seedKey + " --journal " + seedJournal
}

// setupSeed builds everything on the host, before any boot:
//
//   - the target image: mounts the shared disk; verifies its DRTM log;
//     reads PCR 1, 17, 18; unseals the secret (fingerprint only); is
//     refused the secret sealed for another launch (another command line:
//     PCR 18); lists the variables and the journal; then runs the job the
//     disk's request file names: "round-trip" (queue a set and an append,
//     leave the launch, be refused the secret and the journal key, kexec
//     the pre-launch environment from the disk), "reboot-update" (queue a
//     set, Boot0001, BootOrder and BootNext; reboot through the firmware)
//     or "rogue-dce" (ask for a DCE event in the launch: refused; the
//     secret still unseals);
//   - the launch policy (entry "seed", require_drtm; images on the disk)
//     and its forward seals on the rig's TPM, from `predict --drtm
//     emulated`: the secret to PCR 17+18, another secret to the launch of
//     another command line, and the journal signing key (efi keygen
//     --seal-pcrs), whose public key goes into the pre-launch image;
//   - the pre-launch image: mounts the disk, commits the journal (the
//     public key in its image), launches with the emulated DRTM;
//   - the relaunch policy on the disk, pinning the pre-launch kernel and
//     image that the round trip kexecs.
func setupSeed(t testing.TB, demo *seedDemo, opts ...seedOption) *seedRig {
	var cfg seedConfig
	for _, o := range opts {
		o(&cfg)
	}
	e := rigtest.New(t)
	r := &seedRig{e: e, vars: e.Path("OVMF_VARS.fd"), disk: e.Path("disk.img"), diskDir: e.Path("disk"),
		cmdline: qemu.DefaultAppend, demo: demo}
	for _, d := range []string{r.diskDir, filepath.Join(r.diskDir, "boot")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	imgSlkit := e.ImageSlkit()
	efivarfs, err := e.Kernel.Module("fs/efivarfs/efivarfs.ko")
	if err != nil {
		t.Fatal(err)
	}
	r.imgSlkit, r.efivarfs = imgSlkit, efivarfs
	r.demo.narrate("keys: the launch policy's (Ed25519, on the host)")
	e.Run("policy", "keygen", "--out", e.Path("policy.key"), "--pub", e.Path("policy.pub"))
	lo, err := (&efi.LoadOption{Attributes: 1, Description: "slkit seed flow", FilePath: []byte{0x7f, 0xff, 4, 0}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	rigtest.MustWrite(t, e.Path("boot0001.bin"), lo)

	r.demo.narrate("image: the target OS (one image for every launch; the disk's job request says what it does)")
	mount := "efi mount --device " + seedDev + " --dir " + seedDisk
	leavingRelaunch := "launch --policy " + seedRelaunch + " --policy-key /etc/seed/policy.pub --entry prelaunch --root " + seedDisk +
		" --log /run/slkit/relaunch-eventlog.bin"
	r.target = e.Image("target.cpio", "--slkit-binary", imgSlkit, "--module", efivarfs,
		"--add", e.Path("policy.pub")+":/etc/seed/policy.pub", "--add", e.Path("boot0001.bin")+":/etc/seed/boot0001.bin",
		"--run", mount,
		"--then", "drtm verify",
		"--then", "pcr read --json 1 17 18",
		"--then", "unseal "+seedSecret+" --fingerprint --eventlog "+handedLog,
		"--then", "! unseal "+seedOther+" --fingerprint --eventlog "+handedLog,
		"--then", "efi vars list --json",
		"--then", "efi queue list --journal "+seedJournal,
		"--job-request", seedJobs,
		"--job", "round-trip:"+queueStep("set "+seedVendor+" --hex 0102 --expect-absent --eventlog "+handedLog),
		"--job", "round-trip:"+queueStep("append "+seedAppend+" --hex 0a0b --expect-absent --eventlog "+handedLog),
		"--job", "round-trip:drtm leave",
		"--job", "round-trip:! unseal "+seedSecret+" --fingerprint --eventlog "+leftLog,
		"--job", "round-trip:! "+queueStep("set "+seedVendor+" --hex 0909 --eventlog "+leftLog),
		"--job", "round-trip:"+leavingRelaunch,
		"--job", "reboot-update:"+queueStep("set "+seedVendor+" --hex 0304 --expect-hex 0102"),
		"--job", "reboot-update:"+queueStep("set "+seedBoot0001+" --file /etc/seed/boot0001.bin --expect-absent"),
		"--job", "reboot-update:"+queueStep("set "+seedOrder+" --boot-order 0001,0000 --expect-hex 0000"),
		"--job", "reboot-update:"+queueStep("set "+bootNext+" --u16 0001"),
		"--job-on-success", "reboot-update:reboot",
		"--job", "rogue-dce:! launch --policy /slkit/policy.json --policy-key /etc/seed/policy.pub --root "+seedDisk+
			" --drtm emulated --dry-run --log /run/slkit/rogue-eventlog.bin",
		"--job", "rogue-dce:unseal "+seedSecret+" --fingerprint")
	rigtest.MustWrite(t, filepath.Join(r.diskDir, "boot", "target.cpio"), rigtest.MustRead(t, r.target))
	rigtest.MustWrite(t, filepath.Join(r.diskDir, "boot", "vmlinuz"), rigtest.MustRead(t, e.Kernel.Path))

	r.demo.narrate("policy: entry \"seed\" = (Debian kernel, target image, command line), require_drtm; signed")
	e.WriteFile("policy.json", fmt.Sprintf(`{"version": 1, "entries": [{"name": "seed",
  "kernel": {"path": "/boot/vmlinuz", "sha256": %q}, "initrd": {"path": "/boot/target.cpio", "sha256": %q},
  "cmdline": %q, "profile": "measured-v1", "require_drtm": true}]}
`, rigtest.FileSHA256(t, e.Kernel.Path), rigtest.FileSHA256(t, r.target), r.cmdline))
	e.Run("policy", "sign", "--key", e.Path("policy.key"), "--in", e.Path("policy.json"), "--out", e.Path("policy.signed"))

	r.demo.narrate("predict PCR 17/18 of the dynamic launch (slkit predict --drtm emulated), before any boot")
	r.pred = e.Run("predict", "--drtm", "emulated", "--kernel", e.Kernel.Path, "--initrd", r.target, "--cmdline", r.cmdline,
		"--policy", e.Path("policy.signed"), "--json")
	e.WriteFile("predicted.json", r.pred)
	e.WriteFile("predicted-other.json", e.Run("predict", "--drtm", "emulated", "--kernel", e.Kernel.Path, "--initrd", r.target,
		"--cmdline", r.cmdline+" slkit.other", "--json"))
	r.secret = make([]byte, 32)
	rand.Read(r.secret)
	rigtest.MustWrite(t, e.Path("secret"), r.secret)
	rigtest.MustWrite(t, e.Path("other-secret"), []byte("the secret of another launch"))
	r.secretFP = fmt.Sprintf("sha256:%x", sha256.Sum256(r.secret))

	r.demo.narrate("forward-seal, in the rig's TPM: the secret and the journal signing key to PCR 17+18 (+ locality 2)")
	e.WithHostTPM(func(spec string) {
		e.Run("--tpm", spec, "seal", "--pcrs", "17,18", "--pcr-values", e.Path("predicted.json"),
			"--in", e.Path("secret"), "--out", filepath.Join(r.diskDir, "secret.sealed"))
		e.Run("--tpm", spec, "seal", "--pcrs", "17,18", "--pcr-values", e.Path("predicted-other.json"),
			"--in", e.Path("other-secret"), "--out", filepath.Join(r.diskDir, "other.sealed"))
		if cfg.hostKey {
			e.Run("efi", "keygen", "--out", e.Path("efi.key"), "--pub", e.Path("efi.pub"))
			return
		}
		e.Run("--tpm", spec, "efi", "keygen", "--seal-pcrs", "17,18", "--pcr-values", e.Path("predicted.json"),
			"--out", filepath.Join(r.diskDir, "efi.key.sealed"), "--pub", e.Path("efi.pub"))
		r.checkLockedBeforeLaunch(spec)
	})

	r.demo.narrate("image: the pre-launch environment (commits the journal, then the dynamic launch)")
	steps := []string{"--then", prelaunchLaunch(seedJournal, cfg.launchFlags)}
	if cfg.snapshot {
		steps = append([]string{"--then", "efi vars list --json"}, steps...)
	}
	r.pre = e.Image("prelaunch.cpio", append([]string{"--slkit-binary", imgSlkit, "--module", efivarfs,
		"--policy", e.Path("policy.signed"), "--policy-key", e.Path("policy.pub"),
		"--add", e.Path("efi.pub") + ":/etc/seed/efi.pub",
		"--run", mount}, steps...)...)
	rigtest.MustWrite(t, filepath.Join(r.diskDir, "boot", "prelaunch.cpio"), rigtest.MustRead(t, r.pre))
	e.WriteFile("relaunch.json", fmt.Sprintf(`{"version": 1, "entries": [{"name": "prelaunch",
  "kernel": {"path": "/boot/vmlinuz", "sha256": %q}, "initrd": {"path": "/boot/prelaunch.cpio", "sha256": %q},
  "cmdline": %q, "profile": "measured-v1"}]}
`, rigtest.FileSHA256(t, e.Kernel.Path), rigtest.FileSHA256(t, r.pre), r.cmdline))
	e.Run("policy", "sign", "--key", e.Path("policy.key"), "--in", e.Path("relaunch.json"), "--out", filepath.Join(r.diskDir, "relaunch.signed"))
	r.kernelBytes, r.targetBytes = rigtest.MustRead(t, e.Kernel.Path), rigtest.MustRead(t, r.target)
	r.writeDisk(t)
	for _, p := range []string{r.target, r.pre, r.disk} {
		if st, err := os.Stat(p); err == nil {
			t.Logf("%s: %.1f MB", filepath.Base(p), float64(st.Size())/1e6)
		}
	}
	return r
}

// seedConfig varies the setup for the power-cut test.
type seedConfig struct {
	// hostKey: the journal signing key is a plain key on the host
	// (efi.key), so that the test queues between runs, instead of being
	// sealed to the launch.
	hostKey bool
	// snapshot: the pre-launch environment lists the variables before it
	// commits; launchFlags are added to its launch.
	snapshot    bool
	launchFlags string
}

type seedOption func(*seedConfig)

// prelaunchLaunch is the pre-launch environment's launch: commit the
// journal (signed with the key sealed to the launch; the public key in the
// image), verify the policy, measure, the emulated dynamic launch, kexec;
// extra flags are appended.
func prelaunchLaunch(journal, extra string) string {
	s := "launch --policy /etc/slkit/policy.json --policy-key /etc/slkit/policy.pub --root " + seedDisk + " --drtm emulated" +
		" --efi-journal " + journal + " --efi-pub /etc/seed/efi.pub --efi-allow *-" + seedGUID +
		" --handover /etc/slkit/policy.json:/slkit/policy.json"
	if extra != "" {
		s += " " + extra
	}
	return s
}

// checkLockedBeforeLaunch: on the rig's TPM before any launch (PCR 17 all
// 0xFF), neither the secret nor the journal signing key unseals.
func (r *seedRig) checkLockedBeforeLaunch(spec string) {
	e, t := r.e, r.e.T
	u := e.RunExit("--tpm", spec, "unseal", filepath.Join(r.diskDir, "secret.sealed"), "--fingerprint")
	if u.Code != 3 || !strings.Contains(u.Stderr, "unseal refused: PCR 17: sha256 differs") || !strings.Contains(u.Stderr, "now ffffffff") || u.Stdout != "" {
		t.Errorf("the secret before the launch: exit %d, stdout %q, stderr %q", u.Code, u.Stdout, u.Stderr)
	}
	r.demo.refusal("the secret, on the rig's TPM before any launch", strings.TrimSpace(u.Stderr))
	q := e.RunExit("--tpm", spec, "efi", "queue", "set", seedVendor, "--hex", "01", "--key", filepath.Join(r.diskDir, "efi.key.sealed"),
		"--journal", e.Path("host-journal"))
	if q.Code != 3 || !strings.Contains(q.Stderr, "the journal signing key: unseal refused: PCR 17") {
		t.Errorf("the journal key before the launch: exit %d, stderr %q", q.Code, q.Stderr)
	}
	if _, err := os.Stat(e.Path("host-journal")); err == nil {
		t.Error("a journal was signed before the launch")
	}
	r.demo.refusal("the journal signing key, on the rig's TPM before any launch", strings.TrimSpace(q.Stderr))
}

// writeDisk makes the shared disk's ext4 image from diskDir.
func (r *seedRig) writeDisk(t testing.TB) {
	t.Helper()
	if err := qemu.MakeExt4(context.Background(), r.diskDir, r.disk, 160); err != nil {
		t.Fatal(err)
	}
}

// request writes the job request file onto the disk (the VM is off).
func (r *seedRig) request(t testing.TB, jobs ...string) {
	t.Helper()
	if err := qemu.WriteExt4File(context.Background(), r.disk, "/jobs", []byte(strings.Join(jobs, "\n")+"\n")); err != nil {
		t.Fatal(err)
	}
}

// boot runs the pre-launch image under OVMF with the persistent variable
// store, TPM state and disk; the guest's reboots stay in the QEMU run.
func (r *seedRig) boot(timeout time.Duration, opts ...rigtest.BootOption) *rigtest.Boot {
	return r.bootImage(r.pre, timeout, opts...)
}

// bootImage is boot with another pre-launch image. The TPM is the rig's
// default TIS one: a CRB TPM makes OVMF's measured boot about a third
// faster under TCG, but on this loaded host the guest's TPM driver then
// timed out on PCR extends (its 750 ms budget) in 2 of some 20 boots.
func (r *seedRig) bootImage(img string, timeout time.Duration, opts ...rigtest.BootOption) *rigtest.Boot {
	return r.e.Boot(img, r.cmdline, append([]rigtest.BootOption{rigtest.WithTimeout(timeout),
		rigtest.WithVM(qemu.WithOVMF(qemu.OVMF{Vars: r.vars}), qemu.WithDisk(r.disk), qemu.WithReboot())}, opts...)...)
}
