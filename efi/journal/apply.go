package journal

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"syscall"

	"github.com/slkit/slkit/efi"
)

// plan is what one entry needs, decided from a fresh read of its variable.
type plan struct {
	done     bool   // the variable already holds the target
	conflict string // the precondition does not hold
	unusable string // the current value cannot be worked on
	write    func() error
	post     [32]byte // digest of the target, if hasPost
	hasPost  bool
	check    func(cur *efi.Variable) bool // read-back verification
}

// read returns the variable, or nil if it does not exist.
func (c *committer) read(n efi.Name) (*efi.Variable, error) {
	v, err := c.vars.Get(n)
	if errors.Is(err, efi.ErrNotFound) {
		return nil, nil
	}
	return v, err
}

// entry processes entry i. It returns an error only when the state file
// cannot be written (then nothing more may be written to variables).
func (c *committer) entry(i int) error {
	e, s, r := &c.j.Entries[i], &c.st.Entries[i], &c.res.Entries[i]
	defer r.describe(s)
	switch {
	case s.Status == Failed:
		r.Outcome = FailedEarlier
		return nil
	case c.stopped:
		r.Outcome = NotAttempted
		return nil
	case e.Late() && c.failedBefore(i):
		c.finish(s, r, Failed, ReasonSkipped, 0, "")
		return nil
	}
	// A journal from an older slkit: these entries alone cannot be
	// written, the others can.
	if err := e.Var.Check(); err != nil {
		c.finish(s, r, Failed, ReasonValue, 0, "efivarfs cannot create this variable under its name: "+err.Error())
		return nil
	}
	if !e.replaySafe() {
		c.finish(s, r, Failed, ReasonValue, 0, errNoPrecondition)
		return nil
	}
	for {
		cur, err := c.read(e.Var)
		if err != nil {
			if permanentRead(err) {
				c.finish(s, r, Failed, ReasonErrno, errnoOf(err), "read before write: "+err.Error())
				return nil
			}
			// A read changes nothing, but a variable that cannot be read
			// at any boot must not hold the journal up forever: each
			// failed read costs a try.
			if s.TriesLeft == 0 {
				c.finish(s, r, Failed, ReasonErrno, errnoOf(err), "read before write: "+err.Error())
				return nil
			}
			s.TriesLeft--
			c.transient(s, r, err, "read before write")
			return nil
		}
		p := c.decide(e, cur)
		p.done = p.done || c.laterDone(i, cur)
		switch {
		case p.done && s.Status == Done:
			r.Outcome = DoneEarlier
			return nil
		case s.Status == Done && e.consumable() && e.consumed(cur):
			// The firmware consumed it at the boot it was written for.
			r.Outcome = DoneEarlier
			return nil
		case p.done:
			c.finish(s, r, Done, ReasonNone, 0, "")
			r.Outcome, r.Reboot = Unchanged, e.NeedsReboot()
			c.res.RebootRequired = c.res.RebootRequired || r.Reboot
			return nil
		case p.conflict != "":
			c.finish(s, r, Failed, ReasonConflict, 0, p.conflict)
			return nil
		case p.unusable != "":
			c.finish(s, r, Failed, ReasonValue, 0, p.unusable)
			return nil
		case s.TriesLeft == 0:
			c.finish(s, r, Failed, ReasonExhausted, 0, "")
			return nil
		}
		// Durable before the write: one try fewer, and what the variable
		// holds now and should hold after.
		s.TriesLeft--
		s.Status, s.Reason, s.Errno = Attempting, ReasonNone, 0
		s.Pre, s.HasPre = valueDigest(cur), true
		s.Post, s.HasPost = [32]byte{}, false
		if p.hasPost {
			s.Post, s.HasPost = p.post, true
		}
		c.dirty = true
		if err := c.save(); err != nil {
			return err
		}
		werr := p.write()
		if werr == nil {
			fresh, err := c.read(e.Var)
			switch {
			case err != nil:
				c.transient(s, r, err, "read-back")
			case p.check(fresh):
				c.finish(s, r, Done, ReasonNone, 0, "")
				r.Outcome, r.Reboot = Applied, e.NeedsReboot()
				c.res.RebootRequired = c.res.RebootRequired || r.Reboot
			default:
				c.finish(s, r, Failed, ReasonVerify, 0, "the variable read back differs from what was written")
			}
			return nil
		}
		if again := c.writeFailed(e, s, r, p, werr); !again {
			return nil
		}
	}
}

