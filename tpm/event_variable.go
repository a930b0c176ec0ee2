package tpm

import (
	"encoding/binary"
	"unicode/utf16"
)

// maxVariableName bounds the name length UEFIVariableName accepts
// (characters), far above any real variable name.
const maxVariableName = 1024

// UEFIVariableName returns the name of the UEFI variable an
// EV_EFI_VARIABLE_DRIVER_CONFIG, _BOOT, _BOOT2 or _AUTHORITY event measured,
// from its UEFI_VARIABLE_DATA (TCG PC Client PFP: VariableName GUID (16
// bytes), UnicodeNameLength (UINT64, in characters), VariableDataLength
// (UINT64), UnicodeName (CHAR16[]), VariableData), e.g. "BootOrder" or
// "Boot0001". It returns "" for any other event or data that does not
// parse: the log is untrusted input.
func (e *Event) UEFIVariableName() string {
	switch e.Type {
	case EvEFIVariableDriverConfig, EvEFIVariableBoot, EvEFIVariableBoot2, EvEFIVariableAuthority:
	default:
		return ""
	}
	b := e.Data
	if len(b) < 32 {
		return ""
	}
	n := binary.LittleEndian.Uint64(b[16:24])
	d := binary.LittleEndian.Uint64(b[24:32])
	if n == 0 || n > maxVariableName || uint64(len(b)-32) < 2*n || uint64(len(b)-32)-2*n < d {
		return ""
	}
	u := make([]uint16, n)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[32+2*i:])
	}
	for len(u) > 0 && u[len(u)-1] == 0 {
		u = u[:len(u)-1]
	}
	s := string(utf16.Decode(u))
	if s == "" || !printable(s) {
		return ""
	}
	return s
}
