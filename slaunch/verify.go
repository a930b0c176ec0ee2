package slaunch

import (
	"fmt"

	"github.com/google/go-tpm/tpm2/transport"

	"github.com/slkit/slkit/tpm"
)

// VerifyDRTM checks that a dynamic launch happened and that log describes
// it: it reads PCR17 and PCR18 in every active bank (tpm.ActiveBanks,
// tpm.ReadBanks) and applies CheckDRTM. A TPM failure is returned as is;
// a launch that did not happen gives a *NoDRTMError (errors.Is ErrNoDRTM).
func VerifyDRTM(t transport.TPM, log *tpm.EventLog) error {
	banks, err := tpm.ActiveBanks(t)
	if err != nil {
		return err
	}
	pcrs, err := tpm.ReadBanks(t, banks, []int{PCRDCE, PCRPolicy})
	if err != nil {
		return err
	}
	return CheckDRTM(pcrs, log)
}

// CheckDRTM is VerifyDRTM's decision on PCR values already read:
//
//   - PCR17 must not be all 0xFF in any bank: that is its value from TPM
//     startup until a dynamic launch's _TPM_Hash_End resets it (PC Client
//     PTP; libtpms PCRResetDynamics), so all 0xFF means no launch happened;
//   - the log must be a crypto-agile log with at least one PCR17 event;
//   - replayed from 0, the log must give the TPM's PCR17 and PCR18 in every
//     bank it carries (a bank the TPM does not have is an error; an active
//     bank the log does not carry, such as SHA-384 behind a SHA-1/SHA-256
//     SKL, is only checked for the 0xFF value).
func CheckDRTM(pcrs *tpm.PCRs, log *tpm.EventLog) error {
	for _, a := range pcrs.Algs() {
		if v, ok := pcrs.Get(a, PCRDCE); ok && v.Equal(tpm.OnesDigest(a)) {
			return &NoDRTMError{Reason: fmt.Sprintf("PCR 17 (%s) is still all 0xFF: no dynamic launch reset it since the TPM started", a)}
		}
	}
	if log == nil || log.SpecID == nil || log.Format != tpm.FormatCryptoAgile {
		return &NoDRTMError{Reason: "no crypto-agile DRTM event log to check PCR 17/18 against"}
	}
	if len(log.EventsFor(PCRDCE)) == 0 {
		return &NoDRTMError{Reason: "the DRTM log has no PCR 17 event"}
	}
	replayed, err := log.Replay()
	if err != nil {
		return &NoDRTMError{Reason: fmt.Sprintf("the DRTM log cannot be replayed: %v", err)}
	}
	for _, a := range log.Algs() {
		for _, i := range []int{PCRDCE, PCRPolicy} {
			got, ok := pcrs.Get(a, i)
			if !ok {
				return &NoDRTMError{Reason: fmt.Sprintf("the DRTM log has a %s bank, which the TPM does not have active", a)}
			}
			want, ok := replayed.Get(a, i)
			if !ok {
				want = tpm.ZeroDigest(a) // no event: still at its post-launch reset value
			}
			if !want.Equal(got) {
				return &NoDRTMError{Reason: fmt.Sprintf("the DRTM log does not replay to the TPM: %s PCR %d is %s, the log gives %s",
					a, i, got.Short(), want.Short())}
			}
		}
	}
	return nil
}
