package tpm

import (
	"encoding/binary"
	"fmt"

	"github.com/google/go-tpm/tpm2"
)

// go-tpm v0.9.8 has no TPM2_PolicyLocality; these two functions are that
// command and its policy-digest update.

// policyLocalityUpdate extends a policy digest as TPM2_PolicyLocality does
// (Part 3 §23.8): policyDigest' = H(policyDigest ‖ TPM_CC_PolicyLocality ‖ locality).
func policyLocalityUpdate(calc *tpm2.PolicyCalculator, mask uint8) error {
	return calc.Update(tpm2.TPMCCPolicyLocality, mask)
}

// policyLocality sends TPM2_PolicyLocality(policySession, locality) (Part 3
// §23.8): no authorization area; the handle needs no session.
func policyLocality(t TPMSender, sess tpm2.TPMHandle, mask uint8) error {
	cmd := make([]byte, 0, 15)
	cmd = binary.BigEndian.AppendUint16(cmd, uint16(tpm2.TPMSTNoSessions))
	cmd = binary.BigEndian.AppendUint32(cmd, 15)
	cmd = binary.BigEndian.AppendUint32(cmd, uint32(tpm2.TPMCCPolicyLocality))
	cmd = binary.BigEndian.AppendUint32(cmd, uint32(sess))
	cmd = append(cmd, mask)
	rsp, err := t.Send(cmd)
	if err != nil {
		return err
	}
	if len(rsp) < 10 {
		return fmt.Errorf("PolicyLocality: short response (%d bytes)", len(rsp))
	}
	if rc := tpm2.TPMRC(binary.BigEndian.Uint32(rsp[6:10])); rc != tpm2.TPMRCSuccess {
		return rc
	}
	return nil
}
