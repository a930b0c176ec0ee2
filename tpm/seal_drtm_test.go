package tpm_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
)

// TestSealToDRTMPCRsNeedsLocality2 runs a real _TPM_Hash sequence on swtpm
// (PCR17 = H(0 ‖ H(dce))), extends PCR18 at locality 2, seals to PCR17+18
// (which adds PolicyLocality(2)), and checks that the secret is released at
// locality 2 only, and not after a launch of a different DCE.
func TestSealToDRTMPCRsNeedsLocality2(t *testing.T) {
	tt := tpmtest.RequireSwtpm(t)
	ctl, err := tt.Control()
	if err != nil {
		t.Fatal(err)
	}
	banks, _ := tpm.ActiveBanks(tt)
	launch := func(dce, policy string) {
		if err := ctl.Hash([]byte(dce)); err != nil {
			t.Fatal(err)
		}
		if err := tt.SetLocality(2); err != nil {
			t.Fatal(err)
		}
		if _, err := tpm.ExtendData(tt, 18, banks, strings.NewReader(policy)); err != nil {
			t.Fatal(err)
		}
	}
	launch("emulated DCE", "slrt")
	p17, _ := tpm.ReadPCRs(tt, tpm.Selection{tpm.SHA256: {17}})
	v, _ := p17.Get(tpm.SHA256, 17)
	h, _ := tpm.SHA256.Sum([]byte("emulated DCE"))
	if want, _ := tpm.SHA256.Sum(make([]byte, 32), h); !v.Equal(want) {
		t.Fatalf("PCR17 after _TPM_Hash = %s, want H(0‖H(dce)) = %s", v, tpm.Digest(want))
	}
	pol, err := tpm.CurrentPolicy(tt, tpm.SHA256, []int{17, 18})
	if err != nil {
		t.Fatal(err)
	}
	if pol.Locality != tpm.LocalityTwo {
		t.Fatalf("sealing PCR17/18 did not add PolicyLocality(2): %#x", pol.Locality)
	}
	secret := []byte("drtm-sealed")
	s, err := tpm.Seal(tt, secret, pol)
	if err != nil {
		t.Fatal(err)
	}
	s = reparse(t, s)
	out, err := tpm.Unseal(tt, s)
	if err != nil || !bytes.Equal(out, secret) {
		t.Fatalf("at locality 2: %v", err)
	}
	if err := tt.SetLocality(0); err != nil {
		t.Fatal(err)
	}
	if out, err := tpm.Unseal(tt, s); out != nil || !errors.Is(err, tpm.ErrUnsealRefused) {
		t.Fatalf("at locality 0: %x %v", out, err)
	} else if !strings.Contains(err.Error(), "locality") {
		t.Fatalf("locality refusal does not say so: %v", err)
	}
	// A launch of another DCE: PCR17 differs and is named.
	launch("tampered DCE", "slrt")
	out, err = tpm.Unseal(tt, s)
	if out != nil || !errors.Is(err, tpm.ErrPCRMismatch) || !strings.Contains(err.Error(), "PCR 17") || strings.Contains(err.Error(), "PCR 18") {
		t.Fatalf("after tampered launch: %v", err)
	}
}
