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

// maxStoredName bounds any variable name slkit parses (bytes of UTF-8);
// firmware limits are far lower, this only keeps parsers bounded.
const maxStoredName = 512

// MaxNameLen is the longest variable name efivarfs can name a file for:
// a file name is at most NAME_MAX = 255 bytes (the VFS limit efivarfs
// reports as f_namelen, fs/efivarfs/super.c), and the file is
// "Name-GUID", 1 + 36 bytes after the name.
const MaxNameLen = 255 - 1 - 36

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
// It accepts every file name efivarfs can list (a firmware variable whose
// name is not ASCII is listed under its UTF-8 name); writers check the
// name with [Name.Check].
func ParseName(s string) (Name, error) {
	if len(s) < 38 || s[len(s)-37] != '-' {
		return Name{}, fmt.Errorf("%w variable %q: want NAME-GUID (e.g. BootOrder-%s)", ErrMalformed, clipName(s), GlobalGUID)
	}
	g, err := ParseGUID(s[len(s)-36:])
	if err != nil {
		return Name{}, fmt.Errorf("%w variable %q: bad GUID", ErrMalformed, clipName(s))
	}
	n := Name{s[:len(s)-37], g}
	if err := n.checkListed(); err != nil {
		return Name{}, err
	}
	return n, nil
}

// checkListed accepts the names of files efivarfs can list and open:
// Valid names of at most MaxNameLen bytes.
func (n Name) checkListed() error {
	if err := n.Valid(); err != nil {
		return err
	}
	if len(n.Name) > MaxNameLen {
		return fmt.Errorf("%w variable name %q: %d bytes, longer than the %d efivarfs can name a file for (NAME_MAX 255 with \"-GUID\")", ErrMalformed, clipName(n.Name), len(n.Name), MaxNameLen)
	}
	return nil
}

// Valid reports whether the name can be a variable name at all: non-empty
// UTF-8 of UCS-2 characters (the firmware stores CHAR16), no NUL and no
// '/', at most 512 bytes. Names efivarfs can reach are narrower (ParseName),
// names slkit writes narrower still ([Name.Check]).
func (n Name) Valid() error {
	switch {
	case n.Name == "":
		return fmt.Errorf("%w variable name: empty", ErrMalformed)
	case len(n.Name) > maxStoredName:
		return fmt.Errorf("%w variable name %q: longer than %d bytes", ErrMalformed, clipName(n.Name), maxStoredName)
	case !utf8.ValidString(n.Name):
		return fmt.Errorf("%w variable name %q: not UTF-8", ErrMalformed, n.Name)
	case strings.ContainsAny(n.Name, "/\x00"):
		return fmt.Errorf("%w variable name %q: contains '/' or NUL", ErrMalformed, n.Name)
	}
	for _, r := range n.Name {
		if r > 0xFFFF {
			return fmt.Errorf("%w variable name %q: %U is outside UCS-2 (the firmware stores CHAR16)", ErrMalformed, n.Name, r)
		}
	}
	return nil
}

// Check reports whether slkit can create and write the variable through
// efivarfs under exactly this firmware name:
//
//   - at most MaxNameLen bytes (longer file names fail with ENAMETOOLONG);
//   - printable ASCII only: efivarfs_create (fs/efivarfs/inode.c) copies
//     each byte of the file name into one CHAR16, so the UTF-8 bytes of
//     "é" would create the firmware name "Ã©", and control characters have
//     no business in a name;
//   - no '/' (not in a file name) and no '!': efivarfs_callback
//     (fs/efivarfs/super.c) lists a firmware name "A/B" as the file "A!B",
//     so writing "A!B" may change the variable "A/B".
func (n Name) Check() error {
	if err := n.checkListed(); err != nil {
		return err
	}
	for i := 0; i < len(n.Name); i++ {
		switch c := n.Name[i]; {
		case c < 0x20 || c > 0x7e:
			return fmt.Errorf("%w variable name %q: byte %#02x at %d is not printable ASCII (efivarfs makes one CHAR16 of each byte of the file name)", ErrMalformed, n.Name, c, i)
		case c == '!':
			return fmt.Errorf("%w variable name %q: '!' (efivarfs lists a firmware name holding '/' with '!' instead)", ErrMalformed, n.Name)
		}
	}
	return nil
}

// clipName shortens a name for an error message.
func clipName(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

// utf16Len is the size in bytes of the name as the firmware stores it:
// CHAR16 characters and a terminating NUL.
func (n Name) utf16Len() int { return 2 * (utf8.RuneCountInString(n.Name) + 1) }

// StoredSize is the size of the variable's record in an edk2 variable
// store: the 60-byte AUTHENTICATED_VARIABLE_HEADER, the UTF-16 name with
// its NUL, and the data (MdeModulePkg/Include/Guid/VariableFormat.h). It
// is what OVMF's PcdMaxVariableSize limits.
func (n Name) StoredSize(dataLen int) int { return 60 + n.utf16Len() + dataLen }
