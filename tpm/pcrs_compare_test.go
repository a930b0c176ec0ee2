package tpm

import (
	"bytes"
	"testing"
)

func TestComparePCRs(t *testing.T) {
	d := func(b byte, a Alg) Digest { return bytes.Repeat([]byte{b}, a.Size()) }
	exp, act := NewPCRs(), NewPCRs()
	exp.Set(SHA256, 9, d(1, SHA256))
	exp.Set(SHA256, 8, d(2, SHA256))
	exp.Set(SHA256, 7, d(3, SHA256))
	exp.Set(SHA384, 8, d(2, SHA384)) // a bank the actual set lacks
	act.Set(SHA256, 8, d(2, SHA256))
	act.Set(SHA256, 9, d(4, SHA256))
	act.Set(SHA1, 8, d(2, SHA1)) // not expected: ignored
	got := ComparePCRs(exp, act)
	want := []struct {
		pcr    int
		actual Digest
		equal  bool
	}{{7, nil, false}, {8, d(2, SHA256), true}, {9, d(4, SHA256), false}}
	if len(got) != len(want) {
		t.Fatalf("got %d comparisons %+v, want %d", len(got), got, len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Bank != SHA256 || g.PCR != w.pcr || !bytes.Equal(g.Actual, w.actual) || g.Equal != w.equal {
			t.Errorf("comparison %d: %+v, want sha256 PCR %d actual %x equal %v", i, g, w.pcr, w.actual, w.equal)
		}
	}
}
