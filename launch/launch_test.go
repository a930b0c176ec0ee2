package launch

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/u-root/u-root/pkg/cpio"

	"github.com/slkit/slkit/launch/policy"
	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
)

// recKexec records what a launch hands over: copies of the bytes, taken
// at Load (the launch closes its memory files when it returns). before,
// when set, runs first: the moment between the measurement and the kexec.
type recKexec struct {
	before   func()
	loaded   *loadedBytes
	executed bool
}

// loadedBytes is what Load got.
type loadedBytes struct {
	Kernel, Initrd []byte // Initrd is nil without one
	Cmdline        string
	// Unsealed is checkSealed's complaint about a file (nil: both were
	// sealed, read-only memory files).
	Unsealed error
}

func (r *recKexec) Load(h *Handover) (Loaded, error) {
	if r.before != nil {
		r.before()
	}
	l := &loadedBytes{Cmdline: h.Cmdline, Unsealed: checkSealed(h.Kernel)}
	var err error
	if l.Kernel, err = io.ReadAll(io.NewSectionReader(h.Kernel, 0, 1<<40)); err != nil {
		return Loaded{}, err
	}
	if h.Initrd != nil {
		if l.Initrd, err = io.ReadAll(io.NewSectionReader(h.Initrd, 0, 1<<40)); err != nil {
			return Loaded{}, err
		}
		l.Unsealed = errors.Join(l.Unsealed, checkSealed(h.Initrd))
	}
	r.loaded = l
	return Loaded{Syscall: "recorded"}, nil
}

func (r *recKexec) Execute() error { r.executed = true; return nil }

type launchFixture struct {
	fsys   fstest.MapFS
	signed []byte
	pub    ed25519.PublicKey
	key    ed25519.PrivateKey
	kernel []byte
	initrd []byte
}

func sha(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func newLaunchFixture(t *testing.T, doc func(f *launchFixture) string) *launchFixture {
	t.Helper()
	f := &launchFixture{kernel: []byte("bzImage kernel bytes"), initrd: bytes.Repeat([]byte("initrd "), 1000)}
	f.key = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))
	f.pub = f.key.Public().(ed25519.PublicKey)
	f.fsys = fstest.MapFS{
		"boot/vmlinuz":    {Data: f.kernel},
		"boot/initrd.img": {Data: f.initrd},
	}
	var err error
	f.signed, err = policy.Sign([]byte(doc(f)), f.key)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func defaultDoc(f *launchFixture) string {
	return fmt.Sprintf(`{"version": 1, "entries": [
  {"name": "default", "kernel": {"path": "/boot/vmlinuz", "sha256": "%s"},
   "initrd": {"path": "/boot/initrd.img", "sha256": "%s"},
   "cmdline": "console=ttyS0 msg=\"a b\"", "profile": "measured-v1"},
  {"name": "nodrtm-bad", "kernel": {"path": "/boot/vmlinuz", "sha256": "%s"},
   "cmdline": "", "profile": "measured-v1", "require_drtm": true},
  {"name": "wrong-kernel", "kernel": {"path": "/boot/vmlinuz", "sha256": "%s"},
   "cmdline": "", "profile": "measured-v1"},
  {"name": "wrong-initrd", "kernel": {"path": "/boot/vmlinuz", "sha256": "%s"},
   "initrd": {"path": "/boot/initrd.img", "sha256": "%s"},
   "cmdline": "", "profile": "measured-v1"},
  {"name": "missing", "kernel": {"path": "/boot/nope", "sha256": "%s"},
   "cmdline": "", "profile": "measured-v1"}
]}`, sha(f.kernel), sha(f.initrd), sha(f.kernel), sha([]byte("other")), sha(f.kernel), sha([]byte("other")), sha(f.kernel))
}

