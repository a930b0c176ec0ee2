package tpm

import "strings"

// UnsealReport is what an unseal released, for `slkit unseal --json`:
// which object of the file, under which policy and where the secret
// went; never the secret itself.
type UnsealReport struct {
	File   string `json:"file"`
	Object string `json:"object"`
	// MainRefusal is why the main object was refused, when the update
	// object released the secret (one line).
	MainRefusal string `json:"main_refusal,omitempty"`
	Bank        Alg    `json:"bank"`
	PCRs        []int  `json:"pcrs"`
	PIN         bool   `json:"pin"`
	// Out is where the secret was written, Fingerprint its Fingerprint
	// (both set by the caller, when there are).
	Out         string `json:"out,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
}

// NewUnsealReport reports the unseal of s read from file, as info (of
// WithUnsealInfo) says it went: the main object's policy, or the update
// object's and the main object's refusal.
func NewUnsealReport(file string, s *Sealed, info *UnsealInfo) *UnsealReport {
	r := &UnsealReport{File: file, Object: "main", Bank: s.Policy.Bank, PCRs: s.Policy.PCRs, PIN: s.Policy.PIN}
	if info.Update {
		r.Object = "update"
		r.MainRefusal = strings.Join(strings.Fields(info.Refusal.Error()), " ")
		r.PCRs, r.PIN = s.Update.Policy.PCRs, s.Update.Policy.PIN
	}
	return r
}
