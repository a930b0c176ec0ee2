package journal

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCheckedPaths: missing files are fine, the state path defaults to
// the journal's name + .state, and a directory, or a file over its limit,
// is refused before it is read.
func TestCheckedPaths(t *testing.T) {
	dir := t.TempDir()
	j := filepath.Join(dir, "journal")
	if p, s, err := CheckedPaths(j, ""); err != nil || p != j || s != j+".state" {
		t.Fatalf("missing files: %q %q %v", p, s, err)
	}
	if err := os.Mkdir(j+".state", 0o755); err != nil {
		t.Fatal(err)
	}
	if _, _, err := CheckedPaths(j, ""); err == nil {
		t.Fatal("a directory as the state file was accepted")
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, nil, 0o600); err != nil || os.Truncate(big, MaxBytes+1) != nil {
		t.Fatal("cannot make the big file")
	}
	if _, _, err := CheckedPaths(big, filepath.Join(dir, "s")); err == nil {
		t.Fatal("a journal over its limit was accepted")
	}
}
