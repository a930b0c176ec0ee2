package slaunch

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-tpm/tpm2"

	"github.com/slkit/slkit/slaunch/slaunchtest"
	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
)

// TestDRTMVectorOnSwtpm reproduces drtm.md §5: _TPM_Hash over "1234" gives
// PCR17 = H(0 ‖ H("1234")) and PCR18 = 0, and PCR17 refuses an extend at
// locality 0 with TPM_RC_LOCALITY (0x907). The expected values were
// computed independently (Python hashlib) and match swtpm's
// tests/_test_tpm2_hashing.
func TestDRTMVectorOnSwtpm(t *testing.T) {
	tt := tpmtest.RequireSwtpm(t)
	ctl, err := tt.Control()
	if err != nil {
		t.Fatal(err)
	}
	if err := ctl.Hash([]byte("1234")); err != nil {
		t.Fatal(err)
	}
	p, err := tpm.ReadBanks(tt, []tpm.Alg{tpm.SHA1, tpm.SHA256}, []int{17, 18})
	if err != nil {
		t.Fatal(err)
	}
	for a, want := range map[tpm.Alg]string{
		tpm.SHA256: "fca5d649bfb0c922fd330f79b20043289dafd60d01a4c4373cf28adb56c9b454",
		tpm.SHA1:   "97e976e4f22cd6d24afd212085ad7a86647f2ae5",
	} {
		if got, _ := p.Get(a, 17); got.String() != want {
			t.Errorf("%s PCR17 = %s, want %s", a, got, want)
		}
		if got, _ := p.Get(a, 18); !got.Equal(tpm.ZeroDigest(a)) {
			t.Errorf("%s PCR18 = %s, want 0", a, got)
		}
	}
	err = tpm.Extend(tt, 17, tpm.Digests{tpm.SHA256: make([]byte, 32)})
	if !errors.Is(err, tpm2.TPMRCLocality) {
		t.Fatalf("PCR17 extend at locality 0: %v, want TPM_RC_LOCALITY", err)
	}
}

// TestEmulatedLaunchOnSwtpm runs the emulated backend's profile on swtpm:
// before the launch VerifyDRTM says DRTM did not happen; the rig's
// _TPM_Hash over the staged DCE blob, then the post-launch extends at
// locality 2, give PCR17 and PCR18 equal, in every active bank, to the
// values computed with the standard library's hashes from the profile's
// definition (slaunchtest.EmulatedPCRs), and so does the prediction; the
// predicted log then verifies, and a tampered one does not.
func TestEmulatedLaunchOnSwtpm(t *testing.T) {
	tt := tpmtest.RequireSwtpm(t)
	banks, err := tpm.ActiveBanks(tt)
	if err != nil {
		t.Fatal(err)
	}
	kernel := slaunchtest.Kernel(0x020F, 0x10, 0)
	initrd := bytes.Repeat([]byte("initramfs "), 1000)
	st, err := StageEmulated(Images{Kernel: bytes.NewReader(kernel), KernelSize: int64(len(kernel)),
		Initrd: bytes.NewReader(initrd), InitrdSize: int64(len(initrd)), Cmdline: "console=ttyS0"}, banks)
	if err != nil {
		t.Fatal(err)
	}
	logBytes, err := func() ([]byte, error) {
		l, err := st.Prediction.Log(EmuLogBase, EmuLogSize)
		if err != nil {
			return nil, err
		}
		return l.MarshalBinary()
	}()
	if err != nil {
		t.Fatal(err)
	}
	log, err := tpm.ParseEventLog(logBytes)
	if err != nil {
		t.Fatal(err)
	}

	// Before any launch: PCR17 is all 0xFF.
	if err := VerifyDRTM(tt, log); !errors.Is(err, ErrNoDRTM) || !strings.Contains(err.Error(), "is still all 0xFF") {
		t.Fatalf("before the launch: %v", err)
	}

	ctl, err := tt.Control()
	if err != nil {
		t.Fatal(err)
	}
	if err := ctl.Hash(st.DCEBlob); err != nil {
		t.Fatal(err)
	}
	if err := tt.SetLocality(2); err != nil {
		t.Fatal(err)
	}
	if err := ExtendEvents(tt, st.Prediction.PostLaunch()); err != nil {
		t.Fatal(err)
	}
	got, err := tpm.ReadBanks(tt, banks, []int{17, 18})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range banks {
		want17, want18, err := slaunchtest.EmulatedPCRs(a.String(), slaunchtest.PlainKernelEntry, kernel, "console=ttyS0", initrd)
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range map[int][]byte{17: want17, 18: want18} {
			g, _ := got.Get(a, i)
			p, _ := st.Prediction.PCRs.Get(a, i)
			if !bytes.Equal(g, w) || !bytes.Equal(p, w) {
				t.Errorf("%s PCR %d: TPM %s, predicted %s, want %x", a, i, g, p, w)
			}
		}
	}
	t.Logf("banks %v: sha256 PCR17 %s", banks, hex.EncodeToString(mustGet(got, tpm.SHA256, 17)))
	if err := VerifyDRTM(tt, log); err != nil {
		t.Fatalf("after the launch: %v", err)
	}
	// A log that claims another kernel does not replay.
	bad, _ := tpm.ParseEventLog(logBytes)
	bad.Events[2].Digests[tpm.SHA256][0] ^= 1
	if err := VerifyDRTM(tt, bad); !errors.Is(err, ErrNoDRTM) || !strings.Contains(err.Error(), "does not replay to the TPM: sha") {
		t.Fatalf("tampered log: %v", err)
	}
	// Locality 0 cannot extend PCR17 any more.
	if err := tt.SetLocality(0); err != nil {
		t.Fatal(err)
	}
	if err := ExtendEvents(tt, st.Prediction.PostLaunch()[:1]); !errors.Is(err, tpm2.TPMRCLocality) {
		t.Fatalf("extend at locality 0: %v", err)
	}
}

func mustGet(p *tpm.PCRs, a tpm.Alg, i int) []byte {
	d, _ := p.Get(a, i)
	return d
}
