package launch

import (
	"fmt"

	"github.com/slkit/slkit/slaunch"
	"github.com/slkit/slkit/tpm"
)

// PredictEmulatedDRTM predicts a launch with the emulated DRTM backend
// (slkit launch --drtm emulated): the measured-launch part as Predict
// gives it (PCR 8 and 9 for the entry's profile), then PCR17 and PCR18 as
// slaunch.StageEmulated gives them for the same kernel, initrd, command
// line and banks — staged from the same images, with the kernel's and the
// initrd's digests that Predict's walk computed, exactly as the emulated
// backend stages them from Measure's (DRTMInput.images). The dynamic
// launch resets PCR17–22 (_TPM_Hash_End, libtpms PCRResetDynamics), so a
// start value of PCR 17–22 is replaced: PCR17/18 by the prediction, PCR
// 19–22 by 0. Prediction.Stage is the staged emulated DCE.
//
// Events are the pre-launch log's (numbered in that log), then the DRTM
// log's (numbered in the DRTM log, 1 = "SKINIT"): the two logs a target
// gets (TargetLogPath, DRTMTargetLogPath). The images must be given as
// bytes (the DLME entry point is read from the kernel's header), not only
// by pinned digests.
func PredictEmulatedDRTM(e *Entry, p *Profile, banks []tpm.Alg, opts ...PredictOption) (*Prediction, error) {
	if e != nil {
		for _, c := range []Component{Kernel, Initrd} {
			if im := e.image(c); im != nil && im.R == nil {
				return nil, fmt.Errorf("%w: %s: the DRTM stage reads the images themselves", ErrNeedImage, im.label(c))
			}
		}
	}
	pred, err := Predict(e, p, banks, opts...)
	if err != nil {
		return nil, err
	}
	in := &DRTMInput{Entry: e, Digests: pred.Digests, Banks: banks}
	st, err := slaunch.StageEmulated(in.images(), banks)
	if err != nil {
		return nil, err
	}
	x := st.Prediction.Expected()
	for _, a := range banks {
		for i := slaunch.PCRPolicy + 1; i <= 22; i++ {
			if _, ok := pred.PCRs.Get(a, i); ok {
				pred.PCRs.Set(a, i, tpm.ZeroDigest(a))
			}
		}
		for _, i := range []int{slaunch.PCRDCE, slaunch.PCRPolicy} {
			v, _ := x.Get(a, i)
			pred.PCRs.Set(a, i, v)
		}
	}
	pred.Events = append(pred.Events, x.Events...)
	pred.Stage = st
	return pred, nil
}

// DRTMImages are the entry's images as a DRTM backend stages them
// (slaunch.Images; the same conversion the backends get through
// DRTMInput), without digests: slaunch hashes what it needs.
func DRTMImages(e *Entry) slaunch.Images { return (&DRTMInput{Entry: e}).images() }
