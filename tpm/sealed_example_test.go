package tpm_test

import (
	"os"
	"testing"

	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
)

// TestWriteSealedExample regenerates testdata/sealed-example.json (the fuzz
// seed) when SLKIT_REGENERATE=1; otherwise it checks that the seed parses.
func TestWriteSealedExample(t *testing.T) {
	if os.Getenv("SLKIT_REGENERATE") == "1" {
		tt := tpmtest.Open(t)
		l, _ := tpm.NewEventLog([]tpm.Alg{tpm.SHA256})
		l.AppendData(9, tpm.EvIPL, []byte("kernel"), []byte("kernel"))
		want, _ := l.Replay()
		pol, _ := tpm.PolicyFor(tpm.SHA256, []int{9}, want)
		s, err := tpm.Seal(tt, []byte("example"), pol, tpm.WithPIN([]byte("pin")), tpm.WithExpectedEvents(l.Events))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := s.Marshal()
		if err := os.WriteFile("testdata/sealed-example.json", b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile("testdata/sealed-example.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tpm.ParseSealed(b); err != nil {
		t.Fatal(err)
	}
}