func TestLaunch(t *testing.T) {
	tt := tpmtest.Open(t)
	f := newLaunchFixture(t, defaultDoc)
	logPath := filepath.Join(t.TempDir(), "prelaunch.bin")
	k := &recKexec{}
	var phases []string
	res, err := Launch(tt, f.signed, f.pub, WithFS(f.fsys), WithKexec(k), WithLaunchLog(logPath),
		WithPhase(func(p string) { phases = append(phases, p) }))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(phases) != "[verify-policy measure kexec]" {
		t.Fatalf("phases %v", phases)
	}
	if res.Entry.Name != "default" || !k.executed || k.loaded == nil {
		t.Fatalf("entry %q, executed %v", res.Entry.Name, k.executed)
	}
	// The PCRs are what Predict says for the policy's entry, policy included.
	banks, _ := tpm.ActiveBanks(tt)
	e := &Entry{Kernel: Image{R: bytes.NewReader(f.kernel), Size: int64(len(f.kernel))},
		Initrd:  &Image{R: bytes.NewReader(f.initrd), Size: int64(len(f.initrd))},
		Cmdline: `console=ttyS0 msg="a b"`, Policy: f.signed}
	pred, err := Predict(e, MeasuredProfile(), banks)
	if err != nil {
		t.Fatal(err)
	}
	assertPredicted(t, tt, banks, pred)
	// The kernel gets the measured cmdline and the initrd followed by the
	// log archive holding exactly the log file.
	if k.loaded.Cmdline != `console=ttyS0 msg="a b"` {
		t.Fatalf("cmdline %q", k.loaded.Cmdline)
	}
	logFile, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if k.loaded.Unsealed != nil {
		t.Fatalf("handed over: %v", k.loaded.Unsealed)
	}
	all := k.loaded.Initrd
	if !bytes.HasPrefix(all, f.initrd) {
		t.Fatal("handed-over initrd does not start with the measured initrd")
	}
	off := (len(f.initrd) + 511) / 512 * 512
	recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(bytes.NewReader(all[off:])))
	if err != nil || len(recs) != 2 {
		t.Fatalf("appended archive: %v, %d records", err, len(recs))
	}
	inCpio, _ := io.ReadAll(io.NewSectionReader(recs[1], 0, int64(recs[1].FileSize)))
	if !bytes.Equal(inCpio, logFile) || "/"+recs[1].Name != TargetLogPath {
		t.Fatalf("archive holds %s (%d bytes), log file %d bytes", recs[1].Name, len(inCpio), len(logFile))
	}
	l, err := tpm.ParseEventLog(inCpio)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := tpm.VerifyEventLog(tt, l); err != nil || v.Err() != nil {
		t.Fatalf("handed-over log does not replay: %v %v", err, v.Err())
	}
	if d := l.Events[0].Description(); d != "launch-policy" {
		t.Fatalf("first event %q", d)
	}
}

// TestLaunchRefusals: every refusal boots nothing; a policy that does not
// verify is refused before a single TPM command.
func TestLaunchRefusals(t *testing.T) {
	tt := tpmtest.Open(t)
	f := newLaunchFixture(t, defaultDoc)
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{8}, 32)).Public().(ed25519.PublicKey)
	tampered := bytes.Replace(f.signed, []byte(`"payload": "ey`), []byte(`"payload": "eX`), 1)
	if bytes.Equal(tampered, f.signed) {
		t.Fatal("tampering did not change the file")
	}
	for _, tc := range []struct {
		name    string
		signed  []byte
		pub     ed25519.PublicKey
		entry   string
		want    error
		msg     string
		extends int
	}{
		{"wrong key", f.signed, other, "", policy.ErrSignature, "no signature of the policy verifies", 0},
		{"tampered payload", tampered, f.pub, "", policy.ErrSignature, "", 0},
		{"not an envelope", []byte(`{"version":1}`), f.pub, "", policy.ErrMalformed, "envelope", 0},
		{"unknown entry", f.signed, f.pub, "nope", policy.ErrNoEntry, `"nope" (the policy has: default, nodrtm-bad`, 0},
		{"drtm required", f.signed, f.pub, "nodrtm-bad", ErrDRTMUnavailable, "no DRTM backend", 0},
		{"kernel mismatch", f.signed, f.pub, "wrong-kernel", ErrImageMismatch, "kernel /boot/vmlinuz: sha256 ", 1},
		{"initrd mismatch", f.signed, f.pub, "wrong-initrd", ErrImageMismatch, "initrd /boot/initrd.img: sha256 ", 2},
		{"missing image", f.signed, f.pub, "missing", ErrEntry, "/boot/nope: file does not exist", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := tpm.NewRecorder(tt)
			k := &recKexec{}
			logPath := filepath.Join(t.TempDir(), "log.bin")
			_, err := Launch(rec, tc.signed, tc.pub, WithFS(f.fsys), WithKexec(k), WithEntry(tc.entry), WithLaunchLog(logPath))
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err %v, want %v containing %q", err, tc.want, tc.msg)
			}
			if k.loaded != nil || k.executed {
				t.Fatal("kexec called despite the refusal")
			}
			n := 0
			for _, cc := range rec.CommandCodes() {
				if cc == ccPCRExtend {
					n++
				}
			}
			if n != tc.extends {
				t.Fatalf("%d extends, want %d", n, tc.extends)
			}
			if tc.extends == 0 && rec.Count() != 0 && tc.want != ErrEntry {
				t.Fatalf("%d TPM commands before the refusal", rec.Count())
			}
			if tc.extends > 0 {
				b, err := os.ReadFile(logPath)
				if err != nil {
					t.Fatal(err)
				}
				l, _ := tpm.ParseEventLog(b)
				if len(l.Events) != tc.extends {
					t.Fatalf("log holds %d events, %d extended", len(l.Events), tc.extends)
				}
			}
			tt.Reboot()
		})
	}
}

