package update

import (
	"fmt"

	"github.com/slkit/slkit/tpm"
)

// Finished is what Finish did with one sealed file.
type Finished struct {
	// ByUpdate: the secret was released by the update object (the main
	// object was refused: the update changed its PCRs).
	ByUpdate bool `json:"by_update"`
	// Refusal is why the main object was refused, when ByUpdate;
	// MainRefusal is its text.
	Refusal     error  `json:"-"`
	MainRefusal string `json:"main_refusal,omitempty"`
	// PCRs were resealed to their current values.
	PCRs []int `json:"pcrs"`
	// Window is the update window of the dropped update object (nil if
	// it had none). It closes at the next launch, when the pre-launch
	// stage increments the counter past it (nothing after the pre-launch
	// stage can increment it); a copy of the prepared file can until then
	// only be used in a boot whose PCR 9 is the post-update launch's.
	Window *tpm.SealedCounter `json:"window,omitempty"`
}

// Finish completes an update after the post-update launch: it unseals s,
// seals the secret again to the current values of all of s's PCRs (same
// PIN and locality requirements), and saves that as the file's only
// object. The update window closes at the next launch (Finished.Window).
//
// When s has an update object, Finish first checks that the update has
// happened: the update object must unseal now. Otherwise it returns
// ErrNotUpdated (resealing now would seal to the pre-update values, which
// the next boot no longer has), unless WithForce abandons the prepared
// update.
func Finish(t tpm.TPMSender, s *tpm.Sealed, save func(*tpm.Sealed) error, opts ...Option) (*Finished, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	f := &Finished{PCRs: s.Policy.PCRs}
	if s.Update != nil {
		f.Window = s.Update.Policy.Counter
		probe, err := tpm.Unseal(t, s.Update, tpm.WithUnsealPIN(cfg.pin))
		clear(probe)
		if err != nil && !cfg.force {
			return nil, fmt.Errorf("%w: the update object does not unseal (has the post-update launch happened? --force abandons the update): %w", ErrNotUpdated, err)
		}
	}
	var info tpm.UnsealInfo
	secret, err := tpm.Unseal(t, s, tpm.WithUnsealPIN(cfg.pin), tpm.WithEventLogs(cfg.logs...), tpm.WithUnsealInfo(&info))
	if err != nil {
		return nil, err
	}
	f.ByUpdate, f.Refusal = info.Update, info.Refusal
	if f.Refusal != nil {
		f.MainRefusal = oneLine(f.Refusal.Error())
	}
	defer clear(secret)

	pol, err := tpm.CurrentPolicy(t, s.Policy.Bank, s.Policy.PCRs)
	if err != nil {
		return nil, err
	}
	pol.PIN, pol.Locality = s.Policy.PIN, s.Policy.Locality
	var events []tpm.Event
	for _, l := range cfg.logs {
		events = append(events, l.Events...)
	}
	sopts := []tpm.SealOption{tpm.WithExpectedEvents(events)}
	if s.Policy.PIN {
		sopts = append(sopts, tpm.WithPIN(cfg.pin))
	}
	m, err := tpm.Seal(t, secret, pol, sopts...)
	if err != nil {
		return nil, err
	}
	if err := sameSRK(s, m); err != nil {
		return nil, err
	}
	if err := save(m); err != nil {
		return nil, err
	}
	return f, nil
}