// writeFailed applies the errno policy; it reports whether to try again
// now (EIO with tries left).
func (c *committer) writeFailed(e *Entry, s *EntryState, r *EntryResult, p plan, werr error) bool {
	errno := errnoOf(werr)
	switch errno {
	case syscall.ENOSPC:
		c.res.RetryAfterReboot = true
		c.stopped = true
		c.finish(s, r, Retry, ReasonErrno, errno, "variable store full until the firmware reclaims space at the next boot")
	case syscall.EINTR:
		c.res.RuntimeStopped = true
		c.stopped = true
		c.finish(s, r, Retry, ReasonErrno, errno, "runtime services aborted; none called again this boot")
	case syscall.EIO:
		if s.TriesLeft > 0 {
			return true
		}
		c.finish(s, r, Failed, ReasonErrno, errno, "device error and no tries left")
	case syscall.EACCES:
		// A replayed authenticated replace is refused; it is done if the
		// variable already holds its payload.
		if fresh, err := c.read(e.Var); err == nil && p.check(fresh) {
			c.finish(s, r, Done, ReasonNone, 0, "")
			r.Outcome = Unchanged
			return false
		}
		c.finish(s, r, Failed, ReasonErrno, errno, oneLine(werr))
	case syscall.ENOENT:
		if e.Op == OpDelete {
			c.finish(s, r, Done, ReasonNone, 0, "")
			r.Outcome = Unchanged
			return false
		}
		c.finish(s, r, Failed, ReasonErrno, errno, oneLine(werr))
	default: // EPERM, EINVAL, EROFS and anything unknown: permanent
		c.finish(s, r, Failed, ReasonErrno, errno, oneLine(werr))
	}
	return false
}

func oneLine(err error) string { return err.Error() }

// permanentRead reports whether a failed read will fail the same way at
// every boot: the name is too long for a file name or refused as invalid.
func permanentRead(err error) bool {
	errno, ok := efi.Errno(err)
	return ok && (errno == syscall.ENAMETOOLONG || errno == syscall.EINVAL)
}

// errnoOf is the errno of a failed variable operation; anything without
// one (a short write, a malformed read) counts as a device error.
func errnoOf(err error) syscall.Errno {
	if errno, ok := efi.Errno(err); ok {
		return errno
	}
	return syscall.EIO
}

// transient handles a failed read: the entry waits for the next boot and
// nothing after it is attempted now (order is kept).
func (c *committer) transient(s *EntryState, r *EntryResult, err error, what string) {
	errno := errnoOf(err)
	if errno == syscall.EINTR {
		c.res.RuntimeStopped = true
	}
	c.stopped = true
	c.finish(s, r, Retry, ReasonErrno, errno, what+": "+err.Error())
}

// finish records a status (made durable by the next save).
func (c *committer) finish(s *EntryState, r *EntryResult, st Status, reason Reason, errno syscall.Errno, detail string) {
	s.Status, s.Reason, s.Errno = st, reason, errno
	c.dirty = true
	r.Detail = detail
	switch st {
	case Failed:
		r.Outcome = FailedNow
	case Retry:
		r.Outcome = RetryLater
	case Done:
		r.Outcome = Applied
	}
}

// decide computes the plan for an entry from the variable's current value
// and the signed entry alone: nothing the state file says makes an entry
// done or decides whether to write.
func (c *committer) decide(e *Entry, cur *efi.Variable) plan {
	var p plan
	switch e.Op {
	case OpSet:
		p = c.planSet(e, cur)
	case OpAppend:
		p = c.planAppend(e, cur)
	case OpDelete:
		p = plan{done: cur == nil, hasPost: true, write: func() error { return c.vars.Delete(e.Var) },
			check: func(v *efi.Variable) bool { return v == nil }}
	case OpOsIndications:
		p = c.planOsIndications(e, cur)
	}
	if !p.done && p.unusable == "" && !e.Expect.holds(cur) {
		return plan{conflict: describeConflict(e.Expect, cur)}
	}
	return p
}

