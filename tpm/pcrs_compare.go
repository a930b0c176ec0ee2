package tpm

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
func ComparePCRs(expected, actual *PCRs) []PCRComparison {
	var out []PCRComparison
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
