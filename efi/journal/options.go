package journal

import (
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/internal/fsys"
)

// DefaultTries is how many times Commit attempts an entry across all
// boots before it gives up on it.
const DefaultTries = 3

// Option configures Enqueue, Commit and Inspect.
type Option func(*options)

type options struct {
	fs      fsys.FS
	tries   uint8
	allowed []efi.Pattern
	minGen  uint64
	anchor  Anchor
	now     func() time.Time
}

func newOptions(opts []Option) options {
	o := options{fs: fsys.OS{}, tries: DefaultTries, allowed: efi.CommitPatterns(), now: time.Now}
	for _, f := range opts {
		f(&o)
	}
	return o
}

// WithFS puts the journal and state files on fsys instead of the OS
// (tests use efi/efitest/crashfs).
func WithFS(f fsys.FS) Option { return func(o *options) { o.fs = f } }

// ParseTries is n attempts per entry (WithTries), refused unless 1 to
// 255.
func ParseTries(n uint) (uint8, error) {
	if n < 1 || n > 255 {
		return 0, errors.New("want 1 to 255")
	}
	return uint8(n), nil
}

// WithTries sets the attempts per entry (1-255, default 3). Each attempt
// is counted durably before the variable write, so a write that resets
// the machine is retried at most this often.
func WithTries(n uint8) Option {
	return func(o *options) {
		if n > 0 {
			o.tries = n
		}
	}
}

// WithAllowed adds variables Commit may change, beyond efi.CommitPatterns
// (BootNext, BootOrder, Boot####, DriverOrder, Driver####, ConIn,
// ConInDev, ConOut, ConOutDev, ErrOut, ErrOutDev, Lang, PlatformLang,
// OsIndications, Timeout). A journal naming anything else is refused as a
// whole. Variables of LINUX_EFI_CRASH_GUID are never allowed. Pass the
// same patterns to efi.WithMutable.
func WithAllowed(p ...efi.Pattern) Option {
	return func(o *options) { o.allowed = append(o.allowed, p...) }
}

// WithMinGeneration refuses journals older than g even if the state file
// is lost. WithAnchor is the stronger form.
func WithMinGeneration(g uint64) Option { return func(o *options) { o.minGen = g } }

// Anchor holds the applied-through generation outside the disk, where
// only the pre-launch stage can raise it and nobody can lower it (a TPM
// NV anchor, tpm.Anchor; update.JournalAnchor adapts it).
type Anchor interface {
	// Generation is the highest generation applied (every entry final).
	// An anchor is defined only once no generation is pending (its value
	// is then at least the last one committed), so its value always
	// decides.
	Generation() (gen uint64, err error)
	// Advance raises it to gen.
	Advance(gen uint64) error
}

// WithAnchor makes the anchor, not the state file, decide replays and
// generations:
//
//   - Commit refuses a journal older than the anchor's generation
//     (ErrReplay, naming both), does nothing for one equal to it, refuses
//     one more than MaxEntries ahead of it, ignores a state file that
//     belongs to another journal, and advances the anchor to the journal's
//     generation once every entry is final;
//   - Enqueue starts a new generation above both the anchor and the
//     journal on disk, carrying every entry of a journal the anchor does
//     not cover yet (the state file cannot drop one).
func WithAnchor(a Anchor) Option { return func(o *options) { o.anchor = a } }

// WithClock sets the clock for the journal's creation time.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// MaxStateBytes is the largest state file: the header, a record per entry
// of a full journal, the checksum.
const MaxStateBytes = maxStateSize

// readFile reads path, a regular file of at most limit bytes; a missing
// file is (nil, false, nil), anything else that is wrong wraps ErrFiles.
func readFile(f fsys.FS, path string, limit int64) ([]byte, bool, error) {
	b, err := f.ReadFile(path, limit)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("%w: %w", ErrFiles, err)
	}
	return b, true, nil
}

// loadState reads the state file; a missing one is the empty state of
// generation 0. Tries-left is capped at tries: the file is not trusted to
// grant more attempts than configured.
func loadState(f fsys.FS, path string, tries uint8) (*State, error) {
	b, ok, err := readFile(f, path, maxStateSize)
	if err != nil || !ok {
		return &State{}, err
	}
	s, err := ParseState(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for i := range s.Entries {
		s.Entries[i].TriesLeft = min(s.Entries[i].TriesLeft, tries)
	}
	return s, nil
}

func (o *options) allowedVar(n efi.Name) bool {
	if n.GUID == efi.LinuxCrashGUID {
		return false
	}
	for _, p := range o.allowed {
		if p.Match(n) {
			return true
		}
	}
	return false
}
