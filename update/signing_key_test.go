package update_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/pem"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
	"github.com/slkit/slkit/update"
)

// TestSigningKeyFile: a plain key is parsed without a TPM; a sealed one is
// unsealed on the TPM opened only then; each failure names the file.
func TestSigningKeyFile(t *testing.T) {
	tt := tpmtest.Open(t)
	extend(t, tt, 16, "launch")
	pol, err := tpm.CurrentPolicy(tt, tpm.SHA256, []int{16})
	if err != nil {
		t.Fatal(err)
	}
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{5}, ed25519.SeedSize))
	sealed, err := update.SealKey(tt, pol, nil)(key)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("not DER")})
	openFails := errors.New("no TPM here")
	missing := filepath.Join(t.TempDir(), "missing.log")
	for _, c := range []struct {
		name   string
		f      update.SigningKeyFile
		broken bool   // OpenTPM fails
		err    string // "" for none; else the error's start
		input  bool   // the error is an *fsys.InputError
		opens  bool
	}{
		{name: "seed", f: update.SigningKeyFile{Path: "k", Data: key.Seed()}},
		{name: "seed on stdin", f: update.SigningKeyFile{Path: "-", Data: key}},
		{name: "sealed", f: update.SigningKeyFile{Path: "k.sealed", Data: sealed, EventLogs: nil}, opens: true},
		{name: "empty stdin", f: update.SigningKeyFile{Path: "-"}, err: "stdin: no key on standard input", input: true},
		{name: "bad PEM", f: update.SigningKeyFile{Path: "k.pem", Data: pemKey}, err: "k.pem: malformed key", input: true},
		{name: "bad sealed file", f: update.SigningKeyFile{Path: "k.sealed", Data: []byte(`{"version":` + strings.Repeat(" ", 40) + `}`)}, err: "k.sealed: bad sealed file", input: true},
		{name: "missing event log", f: update.SigningKeyFile{Path: "k.sealed", Data: sealed, EventLogs: []string{missing}}, err: missing + ": ", input: true},
		{name: "no TPM", f: update.SigningKeyFile{Path: "k.sealed", Data: sealed}, broken: true, err: "k.sealed: no TPM here", opens: true},
	} {
		opened := false
		c.f.OpenTPM = func() (*tpm.Conn, error) {
			opened = true
			if c.broken {
				return nil, openFails
			}
			return tpm.Open(tt.Spec, tt.Options...)
		}
		k, err := c.f.Key()
		var ie *fsys.InputError
		switch {
		case c.err == "" && (err != nil || !bytes.Equal(k, key)):
			t.Errorf("%s: %v", c.name, err)
		case c.err != "" && (err == nil || !strings.HasPrefix(err.Error(), c.err) || errors.As(err, &ie) != c.input):
			t.Errorf("%s: %v, want %q (input error %v)", c.name, err, c.err, c.input)
		case opened != c.opens:
			t.Errorf("%s: TPM opened %v, want %v", c.name, opened, c.opens)
		}
	}
	extend(t, tt, 16, "something else")
	f := update.SigningKeyFile{Path: "k.sealed", Data: sealed, OpenTPM: func() (*tpm.Conn, error) { return tpm.Open(tt.Spec, tt.Options...) }}
	if _, err := f.Key(); !errors.Is(err, tpm.ErrPCRMismatch) || !strings.HasPrefix(err.Error(), "k.sealed: the journal signing key: ") {
		t.Fatalf("after a change: %v", err)
	}
}
