package tpm_test

import (
	"testing"

	"github.com/slkit/slkit/tpm"
)

// TestParseAnchorIndex: an NV index handle in any Go integer form is
// taken; anything else is refused.
func TestParseAnchorIndex(t *testing.T) {
	for s, want := range map[string]uint32{"0x0180534d": 0x0180534d, "25187149": 0x0180534d} {
		if n, err := tpm.ParseAnchorIndex(s); err != nil || n != want {
			t.Errorf("%s: %#x %v", s, n, err)
		}
	}
	for _, s := range []string{"", "none", "0x81000001", "0x1ffffffff"} {
		if _, err := tpm.ParseAnchorIndex(s); err == nil {
			t.Errorf("%q taken", s)
		}
	}
	if idx := tpm.AnchorIndices(); len(idx) != len(tpm.AnchorNames) || idx[0] != tpm.DefaultJournalAnchorIndex {
		t.Errorf("AnchorIndices: %#x", idx)
	}
}
