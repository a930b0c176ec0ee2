package update

import (
	"github.com/slkit/slkit/internal/errkind"
)

// Sentinel errors; every error of this package wraps one of them or a
// tpm/journal sentinel.
var (
	// ErrNoJournal: there is no journal, or nothing in it is pending.
	ErrNoJournal = errkind.New(errkind.Input, "nothing queued")
	// ErrPlan: the requested update cannot be prepared safely (every
	// sealed PCR is a firmware PCR, a kexec round trip with a change that
	// needs a firmware reboot, a prediction that lacks a PCR...).
	ErrPlan = errkind.New(errkind.Input, "cannot prepare the update")
	// ErrNotUpdated: Finish was called before the post-update launch (the
	// update object does not unseal yet); finishing now would reseal to
	// the pre-update values.
	ErrNotUpdated = errkind.New(errkind.Verify, "update not done yet")
	// ErrRollback: the launch policy's policy_version is below the
	// minimum the TPM's policy anchor holds.
	ErrRollback = errkind.New(errkind.Verify, "launch policy rolled back")
	// ErrKeySeed: a sealed journal key whose secret is not an Ed25519
	// seed (UnsealKey).
	ErrKeySeed = errkind.New(errkind.Input, "the sealed secret is not a 32-byte Ed25519 seed")
)
