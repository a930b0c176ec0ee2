package slaunch_test

import (
	"errors"
	"testing"

	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/slaunch"
)

// TestNameInput: a malformed image is named once, without the error's
// own prefix when it is the image's role; another error is left as it
// is.
func TestNameInput(t *testing.T) {
	fe := &slaunch.FormatError{What: "kernel", Offset: 0x10, Msg: "bad"}
	err := slaunch.NameInput("--kernel k", "kernel", fe)
	var ie *fsys.InputError
	if !errors.As(err, &ie) || err.Error() != "--kernel k: at byte offset 0x10: bad" || !errors.Is(err, slaunch.ErrMalformed) {
		t.Errorf("the kernel: %v", err)
	}
	if err := slaunch.NameInput("--dce d", "dce", fe); err.Error() != "--dce d: kernel: at byte offset 0x10: bad" {
		t.Errorf("another role: %v", err)
	}
	other := errors.New("TPM gone")
	if err := slaunch.NameInput("--kernel k", "kernel", other); err != other {
		t.Errorf("another error: %v", err)
	}
}
