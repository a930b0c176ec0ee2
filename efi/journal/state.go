package journal

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"syscall"

	"github.com/slkit/slkit/efi"
)

// Status of an entry in the state file.
type Status uint8

// Entry statuses. Done and Failed are final.
const (
	// Pending: not tried yet.
	Pending Status = iota
	// Attempting: tries-left was decremented and made durable, and the
	// variable write may or may not have happened (a crash or reset in
	// between); the next commit decides from a fresh read.
	Attempting
	// Done: the variable holds what the entry asked for (verified).
	Done
	// Failed: given up (permanent errno, conflict, no tries left).
	Failed
	// Retry: a transient failure (ENOSPC, EINTR); tried again next boot.
	Retry
)

var statusNames = []string{"pending", "attempting", "done", "failed", "retry"}

func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// Final reports whether the status is Done or Failed.
func (s Status) Final() bool { return s == Done || s == Failed }

// Reason qualifies a Failed or Retry status.
type Reason uint8

// Reasons.
const (
	ReasonNone      Reason = iota
	ReasonErrno            // the kernel returned Errno
	ReasonConflict         // the compare-and-swap precondition did not hold
	ReasonExhausted        // no tries left
	ReasonVerify           // the read-back did not match
	ReasonSkipped          // a BootNext/OsIndications entry after a failed one
	ReasonValue            // the current value cannot be worked on (e.g. OsIndications not 8 bytes)
)

var reasonNames = []string{"", "errno", "conflict", "no tries left", "read-back mismatch", "skipped after an earlier failure", "unusable current value"}

func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("reason(%d)", uint8(r))
}

// EntryState is the commit progress of one journal entry.
type EntryState struct {
	Seq       uint32
	Status    Status
	TriesLeft uint8
	Reason    Reason
	Errno     syscall.Errno
	// Pre and Post are digests of the variable (attributes and data, or
	// all zero for "absent") recorded durably before a write: what it held
	// and what it should hold after. After an interrupted write they tell
	// an applied append from one that never happened.
	Pre, Post       [32]byte
	HasPre, HasPost bool
}

// State is the state file: how far the pre-launch environment got with
// the journal of one generation. It is written only by Commit.
type State struct {
	Generation uint64
	// Journal is the SHA-256 of the journal file this state belongs to.
	Journal [32]byte
	// AppliedThrough is the highest sequence number up to which every
	// entry is final.
	AppliedThrough uint32
	// Runs counts the commits that worked on this generation.
	Runs    uint32
	Entries []EntryState
}

const (
	stateMagic      = "SLKEFIS\x00"
	stateHeaderSize = 64
	stateEntrySize  = 80
	stateFlagPre    = 0x01
	stateFlagPost   = 0x02
	// maxStateSize is the largest state file: MaxEntries entries.
	maxStateSize = stateHeaderSize + stateEntrySize*MaxEntries + 4
)

// StatePath is the state file of the journal at journalPath: state, or by
// default (state "") the journal's name + ".state".
func StatePath(journalPath, state string) string {
	if state == "" {
		return journalPath + ".state"
	}
	return state
}

