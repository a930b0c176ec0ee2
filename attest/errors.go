package attest

import "github.com/slkit/slkit/internal/errkind"

// Sentinel errors (check with errors.Is).
var (
	// ErrMalformed wraps every problem with the bytes of an evidence
	// bundle or a challenge: too large, not JSON, an unknown field or
	// format, a field of the wrong size.
	ErrMalformed = errkind.New(errkind.Input, "malformed attestation data")
	// ErrNonce is a verifier nonce of the wrong length.
	ErrNonce = errkind.New(errkind.Input, "bad nonce")
	// ErrEK is an endorsement key that cannot be used: an EK certificate
	// that does not certify the key its template creates, or no EK for a
	// challenge.
	ErrEK = errkind.New(errkind.Verify, "endorsement key")
	// ErrActivation is a credential the TPM refuses to activate: made for
	// another EK or another AK.
	ErrActivation = errkind.New(errkind.Verify, "credential activation refused")
	// ErrQuote is a quote whose PCR digest never matched the PCR values
	// read around it (the PCRs kept changing).
	ErrQuote = errkind.New(errkind.IO, "quote")
)
