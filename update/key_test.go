package update_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
	"github.com/slkit/slkit/update"
)

// TestSealedKey: the key file SealKey writes is a sealed file of the
// key's seed, which UnsealKey turns back into the same key while the PCRs
// hold; after a change it names the journal signing key and the PCR.
func TestSealedKey(t *testing.T) {
	tt := tpmtest.Open(t)
	extend(t, tt, 16, "launch")
	pol, err := tpm.CurrentPolicy(tt, tpm.SHA256, []int{16})
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	file, err := update.SealKey(tt, pol, nil)(key)
	if err != nil {
		t.Fatal(err)
	}
	if !update.IsSealedKey(file) {
		t.Fatal("a sealed key file is not recognised")
	}
	s, err := tpm.ParseSealed(file)
	if err != nil {
		t.Fatal(err)
	}
	got, err := update.UnsealKey(tt, s)
	if err != nil || !bytes.Equal(got, key) {
		t.Fatalf("UnsealKey: %v", err)
	}
	extend(t, tt, 16, "something else")
	if _, err := update.UnsealKey(tt, s); !errors.Is(err, tpm.ErrPCRMismatch) || !strings.HasPrefix(err.Error(), "the journal signing key: ") || !strings.Contains(err.Error(), "PCR 16") {
		t.Fatalf("after a change: %v", err)
	}
	pol, _ = tpm.CurrentPolicy(tt, tpm.SHA256, []int{16})
	short, err := tpm.Seal(tt, []byte("not a seed"), pol)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := update.UnsealKey(tt, short); !errors.Is(err, update.ErrKeySeed) {
		t.Fatalf("a secret that is not a seed: %v", err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("x")})
	for _, plain := range [][]byte{key.Seed(), key, pemKey, []byte(strings.Repeat("{", 32)), nil} {
		if update.IsSealedKey(plain) {
			t.Errorf("%q taken for a sealed key", plain)
		}
	}
}
