package policy

import "fmt"

// KeygenReport is what `slkit policy keygen` (and `slkit efi keygen`)
// reports after GenerateKeyFiles: the two files written and the key's ID.
// Its JSON keys are in alphabetical order:
// {"keyid":HEX,"private":FILE,"public":FILE[,"sealed_to":POLICY]}.
type KeygenReport struct {
	// KeyID is the public key's KeyID.
	KeyID string `json:"keyid"`
	// Private is the private key file (mode 0600).
	Private string `json:"private"`
	// Public is the public key file.
	Public string `json:"public"`
	// SealedTo is the TPM policy the private key is sealed to, Private
	// then being a sealed file (`efi keygen --seal-pcrs`); "" when the
	// key is written in clear.
	SealedTo string `json:"sealed_to,omitempty"`
}

// Text is one line naming the files and the key ID.
func (r KeygenReport) Text() string {
	if r.SealedTo != "" {
		return fmt.Sprintf("wrote %s (the private key sealed to %s, 0600; never written in clear) and %s; key id %s\n", r.Private, r.SealedTo, r.Public, r.KeyID)
	}
	return fmt.Sprintf("wrote %s (private, 0600) and %s; key id %s\n", r.Private, r.Public, r.KeyID)
}

// SignReport is what `slkit policy sign` reports after signing a policy
// document: the document, its number of entries, the signing key's ID and
// the signed file. Its JSON keys are in alphabetical order:
// {"entries":N,"in":FILE,"keyid":HEX,"out":FILE}.
type SignReport struct {
	// Entries is the number of the policy's entries.
	Entries int `json:"entries"`
	// In is the policy document signed.
	In string `json:"in"`
	// KeyID is the signing key's KeyID.
	KeyID string `json:"keyid"`
	// Out is the signed policy file written.
	Out string `json:"out"`
}

// Text is one line naming the document, its entries, the key and the
// signed file.
func (r SignReport) Text() string {
	return fmt.Sprintf("signed %s (%d entries) with key %s: %s\n", r.In, r.Entries, r.KeyID, r.Out)
}
