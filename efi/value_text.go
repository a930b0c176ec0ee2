package efi

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// Value text formats (`slkit efi queue set --hex|--u16|--boot-order`).
const (
	// ValueHex is the data as hex digits.
	ValueHex = "hex"
	// ValueU16 is a UINT16 (BootNext, Timeout; UEFI 2.10 §3.3), given as
	// a number (0x prefix for hex), stored little-endian.
	ValueU16 = "u16"
	// ValueBootOrder is a BootOrder or DriverOrder list of hex option
	// numbers ("0001,0003"), stored as little-endian UINT16s.
	ValueBootOrder = "boot-order"
)

// ParseValueText encodes text given in format as a variable's data.
func ParseValueText(format, text string) ([]byte, error) {
	switch format {
	case ValueHex:
		b, err := hex.DecodeString(text)
		if err != nil {
			return nil, fmt.Errorf("%w %s value: %v", ErrMalformed, format, err)
		}
		return b, nil
	case ValueU16:
		n, err := strconv.ParseUint(text, 0, 16)
		if err != nil {
			return nil, fmt.Errorf("%w %s value: %v", ErrMalformed, format, err)
		}
		return binary.LittleEndian.AppendUint16(nil, uint16(n)), nil
	case ValueBootOrder:
		var order []uint16
		for _, f := range strings.Split(text, ",") {
			n, err := strconv.ParseUint(strings.TrimSpace(f), 16, 16)
			if err != nil {
				return nil, fmt.Errorf("%w %s value: %q is not a hex option number", ErrMalformed, format, f)
			}
			order = append(order, uint16(n))
		}
		return MarshalBootOrder(order), nil
	}
	return nil, fmt.Errorf("%w value format %q: want %s, %s or %s", ErrMalformed, format, ValueHex, ValueU16, ValueBootOrder)
}
