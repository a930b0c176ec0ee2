package journal

import (
	"github.com/slkit/slkit/internal/errkind"

	"github.com/slkit/slkit/efi"
)

// Sentinel errors. Every refusal of a journal as a whole wraps one of
// them; the message says in one line what is wrong.
var (
	// ErrMalformed: the journal or state bytes are not a valid file
	// (truncated, bad magic or version, checksum mismatch, sequence gap,
	// limits exceeded, an invalid entry), or a key file is not a key. It
	// is efi.ErrMalformed, so one check covers every slkit EFI parser.
	ErrMalformed = efi.ErrMalformed
	// ErrSignature: the journal's signature does not verify.
	ErrSignature = errkind.New(errkind.Verify, "bad signature")
	// ErrWrongKey: the journal is signed by a different key than the one
	// slkit trusts.
	ErrWrongKey = errkind.New(errkind.Verify, "signed by the wrong key")
	// ErrReplay: the journal's generation is older than what was already
	// committed, or a different journal reuses a committed generation.
	ErrReplay = errkind.New(errkind.Verify, "replayed journal")
	// ErrNotAllowed: an entry names a variable outside the commit
	// allow-list.
	ErrNotAllowed = errkind.New(errkind.Verify, "variable not allowed")
	// ErrBadState: the state file is corrupt or does not belong to the
	// journal.
	ErrBadState = errkind.New(errkind.Input, "bad state file")
	// ErrInterrupted: Enqueue found an entry whose commit was
	// interrupted; the pre-launch environment must finish it first.
	ErrInterrupted = errkind.New(errkind.Input, "commit interrupted")
	// ErrFull: the journal would exceed 64 entries or 256 KiB.
	ErrFull = errkind.New(errkind.Input, "journal full")
	// ErrFiles: the journal's or the state's path is not a regular file
	// of a sane size (a directory, a FIFO, a device, a symbolic link, a
	// file past its limit) or cannot be read or replaced. Like a journal
	// that does not verify, it is a bad journal: the disk is not what
	// slkit wrote.
	ErrFiles = errkind.New(errkind.Input, "unusable journal file")
	// ErrMissing: the state file names a generation that is not applied,
	// and its journal is gone.
	ErrMissing = errkind.New(errkind.Verify, "journal missing")
	// ErrIncomplete: some entries failed or wait for a later boot (see
	// Result.Err).
	ErrIncomplete = errkind.New(errkind.IO, "not all entries committed")
)
