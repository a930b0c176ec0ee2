package tpm

import (
	"fmt"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
)

// ActiveBanks returns the PCR banks the TPM has allocated, in the order the
// TPM reports them (TPM2_GetCapability(TPM_CAP_PCRS), Part 3 §30.2). A bank
// is active when at least one PCR is selected in it.
func ActiveBanks(t transport.TPM) ([]Alg, error) {
	rsp, err := tpm2.GetCapability{Capability: tpm2.TPMCapPCRs, PropertyCount: 1}.Execute(t)
	if err != nil {
		return nil, fmt.Errorf("%w: GetCapability(PCRs): %w", ErrTPM, err)
	}
	sel, err := rsp.CapabilityData.Data.AssignedPCR()
	if err != nil {
		return nil, fmt.Errorf("%w: GetCapability(PCRs): %w", ErrTPM, err)
	}
	var out []Alg
	for _, s := range sel.PCRSelections {
		for _, b := range s.PCRSelect {
			if b != 0 {
				out = append(out, Alg(s.Hash))
				break
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no active PCR bank", ErrTPM)
	}
	return out, nil
}
