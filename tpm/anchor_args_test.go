package tpm_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/slkit/slkit/internal/errkind"
	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/tpm"
)

// TestAnchorArgs: NV indices given as arguments and flags are taken or
// refused with the message naming where they were given, an input error.
func TestAnchorArgs(t *testing.T) {
	for _, c := range []struct {
		name string
		got  func() (any, error)
		want any
		err  string // "" for none
	}{
		{"args none", func() (any, error) { return tpm.AnchorIndexArgs(nil) }, tpm.AnchorIndices(), ""},
		{"args two", func() (any, error) { return tpm.AnchorIndexArgs([]string{"0x0180534d", "25187150"}) }, []uint32{0x0180534d, 0x0180534e}, ""},
		{"args bad", func() (any, error) { return tpm.AnchorIndexArgs([]string{"0x0180534d", "none"}) }, nil, `anchor "none": want an NV index such as 0x0180534e`},
		{"flag none", func() (any, error) { return tpm.AnchorIndexFlag("anchor", "none") }, uint32(0), ""},
		{"flag index", func() (any, error) { return tpm.AnchorIndexFlag("efi-anchor", "0x0180534e") }, uint32(0x0180534e), ""},
		{"flag empty", func() (any, error) { return tpm.AnchorIndexFlag("anchor", "") }, nil, `--anchor "": want an NV index such as 0x0180534e`},
		{"flag persistent handle", func() (any, error) { return tpm.AnchorIndexFlag("policy-anchor", "0x81000001") }, nil, `--policy-anchor "0x81000001": want an NV index such as 0x0180534e`},
		{"counter", func() (any, error) { return tpm.CounterIndexFlag("counter", "0x0180534c") }, uint32(0x0180534c), ""},
		{"counter not a number", func() (any, error) { return tpm.CounterIndexFlag("counter", "x") }, nil, `--counter "x": want an NV index such as 0x0180534c`},
		{"counter not NV", func() (any, error) { return tpm.CounterIndexFlag("update-counter", "5") }, nil, "--update-counter: NV anchor: 0x00000005 is not an NV index handle (0x01xxxxxx)"},
	} {
		got, err := c.got()
		switch {
		case c.err == "" && (err != nil || !reflect.DeepEqual(got, c.want)):
			t.Errorf("%s: %#v, %v; want %#v", c.name, got, err, c.want)
		case c.err != "" && (err == nil || err.Error() != c.err || errkind.Of(err) != errkind.Input):
			t.Errorf("%s: %v (kind %v), want %q", c.name, err, errkind.Of(err), c.err)
		}
	}
}

// TestReadOwnerAuth: the file's bytes without trailing newlines; no file
// is no authorization; an unreadable file names it.
func TestReadOwnerAuth(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "auth")
	os.WriteFile(f, []byte("pass word\n\n"), 0o600)
	if b, err := tpm.ReadOwnerAuth(f); err != nil || string(b) != "pass word" {
		t.Errorf("file: %q %v", b, err)
	}
	if b, err := tpm.ReadOwnerAuth(""); err != nil || b != nil {
		t.Errorf("none: %q %v", b, err)
	}
	big := filepath.Join(dir, "big")
	os.WriteFile(big, []byte(strings.Repeat("x", 100)), 0o600)
	var ie *fsys.InputError
	for _, p := range []string{big, filepath.Join(dir, "missing")} {
		if _, err := tpm.ReadOwnerAuth(p); !errors.As(err, &ie) || ie.Path != p {
			t.Errorf("%s: %v", p, err)
		}
	}
}
