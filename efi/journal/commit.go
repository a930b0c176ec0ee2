package journal

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/internal/fsys"
)

// Commit applies the journal at journalPath to vars. It is what the
// pre-launch environment runs before it stages the dynamic launch
// (`slkit efi commit`, `slkit launch`); the journal must be signed by pub.
//
// The journal and state paths must be regular files (or missing) of at
// most MaxBytes and the state file's size: anything else on the disk is
// refused (ErrFiles) before it is read, so a FIFO or a huge file cannot
// block or exhaust the pre-launch environment. A missing journal is
// nothing to do (an empty Result), unless the state file shows a
// generation the anchor does not cover with entries not final: then its
// journal disappeared, and Commit says so (ErrMissing).
//
// A journal that is malformed (truncated, a bad checksum, a sequence gap),
// signed by another key or with a bad signature, a replay (older than the
// anchor's generation, WithAnchor; without an anchor, older than the
// state file's, or a different journal reusing it), or that names a
// variable outside the allow-list ([WithAllowed]) commits NOTHING: Commit
// returns an error wrapping ErrMalformed, ErrWrongKey, ErrSignature,
// ErrReplay or ErrNotAllowed whose message says why in one line.
//
// Otherwise entries are applied in order (BootNext and OsIndications are
// always last in a journal). For each entry Commit reads the variable
// afresh and decides: already at the target (done, nothing written),
// precondition failed (conflict, nothing written), or write. The state
// file never makes an entry done: only a read showing the target does.
// (The one exception are a BootNext set and OsIndications bits, which the
// firmware consumes at the next boot: after it, a read shows them gone,
// and the state's "done" is taken when it does. With an anchor the
// generation is closed in the run that wrote them.) Before every write the
// entry's tries-left counter (capped at WithTries) is decremented and the
// state file replaced atomically, so a write that hangs or resets the
// machine is not retried forever. After a write the variable is read back
// afresh and compared. An entry whose name efivarfs cannot create (an
// older journal) fails alone. Errors follow the policy in README.md.
//
// The Result reports every entry and whether a firmware reboot is needed
// for the changes to take effect (RebootRequired). An error is returned
// only for a refused journal or when the state file cannot be written;
// entries that failed are in the Result (see Result.Err). With an anchor,
// the anchor is advanced to the journal's generation once every entry is
// final; if that fails (Result.AnchorErr), the next commit does it.
func Commit(ctx context.Context, vars *efi.Vars, journalPath, statePath string, pub ed25519.PublicKey, opts ...Option) (*Result, error) {
	o := newOptions(opts)
	advance := o.anchor
	applied, err := o.applied()
	if err != nil {
		return nil, err
	}
	b, ok, err := readFile(o.fs, journalPath, MaxBytes)
	if err != nil {
		return nil, err
	}
	if !ok {
		return missing(&o, applied, journalPath, statePath)
	}
	j, err := Verify(b, pub)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", journalPath, err)
	}
	for _, e := range j.Entries {
		if !o.allowedVar(e.Var) {
			return nil, fmt.Errorf("%s: %w: entry %d (%s %s) is not on the commit allow-list", journalPath, ErrNotAllowed, e.Seq, e.Op, e.Var)
		}
	}
	if o.anchor != nil {
		switch {
		case j.Generation < applied:
			return nil, fmt.Errorf("%s: %w: generation %d is older than generation %d, which the TPM anchor says was applied", journalPath, ErrReplay, j.Generation, applied)
		case j.Generation == applied:
			return &Result{Journal: true, Generation: j.Generation, AlreadyApplied: true, Entries: []EntryResult{}}, nil
		case j.Generation-applied > MaxEntries:
			return nil, fmt.Errorf("%s: %w: generation %d is %d ahead of generation %d, the last applied (at most %d: one per queued entry)", journalPath, ErrReplay, j.Generation, j.Generation-applied, applied, MaxEntries)
		}
	}
	st, err := loadState(o.fs, statePath, o.tries)
	if o.anchor != nil && errors.Is(err, ErrBadState) {
		// The anchor decides replays; a state that does not parse only
		// loses the tries counted so far.
		st, err = &State{}, nil
	}
	if err != nil {
		return nil, err
	}
	same := j.Generation == st.Generation && st.Journal == j.Digest && len(st.Entries) == len(j.Entries)
	switch {
	case j.Generation < o.minGen:
		return nil, fmt.Errorf("%s: %w: generation %d is older than the minimum %d", journalPath, ErrReplay, j.Generation, o.minGen)
	case o.anchor == nil && j.Generation < st.Generation:
		return nil, fmt.Errorf("%s: %w: generation %d is older than the committed generation %d", journalPath, ErrReplay, j.Generation, st.Generation)
	case o.anchor == nil && j.Generation == st.Generation && st.Journal != j.Digest:
		return nil, fmt.Errorf("%s: %w: a different journal of generation %d was already committed", journalPath, ErrReplay, j.Generation)
	case o.anchor == nil && j.Generation == st.Generation && !same:
		return nil, fmt.Errorf("%s: %w: %d entries for a journal of %d", statePath, ErrBadState, len(st.Entries), len(j.Entries))
	case !same:
		st = newState(j, o.tries)
	}
	c := &committer{vars: vars, fs: o.fs, statePath: statePath, j: j, st: st,
		res: &Result{Journal: true, Generation: j.Generation, Entries: make([]EntryResult, len(j.Entries))}}
	res, err := c.run(ctx)
	if err == nil && advance != nil && c.st.complete() {
		res.AnchorErr = advance.Advance(j.Generation)
	}
	return res, err
}

