package slaunch

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"hash"
	"reflect"
	"strings"
	"testing"

	"github.com/slkit/slkit/slaunch/slaunchtest"
	"github.com/slkit/slkit/tpm"
)

// TestEmulatedSKLGolden: the emulated DCE is the blob written by hand from
// the layout table in slaunch/README.md (slaunchtest.EmulatedDCEBlob: SKL
// head.S header words, main.c skl_info), then zeros to 0x1000.
func TestEmulatedSKLGolden(t *testing.T) {
	img := EmulatedSKL()
	want := slaunchtest.EmulatedDCEBlob()
	if len(img) != 0x1000 || !bytes.Equal(img[:len(want)], want) || !allZero(img[len(want):]) {
		t.Fatalf("emulated SKL differs:\n got %x\nwant %x (then zeros to 0x1000)", img[:0x50], want[:0x50])
	}
	s, err := ParseSKL(img)
	if err != nil {
		t.Fatalf("the emulated DCE fails the SKL checks: %v", err)
	}
	if s.Entry != 0x40 || s.MeasuredSize != 0x100 || s.BootloaderDataOffset != 0x1000 || s.Layout != SKLLayoutWords {
		t.Fatalf("parsed %+v", s)
	}
}

var allBanks = []tpm.Alg{tpm.SHA1, tpm.SHA256, tpm.SHA384, tpm.SHA512}

// newHash is an independent mapping from bank to Go hash for the tests.
func newHash(a tpm.Alg) hash.Hash {
	switch a {
	case tpm.SHA1:
		return sha1.New()
	case tpm.SHA256:
		return sha256.New()
	case tpm.SHA384:
		return sha512.New384()
	}
	return sha512.New()
}

