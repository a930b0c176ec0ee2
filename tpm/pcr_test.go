package tpm_test

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"testing"

	"github.com/slkit/slkit/tpm"
	"github.com/slkit/slkit/tpm/tpmtest"
)

// independent computes H(old ‖ H(data)) with the standard library only.
func independent(t *testing.T, alg tpm.Alg, old, data []byte) []byte {
	t.Helper()
	var nh func() hash.Hash
	switch alg {
	case tpm.SHA1:
		nh = sha1.New
	case tpm.SHA256:
		nh = sha256.New
	case tpm.SHA384:
		nh = sha512.New384
	case tpm.SHA512:
		nh = sha512.New
	default:
		t.Fatalf("no independent implementation of %s", alg)
	}
	h := nh()
	h.Write(data)
	d := h.Sum(nil)
	h = nh()
	h.Write(old)
	h.Write(d)
	return h.Sum(nil)
}

func TestActiveBanks(t *testing.T) {
	tt := tpmtest.Open(t)
	banks, err := tpm.ActiveBanks(tt)
	if err != nil {
		t.Fatal(err)
	}
	// Both the simulator and a fresh swtpm allocate these four banks.
	want := []tpm.Alg{tpm.SHA1, tpm.SHA256, tpm.SHA384, tpm.SHA512}
	if len(banks) != len(want) {
		t.Fatalf("banks %v, want %v", banks, want)
	}
	for i := range want {
		if banks[i] != want[i] {
			t.Fatalf("banks %v, want %v", banks, want)
		}
	}
}

func TestExtendDataThenRead(t *testing.T) {
	tt := tpmtest.Open(t)
	banks, err := tpm.ActiveBanks(tt)
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("slkit extend test \x00\xff")
	for _, pcr := range []int{16, 23, 9} {
		before, err := tpm.ReadBanks(tt, banks, []int{pcr})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tpm.ExtendData(tt, pcr, banks, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		after, err := tpm.ReadBanks(tt, banks, []int{pcr})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range banks {
			old, _ := before.Get(a, pcr)
			got, _ := after.Get(a, pcr)
			want := independent(t, a, old, data)
			if !bytes.Equal(got, want) {
				t.Errorf("PCR %d %s = %x, want H(old‖H(data)) = %x", pcr, a, got, want)
			}
		}
	}
}

func TestReadAllPCRsBatches(t *testing.T) {
	tt := tpmtest.Open(t)
	banks, _ := tpm.ActiveBanks(tt)
	all := make([]int, tpm.NumPCRs)
	for i := range all {
		all[i] = i
	}
	// Make PCR 23 distinguishable so a mis-assigned batch would show.
	if _, err := tpm.ExtendData(tt, 23, banks, bytes.NewReader([]byte("x"))); err != nil {
		t.Fatal(err)
	}
	p, err := tpm.ReadBanks(tt, banks, all)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range banks {
		if n := len(p.Indices(a)); n != tpm.NumPCRs {
			t.Fatalf("%s: %d PCRs read, want %d", a, n, tpm.NumPCRs)
		}
		for i := 0; i < tpm.NumPCRs; i++ {
			v, _ := p.Get(a, i)
			var want []byte
			switch {
			case i == 23:
				want = independent(t, a, tpm.ZeroDigest(a), []byte("x"))
			case i >= 17 && i <= 22:
				want = tpm.OnesDigest(a)
			default:
				want = tpm.ZeroDigest(a)
			}
			if !bytes.Equal(v, want) {
				t.Errorf("%s PCR %d = %x, want %x", a, i, v, want)
			}
		}
	}
}

func TestExtendRejectsWrongDigestSize(t *testing.T) {
	tt := tpmtest.Open(t)
	err := tpm.Extend(tt, 16, tpm.Digests{tpm.SHA256: make([]byte, 20)})
	if err == nil {
		t.Fatal("extend with a 20-byte sha256 digest succeeded")
	}
}
