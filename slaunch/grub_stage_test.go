package slaunch

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/slkit/slkit/internal/errkind"
	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/slaunch/slaunchtest"
)

// TestGRUBStage: a Secure Launch kernel's entry, its description first,
// paths as GRUB sees them; a kernel that is none is named once, a path
// outside the GRUB root or a command line GRUB cannot take is an input
// error naming its flag.
func TestGRUBStage(t *testing.T) {
	v15, v16, plain := slaunchtest.Kernel(0x020F, 0x14, 0x200), slaunchtest.KernelV16(), slaunchtest.Kernel(0x020F, 0x10, 0)
	stage := func(img []byte) GRUBStage {
		return GRUBStage{Kernel: "/boot/vmlinuz", KernelImage: bytes.NewReader(img), KernelSize: int64(len(img)),
			Initrd: "/boot/initrd.img", DCE: "/boot/acm.bin", Root: "/boot", Title: "t", Cmdline: "console=ttyS0"}
	}
	text, err := stage(v15).MenuEntry()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# slkit: vmlinuz: Secure Launch v15 kernel", "menuentry 't' {\n",
		"\tslaunch_module /acm.bin\n", "\tlinux /vmlinuz console=ttyS0\n", "\tinitrd /initrd.img\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("v15 entry lacks %q:\n%s", want, text)
		}
	}
	s := stage(v16)
	s.Root, s.Initrd, s.DCE, s.Unrestricted = "", "", "", true
	if text, err := s.MenuEntry(); err != nil || !strings.HasPrefix(text, "# slkit: vmlinuz: Secure Launch v16 kernel") ||
		!strings.Contains(text, "--unrestricted {\n\tslaunch\n\tlinux /boot/vmlinuz console=ttyS0\n}\n") {
		t.Errorf("v16, paths as given: %v\n%s", err, text)
	}
	var in *fsys.InputError
	if _, err := stage(plain).MenuEntry(); !errors.As(err, &in) || in.Path != "--kernel /boot/vmlinuz" || !errors.Is(err, ErrNoMLEHeader) {
		t.Errorf("not a Secure Launch kernel: %v", err)
	}
	for _, c := range []struct {
		name string
		edit func(*GRUBStage)
		want string
	}{
		{"dce outside the root", func(s *GRUBStage) { s.DCE = "/efi/acm.bin" }, "--dce: /efi/acm.bin is not below the GRUB root /boot"},
		{"kernel outside the root", func(s *GRUBStage) { s.Kernel = "/vmlinuz" }, "--kernel: /vmlinuz is not below the GRUB root /boot"},
		{"initrd outside the root", func(s *GRUBStage) { s.Initrd = "/x/initrd" }, "--initrd: /x/initrd is not below the GRUB root /boot"},
		{"command line", func(s *GRUBStage) { s.Cmdline = "a  b" }, `GRUB entry: command line "a  b" has leading, trailing or repeated white space, which GRUB's linux command collapses`},
		{"title", func(s *GRUBStage) { s.Title = "a\nb" }, "GRUB entry: title contains a line break or NUL"},
	} {
		s := stage(v15)
		c.edit(&s)
		if text, err := s.MenuEntry(); err == nil || err.Error() != c.want || !errors.Is(err, errkind.Input) || text != "" {
			t.Errorf("%s: %v, want %q (an input error)", c.name, err, c.want)
		}
	}
}
