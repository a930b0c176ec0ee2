package slaunch

import (
	"errors"
	"fmt"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"

	"github.com/slkit/slkit/tpm"
)

// EmulatedLocality is the locality the emulated launch holds the guest's
// TPM commands at after the launch, as a Secure Launch kernel does
// (Linux v16 slmodule: tpm_chip_set_locality(tpm, 2)); PCR17 and PCR18
// accept extends at localities 2–4 only.
const EmulatedLocality = 2

// DCEHost is the part of a dynamic launch that the guest cannot do itself
// in the rig: the CPU's stream of the DCE to the TPM (_TPM_Hash_Start,
// _TPM_Hash_Data, _TPM_Hash_End, which QEMU's TIS refuses to a guest) and
// the locality change. The rig host answers both over the host channel
// (*hostchan.Client: the tpm-hash and tpm-locality verbs).
type DCEHost interface {
	// TPMHash runs the _TPM_Hash sequence over blob: PCR17–22 are reset
	// and PCR17 = H(0ⁿ ‖ H(blob)) in every bank.
	TPMHash(blob []byte) error
	// TPMLocality holds the guest's TPM commands at loc until the next
	// platform reset.
	TPMLocality(loc uint8) error
}

// EmulatedLaunch is what LaunchEmulated did.
type EmulatedLaunch struct {
	// Stage is the emulated DCE, the SLRT and the prediction.
	Stage *EmulatedStage
	// Log is the whole DRTM log (the DCE's prefix and the DLME's events)
	// as handed to the target; it replayed to the TPM's PCR17 and PCR18.
	Log []byte
}

// LaunchEmulated performs the emulated dynamic launch of the images on
// t, the guest's TPM (README.md, "The emulated DCE"):
//
//  1. StageEmulated for the TPM's active banks;
//  2. host.TPMHash(DCEBlob): the TPM's own measurement of the DCE, which
//     resets PCR17–22 (libtpms PCRResetDynamics) and sets PCR17;
//  3. host.TPMLocality(2): the guest now runs at locality 2;
//  4. ExtendEvents of the post-launch events (the DCE's "DLME entry
//     offset" and "DLME" into PCR17, the DLME's policy into PCR18);
//  5. the DRTM log: the DCE's log prefix followed by the DLME's events;
//  6. VerifyDRTM of that log against the TPM, which trusts what happened
//     and not what was asked: PCR17 must have left 0xFF and the log must
//     replay to PCR17 and PCR18 in every bank.
//
// Every failure from step 2 on is a *NoDRTMError (ErrNoDRTM) that says
// which step did not happen; a caller never treats the launch as a
// dynamic one (package launch refuses an entry that requires DRTM and
// launches any other as a measured launch, with a warning). Bad images fail at step 1 (ErrMalformed, ErrPredict), a
// TPM that cannot list its banks with the TPM's error.
func LaunchEmulated(t transport.TPM, host DCEHost, in Images) (*EmulatedLaunch, error) {
	if host == nil {
		return nil, &NoDRTMError{Reason: "no host channel to the emulated DCE"}
	}
	banks, err := tpm.ActiveBanks(t)
	if err != nil {
		return nil, err
	}
	st, err := StageEmulated(in, banks)
	if err != nil {
		return nil, err
	}
	if err := host.TPMHash(st.DCEBlob); err != nil {
		return nil, &NoDRTMError{Reason: fmt.Sprintf("the rig host did not run the _TPM_Hash sequence over the emulated DCE: %v", err)}
	}
	if err := host.TPMLocality(EmulatedLocality); err != nil {
		return nil, &NoDRTMError{Reason: fmt.Sprintf("the rig host did not move the TPM to locality %d: %v", EmulatedLocality, err)}
	}
	post := st.Prediction.PostLaunch()
	if err := ExtendEvents(t, post); err != nil {
		if errors.Is(err, tpm2.TPMRCLocality) {
			return nil, &NoDRTMError{Reason: fmt.Sprintf("the TPM refused the post-launch extends at the guest's locality (not %d): %v", EmulatedLocality, err)}
		}
		return nil, &NoDRTMError{Reason: fmt.Sprintf("post-launch extends: %v", err)}
	}
	log, err := emulatedLog(st, post)
	if err != nil {
		return nil, err
	}
	parsed, err := tpm.ParseEventLog(log)
	if err != nil {
		return nil, fmt.Errorf("the DRTM log slkit wrote does not parse: %w", err)
	}
	if err := VerifyDRTM(t, parsed); err != nil {
		return nil, err
	}
	return &EmulatedLaunch{Stage: st, Log: log}, nil
}

// emulatedLog is the DRTM log of the launch: the log prefix the DCE hands
// over (the TPM's and the DCE's events), then the DLME's events of post,
// in the order they were extended.
func emulatedLog(st *EmulatedStage, post []Event) ([]byte, error) {
	l, err := NewDRTMLog(st.LogPrefix.Algs(), st.LogPrefix.Ptr.Addr, st.LogPrefix.Ptr.AllocatedSize)
	if err != nil {
		return nil, err
	}
	for _, e := range st.Prediction.Events {
		if e.By == ActorDLME {
			continue
		}
		if err := l.AppendEvent(e); err != nil {
			return nil, err
		}
	}
	for _, e := range post {
		if e.By != ActorDLME {
			continue
		}
		if err := l.AppendEvent(e); err != nil {
			return nil, err
		}
	}
	return l.MarshalBinary()
}
