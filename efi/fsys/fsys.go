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
)

// FS is a file system with explicit durability.
type FS interface {
	ReadFile(name string) ([]byte, error)
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
// directory. Temporary files left by an earlier crash are removed first.
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

func removeStale(fsys FS, path string) error {
	names, err := fsys.ReadDir(filepath.Dir(path))
	if err != nil {
		return err
	}
	for _, n := range names {
		if strings.HasPrefix(n, tempPrefix(path)) {
			if err := fsys.Remove(filepath.Join(filepath.Dir(path), n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}
