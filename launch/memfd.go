package launch

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// sealedFlags are the seals of a finished memFile (memfd_create(2),
// fcntl(2) "File Sealing"): no write, no growing, no shrinking, and no
// change to these seals.
const sealedFlags = unix.F_SEAL_WRITE | unix.F_SEAL_GROW | unix.F_SEAL_SHRINK | unix.F_SEAL_SEAL

// copyChunk is how much of an image is in the process's memory at once
// while it is copied: memory does not grow with the image.
const copyChunk = 1 << 20

// memFile is an anonymous in-memory file (memfd_create(2)): it has no
// path in any file system (another program reaches it only through
// /proc/PID/fd, which needs the access that ptrace of this process needs),
// lives as long as a descriptor does, and can be sealed so that its bytes
// can no longer change, through any descriptor. It is written through rw, by appending
// only, and read through ro, a read-only descriptor of the same file that
// stays valid after seal.
type memFile struct {
	rw, ro *os.File
	size   int64
}

// newMemFile creates an empty memory file, named for /proc/PID/fd. It
// opens the read-only descriptor at once, through /proc/self/fd (which the
// pre-launch environment mounts): a memfd has no other name to open.
func newMemFile(name string) (*memFile, error) {
	fd, err := unix.MemfdCreate("slkit-"+name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING|unix.MFD_NOEXEC_SEAL)
	if errors.Is(err, unix.EINVAL) {
		// MFD_NOEXEC_SEAL is Linux 6.3+; the seals below do not need it.
		fd, err = unix.MemfdCreate("slkit-"+name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: memfd_create: %w", ErrStage, name, err)
	}
	rofd, err := unix.Open("/proc/self/fd/"+strconv.Itoa(fd), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%w: %s: open the memory file read-only (is /proc mounted?): %w", ErrStage, name, err)
	}
	return &memFile{rw: os.NewFile(uintptr(fd), "memfd:slkit-"+name), ro: os.NewFile(uintptr(rofd), "memfd:slkit-"+name)}, nil
}

// copyFrom appends exactly n bytes of r (from offset 0) in copyChunk
// pieces. A source that ends early is an ErrEntry naming what, and
// nothing after n is read.
func (m *memFile) copyFrom(r io.ReaderAt, n int64, what string) error {
	buf := make([]byte, min(n, copyChunk))
	for off := int64(0); off < n; {
		want := min(int64(len(buf)), n-off)
		got, err := r.ReadAt(buf[:want], off)
		if got > 0 {
			if werr := m.write(buf[:got]); werr != nil {
				return werr
			}
			off += int64(got)
		}
		if int64(got) < want {
			if err == nil || errors.Is(err, io.EOF) {
				return fmt.Errorf("%w: %s: read %d of %d bytes (truncated?)", ErrEntry, what, off, n)
			}
			return fmt.Errorf("%w: %s: read: %w", ErrEntry, what, err)
		}
	}
	return nil
}

// write appends b.
func (m *memFile) write(b []byte) error {
	if m.rw == nil {
		return fmt.Errorf("%w: %s is sealed", ErrStage, m.ro.Name())
	}
	n, err := m.rw.WriteAt(b, m.size)
	m.size += int64(n)
	if err != nil {
		return fmt.Errorf("%w: write to %s: %w", ErrStage, m.rw.Name(), err)
	}
	return nil
}

// addSeals adds seals (F_ADD_SEALS, which needs the writable descriptor).
func (m *memFile) addSeals(seals int) error {
	if m.rw == nil {
		return fmt.Errorf("%w: %s is sealed", ErrStage, m.ro.Name())
	}
	if _, err := unix.FcntlInt(m.rw.Fd(), unix.F_ADD_SEALS, seals); err != nil {
		return fmt.Errorf("%w: seal %s: %w", ErrStage, m.ro.Name(), err)
	}
	return nil
}

// seal seals the file for good (sealedFlags) and closes the read-write
// descriptor, so that no descriptor can write it any more:
// kexec_file_load refuses a file that is open for writing
// (kernel_read_file: deny_write_access).
func (m *memFile) seal() error {
	if err := m.addSeals(sealedFlags); err != nil {
		return err
	}
	err := m.rw.Close()
	m.rw = nil
	if err != nil {
		return fmt.Errorf("%w: close %s: %w", ErrStage, m.ro.Name(), err)
	}
	return nil
}

// Close closes both descriptors; the file is gone with the last one.
func (m *memFile) Close() error {
	if m == nil {
		return nil
	}
	var errs []error
	for _, f := range []**os.File{&m.rw, &m.ro} {
		if *f != nil {
			errs = append(errs, (*f).Close())
			*f = nil
		}
	}
	return errors.Join(errs...)
}

// checkSealed reports whether f is a sealed memory file that no
// descriptor of f can write: every seal of sealedFlags, opened read-only.
func checkSealed(f *os.File) error {
	seals, err := unix.FcntlInt(f.Fd(), unix.F_GET_SEALS, 0)
	if err != nil {
		return fmt.Errorf("%s is not a sealed memory file: F_GET_SEALS: %w", f.Name(), err)
	}
	if seals&sealedFlags != sealedFlags {
		return fmt.Errorf("%s is not sealed (seals %#x, want %#x)", f.Name(), seals, sealedFlags)
	}
	fl, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0)
	if err != nil {
		return fmt.Errorf("%s: F_GETFL: %w", f.Name(), err)
	}
	if fl&unix.O_ACCMODE != unix.O_RDONLY {
		return fmt.Errorf("%s is open for writing", f.Name())
	}
	return nil
}
