package tpm

import "github.com/slkit/slkit/internal/fsys"

// SealTarget is what a secret is sealed to: the policy's bank and PCRs,
// and the values to seal to (Values, read from the file ValuesFile; nil:
// the TPM's current ones).
type SealTarget struct {
	Bank       Alg
	PCRs       []int
	Values     *Expected
	ValuesFile string
}

// Policy is the seal policy of the target on t (CurrentPolicy, or
// PolicyFor the given values), and the events to record with it: the
// given values' own events, else events (sealing to current values: the
// events of an event log). Given values that do not fit the policy are
// an *fsys.InputError naming their file.
func (st *SealTarget) Policy(t TPMSender, events []Event) (*SealPolicy, []Event, error) {
	if st.Values == nil {
		pol, err := CurrentPolicy(t, st.Bank, st.PCRs)
		return pol, events, err
	}
	pol, err := PolicyFor(st.Bank, st.PCRs, &st.Values.PCRs)
	if err != nil {
		return nil, nil, &fsys.InputError{Path: st.ValuesFile, Err: err}
	}
	return pol, st.Values.Events, nil
}
