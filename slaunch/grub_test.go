package slaunch

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slkit/slkit/slaunch/slaunchtest"
	"github.com/slkit/slkit/tpm/tpmtest"
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

// TestGRUBEntriesPassGrubScriptCheck: GRUB's own parser (grub-script-check,
// Debian grub-common) accepts every entry MenuEntry writes — words with
// each character GRUB's lexer treats specially, quotes in titles and
// paths, the description comments of a v15 and a v16 kernel — and refuses
// an entry with an unbalanced quote, so the check can fail.
func TestGRUBEntriesPassGrubScriptCheck(t *testing.T) {
	bin, err := exec.LookPath("grub-script-check")
	if err != nil {
		tpmtest.SkipOrFatal(t, fmt.Errorf("grub-script-check (grub-common): %w", err))
	}
	check := func(name, script string) error {
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, []byte(script), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(bin, p).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	}
	var comments []string
	for _, img := range [][]byte{slaunchtest.Kernel(0x020F, 0x14, 0x200), slaunchtest.KernelV16()} {
		k, err := DetectSecureLaunch(bytes.NewReader(img), int64(len(img)))
		if err != nil {
			t.Fatal(err)
		}
		comments = append(comments, k.Describe()...)
	}
	special := "$`\\\"';&|<>{}[]*?~#!()=%@,:+^"
	entries := []GRUBEntry{
		{Title: "Debian with Secure Launch", DCE: "/boot/skl.bin", Kernel: "/boot/vmlinuz", Initrd: "/boot/initrd.img",
			Cmdline: "root=/dev/vda1 console=ttyS0,115200n8 quiet", Unrestricted: true, Comments: comments},
		{Title: "it's \"quoted\" $HOME", Kernel: "/boot/my kernel's", Cmdline: "a=$x b;c d'e f\"g {h} [i] *j ?k ~l #m !n"},
		{Title: "ünïcode ⚙", Kernel: "/vmlinuz", Initrd: "/with space/initrd", Cmdline: ""},
	}
	for _, c := range special {
		entries = append(entries, GRUBEntry{Title: "char " + string(c), Kernel: "/k" + string(c) + "x", Cmdline: "p" + string(c) + "=" + string(c) + "v"})
	}
	var all strings.Builder
	for i, e := range entries {
		s, err := e.MenuEntry()
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		if err := check(fmt.Sprintf("entry%d.cfg", i), s); err != nil {
			t.Errorf("grub-script-check refuses\n%s: %v", s, err)
		}
		all.WriteString(s)
	}
	if err := check("all.cfg", all.String()); err != nil {
		t.Errorf("grub-script-check refuses the entries together: %v", err)
	}
	if err := check("bad.cfg", "menuentry 'x' {\n\tlinux '/vmlinuz\n}\n"); err == nil {
		t.Fatal("negative control: grub-script-check accepted an unbalanced quote")
	}
}

// TestCheckDCEModule: a SINIT ACM and an SKL are DCE modules; anything
// else is refused with both parsers' reasons.
func TestCheckDCEModule(t *testing.T) {
	if err := CheckDCEModule(slaunchtest.ACM(slaunchtest.DefaultACM())); err != nil {
		t.Errorf("ACM: %v", err)
	}
	if err := CheckDCEModule(slaunchtest.SKL(0x2000, 0x40, 0x1800, 0x10, 0x2000)); err != nil {
		t.Errorf("SKL: %v", err)
	}
	err := CheckDCEModule(bytes.Repeat([]byte{0x42}, 4096))
	if err == nil || !strings.HasPrefix(err.Error(), "neither a SINIT ACM (") || !strings.Contains(err.Error(), ") nor an SKL (") {
		t.Errorf("garbage: %v", err)
	}
}
