package tpm

import (
	"fmt"

	"github.com/google/go-tpm/tpm2"
)

// StagePCR is the PCR whose reset value marks the pre-launch stage. The
// firmware and the EFI stub do not extend it; slkit's launch extends it
// with its first measurement (the launch policy, launch.MeasuredProfile),
// before anything it launches runs, and the emulated or real dynamic
// launch follows that measurement. So in a boot that went through
// `slkit launch`, only the code before the launch — the pre-launch stage —
// sees PCR 8 at zero; the launched OS, and a pre-launch environment
// relaunched from it by kexec (no TPM reset), never do.
//
// What else sees PCR 8 at zero: any boot that measures nothing into PCR 8
// before it runs its own code, i.e. other boot media without a boot
// loader that measures into PCR 8 (GRUB measures its commands there; the
// EFI stub and systemd-boot do not). Such a boot can raise an anchor —
// never lower it — which can only refuse launches, drop a pending journal
// or move update windows along, as writing the disk can; an update
// object is therefore also bound to what the firmware measured of the
// pre-launch stage (update.Prepare), which other media cannot reproduce.
const StagePCR = 8

// StagePolicyDigest is the policy an anchor's increments need, computed
// offline: TPM2_PolicyPCR over sha256 PCR 8 at its reset value (Part 3
// §23.7: policyDigest' = H(policyDigest ‖ TPM_CC_PolicyPCR ‖ pcrs ‖
// H(32 zero bytes))), then TPM2_PolicyCommandCode(TPM_CC_NV_Increment)
// (§23.11), so that the session authorizes an increment and no other
// command.
func StagePolicyDigest() ([]byte, error) {
	calc, err := tpm2.NewPolicyCalculator(policyHash)
	if err != nil {
		return nil, err
	}
	pd, sel, err := stagePCR()
	if err != nil {
		return nil, err
	}
	if err := (tpm2.PolicyPCR{PcrDigest: tpm2.TPM2BDigest{Buffer: pd}, Pcrs: sel}).Update(calc); err != nil {
		return nil, err
	}
	if err := (tpm2.PolicyCommandCode{Code: tpm2.TPMCCNVIncrement}).Update(calc); err != nil {
		return nil, err
	}
	return calc.Hash().Digest, nil
}

// stagePCR is the PolicyPCR operands: H(PCR 8's reset value) and the
// selection of sha256 PCR 8.
func stagePCR() ([]byte, tpm2.TPMLPCRSelection, error) {
	p := SealPolicy{Bank: SHA256, PCRs: []int{StagePCR}, Values: map[int]Digest{StagePCR: ZeroDigest(SHA256)}}
	d, err := p.pcrDigest()
	return d, p.selection(), err
}

// runStagePolicy asserts StagePolicy in session sess.
// PolicyPCR is sent with the expected digest, so a PCR 8 that is no longer
// at its reset value fails here, naming the assertion, instead of at the
// NV command.
func runStagePolicy(t TPMSender, sess tpm2.TPMHandle) error {
	pd, sel, err := stagePCR()
	if err != nil {
		return err
	}
	if _, err := (tpm2.PolicyPCR{PolicySession: sess, PcrDigest: tpm2.TPM2BDigest{Buffer: pd}, Pcrs: sel}).Execute(t); err != nil {
		return fmt.Errorf("PolicyPCR: sha256 PCR %d is not at its reset value (%w)", StagePCR, err)
	}
	if _, err := (tpm2.PolicyCommandCode{PolicySession: sess, Code: tpm2.TPMCCNVIncrement}).Execute(t); err != nil {
		return fmt.Errorf("PolicyCommandCode: %w", err)
	}
	return nil
}

// TrialStagePolicy runs StagePolicy in a TPM trial session and returns
// TPM2_PolicyGetDigest (Part 3 §23.19): the TPM's own computation of
// StagePolicyDigest.
func TrialStagePolicy(t TPMSender) ([]byte, error) {
	sess, closer, err := tpm2.PolicySession(t, policyHash, 16, tpm2.Trial())
	if err != nil {
		return nil, fmt.Errorf("%w: trial session: %w", ErrTPM, err)
	}
	defer closer()
	if err := runStagePolicy(t, tpm2.TPMHandle(sess.Handle())); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTPM, err)
	}
	rsp, err := tpm2.PolicyGetDigest{PolicySession: tpm2.TPMHandle(sess.Handle())}.Execute(t)
	if err != nil {
		return nil, fmt.Errorf("%w: PolicyGetDigest: %w", ErrTPM, err)
	}
	return rsp.PolicyDigest.Buffer, nil
}
