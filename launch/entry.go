package launch

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/slkit/slkit/tpm"
)

// Image is a kernel or initrd: read through io.ReaderAt (so tests use
// strings.NewReader or a generator, and kexec can reuse an *os.File).
type Image struct {
	// R reads the image; it is read once for measurement.
	R io.ReaderAt
	// Size is the number of bytes measured (and loaded).
	Size int64
	// Name is where the image came from, for messages (a path).
	Name string
	// Pinned are digests of the image given ahead of reading it: the
	// SHA-256 a signed launch policy pins. With R nil, a prediction takes
	// them instead of reading the image (and refuses a bank they lack:
	// ErrNeedImage); with R set, the image is read and must match them
	// (ErrImageMismatch).
	Pinned tpm.Digests
}

// Entry is a boot entry: what a launch measures and hands over to.
type Entry struct {
	Kernel Image
	// Initrd is nil when the entry boots without one.
	Initrd *Image
	// Cmdline is the kernel command line (UTF-8, no NUL; may be empty).
	Cmdline string
	// Policy is the exact bytes of the signed launch policy file, nil when
	// the launch is not driven by a policy (then it is not measured).
	Policy []byte
	// PolicyKey is the PKIX DER encoding of the key Policy verified under
	// (the LaunchPolicyKey component; a profile that measures it needs it
	// whenever there is a policy).
	PolicyKey []byte
}

// Validate checks what can be checked without reading the images.
func (e *Entry) Validate() error {
	if e == nil {
		return fmt.Errorf("%w: no entry", ErrEntry)
	}
	if err := e.Kernel.validate(Kernel); err != nil {
		return err
	}
	if e.Initrd != nil {
		if err := e.Initrd.validate(Initrd); err != nil {
			return err
		}
	}
	return ValidateCmdline(e.Cmdline)
}

// ValidateCmdline accepts any UTF-8 command line without NUL bytes: a NUL
// would end the string the kernel sees, so the measured bytes would not
// be the command line that runs.
func ValidateCmdline(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: command line is not valid UTF-8", ErrEntry)
	}
	if i := strings.IndexByte(s, 0); i >= 0 {
		return fmt.Errorf("%w: command line holds a NUL byte at offset %d", ErrEntry, i)
	}
	return nil
}

func (im *Image) validate(c Component) error {
	switch {
	case im.R == nil && len(im.Pinned) > 0:
		return nil
	case im.R == nil:
		return fmt.Errorf("%w: %s: no image", ErrEntry, c)
	case im.Size <= 0:
		return fmt.Errorf("%w: %s %s: empty image", ErrEntry, c, im.Name)
	}
	return nil
}

func (im *Image) label(c Component) string {
	if im.Name == "" {
		return string(c)
	}
	return string(c) + " " + im.Name
}

// componentBytes returns a reader over the bytes of component c and their
// number, or ok=false when the entry has no such component.
func (e *Entry) componentBytes(c Component) (r io.Reader, im *Image, ok bool) {
	switch c {
	case Kernel:
		return io.NewSectionReader(e.Kernel.R, 0, e.Kernel.Size), &e.Kernel, true
	case Initrd:
		if e.Initrd == nil {
			return nil, nil, false
		}
		return io.NewSectionReader(e.Initrd.R, 0, e.Initrd.Size), e.Initrd, true
	case Cmdline:
		return strings.NewReader(e.Cmdline), nil, true
	case LaunchPolicy:
		if e.Policy == nil {
			return nil, nil, false
		}
		return bytes.NewReader(e.Policy), nil, true
	case LaunchPolicyKey:
		if e.PolicyKey == nil {
			return nil, nil, false
		}
		return bytes.NewReader(e.PolicyKey), nil, true
	}
	return nil, nil, false
}

// digest hashes component c in every bank of algs, reading it once (all
// banks in parallel, in 1 MiB chunks: memory does not grow with the image).
// A short read (an image smaller than its Size) is an error.
func (e *Entry) digest(c Component, algs []tpm.Alg) (tpm.Digests, bool, error) {
	r, im, ok := e.componentBytes(c)
	if !ok {
		if c == LaunchPolicyKey && e.Policy != nil {
			return nil, false, fmt.Errorf("%w: the profile measures the policy key, and the entry has a policy but no policy key", ErrEntry)
		}
		return nil, false, nil
	}
	if im == nil {
		// Command line and policy are small: hash them directly.
		b, _ := io.ReadAll(r)
		ds, err := tpm.HashBytes(algs, b)
		return ds, true, err
	}
	cr := &countingReader{r: r}
	ds, err := tpm.HashReader(algs, cr)
	if err != nil {
		if errors.Is(err, tpm.ErrUnknownAlg) || errors.Is(err, tpm.ErrUnsupportedAlg) {
			return nil, true, err
		}
		return nil, true, fmt.Errorf("%w: %s: read: %w", ErrEntry, im.label(c), err)
	}
	if cr.n != im.Size {
		return nil, true, fmt.Errorf("%w: %s: read %d of %d bytes (truncated?)", ErrEntry, im.label(c), cr.n, im.Size)
	}
	return ds, true, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// OpenImage opens path in fsys as an Image. The file must be a regular
// file whose fs.File implements io.ReaderAt (os.DirFS and fstest.MapFS
// files do); the caller closes the returned io.Closer. Launch reads it
// once, into a sealed memory file (Stage), and kexec gets that copy.
func OpenImage(fsys fs.FS, name string) (Image, io.Closer, error) {
	p := strings.TrimPrefix(path.Clean(name), "/")
	f, err := fsys.Open(p)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return Image{}, nil, fmt.Errorf("%w: %s: %w", ErrEntry, name, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return Image{}, nil, fmt.Errorf("%w: %s: %w", ErrEntry, name, err)
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return Image{}, nil, fmt.Errorf("%w: %s: not a regular file", ErrEntry, name)
	}
	ra, ok := f.(io.ReaderAt)
	if !ok {
		f.Close()
		return Image{}, nil, fmt.Errorf("%w: %s: file system gives no random access", ErrEntry, name)
	}
	return Image{R: ra, Size: st.Size(), Name: name}, f, nil
}