// Missing is what Commit does when there is no journal at journalPath,
// without touching EFI variables: nil, or ErrMissing when the state file
// names a generation the anchor does not cover with entries not final.
func Missing(journalPath, statePath string, opts ...Option) error {
	o := newOptions(opts)
	applied, err := o.applied()
	if err != nil {
		return err
	}
	_, err = missing(&o, applied, journalPath, statePath)
	return err
}

// applied reads the anchor's generation (0 without an anchor).
func (o *options) applied() (uint64, error) {
	if o.anchor == nil {
		return 0, nil
	}
	a, err := o.anchor.Generation()
	if err != nil {
		return 0, fmt.Errorf("read the journal's anchor: %w", err)
	}
	return a, nil
}

// missing handles a journal that is not there: nothing to do, unless the
// state file names a generation above the anchor (and the minimum) with
// entries not final.
func missing(o *options, applied uint64, journalPath, statePath string) (*Result, error) {
	st, err := loadState(o.fs, statePath, o.tries)
	if err != nil {
		return nil, err
	}
	if st.Generation > applied && st.Generation >= o.minGen && !st.complete() {
		return nil, fmt.Errorf("%s: %w: generation %d is not applied (%d of %d entries final, says %s), and its journal is gone",
			journalPath, ErrMissing, st.Generation, st.appliedThrough(), len(st.Entries), statePath)
	}
	return &Result{Entries: []EntryResult{}}, nil
}

type committer struct {
	vars      *efi.Vars
	fs        fsys.FS
	statePath string
	j         *Journal
	st        *State
	res       *Result
	dirty     bool
	stopped   bool
}

func (c *committer) run(ctx context.Context) (*Result, error) {
	work := false
	for i := range c.j.Entries {
		c.res.Entries[i] = newEntryResult(&c.j.Entries[i])
		if !c.st.Entries[i].Status.Final() {
			work = true
		}
	}
	if work {
		c.st.Runs++
		c.dirty = true
	}
	for i := range c.j.Entries {
		if ctx.Err() != nil {
			c.stopped = true
		}
		if err := c.entry(i); err != nil {
			return c.res, err
		}
	}
	if c.dirty {
		if err := c.save(); err != nil {
			return c.res, err
		}
	}
	return c.res, ctx.Err()
}

// save replaces the state file atomically.
func (c *committer) save() error {
	c.st.AppliedThrough = c.st.appliedThrough()
	if err := fsys.WriteFile(c.fs, c.statePath, c.st.Marshal(), 0o600); err != nil {
		return fmt.Errorf("cannot record commit progress (no further variable written): %w", err)
	}
	c.dirty = false
	return nil
}

// failedBefore reports whether an entry before i has failed.
func (c *committer) failedBefore(i int) bool {
	for k := 0; k < i; k++ {
		if c.st.Entries[k].Status == Failed {
			return true
		}
	}
	return false
}
