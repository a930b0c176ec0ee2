package efi

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Name identifies a variable: its name and vendor GUID. Its String form,
// "Name-GUID", is the efivarfs file name (fs/efivarfs/super.c).
type Name struct {
	Name string
	GUID GUID
}

// maxNameLen bounds a variable name (bytes of UTF-8); firmware limits are
// far lower, this only keeps parsers bounded.
const maxNameLen = 512

// Globally defined variables slkit uses (UEFI 2.10 §3.3, §32.6.1).
var (
	BootNext               = Name{"BootNext", GlobalGUID}
	BootOrder              = Name{"BootOrder", GlobalGUID}
	BootCurrent            = Name{"BootCurrent", GlobalGUID}
	Timeout                = Name{"Timeout", GlobalGUID}
	OsIndications          = Name{"OsIndications", GlobalGUID}
	OsIndicationsSupported = Name{"OsIndicationsSupported", GlobalGUID}
	SecureBoot             = Name{"SecureBoot", GlobalGUID}
	SetupMode              = Name{"SetupMode", GlobalGUID}
	AuditMode              = Name{"AuditMode", GlobalGUID}
	DeployedMode           = Name{"DeployedMode", GlobalGUID}
	PK                     = Name{"PK", GlobalGUID}
	KEK                    = Name{"KEK", GlobalGUID}
	Db                     = Name{"db", ImageSecurityGUID}
	Dbx                    = Name{"dbx", ImageSecurityGUID}
)

// BootEntry is the name of load option Boot#### (UEFI 2.10 §3.3: four
// uppercase hex digits).
func BootEntry(n uint16) Name { return Name{fmt.Sprintf("Boot%04X", n), GlobalGUID} }

// String returns the efivarfs file name "Name-guid".
func (n Name) String() string { return n.Name + "-" + n.GUID.String() }

// MarshalText implements encoding.TextMarshaler.
func (n Name) MarshalText() ([]byte, error) { return []byte(n.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (n *Name) UnmarshalText(b []byte) error {
	p, err := ParseName(string(b))
	if err != nil {
		return err
	}
	*n = p
	return nil
}

// ParseName parses "Name-GUID" as efivarfs names its files
// (efivarfs_valid_name: the GUID is the last 36 characters, after a '-').
func ParseName(s string) (Name, error) {
	if len(s) < 38 || s[len(s)-37] != '-' {
		return Name{}, fmt.Errorf("%w variable %q: want NAME-GUID (e.g. BootOrder-%s)", ErrMalformed, s, GlobalGUID)
	}
	g, err := ParseGUID(s[len(s)-36:])
	if err != nil {
		return Name{}, fmt.Errorf("%w variable %q: bad GUID", ErrMalformed, s)
	}
	n := Name{s[:len(s)-37], g}
	if err := n.Check(); err != nil {
		return Name{}, err
	}
	return n, nil
}

// Check reports whether the name can be a variable name: non-empty UTF-8
// of UCS-2 characters (the firmware stores CHAR16), no NUL and no '/'.
func (n Name) Check() error {
	switch {
	case n.Name == "":
		return fmt.Errorf("%w variable name: empty", ErrMalformed)
	case len(n.Name) > maxNameLen:
		return fmt.Errorf("%w variable name: longer than %d bytes", ErrMalformed, maxNameLen)
	case !utf8.ValidString(n.Name):
		return fmt.Errorf("%w variable name %q: not UTF-8", ErrMalformed, n.Name)
	case strings.ContainsAny(n.Name, "/\x00"):
		return fmt.Errorf("%w variable name %q: contains '/' or NUL", ErrMalformed, n.Name)
	}
	for _, r := range n.Name {
		if r > 0xFFFF {
			return fmt.Errorf("%w variable name %q: %U is outside UCS-2", ErrMalformed, n.Name, r)
		}
	}
	return nil
}

// utf16Len is the size in bytes of the name as the firmware stores it:
// CHAR16 characters and a terminating NUL.
func (n Name) utf16Len() int { return 2 * (utf8.RuneCountInString(n.Name) + 1) }

// StoredSize is the size of the variable's record in an edk2 variable
// store: the 60-byte AUTHENTICATED_VARIABLE_HEADER, the UTF-16 name with
// its NUL, and the data (MdeModulePkg/Include/Guid/VariableFormat.h). It
// is what OVMF's PcdMaxVariableSize limits.
func (n Name) StoredSize(dataLen int) int { return 60 + n.utf16Len() + dataLen }
