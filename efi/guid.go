package efi

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
)

// GUID is an EFI_GUID in its on-wire byte order (UEFI 2.10 Appendix A:
// Data1, Data2 and Data3 little-endian, Data4 as bytes).
type GUID [16]byte

// Well-known vendor GUIDs.
var (
	// GlobalGUID is EFI_GLOBAL_VARIABLE (UEFI 2.10 §3.3): BootOrder,
	// BootNext, Boot####, OsIndications, SecureBoot, PK, KEK, ...
	GlobalGUID = mustGUID("8be4df61-93ca-11d2-aa0d-00e098032b8c")
	// ImageSecurityGUID is EFI_IMAGE_SECURITY_DATABASE_GUID (UEFI 2.10
	// §32.6.1): db, dbx, dbt, dbr.
	ImageSecurityGUID = mustGUID("d719b2cb-3d3a-4596-a3bc-dad00e67656f")
	// LinuxCrashGUID is LINUX_EFI_CRASH_GUID (pstore dumps); the kernel
	// leaves every variable of it mutable.
	LinuxCrashGUID = mustGUID("cfc8fc79-be2e-4ddc-97f0-9f98bfe298a0")
	// CertPKCS7GUID is EFI_CERT_TYPE_PKCS7_GUID, the only certificate type
	// EFI_VARIABLE_AUTHENTICATION_2 accepts (UEFI 2.10 §8.2.2).
	CertPKCS7GUID = mustGUID("4aafd29d-68df-49ee-8aa9-347d375665a7")
)

// mustGUID is for the constant table above only: its inputs are literals
// checked by TestWellKnownGUIDs.
func mustGUID(s string) GUID {
	g, _ := ParseGUID(s)
	return g
}

// ParseGUID parses the canonical 8-4-4-4-12 hex form (either case).
func ParseGUID(s string) (GUID, error) {
	var g GUID
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return g, fmt.Errorf("%w GUID %q: want 8-4-4-4-12 hex digits", ErrMalformed, s)
	}
	var raw [16]byte
	hexs := s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:36]
	if _, err := hex.Decode(raw[:], []byte(hexs)); err != nil {
		return g, fmt.Errorf("%w GUID %q: %v", ErrMalformed, s, err)
	}
	binary.LittleEndian.PutUint32(g[0:4], binary.BigEndian.Uint32(raw[0:4]))
	binary.LittleEndian.PutUint16(g[4:6], binary.BigEndian.Uint16(raw[4:6]))
	binary.LittleEndian.PutUint16(g[6:8], binary.BigEndian.Uint16(raw[6:8]))
	copy(g[8:], raw[8:])
	return g, nil
}

// String is the canonical lowercase form efivarfs uses in file names.
func (g GUID) String() string {
	return fmt.Sprintf("%08x-%04x-%04x-%x-%x",
		binary.LittleEndian.Uint32(g[0:4]), binary.LittleEndian.Uint16(g[4:6]),
		binary.LittleEndian.Uint16(g[6:8]), g[8:10], g[10:16])
}

// MarshalText implements encoding.TextMarshaler.
func (g GUID) MarshalText() ([]byte, error) { return []byte(g.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (g *GUID) UnmarshalText(b []byte) error {
	p, err := ParseGUID(string(b))
	if err != nil {
		return err
	}
	*g = p
	return nil
}
