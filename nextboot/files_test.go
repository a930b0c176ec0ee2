package nextboot_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/nextboot"
)

// TestPredictFilesNamesTheLog: a firmware log that is missing or does not
// parse is an input error naming it.
func TestPredictFilesNamesTheLog(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("not a log"), 0o600)
	for _, p := range []string{filepath.Join(dir, "missing"), bad} {
		var ie *fsys.InputError
		if _, err := nextboot.PredictFiles(nextboot.Files{FirmwareLog: p}); !errors.As(err, &ie) || ie.Path != p {
			t.Errorf("%s: %v", p, err)
		}
	}
}
