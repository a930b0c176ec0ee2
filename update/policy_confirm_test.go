package update_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/update"
)

// TestConfirmPolicy: the confirmation is the signed policy's exact bytes
// and its version; a file that is not a signed policy is an input error
// naming it, and nothing is written.
func TestConfirmPolicy(t *testing.T) {
	dir := t.TempDir()
	signed, _ := versioned(t, 7)
	in, out := filepath.Join(dir, "policy.json"), filepath.Join(dir, "confirm")
	os.WriteFile(in, signed, 0o600)
	if v, err := update.ConfirmPolicy(in, out); err != nil || v != 7 {
		t.Fatalf("a signed policy: %d %v", v, err)
	}
	if b, _ := os.ReadFile(out); !bytes.Equal(b, signed) {
		t.Errorf("the confirmation is not the policy's bytes")
	}
	bad, out2 := filepath.Join(dir, "bad"), filepath.Join(dir, "confirm2")
	os.WriteFile(bad, []byte("{}"), 0o600)
	var ie *fsys.InputError
	if _, err := update.ConfirmPolicy(bad, out2); !errors.As(err, &ie) || ie.Path != bad {
		t.Errorf("not a signed policy: %v", err)
	}
	if _, err := os.Stat(out2); err == nil {
		t.Errorf("a confirmation written for a bad policy")
	}
}