// laterDone reports whether the journal's later entries on the same
// variable make entry i done now: a later set, delete or append whose
// target a fresh read shows (it comes after entry i, so entry i was
// applied or overridden), or, for OsIndications, a value that the bit
// operations of entry i and the later ones leave as it is.
func (c *committer) laterDone(i int, cur *efi.Variable) bool {
	e := &c.j.Entries[i]
	if e.Op == OpOsIndications {
		var v uint64
		if cur != nil {
			x, err := efi.ParseUint64(cur.Data)
			if err != nil {
				return false
			}
			v = x
		}
		nv := v
		for k := i; k < len(c.j.Entries); k++ {
			if o := &c.j.Entries[k]; o.Op == OpOsIndications {
				nv = (nv | o.SetBits) &^ o.ClearBits
			}
		}
		return nv == v && (cur != nil || nv == 0)
	}
	for k := i + 1; k < len(c.j.Entries); k++ {
		o := &c.j.Entries[k]
		if o.Var == e.Var && o.Op != OpOsIndications && c.decide(o, cur).done {
			return true
		}
	}
	return false
}

func describeConflict(x Expect, cur *efi.Variable) string {
	switch {
	case x.Kind == ExpectAbsent:
		return "expected the variable to be absent, it exists"
	case cur == nil:
		return "expected a value, the variable does not exist"
	}
	return "the current value differs from the expected one"
}

func digestCheck(post [32]byte) func(*efi.Variable) bool {
	return func(v *efi.Variable) bool { return valueDigest(v) == post }
}

func (c *committer) planSet(e *Entry, cur *efi.Variable) plan {
	after, err := e.After(cur)
	if err != nil {
		return plan{unusable: err.Error()}
	}
	p := plan{write: func() error { return c.vars.Set(e.Var, e.Attr, e.Data) }, hasPost: true, post: valueDigest(after)}
	if after == nil { // a signed delete
		p.done = cur == nil
	} else {
		p.done = cur != nil && cur.Attr == after.Attr && bytes.Equal(cur.Data, after.Data)
	}
	p.check = digestCheck(p.post)
	return p
}

func (c *committer) planAppend(e *Entry, cur *efi.Variable) plan {
	write := func() error { return c.vars.Append(e.Var, e.Attr, e.Data) }
	extra := e.Data
	if e.authenticated() {
		a, err := efi.ParseAuth2(e.Data)
		if err != nil {
			return plan{unusable: err.Error()}
		}
		extra = a.Payload
		if efi.IsSignatureDatabase(e.Var) {
			// The firmware drops signatures already present: replay-safe,
			// and done once every appended signature is there.
			contains := func(v *efi.Variable) bool {
				ok, err := efi.SignatureListsContain(dataOf(v), extra)
				return v != nil && err == nil && ok
			}
			return plan{done: contains(cur), write: write, check: contains}
		}
	}
	// An append with a precondition: done when the variable holds what
	// the precondition names with the data appended.
	if cur != nil && cur.Attr == e.Attr && bytes.HasSuffix(cur.Data, extra) {
		prefix := cur.Data[:len(cur.Data)-len(extra)]
		switch e.Expect.Kind {
		case ExpectAbsent:
			if len(prefix) == 0 {
				return plan{done: true}
			}
		case ExpectValue:
			if sha256.Sum256(prefix) == e.Expect.SHA256 {
				return plan{done: true}
			}
		}
	}
	after, err := e.After(cur)
	if err != nil {
		return plan{unusable: err.Error()}
	}
	post := valueDigest(after)
	return plan{write: write, post: post, hasPost: true, check: digestCheck(post)}
}

func dataOf(v *efi.Variable) []byte {
	if v == nil {
		return nil
	}
	return v.Data
}

func (c *committer) planOsIndications(e *Entry, cur *efi.Variable) plan {
	after, err := e.After(cur)
	if err != nil {
		return plan{unusable: err.Error()}
	}
	post := valueDigest(after)
	p := plan{post: post, hasPost: true, check: digestCheck(post)}
	if after == nil {
		p.done = true // absent, and no bit to set
		return p
	}
	p.done = cur != nil && bytes.Equal(cur.Data, after.Data)
	p.write = func() error { return c.vars.Set(efi.OsIndications, after.Attr, after.Data) }
	return p
}
