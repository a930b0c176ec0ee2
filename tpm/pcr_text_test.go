package tpm_test

import (
	"testing"

	"github.com/slkit/slkit/tpm"
)

// TestExtendedText: a line per bank, in bank order; AllPCRs: 0-23.
func TestExtendedText(t *testing.T) {
	ds := tpm.Digests{tpm.SHA256: tpm.ZeroDigest(tpm.SHA256), tpm.SHA1: tpm.ZeroDigest(tpm.SHA1)}
	want := "extended PCR 16 in sha1 with " + ds[tpm.SHA1].String() + "\n" +
		"extended PCR 16 in sha256 with " + ds[tpm.SHA256].String() + "\n"
	if got := ds.ExtendedText(16); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if p := tpm.AllPCRs(); len(p) != tpm.NumPCRs || p[0] != 0 || p[23] != 23 {
		t.Errorf("AllPCRs: %v", p)
	}
}
