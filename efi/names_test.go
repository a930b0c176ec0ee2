package efi

import (
	"errors"
	"strings"
	"testing"
)

// TestNameCheckEfivarfsRules: Check accepts only names efivarfs creates
// as the same firmware name. The limits are computed here from the kernel's
// rules, not taken from the package: a file name is at most NAME_MAX = 255
// bytes (fs/efivarfs/super.c, f_namelen) and ends in "-" plus a 36-character
// GUID, so a name has at most 255-37 = 218 bytes; efivarfs_create copies
// each byte of the file name into one CHAR16 (fs/efivarfs/inode.c), so only
// ASCII survives; the firmware name "A/B" is listed as the file "A!B"
// (efivarfs_callback), so '!' may address another variable.
func TestNameCheckEfivarfsRules(t *testing.T) {
	const nameMax, guidPart = 255, 1 + 36
	ok := []string{"A", "BootOrder", "Slkit Test-1_x.y", strings.Repeat("a", nameMax-guidPart)}
	for _, s := range ok {
		if err := (Name{s, GlobalGUID}).Check(); err != nil {
			t.Errorf("Check(%q): %v", s, err)
		}
	}
	bad := map[string]string{
		strings.Repeat("a", nameMax-guidPart+1): "longer than",
		"caf\u00e9":                             "ASCII",
		"A!B":                                   "'!'",
		"A/B":                                   "'/'",
		"tab\there":                             "ASCII",
		"\x7f":                                  "ASCII",
	}
	for s, why := range bad {
		err := (Name{s, GlobalGUID}).Check()
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), why) {
			t.Errorf("Check(%q) = %v, want ErrMalformed mentioning %q", s, err, why)
		}
	}
	// Reading what efivarfs lists stays possible: a firmware variable with
	// a non-ASCII name is listed under its UTF-8 name.
	if n, err := ParseName("caf\u00e9-" + GlobalGUID.String()); err != nil || n.Name != "caf\u00e9" {
		t.Errorf("ParseName of a listed non-ASCII name: %v %v", n, err)
	}
	if _, err := ParseName(strings.Repeat("a", nameMax-guidPart+1) + "-" + GlobalGUID.String()); !errors.Is(err, ErrMalformed) {
		t.Errorf("ParseName of a 256-byte file name: %v", err)
	}
}

// TestCommitPatterns: the default commit allow-list is the kernel's list of
// variables it leaves mutable, with Boot#### and Driver#### meaning four
// uppercase hex digits (UEFI 2.10 §3.3) instead of the kernel's "Boot*",
// the console variables by their exact names, and no LINUX_EFI_CRASH_GUID.
func TestCommitPatterns(t *testing.T) {
	vendor := mustGUID("12345678-1234-1234-1234-123456789abc")
	for n, want := range map[Name]bool{
		BootNext: true, BootOrder: true, BootEntry(1): true, BootEntry(0xABCD): true,
		{"Driver00FF", GlobalGUID}: true, {"DriverOrder", GlobalGUID}: true,
		{"ConIn", GlobalGUID}: true, {"ConOut", GlobalGUID}: true, {"ErrOut", GlobalGUID}: true,
		{"ConInDev", GlobalGUID}: true, {"ErrOutDev", GlobalGUID}: true,
		OsIndications: true, Timeout: true, {"Lang", GlobalGUID}: true, {"PlatformLang", GlobalGUID}: true,
		{"BootOrderX", GlobalGUID}: false, {"BootCurrent", GlobalGUID}: false, {"Boot00ab", GlobalGUID}: false,
		{"Boot0001X", GlobalGUID}: false, {"Boot001", GlobalGUID}: false, {"Bootx", GlobalGUID}: false,
		{"BootOptionSupport", GlobalGUID}: false, {"ConInX", GlobalGUID}: false, {"ConsoleFoo", GlobalGUID}: false,
		{"dump-type0-1-1", LinuxCrashGUID}: false, {"BootOrder", vendor}: false, PK: false, Db: false,
	} {
		got := false
		for _, p := range CommitPatterns() {
			got = got || p.Match(n)
		}
		if got != want {
			t.Errorf("default commit allow-list matches %s = %v, want %v", n, got, want)
		}
	}
	p, err := ParsePattern("Boot####-" + GlobalGUID.String())
	if err != nil || !p.Match(BootEntry(0x10)) || p.Match(Name{"Boot0010x", GlobalGUID}) || p.String() != "Boot####-"+GlobalGUID.String() {
		t.Errorf("Boot#### pattern: %v %v", p, err)
	}
	for _, bad := range []string{"Boot##-" + GlobalGUID.String(), "B#oot-" + GlobalGUID.String(), "Boot####*-" + GlobalGUID.String()} {
		if _, err := ParsePattern(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParsePattern(%q) = %v", bad, err)
		}
	}
}

func TestParsePatterns(t *testing.T) {
	ps, err := ParsePatterns([]string{"Boot####-" + GlobalGUID.String(), "*-" + GlobalGUID.String()})
	if err != nil || len(ps) != 2 || !ps[0].Match(BootEntry(7)) || !ps[1].Match(Name{"Anything", GlobalGUID}) {
		t.Fatalf("ParsePatterns: %v %v", ps, err)
	}
	if ps, err := ParsePatterns([]string{"*-" + GlobalGUID.String(), "nonsense"}); ps != nil || !errors.Is(err, ErrMalformed) {
		t.Errorf("a bad pattern: %v %v", ps, err)
	}
}
