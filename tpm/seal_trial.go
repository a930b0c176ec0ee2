package tpm

import (
	"fmt"

	"github.com/google/go-tpm/tpm2"
)

// TrialPolicyDigest runs the policy's commands in a TPM trial session and
// returns TPM2_PolicyGetDigest (Part 3 §23.19): the TPM's own computation of
// the digest that SealPolicy.Digest computes offline.
func TrialPolicyDigest(t TPMSender, p *SealPolicy) ([]byte, error) {
	pd, err := p.pcrDigest()
	if err != nil {
		return nil, err
	}
	sess, closer, err := tpm2.PolicySession(t, policyHash, 16, tpm2.Trial())
	if err != nil {
		return nil, fmt.Errorf("%w: trial session: %w", ErrTPM, err)
	}
	defer closer()
	h := tpm2.TPMHandle(sess.Handle())
	if _, err := (tpm2.PolicyPCR{PolicySession: h, PcrDigest: tpm2.TPM2BDigest{Buffer: pd}, Pcrs: p.selection()}).Execute(t); err != nil {
		return nil, fmt.Errorf("%w: PolicyPCR: %w", ErrTPM, err)
	}
	if p.Counter != nil {
		for _, c := range p.Counter.policyNV(h) {
			if _, err := c.Execute(t); err != nil {
				return nil, fmt.Errorf("%w: PolicyNV: %w", ErrTPM, err)
			}
		}
	}
	if p.Locality != 0 {
		if err := policyLocality(t, h, p.Locality); err != nil {
			return nil, fmt.Errorf("%w: PolicyLocality: %w", ErrTPM, err)
		}
	}
	if p.PIN {
		if _, err := (tpm2.PolicyAuthValue{PolicySession: h}).Execute(t); err != nil {
			return nil, fmt.Errorf("%w: PolicyAuthValue: %w", ErrTPM, err)
		}
	}
	rsp, err := tpm2.PolicyGetDigest{PolicySession: h}.Execute(t)
	if err != nil {
		return nil, fmt.Errorf("%w: PolicyGetDigest: %w", ErrTPM, err)
	}
	return rsp.PolicyDigest.Buffer, nil
}
