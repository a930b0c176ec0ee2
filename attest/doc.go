// Package attest is the TPM side of remote attestation: it gathers the
// evidence a verifier needs to decide what a machine launched, and answers
// the verifier's credential-activation challenge.
//
// The evidence (Evidence, a versioned JSON document) holds the EK
// certificate the TPM carries in NV, an attestation key (AK), one
// TPM2_Quote per active PCR bank over PCRs 0–23 with the verifier's nonce
// as qualifying data, the PCR values quoted, and the event logs that
// explain them: the firmware's, slkit's pre-launch log and the DRTM log.
//
// The AK is a primary key of the endorsement hierarchy created from a fixed
// template (AKTemplate: restricted ECC P-256 ECDSA-SHA256 signing key,
// fixedTPM, fixedParent, sensitiveDataOrigin), so the same TPM gives the
// same AK on every boot until its endorsement seed changes; the evidence
// carries TPM2_CertifyCreation's proof that the TPM created it with those
// attributes. A verifier binds the AK to the EK with the credential
// activation of TPM 2.0 Part 1 §24 (MakeCredential to the EK for the AK's
// name; Activate here recovers the secret with TPM2_ActivateCredential).
//
// The verifier side (checking the certificate chain, the quotes, the logs
// and a launch policy) is package attest/verifier, which is not part of
// the pre-launch image.
package attest
