package tpm_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/tpm"
)

// TestExplainingLogs: given logs are read; one that does not parse only
// loses the explanation (problem names it); one that cannot be read is
// the error, naming it.
func TestExplainingLogs(t *testing.T) {
	dir := t.TempDir()
	l, err := tpm.NewEventLog([]tpm.Alg{tpm.SHA256})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.AppendData(9, tpm.EvIPL, []byte("initrd"), []byte("initrd")); err != nil {
		t.Fatal(err)
	}
	b, err := l.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	good, bad, missing := filepath.Join(dir, "good"), filepath.Join(dir, "bad"), filepath.Join(dir, "missing")
	os.WriteFile(good, b, 0o600)
	os.WriteFile(bad, []byte("not\na log"), 0o600)
	logs, problem, err := tpm.ExplainingLogs([]string{good})
	if err != nil || problem != "" || len(logs) != 1 || len(logs[0].Events) != 1 || string(logs[0].Events[0].Data) != "initrd" {
		t.Fatalf("a good log: %v %q %v", logs, problem, err)
	}
	logs, problem, err = tpm.ExplainingLogs([]string{good, bad})
	if err != nil || logs != nil || !strings.HasPrefix(problem, bad+": ") || strings.Contains(problem, "\n") {
		t.Fatalf("a log that does not parse: %v %q %v", logs, problem, err)
	}
	var ie *fsys.InputError
	if _, _, err := tpm.ExplainingLogs([]string{good, missing}); !errors.As(err, &ie) || ie.Path != missing {
		t.Fatalf("a missing log: %v", err)
	}
	if _, err := os.Stat(tpm.FirmwareLogPath); errors.Is(err, os.ErrNotExist) {
		if logs, problem, err := tpm.ExplainingLogs(nil); logs != nil || problem != "" || err != nil {
			t.Errorf("no firmware log: %v %q %v", logs, problem, err)
		}
	}
}
