package efi

import (
	"errors"
	"strconv"
	"syscall"

	"github.com/slkit/slkit/internal/errkind"
)

// Sentinel errors. A failed variable operation is a *[VarError] that
// matches both the errno the kernel returned (errors.Is(err,
// syscall.ENOSPC)) and the sentinel for it (errors.Is(err, ErrNoSpace)).
var (
	// ErrMalformed: bytes or text slkit was asked to parse are not what
	// they claim to be (a name, a GUID, a load option, a signature list).
	ErrMalformed = errkind.New(errkind.Input, "malformed")
	// ErrNoEFI: there is no efivarfs to talk to (not an EFI boot, or
	// efivarfs not mounted).
	ErrNoEFI = errkind.New(errkind.IO, "EFI variables are not available")
	// ErrNotFound: no such variable (also a zero-length phantom file).
	ErrNotFound = errkind.New(errkind.Input, "no such variable")
	// ErrImmutable: EPERM, the efivarfs file is immutable and the variable
	// is not on the allow-list whose flag slkit may clear.
	ErrImmutable = errkind.New(errkind.IO, "immutable (not on the allow-list)")
	// ErrInvalid: EINVAL, EFI_INVALID_PARAMETER; the kernel or firmware
	// refused the value (wrong size, bad attributes, too large).
	ErrInvalid = errkind.New(errkind.IO, "invalid parameter")
	// ErrNoSpace: ENOSPC, EFI_OUT_OF_RESOURCES; the variable store is full
	// until the firmware reclaims space at the next boot.
	ErrNoSpace = errkind.New(errkind.IO, "variable store full")
	// ErrReadOnly: EROFS, EFI_WRITE_PROTECTED.
	ErrReadOnly = errkind.New(errkind.IO, "write protected")
	// ErrSecurity: EACCES, EFI_SECURITY_VIOLATION; an authenticated write
	// was refused (bad signature, or a timestamp not newer than the
	// stored one).
	ErrSecurity = errkind.New(errkind.IO, "security violation")
	// ErrDevice: EIO, EFI_DEVICE_ERROR.
	ErrDevice = errkind.New(errkind.IO, "device error")
	// ErrAborted: EINTR, EFI_ABORTED; stop calling runtime services for
	// this boot.
	ErrAborted = errkind.New(errkind.IO, "runtime services aborted")
)

// errnoTable is Linux efi_status_to_err() (drivers/firmware/efi/efi.c)
// seen from user space, plus EPERM from the immutable flag.
var errnoTable = []struct {
	errno    syscall.Errno
	sentinel error
	name     string
}{
	{syscall.ENOENT, ErrNotFound, "ENOENT"},
	{syscall.EPERM, ErrImmutable, "EPERM"},
	{syscall.EINVAL, ErrInvalid, "EINVAL"},
	{syscall.ENOSPC, ErrNoSpace, "ENOSPC"},
	{syscall.EROFS, ErrReadOnly, "EROFS"},
	{syscall.EACCES, ErrSecurity, "EACCES"},
	{syscall.EIO, ErrDevice, "EIO"},
	{syscall.EINTR, ErrAborted, "EINTR"},
}

// ErrnoName is the symbolic name of an errno slkit's policy knows
// ("ENOSPC"), or its number.
func ErrnoName(e syscall.Errno) string {
	for _, t := range errnoTable {
		if t.errno == e {
			return t.name
		}
	}
	if e == 0 {
		return ""
	}
	return "errno " + strconv.Itoa(int(e))
}

// ParseErrnoName is the inverse of ErrnoName for the names it knows.
func ParseErrnoName(s string) (syscall.Errno, bool) {
	for _, t := range errnoTable {
		if t.name == s {
			return t.errno, true
		}
	}
	return 0, false
}

// Errno extracts the errno of a failed variable operation.
func Errno(err error) (syscall.Errno, bool) {
	var e syscall.Errno
	if errors.As(err, &e) {
		return e, true
	}
	return 0, false
}

// VarError is a failed operation on one variable.
type VarError struct {
	Op  string // "read", "write", "append", "delete", "clear immutable"
	Var Name
	Err error // usually a syscall.Errno
}

func (e *VarError) Error() string {
	msg := e.Err.Error()
	if errno, ok := e.Err.(syscall.Errno); ok {
		for _, t := range errnoTable {
			if t.errno == errno {
				msg = t.sentinel.Error() + " (" + t.name + ")"
			}
		}
	}
	return e.Op + " " + e.Var.String() + ": " + msg
}

func (e *VarError) Unwrap() error { return e.Err }

// Is matches the sentinel that stands for the errno inside, and that
// sentinel's kind (errkind).
func (e *VarError) Is(target error) bool {
	errno, ok := Errno(e.Err)
	if !ok {
		return false
	}
	for _, t := range errnoTable {
		if t.errno == errno && errors.Is(t.sentinel, target) {
			return true
		}
	}
	return false
}
