package journal

import (
	"context"
	"crypto/ed25519"
	"fmt"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/internal/fsys"
)

// Commit applies the journal at journalPath to vars. It is what the
// pre-launch environment runs before it stages the dynamic launch
// (`slkit efi commit`, `slkit launch`); the journal must be signed by pub.
//
// A journal that is missing is nothing to do (an empty Result). A journal
// that is malformed (truncated, a bad checksum, a sequence gap), signed by
// another key or with a bad signature, older than the committed generation
// (or a different journal reusing it), or that names a variable outside
// the allow-list ([WithAllowed]) commits NOTHING: Commit returns an error
// wrapping ErrMalformed, ErrWrongKey, ErrSignature, ErrReplay or
// ErrNotAllowed whose message says why in one line.
//
// Otherwise entries are applied in order (BootNext and OsIndications are
// always last in a journal). For each pending entry Commit reads the
// variable afresh and decides: already at the target (done, nothing
// written), precondition failed (conflict, nothing written), or write.
// Before every write the entry's tries-left counter is decremented and the
// state file replaced atomically, so a write that hangs or resets the
// machine is not retried forever. After a write the variable is read back
// afresh and compared. Errors follow the policy in README.md: EPERM (after
// the variable layer cleared an allow-listed immutable flag once),
// EINVAL, EROFS and EACCES are permanent; ENOSPC and EINTR stop this
// boot's commit and leave the rest for the next boot; EIO is retried while
// tries are left.
//
// The Result reports every entry and whether a firmware reboot is needed
// for the changes to take effect (RebootRequired). An error is returned
// only for a refused journal or when the state file cannot be written;
// entries that failed are in the Result (see Result.Err).
func Commit(ctx context.Context, vars *efi.Vars, journalPath, statePath string, pub ed25519.PublicKey, opts ...Option) (*Result, error) {
	o := newOptions(opts)
	b, ok, err := readFile(o.fs, journalPath)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", journalPath, err)
	}
	if !ok {
		return &Result{Entries: []EntryResult{}}, nil
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
	st, err := loadState(o.fs, statePath)
	if err != nil {
		return nil, err
	}
	switch {
	case j.Generation < o.minGen:
		return nil, fmt.Errorf("%s: %w: generation %d is older than the minimum %d", journalPath, ErrReplay, j.Generation, o.minGen)
	case j.Generation < st.Generation:
		return nil, fmt.Errorf("%s: %w: generation %d is older than the committed generation %d", journalPath, ErrReplay, j.Generation, st.Generation)
	case j.Generation == st.Generation && st.Journal != j.Digest:
		return nil, fmt.Errorf("%s: %w: a different journal of generation %d was already committed", journalPath, ErrReplay, j.Generation)
	case j.Generation == st.Generation && len(st.Entries) != len(j.Entries):
		return nil, fmt.Errorf("%s: %w: %d entries for a journal of %d", statePath, ErrBadState, len(st.Entries), len(j.Entries))
	case j.Generation > st.Generation:
		st = newState(j, o.tries)
	}
	c := &committer{vars: vars, fs: o.fs, statePath: statePath, j: j, st: st,
		res: &Result{Journal: true, Generation: j.Generation, Entries: make([]EntryResult, len(j.Entries))}}
	return c.run(ctx)
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
