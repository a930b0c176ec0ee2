package tpm

import (
	"fmt"
	"strings"
)

// UnsealRefusal explains why the TPM refused to unseal: which sealed PCRs
// differ now, and for each, the first event that differs from the sealed
// expectation when an event log is available. It wraps ErrUnsealRefused and,
// when PCRs differ, ErrPCRMismatch.
type UnsealRefusal struct {
	PCRs []PCRRefusal
	// TPMError is the TPM's response code text (policy or locality failure).
	TPMError string
	// Window is set when the object is bound to an update window that
	// is closed (or whose counter is gone).
	Window *WindowRefusal
}

// PCRRefusal is one sealed PCR whose current value differs.
type PCRRefusal struct {
	PCR          int
	Bank         Alg
	Sealed, Now  Digest
	Event        *EventDiff
	LogAvailable bool
	// LogProblem says why the event log given could not be used (it did
	// not parse), when that is why no event is named.
	LogProblem string
	// NoSealedEvents: no events of this PCR were recorded when it was
	// sealed, so none can be named.
	NoSealedEvents bool
}

// EventDiff is the first event of a PCR that differs from the expectation.
type EventDiff struct {
	// Index is the event's index in the current log (or in the sealed
	// expectation when the event is missing from the current log).
	Index       int
	Description string
	// Kind is "differs", "missing" (expected, not in the log) or "extra"
	// (in the log, not expected).
	Kind        string
	Sealed, Now Digest
}

func (r *UnsealRefusal) Error() string {
	if len(r.PCRs) == 0 && r.Window == nil {
		return fmt.Sprintf("unseal refused: the sealed PCRs match but the TPM refused the policy (%s): wrong locality, or the PCRs changed during the unseal", r.TPMError)
	}
	parts := make([]string, 0, len(r.PCRs)+1)
	for _, p := range r.PCRs {
		parts = append(parts, p.String())
	}
	if r.Window != nil {
		parts = append(parts, r.Window.String())
	}
	return "unseal refused: " + strings.Join(parts, "; ")
}

func (p PCRRefusal) String() string {
	if e := p.Event; e != nil {
		switch e.Kind {
		case "missing":
			return fmt.Sprintf("PCR %d: event %d %q expected but not in the current log (sealed %s)", p.PCR, e.Index, e.Description, e.Sealed.Short())
		case "extra":
			return fmt.Sprintf("PCR %d: extra event %d %q in the current log (%s %s)", p.PCR, e.Index, e.Description, p.Bank, e.Now.Short())
		default:
			return fmt.Sprintf("PCR %d: event %d %q %s differs (sealed %s, now %s)", p.PCR, e.Index, e.Description, p.Bank, e.Sealed.Short(), e.Now.Short())
		}
	}
	var why string
	switch {
	case p.LogProblem != "":
		why = " (the event log is unusable, " + p.LogProblem + ": the explanation is unavailable)"
	case !p.LogAvailable:
		why = " (no event log to name the event)"
	case p.NoSealedEvents:
		why = " (no events of it were recorded when it was sealed, so none can be named)"
	default:
		why = " (the event log matches the sealed events: PCR extended outside the log?)"
	}
	return fmt.Sprintf("PCR %d: %s differs (sealed %s, now %s)%s", p.PCR, p.Bank, p.Sealed.Short(), p.Now.Short(), why)
}

// Unwrap lets errors.Is find ErrUnsealRefused and ErrPCRMismatch.
func (r *UnsealRefusal) Unwrap() []error {
	if len(r.PCRs) > 0 {
		return []error{ErrUnsealRefused, ErrPCRMismatch}
	}
	return []error{ErrUnsealRefused}
}

// explainRefusal reads the sealed PCRs and compares them, and the events of
// the given logs, with the sealed expectation.
func explainRefusal(t TPMSender, s *Sealed, cfg *unsealConfig, tpmErr error) error {
	r := &UnsealRefusal{TPMError: tpmErr.Error(), Window: explainWindow(t, s.Policy.Counter)}
	now, err := ReadPCRs(t, Selection{s.Policy.Bank: s.Policy.PCRs})
	if err != nil {
		return fmt.Errorf("%w (%v); reading the PCRs to explain it failed: %w", ErrUnsealRefused, tpmErr, err)
	}
	for _, i := range s.Policy.PCRs {
		want, _ := s.Expected.Get(s.Policy.Bank, i)
		got, _ := now.Get(s.Policy.Bank, i)
		if want.Equal(got) {
			continue
		}
		p := PCRRefusal{PCR: i, Bank: s.Policy.Bank, Sealed: want, Now: got, LogAvailable: len(cfg.logs) > 0,
			LogProblem: cfg.logProblem, NoSealedEvents: !hasEventsFor(s.Expected.Events, i)}
		if p.LogAvailable {
			p.Event = firstEventDiff(s.Policy.Bank, i, s.Expected.Events, cfg.logs)
		}
		r.PCRs = append(r.PCRs, p)
	}
	return r
}

// firstEventDiff walks the PCR's expected events and the current logs'
// events for the same PCR side by side and returns the first difference.
func firstEventDiff(bank Alg, pcr int, expected []Event, logs []*EventLog) *EventDiff {
	var want, have []Event
	for _, e := range expected {
		if e.PCR == pcr && e.Type != EvNoAction {
			want = append(want, e)
		}
	}
	for _, l := range logs {
		have = append(have, l.EventsFor(pcr)...)
	}
	if len(want) == 0 {
		return nil
	}
	for k := 0; k < len(want) || k < len(have); k++ {
		switch {
		case k >= len(have):
			w := want[k]
			return &EventDiff{Index: w.Index, Description: eventName(&w), Kind: "missing", Sealed: w.Digests[bank]}
		case k >= len(want):
			h := have[k]
			return &EventDiff{Index: h.Index, Description: eventName(&h), Kind: "extra", Now: h.Digests[bank]}
		}
		w, h := want[k], have[k]
		if !w.Digests[bank].Equal(h.Digests[bank]) {
			desc := eventName(&h)
			if desc == "" {
				desc = eventName(&w)
			}
			return &EventDiff{Index: h.Index, Description: desc, Kind: "differs", Sealed: w.Digests[bank], Now: h.Digests[bank]}
		}
	}
	return nil
}

// hasEventsFor reports whether evs hold an extending event of pcr.
func hasEventsFor(evs []Event, pcr int) bool {
	for _, e := range evs {
		if e.PCR == pcr && e.Type != EvNoAction {
			return true
		}
	}
	return false
}

// eventName is what a refusal calls an event: its text, or the name of
// the UEFI variable it measured (firmware events carry no text).
func eventName(e *Event) string {
	if d := e.Description(); d != "" {
		return d
	}
	return e.UEFIVariableName()
}
