package launch

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/slkit/slkit/internal/fsys"
)

// TestEntryFilesReadPolicy: nothing given reads nothing; a policy file
// that is not a signed policy is an input error naming it.
func TestEntryFilesReadPolicy(t *testing.T) {
	var ef EntryFiles
	if err := ef.ReadPolicy("", ""); err != nil || ef.Policy != nil || ef.PolicyKey != nil {
		t.Fatalf("nothing given: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "policy.json")
	os.WriteFile(bad, []byte(`{"version":1}`), 0o600)
	var ie *fsys.InputError
	if err := ef.ReadPolicy(bad, ""); !errors.As(err, &ie) || ie.Path != bad {
		t.Errorf("not a signed policy: %v", err)
	}
}
