package tpm

import (
	"bytes"
	"fmt"

	"github.com/slkit/slkit/internal/errkind"
)

// The PIN errors: a PIN is the authValue of a sealed object, at least one
// byte and at most MaxPIN (the size of its nameAlg's digest, Part 1
// §19.6.4).
var (
	ErrEmptyPIN   = errkind.New(errkind.Input, "empty PIN")
	ErrPINTooLong = errkind.New(errkind.Input, fmt.Sprintf("a PIN of more than %d bytes", MaxPIN))
)

// ReadPIN is the PIN a PIN file or a line of standard input holds: its
// bytes without one trailing "\n" and then one trailing "\r" (a file
// written by `echo 1234 >F` is the PIN "1234"), refused when empty
// (ErrEmptyPIN) or longer than MaxPIN (ErrPINTooLong).
func ReadPIN(line []byte) ([]byte, error) {
	line = bytes.TrimSuffix(line, []byte("\n"))
	return CheckPIN(bytes.TrimSuffix(line, []byte("\r")))
}

// CheckPIN returns pin when it is a valid PIN as it is (a PIN typed at a
// terminal prompt), else ErrEmptyPIN or ErrPINTooLong.
func CheckPIN(pin []byte) ([]byte, error) {
	switch {
	case len(pin) == 0:
		return nil, ErrEmptyPIN
	case len(pin) > MaxPIN:
		return nil, ErrPINTooLong
	}
	return pin, nil
}
