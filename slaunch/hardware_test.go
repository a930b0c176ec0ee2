package slaunch

import (
	"bytes"
	"errors"
	"github.com/slkit/slkit/slaunch/slaunchtest"
	"strings"
	"testing"
)

func TestStageHardware(t *testing.T) {
	kernel := slaunchtest.Kernel(0x020F, 0x14, 0x200)
	acm := slaunchtest.ACM(slaunchtest.DefaultACM())
	skl := slaunchtest.SKL(0x2000, 0x40, 0x1800, 0x10, 0x2000)
	in := func(p Platform, dce, k []byte) HardwareInput {
		return HardwareInput{Platform: p, DCE: dce, Images: Images{Kernel: bytes.NewReader(k), KernelSize: int64(len(k)), Cmdline: "quiet"}}
	}
	t.Run("txt", func(t *testing.T) {
		st, err := StageHardware(in(loadPlatform(t, "txt-ready"), acm, kernel))
		var ref *HardwareRefusal
		if !errors.Is(err, ErrNeedsDLStub) || !errors.As(err, &ref) || ref.Arch != "txt" {
			t.Fatalf("error %v, want a HardwareRefusal", err)
		}
		for _, s := range []string{"needs a ring-0 dynamic-launch stub", "GETSEC[SENTER]", "slkit drtm stage --backend grub"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("refusal %q does not say %q", err, s)
			}
		}
		if st.ACM == nil || st.OsSinitData == nil || st.SLRT.Arch != ArchTXT {
			t.Fatalf("stage %+v", st)
		}
		x := st.SLRT.Find(TagIntelInfo).(IntelInfo)
		if x.MTRRVCnt != 2 || x.MTRRDefType != 0xc06 || x.MTRRs[1] != (MTRRPair{0x80000000, 0x7fc0000800}) || x.MiscEnableMSR != 0x850089 {
			t.Errorf("INTEL_INFO from the recorded MSRs: %+v", x)
		}
		if st.OsSinitData.Capabilities != CapGETSECWake|CapECXPageTab|CapTPM2Log || st.OsSinitData.MLESize != 0x1800 {
			t.Errorf("OsSinitData %+v", st.OsSinitData)
		}
	})
	t.Run("skinit", func(t *testing.T) {
		st, err := StageHardware(in(loadPlatform(t, "skinit-ready"), skl, kernel))
		var ref *HardwareRefusal
		if !errors.As(err, &ref) || ref.Arch != "skinit" || !strings.Contains(err.Error(), "executing SKINIT needs") {
			t.Fatalf("error %v", err)
		}
		if st.Prediction == nil || len(st.Prediction.Banks) != 2 || st.SKL == nil {
			t.Fatalf("stage %+v", st)
		}
	})
	for _, tc := range []struct {
		name     string
		platform string
		dce, k   []byte
		is       error
		want     string
	}{
		{"not capable", "not-capable", skl, kernel, ErrNotCapable, "Intel TXT not capable (CPU is not an Intel CPU"},
		{"no MLE header", "skinit-ready", skl, slaunchtest.Kernel(0x020F, 0x10, 0), ErrNoMLEHeader, "kernel_info has no mle_header_offset"},
		{"SKL given to TXT", "txt-ready", skl, kernel, ErrMalformed, "SINIT ACM"},
		{"bad SKL", "skinit-ready", acm[:0x100], kernel, ErrMalformed, "SKL"},
		{"ACM for another chipset", "txt-ready", func() []byte {
			a := slaunchtest.DefaultACM()
			a.Chipsets = [][4]uint32{{0, 0x8086, 0x1234, 0}}
			return slaunchtest.ACM(a)
		}(), kernel, ErrPlatformMismatch, "chipset 8086:3e10 rev 0x1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := StageHardware(in(loadPlatform(t, tc.platform), tc.dce, tc.k))
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %v containing %q", err, tc.is, tc.want)
			}
		})
	}
}