func sum(a tpm.Alg, parts ...[]byte) []byte {
	h := newHash(a)
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

// chain computes E(…E(E(0, H(m0)), H(m1))…) = H(p ‖ H(m)) by hand.
func chain(a tpm.Alg, ms ...[]byte) []byte {
	p := make([]byte, newHash(a).Size())
	for _, m := range ms {
		p = sum(a, p, sum(a, m))
	}
	return p
}

func TestStageEmulatedPrediction(t *testing.T) {
	for _, tc := range []struct {
		name      string
		kernel    []byte
		initrd    []byte
		wantEntry uint32
	}{
		// No MLE header: the 64-bit entry, protected-mode code (1024) + 0x200.
		{"plain kernel", slaunchtest.Kernel(0x020F, 0x10, 0), []byte("initrd bytes"), 0x600},
		// Secure Launch kernel: the MLE entry point 0x300 in the protected-mode code.
		{"secure launch kernel", slaunchtest.Kernel(0x020F, 0x14, 0x200), nil, 1024 + 0x300},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := Images{Kernel: bytes.NewReader(tc.kernel), KernelSize: int64(len(tc.kernel)), Cmdline: "console=ttyS0 quiet"}
			if tc.initrd != nil {
				in.Initrd, in.InitrdSize = bytes.NewReader(tc.initrd), int64(len(tc.initrd))
			}
			st, err := StageEmulated(in, allBanks)
			if err != nil {
				t.Fatal(err)
			}
			if st.DLMEEntry != tc.wantEntry {
				t.Fatalf("DLME entry %#x, want %#x", st.DLMEEntry, tc.wantEntry)
			}
			if !bytes.Equal(st.DCEBlob, EmulatedSKL()[:0x100]) || len(st.SLB) != 0x10000 {
				t.Fatalf("DCE blob is not SLB[0:0x100]")
			}
			entry := []byte{byte(tc.wantEntry), byte(tc.wantEntry >> 8), 0, 0} // le32
			policy := [][]byte{slaunchtest.EmulatedMeasuredAMDInfo(), []byte(in.Cmdline)}
			if tc.initrd != nil {
				policy = append(policy, tc.initrd)
			}
			for _, a := range allBanks {
				p17, _ := st.Prediction.PCRs.Get(a, 17)
				p18, _ := st.Prediction.PCRs.Get(a, 18)
				if want := chain(a, st.DCEBlob, entry, tc.kernel); !bytes.Equal(p17, want) {
					t.Errorf("%s PCR17 %x, want %x", a, p17, want)
				}
				if want := chain(a, policy...); !bytes.Equal(p18, want) {
					t.Errorf("%s PCR18 %x, want %x", a, p18, want)
				}
			}
			var got []string
			for _, e := range st.Prediction.Events {
				got = append(got, e.Description+"/"+string(e.By))
			}
			want := []string{"SKINIT/tpm", "DLME entry offset/dce", "DLME/dce", "Measured SLR Table/dlme", "Measured Kernel command line/dlme"}
			if tc.initrd != nil {
				want = append(want, "Measured Kernel initrd/dlme")
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("events %q, want %q", got, want)
			}
			// The SLRT sits at bootloader_data_offset and parses back.
			slrt, err := ParseSLRT(st.SLB[0x1000:])
			if err != nil || !reflect.DeepEqual(slrt, st.SLRT) {
				t.Fatalf("SLRT in the SLB: %v", err)
			}
			dl := slrt.Find(TagDLInfo).(DLInfo)
			if dl.DLMEEntry != uint64(tc.wantEntry) || dl.DLMESize != uint64(len(tc.kernel)) || dl.DCEBase != EmuSLBBase || dl.Bootloader != 1 {
				t.Errorf("DL_INFO %+v", dl)
			}
			// The log prefix holds the TPM's and the DCE's events.
			b, err := st.LogPrefix.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			pl, err := tpm.ParseEventLog(b)
			if err != nil || len(pl.Events) != 3 || pl.Events[2].Description() != "DLME" {
				t.Fatalf("log prefix: %v %+v", err, pl)
			}
			// The full log replays to the prediction.
			full, _ := st.Prediction.Log(EmuLogBase, EmuLogSize)
			r, err := full.Replay()
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range allBanks {
				for _, i := range []int{17, 18} {
					x, _ := r.Get(a, i)
					y, _ := st.Prediction.PCRs.Get(a, i)
					if !x.Equal(y) {
						t.Errorf("log replay %s PCR %d differs from the prediction", a, i)
					}
				}
			}
			if x := st.Prediction.Expected(); len(x.Events) != len(want) || x.Events[0].Index != 1 {
				t.Errorf("Expected() events %+v", x.Events)
			}
		})
	}
}

func TestStageEmulatedRejects(t *testing.T) {
	k := slaunchtest.Kernel(0x020F, 0x10, 0)
	for _, tc := range []struct {
		name string
		in   Images
		is   error
		want string
	}{
		{"not a bzImage", Images{Kernel: bytes.NewReader(make([]byte, 4096)), KernelSize: 4096}, ErrMalformed, "not an x86 bzImage"},
		{"NUL in cmdline", Images{Kernel: bytes.NewReader(k), KernelSize: int64(len(k)), Cmdline: "a\x00b"}, ErrPredict, "UTF-8 without NUL"},
		{"short initrd", Images{Kernel: bytes.NewReader(k), KernelSize: int64(len(k)), Initrd: strings.NewReader("abc"), InitrdSize: 10}, ErrPredict, "initrd is shorter than the SLRT says"},
		{"long initrd", Images{Kernel: bytes.NewReader(k), KernelSize: int64(len(k)), Initrd: strings.NewReader("abcdef"), InitrdSize: 3}, ErrPredict, "initrd is longer than the SLRT says"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := StageEmulated(tc.in, allBanks)
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %v containing %q", err, tc.is, tc.want)
			}
		})
	}
	if _, err := StageEmulated(Images{Kernel: bytes.NewReader(k), KernelSize: int64(len(k))}, []tpm.Alg{tpm.SM3_256}); !errors.Is(err, ErrPredict) {
		t.Errorf("an SM3 bank cannot be predicted: %v", err)
	}
}
