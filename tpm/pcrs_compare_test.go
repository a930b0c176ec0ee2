package tpm

import (
	"bytes"
	"errors"
	"strings"
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

func TestComparisonErrAndText(t *testing.T) {
	d := func(b byte) Digest { return bytes.Repeat([]byte{b}, SHA256.Size()) }
	same := Comparison{{Bank: SHA256, PCR: 8, Expected: d(1), Actual: d(1), Equal: true}}
	if err := same.Err(); err != nil {
		t.Fatal(err)
	}
	diff := append(same, PCRComparison{Bank: SHA256, PCR: 9, Expected: d(2)})
	if err := diff.Err(); !errors.Is(err, ErrPCRMismatch) || !strings.Contains(err.Error(), "1 of 2 compared") {
		t.Fatalf("err %v", err)
	}
	txt := diff.Text()
	if !strings.Contains(txt, "sha256    8  01010101…") || !strings.Contains(txt, "(absent)           DIFFERS") {
		t.Fatalf("text:\n%s", txt)
	}
}
