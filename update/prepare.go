package update

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/slkit/slkit/launch"
	"github.com/slkit/slkit/tpm"
)

// Plan is what Prepare did with one sealed file.
type Plan struct {
	Via Via `json:"via"`
	// PCRs are the update object's PCRs; Dropped the firmware PCRs of the
	// main object it leaves out (covered by the window instead).
	PCRs    []int `json:"pcrs"`
	Dropped []int `json:"dropped,omitempty"`
	// Predicted are the PCRs sealed to a predicted value that differs
	// from the current one.
	Predicted []int `json:"predicted,omitempty"`
	// Window is the update window (nil: an exact forward seal, none
	// needed). The object unseals while Window.Min ≤ counter ≤ Window.Max.
	Window *tpm.SealedCounter `json:"window,omitempty"`
	// Counter is the counter's value now (with a window).
	Counter uint64 `json:"counter,omitempty"`
	// DefinedCounter: Prepare defined the counter.
	DefinedCounter bool `json:"defined_counter,omitempty"`
	// Unchanged is set, saying why, when no update object is needed (the
	// file was not saved).
	Unchanged string `json:"unchanged,omitempty"`
}

// Prepare readies the sealed secret s for the next launch. It unseals s
// in the current state (the main object, or the update object of an
// earlier Prepare), then seals the same secret a second time, into an
// update object that the main object is refused in favour of after the
// update:
//
//   - its PCRs are s's, minus PCRs 0–7 when the next launch is reached
//     through a firmware reboot (ViaReboot): the firmware measures those
//     anew; WithFirmware's prediction keeps those it predicts;
//   - each at the value the next launch produces (WithNext), or its
//     current value;
//   - with the same PIN and locality requirements as s;
//   - when PCRs were left out, bound to an update window: the counter at
//     WithCounter (defined here when missing) must be above its value now
//     (the next launch increments it before it measures) and at most
//     WithLaunches above it.
//
// save receives the file with the update object (the main object is
// unchanged); nothing is saved when none is needed (Plan.Unchanged says
// why). A secret sealed only to firmware PCRs is refused (ErrPlan): its
// update object would be bound to nothing but the counter.
func Prepare(t tpm.TPMSender, s *tpm.Sealed, save func(*tpm.Sealed) error, opts ...Option) (*Plan, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	plan := &Plan{Via: cfg.via}
	bank := s.Policy.Bank
	for _, i := range s.Policy.PCRs {
		if _, ok := cfg.firmwareValue(bank, i); cfg.via == ViaReboot && IsSRTM(i) && !ok {
			plan.Dropped = append(plan.Dropped, i)
		} else {
			plan.PCRs = append(plan.PCRs, i)
		}
	}
	if len(plan.PCRs) == 0 {
		return nil, fmt.Errorf("%w: every sealed PCR (%s) is measured by the firmware: an update object would be bound to nothing but the window counter; seal the secret to PCR 8/9 or 17/18 too", ErrPlan, pcrString(s.Policy.PCRs))
	}
	if cfg.via == ViaKexec && cfg.next == nil {
		// kexec resets no PCR: the relaunch and the next launch extend the
		// measured-launch PCRs further, so their values must be predicted.
		for _, i := range launch.MeasuredProfile().PCRs() {
			if slices.Contains(plan.PCRs, i) {
				return nil, fmt.Errorf("%w: PCR %d is extended further by a kexec round trip (kexec resets no PCR): predict the relaunch and the next launch (--relaunch-policy, --next-policy, or --next-pcrs)", ErrPlan, i)
			}
		}
	}
	cur, err := tpm.ReadPCRs(t, tpm.Selection{bank: plan.PCRs})
	if err != nil {
		return nil, err
	}
	vals, events := tpm.NewPCRs(), []tpm.Event{}
	for _, i := range plan.PCRs {
		v, _ := cur.Get(bank, i)
		evs := s.Expected.Events
		if p, ok := cfg.firmwareValue(bank, i); ok {
			if !p.Equal(v) {
				plan.Predicted = append(plan.Predicted, i)
			}
			v, evs = p, cfg.firmware.Events
		}
		if cfg.next != nil {
			if p, ok := cfg.next.Get(bank, i); ok {
				if !p.Equal(v) && !slices.Contains(plan.Predicted, i) {
					plan.Predicted = append(plan.Predicted, i)
				}
				v, evs = p, cfg.next.Events
			}
		}
		vals.Set(bank, i, v)
		events = append(events, eventsOf(evs, i)...)
	}
	if len(plan.Dropped) == 0 && len(plan.Predicted) == 0 {
		plan.Unchanged = fmt.Sprintf("PCRs %s are not measured by the firmware and the next launch leaves them at their current values: the sealed file unseals after the update as it is", pcrString(plan.PCRs))
		return plan, nil
	}

	secret, err := tpm.Unseal(t, s, tpm.WithUnsealPIN(cfg.pin))
	if err != nil {
		return nil, fmt.Errorf("the sealed secret does not unseal in the current state, so it cannot be prepared for the update: %w", err)
	}
	defer clear(secret)

	pol, err := tpm.PolicyFor(bank, plan.PCRs, vals)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPlan, err)
	}
	pol.PIN, pol.Locality = s.Policy.PIN, s.Policy.Locality
	if len(plan.Dropped) > 0 {
		ctr, defined, err := openOrDefine(t, cfg.counter)
		if err != nil {
			return nil, err
		}
		now, err := ctr.Read(t)
		if err != nil {
			return nil, err
		}
		plan.Counter, plan.DefinedCounter = now, defined
		pol.Counter = &tpm.CounterBound{Counter: *ctr, Min: now + 1, Max: now + cfg.launches}
	}
	sopts := []tpm.SealOption{tpm.WithExpectedEvents(events)}
	if s.Policy.PIN {
		sopts = append(sopts, tpm.WithPIN(cfg.pin))
	}
	u, err := tpm.Seal(t, secret, pol, sopts...)
	if err != nil {
		return nil, err
	}
	if err := sameSRK(s, u); err != nil {
		return nil, err
	}
	plan.Window = u.Policy.Counter
	out := *s
	out.Update = u
	if err := save(&out); err != nil {
		return nil, err
	}
	return plan, nil
}

