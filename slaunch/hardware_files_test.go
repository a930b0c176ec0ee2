package slaunch

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/slaunch/slaunchtest"
)

// TestHardwareFilesStage: a malformed kernel is named as --kernel, a
// malformed module as --dce; a refusal for want of a ring-0 stub or a
// capable platform writes the stage to Out when given, and stays the
// error.
func TestHardwareFilesStage(t *testing.T) {
	kernel := slaunchtest.Kernel(0x020F, 0x14, 0x200)
	acm := slaunchtest.ACM(slaunchtest.DefaultACM())
	skl := slaunchtest.SKL(0x2000, 0x40, 0x1800, 0x10, 0x2000)
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name         string
		platform     string
		dce, k       []byte
		out          string
		is           error
		named        string // the *fsys.InputError's path ("" for none)
		written      bool
		writeFailure bool
	}{
		{name: "refused, written", platform: "txt-ready", dce: acm, k: kernel, out: filepath.Join(dir, "txt"), is: ErrNeedsDLStub, written: true},
		{name: "refused, not written", platform: "txt-ready", dce: acm, k: kernel, is: ErrNeedsDLStub},
		{name: "not capable, written", platform: "not-capable", dce: skl, k: kernel, out: filepath.Join(dir, "nc"), is: ErrNotCapable, written: true},
		{name: "cannot write", platform: "txt-ready", dce: acm, k: kernel, out: filepath.Join(notDir, "sub"), writeFailure: true},
		{name: "no MLE header", platform: "skinit-ready", dce: skl, k: slaunchtest.Kernel(0x020F, 0x10, 0), out: filepath.Join(dir, "x"),
			is: ErrNoMLEHeader, named: "--kernel /boot/vmlinuz"},
		{name: "not a bzImage", platform: "skinit-ready", dce: skl, k: bytes.Repeat([]byte{1}, 4096), is: ErrMalformed, named: "--kernel /boot/vmlinuz"},
		{name: "SKL given to TXT", platform: "txt-ready", dce: skl, k: kernel, out: filepath.Join(dir, "y"), is: ErrMalformed, named: "--dce /boot/dce.bin"},
		{name: "ACM for another chipset", platform: "txt-ready", dce: func() []byte {
			a := slaunchtest.DefaultACM()
			a.Chipsets = [][4]uint32{{0, 0x8086, 0x1234, 0}}
			return slaunchtest.ACM(a)
		}(), k: kernel, out: filepath.Join(dir, "z"), is: ErrPlatformMismatch},
	} {
		in := HardwareInput{Platform: loadPlatform(t, c.platform), DCE: c.dce,
			Images: Images{Kernel: bytes.NewReader(c.k), KernelSize: int64(len(c.k)), Cmdline: "quiet"}}
		written, err := HardwareFiles{Kernel: "/boot/vmlinuz", DCE: "/boot/dce.bin", Out: c.out}.Stage(in)
		if c.writeFailure {
			if err == nil || errors.Is(err, ErrNeedsDLStub) || written {
				t.Errorf("%s: %v, written %v; want the write's failure", c.name, err, written)
			}
			continue
		}
		if !errors.Is(err, c.is) || written != c.written {
			t.Errorf("%s: %v, written %v; want %v, written %v", c.name, err, written, c.is, c.written)
		}
		var in2 *fsys.InputError
		if named := errors.As(err, &in2); named != (c.named != "") || named && (in2.Path != c.named || strings.Count(err.Error(), "kernel: ") > 0) {
			t.Errorf("%s: %v, want it named %q", c.name, err, c.named)
		}
		_, serr := os.Stat(filepath.Join(c.out, HardwareChecklistFile))
		if c.out != "" && (serr == nil) != c.written {
			t.Errorf("%s: checklist written: %v, want %v", c.name, serr == nil, c.written)
		}
	}
}
