// Package errkind sorts slkit's errors into the three kinds a user acts on
// differently, which are also the CLI's exit codes: bad input (1), a TPM
// or I/O failure (2), and a failed verification (3). Every package's
// sentinel errors are made with New, so that one errors.Is tells the kind
// of any error, however deeply a package wrapped it.
package errkind

import "errors"

// The kinds. A sentinel of a package errors.Is exactly one of them.
var (
	// Input is a usage or input error: a missing, empty, oversized or
	// malformed file, a bad flag value, an unknown name.
	Input = errors.New("input error")
	// IO is a failure of the TPM, a device, a file system or a process
	// slkit started: trying again, elsewhere or later, may succeed.
	IO = errors.New("TPM or I/O failure")
	// Verify is a check that failed: a PCR or event-log mismatch, a
	// refused unseal, a wrong PIN, a bad signature, a dynamic launch that
	// did not happen. Fail closed: nothing was booted or released.
	Verify = errors.New("verification failed")
)

// New returns a sentinel error with text msg whose kind is kind (Input,
// IO or Verify): errors.Is(New(k, m), k) is true.
func New(kind error, msg string) error { return &sentinel{msg: msg, kind: kind} }

type sentinel struct {
	msg  string
	kind error
}

func (s *sentinel) Error() string { return s.msg }
func (s *sentinel) Unwrap() error { return s.kind }

// Of returns the kind of err: Verify when any error in its tree is a
// verification failure (a refusal outranks what else went wrong), else
// Input, else IO (also for errors of no known kind).
func Of(err error) error {
	for _, k := range []error{Verify, Input} {
		if errors.Is(err, k) {
			return k
		}
	}
	return IO
}
