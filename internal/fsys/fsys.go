// Package fsys is the file-system seam of every file slkit reads or
// writes, and the one place where slkit reads and writes files:
//
//   - [WriteFile] and [Write], the only atomic writer: a reader, or a
//     reboot, sees the old bytes or the new ones, never a mix (temporary
//     file in the same directory, fsync, rename, fsync of the directory);
//     it refuses to write through, or replace, a symbolic link;
//   - [FS.ReadFile], a bounded read: a file larger than its limit, or
//     anything but a regular file (a device, a FIFO, a directory), is
//     refused before more than the limit is read, and a FIFO never blocks;
//   - [OpenRegular], the same checks for an image that is streamed.
//
// [OS] is the real file system; the crash tests run the same code over
// efi/efitest/crashfs, which loses everything not made durable at a
// simulated power loss.
package fsys

import (
	"io"
	"io/fs"
	"os"

	"github.com/slkit/slkit/internal/errkind"
)

// Errors of the checks made before reading or writing a file.
var (
	// ErrNotRegular: a device, a FIFO, a socket or a directory where a
	// regular file is read or replaced.
	ErrNotRegular = errkind.New(errkind.Input, "not a regular file")
	// ErrTooLarge: a file larger than its kind's limit.
	ErrTooLarge = errkind.New(errkind.Input, "too large")
	// ErrSymlink: an output path that is a symbolic link. slkit neither
	// writes through a link nor replaces it: give the link's target.
	ErrSymlink = errkind.New(errkind.Input, "is a symbolic link (slkit neither writes through a link nor replaces it: give its target)")
)

// FS is a file system with explicit durability.
type FS interface {
	// ReadFile reads the regular file name if it holds at most max
	// bytes; otherwise it fails with ErrTooLarge or ErrNotRegular
	// having read at most max+1 bytes.
	ReadFile(name string, max int64) ([]byte, error)
	// ReadDir lists the names in dir.
	ReadDir(dir string) ([]string, error)
	// Lstat describes name without following a final symbolic link.
	Lstat(name string) (fs.FileInfo, error)
	// CreateTemp creates a new file in dir as os.CreateTemp does, with
	// mode perm.
	CreateTemp(dir, pattern string, perm fs.FileMode) (File, error)
	Rename(oldpath, newpath string) error
	Remove(name string) error
	// SyncDir makes the directory's entries (creations, renames,
	// removals) durable: fsync(2) on the directory.
	SyncDir(dir string) error
}

// File is a file being written.
type File interface {
	io.Writer
	Name() string
	Sync() error
	Close() error
}

// OS is the real file system.
type OS struct{}

func (OS) ReadDir(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(ents))
	for i, e := range ents {
		out[i] = e.Name()
	}
	return out, nil
}

func (OS) Lstat(name string) (fs.FileInfo, error) { return os.Lstat(name) }
func (OS) Rename(oldpath, newpath string) error   { return os.Rename(oldpath, newpath) }
func (OS) Remove(name string) error               { return os.Remove(name) }

// CreateTemp creates the file with os.CreateTemp (mode 0600) and sets
// perm with fchmod(2), which the umask does not narrow.
func (OS) CreateTemp(dir, pattern string, perm fs.FileMode) (File, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return f, nil
}

func (OS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
