package tpm

import (
	"fmt"
	"strings"
)

// PCRDiff is one PCR whose replayed value differs from the TPM's.
type PCRDiff struct {
	Alg Alg    `json:"bank"`
	PCR int    `json:"pcr"`
	Log Digest `json:"log"`
	TPM Digest `json:"tpm"`
}

func (d PCRDiff) String() string {
	return fmt.Sprintf("%s PCR %d: log %s, TPM %s", d.Alg, d.PCR, d.Log.Short(), d.TPM.Short())
}

// LogVerification is the result of comparing a log's replay with a TPM.
type LogVerification struct {
	Replayed *PCRs `json:"replayed"`
	TPM      *PCRs `json:"tpm"`
	// FirstDiffs holds, per bank, the lowest-numbered PCR that differs.
	FirstDiffs []PCRDiff `json:"first_differences"`
	// Diffs is the number of differing (bank, PCR) pairs.
	Diffs int `json:"differences"`
	// SkippedBanks are banks of the log the TPM does not have active.
	SkippedBanks []Alg `json:"skipped_banks,omitempty"`
}

// OK reports whether every compared PCR matched.
func (v *LogVerification) OK() bool { return v.Diffs == 0 }

// Err returns nil when everything matched, else an error wrapping
// ErrPCRMismatch that names the first differing PCR of each bank.
func (v *LogVerification) Err() error {
	if v.OK() {
		return nil
	}
	parts := make([]string, len(v.FirstDiffs))
	for i, d := range v.FirstDiffs {
		parts[i] = d.String()
	}
	return fmt.Errorf("%w: event log does not replay to the TPM's PCRs (%d differ; first per bank: %s)",
		ErrPCRMismatch, v.Diffs, strings.Join(parts, "; "))
}

// VerifyEventLog replays the log, reads the same PCRs from the TPM in every
// bank that is both in the log and active in the TPM, and reports per bank
// the first PCR that differs. The returned error is about the TPM; a
// mismatch is reported in the result (see LogVerification.Err).
func VerifyEventLog(t TPMSender, l *EventLog, opts ...ReplayOption) (*LogVerification, error) {
	active, err := ActiveBanks(t)
	if err != nil {
		return nil, err
	}
	isActive := map[Alg]bool{}
	for _, a := range active {
		isActive[a] = true
	}
	replayed, err := l.Replay(opts...)
	if err != nil {
		return nil, err
	}
	v := &LogVerification{Replayed: NewPCRs()}
	sel := Selection{}
	for _, a := range replayed.Algs() {
		if !isActive[a] {
			v.SkippedBanks = append(v.SkippedBanks, a)
			continue
		}
		sel[a] = replayed.Indices(a)
		v.Replayed.Banks[a] = replayed.Banks[a]
	}
	if len(sel) == 0 {
		v.TPM = NewPCRs()
		return v, nil
	}
	v.TPM, err = ReadPCRs(t, sel)
	if err != nil {
		return nil, err
	}
	for _, a := range v.Replayed.Algs() {
		first := true
		for _, i := range v.Replayed.Indices(a) {
			want, _ := v.Replayed.Get(a, i)
			got, _ := v.TPM.Get(a, i)
			if !want.Equal(got) {
				v.Diffs++
				if first {
					v.FirstDiffs = append(v.FirstDiffs, PCRDiff{Alg: a, PCR: i, Log: want, TPM: got})
					first = false
				}
			}
		}
	}
	return v, nil
}
