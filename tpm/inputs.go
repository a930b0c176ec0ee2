package tpm

import (
	"errors"

	"github.com/slkit/slkit/internal/fsys"
)

// SealedInput is a sealed file (Sealed.Marshal) read whole: at most
// MaxSealedSize bytes.
var SealedInput = fsys.Input{What: "sealed file", Max: MaxSealedSize}

// PINInput is a PIN file (ReadPIN): at most MaxPIN bytes and a trailing
// CR LF.
var PINInput = fsys.Input{What: "PIN file", Max: MaxPIN + 2}

// ReadSealedFile reads and parses the sealed file at path (SealedInput,
// ParseSealed); an error names the file (*fsys.InputError).
func ReadSealedFile(path string) (*Sealed, error) {
	return fsys.ReadInput(SealedInput, path, ParseSealed)
}

// SealedFileError names the sealed file name in an error that is about
// it: its content (ErrBadSealed, ErrSealedTampered) or its SRK that is
// not this TPM's (ErrSRKMismatch), an *fsys.InputError. Other errors
// are returned as they are.
func SealedFileError(name string, err error) error {
	if errors.Is(err, ErrBadSealed) || errors.Is(err, ErrSealedTampered) || errors.Is(err, ErrSRKMismatch) {
		return &fsys.InputError{Path: name, Err: err}
	}
	return err
}

// SecretInput is a secret to seal: at most MaxSecret bytes.
var SecretInput = fsys.Input{What: "secret", Max: MaxSecret}

// PCRValuesInput is a file of PCR values (ParseExpected: `slkit predict
// --json`, `slkit pcr read --json`): at most MaxExpectedSize bytes.
var PCRValuesInput = fsys.Input{What: "PCR values", Max: MaxExpectedSize}

// OwnerAuthInput is an owner authorisation file: at most a
// SHA-256-sized authValue (Part 1 §19.6.4) and a line end.
var OwnerAuthInput = fsys.Input{What: "owner authorisation file", Max: 64 + 2}
