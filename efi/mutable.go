package efi

import (
	"fmt"
	"strings"
)

// Pattern names variables: "Name-GUID" exactly, "Prefix*-GUID" for every
// name starting with Prefix, "Prefix####-GUID" for Prefix followed by
// exactly four uppercase hex digits (Boot####, Driver####: UEFI 2.10
// §3.3), or "*-GUID" for every variable of a vendor.
type Pattern struct {
	Name string // may end in '*' or "####"
	GUID GUID
}

// ParsePatterns parses each pattern (ParsePattern).
func ParsePatterns(ss []string) ([]Pattern, error) {
	var out []Pattern
	for _, s := range ss {
		p, err := ParsePattern(s)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// hex4 is the suffix of a four-hex-digit pattern.
const hex4 = "####"

// ParsePattern parses "Name-GUID", "Prefix*-GUID", "Prefix####-GUID" or
// "*-GUID".
func ParsePattern(s string) (Pattern, error) {
	if len(s) < 38 || s[len(s)-37] != '-' {
		return Pattern{}, fmt.Errorf("%w pattern %q: want NAME-GUID, PREFIX*-GUID, PREFIX####-GUID or *-GUID", ErrMalformed, clipName(s))
	}
	g, err := ParseGUID(s[len(s)-36:])
	if err != nil {
		return Pattern{}, fmt.Errorf("%w pattern %q: bad GUID", ErrMalformed, clipName(s))
	}
	p := Pattern{s[:len(s)-37], g}
	stem := strings.TrimSuffix(p.Name, "*")
	if stem == p.Name {
		stem = strings.TrimSuffix(p.Name, hex4)
	}
	if strings.ContainsAny(stem, "*#") {
		return Pattern{}, fmt.Errorf("%w pattern %q: '*' or \"####\" only at the end of the name", ErrMalformed, clipName(s))
	}
	if stem != "" {
		if err := (Name{stem, g}).Check(); err != nil {
			return Pattern{}, err
		}
	} else if p.Name != "*" {
		return Pattern{}, fmt.Errorf("%w pattern %q: empty name", ErrMalformed, clipName(s))
	}
	return p, nil
}

// String is the form ParsePattern reads.
func (p Pattern) String() string { return p.Name + "-" + p.GUID.String() }

// Match reports whether n is named by p. A '*' matches any rest, as in the
// kernel's variable_matches (drivers/firmware/efi/vars.c); "####" matches
// exactly four uppercase hex digits; otherwise the names are equal.
func (p Pattern) Match(n Name) bool {
	if p.GUID != n.GUID {
		return false
	}
	if stem, ok := strings.CutSuffix(p.Name, "*"); ok {
		return strings.HasPrefix(n.Name, stem)
	}
	if stem, ok := strings.CutSuffix(p.Name, hex4); ok {
		digits, ok := strings.CutPrefix(n.Name, stem)
		return ok && isHex4(digits)
	}
	return p.Name == n.Name
}

// isHex4 reports whether s is four uppercase hex digits.
func isHex4(s string) bool {
	if len(s) != 4 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// CommitPatterns is the default allow-list of the deferred-commit journal:
// the variables the kernel leaves mutable (kernelRules) that a launched OS
// has a reason to change — BootNext, BootOrder, Boot####, DriverOrder,
// Driver####, ConIn, ConInDev, ConOut, ConOutDev, ErrOut, ErrOutDev, Lang,
// PlatformLang, OsIndications, Timeout. The kernel's "Boot*" and "Driver*"
// become Boot#### and Driver#### (it would also allow BootOrderX,
// BootCurrent or Boot00ab), and LINUX_EFI_CRASH_GUID is left out: its
// pstore dumps could fill the variable store.
func CommitPatterns() []Pattern {
	var out []Pattern
	for _, r := range kernelRules {
		p := r.p
		switch {
		case p.GUID != GlobalGUID:
			continue
		case strings.HasSuffix(p.Name, "*"):
			p.Name = strings.TrimSuffix(p.Name, "*") + hex4
		}
		out = append(out, p)
	}
	return out
}

// kernelRule is one row of the kernel's variable_validate table
// (drivers/firmware/efi/vars.c in 6.1, fs/efivarfs/vars.c later): the
// variables efivarfs creates without the immutable flag, and the check it
// runs on every write to them. The first matching row wins.
type kernelRule struct {
	p        Pattern
	validate func(n Name, matched int, data []byte) string
}

var kernelRules = []kernelRule{
	{Pattern{"BootNext", GlobalGUID}, validateUint16},
	{Pattern{"BootOrder", GlobalGUID}, validateBootOrder},
	{Pattern{"Boot*", GlobalGUID}, validateLoadOption},
	{Pattern{"DriverOrder", GlobalGUID}, validateBootOrder},
	{Pattern{"Driver*", GlobalGUID}, validateLoadOption},
	{Pattern{"ConIn", GlobalGUID}, validateDevicePath},
	{Pattern{"ConInDev", GlobalGUID}, validateDevicePath},
	{Pattern{"ConOut", GlobalGUID}, validateDevicePath},
	{Pattern{"ConOutDev", GlobalGUID}, validateDevicePath},
	{Pattern{"ErrOut", GlobalGUID}, validateDevicePath},
	{Pattern{"ErrOutDev", GlobalGUID}, validateDevicePath},
	{Pattern{"Lang", GlobalGUID}, validateASCII},
	{Pattern{"OsIndications", GlobalGUID}, nil},
	{Pattern{"PlatformLang", GlobalGUID}, validateASCII},
	{Pattern{"Timeout", GlobalGUID}, validateUint16},
	{Pattern{"*", LinuxCrashGUID}, nil},
}

func kernelRuleFor(n Name) *kernelRule {
	for i := range kernelRules {
		if kernelRules[i].p.Match(n) {
			return &kernelRules[i]
		}
	}
	return nil
}

// KernelMutable reports whether efivarfs creates n's file without the
// immutable flag (efivar_variable_is_removable): the kernel's list of
// variables that are safe to change from user space.
func KernelMutable(n Name) bool { return kernelRuleFor(n) != nil }

// KernelPatterns is the kernel's list as patterns, e.g. for a default
// commit allow-list.
func KernelPatterns() []Pattern {
	out := make([]Pattern, len(kernelRules))
	for i, r := range kernelRules {
		out[i] = r.p
	}
	return out
}
