package efi

import (
	"fmt"
	"strings"
)

// Attr holds EFI variable attributes (UEFI 2.10 §8.2.1, SetVariable).
// efivarfs prefixes every file's content with them as a little-endian
// uint32.
type Attr uint32

// Attribute bits (UEFI 2.10 §8.2.1).
const (
	NonVolatile                       Attr = 0x01
	BootserviceAccess                 Attr = 0x02
	RuntimeAccess                     Attr = 0x04
	HardwareErrorRecord               Attr = 0x08
	AuthenticatedWriteAccess          Attr = 0x10 // deprecated, reserved
	TimeBasedAuthenticatedWriteAccess Attr = 0x20
	AppendWrite                       Attr = 0x40
	EnhancedAuthenticatedAccess       Attr = 0x80

	// DefaultAttr is what BootOrder, BootNext, Boot#### and OsIndications
	// carry: non-volatile, boot-service and runtime access.
	DefaultAttr = NonVolatile | BootserviceAccess | RuntimeAccess

	// kernelMask is EFI_VARIABLE_MASK: the bits efivarfs accepts in a
	// write (include/linux/efi.h); anything else is EINVAL.
	kernelMask Attr = 0x7f
)

var attrNames = []struct {
	a    Attr
	name string
}{
	{NonVolatile, "NV"}, {BootserviceAccess, "BS"}, {RuntimeAccess, "RT"},
	{HardwareErrorRecord, "HR"}, {AuthenticatedWriteAccess, "AW"},
	{TimeBasedAuthenticatedWriteAccess, "AT"}, {AppendWrite, "AP"},
	{EnhancedAuthenticatedAccess, "EA"},
}

// Names lists the set bits by their short names (NV, BS, RT, HR, AW, AT,
// AP, EA), and unknown bits as hex.
func (a Attr) Names() []string {
	var out []string
	rest := a
	for _, n := range attrNames {
		if a&n.a != 0 {
			out = append(out, n.name)
			rest &^= n.a
		}
	}
	if rest != 0 {
		out = append(out, fmt.Sprintf("%#x", uint32(rest)))
	}
	return out
}

// String is the names joined by '|' ("NV|BS|RT"), or "0".
func (a Attr) String() string {
	if a == 0 {
		return "0"
	}
	return strings.Join(a.Names(), "|")
}

// ParseAttr parses "NV|BS|RT" (also comma separated, either case) or a
// number such as 0x7.
func ParseAttr(s string) (Attr, error) {
	var n uint32
	if _, err := fmt.Sscanf(s, "0x%x", &n); err == nil && fmt.Sprintf("%#x", n) == strings.ToLower(s) {
		return Attr(n), nil
	}
	if _, err := fmt.Sscanf(s, "%d", &n); err == nil && fmt.Sprint(n) == s {
		return Attr(n), nil
	}
	var a Attr
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == '|' || r == ',' }) {
		found := false
		for _, n := range attrNames {
			if strings.EqualFold(strings.TrimSpace(f), n.name) {
				a |= n.a
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("%w attributes %q: unknown %q (want NV, BS, RT, HR, AT, AP or a number)", ErrMalformed, s, f)
		}
	}
	if a == 0 {
		return 0, fmt.Errorf("%w attributes %q: empty", ErrMalformed, s)
	}
	return a, nil
}