func TestLaunchHooks(t *testing.T) {
	tt := tpmtest.Open(t)
	f := newLaunchFixture(t, defaultDoc)
	var calls []string
	drtm := func(in *DRTMInput) ([]HandoverFile, error) {
		calls = append(calls, "drtm:"+in.Policy.Name)
		return nil, nil
	}
	k := &recKexec{}
	_, err := Launch(tt, f.signed, f.pub, WithFS(f.fsys), WithKexec(k), WithEntry("nodrtm-bad"),
		WithLaunchLog(filepath.Join(t.TempDir(), "l")),
		WithPhase(func(p string) { calls = append(calls, p) }),
		WithHooks(Hooks{
			CommitEFI:     func() error { calls = append(calls, "efi"); return nil },
			StageDRTM:     drtm,
			BeforeExecute: func() error { calls = append(calls, "before-exec"); return nil },
		}))
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(calls); got != "[efi verify-policy measure drtm drtm:nodrtm-bad kexec before-exec]" {
		t.Fatalf("order %s", got)
	}
	stop := errors.New("stop")
	k = &recKexec{}
	_, err = Launch(tt, f.signed, f.pub, WithFS(f.fsys), WithKexec(k), WithLaunchLog(filepath.Join(t.TempDir(), "l")),
		WithHooks(Hooks{BeforeExecute: func() error { return stop }}))
	if !errors.Is(err, stop) || k.loaded == nil || k.executed {
		t.Fatalf("BeforeExecute refusal: %v, loaded %v, executed %v", err, k.loaded != nil, k.executed)
	}
}

// withProfile makes Launch use p for every entry, whatever profile the
// policy names: profiles this build does not ship.
func withProfile(p *Profile) LaunchOption {
	return func(c *launchConfig) { c.profile = func(string) (*Profile, error) { return p, nil } }
}

// without returns the measured profile without the step of c.
func without(c Component) *Profile {
	p := MeasuredProfile()
	var steps []Step
	for _, s := range p.Steps {
		if s.Component != c {
			steps = append(steps, s)
		}
	}
	p.Steps = steps
	return p
}

// TestLaunchChecksEveryPinnedImage: an image the policy pins is compared
// with its digest even when the measurement profile has no step for it; a
// mismatch boots nothing. With the right images such a profile launches.
func TestLaunchChecksEveryPinnedImage(t *testing.T) {
	tt := tpmtest.Open(t)
	f := newLaunchFixture(t, defaultDoc)
	for _, tc := range []struct {
		entry string
		skip  Component
		want  string
	}{
		{"wrong-initrd", Initrd, "initrd /boot/initrd.img: sha256 "},
		{"wrong-kernel", Kernel, "kernel /boot/vmlinuz: sha256 "},
	} {
		t.Run(tc.entry, func(t *testing.T) {
			k := &recKexec{}
			_, err := Launch(tt, f.signed, f.pub, WithFS(f.fsys), WithKexec(k), WithEntry(tc.entry),
				WithLaunchLog(filepath.Join(t.TempDir(), "l")), withProfile(without(tc.skip)))
			if !errors.Is(err, ErrImageMismatch) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want ErrImageMismatch naming %q", err, tc.want)
			}
			if k.loaded != nil || k.executed {
				t.Fatal("an unchecked image was handed to kexec")
			}
		})
	}
	k := &recKexec{}
	if _, err := Launch(tt, f.signed, f.pub, WithFS(f.fsys), WithKexec(k), WithLaunchLog(filepath.Join(t.TempDir(), "l")),
		withProfile(without(Initrd))); err != nil || !k.executed {
		t.Fatalf("matching images, profile without an initrd step: %v", err)
	}
}
