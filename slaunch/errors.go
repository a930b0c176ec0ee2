package slaunch

import (
	"errors"
	"fmt"

	"github.com/slkit/slkit/internal/errkind"
)

// Sentinel errors; every error this package returns for bad input or a
// refused launch wraps one of them (check with errors.Is).
var (
	// ErrMalformed wraps every parse error of an ACM, SKL, kernel or SLRT
	// (see FormatError).
	ErrMalformed = errkind.New(errkind.Input, "malformed image")
	// ErrNoMLEHeader is returned for a kernel without a Secure Launch MLE
	// header (every kernel built without CONFIG_SECURE_LAUNCH).
	ErrNoMLEHeader = errkind.New(errkind.Input, "kernel has no MLE header")
	// ErrPlatformMismatch is returned when a SINIT ACM does not fit the
	// platform or the MLE (chipset, processor, fusing, capabilities).
	ErrPlatformMismatch = errkind.New(errkind.Verify, "SINIT ACM does not match")
	// ErrNotCapable is returned when the platform cannot do a dynamic launch.
	ErrNotCapable = errkind.New(errkind.Verify, "platform is not capable of a dynamic launch")
	// ErrNeedsDLStub is returned by the hardware backend: everything is
	// staged and valid, but no ring-0 dynamic-launch stub exists to execute
	// GETSEC[SENTER] or SKINIT (see HardwareRefusal).
	ErrNeedsDLStub = errkind.New(errkind.Verify, "a ring-0 dynamic-launch stub is required")
	// ErrNoDRTM is returned when PCR17/18 show that no dynamic launch
	// happened, or that the DRTM log does not describe it (see NoDRTMError).
	ErrNoDRTM = errkind.New(errkind.Verify, "DRTM did not happen")
	// ErrNoKernelLog is a Secure Launch kernel's DRTM log buffer that
	// holds no event (all zero, or a header only).
	ErrNoKernelLog = errkind.New(errkind.Input, "empty DRTM log buffer")
	// ErrDRTMNotStarted is returned when a dynamic launch failed before
	// the DCE event: nothing of it happened, PCR 17–22 are as they were,
	// and a measured launch may go on without it (see LaunchError).
	ErrDRTMNotStarted = errkind.New(errkind.Verify, "the dynamic launch did not start")
	// ErrDRTMAborted is returned when a dynamic launch failed after the
	// DCE event (the _TPM_Hash sequence reset PCR 17–22): the platform is
	// neither in its pre-launch state nor in a verified launched one, so
	// nothing may boot (see LaunchError).
	ErrDRTMAborted = errkind.New(errkind.Verify, "the dynamic launch failed after the DCE event")
	// ErrNotRecorded is returned by a recorded platform for a read that the
	// recording does not hold.
	ErrNotRecorded = errkind.New(errkind.IO, "not in the recording")
)

// FormatError locates a problem in a parsed image: what was parsed, the byte
// offset of the offending field, and what is wrong with it. It wraps
// ErrMalformed.
type FormatError struct {
	What   string // "SINIT ACM", "SKL", "kernel", "SLRT"
	Offset int64
	Msg    string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("%s: at byte offset %#x: %s", e.What, e.Offset, e.Msg)
}

// Unwrap makes errors.Is(err, ErrMalformed) true.
func (e *FormatError) Unwrap() error { return ErrMalformed }

func formatErr(what string, off int64, format string, a ...any) error {
	return &FormatError{What: what, Offset: off, Msg: fmt.Sprintf(format, a...)}
}

// NoDRTMError says why a TPM shows no dynamic launch. It wraps ErrNoDRTM.
type NoDRTMError struct {
	Reason string
}

func (e *NoDRTMError) Error() string { return ErrNoDRTM.Error() + ": " + e.Reason }

// Unwrap makes errors.Is(err, ErrNoDRTM) true.
func (e *NoDRTMError) Unwrap() error { return ErrNoDRTM }

// HardwareRefusal is the hardware backend's answer once everything is
// staged and validated: there is no ring-0 dynamic-launch stub to run
// GETSEC[SENTER] or SKINIT from Linux userland, so the launch cannot
// happen here; the grub backend (TrenchBoot GRUB) is the way today. It
// wraps ErrNeedsDLStub.
type HardwareRefusal struct {
	// Arch is "txt" or "skinit".
	Arch string
	// Staged lists what was staged and validated before refusing.
	Staged []string
}

func (e *HardwareRefusal) Error() string {
	dle := "GETSEC[SENTER]"
	if e.Arch == ArchSKINIT.String() {
		dle = "SKINIT"
	}
	return fmt.Sprintf("%s: staged and validated, but executing %s needs a ring-0 dynamic-launch stub, "+
		"which slkit does not have; boot through TrenchBoot GRUB instead (slkit drtm stage --backend grub)",
		ErrNeedsDLStub, dle)
}

// Unwrap makes errors.Is(err, ErrNeedsDLStub) true.
func (e *HardwareRefusal) Unwrap() error { return ErrNeedsDLStub }

// LaunchError is a dynamic launch that failed, and how far it got: Began
// is true once the DCE event happened (on the rig, the host's _TPM_Hash
// sequence; on hardware, SENTER or SKINIT), which resets PCR 17–22. It
// wraps ErrNoDRTM and ErrDRTMAborted (Began) or ErrDRTMNotStarted, and
// Err. Use NeverStarted to decide whether a launch may go on without it.
type LaunchError struct {
	// Step names what failed ("host channel", "stage", "tpm-hash",
	// "tpm-locality", "post-launch extends", "DRTM log", "verify", or a
	// backend's own).
	Step  string
	Began bool
	Err   error
}

func (e *LaunchError) Error() string {
	reason := e.Err.Error()
	var nd *NoDRTMError
	if errors.As(e.Err, &nd) {
		reason = nd.Reason
	}
	if e.Began {
		return fmt.Sprintf("%s: %s; the dynamic launch failed after the DCE event (PCR 17-22 were reset)", ErrNoDRTM, reason)
	}
	return fmt.Sprintf("%s: %s; the dynamic launch did not start (PCR 17-22 unchanged)", ErrNoDRTM, reason)
}

// Unwrap makes errors.Is true for ErrNoDRTM, for ErrDRTMAborted or
// ErrDRTMNotStarted, and for what Err wraps.
func (e *LaunchError) Unwrap() []error {
	stage := ErrDRTMNotStarted
	if e.Began {
		stage = ErrDRTMAborted
	}
	return []error{ErrNoDRTM, stage, e.Err}
}

// NotStarted returns a LaunchError for a failure before the DCE event: the
// dynamic launch never started (err: what failed at step). A backend that
// refuses before it executes anything uses it.
func NotStarted(step string, err error) error {
	return &LaunchError{Step: step, Err: err}
}

// aborted returns a LaunchError for a failure after the DCE event.
func aborted(step string, err error) error {
	return &LaunchError{Step: step, Began: true, Err: err}
}

// NeverStarted reports whether err says that a dynamic launch failed
// before its DCE event, and only that: it is a LaunchError of a launch
// that did not begin, and nothing in it says that one began. Any other
// error — one past the DCE event, or one that does not say — is false:
// fail closed.
func NeverStarted(err error) bool {
	return errors.Is(err, ErrDRTMNotStarted) && !errors.Is(err, ErrDRTMAborted)
}
