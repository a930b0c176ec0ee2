package efi

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"syscall"
)

// Vars reads and writes variables through a [Backend], handling the
// efivarfs traps (see the package documentation and README.md). It is
// safe for sequential use; callers serialise writes.
type Vars struct {
	b       Backend
	mutable []Pattern
}

// Option configures [New], [Open] and [OpenDir].
type Option func(*Vars)

// WithMutable allows slkit to clear the immutable flag of variables that
// match one of the patterns, in addition to the kernel's own list
// ([KernelMutable]). Nothing else is ever made mutable: a write to another
// immutable variable fails with [ErrImmutable].
func WithMutable(p ...Pattern) Option {
	return func(v *Vars) { v.mutable = append(v.mutable, p...) }
}

// New returns the variable layer over b: the real efivarfs ([Open]) or
// the fake of efi/efitest.
func New(b Backend, opts ...Option) *Vars {
	v := &Vars{b: b}
	for _, o := range opts {
		o(v)
	}
	return v
}

// MayClearImmutable reports whether slkit may clear n's immutable flag.
func (v *Vars) MayClearImmutable(n Name) bool {
	if KernelMutable(n) {
		return true
	}
	for _, p := range v.mutable {
		if p.Match(n) {
			return true
		}
	}
	return false
}

// maxRead bounds one variable's file (OVMF's largest variable is about
// 33 KiB; hardware error records and odd firmware stay far below this).
const maxRead = 1 << 20

// firstRead is the buffer of the first read(2). Each read on efivarfs
// fetches the variable again and copies from the file offset, so a value
// read in several calls could mix two versions; one large first read sees
// one version and the next read returns EOF.
const firstRead = 64 << 10

// varErr turns a backend error into a *VarError holding the errno.
func varErr(op string, n Name, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		err = le.Err
	}
	return &VarError{Op: op, Var: n, Err: err}
}

// Get reads a variable with a fresh open and reads until EOF (never by the
// stat size, which O_TRUNC or a concurrent write makes wrong). A missing
// variable and a zero-length phantom file are both [ErrNotFound]. The
// APPEND bit is masked from the attributes.
func (v *Vars) Get(n Name) (*Variable, error) {
	if err := n.Check(); err != nil {
		return nil, err
	}
	f, err := v.b.OpenFile(n.String(), os.O_RDONLY)
	if err != nil {
		return nil, varErr("read", n, err)
	}
	b, err := readAll(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, varErr("read", n, err)
	}
	switch {
	case len(b) == 0:
		return nil, &VarError{Op: "read", Var: n, Err: syscall.ENOENT}
	case len(b) < 4:
		return nil, fmt.Errorf("read %s: %w: %d bytes, shorter than the attributes", n, ErrMalformed, len(b))
	}
	return &Variable{Name: n, Attr: Attr(binary.LittleEndian.Uint32(b)) &^ AppendWrite, Data: b[4:]}, nil
}

func readAll(r io.Reader) ([]byte, error) {
	b := make([]byte, 0, firstRead)
	for {
		if len(b) == cap(b) {
			if len(b) > maxRead {
				return nil, fmt.Errorf("%w: larger than %d bytes", ErrMalformed, maxRead)
			}
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// Names lists the variable names in the directory, sorted; it may include
// phantom files (a zero-length file is only known as one when read).
// Entries whose names are not "Name-GUID" cannot be variables and are
// left out.
func (v *Vars) Names() ([]Name, error) {
	files, err := v.b.ReadDir()
	if err != nil {
		return nil, fmt.Errorf("list variables: %w", err)
	}
	out := make([]Name, 0, len(files))
	for _, f := range files {
		if n, err := ParseName(f); err == nil {
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, nil
}

// List reads every variable, leaving out phantom files and variables that
// vanish while listing.
func (v *Vars) List() ([]*Variable, error) {
	names, err := v.Names()
	if err != nil {
		return nil, err
	}
	out := make([]*Variable, 0, len(names))
	for _, n := range names {
		vr, err := v.Get(n)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, vr)
	}
	return out, nil
}