// pcrString lists PCRs as 0,7.
func pcrString(pcrs []int) string {
	s := make([]string, len(pcrs))
	for i, p := range pcrs {
		s[i] = strconv.Itoa(p)
	}
	return strings.Join(s, ",")
}

// openOrDefine opens slkit's counter at index, defining it when missing.
func openOrDefine(t tpm.TPMSender, index uint32) (*tpm.Counter, bool, error) {
	c, err := tpm.OpenCounter(t, index)
	if errors.Is(err, tpm.ErrNoCounter) {
		c, err = tpm.DefineCounter(t, index)
		return c, err == nil, err
	}
	return c, false, err
}

// eventsOf returns the events of pcr.
func eventsOf(evs []tpm.Event, pcr int) []tpm.Event {
	var out []tpm.Event
	for _, e := range evs {
		if e.PCR == pcr {
			out = append(out, e)
		}
	}
	return out
}

// sameSRK makes a new object's SRK record the file's: Seal picks the
// persistent SRK when one is provisioned, which is the same key as the
// transient one made from the template (same Name), only recorded
// differently.
func sameSRK(s, u *tpm.Sealed) error {
	if !u.SRK.Name.Equal(s.SRK.Name) {
		return fmt.Errorf("%w: this TPM's SRK is not the one the file was sealed under", tpm.ErrUnsealRefused)
	}
	u.SRK = s.SRK
	u.SRK.Public = slices.Clone(s.SRK.Public)
	return nil
}
