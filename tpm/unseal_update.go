package tpm

import (
	"errors"
	"fmt"
	"strings"

	"github.com/google/go-tpm/tpm2"
)

// UnsealInfo reports how Unseal released a secret.
type UnsealInfo struct {
	// Update is true when the main object was refused and the file's
	// update object (`slkit update prepare`) released the secret.
	Update bool
	// Refusal is why the main object was refused, when Update is true.
	Refusal error
	// Counter is the update object's window bound, when it has one.
	Counter *SealedCounter
}

// unsealUpdate tries the update object after the main object was refused
// with mainErr.
func unsealUpdate(t TPMSender, s *Sealed, mainErr error, cfg *unsealConfig) ([]byte, error) {
	out, err := unsealObject(t, s.Update, cfg)
	if err == nil {
		if cfg.info != nil {
			*cfg.info = UnsealInfo{Update: true, Refusal: mainErr, Counter: s.Update.Policy.Counter}
		}
		return out, nil
	}
	if errors.Is(err, ErrUnsealRefused) {
		return nil, &bothRefused{main: mainErr, update: err}
	}
	return nil, fmt.Errorf("main object refused (%v); update object: %w", mainErr, err)
}

// bothRefused is the refusal of a file whose main and update objects were
// both refused.
type bothRefused struct{ main, update error }

func (b *bothRefused) Error() string {
	return b.main.Error() + "; update object: " + strings.TrimPrefix(b.update.Error(), "unseal refused: ")
}

func (b *bothRefused) Unwrap() []error { return []error{b.main, b.update} }

// refusedPolicy reports whether a policy command failed because the
// session's condition does not hold (rather than the TPM failing):
// PolicyNV answers TPM_RC_POLICY when the comparison is false, and
// TPM_RC_HANDLE or TPM_RC_NV_UNINITIALIZED when the counter is gone.
func refusedPolicy(err error) bool {
	return errors.Is(err, tpm2.TPMRCPolicy) || errors.Is(err, tpm2.TPMRCHandle) ||
		errors.Is(err, tpm2.TPMRCNVUninitialized) || errors.Is(err, tpm2.TPMRCPolicyFail) ||
		errors.Is(err, tpm2.TPMRCLocality)
}

// WindowRefusal explains an update window that is not open.
type WindowRefusal struct {
	Index    uint32
	Min, Max uint64
	// Value is the counter's value now (when readable).
	Value uint64
	// Problem is set when the counter could not be read (missing, not
	// slkit's counter); Value is then meaningless.
	Problem string
}

func (w *WindowRefusal) String() string {
	switch {
	case w.Problem != "":
		return fmt.Sprintf("update window closed: counter %#08x: %s", w.Index, w.Problem)
	case w.Value < w.Min:
		return fmt.Sprintf("update window not open: counter %#08x is %d, the window opens at %d (the next launch increments it: is the pre-launch environment's `slkit launch` given --update-counter?)", w.Index, w.Value, w.Min)
	}
	return fmt.Sprintf("update window closed: counter %#08x is %d, the window allowed launches %d to %d", w.Index, w.Value, w.Min, w.Max)
}

// explainWindow reads the update-window counter of a refused object and
// returns what is wrong with it, or nil when the window is open.
func explainWindow(t TPMSender, c *SealedCounter) *WindowRefusal {
	if c == nil {
		return nil
	}
	w := &WindowRefusal{Index: c.Index, Min: c.Min, Max: c.Max}
	ctr, err := OpenCounter(t, c.Index)
	if err == nil {
		w.Value, err = ctr.Read(t)
	}
	if err != nil {
		w.Problem = strings.TrimPrefix(err.Error(), ErrCounter.Error()+": ")
		return w
	}
	if w.Value >= w.Min && w.Value <= w.Max {
		return nil
	}
	return w
}
