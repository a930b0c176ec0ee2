package tpm_test

import (
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/slkit/slkit/tpm"
)

// FuzzParseSealed: any input is either rejected with ErrBadSealed or parses
// into a file that re-marshals and re-parses to the same content.
func FuzzParseSealed(f *testing.F) {
	if b, err := os.ReadFile("testdata/sealed-example.json"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"version":1,"kind":"slkit-sealed"}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := tpm.ParseSealed(b)
		if err != nil {
			if !errors.Is(err, tpm.ErrBadSealed) {
				t.Fatalf("error without ErrBadSealed: %v", err)
			}
			return
		}
		out, err := s.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		s2, err := tpm.ParseSealed(out)
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		a, _ := json.Marshal(s)
		c, _ := json.Marshal(s2)
		if string(a) != string(c) {
			t.Fatal("re-parse changed the content")
		}
	})
}
