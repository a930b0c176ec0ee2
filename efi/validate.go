package efi

import (
	"encoding/binary"
	"fmt"
	"strings"
	"syscall"
)

// reasonError is an errno with the reason slkit found for it before the
// kernel would have.
type reasonError struct {
	errno  syscall.Errno
	reason string
}

func (e *reasonError) Error() string { return e.reason + " (" + ErrnoName(e.errno) + ")" }
func (e *reasonError) Unwrap() error { return e.errno }

func invalid(format string, args ...any) error {
	return &reasonError{syscall.EINVAL, fmt.Sprintf(format, args...)}
}

// ValidateKernel runs the check efivarfs runs on every write
// (efivar_validate): BootNext and Timeout are exactly two bytes, BootOrder
// and DriverOrder an even number of bytes, Boot#### and Driver#### a load
// option whose device path ends, Con*/ErrOut* a device path, Lang and
// PlatformLang a NUL-terminated ASCII string. Variables not on the
// kernel's list are not checked. It returns an error matching
// syscall.EINVAL (and [ErrInvalid] inside a [VarError]) with the reason.
func ValidateKernel(n Name, data []byte) error {
	r := kernelRuleFor(n)
	if r == nil || r.validate == nil {
		return nil
	}
	stem := strings.TrimSuffix(r.p.Name, "*")
	if msg := r.validate(n, len(stem), data); msg != "" {
		return invalid("%s: %s", n.Name, msg)
	}
	return nil
}

func validateUint16(_ Name, _ int, b []byte) string {
	if len(b) != 2 {
		return fmt.Sprintf("must be exactly 2 bytes, got %d", len(b))
	}
	return ""
}

func validateBootOrder(_ Name, _ int, b []byte) string {
	if len(b)%2 != 0 {
		return fmt.Sprintf("must be a list of 16-bit entries, got %d bytes", len(b))
	}
	return ""
}

func validateASCII(_ Name, _ int, b []byte) string {
	for _, c := range b {
		if c > 127 {
			return "must be ASCII"
		}
		if c == 0 {
			return ""
		}
	}
	return "must be a NUL-terminated string"
}

func validateDevicePath(_ Name, _ int, b []byte) string {
	if !kernelDevicePathOK(b) {
		return "device path without an end node"
	}
	return ""
}

// validateLoadOption is validate_load_option: only "Boot"/"Driver" plus
// exactly four hex digits is checked (BootCurrent, BootOptionSupport...
// pass), as a load option of at least 8 bytes whose description is
// NUL-terminated and whose file path list fits and has an end node.
func validateLoadOption(n Name, matched int, b []byte) string {
	rs := []rune(n.Name)
	for i := matched; i < matched+4; i++ {
		if i >= len(rs) || !isHex(rs[i]) {
			return ""
		}
	}
	if len(rs) > matched+4 {
		return "name has more than four hex digits"
	}
	if len(b) < 8 {
		return fmt.Sprintf("load option of %d bytes, at least 8 needed", len(b))
	}
	fpl := int(binary.LittleEndian.Uint16(b[4:6]))
	// ucs2_strsize(buffer + 6, datasize - 6) + 2: the description and its NUL.
	desc := 0
	for i := 6; i+1 < len(b) && (b[i] != 0 || b[i+1] != 0); i += 2 {
		desc += 2
	}
	desc += 2
	if desc+fpl+6 > len(b) {
		return "description and file path list run past the end"
	}
	if !kernelDevicePathOK(b[6+desc : 6+desc+fpl]) {
		return "file path list without an end node"
	}
	return ""
}

func isHex(r rune) bool {
	return (r >= '0' && r <= '9') || (r >= 'a' && r <= 'f') || (r >= 'A' && r <= 'F')
}

// kernelDevicePathOK is validate_device_path: walk nodes (type, subtype,
// le16 length >= 4) that stay inside b until an End Entire node (type
// 0x7f or 0xff, subtype 0xff).
func kernelDevicePathOK(b []byte) bool {
	off := 0
	for off+4 <= len(b) {
		l := int(binary.LittleEndian.Uint16(b[off+2:]))
		if l < 4 || l > len(b)-off {
			return false
		}
		t, st := b[off], b[off+1]
		off += l
		if (t == 0x7f || t == 0xff) && st == 0xff {
			return true
		}
	}
	return false
}
