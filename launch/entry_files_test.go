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

// TestEntryRequestOpen: the default profile, a named one, an unknown one
// refused before any file is read; a missing image or policy file is an
// input error naming it; the entry is validated.
func TestEntryRequestOpen(t *testing.T) {
	dir := t.TempDir()
	kernel, initrd := filepath.Join(dir, "vmlinuz"), filepath.Join(dir, "initrd")
	for _, p := range []string{kernel, initrd} {
		if err := os.WriteFile(p, []byte("image "+p), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	missing := filepath.Join(dir, "missing")
	e, prof, done, err := EntryRequest{Kernel: kernel, Initrd: initrd, Cmdline: "quiet"}.Open()
	if err != nil || prof.Name != ProfileMeasured || e.Kernel.Name != kernel || e.Initrd == nil || e.Cmdline != "quiet" || e.Policy != nil {
		t.Fatalf("default profile: %+v %+v %v", e, prof, err)
	}
	done()
	e, prof, done, err = EntryRequest{Kernel: kernel, Profile: ProfileMeasuredKey}.Open()
	if err != nil || prof.Name != ProfileMeasuredKey || e.Initrd != nil {
		t.Fatalf("profile %s: %+v %v", ProfileMeasuredKey, prof, err)
	}
	done()
	for _, c := range []struct {
		name  string
		req   EntryRequest
		is    error
		named string
	}{
		{"unknown profile", EntryRequest{Kernel: missing, Profile: "drtm-v9"}, ErrProfile, ""},
		{"missing kernel", EntryRequest{Kernel: missing}, nil, missing},
		{"missing initrd", EntryRequest{Kernel: kernel, Initrd: missing}, nil, missing},
		{"missing policy", EntryRequest{Kernel: kernel, Policy: missing}, nil, missing},
		{"missing policy key", EntryRequest{Kernel: kernel, PolicyKey: missing}, nil, missing},
		{"bad command line", EntryRequest{Kernel: kernel, Cmdline: "a\x00b"}, ErrEntry, ""},
	} {
		_, _, done, err := c.req.Open()
		var ie *fsys.InputError
		if done != nil || err == nil || c.is != nil && !errors.Is(err, c.is) || c.named != "" && (!errors.As(err, &ie) || ie.Path != c.named) {
			t.Errorf("%s: %v, want %v naming %q", c.name, err, c.is, c.named)
		}
	}
}
