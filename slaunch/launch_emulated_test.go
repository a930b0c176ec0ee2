package slaunch

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/slkit/slkit/slaunch/slaunchtest"
	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
)

// headerOnly reads the first n bytes of b and fails the test on any read
// beyond them.
type headerOnly struct {
	t *testing.T
	b []byte
	n int64
}

func (h headerOnly) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > h.n && off < int64(len(h.b)) {
		h.t.Errorf("read of [%d, %d) past the %d header bytes", off, off+int64(len(p)), h.n)
	}
	return bytes.NewReader(h.b).ReadAt(p, off)
}

type noRead struct{ t *testing.T }

func (n noRead) Read([]byte) (int, error) { n.t.Error("initrd read"); return 0, io.EOF }

// TestStageEmulatedReusesDigests: with the images' digests given, the
// prediction is the same as when StageEmulated hashes the images itself,
// and neither the kernel's body nor the initrd is read.
func TestStageEmulatedReusesDigests(t *testing.T) {
	kernel := append(slaunchtest.Kernel(0x020F, 0x10, 0), bytes.Repeat([]byte{0xAB}, 1<<20)...)
	initrd := bytes.Repeat([]byte("initrd "), 999)
	banks := []tpm.Alg{tpm.SHA1, tpm.SHA256, tpm.SHA384, tpm.SHA512}
	ref, err := StageEmulated(Images{Kernel: bytes.NewReader(kernel), KernelSize: int64(len(kernel)),
		Initrd: bytes.NewReader(initrd), InitrdSize: int64(len(initrd)), Cmdline: "console=ttyS0"}, banks)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := tpm.HashBytes(banks, kernel)
	id, _ := tpm.HashBytes(banks, initrd)
	st, err := StageEmulated(Images{Kernel: headerOnly{t, kernel, 64 << 10}, KernelSize: int64(len(kernel)),
		Initrd: noRead{t}, InitrdSize: int64(len(initrd)), Cmdline: "console=ttyS0",
		KernelDigests: kd, InitrdDigests: id}, banks)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(st.Prediction, ref.Prediction) {
		t.Fatal("prediction from the given digests differs")
	}
	// Digests that miss a bank are not used: the image is hashed.
	delete(kd, tpm.SHA512)
	st, err = StageEmulated(Images{Kernel: bytes.NewReader(kernel), KernelSize: int64(len(kernel)),
		Initrd: bytes.NewReader(initrd), InitrdSize: int64(len(initrd)), Cmdline: "console=ttyS0", KernelDigests: kd}, banks)
	if err != nil || !reflect.DeepEqual(st.Prediction, ref.Prediction) {
		t.Fatalf("partial digests: %v", err)
	}
}

// TestLaunchEmulatedOnSwtpm: LaunchEmulated over a unix-socket host
// channel (OpenHostChannel) on swtpm; ReportDRTM then shows every bank
// matching, with PCR 17 and 18 as computed independently from the profile
// (slaunchtest.EmulatedPCRs); the same TPM with a log of another kernel
// does not.
func TestLaunchEmulatedOnSwtpm(t *testing.T) {
	tt := tpmtest.RequireSwtpm(t)
	ctl, err := tt.Control()
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "host.sock")
	h := &slaunchtest.Host{TPM: ctl}
	h.Listen(t, sock)
	kernel := slaunchtest.Kernel(0x020F, 0x10, 0)
	in := Images{Kernel: bytes.NewReader(kernel), KernelSize: int64(len(kernel)), Cmdline: "quiet"}

	// Before: no DRTM, and the report says why.
	r, err := ReportDRTM(tt, nil)
	if err != nil || r.OK || !strings.Contains(r.Reason, "PCR 17 (sha1) is still all 0xFF") || !errors.Is(r.Err(), ErrNoDRTM) {
		t.Fatalf("before: %+v %v", r, err)
	}

	host, c, err := OpenHostChannel(sock, DefaultHostTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	l, err := LaunchEmulated(tt, host, in)
	if err != nil {
		t.Fatal(err)
	}
	log, err := tpm.ParseEventLog(l.Log)
	if err != nil {
		t.Fatal(err)
	}
	r, err = ReportDRTM(tt, log)
	if err != nil || !r.OK || r.Reason != "" || len(r.Banks) != 4 {
		t.Fatalf("after: %+v %v", r, err)
	}
	for _, b := range r.Banks {
		want17, want18, err := slaunchtest.EmulatedPCRs(b.Bank.String(), slaunchtest.PlainKernelEntry, kernel, "quiet", nil)
		if err != nil {
			t.Fatal(err)
		}
		if !b.InLog || !b.Match || !bytes.Equal(b.PCR17, want17) || !bytes.Equal(b.Log17, want17) {
			t.Errorf("bank %+v, want PCR 17 %x", b, want17)
		}
		got, err := tpm.ReadBanks(tt, []tpm.Alg{b.Bank}, []int{18})
		if err != nil {
			t.Fatal(err)
		}
		if g := mustGet(got, b.Bank, 18); !bytes.Equal(g, want18) {
			t.Errorf("%s PCR 18 %x, want %x", b.Bank, g, want18)
		}
	}
	other := append(append([]byte(nil), kernel...), "appended"...)
	st, err := StageEmulated(Images{Kernel: bytes.NewReader(other), KernelSize: int64(len(other)), Cmdline: "quiet"}, l.Stage.Prediction.Banks)
	if err != nil {
		t.Fatal(err)
	}
	bad, _ := st.Prediction.Log(EmuLogBase, EmuLogSize)
	r, err = ReportDRTM(tt, bad.EventLog)
	if err != nil || r.OK || !strings.Contains(r.Reason, "does not replay to the TPM: sha1 PCR 17") || r.Banks[0].Match {
		t.Fatalf("another kernel's log: %+v %v", r, err)
	}
}

