package efi

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// DefaultDir is where efivarfs is mounted.
const DefaultDir = "/sys/firmware/efi/efivars"

// sysfs is the real Backend: an efivarfs mount.
//
// Files are *os.File. Its Write issues one write(2) for a whole value
// (efivarfs answers a successful SetVariable with the full count, so the
// short-write loop never runs). Go retries read(2)/write(2) that fail with
// EINTR: on efivarfs EINTR mostly means that taking efivars_lock or
// efi_runtime_lock (down_interruptible) was interrupted by a signal
// before any firmware call, where a retry is right; after a firmware fault
// (EFI_ABORTED) the kernel disables runtime services and the retry fails
// with EIO, which the journal's errno policy handles. So the EINTR rule of
// that policy acts on backends that report EINTR (the fake, or another
// seam implementation), never as a silent livelock here.
type sysfs struct{ dir string }

// Open returns the variables of the running system: [OpenDir] of
// [DefaultDir].
func Open(opts ...Option) (*Vars, error) { return OpenDir(DefaultDir, opts...) }

// OpenDir returns the variables under an efivarfs mount at dir. It fails
// with [ErrNoEFI] if dir is not an efivarfs mount (statfs magic
// EFIVARFS_MAGIC), so that slkit never writes "variables" into a plain
// directory where none of efivarfs' semantics hold.
func OpenDir(dir string, opts ...Option) (*Vars, error) {
	b, err := OpenBackend(dir)
	if err != nil {
		return nil, err
	}
	return New(b, opts...), nil
}

// OpenBackend returns the Backend of the efivarfs mount at dir (the seam
// [OpenDir] wraps), with the same check; tests run the efivarfs contract
// (efi/efitest/conformance) against it.
func OpenBackend(dir string) (Backend, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrNoEFI, dir, err)
	}
	if uint32(st.Type) != unix.EFIVARFS_MAGIC {
		return nil, fmt.Errorf("%w: %s is not an efivarfs mount", ErrNoEFI, dir)
	}
	return sysfs{dir}, nil
}

func (s sysfs) path(name string) string { return filepath.Join(s.dir, name) }

func (s sysfs) ReadDir() ([]string, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

func (s sysfs) OpenFile(name string, flag int) (File, error) {
	return os.OpenFile(s.path(name), flag|unix.O_NOFOLLOW, 0o644)
}

func (s sysfs) Remove(name string) error { return os.Remove(s.path(name)) }

// Flags opens the file read-only without O_CREAT (go-uefi's attr.GetAttr
// opens with O_CREAT and so leaves a phantom file behind for a missing
// variable).
func (s sysfs) Flags(name string) (uint32, error) {
	f, err := os.OpenFile(s.path(name), os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	v, err := unix.IoctlGetUint32(int(f.Fd()), unix.FS_IOC_GETFLAGS)
	if err != nil {
		return 0, &fs.PathError{Op: "FS_IOC_GETFLAGS", Path: f.Name(), Err: err}
	}
	return v, nil
}

func (s sysfs) SetFlags(name string, flags uint32) error {
	f, err := os.OpenFile(s.path(name), os.O_RDONLY|unix.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	err = unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, int(flags))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		var pe *fs.PathError
		if !errors.As(err, &pe) {
			err = &fs.PathError{Op: "FS_IOC_SETFLAGS", Path: f.Name(), Err: err}
		}
	}
	return err
}
