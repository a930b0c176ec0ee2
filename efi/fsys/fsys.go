// Package fsys is the file-system seam under the deferred-commit journal:
// the few calls an atomic replace needs (create a temporary file, write,
// fsync, rename, fsync the directory), so that tests can run the journal
// over efi/efitest/crashfs, which loses everything not made durable at a
// simulated crash. [OS] is the real file system.
//
// internal/atomicfile writes to the OS directly and is kept for the rest
// of slkit; [WriteAtomic] is the same protocol over this seam.
package fsys

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/slkit/slkit/internal/errkind"
)

// Errors of ReadLimit.
var (
	// ErrNotRegular: the path is not a regular file.
	ErrNotRegular = errkind.New(errkind.Input, "not a regular file")
	// ErrTooLarge: the file is larger than the limit.
	ErrTooLarge = errkind.New(errkind.Input, "file too large")
)

// FS is a file system with explicit durability.
type FS interface {
	ReadFile(name string) ([]byte, error)
	// ReadLimit reads a regular file of at most limit bytes: anything
	// else (a directory, a FIFO, a device, a symbolic link, a larger file)
	// is refused before its content is read, with an error wrapping
	// ErrNotRegular or ErrTooLarge. A missing file is fs.ErrNotExist.
	ReadLimit(name string, limit int64) ([]byte, error)
	// ReadDir lists the names in dir.
	ReadDir(dir string) ([]string, error)
	// CreateTemp creates a new file in dir as os.CreateTemp does.
	CreateTemp(dir, pattern string) (File, error)
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

func (OS) ReadFile(name string) ([]byte, error) { return os.ReadFile(name) }

// ReadLimit opens name without following a final symbolic link and
// without blocking (O_NOFOLLOW|O_NONBLOCK: a FIFO opens at once instead of
// waiting for a writer), checks with fstat that it is a regular file of at
// most limit bytes, and reads at most limit+1 bytes, so that a file that
// grows meanwhile is refused too.
func (OS) ReadLimit(name string, limit int64) ([]byte, error) {
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, syscall.ELOOP) {
			return nil, fmt.Errorf("%s: %w: a symbolic link", name, ErrNotRegular)
		}
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w: %s", name, ErrNotRegular, describeMode(st.Mode()))
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("%s: %w: %d bytes, at most %d", name, ErrTooLarge, st.Size(), limit)
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: %w: more than %d bytes", name, ErrTooLarge, limit)
	}
	return b, nil
}

// describeMode names a non-regular file type for a message.
func describeMode(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "not a regular file"
}

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

func (OS) CreateTemp(dir, pattern string) (File, error) { return os.CreateTemp(dir, pattern) }
func (OS) Rename(oldpath, newpath string) error         { return os.Rename(oldpath, newpath) }
func (OS) Remove(name string) error                     { return os.Remove(name) }

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

// tempPrefix names the temporary files of path's atomic writes.
func tempPrefix(path string) string { return "." + filepath.Base(path) + ".tmp-" }

// WriteAtomic replaces path with data so that after a crash at any point
// the file holds either the old or the new bytes: temporary file in the
// same directory, write, fsync, close, rename over path, fsync of the
// directory. Temporary files left by an earlier crash are removed first
// (best effort).
func WriteAtomic(fsys FS, path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	if err := removeStale(fsys, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	f, err := fsys.CreateTemp(dir, tempPrefix(path)+"*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = fsys.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: fsync: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = fsys.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := fsys.SyncDir(dir); err != nil {
		return fmt.Errorf("write %s: fsync %s: %w", path, dir, err)
	}
	return nil
}

// removeStale removes the temporary files an earlier crash left, best
// effort: an entry it cannot remove (a directory someone made with that
// name) is left alone, since the next temporary file gets another name.
func removeStale(fsys FS, path string) error {
	names, err := fsys.ReadDir(filepath.Dir(path))
	if err != nil {
		return err
	}
	for _, n := range names {
		if strings.HasPrefix(n, tempPrefix(path)) {
			_ = fsys.Remove(filepath.Join(filepath.Dir(path), n))
		}
	}
	return nil
}
