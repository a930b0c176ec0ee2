package launch

import (
	"bytes"
	"io"

	"github.com/slkit/slkit/slaunch"
	"github.com/slkit/slkit/tpm"
)

// PredictEmulatedDRTM predicts a launch with the emulated DRTM backend
// (slkit launch --drtm emulated): the measured-launch part as Predict
// gives it (PCR 8 and 9 for the entry's profile), then PCR17 and PCR18 as
// slaunch.StageEmulated gives them for the same kernel, initrd, command
// line and banks. The dynamic launch resets PCR17–22 (_TPM_Hash_End,
// libtpms PCRResetDynamics), so a start value of PCR 17–22 is replaced:
// PCR17/18 by the prediction, PCR 19–22 by 0.
//
// Events are the pre-launch log's (numbered in that log), then the DRTM
// log's (numbered in the DRTM log, 1 = "SKINIT"): the two logs a target
// gets (TargetLogPath, DRTMTargetLogPath). The DLME and initrd digests are
// taken from the measured-launch events, not hashed again.
func PredictEmulatedDRTM(e *Entry, p *Profile, banks []tpm.Alg, opts ...PredictOption) (*Prediction, error) {
	pred, err := Predict(e, p, banks, opts...)
	if err != nil {
		return nil, err
	}
	ds := eventDigests(p, pred.Events)
	im := slaunch.Images{Kernel: e.Kernel.R, KernelSize: e.Kernel.Size, Cmdline: e.Cmdline, KernelDigests: ds[Kernel]}
	if e.Initrd != nil {
		im.Initrd = io.NewSectionReader(e.Initrd.R, 0, e.Initrd.Size)
		im.InitrdSize = e.Initrd.Size
		im.InitrdDigests = ds[Initrd]
	}
	st, err := slaunch.StageEmulated(im, banks)
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
	return pred, nil
}

// eventDigests finds the kernel's and the initrd's digests among the
// events of a prediction by their step's PCR and description; a component
// whose step is not unique by those is left out (then hashed again).
func eventDigests(p *Profile, events []tpm.Event) map[Component]tpm.Digests {
	out := map[Component]tpm.Digests{}
	for _, s := range p.Steps {
		if s.Component != Kernel && s.Component != Initrd {
			continue
		}
		var found []tpm.Event
		for _, ev := range events {
			if ev.PCR == s.PCR && ev.Type == s.Type && bytes.Equal(ev.Data, []byte(s.Description)) {
				found = append(found, ev)
			}
		}
		if len(found) == 1 {
			out[s.Component] = found[0].Digests
		}
	}
	return out
}
