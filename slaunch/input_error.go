package slaunch

import (
	"errors"
	"strings"

	"github.com/slkit/slkit/internal/fsys"
)

// NameInput names the input a malformed-image error (ErrMalformed,
// ErrNoMLEHeader) is about, once, as an *fsys.InputError: "NAME: at byte
// offset …" rather than "NAME: ROLE: at byte offset …", when the error's
// own prefix is the role the image has (a FormatError whose What is
// role: "kernel"). Other errors are returned as they are.
func NameInput(name, role string, err error) error {
	if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrNoMLEHeader) {
		return err
	}
	var fe *FormatError
	if errors.As(err, &fe) && fe.What == role {
		return &fsys.InputError{Path: name, Err: trimmedError{err, fe.What + ": "}}
	}
	return &fsys.InputError{Path: name, Err: err}
}

// trimmedError is err without a prefix its message starts with.
type trimmedError struct {
	err    error
	prefix string
}

func (t trimmedError) Error() string { return strings.TrimPrefix(t.err.Error(), t.prefix) }
func (t trimmedError) Unwrap() error { return t.err }
