package attest_test

import (
	"errors"
	"path/filepath"
	"testing"

	"github.com/slkit/slkit/attest"
	"github.com/slkit/slkit/internal/fsys"
)

// TestReadLogsNamesTheFile: a log that is given and missing is an input
// error naming it; an optional one is left out.
func TestReadLogsNamesTheFile(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	var ie *fsys.InputError
	if _, _, err := attest.ReadLogs(attest.LogSources{Firmware: attest.LogSource{Path: missing}}); !errors.As(err, &ie) || ie.Path != missing {
		t.Errorf("a missing log: %v", err)
	}
	if _, read, err := attest.ReadLogs(attest.LogSources{Firmware: attest.LogSource{Path: missing, Optional: true}}); err != nil || len(read) != 0 {
		t.Errorf("an optional missing log: %v %v", read, err)
	}
}
