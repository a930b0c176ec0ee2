package launch

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/u-root/u-root/pkg/cpio"
)

// TargetLogPath is where the launched kernel finds the pre-launch event
// log: a file in its initramfs (rootfs), unpacked from the cpio archive
// slkit appends to the initrd after measuring it. It is a top-level
// directory because initramfs tools mount a tmpfs over /run.
const TargetLogPath = "/slkit/prelaunch-eventlog.bin"

// initrdAlign is where the appended archive starts: the kernel looks for
// an uncompressed newc header only at 4-byte aligned offsets and skips the
// zero padding between concatenated archives (init/initramfs.c); 512 is
// what u-root's CatInitrds uses and also suits compressed initrds.
const initrdAlign = 512

// HandoverFile is an unmeasured file handed to the launched kernel next to
// the event log, for data whose integrity is enforced otherwise: a sealed
// secret (the TPM releases it only to the measured state) cannot be inside
// the measured initrd, since its policy depends on that initrd's hash.
type HandoverFile struct {
	// Path is absolute, in the launched kernel's initramfs.
	Path string
	Data []byte
}

// LogCpio returns a newc cpio archive holding the event log at
// TargetLogPath (mode 0444, owner root, mtime 0: the same log gives the
// same bytes).
func LogCpio(log []byte) ([]byte, error) { return HandoverCpio(log) }

// HandoverCpio returns a newc cpio archive holding the event log at
// TargetLogPath and the extra files (mode 0444, with their directories),
// reproducibly.
func HandoverCpio(log []byte, files ...HandoverFile) ([]byte, error) {
	var b bytes.Buffer
	w := cpio.Newc.Writer(&b)
	all := append([]HandoverFile{{Path: TargetLogPath, Data: log}}, files...)
	var recs []cpio.Record
	dirs := map[string]bool{}
	for _, f := range all {
		name := strings.TrimPrefix(path.Clean(f.Path), "/")
		if !path.IsAbs(f.Path) || name == "" || name == "." {
			return nil, fmt.Errorf("%w: hand-over path %q is not an absolute file path", ErrEntry, f.Path)
		}
		var parents []string
		for d := path.Dir(name); d != "." && !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
			parents = append([]string{d}, parents...)
		}
		for _, d := range parents {
			recs = append(recs, cpio.Directory(d, 0o755))
		}
		if dirs[name] {
			return nil, fmt.Errorf("%w: hand-over path %q given twice", ErrEntry, f.Path)
		}
		dirs[name] = true
		recs = append(recs, cpio.StaticRecord(f.Data, cpio.Info{Name: name, Mode: cpio.S_IFREG | 0o444, NLink: 1}))
	}
	for i := range recs {
		recs[i].Ino = uint64(i + 1)
		recs[i] = cpio.MakeReproducible(recs[i])
	}
	if err := cpio.WriteRecords(w, recs); err != nil {
		return nil, fmt.Errorf("event log cpio: %w", err)
	}
	if err := cpio.WriteTrailer(w); err != nil {
		return nil, fmt.Errorf("event log cpio: %w", err)
	}
	return b.Bytes(), nil
}

// Handover is what kexec loads.
type Handover struct {
	Kernel io.ReaderAt
	// Initrd is nil for an entry without an initrd.
	Initrd  io.ReaderAt
	Cmdline string
}

// NewHandover builds the hand-over for a measured entry: the kernel as it
// is; the initrd followed by zero padding to a 512-byte boundary and the
// event-log cpio (the kernel unpacks concatenated archives), so that the
// measured initrd bytes are a prefix of what the kernel receives; the
// command line as measured. An entry without an initrd gets none (and the
// log is not handed over: the launched system has no initramfs to find it
// in).
func NewHandover(e *Entry, log []byte, files ...HandoverFile) (*Handover, error) {
	h := &Handover{Kernel: io.NewSectionReader(e.Kernel.R, 0, e.Kernel.Size), Cmdline: e.Cmdline}
	if f, ok := e.Kernel.R.(*os.File); ok {
		// u-root hands a read-only file on tmpfs to kexec_file_load as it
		// is, without a copy; it is the file that was measured.
		h.Kernel = f
	}
	if e.Initrd == nil {
		return h, nil
	}
	arch, err := HandoverCpio(log, files...)
	if err != nil {
		return nil, err
	}
	pad := (initrdAlign - e.Initrd.Size%initrdAlign) % initrdAlign
	h.Initrd = concat(
		io.NewSectionReader(e.Initrd.R, 0, e.Initrd.Size),
		io.NewSectionReader(zeros{}, 0, pad),
		bytes.NewReader(arch),
	)
	return h, nil
}

type zeros struct{}

func (zeros) ReadAt(p []byte, _ int64) (int, error) {
	clear(p)
	return len(p), nil
}

// sized is an io.ReaderAt that knows its size (io.SectionReader,
// bytes.Reader, strings.Reader).
type sized interface {
	io.ReaderAt
	Size() int64
}

// catReaderAt reads parts one after the other without copying them.
type catReaderAt struct {
	parts []sized
	size  int64
}

func concat(parts ...sized) *catReaderAt {
	c := &catReaderAt{parts: parts}
	for _, p := range parts {
		c.size += p.Size()
	}
	return c
}

// Size is the total size.
func (c *catReaderAt) Size() int64 { return c.size }

// ReadAt implements io.ReaderAt.
func (c *catReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	n, base := 0, int64(0)
	for _, part := range c.parts {
		sz := part.Size()
		if len(p) > 0 && off < base+sz {
			want := min(int64(len(p)), base+sz-off)
			m, err := part.ReadAt(p[:want], off-base)
			n, p, off = n+m, p[m:], off+int64(m)
			if int64(m) < want {
				if err == nil || err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return n, err
			}
		}
		base += sz
	}
	if len(p) > 0 {
		return n, io.EOF
	}
	return n, nil
}
