package launch

import (
	"bytes"
	"crypto/ed25519"
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
	"github.com/slkit/slkit/slaunch"
	"github.com/slkit/slkit/slaunch/slaunchtest"
	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
)

type drtmFixture struct {
	fsys           *flipFS
	signed         []byte
	pub            ed25519.PublicKey
	kernel, initrd []byte
}

const drtmCmdline = "console=ttyS0 quiet"

// newDRTMFixture signs a policy with an entry that requires DRTM ("drtm")
// and one that does not ("plain"), for a bzImage without an MLE header
// (like the Debian kernel) followed by 1 MiB of other bytes.
func newDRTMFixture(t *testing.T) *drtmFixture {
	t.Helper()
	f := &drtmFixture{
		kernel: append(slaunchtest.Kernel(0x020F, 0x10, 0), bytes.Repeat([]byte("dlme"), 1<<18)...),
		initrd: bytes.Repeat([]byte("initramfs "), 5000),
	}
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, 32))
	f.pub = key.Public().(ed25519.PublicKey)
	files := map[string][]byte{"boot/vmlinuz": f.kernel, "boot/initrd.img": f.initrd}
	f.fsys = newFlipFS(files, files) // the same bytes on every read; counts them
	doc := fmt.Sprintf(`{"version": 1, "entries": [
  {"name": "drtm", "kernel": {"path": "/boot/vmlinuz", "sha256": "%s"},
   "initrd": {"path": "/boot/initrd.img", "sha256": "%s"},
   "cmdline": %q, "profile": "measured-v1", "require_drtm": true},
  {"name": "plain", "kernel": {"path": "/boot/vmlinuz", "sha256": "%s"},
   "initrd": {"path": "/boot/initrd.img", "sha256": "%s"},
   "cmdline": %q, "profile": "measured-v1"}]}`, sha(f.kernel), sha(f.initrd), drtmCmdline, sha(f.kernel), sha(f.initrd), drtmCmdline)
	var err error
	if f.signed, err = policy.Sign([]byte(doc), key); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *drtmFixture) entry() *Entry {
	return &Entry{Kernel: Image{R: bytes.NewReader(f.kernel), Size: int64(len(f.kernel))},
		Initrd:  &Image{R: bytes.NewReader(f.initrd), Size: int64(len(f.initrd))},
		Cmdline: drtmCmdline, Policy: f.signed}
}

// pipeHost opens the host channel to h over an in-memory pipe.
func pipeHost(t *testing.T, h *slaunchtest.Host) func() (slaunch.DCEHost, io.Closer, error) {
	return func() (slaunch.DCEHost, io.Closer, error) {
		c, conn := h.Pipe(t)
		return c, conn, nil
	}
}

// handedOver returns the files of the archive appended to the initrd.
func handedOver(t *testing.T, all []byte, initrdSize int) map[string][]byte {
	t.Helper()
	off := (initrdSize + 511) / 512 * 512
	recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(bytes.NewReader(all[off:])))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, r := range recs {
		if r.Mode&cpio.S_IFMT == cpio.S_IFREG {
			out["/"+r.Name], _ = io.ReadAll(io.NewSectionReader(r, 0, int64(r.FileSize)))
		}
	}
	return out
}

