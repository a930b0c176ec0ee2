package verifier

import "github.com/slkit/slkit/internal/errkind"

// Sentinel errors: each failed check of a verification wraps one of them
// (check with errors.Is); all but ErrMalformed and ErrImages are refusals.
var (
	// ErrMalformed is an unusable verifier input: a CA file without a
	// certificate, a malformed record.
	ErrMalformed = errkind.New(errkind.Input, "malformed verifier input")
	// ErrImages is a policy entry whose images are missing from the
	// images directory or do not match the entry's digests: the verifier
	// cannot predict that entry.
	ErrImages = errkind.New(errkind.Input, "policy images")
	// ErrEKCertificate is an EK certificate that is missing or does not
	// chain to the given CAs.
	ErrEKCertificate = errkind.New(errkind.Verify, "EK certificate not trusted")
	// ErrAK is an AK whose creation proof fails (not created by a TPM, not
	// restricted, not fixed to the TPM).
	ErrAK = errkind.New(errkind.Verify, "attestation key refused")
	// ErrNotActivated is an AK that did not pass credential activation.
	ErrNotActivated = errkind.New(errkind.Verify, "AK did not pass credential activation")
	// ErrNonce is a quote over another nonce than the verifier's (an old
	// or replayed bundle).
	ErrNonce = errkind.New(errkind.Verify, "quote nonce is not the verifier's")
	// ErrQuote is a quote whose signature or PCR digest fails.
	ErrQuote = errkind.New(errkind.Verify, "quote does not verify")
	// ErrCoverage is a log that extends a PCR no quote covers, or that
	// carries no quoted bank.
	ErrCoverage = errkind.New(errkind.Verify, "the quotes do not cover the logs")
	// ErrLogReplay is a log that does not parse or does not replay to the
	// quoted PCRs.
	ErrLogReplay = errkind.New(errkind.Verify, "event log does not replay to the quote")
	// ErrNoEntry is a launch that is no entry of the policy.
	ErrNoEntry = errkind.New(errkind.Verify, "launch matches no entry of the policy")
)
