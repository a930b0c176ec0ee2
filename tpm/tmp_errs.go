package tpm

import "errors"

// ErrPCRMismatch: a replayed or expected PCR value differs from the TPM (CLI exit code 3).
var ErrPCRMismatch = errors.New("PCR mismatch")

// ErrMalformedLog: placeholder
var ErrMalformedLog = errors.New("malformed event log")