// TestLaunchEmulatedDRTM runs slkit's launch with the emulated backend on
// swtpm, with a host that answers the host channel as the rig's Mux does:
// PCR 8 and 9 equal PredictEmulatedDRTM and PCR 17 and 18 the values
// computed from the DRTM profile's definition, in every active bank; the
// target gets a DRTM log that verifies against the TPM; the host hashed
// exactly the DCE blob and set locality 2; and the kernel and initrd were
// read once each from the file system.
func TestLaunchEmulatedDRTM(t *testing.T) {
	tt := tpmtest.RequireSwtpm(t)
	ctl, err := tt.Control()
	if err != nil {
		t.Fatal(err)
	}
	f := newDRTMFixture(t)
	host := &slaunchtest.Host{TPM: ctl}
	k := &recKexec{}
	var phases []string
	logDir := t.TempDir()
	res, err := Launch(tt, f.signed, f.pub, WithFS(f.fsys), WithKexec(k), WithEntry("drtm"),
		WithLaunchLog(filepath.Join(logDir, "prelaunch.bin")),
		WithPhase(func(p string) { phases = append(phases, p) }),
		WithDRTM(EmulatedDRTM(pipeHost(t, host))))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(phases) != "[verify-policy measure drtm kexec]" || !k.executed {
		t.Fatalf("phases %v, executed %v", phases, k.executed)
	}
	// Each image was read exactly once from the file system: the DRTM
	// backend parses the staged copy and reuses Measure's digests.
	if n := f.fsys.read("boot/vmlinuz"); n != int64(len(f.kernel)) {
		t.Errorf("kernel: %d bytes read for a %d-byte image", n, len(f.kernel))
	}
	if n := f.fsys.read("boot/initrd.img"); n != int64(len(f.initrd)) {
		t.Errorf("initrd: %d bytes read for a %d-byte image", n, len(f.initrd))
	}
	banks, _ := tpm.ActiveBanks(tt)
	pred, err := PredictEmulatedDRTM(f.entry(), MeasuredProfile(), banks)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tpm.ReadBanks(tt, banks, []int{8, 9, 17, 18})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range banks {
		// PCR 17/18 from the profile's definition with the standard
		// library's hashes, not from the prediction.
		want17, want18, err := slaunchtest.EmulatedPCRs(a.String(), slaunchtest.PlainKernelEntry, f.kernel, drtmCmdline, f.initrd)
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range []int{8, 9, 17, 18} {
			g, _ := got.Get(a, i)
			w, ok := pred.PCRs.Get(a, i)
			if i == 17 || i == 18 {
				w, ok = map[int]tpm.Digest{17: want17, 18: want18}[i], true
			}
			if !ok || !g.Equal(w) {
				t.Errorf("%s PCR %d: TPM %s, want %s", a, i, g, w)
			}
		}
	}
	// The DRTM log reached the target next to the pre-launch log, and it
	// is the one the DRTM backend returned.
	files := handedOver(t, k.loaded.Initrd, len(f.initrd))
	dl, ok := files[DRTMTargetLogPath]
	if !ok || len(res.DRTM) != 1 || !bytes.Equal(res.DRTM[0].Data, dl) || files[TargetLogPath] == nil {
		t.Fatalf("handed over %d files; DRTM log %v", len(files), ok)
	}
	if kept, err := os.ReadFile(filepath.Join(logDir, DRTMLogName)); err != nil || !bytes.Equal(kept, dl) {
		t.Fatalf("DRTM log next to the pre-launch log: %v", err)
	}
	l, err := tpm.ParseEventLog(dl)
	if err != nil {
		t.Fatal(err)
	}
	if err := slaunch.VerifyDRTM(tt, l); err != nil {
		t.Fatalf("handed-over DRTM log: %v", err)
	}
	var descs []string
	for _, e := range l.Events {
		descs = append(descs, e.Description())
	}
	want := "SKINIT,DLME entry offset,DLME,Measured SLR Table,Measured Kernel command line,Measured Kernel initrd"
	if strings.Join(descs, ",") != want {
		t.Fatalf("DRTM log events %q", descs)
	}
	// What the host was asked.
	if h := host.Hashed(); len(h) != 1 || len(h[0]) != 0x100 || !bytes.Contains(h[0], []byte("slkit emulated DCE v1")) {
		t.Fatalf("host hashed %d blobs", len(h))
	}
	if l := host.Localities(); len(l) != 1 || l[0] != 2 {
		t.Fatalf("host set localities %v", l)
	}
}

