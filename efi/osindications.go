package efi

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// OsIndications bits (UEFI 2.10 §8.5.4, "Exchanging information between
// the OS and Firmware").
const (
	OsIndBootToFwUI            uint64 = 0x0001
	OsIndTimestampRevocation   uint64 = 0x0002
	OsIndFileCapsuleDelivery   uint64 = 0x0004
	OsIndFMPCapsuleSupported   uint64 = 0x0008
	OsIndCapsuleResultVar      uint64 = 0x0010
	OsIndStartOSRecovery       uint64 = 0x0020
	OsIndStartPlatformRecovery uint64 = 0x0040
	OsIndJSONConfigDataRefresh uint64 = 0x0080
)

var osIndNames = []struct {
	bit  uint64
	name string
}{
	{OsIndBootToFwUI, "boot-to-fw-ui"},
	{OsIndTimestampRevocation, "timestamp-revocation"},
	{OsIndFileCapsuleDelivery, "file-capsule-delivery"},
	{OsIndFMPCapsuleSupported, "fmp-capsule-supported"},
	{OsIndCapsuleResultVar, "capsule-result-var"},
	{OsIndStartOSRecovery, "start-os-recovery"},
	{OsIndStartPlatformRecovery, "start-platform-recovery"},
	{OsIndJSONConfigDataRefresh, "json-config-data-refresh"},
}

// ParseOsIndicationBits parses a comma-separated list of bit names
// (boot-to-fw-ui, file-capsule-delivery, ...) and numbers (0x4).
func ParseOsIndicationBits(s string) (uint64, error) {
	var v uint64
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		found := false
		for _, n := range osIndNames {
			if strings.EqualFold(f, n.name) {
				v |= n.bit
				found = true
			}
		}
		if found {
			continue
		}
		n, err := strconv.ParseUint(f, 0, 64)
		if err != nil || f == "" {
			return 0, fmt.Errorf("%w OsIndications bits %q: unknown %q", ErrMalformed, s, f)
		}
		v |= n
	}
	return v, nil
}

// OsIndicationNames names the bits of v.
func OsIndicationNames(v uint64) []string {
	var out []string
	for _, n := range osIndNames {
		if v&n.bit != 0 {
			out = append(out, n.name)
			v &^= n.bit
		}
	}
	if v != 0 {
		out = append(out, fmt.Sprintf("%#x", v))
	}
	return out
}

// ParseUint64 parses OsIndications/OsIndicationsSupported: a little-endian
// UINT64 (UEFI 2.10 §3.3).
func ParseUint64(b []byte) (uint64, error) {
	if len(b) != 8 {
		return 0, fmt.Errorf("%w: %d bytes, want 8", ErrMalformed, len(b))
	}
	return binary.LittleEndian.Uint64(b), nil
}

// MarshalUint64 encodes an OsIndications value.
func MarshalUint64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }
