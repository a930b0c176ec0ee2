package launch

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"

	"github.com/slkit/slkit/launch/policy"
)

// MaxImageSize is the largest kernel or initrd a launch stages, checked
// before a byte of it is read: the x86 boot protocol's 32-bit
// ramdisk_size (Linux Documentation/arch/x86/boot.rst), which u-root's
// kexec_load path writes, and the emulated DRTM's layout below 4 GiB.
const MaxImageSize = 1<<32 - 1

// Staged holds a launch's images as kexec gets them. Each image is copied
// exactly once from its source, exactly its Size bytes, into an in-memory
// file (memfd_create(2)); every later reader — Measure's hashing, the DRTM
// backend's parsing, kexec_file_load or kexec_load — reads that copy, so
// the bytes measured are the bytes launched, whatever the source (a disk
// with a live writer, a virtual or network disk whose host answers a
// re-read differently) does after the one read.
//
// The kernel's copy is sealed at once (F_SEAL_WRITE, F_SEAL_GROW,
// F_SEAL_SHRINK, F_SEAL_SEAL), before it is hashed. The initrd's copy is
// sealed against shrinking at once; Handover appends the hand-over archive
// to it and then seals it like the kernel's. Only this process holds the
// read-write descriptor until then, and it only appends.
type Staged struct {
	entry          *Entry
	kernel, initrd *memFile
	initrdSize     int64
	built          bool
}

// Stage copies e's kernel and initrd into memory files (see Staged). A
// source shorter than its Size is an ErrEntry; an image above
// MaxImageSize is refused before it is read. The caller closes the
// Staged; e's readers are not used again.
func Stage(e *Entry) (*Staged, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	s := &Staged{entry: &Entry{Cmdline: e.Cmdline, Policy: e.Policy}}
	k, err := stageImage(Kernel, &e.Kernel)
	if err != nil {
		return nil, err
	}
	s.kernel, s.entry.Kernel = k, Image{R: k.ro, Size: e.Kernel.Size, Name: e.Kernel.Name}
	if e.Initrd != nil {
		i, err := stageImage(Initrd, e.Initrd)
		if err != nil {
			s.Close()
			return nil, err
		}
		s.initrd, s.initrdSize = i, e.Initrd.Size
		s.entry.Initrd = &Image{R: i.ro, Size: e.Initrd.Size, Name: e.Initrd.Name}
	}
	return s, nil
}

// stageImage copies one image into a new memory file: the kernel's is
// sealed for good, the initrd's against shrinking (Handover appends).
func stageImage(c Component, im *Image) (*memFile, error) {
	if im.Size > MaxImageSize {
		return nil, fmt.Errorf("%w: %s: %d bytes, more than the %d a launch stages", ErrEntry, im.label(c), im.Size, int64(MaxImageSize))
	}
	m, err := newMemFile(string(c))
	if err != nil {
		return nil, err
	}
	err = m.copyFrom(im.R, im.Size, im.label(c))
	switch {
	case err != nil:
	case c == Kernel:
		err = m.seal()
	default:
		err = m.addSeals(unix.F_SEAL_SHRINK)
	}
	if err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// Entry is the staged entry: its images read the memory files.
func (s *Staged) Entry() *Entry { return s.entry }

// Handover builds what kexec loads, once: the sealed kernel copy; the
// initrd copy followed by zero padding to a 512-byte boundary and the
// hand-over archive (HandoverCpio: the event log and files), sealed — the
// kernel unpacks concatenated archives, and the measured initrd bytes are
// a prefix of what it receives; the command line as measured. An entry
// without an initrd gets none, and the log is not handed over: the
// launched system has no initramfs to find it in.
func (s *Staged) Handover(log []byte, files ...HandoverFile) (*Handover, error) {
	if s.built {
		return nil, fmt.Errorf("%w: the hand-over was already built", ErrStage)
	}
	h := &Handover{Kernel: s.kernel.ro, Cmdline: s.entry.Cmdline}
	if s.initrd == nil {
		s.built = true
		return h, nil
	}
	arch, err := HandoverCpio(log, files...)
	if err != nil {
		return nil, err
	}
	s.built = true
	pad := (initrdAlign - s.initrdSize%initrdAlign) % initrdAlign
	if err := s.initrd.write(make([]byte, pad)); err != nil {
		return nil, err
	}
	if err := s.initrd.write(arch); err != nil {
		return nil, err
	}
	if err := s.initrd.seal(); err != nil {
		return nil, err
	}
	h.Initrd = s.initrd.ro
	return h, nil
}

// Close releases the memory files (and so the Handover's files).
func (s *Staged) Close() error {
	if s == nil {
		return nil
	}
	return errors.Join(s.kernel.Close(), s.initrd.Close())
}

// stageEntry opens the policy entry's images in fsys, stages them and
// closes them again: nothing reads the sources after Stage.
func stageEntry(fsys fs.FS, pe *policy.Entry, signed []byte) (*Staged, error) {
	var closers []io.Closer
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	k, kc, err := OpenImage(fsys, pe.Kernel.Path)
	if err != nil {
		return nil, fmt.Errorf("policy entry %q: %w", pe.Name, err)
	}
	closers = append(closers, kc)
	e := &Entry{Kernel: k, Cmdline: pe.Cmdline, Policy: signed}
	if pe.Initrd != nil {
		i, ic, err := OpenImage(fsys, pe.Initrd.Path)
		if err != nil {
			return nil, fmt.Errorf("policy entry %q: %w", pe.Name, err)
		}
		closers = append(closers, ic)
		e.Initrd = &i
	}
	s, err := Stage(e)
	if err != nil {
		return nil, fmt.Errorf("policy entry %q: %w", pe.Name, err)
	}
	return s, nil
}

// Handover is what kexec loads: sealed, read-only memory files (Staged)
// and the command line.
type Handover struct {
	// Kernel is the kernel exactly as measured.
	Kernel *os.File
	// Initrd is the measured initrd, zero padding and the hand-over
	// archive; nil for an entry without an initrd.
	Initrd  *os.File
	Cmdline string
}
