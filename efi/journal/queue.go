package journal

import (
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/internal/fsys"
)

// Enqueue adds changes to the journal at journalPath, signed with key, in
// one atomic replace (temporary file, fsync, rename, fsync of the
// directory): after a crash the journal holds all of them or none. It is
// what the launched OS runs (`slkit efi queue`, `slkit update prepare`);
// it reads the state file but never writes it, and it calls no EFI
// runtime service.
//
//   - No journal, or one older than the state: a new generation (state's
//     generation + 1) with just the changes.
//   - A journal Commit has not started on (its generation is newer than
//     the state's): the changes are added to it, same generation.
//   - A journal Commit has worked on: a new generation holding the
//     entries still pending or waiting for a retry, then the changes.
//     Entries whose commit was interrupted mid-write, and appends that
//     may have been applied (a retry after a failed read-back or an
//     aborted call), make Enqueue fail with ErrInterrupted (boot the
//     pre-launch environment first): a new generation starts without the
//     state's digests that keep an append from being applied twice.
//
// Entries are renumbered 1, 2, ... with BootNext and OsIndications
// entries moved after all others (stable order otherwise).
func Enqueue(journalPath, statePath string, key ed25519.PrivateKey, changes []Change, opts ...Option) (*Journal, error) {
	o := newOptions(opts)
	if len(changes) == 0 {
		return nil, fmt.Errorf("%w: nothing to queue", ErrMalformed)
	}
	for i := range changes {
		if err := changes[i].Check(); err != nil {
			return nil, err
		}
	}
	pub := key.Public().(ed25519.PublicKey)
	st, err := loadState(o.fs, statePath)
	if err != nil {
		return nil, err
	}
	var base []Change
	gen := st.Generation + 1
	b, ok, err := readFile(o.fs, journalPath)
	if err != nil {
		return nil, err
	}
	if ok {
		old, err := Verify(b, pub)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", journalPath, err)
		}
		switch {
		case old.Generation > st.Generation:
			gen = old.Generation
			for _, e := range old.Entries {
				base = append(base, e.Change)
			}
		case old.Generation == st.Generation:
			if old.Digest != st.Journal || len(old.Entries) != len(st.Entries) {
				return nil, fmt.Errorf("%w: %s belongs to another journal of generation %d", ErrBadState, statePath, st.Generation)
			}
			for i, e := range old.Entries {
				es := &st.Entries[i]
				switch {
				case es.Status == Attempting:
					return nil, fmt.Errorf("%w: entry %d (%s %s) was being committed when the machine stopped; boot the pre-launch environment to finish it", ErrInterrupted, e.Seq, e.Op, e.Var)
				case es.mayHaveWritten() && !e.replaySafe():
					// A new generation starts without this state's
					// pre/post digests, so it could apply the append twice.
					return nil, fmt.Errorf("%w: entry %d (%s %s) may have been applied (%s); boot the pre-launch environment to finish it", ErrInterrupted, e.Seq, e.Op, e.Var, efi.ErrnoName(es.Errno))
				case es.Status == Pending || es.Status == Retry:
					base = append(base, e.Change)
				}
			}
		}
	}
	if gen < o.minGen {
		gen = o.minGen
	}
	j := &Journal{Generation: gen, Created: o.now().Truncate(time.Second), Entries: order(append(base, changes...))}
	out, err := j.Marshal(key)
	if err != nil {
		return nil, err
	}
	if err := fsys.WriteFile(o.fs, journalPath, out, 0o600); err != nil {
		return nil, err
	}
	return j, nil
}

// order puts BootNext/OsIndications changes last and numbers the entries.
func order(cs []Change) []Entry {
	out := make([]Entry, 0, len(cs))
	for _, late := range []bool{false, true} {
		for _, c := range cs {
			if c.Late() == late {
				out = append(out, Entry{Seq: uint32(len(out) + 1), Change: c})
			}
		}
	}
	return out
}
