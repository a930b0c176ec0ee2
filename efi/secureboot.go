package efi

import (
	"errors"
	"fmt"
)

// SecureBootState is the Secure Boot mode the firmware reports through
// its read-only globals (UEFI 2.10 §3.3, §32.3).
type SecureBootState struct {
	SecureBoot   bool `json:"secure_boot"`
	SetupMode    bool `json:"setup_mode"`
	AuditMode    bool `json:"audit_mode"`
	DeployedMode bool `json:"deployed_mode"`
}

// SecureBootState reads SecureBoot, SetupMode, AuditMode and DeployedMode
// (one byte each, 1 = on). A missing SecureBoot means the firmware does
// not support Secure Boot and reads as all off; the others default to
// off when absent (AuditMode and DeployedMode are UEFI 2.5+).
func (v *Vars) SecureBootState() (SecureBootState, error) {
	var s SecureBootState
	for _, x := range []struct {
		n   Name
		dst *bool
	}{{SecureBoot, &s.SecureBoot}, {SetupMode, &s.SetupMode}, {AuditMode, &s.AuditMode}, {DeployedMode, &s.DeployedMode}} {
		vr, err := v.Get(x.n)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return s, err
		}
		if len(vr.Data) != 1 || vr.Data[0] > 1 {
			return s, fmt.Errorf("%s: %w: want one byte 0 or 1, got %x", x.n, ErrMalformed, vr.Data)
		}
		*x.dst = vr.Data[0] == 1
	}
	return s, nil
}
