package tpm

import (
	"fmt"

	"github.com/slkit/slkit/internal/errkind"
)

// ErrPCRMismatch is returned when PCR values differ from what a log or a
// sealed expectation says they should be (the CLI's exit code 3).
var ErrPCRMismatch = errkind.New(errkind.Verify, "PCR values differ")

// ErrMalformedLog wraps every event-log parse error.
var ErrMalformedLog = errkind.New(errkind.Input, "malformed event log")

// LogError locates a parse error: the event's index in the log (0 is the
// first record, the Spec ID header in a crypto-agile log) and the byte
// offset at which the problem was found.
type LogError struct {
	Index  int
	Offset int64
	Msg    string
}

func (e *LogError) Error() string {
	return fmt.Sprintf("event %d at byte offset %d: %s", e.Index, e.Offset, e.Msg)
}

// Unwrap makes errors.Is(err, ErrMalformedLog) true.
func (e *LogError) Unwrap() error { return ErrMalformedLog }
