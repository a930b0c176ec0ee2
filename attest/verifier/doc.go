// Package verifier is the verifier side of remote attestation with slkit's
// evidence (package attest): the credential-activation challenge that binds
// an AK to an EK, and the verification of a bundle against a nonce, an EK
// certificate authority and, optionally, a signed launch policy.
//
// What a well-kept library does, go-attestation does here: parsing the EK
// certificate, checking the AK's creation proof and making the credential
// (attest.ActivationParameters), verifying the quotes (AKPublic.VerifyAll)
// and parsing and replaying the event logs (attest.ParseEventLog,
// EventLog.Verify). slkit adds the DRTM log (PCR 17/18, checked with
// slaunch.CheckDRTM: a dynamic launch happened and the log describes it)
// and the launch-policy check: the events of PCR 8/9 (pre-launch log) and
// PCR 17/18 (DRTM log) must equal slkit's own prediction for one entry of
// the signed policy (launch.Predict, launch.PredictEmulatedDRTM).
//
// The package is for verifiers: the slkit built into images
// (-tags slkit_image) does not link it.
package verifier
