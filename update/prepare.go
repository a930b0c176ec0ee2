package update

import (
	"errors"
	"fmt"
	"slices"

	"github.com/slkit/slkit/launch"
	"github.com/slkit/slkit/tpm"
)

// Plan is what Prepare did with one sealed file.
type Plan struct {
	Via Via `json:"via"`
	// Bank is the sealed file's bank, the bank of every value below.
	Bank tpm.Alg `json:"bank"`
	// PCRs are the update object's PCRs; Dropped the firmware PCRs of the
	// main object it leaves out (covered by the window instead).
	PCRs    []int `json:"pcrs"`
	Dropped []int `json:"dropped,omitempty"`
	// Predicted are the PCRs sealed to a predicted value that differs
	// from the current one.
	Predicted []int `json:"predicted,omitempty"`
	// Added are PCRs the update object is bound to although the main
	// object is not: with a window, the PCRs the pre-launch stage measures
	// and caps (8, 9), which other boot media cannot reproduce.
	Added []int `json:"added,omitempty"`
	// Window is the update window (nil: an exact forward seal, none
	// needed). The object unseals while Window.Min ≤ counter ≤ Window.Max.
	Window *tpm.SealedCounter `json:"window,omitempty"`
	// Counter is the counter's value now (with a window).
	Counter uint64 `json:"counter,omitempty"`
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
//   - its PCRs are s's, minus the PCRs the queued changes are measured
//     into (WithChangedPCRs: journal.MeasuredPCRs) when the next launch is
//     reached through a firmware reboot (ViaReboot) and WithFirmware's
//     prediction of the next boot does not hold their value;
//   - when PCRs were left out, plus the PCRs the pre-launch stage measures
//     and caps (launch.MeasuredProfile: PCR 9 carries what the firmware
//     and the EFI stub measured of the pre-launch image, then the launch's
//     kernel and initrd; PCR 8 the launch policy and command line), and
//     bound to an update window: the counter at WithCounter, which only the
//     pre-launch stage increments, must be above its value now and at most
//     WithLaunches above it. Another OS booted during the window can
//     increment the counter if nothing was measured into its PCR 8, and can
//     extend PCR 8 with the launch's public events, but it cannot bring
//     PCR 9 to the value the pre-launch image's boot gives it;
//   - each PCR at the value the next launch produces in the file's bank:
//     the launches' (WithNext, WithNextLaunches; a prediction without that
//     bank is refused), else the firmware's (WithFirmware), else its
//     current value;
//   - with the same PIN and locality requirements as s.
//
// save receives the file with the update object (the main object is
// unchanged); nothing is saved when none is needed (Plan.Unchanged says
// why).
func Prepare(t tpm.TPMSender, s *tpm.Sealed, save func(*tpm.Sealed) error, opts ...Option) (*Plan, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	plan := &Plan{Via: cfg.via, Bank: s.Policy.Bank}
	bank := s.Policy.Bank
	for _, i := range s.Policy.PCRs {
		if _, predicted := cfg.firmwareValue(bank, i); cfg.via == ViaReboot && slices.Contains(cfg.changed, i) && !predicted {
			plan.Dropped = append(plan.Dropped, i)
		} else {
			plan.PCRs = append(plan.PCRs, i)
		}
	}
	if len(plan.Dropped) > 0 {
		for _, i := range launch.MeasuredProfile().PCRs() {
			if !slices.Contains(plan.PCRs, i) {
				plan.PCRs = append(plan.PCRs, i)
				plan.Added = append(plan.Added, i)
			}
		}
		slices.Sort(plan.PCRs)
	}
	if cfg.via == ViaKexec && cfg.next == nil && len(cfg.nextLaunches) == 0 {
		// kexec resets no PCR: the relaunch and the next launch extend the
		// measured-launch PCRs further, so their values must be predicted.
		for _, i := range launch.MeasuredProfile().PCRs() {
			if slices.Contains(plan.PCRs, i) {
				return nil, fmt.Errorf("%w: PCR %d is extended further by a kexec round trip (kexec resets no PCR): predict the relaunch and the next launch (--relaunch-policy, --next-policy, or --next-pcrs)", ErrPlan, i)
			}
		}
	}
	next, err := cfg.nextValues(t, bank)
	if err != nil {
		return nil, err
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
		if next != nil {
			if p, ok := next.Get(bank, i); ok {
				if !p.Equal(v) && !slices.Contains(plan.Predicted, i) {
					plan.Predicted = append(plan.Predicted, i)
				}
				v, evs = p, next.Events
			}
		}
		vals.Set(bank, i, v)
		events = append(events, eventsOf(evs, i)...)
	}
	if len(plan.Dropped) == 0 && len(plan.Predicted) == 0 {
		plan.Unchanged = fmt.Sprintf("the queued changes are not measured into PCRs %s and the next launch leaves them at their current values: the sealed file unseals after the update as it is", tpm.PCRList(plan.PCRs))
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
		ctr, err := tpm.OpenCounter(t, cfg.counter)
		if errors.Is(err, tpm.ErrNoAnchor) {
			return nil, fmt.Errorf("%w: %w (the pre-launch environment defines it: `slkit launch --update-counter %#08x`)", ErrPlan, err, cfg.counter)
		}
		if err != nil {
			return nil, err
		}
		now, err := ctr.Read(t)
		if err != nil {
			return nil, err
		}
		plan.Counter = now
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
