package update

import (
	"fmt"
	"slices"
	"strings"

	"github.com/slkit/slkit/tpm"
)

// Status is which object of a sealed file unseals now, and the state of
// its update window (`slkit update status`).
type Status struct {
	// Unseals is "main", "update" or "" (refused).
	Unseals string `json:"unseals"`
	// Refusal is why the file was refused, or, when the update object
	// released the secret, why the main object was.
	Refusal string `json:"refusal,omitempty"`
	// Window is the update object's window (nil without one), Counter
	// the counter's value now, CounterError why it could not be read.
	Window       *tpm.SealedCounter `json:"window,omitempty"`
	Counter      *uint64            `json:"counter,omitempty"`
	CounterError string             `json:"counter_error,omitempty"`
	// WindowPCRs are the main object's PCRs the update object leaves to
	// the window (the firmware PCRs the update could not predict).
	WindowPCRs []int `json:"window_pcrs,omitempty"`
}

// FileStatus looks at one sealed file: it unseals s as `slkit unseal`
// does (main object first, then the update object; the secret is cleared
// at once and never returned) and reads its update window's counter. The
// report is complete either way; the error is the refusal, else the
// failure to read the counter.
func FileStatus(t tpm.TPMSender, s *tpm.Sealed, opts ...Option) (*Status, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	var info tpm.UnsealInfo
	secret, uerr := tpm.Unseal(t, s, tpm.WithUnsealPIN(cfg.pin), tpm.WithEventLogs(cfg.logs...), tpm.WithLogUnavailable(cfg.logProblem), tpm.WithUnsealInfo(&info))
	clear(secret)
	st := &Status{}
	switch {
	case uerr != nil:
		st.Refusal = oneLine(uerr.Error())
	case info.Update:
		st.Unseals, st.Refusal = "update", oneLine(info.Refusal.Error())
	default:
		st.Unseals = "main"
	}
	var cerr error
	if s.Update != nil && s.Update.Policy.Counter != nil {
		st.Window = s.Update.Policy.Counter
		for _, i := range s.Policy.PCRs {
			if !slices.Contains(s.Update.Policy.PCRs, i) {
				st.WindowPCRs = append(st.WindowPCRs, i)
			}
		}
		var v uint64
		ctr, err := tpm.OpenCounter(t, st.Window.Index)
		if err == nil {
			v, err = ctr.Read(t)
		}
		if err != nil {
			cerr, st.CounterError = err, oneLine(err.Error())
		} else {
			st.Counter = &v
		}
	}
	if uerr != nil {
		return st, uerr
	}
	return st, cerr
}

// String is the report as one line of text.
func (st *Status) String() string {
	why := strings.TrimPrefix(st.Refusal, "unseal refused: ")
	var b strings.Builder
	switch st.Unseals {
	case "main":
		b.WriteString("the main object unseals")
	case "update":
		fmt.Fprintf(&b, "the update object unseals (the main object is refused: %s)", why)
	default:
		fmt.Fprintf(&b, "refused: %s", why)
	}
	if w := st.Window; w != nil {
		fmt.Fprintf(&b, "; update window: counter %#08x in %d..%d", w.Index, w.Min, w.Max)
		switch {
		case st.Counter != nil:
			fmt.Fprintf(&b, ", now %d", *st.Counter)
		case st.CounterError != "":
			fmt.Fprintf(&b, ", counter unreadable: %s", st.CounterError)
		}
		if len(st.WindowPCRs) > 0 {
			fmt.Fprintf(&b, " (for firmware PCRs %s)", tpm.PCRList(st.WindowPCRs))
		}
	}
	return b.String()
}
