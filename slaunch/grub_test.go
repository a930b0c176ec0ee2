package slaunch

import (
	"strings"
	"testing"
)

func TestGRUBMenuEntryGolden(t *testing.T) {
	got, err := GRUBEntry{
		Title: "Debian with Secure Launch", DCE: "/boot/skl.bin", Kernel: "/boot/vmlinuz-6.1",
		Initrd: "/boot/initrd.img-6.1", Cmdline: "root=/dev/vda1 console=ttyS0,115200n8 quiet", Unrestricted: true,
	}.MenuEntry()
	if err != nil {
		t.Fatal(err)
	}
	const want = "menuentry 'Debian with Secure Launch' --unrestricted {\n" +
		"\tslaunch\n" +
		"\tslaunch_module /boot/skl.bin\n" +
		"\tlinux /boot/vmlinuz-6.1 root=/dev/vda1 console=ttyS0,115200n8 quiet\n" +
		"\tinitrd /boot/initrd.img-6.1\n" +
		"}\n"
	if got != want {
		t.Fatalf("menu entry:\n%s\nwant:\n%s", got, want)
	}
}

func TestGRUBMenuEntryQuoting(t *testing.T) {
	got, err := GRUBEntry{Title: "it's", Kernel: "/boot/my kernel", Cmdline: "a=$x b;c d'e"}.MenuEntry()
	if err != nil {
		t.Fatal(err)
	}
	const want = "menuentry 'it'\\''s' {\n" +
		"\tslaunch\n" +
		"\tlinux '/boot/my kernel' 'a=$x' 'b;c' 'd'\\''e'\n" +
		"}\n"
	if got != want {
		t.Fatalf("menu entry:\n%s\nwant:\n%s", got, want)
	}
	for _, tc := range []struct {
		e    GRUBEntry
		want string
	}{
		{GRUBEntry{}, "no kernel"},
		{GRUBEntry{Kernel: "/k", Cmdline: "a  b"}, "repeated white space"},
		{GRUBEntry{Kernel: "/k", Cmdline: " a"}, "leading, trailing"},
		{GRUBEntry{Kernel: "/k\n"}, "kernel path contains a line break"},
	} {
		if _, err := tc.e.MenuEntry(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.e, err, tc.want)
		}
	}
}

func TestGRUBPath(t *testing.T) {
	for _, tc := range []struct{ root, local, want, err string }{
		{"", "/boot/vmlinuz", "/boot/vmlinuz", ""},
		{"/boot", "/boot/vmlinuz", "/vmlinuz", ""},
		{"/boot/", "/boot/efi/skl.bin", "/efi/skl.bin", ""},
		{"/", "/boot/vmlinuz", "/boot/vmlinuz", ""},
		{"/boot", "/etc/passwd", "", "/etc/passwd is not below the GRUB root /boot"},
		{"/boot", "/bootx/k", "", "is not below"},
	} {
		got, err := GRUBPath(tc.root, tc.local)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("GRUBPath(%q, %q) error %v, want %q", tc.root, tc.local, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("GRUBPath(%q, %q) = %q, %v; want %q", tc.root, tc.local, got, err, tc.want)
		}
	}
}
