package policy

import (
	"github.com/slkit/slkit/internal/errkind"
)

// ErrMalformed wraps every problem with the shape of a policy, an envelope
// or a key file (the CLI's exit code 1).
var ErrMalformed = errkind.New(errkind.Input, "malformed")

// ErrSignature is returned when no signature of an envelope verifies under
// the given public key: a bad signature, a wrong key, a tampered payload
// (the CLI's exit code 3).
var ErrSignature = errkind.New(errkind.Verify, "signature verification failed")

// ErrNoEntry is returned when a policy has no entry of the name asked for.
var ErrNoEntry = errkind.New(errkind.Input, "no such policy entry")