func loadRecording(t *testing.T, name string) slaunch.Platform {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "slaunch", "testdata", "platforms", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := slaunch.ParseRecording(b)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestLaunchHardwareDRTM: the hardware backend probes, stages and
// validates, and then refuses; nothing is loaded either way.
func TestLaunchHardwareDRTM(t *testing.T) {
	tt := tpmtest.Open(t)
	mle := slaunchtest.Kernel(0x020F, 0x14, 0x200) // a Secure Launch kernel
	fsys := fstest.MapFS{"boot/vmlinuz": {Data: mle}}
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, 32))
	doc := fmt.Sprintf(`{"version": 1, "entries": [{"name": "hw", "kernel": {"path": "/boot/vmlinuz", "sha256": "%s"},
   "cmdline": "quiet", "profile": "measured-v1", "require_drtm": true}]}`, sha(mle))
	signed, err := policy.Sign([]byte(doc), key)
	if err != nil {
		t.Fatal(err)
	}
	skl := slaunchtest.SKL(0x2000, 0x40, 0x1800, 0x10, 0x2000)
	for _, tc := range []struct {
		platform string
		is       error
		want     string
	}{
		{"skinit-ready", slaunch.ErrNeedsDLStub, "executing SKINIT needs a ring-0 dynamic-launch stub"},
		{"not-capable", slaunch.ErrNotCapable, "CPU has no SVM"},
	} {
		t.Run(tc.platform, func(t *testing.T) {
			k := &recKexec{}
			_, err := Launch(tt, signed, key.Public().(ed25519.PublicKey), WithFS(fsys), WithKexec(k),
				WithLaunchLog(filepath.Join(t.TempDir(), "l")), WithDRTM(HardwareDRTM(loadRecording(t, tc.platform), skl)))
			if !errors.Is(err, tc.is) || !errors.Is(err, slaunch.ErrNoDRTM) || !errors.Is(err, ErrDRTMUnavailable) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %v containing %q", err, tc.is, tc.want)
			}
			if k.loaded != nil || k.executed {
				t.Fatal("kexec called by the hardware backend")
			}
			tt.Reboot()
		})
	}
}

// TestPredictEmulatedDRTM: the combined prediction is Predict's PCR 8/9
// and PCR 17/18 as the DRTM profile defines them (computed independently)
// with both sets of events, each numbered in its own log; start values of
// PCR 17–22 give way to the launch's.
func TestPredictEmulatedDRTM(t *testing.T) {
	f := newDRTMFixture(t)
	banks := []tpm.Alg{tpm.SHA1, tpm.SHA256}
	start := tpm.NewPCRs()
	for _, a := range banks {
		for i := 0; i < tpm.NumPCRs; i++ {
			v := tpm.ZeroDigest(a)
			if i >= 17 && i <= 22 {
				v = tpm.OnesDigest(a)
			}
			start.Set(a, i, v)
		}
	}
	p, err := PredictEmulatedDRTM(f.entry(), MeasuredProfile(), banks, WithStart(start))
	if err != nil {
		t.Fatal(err)
	}
	measured, err := Predict(f.entry(), MeasuredProfile(), banks, WithStart(start))
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range banks {
		want17, want18, err := slaunchtest.EmulatedPCRs(a.String(), slaunchtest.PlainKernelEntry, f.kernel, drtmCmdline, f.initrd)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < tpm.NumPCRs; i++ {
			var want tpm.Digest
			switch {
			case i == 17:
				want = want17
			case i == 18:
				want = want18
			case i >= 19 && i <= 22:
				want = tpm.ZeroDigest(a)
			default:
				want, _ = measured.PCRs.Get(a, i)
			}
			if got, _ := p.PCRs.Get(a, i); !got.Equal(want) {
				t.Errorf("%s PCR %d = %s, want %s", a, i, got, want)
			}
		}
	}
	var idx []string
	for _, e := range p.Events {
		idx = append(idx, fmt.Sprintf("%d:%d:%s", e.Index, e.PCR, e.Description()))
	}
	want := "1:8:launch-policy 2:9:kernel 3:9:initrd 4:8:cmdline 1:17:SKINIT 2:17:DLME entry offset 3:17:DLME " +
		"4:18:Measured SLR Table 5:18:Measured Kernel command line 6:18:Measured Kernel initrd"
	if strings.Join(idx, " ") != want {
		t.Fatalf("events %s", strings.Join(idx, " "))
	}
	// The DLME event is the kernel file's digest, as in PCR 9.
	if !p.Events[6].Digests[tpm.SHA256].Equal(p.Events[1].Digests[tpm.SHA256]) {
		t.Errorf("DLME digest differs from the kernel's")
	}
}
