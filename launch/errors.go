package launch

import (
	"github.com/slkit/slkit/internal/errkind"
)

// ErrEntry wraps every problem with a boot entry's input: a missing or
// empty image, a truncated read, a command line that is not UTF-8 or holds
// a NUL byte (the CLI's exit code 1).
var ErrEntry = errkind.New(errkind.Input, "bad boot entry")

// ErrProfile wraps an unknown or malformed measurement profile.
var ErrProfile = errkind.New(errkind.Input, "bad measurement profile")

// ErrStart is returned when the starting PCR values given to Predict lack
// a PCR the profile extends.
var ErrStart = errkind.New(errkind.Input, "bad starting PCR values")

// ErrImageMismatch is returned when an image's digest differs from the one
// the launch policy allows; the launch never boots (exit code 3).
var ErrImageMismatch = errkind.New(errkind.Verify, "image does not match the launch policy")

// ErrDRTMUnavailable is returned when the policy entry requires a dynamic
// launch and none can be staged; the launch fails closed (exit code 3).
var ErrDRTMUnavailable = errkind.New(errkind.Verify, "policy requires DRTM, which is not available")

// ErrKexec wraps failures to load or execute the next kernel (exit code 2).
var ErrKexec = errkind.New(errkind.IO, "kexec failed")

// ErrLog wraps problems with the pre-launch event log file: unreadable,
// not a crypto-agile log, or banks the TPM cannot be matched with.
var ErrLog = errkind.New(errkind.IO, "pre-launch event log")

// ErrStage wraps failures to copy the images into sealed memory files
// (memfd_create, fcntl seals, /proc/self/fd): nothing is booted.
var ErrStage = errkind.New(errkind.IO, "cannot stage the images in memory")
