package fsys

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// Input is a kind of input file slkit reads whole: what it is ("sealed
// file") and its limit, the limit of the package that parses the format.
// Input.Read refuses a larger file, or anything but a regular file (a
// device such as /dev/zero, a FIFO, a directory), before reading more
// than the limit. Kernel and initrd images are streamed instead
// (OpenInput).
type Input struct {
	What string
	Max  int64
	// EmptyOK: an empty file is a valid input of the kind.
	EmptyOK bool
}

// InputError is a problem with an input file, which it names first
// (Path; "" for none): missing, unreadable, empty, oversized, not a
// regular file, or malformed. The CLI's exit code for it is 1 (an input
// error) unless the kind of Err says otherwise.
type InputError struct {
	Path string
	Err  error
}

func (e *InputError) Error() string {
	if e.Path == "" {
		return e.Err.Error()
	}
	return e.Path + ": " + e.Err.Error()
}

func (e *InputError) Unwrap() error { return e.Err }

// NameInput is an *InputError naming path for err, an error of a file
// operation on it, without the *fs.PathError's own operation and path.
func NameInput(path string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return &InputError{path, err}
}

// Read reads the input file path of kind k (OS.ReadFile through k.Max):
// a missing, unreadable, empty, oversized or non-regular file is an
// *InputError naming it.
func (k Input) Read(path string) ([]byte, error) {
	if path == "" {
		return nil, &InputError{"", errors.New("missing file name")}
	}
	b, err := OS{}.ReadFile(path, k.Max)
	if err != nil {
		return nil, &InputError{path, k.problem(err)}
	}
	if len(b) == 0 && !k.EmptyOK {
		return nil, &InputError{path, errors.New("empty file")}
	}
	return b, nil
}

// ReadStream reads an input of kind k from r (standard input, named name)
// through the same limit; it may be empty.
func (k Input) ReadStream(r io.Reader, name string) ([]byte, error) {
	b, err := ReadLimited(r, name, k.Max)
	if err != nil {
		return nil, &InputError{name, k.problem(err)}
	}
	return b, nil
}

// Check makes Read's checks on a file that a package reads later itself,
// so that a bad one is refused before anything else is done; a missing
// file passes when missingOK, and so does path "".
func (k Input) Check(path string, missingOK bool) error {
	if path == "" {
		return nil
	}
	_, err := OS{}.ReadFile(path, k.Max)
	if err == nil || missingOK && errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return &InputError{path, k.problem(err)}
}

// problem says what is wrong with an input of kind k (without the path,
// which InputError puts first).
func (k Input) problem(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	if errors.Is(err, ErrTooLarge) {
		return fmt.Errorf("%s %w (the limit of a %s)", k.What, err, k.What)
	}
	return err
}

// ReadInput reads the input file path of kind k and parses it: an error
// of either is an *InputError naming the file.
func ReadInput[T any](k Input, path string, parse func([]byte) (T, error)) (T, error) {
	var zero T
	b, err := k.Read(path)
	if err != nil {
		return zero, err
	}
	v, err := parse(b)
	if err != nil {
		return zero, &InputError{path, err}
	}
	return v, nil
}

// OpenInput opens an input file for streaming (OpenRegular): a regular
// file only, and a FIFO is refused rather than waited on; a problem is an
// *InputError naming it.
func OpenInput(path string) (*os.File, error) {
	if path == "" {
		return nil, &InputError{"", errors.New("missing file name")}
	}
	f, err := OpenRegular(path)
	if err != nil {
		return nil, NameInput(path, err)
	}
	return f, nil
}

// CheckOutput refuses, before any irreversible step, an output path that
// the atomic writer would refuse (CheckWritable: a symbolic link, a
// non-regular file) or whose directory takes no new file, as an
// *InputError naming it. "-" (standard output) passes.
func CheckOutput(path string) error {
	if path == "-" {
		return nil
	}
	if err := CheckWritable(OS{}, path); err != nil {
		return NameInput(path, err)
	}
	return nil
}

// ReadOptional reads a small file, for example one on a shared disk that
// another system writes: a regular file of at most limit bytes (nothing
// else is opened, so a FIFO cannot block the reader). A missing file is
// nil; any other failure is an *InputError naming path.
func ReadOptional(path string, limit int64) ([]byte, error) {
	b, err := OS{}.ReadFile(path, limit)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, &InputError{Path: path, Err: err}
	}
	return b, nil
}