func TestOpenHostChannelErrors(t *testing.T) {
	dir := t.TempDir()
	notTTY := filepath.Join(dir, "file")
	os.WriteFile(notTTY, nil, 0o600)
	for path, want := range map[string]string{
		filepath.Join(dir, "missing"): "no such file or directory",
		notTTY:                        "is not a usable serial port (TCGETS: inappropriate ioctl for device)",
	} {
		_, _, err := OpenHostChannel(path, DefaultHostTimeout)
		if !errors.Is(err, ErrNoDRTM) || !strings.Contains(err.Error(), "no host channel to the emulated DCE at "+path) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", path, err)
		}
	}
}

// TestLaunchEmulatedFailureSteps: each way LaunchEmulated can fail is a
// *LaunchError naming its step and whether the DCE event had happened;
// NeverStarted is true exactly for the failures before it. Whether it
// happened is checked independently on the TPM: PCR 17 left its reset
// value 0xFF… in every bank exactly when Began is true.
func TestLaunchEmulatedFailureSteps(t *testing.T) {
	kernel := slaunchtest.Kernel(0x020F, 0x10, 0)
	good := Images{Kernel: bytes.NewReader(kernel), KernelSize: int64(len(kernel)), Cmdline: "quiet"}
	notBz := Images{Kernel: strings.NewReader("not a bzImage, not at all, no boot header here"), KernelSize: 46, Cmdline: "quiet"}
	for _, tc := range []struct {
		name  string
		noHC  bool
		in    Images
		host  func(*slaunchtest.Host)
		step  string
		began bool
		want  string
	}{
		{name: "no host channel", noHC: true, in: good, step: "host channel", want: "no host channel"},
		{name: "not a bzImage", in: notBz, step: "stage", want: "setup header (620 bytes) runs past the end"},
		{name: "host refuses the hash", in: good, host: func(h *slaunchtest.Host) { h.RefuseHash = true }, step: "tpm-hash", want: `no handler for "tpm-hash"`},
		{name: "host hashes then fails", in: good, host: func(h *slaunchtest.Host) { h.FailAfterHash = true },
			step: "tpm-hash", began: true, want: "connection reset after HASH_END"},
		{name: "host refuses the locality", in: good, host: func(h *slaunchtest.Host) { h.RefuseLocality = true },
			step: "tpm-locality", began: true, want: "did not move the TPM to locality 2: host channel: remote error: tpm-locality: refused"},
		{name: "host ignores the locality", in: good, host: func(h *slaunchtest.Host) { h.IgnoreLocality = true },
			step: "post-launch extends", began: true, want: "TPM_RC_LOCALITY"},
		{name: "host hashes another DCE", in: good, host: func(h *slaunchtest.Host) { h.HashInstead = []byte("another DCE") },
			step: "verify", began: true, want: "does not replay to the TPM"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tt := tpmtest.RequireSwtpm(t)
			ctl, err := tt.Control()
			if err != nil {
				t.Fatal(err)
			}
			h := &slaunchtest.Host{TPM: ctl}
			if tc.host != nil {
				tc.host(h)
			}
			var host DCEHost
			if !tc.noHC {
				host, _ = h.Pipe(t)
			}
			_, err = LaunchEmulated(tt, host, tc.in)
			var le *LaunchError
			if !errors.As(err, &le) || le.Step != tc.step || le.Began != tc.began || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v (%+v), want step %q, began %v, naming %q", err, le, tc.step, tc.began, tc.want)
			}
			stage := ErrDRTMNotStarted
			if tc.began {
				stage = ErrDRTMAborted
			}
			if !errors.Is(err, ErrNoDRTM) || !errors.Is(err, stage) || NeverStarted(err) == tc.began {
				t.Fatalf("err %v: ErrNoDRTM %v, %v %v, NeverStarted %v", err, errors.Is(err, ErrNoDRTM), stage, errors.Is(err, stage), NeverStarted(err))
			}
			banks, _ := tpm.ActiveBanks(tt)
			pcrs, err := tpm.ReadBanks(tt, banks, []int{17})
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range banks {
				v, _ := pcrs.Get(a, 17)
				if reset := bytes.Equal(v, bytes.Repeat([]byte{0xFF}, len(v))); reset == tc.began {
					t.Errorf("%s PCR 17 = %s, but the error says began=%v", a, v, tc.began)
				}
			}
		})
	}
	// An error that does not say when it happened is not "never started".
	if NeverStarted(errors.New("x")) || NeverStarted(&NoDRTMError{Reason: "x"}) || !NeverStarted(NotStarted("s", errors.New("x"))) {
		t.Error("NeverStarted is not fail-closed")
	}
}
