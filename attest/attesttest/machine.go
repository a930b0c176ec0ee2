// Package attesttest gives attestation tests a machine without QEMU: a
// swtpm manufactured with an EK certificate (swtpm_setup, a local CA),
// booted the way the rig boots — the OVMF firmware log captured on the rig
// replayed into PCR 0–7, then `slkit launch` with the emulated DRTM
// (measured launch into PCR 8/9, dynamic launch into PCR 17/18) — whose
// logs and TPM produce real evidence.
package attesttest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/slkit/slkit/attest"
	"github.com/slkit/slkit/launch"
	"github.com/slkit/slkit/launch/policy"
	"github.com/slkit/slkit/rig/swtpm"
	"github.com/slkit/slkit/slaunch"
	"github.com/slkit/slkit/slaunch/slaunchtest"
	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
)

// Cmdline is the launched entry's command line.
const Cmdline = "console=ttyS0 quiet"

// Machine is a TPM after a boot, and what a verifier knows about it.
type Machine struct {
	T testing.TB
	// Dir is the machine's scratch directory; Images the directory the
	// policy's paths are found under (/boot/vmlinuz, /boot/initrd.img,
	// /boot/vmlinuz-other).
	Dir, Images string
	// Spec opens the machine's TPM (swtpm's data socket).
	Spec string
	// CA is the local CA that signed the EK certificate.
	CA swtpm.LocalCA
	// Signed is the signed launch policy and Pub its key: entries "drtm"
	// (the launched one, require_drtm), "plain" (same images, no DRTM
	// required) and "other" (another kernel).
	Signed []byte
	Pub    ed25519.PublicKey
	Key    ed25519.PrivateKey
	// Logs are the boot's firmware, pre-launch and DRTM logs.
	Logs attest.Logs

	proc *swtpm.Process
}

