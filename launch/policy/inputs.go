package policy

import (
	"github.com/slkit/slkit/internal/edkey"
	"github.com/slkit/slkit/internal/fsys"
)

// The inputs of the policy formats, each read whole (fsys.Input).
var (
	// DocumentInput is a policy document (Parse): at most MaxPolicySize
	// bytes.
	DocumentInput = fsys.Input{What: "policy document", Max: MaxPolicySize}
	// SignedInput is a signed policy (ParseEnvelope): at most
	// MaxEnvelopeSize bytes.
	SignedInput = fsys.Input{What: "signed policy", Max: MaxEnvelopeSize}
	// KeyInput is a key file (ParsePublicKey, ParsePrivateKey): at most
	// edkey.MaxFileSize bytes.
	KeyInput = fsys.Input{What: "key file", Max: edkey.MaxFileSize}
)
