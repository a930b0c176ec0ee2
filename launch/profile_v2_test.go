package launch

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"errors"
	"strings"
	"testing"

	"github.com/slkit/slkit/tpm"
)

// TestMeasuredV2MeasuresPolicyKey: profile measured-v2 measures the policy
// key's id — the digest of its PKIX encoding — into PCR 8 after the
// policy, so that a policy verified under another key gives another PCR 8
// even for the same policy bytes. Expected values are computed here with
// the stdlib hashes: PCR 8 = E(E(E(0, H(policy)), H(PKIX key)),
// H(cmdline)); measured-v1 keeps its values (E(E(0, H(policy)),
// H(cmdline))) whatever the key.
func TestMeasuredV2MeasuresPolicyKey(t *testing.T) {
	kernel := []byte("MZ fake kernel")
	pol := []byte(`{"payloadType":"x"}`)
	cmdline := "console=ttyS0"
	keyA := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32)).Public().(ed25519.PublicKey)
	keyB := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, 32)).Public().(ed25519.PublicKey)
	v2, err := ProfileByName("measured-v2")
	if err != nil {
		t.Fatal(err)
	}
	pcr8 := func(p *Profile, key ed25519.PublicKey) map[tpm.Alg][]byte {
		der, _ := x509.MarshalPKIXPublicKey(key)
		e := &Entry{Kernel: Image{R: bytes.NewReader(kernel), Size: int64(len(kernel))}, Cmdline: cmdline, Policy: pol, PolicyKey: der}
		pr, err := Predict(e, p, allBanks)
		if err != nil {
			t.Fatal(err)
		}
		out := map[tpm.Alg][]byte{}
		for _, a := range allBanks {
			out[a], _ = pr.PCRs.Get(a, 8)
		}
		return out
	}
	gotA, gotB := pcr8(v2, keyA), pcr8(v2, keyB)
	v1A, v1B := pcr8(MeasuredProfile(), keyA), pcr8(MeasuredProfile(), keyB)
	for _, a := range allBanks {
		zero := make([]byte, a.Size())
		hp := stdSum(t, a, bytes.NewReader(pol))
		hc := stdSum(t, a, strings.NewReader(cmdline))
		der, _ := x509.MarshalPKIXPublicKey(keyA)
		hk := stdSum(t, a, bytes.NewReader(der))
		if want := stdExtend(a, stdExtend(a, stdExtend(a, zero, hp), hk), hc); !bytes.Equal(gotA[a], want) {
			t.Errorf("%s measured-v2 PCR 8 = %x, want %x", a, gotA[a], want)
		}
		if bytes.Equal(gotA[a], gotB[a]) {
			t.Errorf("%s: another key gives the same PCR 8", a)
		}
		if want := stdExtend(a, stdExtend(a, zero, hp), hc); !bytes.Equal(v1A[a], want) || !bytes.Equal(v1B[a], want) {
			t.Errorf("%s measured-v1 PCR 8 changed", a)
		}
	}
	// With a policy but no key, measured-v2 cannot be measured.
	e := &Entry{Kernel: Image{R: bytes.NewReader(kernel), Size: int64(len(kernel))}, Cmdline: cmdline, Policy: pol}
	if _, err := Predict(e, v2, allBanks); !errors.Is(err, ErrEntry) || !strings.Contains(err.Error(), "policy key") {
		t.Fatalf("no key: %v", err)
	}
}