// firmwareLog is the OVMF log the rig captured (tpm/testdata).
func firmwareLog(t testing.TB) []byte {
	_, file, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "tpm", "testdata", "eventlogs", "ovmf-q35-swtpm.bin"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Boot manufactures a TPM with an EK certificate from the CA in caDir
// (created on first use) and boots it: the firmware log's events extended
// into PCR 0–7, then launch.Launch of policy entry entry ("drtm" for the
// emulated dynamic launch, "plain" and a launch without a DRTM backend for
// a measured launch only). The TPM stays at locality 2 after a dynamic
// launch, as under a Secure Launch kernel.
func Boot(t testing.TB, caDir, entry string) *Machine {
	t.Helper()
	m := &Machine{T: t, Dir: t.TempDir(), CA: swtpm.NewLocalCA(caDir)}
	s, err := swtpm.Start(context.Background(), filepath.Join(m.Dir, "tpm"), swtpm.WithDataSocket(), swtpm.WithEKCert(caDir))
	if err != nil {
		tpmtest.SkipOrFatal(t, err)
	}
	t.Cleanup(func() { s.Close() })
	m.proc, m.Spec = s, s.Spec()
	m.writeImages()
	c := m.Open()
	defer c.Close()
	m.Logs.Firmware = firmwareLog(t)
	fw, err := tpm.ParseEventLog(m.Logs.Firmware)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range fw.Events {
		if e.Type == tpm.EvNoAction {
			continue
		}
		if err := tpm.Extend(c, e.PCR, e.Digests); err != nil {
			t.Fatalf("replay the firmware log: %v", err)
		}
	}
	logPath := filepath.Join(m.Dir, "prelaunch.bin")
	opts := []launch.LaunchOption{launch.WithFS(os.DirFS(m.Images)), launch.WithKexec(launch.NewKexec(launch.WithDryRun(true))),
		launch.WithEntry(entry), launch.WithLaunchLog(logPath)}
	if entry == "drtm" {
		ctl, err := s.DialCtrl()
		if err != nil {
			t.Fatal(err)
		}
		defer ctl.Close()
		host := &slaunchtest.Host{TPM: ctl}
		opts = append(opts, launch.WithDRTM(launch.EmulatedDRTM(func() (slaunch.DCEHost, io.Closer, error) {
			cl, conn := host.Pipe(t)
			return cl, conn, nil
		})))
	}
	if _, err := launch.Launch(c, m.Signed, m.Pub, opts...); err != nil {
		t.Fatalf("launch %q: %v", entry, err)
	}
	if m.Logs.PreLaunch, err = os.ReadFile(logPath); err != nil {
		t.Fatal(err)
	}
	if entry == "drtm" {
		if m.Logs.DRTM, err = os.ReadFile(filepath.Join(m.Dir, launch.DRTMLogName)); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// Open opens the machine's TPM (swtpm serves one connection at a time:
// close it before opening another).
func (m *Machine) Open() *tpm.Conn {
	m.T.Helper()
	c, err := tpm.Open(m.Spec)
	if err != nil {
		m.T.Fatal(err)
	}
	return c
}

// Nonce returns a fresh 32-byte nonce.
func Nonce(t testing.TB) []byte {
	n := make([]byte, 32)
	if _, err := rand.Read(n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Quote collects evidence on the machine's TPM for nonce, with its logs
// and opts.
func (m *Machine) Quote(nonce []byte, opts ...attest.CollectOption) *attest.Evidence {
	m.T.Helper()
	c := m.Open()
	defer c.Close()
	ev, err := attest.Collect(c, nonce, append([]attest.CollectOption{attest.WithLogs(m.Logs)}, opts...)...)
	if err != nil {
		m.T.Fatal(err)
	}
	return ev
}

// writeImages writes a kernel (a bzImage header without an MLE header,
// like the Debian kernel's, then 1 MiB), an initrd and a second kernel
// into Images/boot, and signs the policy.
func (m *Machine) writeImages() {
	m.Images = filepath.Join(m.Dir, "images")
	boot := filepath.Join(m.Images, "boot")
	if err := os.MkdirAll(boot, 0o755); err != nil {
		m.T.Fatal(err)
	}
	kernel := append(slaunchtest.Kernel(0x020F, 0x10, 0), bytes.Repeat([]byte("dlme"), 1<<18)...)
	other := append(bytes.Clone(kernel), []byte("another kernel")...)
	initrd := bytes.Repeat([]byte("initramfs "), 5000)
	for name, b := range map[string][]byte{"vmlinuz": kernel, "vmlinuz-other": other, "initrd.img": initrd} {
		if err := os.WriteFile(filepath.Join(boot, name), b, 0o644); err != nil {
			m.T.Fatal(err)
		}
	}
	m.Key = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))
	m.Pub = m.Key.Public().(ed25519.PublicKey)
	m.Signed = m.Sign(Entry{"other", "vmlinuz-other", true}, Entry{"drtm", "vmlinuz", true}, Entry{"plain", "vmlinuz", false})
}

// Entry is a policy entry over the machine's images: Kernel names a file
// of Images/boot, the initrd is initrd.img, the command line Cmdline.
type Entry struct {
	Name, Kernel string
	RequireDRTM  bool
}

// Sign writes and signs a policy of these entries with the machine's key,
// the images' digests computed from the files.
func (m *Machine) Sign(entries ...Entry) []byte {
	m.T.Helper()
	sum := func(name string) string {
		b, err := os.ReadFile(filepath.Join(m.Images, "boot", name))
		if err != nil {
			m.T.Fatal(err)
		}
		s := sha256.Sum256(b)
		return hex.EncodeToString(s[:])
	}
	var es []string
	for _, e := range entries {
		es = append(es, fmt.Sprintf(`{"name": %q, "kernel": {"path": "/boot/%s", "sha256": %q},
   "initrd": {"path": "/boot/initrd.img", "sha256": %q}, "cmdline": %q, "profile": "measured-v1", "require_drtm": %v}`,
			e.Name, e.Kernel, sum(e.Kernel), sum("initrd.img"), Cmdline, e.RequireDRTM))
	}
	signed, err := policy.Sign([]byte(`{"version": 1, "entries": [`+strings.Join(es, ",\n  ")+"]}\n"), m.Key)
	if err != nil {
		m.T.Fatal(err)
	}
	return signed
}
