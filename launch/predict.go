package launch

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/slkit/slkit/slaunch"
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
	// Digests are the digests of each component the walk measured, in
	// every predicted bank: the DRTM stage takes the kernel's and the
	// initrd's from here instead of hashing them again.
	Digests map[Component]tpm.Digests
	// Stage is the emulated DCE that PredictEmulatedDRTM staged (nil
	// for a prediction without DRTM).
	Stage *slaunch.EmulatedStage

	start *tpm.PCRs
}

type predictConfig struct {
	start *tpm.PCRs
	after *Prediction
}

// PredictOption configures Predict.
type PredictOption func(*predictConfig)

// WithStart starts from these PCR values instead of the reset values (for
// a PCR 8 or 9 that firmware or a boot loader extended before slkit runs:
// `slkit pcr read --json` prints them). It must hold every PCR the profile
// extends in every predicted bank.
func WithStart(p *tpm.PCRs) PredictOption { return func(c *predictConfig) { c.start = p } }

// WithAfter predicts a launch that follows prev with no PCR reset in
// between (a kexec round trip: the launched OS relaunches the pre-launch
// environment, which launches again): the events continue prev's log,
// and the PCRs continue from prev's values. prev must be in the same
// banks; WithStart is then taken from prev.
func WithAfter(prev *Prediction) PredictOption { return func(c *predictConfig) { c.after = prev } }

// Predict computes the PCR values and the events a launch of e with
// profile p produces in banks, without a TPM: each PCR the profile extends
// starts at its reset value (0 for PCR 0–16 and 23) or at WithStart's
// value, and is extended per event as H(old ‖ H(component bytes)) (TPM 2.0
// Part 1 §17.2; the profile is TCG PFP §10.4.1 for a boot loader). Each
// image is read once, every bank hashed in parallel; an image given by its
// pinned digests is not read (Image.Pinned).
func Predict(e *Entry, p *Profile, banks []tpm.Alg, opts ...PredictOption) (*Prediction, error) {
	cfg := predictConfig{}
	for _, o := range opts {
		o(&cfg)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	log, err := tpm.NewEventLog(banks)
	if err != nil {
		return nil, err
	}
	if prev := cfg.after; prev != nil {
		if !slices.Equal(prev.Banks, banks) {
			return nil, fmt.Errorf("%w: a launch after one predicted in banks %s must be predicted in the same banks, not %s",
				ErrStart, algList(prev.Banks), algList(banks))
		}
		cfg.start = prev.start
		for _, ev := range prev.Events {
			if _, err := log.Append(ev.PCR, ev.Type, ev.Digests, ev.Data); err != nil {
				return nil, err
			}
		}
	} else if cfg.start != nil {
		for _, a := range banks {
			for _, i := range p.PCRs() {
				if _, ok := cfg.start.Get(a, i); !ok {
					return nil, fmt.Errorf("%w: no %s value for PCR %d, which profile %s extends", ErrStart, a, i, p.Name)
				}
			}
		}
	}
	digests := map[Component]tpm.Digests{}
	err = walk(e, p, banks, func(s Step, ds tpm.Digests) error {
		digests[s.Component] = ds
		_, err := log.Append(s.PCR, s.Type, ds, []byte(s.Description))
		return err
	})
	if err != nil {
		return nil, err
	}
	return replayPrediction(log, banks, cfg.start, digests)
}

// PredictComponent predicts the one event of profile p that measures
// component c, with the image's bytes or its pinned digests, from a reset
// PCR: what the image contributes when a launch measures it (initramfs
// build reports it for the initrd). The result holds that event and the
// PCR's value after it.
func PredictComponent(p *Profile, c Component, im Image, banks []tpm.Alg) (*Prediction, error) {
	if c != Kernel && c != Initrd {
		return nil, fmt.Errorf("%w: %s is not an image", ErrEntry, c)
	}
	one := &Profile{Name: p.Name}
	for _, s := range p.Steps {
		if s.Component == c {
			s.Optional = false
			one.Steps = append(one.Steps, s)
		}
	}
	if len(one.Steps) == 0 {
		return nil, fmt.Errorf("%w %s: measures no %s", ErrProfile, p.Name, c)
	}
	if err := im.validate(c); err != nil {
		return nil, err
	}
	e := &Entry{}
	if c == Kernel {
		e.Kernel = im
	} else {
		e.Initrd = &im
	}
	log, err := tpm.NewEventLog(banks)
	if err != nil {
		return nil, err
	}
	digests := map[Component]tpm.Digests{}
	err = walkSteps(one, banks, e.stepDigests, func(s Step, ds tpm.Digests) error {
		digests[s.Component] = ds
		_, err := log.Append(s.PCR, s.Type, ds, []byte(s.Description))
		return err
	})
	if err != nil {
		return nil, err
	}
	return replayPrediction(log, banks, nil, digests)
}

// replayPrediction replays the predicted log from start (nil: reset values).
func replayPrediction(log *tpm.EventLog, banks []tpm.Alg, start *tpm.PCRs, digests map[Component]tpm.Digests) (*Prediction, error) {
	var ropts []tpm.ReplayOption
	if start != nil {
		ropts = append(ropts, tpm.WithStartValues(start))
	}
	vals, err := log.Replay(ropts...)
	if err != nil {
		return nil, err
	}
	return &Prediction{Banks: append([]tpm.Alg(nil), banks...), PCRs: vals, Events: log.Events, Digests: digests, start: start}, nil
}

// Expected returns the prediction in the shape `slkit seal --pcr-values`
// reads.
func (p *Prediction) Expected() tpm.Expected {
	return tpm.Expected{PCRs: *p.PCRs, Events: p.Events}
}

// MarshalJSON writes the tpm.Expected shape:
// {"banks":{"sha256":{"8":"…","9":"…"}},"events":[…]}.
func (p *Prediction) MarshalJSON() ([]byte, error) { return json.Marshal(p.Expected()) }

// Text describes the prediction for profile (its name, and for a DRTM
// prediction the backend): the banks, the events, the PCR values after.
func (p *Prediction) Text(profile string) string {
	name := profile
	if p.Stage != nil {
		name += " + DRTM emulated (PCR 17/18 events numbered in the DRTM log)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "profile %s, banks %s, %d events:\n", name, tpm.AlgList(p.Banks), len(p.Events))
	b.WriteString(tpm.EventsText(p.Events, p.Banks[len(p.Banks)-1]))
	b.WriteString("PCR values after the launch:\n")
	b.WriteString(p.PCRs.Text())
	return b.String()
}

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
