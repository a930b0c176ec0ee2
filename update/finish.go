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
	// it had none): close it with CloseWindows once every file is saved.
	Window *tpm.SealedCounter `json:"window,omitempty"`
}

// Finish completes an update after the post-update launch: it unseals s,
// seals the secret again to the current values of all of s's PCRs (same
// PIN and locality requirements), and saves that as the file's only
// object. The update window stays open until CloseWindows: call it after
// every file prepared for the update is saved, so that a crash before
// then never leaves a secret that unseals nowhere.
//
// When s has an update object, Finish first checks that the update has
// happened: the update object must unseal now. Otherwise it returns
// ErrNotUpdated (resealing now would seal to the pre-update values, and
// closing the window would then lose the secret at the next boot), unless
// WithForce abandons the prepared update.
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

// CloseWindows closes update windows for good: for each counter named,
// it increments the counter until it is past the largest Max, so that no
// copy of an update object (the sealed file is on an unencrypted disk)
// can ever be released again. It returns the counters' values after.
func CloseWindows(t tpm.TPMSender, windows ...*tpm.SealedCounter) (map[uint32]uint64, error) {
	max := map[uint32]uint64{}
	for _, w := range windows {
		if w != nil && w.Max >= max[w.Index] {
			max[w.Index] = w.Max
		}
	}
	out := map[uint32]uint64{}
	for idx, m := range max {
		c, err := tpm.OpenCounter(t, idx)
		if err != nil {
			return out, err
		}
		v, err := c.Read(t)
		if err != nil {
			return out, err
		}
		for n := 0; v <= m; n++ {
			if n > MaxLaunches+1 {
				return out, fmt.Errorf("%w: counter %#08x at %d is too far below the window's end %d", tpm.ErrCounter, idx, v, m)
			}
			if err := c.Increment(t); err != nil {
				return out, err
			}
			v++
		}
		out[idx] = v
	}
	return out, nil
}
