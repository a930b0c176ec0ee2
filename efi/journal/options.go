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
	now     func() time.Time
}

func newOptions(opts []Option) options {
	o := options{fs: fsys.OS{}, tries: DefaultTries, allowed: efi.KernelPatterns(), now: time.Now}
	for _, f := range opts {
		f(&o)
	}
	return o
}

// WithFS puts the journal and state files on fsys instead of the OS
// (tests use efi/efitest/crashfs).
func WithFS(f fsys.FS) Option { return func(o *options) { o.fs = f } }

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

// WithAllowed adds variables Commit may change, beyond the kernel's list
// of mutable variables (BootOrder, BootNext, Boot####, OsIndications,
// Timeout, ...). A journal naming anything else is refused as a whole.
// Pass the same patterns to efi.WithMutable.
func WithAllowed(p ...efi.Pattern) Option {
	return func(o *options) { o.allowed = append(o.allowed, p...) }
}

// WithMinGeneration refuses journals older than g even if the state file
// is lost (feed it from a monotonic counter, e.g. a TPM NV index).
func WithMinGeneration(g uint64) Option { return func(o *options) { o.minGen = g } }

// WithClock sets the clock for the journal's creation time.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// MaxStateBytes is the largest state file: the header, a record per entry
// of a full journal, the checksum.
const MaxStateBytes = stateHeaderSize + stateEntrySize*MaxEntries + 4

// readFile reads the journal at path, bounded by MaxBytes; a missing file
// is (nil, false, nil).
func readFile(f fsys.FS, path string) ([]byte, bool, error) {
	return readBounded(f, path, MaxBytes)
}

// readBounded reads path through a limit of max bytes (a larger file, or
// one that is not a regular file, is refused before it is read); a
// missing file is (nil, false, nil).
func readBounded(f fsys.FS, path string, max int64) ([]byte, bool, error) {
	b, err := f.ReadFile(path, max)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return b, true, nil
}

// loadState reads the state file; a missing one is the empty state of
// generation 0.
func loadState(f fsys.FS, path string) (*State, error) {
	b, ok, err := readBounded(f, path, MaxStateBytes)
	if err != nil || !ok {
		return &State{}, err
	}
	s, err := ParseState(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

func (o *options) allowedVar(n efi.Name) bool {
	for _, p := range o.allowed {
		if p.Match(n) {
			return true
		}
	}
	return false
}
