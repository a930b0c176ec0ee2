package launch

import (
	"encoding/json"
	"fmt"

	"github.com/slkit/slkit/tpm"
)

// Prediction is what a launch of an entry will produce, computed offline.
type Prediction struct {
	// Banks are the banks predicted, in the order asked for.
	Banks []tpm.Alg
	// PCRs holds, in every bank, the final value of each PCR the launch
	// extends, plus the other starting values given (unchanged).
	PCRs *tpm.PCRs
	// Events are the events the launch appends to the log, in order,
	// numbered as in a fresh log (1 is the first event after the header).
	Events []tpm.Event
}

type predictConfig struct{ start *tpm.PCRs }

// PredictOption configures Predict.
type PredictOption func(*predictConfig)

// WithStart starts from these PCR values instead of the reset values (for
// a PCR 8 or 9 that firmware or a boot loader extended before slkit runs:
// `slkit pcr read --json` prints them). It must hold every PCR the profile
// extends in every predicted bank.
func WithStart(p *tpm.PCRs) PredictOption { return func(c *predictConfig) { c.start = p } }

// Predict computes the PCR values and the events a launch of e with
// profile p produces in banks, without a TPM: each PCR the profile extends
// starts at its reset value (0 for PCR 0–16 and 23) or at WithStart's
// value, and is extended per event as H(old ‖ H(component bytes)).
// Each image is read once, every bank hashed in parallel.
func Predict(e *Entry, p *Profile, banks []tpm.Alg, opts ...PredictOption) (*Prediction, error) {
	cfg := predictConfig{}
	for _, o := range opts {
		o(&cfg)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if cfg.start != nil {
		for _, a := range banks {
			for _, i := range p.PCRs() {
				if _, ok := cfg.start.Get(a, i); !ok {
					return nil, fmt.Errorf("%w: no %s value for PCR %d, which profile %s extends", ErrStart, a, i, p.Name)
				}
			}
		}
	}
	log, err := tpm.NewEventLog(banks)
	if err != nil {
		return nil, err
	}
	err = walk(e, p, banks, func(s Step, ds tpm.Digests) error {
		_, err := log.Append(s.PCR, s.Type, ds, []byte(s.Description))
		return err
	})
	if err != nil {
		return nil, err
	}
	var ropts []tpm.ReplayOption
	if cfg.start != nil {
		ropts = append(ropts, tpm.WithStartValues(cfg.start))
	}
	vals, err := log.Replay(ropts...)
	if err != nil {
		return nil, err
	}
	return &Prediction{Banks: append([]tpm.Alg(nil), banks...), PCRs: vals, Events: log.Events}, nil
}

// Expected returns the prediction in the shape `slkit seal --pcr-values`
// reads.
func (p *Prediction) Expected() tpm.Expected {
	return tpm.Expected{PCRs: *p.PCRs, Events: p.Events}
}

// MarshalJSON writes the tpm.Expected shape:
// {"banks":{"sha256":{"8":"…","9":"…"}},"events":[…]}.
func (p *Prediction) MarshalJSON() ([]byte, error) { return json.Marshal(p.Expected()) }

// EventLog returns the predicted events as a fresh crypto-agile log whose
// Spec ID header lists the predicted banks (MarshalBinary gives its bytes).
func (p *Prediction) EventLog() (*tpm.EventLog, error) {
	l, err := tpm.NewEventLog(p.Banks)
	if err != nil {
		return nil, err
	}
	for _, ev := range p.Events {
		if _, err := l.Append(ev.PCR, ev.Type, ev.Digests, ev.Data); err != nil {
			return nil, err
		}
	}
	return l, nil
}
