package tpm

import (
	"errors"
	"fmt"

	"github.com/slkit/slkit/internal/errkind"
	"github.com/slkit/slkit/internal/fsys"
)

// SealTargetSpec is a SealTarget as `slkit seal` and `slkit efi keygen
// --seal-pcrs` take it in flags: --bank, a PCR list and --pcr-values.
type SealTargetSpec struct {
	// Bank is the policy's PCR bank (ParseAlg: sha256, ...).
	Bank string
	// PCRs is the PCR list (ParsePCRList: "8,9"); it needs one PCR at
	// least.
	PCRs string
	// PCRsFlag names the PCR list's flag in a refusal ("pcrs"), and
	// Example is a list the refusal shows ("8,9").
	PCRsFlag, Example string
	// ValuesFile holds the values to seal to (PCRValuesInput,
	// ParseExpected: `slkit predict --json`); "" for the TPM's current
	// ones.
	ValuesFile string
}

// Target checks s and reads its values file. A bad bank or PCR list is an
// input error naming its flag; a values file that cannot be read or
// parsed is an *fsys.InputError naming it.
func (s *SealTargetSpec) Target() (*SealTarget, error) {
	bank, err := ParseAlg(s.Bank)
	if err != nil {
		return nil, errkind.Mark(errkind.Input, fmt.Errorf("--bank: %w", err))
	}
	pcrs, err := ParsePCRList(s.PCRs)
	if err == nil && len(pcrs) == 0 {
		err = errors.New("no PCR")
	}
	if err != nil {
		return nil, errkind.Mark(errkind.Input, fmt.Errorf("--%s %q: want a list such as %s: %w", s.PCRsFlag, s.PCRs, s.Example, err))
	}
	st := &SealTarget{Bank: bank, PCRs: pcrs, ValuesFile: s.ValuesFile}
	if st.ValuesFile != "" {
		if st.Values, err = fsys.ReadInput(PCRValuesInput, st.ValuesFile, ParseExpected); err != nil {
			return nil, err
		}
	}
	return st, nil
}
