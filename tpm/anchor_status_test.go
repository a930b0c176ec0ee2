package tpm_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
)

// TestAnchorState: an index nothing is defined at has a problem and no
// value; a defined and written anchor has the value the TPM counts; both
// lines are padded to the same columns.
func TestAnchorState(t *testing.T) {
	tt := tpmtest.Open(t)
	st, err := tpm.ReadAnchorState(tt, tpm.DefaultPolicyAnchorIndex)
	if err != nil || st.Value != nil || st.Name != "policy" || !strings.Contains(st.Problem, "no NV index") || strings.HasPrefix(st.Problem, "NV anchor") {
		t.Fatalf("undefined: %+v %v", st, err)
	}
	if got, want := st.String(), "0x0180534d policy         "+st.Problem; got != want {
		t.Errorf("String %q, want %q", got, want)
	}
	a, err := tpm.DefineAnchor(tt, tpm.DefaultJournalAnchorIndex)
	if err != nil {
		t.Fatal(err)
	}
	v, err := a.Read(tt)
	if err != nil {
		t.Fatal(err)
	}
	st, err = tpm.ReadAnchorState(tt, tpm.DefaultJournalAnchorIndex)
	if err != nil || st.Value == nil || *st.Value != v || st.Problem != "" {
		t.Fatalf("defined: %+v %v", st, err)
	}
	if got, want := st.String(), fmt.Sprintf("0x0180534e journal        %d", v); got != want {
		t.Errorf("String %q, want %q", got, want)
	}
	for idx, name := range map[uint32]string{0x0180534C: "update-counter", 0x0180534D: "policy", 0x0180534E: "journal", 0x01805300: "anchor"} {
		if got := tpm.AnchorName(idx); got != name {
			t.Errorf("AnchorName(%#x) = %q, want %q", idx, got, name)
		}
	}
}
