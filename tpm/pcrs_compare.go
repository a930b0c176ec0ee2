package tpm

import (
	"fmt"
	"strings"
)

// PCRComparison is one (bank, PCR) of a comparison of expected values (a
// prediction, or the values a secret was sealed to) with actual ones.
type PCRComparison struct {
	Bank     Alg    `json:"bank"`
	PCR      int    `json:"pcr"`
	Expected Digest `json:"expected"`
	// Actual is nil when the actual set has no value for this PCR.
	Actual Digest `json:"actual"`
	Equal  bool   `json:"equal"`
}

// ComparePCRs compares every value of expected with actual, in bank and
// PCR order. A bank of expected that actual lacks altogether is left out
// (the TPM may not have it active: `slkit predict` covers four banks), so
// the caller should check that something was compared; a PCR missing from
// a bank that actual has is a difference.
func ComparePCRs(expected, actual *PCRs) Comparison {
	var out Comparison
	for _, a := range expected.Algs() {
		if _, ok := actual.Banks[a]; !ok {
			continue
		}
		for _, i := range expected.Indices(a) {
			want, _ := expected.Get(a, i)
			got, _ := actual.Get(a, i)
			out = append(out, PCRComparison{Bank: a, PCR: i, Expected: want, Actual: got, Equal: got != nil && got.Equal(want)})
		}
	}
	return out
}

// Comparison is what ComparePCRs found, in bank and PCR order.
type Comparison []PCRComparison

// Err is nil when every compared value is equal, else ErrPCRMismatch
// with the number of differences.
func (c Comparison) Err() error {
	diffs := 0
	for _, x := range c {
		if !x.Equal {
			diffs++
		}
	}
	if diffs > 0 {
		return fmt.Errorf("%w: %d of %d compared", ErrPCRMismatch, diffs, len(c))
	}
	return nil
}

// Text is the comparison as a table: bank, PCR, both values (short) and
// the verdict.
func (c Comparison) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-7s %3s  %-18s %-18s %s\n", "bank", "PCR", "expected", "actual", "")
	for _, x := range c {
		verdict, actual := "equal", x.Actual.Short()
		if !x.Equal {
			verdict = "DIFFERS"
		}
		if x.Actual == nil {
			actual = "(absent)"
		}
		fmt.Fprintf(&b, "%-7s %3d  %-18s %-18s %s\n", x.Bank, x.PCR, x.Expected.Short(), actual, verdict)
	}
	return b.String()
}
