package attest

import (
	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/tpm"
)

// The inputs of the machine's side of attestation (fsys.Input).
var (
	// NonceInput is a nonce file: the nonce in hex and a line break.
	NonceInput = fsys.Input{What: "nonce file", Max: 1 << 10}
	// ActivationInput is the secret ActivateCredential released (Activate,
	// WithActivation): at most tpm.MaxSecret bytes.
	ActivationInput = fsys.Input{What: "activation secret", Max: tpm.MaxSecret}
	// ChallengeInput is an activation challenge (ParseChallenge).
	ChallengeInput = fsys.Input{What: "activation challenge", Max: MaxChallengeSize}
)
