package efi

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
)

// GUID is an EFI_GUID in its on-wire byte order (UEFI 2.10 Appendix A:
// Data1, Data2 and Data3 little-endian, Data4 as bytes).
type GUID [16]byte

// Well-known vendor GUIDs, written as the UEFI specification writes them:
// {Data1, Data2, Data3, {Data4}}. They are built field by field, so there
// is no parse (and no parse error) at package initialisation.
var (
	// GlobalGUID is EFI_GLOBAL_VARIABLE (UEFI 2.10 §3.3): BootOrder,
	// BootNext, Boot####, OsIndications, SecureBoot, PK, KEK, ...
	GlobalGUID = guid(0x8BE4DF61, 0x93CA, 0x11D2, [8]byte{0xAA, 0x0D, 0x00, 0xE0, 0x98, 0x03, 0x2B, 0x8C})
	// ImageSecurityGUID is EFI_IMAGE_SECURITY_DATABASE_GUID (UEFI 2.10
	// §32.6.1): db, dbx, dbt, dbr.
	ImageSecurityGUID = guid(0xD719B2CB, 0x3D3A, 0x4596, [8]byte{0xA3, 0xBC, 0xDA, 0xD0, 0x0E, 0x67, 0x65, 0x6F})
	// LinuxCrashGUID is LINUX_EFI_CRASH_GUID (pstore dumps); the kernel
	// leaves every variable of it mutable.
	LinuxCrashGUID = guid(0xCFC8FC79, 0xBE2E, 0x4DDC, [8]byte{0x97, 0xF0, 0x9F, 0x98, 0xBF, 0xE2, 0x98, 0xA0})
	// CertPKCS7GUID is EFI_CERT_TYPE_PKCS7_GUID, the only certificate type
	// EFI_VARIABLE_AUTHENTICATION_2 accepts (UEFI 2.10 §8.2.2).
	CertPKCS7GUID = guid(0x4AAFD29D, 0x68DF, 0x49EE, [8]byte{0x8A, 0xA9, 0x34, 0x7D, 0x37, 0x56, 0x65, 0xA7})
)

// guid lays out an EFI_GUID in wire order (UEFI 2.10 Appendix A: Data1,
// Data2 and Data3 little-endian, Data4 as bytes).
func guid(d1 uint32, d2, d3 uint16, d4 [8]byte) GUID {
	var g GUID
	binary.LittleEndian.PutUint32(g[0:4], d1)
	binary.LittleEndian.PutUint16(g[4:6], d2)
	binary.LittleEndian.PutUint16(g[6:8], d3)
	copy(g[8:], d4[:])
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
