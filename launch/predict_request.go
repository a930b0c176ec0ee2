package launch

import (
	"errors"

	"github.com/slkit/slkit/internal/errkind"
	"github.com/slkit/slkit/internal/fsys"
	"github.com/slkit/slkit/slaunch"
	"github.com/slkit/slkit/tpm"
)

// PredictRequest is `slkit predict` of a launch as plain values (its
// flags --kernel, --bank, --start and --drtm; a file name is "" when not
// given). Predictor checks it and reads its start values before the
// entry is opened; its errors name those flags.
type PredictRequest struct {
	// Kernel is the kernel image's path, naming a malformed image in
	// errors.
	Kernel string
	// Banks are the banks to predict (nil: the banks of Start, else
	// tpm.CommonBanks).
	Banks []tpm.Alg
	// Start is a file of the PCR values to start from (tpm.PCRValuesInput,
	// tpm.ParsePCRs; "" for the reset values): WithStart.
	Start string
	// DRTM is "" for a measured launch, or "emulated" to also predict
	// PCR 17 and 18 of a dynamic launch (PredictEmulatedDRTM).
	DRTM string
}

// Predictor is a checked PredictRequest: the banks, the start values and
// the prediction to run.
type Predictor struct {
	req     PredictRequest
	banks   []tpm.Alg
	opts    []PredictOption
	predict func(*Entry, *Profile, []tpm.Alg, ...PredictOption) (*Prediction, error)
}

// Predictor reads r's start values and checks its backend: a start file
// that cannot be read is an *fsys.InputError naming it, a DRTM backend
// other than "emulated" an errkind.Input error (the hardware PCRs depend
// on the DCE).
func (r PredictRequest) Predictor() (*Predictor, error) {
	p := &Predictor{req: r, banks: r.Banks, predict: Predict}
	if r.Start != "" {
		start, err := fsys.ReadInput(tpm.PCRValuesInput, r.Start, tpm.ParsePCRs)
		if err != nil {
			return nil, err
		}
		if p.banks == nil {
			p.banks = start.Algs()
		}
		p.opts = append(p.opts, WithStart(start))
	}
	if p.banks == nil {
		p.banks = tpm.CommonBanks
	}
	switch r.DRTM {
	case "":
	case "emulated":
		p.predict = PredictEmulatedDRTM
	default:
		return nil, errkind.Errorf(errkind.Input, "predict: --drtm %q: want emulated (the hardware PCRs depend on the DCE: slkit drtm stage --backend hardware)", r.DRTM)
	}
	return p, nil
}

// Predict predicts the launch of e measured with profile prof. With a
// DRTM backend, a kernel the dynamic launch cannot take (a malformed
// image: slaunch.NameInput) is named as "--kernel KERNEL"; start values
// that lack a PCR the profile extends (ErrStart) are named as the start
// file; each is an *fsys.InputError.
func (p *Predictor) Predict(e *Entry, prof *Profile) (*Prediction, error) {
	pred, err := p.predict(e, prof, p.banks, p.opts...)
	if err != nil && p.req.DRTM != "" {
		err = slaunch.NameInput("--kernel "+p.req.Kernel, "kernel", err)
	}
	if p.req.Start != "" && errors.Is(err, ErrStart) {
		return nil, &fsys.InputError{Path: p.req.Start, Err: err}
	}
	if err != nil {
		return nil, err
	}
	return pred, nil
}
