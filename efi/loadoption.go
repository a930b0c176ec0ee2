package efi

import (
	"encoding/binary"
	"fmt"
	"unicode/utf16"
)

// Load option attributes (UEFI 2.10 §3.1.3).
const (
	LoadOptionActive         uint32 = 0x00000001
	LoadOptionForceReconnect uint32 = 0x00000002
	LoadOptionHidden         uint32 = 0x00000008
	LoadOptionCategoryApp    uint32 = 0x00000100
)

// LoadOption is an EFI_LOAD_OPTION, the value of Boot#### and Driver####
// (UEFI 2.10 §3.1.3):
//
//	UINT32  Attributes
//	UINT16  FilePathListLength
//	CHAR16  Description[]          NUL-terminated
//	EFI_DEVICE_PATH_PROTOCOL FilePathList[]  FilePathListLength bytes
//	UINT8   OptionalData[]         the rest
//
// FilePath holds the device path list as raw nodes; slkit checks its
// framing (§10.3.1: Type, SubType, le16 Length >= 4, ending with an End
// Entire node) but does not interpret the nodes, so no go-uefi device path
// parser (which exits the process on malformed nodes) is ever needed.
type LoadOption struct {
	Attributes   uint32
	Description  string
	FilePath     []byte
	OptionalData []byte
}

// ParseLoadOption parses and checks a load option.
func ParseLoadOption(b []byte) (*LoadOption, error) {
	if len(b) < 6 {
		return nil, fmt.Errorf("%w load option: %d bytes, want at least 6", ErrMalformed, len(b))
	}
	lo := &LoadOption{Attributes: binary.LittleEndian.Uint32(b[0:4])}
	fpl := int(binary.LittleEndian.Uint16(b[4:6]))
	var desc []uint16
	off := 6
	for {
		if off+2 > len(b) {
			return nil, fmt.Errorf("%w load option: description not NUL-terminated", ErrMalformed)
		}
		c := binary.LittleEndian.Uint16(b[off:])
		off += 2
		if c == 0 {
			break
		}
		desc = append(desc, c)
	}
	if err := checkUCS2(desc); err != nil {
		return nil, fmt.Errorf("%w load option description: %v", ErrMalformed, err)
	}
	lo.Description = string(utf16.Decode(desc))
	if fpl > len(b)-off {
		return nil, fmt.Errorf("%w load option: file path list of %d bytes runs past the end (%d left)", ErrMalformed, fpl, len(b)-off)
	}
	if err := CheckDevicePath(b[off : off+fpl]); err != nil {
		return nil, fmt.Errorf("load option: %w", err)
	}
	lo.FilePath = append([]byte(nil), b[off:off+fpl]...)
	lo.OptionalData = append([]byte(nil), b[off+fpl:]...)
	return lo, nil
}

// checkUCS2 refuses unpaired surrogates, so that a description survives
// decode and encode unchanged.
func checkUCS2(s []uint16) error {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= 0xd800 && c < 0xdc00:
			if i+1 >= len(s) || s[i+1] < 0xdc00 || s[i+1] >= 0xe000 {
				return fmt.Errorf("unpaired surrogate %#04x", c)
			}
			i++
		case c >= 0xdc00 && c < 0xe000:
			return fmt.Errorf("unpaired surrogate %#04x", c)
		}
	}
	return nil
}

// Marshal encodes the load option; it fails if the description contains
// NUL or the file path list is malformed or longer than 65535 bytes.
func (lo *LoadOption) Marshal() ([]byte, error) {
	if err := CheckDevicePath(lo.FilePath); err != nil {
		return nil, err
	}
	if len(lo.FilePath) > 0xffff {
		return nil, fmt.Errorf("%w load option: file path list longer than 65535 bytes", ErrMalformed)
	}
	desc := utf16.Encode([]rune(lo.Description))
	for _, c := range desc {
		if c == 0 {
			return nil, fmt.Errorf("%w load option: description contains NUL", ErrMalformed)
		}
	}
	b := make([]byte, 6, 6+2*len(desc)+2+len(lo.FilePath)+len(lo.OptionalData))
	binary.LittleEndian.PutUint32(b[0:], lo.Attributes)
	binary.LittleEndian.PutUint16(b[4:], uint16(len(lo.FilePath)))
	for _, c := range desc {
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	b = append(b, 0, 0)
	b = append(b, lo.FilePath...)
	return append(b, lo.OptionalData...), nil
}

// Device path node types (UEFI 2.10 §10.3.1).
const (
	dpEnd       = 0x7f
	dpEndEntire = 0xff
	dpEndInst   = 0x01
)

// CheckDevicePath checks the framing of a device path list: nodes of at
// least 4 bytes that stay inside b, instances separated by End Instance
// nodes, and a final End Entire node that ends exactly at the end of b.
func CheckDevicePath(b []byte) error {
	if len(b) == 0 {
		return fmt.Errorf("%w device path: empty (an End node is required)", ErrMalformed)
	}
	off := 0
	for off < len(b) {
		if len(b)-off < 4 {
			return fmt.Errorf("%w device path: %d stray bytes at offset %d", ErrMalformed, len(b)-off, off)
		}
		l := int(binary.LittleEndian.Uint16(b[off+2:]))
		if l < 4 || l > len(b)-off {
			return fmt.Errorf("%w device path: node at offset %d has length %d (%d bytes left)", ErrMalformed, off, l, len(b)-off)
		}
		t, st := b[off], b[off+1]
		off += l
		if t == dpEnd && st == dpEndEntire {
			if off != len(b) {
				return fmt.Errorf("%w device path: %d bytes after the End node", ErrMalformed, len(b)-off)
			}
			return nil
		}
	}
	return fmt.Errorf("%w device path: no End Entire node", ErrMalformed)
}

// ParseBootOrder parses BootOrder or DriverOrder: little-endian UINT16
// option numbers (UEFI 2.10 §3.3).
func ParseBootOrder(b []byte) ([]uint16, error) {
	if len(b)%2 != 0 {
		return nil, fmt.Errorf("%w boot order: %d bytes, want an even number", ErrMalformed, len(b))
	}
	out := make([]uint16, len(b)/2)
	for i := range out {
		out[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return out, nil
}

// MarshalBootOrder encodes option numbers as BootOrder.
func MarshalBootOrder(order []uint16) []byte {
	b := make([]byte, 0, 2*len(order))
	for _, n := range order {
		b = binary.LittleEndian.AppendUint16(b, n)
	}
	return b
}

// ParseUint16 parses BootNext or Timeout (exactly two bytes, little-endian).
func ParseUint16(b []byte) (uint16, error) {
	if len(b) != 2 {
		return 0, fmt.Errorf("%w: %d bytes, want 2", ErrMalformed, len(b))
	}
	return binary.LittleEndian.Uint16(b), nil
}
