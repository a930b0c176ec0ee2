package slaunch

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/slkit/slkit/slaunch/slaunchtest"
)

// TestDetectSecureLaunch: a v15 kernel (kernel_info with mle_header_offset
// and the MLE header of TXT SDG Table 2-1, slaunchtest.Kernel) and a v16
// kernel (SLAUNCH_FLAG in loadflags, no static header, slaunchtest.KernelV16)
// are both Secure Launch kernels, each described with what its loader
// does; the Debian-like kernel (neither) and a flagged kernel without
// kernel_info are refused with ErrNoMLEHeader naming what is missing.
func TestDetectSecureLaunch(t *testing.T) {
	v15 := slaunchtest.Kernel(0x020F, 0x14, 0x200)
	k, err := DetectSecureLaunch(bytes.NewReader(v15), int64(len(v15)))
	if err != nil || k.Layout != LayoutV15 || k.MLE == nil || k.MLE.Capabilities != 0x227 {
		t.Fatalf("v15: %v %+v", err, k)
	}
	if d := strings.Join(k.Describe(), "\n"); !strings.Contains(d, "static MLE header at file offset 0x600 (kernel_info.mle_header_offset 0x200)") ||
		!strings.Contains(d, "grub-sl-2.12-v11") {
		t.Errorf("v15 description:\n%s", d)
	}
	v16 := slaunchtest.KernelV16()
	k, err = DetectSecureLaunch(bytes.NewReader(v16), int64(len(v16)))
	if err != nil || k.Layout != LayoutV16 || k.MLE != nil || k.BzImage.LoadFlags != 0x05 {
		t.Fatalf("v16: %v %+v", err, k)
	}
	d := strings.Join(k.Describe(), "\n")
	for _, want := range []string{"Secure Launch v16 kernel (boot protocol 2.15, SLAUNCH_FLAG in loadflags 0x05)", "MLE 2.2, capabilities 0x227",
		"EFI_SLAUNCH_PROTOCOL (534189e0-6fde-413d-be91-cd4e8d672fea)", "setup_dlme(base, mle_header_offset, boot_params)",
		"boot_params.slr_table_addr (zero page 0x078)", "dl_launch"} {
		if !strings.Contains(d, want) {
			t.Errorf("v16 description lacks %q:\n%s", want, d)
		}
	}
	for _, c := range []struct {
		name string
		img  []byte
		want string
	}{
		{"neither", slaunchtest.Kernel(0x020F, 0x10, 0), "kernel_info has no mle_header_offset (its fixed part is 16 bytes, Secure Launch needs 20; built without CONFIG_SECURE_LAUNCH); and no SLAUNCH_FLAG in loadflags (0x00)"},
		{"flag without kernel_info", func() []byte { b := slaunchtest.KernelV16(); b[0x206] = 0x0C; return b }(), "boot protocol 2.12 has no kernel_info"},
	} {
		_, err := DetectSecureLaunch(bytes.NewReader(c.img), int64(len(c.img)))
		if !errors.Is(err, ErrNoMLEHeader) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}
