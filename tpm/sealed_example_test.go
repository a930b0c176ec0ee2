package tpm_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/slkit/slkit/tpm"
)

// TestSealedExampleFromTpm2Tools: testdata/sealed-example.json and the
// swtpm state it is sealed in were made by tpm2-tools alone, following
// README.md "The sealed file" (testdata/sealed-example/make.sh). slkit
// parses it and, on a swtpm started from that state with PCR 9 extended as
// the file's event says, unseals "example" with the PIN "pin"; a wrong PIN
// and another PCR 9 are refused.
func TestSealedExampleFromTpm2Tools(t *testing.T) {
	b, err := os.ReadFile("testdata/sealed-example.json")
	if err != nil {
		t.Fatal(err)
	}
	s, err := tpm.ParseSealed(b)
	if err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(t.TempDir(), "state")
	os.Mkdir(state, 0o700)
	perm, err := os.ReadFile("testdata/sealed-example/state/tpm2-00.permall")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(state, "tpm2-00.permall"), perm, 0o600)
	x := startToolsTPM(t, state)
	c, err := tpm.Open(x.spec)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := tpm.Unseal(c, s, tpm.WithUnsealPIN([]byte("pin"))); !errors.Is(err, tpm.ErrPCRMismatch) {
		t.Fatalf("before PCR 9 is extended: %v", err)
	}
	kernel, _ := tpm.SHA256.Sum([]byte("kernel"))
	if err := tpm.Extend(c, 9, tpm.Digests{tpm.SHA256: kernel}); err != nil {
		t.Fatal(err)
	}
	if _, err := tpm.Unseal(c, s, tpm.WithUnsealPIN([]byte("nip"))); !errors.Is(err, tpm.ErrBadPIN) {
		t.Fatalf("wrong PIN: %v", err)
	}
	got, err := tpm.Unseal(c, s, tpm.WithUnsealPIN([]byte("pin")))
	if err != nil || string(got) != "example" {
		t.Fatalf("unseal: %q %v", got, err)
	}
}
