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
//  2. a reading of PCR 17–22 in every active bank;
//  3. host.TPMHash(DCEBlob): the TPM's own measurement of the DCE, which
//     resets PCR17–22 (libtpms PCRResetDynamics) and sets PCR17 — the DCE
//     event;
//  4. host.TPMLocality(2): the guest now runs at locality 2;
//  5. ExtendEvents of the post-launch events (the DCE's "DLME entry
//     offset" and "DLME" into PCR17, the DLME's policy into PCR18);
//  6. the DRTM log: the DCE's log prefix followed by the DLME's events;
//  7. VerifyDRTM of that log against the TPM, which trusts what happened
//     and not what was asked: PCR17 must have left 0xFF and the log must
//     replay to PCR17 and PCR18 in every bank.
//
// Every failure is a *LaunchError saying which step failed and whether
// the DCE event had happened. Steps 1 and 2 fail before it (not begun).
// Steps 4 to 7 fail after it (begun: fatal, whatever the entry allows). A
// failed step 3 is "not begun" only when PCR 17–22 read as in step 2 in
// every bank: a host that refuses the sequence before doing anything; if
// they changed, or cannot be read, the DCE event happened (or may have),
// and the failure is fatal.
func LaunchEmulated(t transport.TPM, host DCEHost, in Images) (*EmulatedLaunch, error) {
	if host == nil {
		return nil, NotStarted("host channel", errors.New("no host channel to the emulated DCE"))
	}
	banks, err := tpm.ActiveBanks(t)
	if err != nil {
		return nil, NotStarted("TPM banks", err)
	}
	st, err := StageEmulated(in, banks)
	if err != nil {
		return nil, NotStarted("stage", err)
	}
	before, err := tpm.ReadBanks(t, banks, dynamicPCRs())
	if err != nil {
		return nil, NotStarted("read PCR 17-22", err)
	}
	if err := host.TPMHash(st.DCEBlob); err != nil {
		err = fmt.Errorf("the rig host did not run the _TPM_Hash sequence over the emulated DCE: %w", err)
		if same, rerr := unchanged(t, banks, before); rerr != nil || !same {
			return nil, aborted("tpm-hash", errors.Join(err, rerr))
		}
		return nil, NotStarted("tpm-hash", err)
	}
	if err := host.TPMLocality(EmulatedLocality); err != nil {
		return nil, aborted("tpm-locality", fmt.Errorf("the rig host did not move the TPM to locality %d: %w", EmulatedLocality, err))
	}
	post := st.Prediction.PostLaunch()
	if err := ExtendEvents(t, post); err != nil {
		if errors.Is(err, tpm2.TPMRCLocality) {
			err = fmt.Errorf("the TPM refused the post-launch extends at the guest's locality (not %d): %w", EmulatedLocality, err)
		} else {
			err = fmt.Errorf("post-launch extends: %w", err)
		}
		return nil, aborted("post-launch extends", err)
	}
	log, err := emulatedLog(st, post)
	if err != nil {
		return nil, aborted("DRTM log", err)
	}
	parsed, err := tpm.ParseEventLog(log)
	if err != nil {
		return nil, aborted("DRTM log", fmt.Errorf("the DRTM log slkit wrote does not parse: %w", err))
	}
	if err := VerifyDRTM(t, parsed); err != nil {
		return nil, aborted("verify", err)
	}
	return &EmulatedLaunch{Stage: st, Log: log}, nil
}

// dynamicPCRs are the PCRs a DCE event resets: 17–22 (PC Client PTP,
// _TPM_Hash_Start/End; libtpms PCRResetDynamics).
func dynamicPCRs() []int { return []int{PCRDCE, PCRPolicy, 19, 20, 21, 22} }

// unchanged reports whether PCR 17–22 still hold the values of before in
// every bank.
func unchanged(t transport.TPM, banks []tpm.Alg, before *tpm.PCRs) (bool, error) {
	now, err := tpm.ReadBanks(t, banks, dynamicPCRs())
	if err != nil {
		return false, fmt.Errorf("PCR 17-22 cannot be read again: %w", err)
	}
	for _, a := range banks {
		for _, i := range dynamicPCRs() {
			b, _ := before.Get(a, i)
			n, ok := now.Get(a, i)
			if !ok || !n.Equal(b) {
				return false, nil
			}
		}
	}
	return true, nil
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
