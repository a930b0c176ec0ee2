package tpm_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/tpm"
)

// TestSealedFileError: an error about a sealed file's content names the
// file; another is left as it is.
func TestSealedFileError(t *testing.T) {
	var ie *fsys.InputError
	if err := tpm.SealedFileError("f", tpm.ErrSealedTampered); !errors.As(err, &ie) || ie.Path != "f" || !errors.Is(err, tpm.ErrSealedTampered) {
		t.Errorf("a tampered file: %v", err)
	}
	other := errors.New("TPM gone")
	if err := tpm.SealedFileError("f", other); err != other {
		t.Errorf("another error: %v", err)
	}
}

// TestReadSealedFile: a file that is not a sealed file is an input error
// naming it.
func TestReadSealedFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "s")
	os.WriteFile(p, []byte("{}"), 0o600)
	var ie *fsys.InputError
	if _, err := tpm.ReadSealedFile(p); !errors.As(err, &ie) || ie.Path != p {
		t.Errorf("not a sealed file: %v", err)
	}
}
