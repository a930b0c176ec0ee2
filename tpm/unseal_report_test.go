package tpm

import (
	"encoding/json"
	"errors"
	"testing"
)

// TestUnsealReport: the report names the object that released the
// secret and that object's PCRs and PIN, the main object's refusal on one
// line, and never holds the secret (it has no field for it).
func TestUnsealReport(t *testing.T) {
	s := &Sealed{Policy: SealedPolicy{Bank: SHA384, PCRs: []int{1, 8}, PIN: true},
		Update: &Sealed{Policy: SealedPolicy{Bank: SHA384, PCRs: []int{8, 9}}}}
	main := NewUnsealReport("s.json", s, &UnsealInfo{})
	b, _ := json.Marshal(main)
	if want := `{"file":"s.json","object":"main","bank":"sha384","pcrs":[1,8],"pin":true}`; string(b) != want {
		t.Errorf("main: %s, want %s", b, want)
	}
	upd := NewUnsealReport("s.json", s, &UnsealInfo{Update: true, Refusal: errors.New("unseal refused:\n  PCR 1 differs")})
	upd.Out, upd.Fingerprint = "o", "sha256:00"
	b, _ = json.Marshal(upd)
	if want := `{"file":"s.json","object":"update","main_refusal":"unseal refused: PCR 1 differs","bank":"sha384","pcrs":[8,9],"pin":false,"out":"o","fingerprint":"sha256:00"}`; string(b) != want {
		t.Errorf("update: %s, want %s", b, want)
	}
}

// TestSealPolicyString: the bank, the PCRs and each extra assertion.
func TestSealPolicyString(t *testing.T) {
	for _, c := range []struct {
		p    SealPolicy
		want string
	}{
		{SealPolicy{Bank: SHA256, PCRs: []int{8, 9}}, "sha256 PCRs [8 9]"},
		{SealPolicy{Bank: SHA1, PCRs: []int{7}, PIN: true}, "sha1 PCRs [7] + PIN"},
		{SealPolicy{Bank: SHA256, PCRs: []int{17, 18}, PIN: true, Locality: LocalityTwo}, "sha256 PCRs [17 18] + PIN + locality mask 0x4"},
	} {
		if got := c.p.String(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.p, got, c.want)
		}
	}
}