// Marshal encodes the state with a trailing CRC-32C.
func (s *State) Marshal() []byte {
	b := make([]byte, stateHeaderSize, stateHeaderSize+stateEntrySize*len(s.Entries)+4)
	copy(b, stateMagic)
	binary.LittleEndian.PutUint16(b[8:], Version)
	binary.LittleEndian.PutUint16(b[10:], uint16(len(s.Entries)))
	binary.LittleEndian.PutUint32(b[12:], s.AppliedThrough)
	binary.LittleEndian.PutUint64(b[16:], s.Generation)
	copy(b[24:56], s.Journal[:])
	binary.LittleEndian.PutUint32(b[56:], s.Runs)
	for _, e := range s.Entries {
		var flags byte
		if e.HasPre {
			flags |= stateFlagPre
		}
		if e.HasPost {
			flags |= stateFlagPost
		}
		b = binary.LittleEndian.AppendUint32(b, e.Seq)
		b = append(b, byte(e.Status), e.TriesLeft, byte(e.Reason), flags)
		b = binary.LittleEndian.AppendUint32(b, uint32(e.Errno))
		b = append(b, e.Pre[:]...)
		b = append(b, e.Post[:]...)
		b = append(b, 0, 0, 0, 0)
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// ParseState decodes a state file. Errors wrap ErrBadState.
func ParseState(b []byte) (*State, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrBadState, fmt.Sprintf(format, a...))
	}
	if len(b) < stateHeaderSize+4 {
		return nil, bad("truncated: %d bytes", len(b))
	}
	if string(b[:8]) != stateMagic {
		return nil, bad("not an slkit EFI state file")
	}
	if v := binary.LittleEndian.Uint16(b[8:]); v != Version {
		return nil, bad("version %d, want %d", v, Version)
	}
	n := int(binary.LittleEndian.Uint16(b[10:]))
	if n > MaxEntries {
		return nil, bad("%d entries, at most %d", n, MaxEntries)
	}
	if want := stateHeaderSize + stateEntrySize*n + 4; len(b) != want {
		return nil, bad("%d bytes, want %d for %d entries (truncated or padded)", len(b), want, n)
	}
	if crc32.Checksum(b[:len(b)-4], castagnoli) != binary.LittleEndian.Uint32(b[len(b)-4:]) {
		return nil, bad("checksum mismatch")
	}
	if binary.LittleEndian.Uint32(b[60:]) != 0 {
		return nil, bad("reserved header bytes set")
	}
	s := &State{
		AppliedThrough: binary.LittleEndian.Uint32(b[12:]),
		Generation:     binary.LittleEndian.Uint64(b[16:]),
		Runs:           binary.LittleEndian.Uint32(b[56:]),
	}
	if s.Generation > MaxGeneration {
		return nil, bad("generation %d, past the largest %d", s.Generation, MaxGeneration)
	}
	copy(s.Journal[:], b[24:56])
	for i := 0; i < n; i++ {
		eb := b[stateHeaderSize+stateEntrySize*i:]
		e := EntryState{
			Seq: binary.LittleEndian.Uint32(eb), Status: Status(eb[4]), TriesLeft: eb[5], Reason: Reason(eb[6]),
			HasPre: eb[7]&stateFlagPre != 0, HasPost: eb[7]&stateFlagPost != 0,
			Errno: syscall.Errno(binary.LittleEndian.Uint32(eb[8:])),
		}
		copy(e.Pre[:], eb[12:44])
		copy(e.Post[:], eb[44:76])
		switch {
		case e.Seq != uint32(i+1):
			return nil, bad("entry %d has sequence %d", i+1, e.Seq)
		case int(e.Status) >= len(statusNames) || int(e.Reason) >= len(reasonNames):
			return nil, bad("entry %d: status %d reason %d", i+1, e.Status, e.Reason)
		case eb[7]&^(stateFlagPre|stateFlagPost) != 0 || binary.LittleEndian.Uint32(eb[76:]) != 0:
			return nil, bad("entry %d: unknown flags or reserved bytes", i+1)
		case !e.HasPre && e.Pre != [32]byte{} || !e.HasPost && e.Post != [32]byte{}:
			return nil, bad("entry %d: a digest without its flag", i+1)
		case e.Reason != ReasonErrno && e.Errno != 0:
			return nil, bad("entry %d: an errno without reason errno", i+1)
		}
		s.Entries = append(s.Entries, e)
	}
	if s.AppliedThrough != s.appliedThrough() {
		return nil, bad("applied-through %d, but entries say %d", s.AppliedThrough, s.appliedThrough())
	}
	return s, nil
}

// appliedThrough is the highest k with entries 1..k all final.
func (s *State) appliedThrough() uint32 {
	k := uint32(0)
	for _, e := range s.Entries {
		if !e.Status.Final() {
			break
		}
		k = e.Seq
	}
	return k
}

// complete reports whether every entry is final.
func (s *State) complete() bool { return int(s.appliedThrough()) == len(s.Entries) }

// mayHaveWritten reports whether the entry's variable may hold the
// entry's change although the entry is not done: a write was interrupted
// (Attempting), or it was tried and the outcome is unknown (Retry after a
// failed read-back or an aborted call; ENOSPC means nothing was written).
func (e *EntryState) mayHaveWritten() bool {
	return e.Status == Attempting || (e.Status == Retry && e.HasPre && e.Errno != syscall.ENOSPC)
}

// newState starts the state of a journal generation: every entry pending
// with tries tries.
func newState(j *Journal, tries uint8) *State {
	s := &State{Generation: j.Generation, Journal: j.Digest}
	for _, e := range j.Entries {
		s.Entries = append(s.Entries, EntryState{Seq: e.Seq, TriesLeft: tries})
	}
	return s
}

// valueDigest is the digest Pre/Post record: SHA-256 of le32 attributes
// and data, or all zero for an absent variable.
func valueDigest(v *efi.Variable) [32]byte {
	if v == nil {
		return [32]byte{}
	}
	return digestOf(v.Attr, v.Data)
}

func digestOf(a efi.Attr, data []byte) [32]byte {
	h := sha256.New()
	h.Write(binary.LittleEndian.AppendUint32(nil, uint32(a)))
	h.Write(data)
	var d [32]byte
	h.Sum(d[:0])
	return d
}
