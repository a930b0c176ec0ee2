package tpm

import (
	"encoding/binary"
	"unicode/utf16"
)

// maxVariableName bounds the name length UEFIVariableName accepts
// (characters), far above any real variable name.
const maxVariableName = 1024

// UEFIVariableData is the event data of an EV_EFI_VARIABLE_DRIVER_CONFIG,
// _BOOT, _BOOT2 or _AUTHORITY event (TCG PC Client PFP §10.4.4.2,
// UEFI_VARIABLE_DATA):
//
//	EFI_GUID VariableName        16 bytes, the vendor GUID (EFI byte order)
//	UINT64   UnicodeNameLength   characters
//	UINT64   VariableDataLength  bytes
//	CHAR16   UnicodeName[]       without a terminating NUL (edk2)
//	INT8     VariableData[]
//
// Unicode keeps the name's code units as the firmware wrote them (some
// firmware counts a trailing NUL), so that Marshal gives back the bytes
// the firmware measured.
type UEFIVariableData struct {
	GUID    [16]byte
	Unicode []uint16
	Data    []byte
}

// NewUEFIVariableData encodes name without a terminating NUL, as edk2's
// MeasureVariable does.
func NewUEFIVariableData(guid [16]byte, name string, data []byte) *UEFIVariableData {
	return &UEFIVariableData{GUID: guid, Unicode: utf16.Encode([]rune(name)), Data: data}
}

// Name is the variable name, trailing NULs removed.
func (v *UEFIVariableData) Name() string {
	u := v.Unicode
	for len(u) > 0 && u[len(u)-1] == 0 {
		u = u[:len(u)-1]
	}
	return string(utf16.Decode(u))
}

// Marshal encodes the structure.
func (v *UEFIVariableData) Marshal() []byte {
	b := make([]byte, 0, 32+2*len(v.Unicode)+len(v.Data))
	b = append(b, v.GUID[:]...)
	b = binary.LittleEndian.AppendUint64(b, uint64(len(v.Unicode)))
	b = binary.LittleEndian.AppendUint64(b, uint64(len(v.Data)))
	for _, c := range v.Unicode {
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	return append(b, v.Data...)
}

// UEFIVariable parses the event's UEFI_VARIABLE_DATA. It returns false for
// any other event type, for data that does not parse, and for data with
// bytes after VariableData: the log is untrusted input, and a structure
// that does not re-encode to the measured bytes is not one slkit can
// reason about.
func (e *Event) UEFIVariable() (*UEFIVariableData, bool) { return e.uefiVariable(true) }

// uefiVariable parses UEFI_VARIABLE_DATA; exact also refuses bytes after
// VariableData.
func (e *Event) uefiVariable(exact bool) (*UEFIVariableData, bool) {
	switch e.Type {
	case EvEFIVariableDriverConfig, EvEFIVariableBoot, EvEFIVariableBoot2, EvEFIVariableAuthority:
	default:
		return nil, false
	}
	b := e.Data
	if len(b) < 32 {
		return nil, false
	}
	n := binary.LittleEndian.Uint64(b[16:24])
	d := binary.LittleEndian.Uint64(b[24:32])
	if n == 0 || n > maxVariableName || uint64(len(b)-32) < 2*n || uint64(len(b)-32)-2*n < d {
		return nil, false
	}
	if exact && uint64(len(b)-32)-2*n != d {
		return nil, false
	}
	v := &UEFIVariableData{Unicode: make([]uint16, n), Data: append([]byte(nil), b[32+2*n:32+2*n+d]...)}
	copy(v.GUID[:], b[:16])
	for i := range v.Unicode {
		v.Unicode[i] = binary.LittleEndian.Uint16(b[32+2*i:])
	}
	return v, true
}

// UEFIVariableName returns the name of the UEFI variable an
// EV_EFI_VARIABLE_DRIVER_CONFIG, _BOOT, _BOOT2 or _AUTHORITY event
// measured, e.g. "BootOrder" or "Boot0001", or "" for any other event or
// data that does not parse or whose name is not printable. Bytes after
// VariableData are tolerated here: the name is only for messages.
func (e *Event) UEFIVariableName() string {
	v, ok := e.uefiVariable(false)
	if !ok {
		return ""
	}
	s := v.Name()
	if s == "" || !printable(s) {
		return ""
	}
	return s
}
