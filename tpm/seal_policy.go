package tpm

import (
	"fmt"

	"github.com/google/go-tpm/tpm2"
)

// SealPolicy is the authorization policy of a sealed object: PolicyPCR over
// a PCR selection in one bank with given values (Part 3 §23.7), optionally
// PolicyAuthValue (a PIN, §23.18) and PolicyLocality (§23.8, used when
// DRTM PCRs 17–22 are sealed: they can only be extended at locality ≥ 2, so
// the secret is released only at the launched OS's locality).
type SealPolicy struct {
	Bank   Alg
	PCRs   []int
	Values map[int]Digest
	// PIN adds PolicyAuthValue.
	PIN bool
	// Locality is a TPMA_LOCALITY bit mask; 0 means no PolicyLocality.
	Locality uint8
	// Counter adds PolicyNV over an update-window counter (Part 3
	// §23.9): the object is released only while Counter.Min ≤ counter ≤
	// Counter.Max. Nil for an ordinary sealed object.
	Counter *CounterBound
}

// LocalityTwo is TPMA_LOCALITY for locality 2 (Part 2 §8.5), where a Secure
// Launch kernel (and slkit's emulated launch) runs after DRTM.
const LocalityTwo uint8 = 1 << 2

// pcrDigest is H(PCR values in selection order) (Part 3 §23.7).
func (p *SealPolicy) pcrDigest() ([]byte, error) {
	var buf []byte
	for _, i := range p.PCRs {
		v, ok := p.Values[i]
		if !ok {
			return nil, fmt.Errorf("no %s value for PCR %d", p.Bank, i)
		}
		buf = append(buf, v...)
	}
	d, err := SHA256.Sum(buf)
	if err != nil {
		return nil, err
	}
	return d, nil
}

func (p *SealPolicy) selection() tpm2.TPMLPCRSelection {
	return tpm2.TPMLPCRSelection{PCRSelections: []tpm2.TPMSPCRSelection{{
		Hash: tpm2.TPMIAlgHash(p.Bank), PCRSelect: pcrSelect(p.PCRs),
	}}}
}

// policyHash is the session/policy digest algorithm (SHA-256).
const policyHash = tpm2.TPMAlgSHA256

// Digest computes the policy digest offline with tpm2.PolicyCalculator,
// in the order PolicyPCR, PolicyNV (with a Counter), PolicyLocality,
// PolicyAuthValue.
func (p *SealPolicy) Digest() ([]byte, error) {
	calc, err := tpm2.NewPolicyCalculator(policyHash)
	if err != nil {
		return nil, err
	}
	pd, err := p.pcrDigest()
	if err != nil {
		return nil, err
	}
	if err := (tpm2.PolicyPCR{PcrDigest: tpm2.TPM2BDigest{Buffer: pd}, Pcrs: p.selection()}).Update(calc); err != nil {
		return nil, err
	}
	if p.Counter != nil {
		for _, c := range p.Counter.policyNV(tpm2.TPMRHNull) {
			if err := c.Update(calc); err != nil {
				return nil, err
			}
		}
	}
	if p.Locality != 0 {
		if err := policyLocalityUpdate(calc, p.Locality); err != nil {
			return nil, err
		}
	}
	if p.PIN {
		if err := (tpm2.PolicyAuthValue{}).Update(calc); err != nil {
			return nil, err
		}
	}
	return calc.Hash().Digest, nil
}

// run executes the policy commands in a policy session. PolicyPCR is sent
// with an empty digest, so the TPM uses the PCRs' current values: if they
// differ from the sealed ones, the later Unseal fails with TPM_RC_POLICY_FAIL.
func (p *SealPolicy) run(t TPMSender, sess tpm2.TPMISHPolicy, nonce tpm2.TPM2BNonce) error {
	if _, err := (tpm2.PolicyPCR{PolicySession: sess, Pcrs: p.selection()}).Execute(t); err != nil {
		return fmt.Errorf("PolicyPCR: %w", err)
	}
	if p.Counter != nil {
		for _, c := range p.Counter.policyNV(sess) {
			if _, err := c.Execute(t); err != nil {
				return fmt.Errorf("PolicyNV: %w", err)
			}
		}
	}
	if p.Locality != 0 {
		if err := policyLocality(t, tpm2.TPMHandle(sess.HandleValue()), p.Locality); err != nil {
			return fmt.Errorf("PolicyLocality: %w", err)
		}
	}
	if p.PIN {
		if _, err := (tpm2.PolicyAuthValue{PolicySession: sess}).Execute(t); err != nil {
			return fmt.Errorf("PolicyAuthValue: %w", err)
		}
	}
	return nil
}
