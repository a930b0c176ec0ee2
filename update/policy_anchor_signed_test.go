package update_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/launch/policy"
	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
	"github.com/slkit/slkit/update"
)

// TestPolicyAnchorCheckSigned: the policy is verified under the key
// before the TPM is touched; the confirmation file raises the minimum
// when it holds this policy; a missing file is no confirmation, a
// directory an input error naming it.
func TestPolicyAnchorCheckSigned(t *testing.T) {
	tt := tpmtest.Open(t)
	dir := t.TempDir()
	pub, priv := newKey(t)
	otherPub, _ := newKey(t)
	signedV := func(v int) []byte {
		doc := fmt.Sprintf(`{"version": 1, "policy_version": %d, "entries": [{"name": "a",
  "kernel": {"path": "/k", "sha256": "%064x"}, "cmdline": "v%d", "profile": "measured-v1"}]}`, v, v, v)
		s, err := policy.Sign([]byte(doc), priv)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	v1, v2 := signedV(1), signedV(2)
	confirm := filepath.Join(dir, "confirmed")
	if err := os.WriteFile(confirm, v2, 0o644); err != nil {
		t.Fatal(err)
	}
	a := &update.PolicyAnchor{Index: tpm.DefaultPolicyAnchorIndex}
	for _, c := range []struct {
		name      string
		signed    []byte
		pub       []byte
		confirm   string
		minimum   uint64
		raised    bool
		wantErr   error
		namedPath string
	}{
		{name: "wrong key", signed: v2, pub: otherPub, wantErr: policy.ErrSignature},
		{name: "unconfirmed", signed: v2, pub: pub, confirm: filepath.Join(dir, "missing")},
		{name: "confirmation is a directory", signed: v2, pub: pub, confirm: dir, namedPath: dir},
		{name: "confirmed", signed: v2, pub: pub, confirm: confirm, minimum: 2, raised: true},
		{name: "rolled back", signed: v1, pub: pub, wantErr: update.ErrRollback},
	} {
		res, err := a.CheckSigned(tt, c.signed, c.pub, c.confirm)
		var in *fsys.InputError
		switch {
		case c.wantErr != nil:
			if !errors.Is(err, c.wantErr) {
				t.Errorf("%s: %v, want %v", c.name, err, c.wantErr)
			}
		case c.namedPath != "":
			if !errors.As(err, &in) || in.Path != c.namedPath || res != nil {
				t.Errorf("%s: %+v, %v; want an input error naming %s", c.name, res, err, c.namedPath)
			}
		case err != nil || res.Minimum != c.minimum || res.Raised != c.raised:
			t.Errorf("%s: %+v, %v; want minimum %d, raised %v", c.name, res, err, c.minimum, c.raised)
		}
	}
	if a.Confirmed != nil {
		t.Error("CheckSigned changed the anchor")
	}
}
