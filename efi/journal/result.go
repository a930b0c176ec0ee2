package journal

import (
	"fmt"
	"strings"

	"github.com/slkit/slkit/efi"
)

// Outcome is what a commit did with one entry.
type Outcome string

// Outcomes.
const (
	Applied       Outcome = "applied"        // written and verified by a fresh read
	Unchanged     Outcome = "unchanged"      // the variable already held the target; nothing written
	FailedNow     Outcome = "failed"         // given up in this run
	RetryLater    Outcome = "retry"          // transient failure: tried again next boot
	NotAttempted  Outcome = "not-attempted"  // runtime services stopped or an earlier entry must finish first
	DoneEarlier   Outcome = "done-earlier"   // final in an earlier commit
	FailedEarlier Outcome = "failed-earlier" // given up in an earlier commit
)

// EntryResult reports one entry.
type EntryResult struct {
	Seq       uint32  `json:"seq"`
	Op        string  `json:"op"`
	Var       string  `json:"var"`
	Outcome   Outcome `json:"outcome"`
	Errno     string  `json:"errno,omitempty"`
	Reason    string  `json:"reason,omitempty"`
	TriesLeft int     `json:"tries_left"`
	// Detail explains a failure of this run in words.
	Detail string `json:"detail,omitempty"`
	// Reboot: the change was made in this run and takes effect only
	// through a firmware reboot.
	Reboot bool `json:"reboot,omitempty"`
}

// Result is what Commit did. A missing journal is an empty Result.
type Result struct {
	Journal    bool          `json:"journal"`
	Generation uint64        `json:"generation,omitempty"`
	Entries    []EntryResult `json:"entries"`
	// RebootRequired: a change made in this run (BootNext, OsIndications
	// bits, or an entry queued with Reboot) takes effect only through a
	// firmware reboot; `slkit launch` reboots instead of launching.
	RebootRequired bool `json:"reboot_required"`
	// RuntimeStopped: the firmware returned EFI_ABORTED (EINTR); slkit
	// made no further runtime service calls in this boot.
	RuntimeStopped bool `json:"runtime_stopped,omitempty"`
	// RetryAfterReboot: the variable store was full (ENOSPC); the
	// firmware reclaims space at the next boot, when the rest is retried.
	// Rebooting on it cannot loop: every attempt cost the entry a try.
	RetryAfterReboot bool `json:"retry_after_reboot,omitempty"`
	// AlreadyApplied: the anchor says this generation was applied; the
	// journal was not looked at further (Entries is empty).
	AlreadyApplied bool `json:"already_applied,omitempty"`
	// AnchorErr is why the anchor could not be advanced although every
	// entry is final (the next commit advances it); nil otherwise.
	AnchorErr error `json:"-"`
}

// Complete reports whether every entry is done (now or earlier).
func (r *Result) Complete() bool {
	for _, e := range r.Entries {
		switch e.Outcome {
		case Applied, Unchanged, DoneEarlier:
		default:
			return false
		}
	}
	return true
}

// Final reports whether every entry is final: done (now or earlier) or
// given up; none waits for a later boot.
func (r *Result) Final() bool {
	for _, e := range r.Entries {
		switch e.Outcome {
		case RetryLater, NotAttempted:
			return false
		}
	}
	return true
}

// Err is nil when every entry is done, else an error wrapping
// ErrIncomplete that names the first entry that is not.
func (r *Result) Err() error {
	for _, e := range r.Entries {
		switch e.Outcome {
		case Applied, Unchanged, DoneEarlier:
			continue
		}
		msg := fmt.Sprintf("entry %d (%s %s) %s", e.Seq, e.Op, e.Var, e.Outcome)
		if d := e.detail(); d != "" {
			msg += ": " + d
		}
		return fmt.Errorf("%w: %s", ErrIncomplete, msg)
	}
	return nil
}

func (e *EntryResult) detail() string {
	d := e.Detail
	if e.Reason != "" {
		d = strings.TrimSuffix(e.Reason+": "+d, ": ")
	}
	if e.Errno != "" && !strings.Contains(d, e.Errno) {
		d = strings.TrimPrefix(d+", "+e.Errno, ", ")
	}
	return d
}

// String is a one-line summary of an entry.
func (e *EntryResult) String() string {
	s := fmt.Sprintf("%3d %-13s %-14s %s", e.Seq, e.Op, e.Outcome, e.Var)
	if d := e.detail(); d != "" {
		s += " (" + d + ")"
	}
	if e.Reboot {
		s += " [needs reboot]"
	}
	return s
}

func newEntryResult(e *Entry) EntryResult {
	return EntryResult{Seq: e.Seq, Op: e.Op.String(), Var: e.Var.String()}
}

// describe fills the outcome-independent fields from the entry's state.
func (r *EntryResult) describe(s *EntryState) {
	r.TriesLeft = int(s.TriesLeft)
	r.Errno = efi.ErrnoName(s.Errno)
	r.Reason = ""
	if s.Reason != ReasonNone && s.Reason != ReasonErrno {
		r.Reason = s.Reason.String()
	}
}
