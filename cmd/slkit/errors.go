package main

import (
	"errors"
	"io/fs"
	"strings"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/efi/journal"
	"github.com/slkit/slkit/initramfs"
	"github.com/slkit/slkit/initramfs/pid1"
	"github.com/slkit/slkit/launch"
	"github.com/slkit/slkit/launch/policy"
	"github.com/slkit/slkit/qemu"
	"github.com/slkit/slkit/slaunch"
	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/swtpm"
	"github.com/slkit/slkit/update"
)

// Exit codes (documented in `slkit --help`).
const (
	exitOK     = 0
	exitInput  = 1
	exitTPM    = 2
	exitVerify = 3
)

// usageError is a bad flag or argument.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

// inputError is an input file that is missing, unreadable or malformed.
type inputError struct {
	name string
	err  error
}

func (i inputError) Error() string {
	if i.name == "" {
		return i.err.Error()
	}
	return i.name + ": " + i.err.Error()
}
func (i inputError) Unwrap() error { return i.err }

// exitCodes maps sentinel errors to exit codes; the first match wins, so
// verification failures come before the generic TPM failure.
var exitCodes = []struct {
	err  error
	code int
}{
	{tpm.ErrPCRMismatch, exitVerify},
	{errGuestFailed, exitVerify},
	{errNoResult, exitTPM},
	{qemu.ErrTimeout, exitTPM},
	{qemu.ErrNotInstalled, exitTPM},
	{qemu.ErrNoKernel, exitTPM},
	{tpm.ErrUnsealRefused, exitVerify},
	{tpm.ErrBadPIN, exitVerify},
	{tpm.ErrLockout, exitVerify},
	{tpm.ErrBadSealed, exitInput},
	{tpm.ErrSecretSize, exitInput},
	{tpm.ErrMalformedLog, exitInput},
	{tpm.ErrSpec, exitInput},
	{tpm.ErrUnknownAlg, exitInput},
	{tpm.ErrUnsupportedAlg, exitInput},
	{tpm.ErrOpen, exitTPM},
	{tpm.ErrTPM, exitTPM},
	{swtpm.ErrControl, exitTPM},
	{swtpm.ErrNoControl, exitTPM},
	{policy.ErrSignature, exitVerify},
	{policy.ErrMalformed, exitInput},
	{policy.ErrNoEntry, exitInput},
	{policy.ErrExists, exitInput},
	{launch.ErrImageMismatch, exitVerify},
	{launch.ErrDRTMUnavailable, exitVerify},
	{launch.ErrEntry, exitInput},
	{launch.ErrProfile, exitInput},
	{launch.ErrStart, exitInput},
	{launch.ErrKexec, exitTPM},
	{launch.ErrLog, exitTPM},
	{slaunch.ErrNoDRTM, exitVerify},
	{slaunch.ErrNeedsDLStub, exitVerify},
	{slaunch.ErrNotCapable, exitVerify},
	{slaunch.ErrPlatformMismatch, exitVerify},
	{slaunch.ErrMalformed, exitInput},
	{slaunch.ErrNoMLEHeader, exitInput},
	{slaunch.ErrPredict, exitInput},
	{initramfs.ErrInput, exitInput},
	{initramfs.ErrConfig, exitInput},
	{initramfs.ErrFormat, exitInput},
	{initramfs.ErrBuild, exitTPM},
	{pid1.ErrFinal, exitTPM},
	{journal.ErrSignature, exitVerify},
	{journal.ErrWrongKey, exitVerify},
	{journal.ErrReplay, exitVerify},
	{journal.ErrNotAllowed, exitVerify},
	{journal.ErrBadState, exitInput},
	{journal.ErrInterrupted, exitInput},
	{journal.ErrFull, exitInput},
	{journal.ErrIncomplete, exitTPM},
	{update.ErrNotUpdated, exitVerify},
	{update.ErrNoJournal, exitInput},
	{update.ErrPlan, exitInput},
	{tpm.ErrCounter, exitTPM},
	{efi.ErrMalformed, exitInput},
	{efi.ErrNotFound, exitInput},
	{efi.ErrNoEFI, exitTPM},
}

func exitCode(err error) int {
	var u usageError
	if errors.As(err, &u) {
		return exitInput
	}
	for _, m := range exitCodes {
		if errors.Is(err, m.err) {
			return m.code
		}
	}
	var in inputError
	if errors.As(err, &in) {
		return exitInput
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return exitTPM
	}
	return exitTPM
}

// oneLine folds a multi-line message onto one line.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}
