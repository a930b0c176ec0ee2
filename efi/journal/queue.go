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
	var base []Change
	var gen uint64
	var err error
	if o.anchor != nil {
		base, gen, err = anchoredBase(&o, journalPath, pub)
	} else {
		base, gen, err = stateBase(&o, journalPath, statePath, pub)
	}
	if err != nil {
		return nil, err
	}
	if gen < o.minGen {
		gen = o.minGen
	}
	if gen > MaxGeneration {
		return nil, fmt.Errorf("%w: %s: the next generation would be %d, past the largest %d (delete the state file and the journal, or use an anchor)", ErrBadState, statePath, gen, uint64(MaxGeneration))
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

// anchoredBase is the next generation and the entries it carries when the
// anchor holds the applied generation A: a new generation above A and
// above the journal on disk, carrying every entry of that journal if A
// does not cover it (whatever the state file says: it cannot drop an
// entry). A journal too far ahead of A to be committed is replaced.
func anchoredBase(o *options, journalPath string, pub ed25519.PublicKey) ([]Change, uint64, error) {
	applied, err := o.anchor.Generation()
	if err != nil {
		return nil, 0, fmt.Errorf("read the journal's anchor: %w", err)
	}
	gen := applied + 1
	old, err := readJournal(o, journalPath, pub)
	if err != nil || old == nil {
		return nil, gen, err
	}
	if old.Generation <= applied || old.Generation-applied >= MaxEntries {
		return nil, gen, nil
	}
	var base []Change
	for _, e := range old.Entries {
		base = append(base, e.Change)
	}
	return base, old.Generation + 1, nil
}

// stateBase is the next generation and the entries it carries when only
// the state file records progress (no anchor): see Enqueue.
func stateBase(o *options, journalPath, statePath string, pub ed25519.PublicKey) ([]Change, uint64, error) {
	st, err := loadState(o.fs, statePath, o.tries)
	if err != nil {
		return nil, 0, err
	}
	if st.Generation >= MaxGeneration {
		return nil, 0, fmt.Errorf("%w: %s: generation %d, the largest there is (delete it, or use an anchor)", ErrBadState, statePath, st.Generation)
	}
	var base []Change
	gen := st.Generation + 1
	old, err := readJournal(o, journalPath, pub)
	if err != nil || old == nil {
		return nil, gen, err
	}
	switch {
	case old.Generation > st.Generation:
		gen = old.Generation
		for _, e := range old.Entries {
			base = append(base, e.Change)
		}
	case old.Generation == st.Generation:
		if old.Digest != st.Journal || len(old.Entries) != len(st.Entries) {
			return nil, 0, fmt.Errorf("%w: %s belongs to another journal of generation %d", ErrBadState, statePath, st.Generation)
		}
		for i, e := range old.Entries {
			es := &st.Entries[i]
			switch {
			case es.Status == Attempting:
				return nil, 0, fmt.Errorf("%w: entry %d (%s %s) was being committed when the machine stopped; boot the pre-launch environment to finish it", ErrInterrupted, e.Seq, e.Op, e.Var)
			case es.mayHaveWritten() && !e.replaySafe():
				// A new generation starts without this state's
				// pre/post digests, so it could apply the append twice.
				return nil, 0, fmt.Errorf("%w: entry %d (%s %s) may have been applied (%s); boot the pre-launch environment to finish it", ErrInterrupted, e.Seq, e.Op, e.Var, efi.ErrnoName(es.Errno))
			case es.Status == Pending || es.Status == Retry:
				base = append(base, e.Change)
			}
		}
	}
	return base, gen, nil
}

// readJournal reads and verifies the journal on disk with the queueing
// key's public half; a missing journal is nil.
func readJournal(o *options, journalPath string, pub ed25519.PublicKey) (*Journal, error) {
	b, ok, err := readFile(o.fs, journalPath, MaxBytes)
	if err != nil || !ok {
		return nil, err
	}
	j, err := Verify(b, pub)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", journalPath, err)
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
