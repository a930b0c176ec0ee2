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

// WriteFile atomically replaces path on fsys with data, with mode perm:
// after a crash at any point the file holds either the old or the new
// bytes. Every file slkit writes goes through it (sealed files and their
// update objects, keys, signed policies, event logs, the EFI journal and
// its state, images).
func WriteFile(fsys FS, path string, data []byte, perm fs.FileMode) error {
	return Write(fsys, path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// Write atomically replaces path with what fill writes, with mode perm:
//
//  1. CheckWritable: path is not a symbolic link, nor anything but a
//     regular file (ErrSymlink, ErrNotRegular);
//  2. temporary files an earlier crash left for path are removed;
//  3. a new temporary file in path's directory, with mode perm, gets the
//     data, fsync(2), close;
//  4. rename(2) over path, then fsync(2) of the directory, so that the
//     rename itself survives a power loss.
//
// When a step fails, the temporary file is removed and path is untouched.
func Write(fsys FS, path string, perm fs.FileMode, fill func(io.Writer) error) (err error) {
	if err := checkTarget(fsys, path); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := removeStale(fsys, path); err != nil {
		return writeError(path, err)
	}
	f, err := fsys.CreateTemp(dir, tempPrefix(path)+"*", perm)
	if err != nil {
		return writeError(path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = fsys.Remove(tmp)
		}
	}()
	if err = fill(f); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = fsys.Rename(tmp, path)
	}
	if err != nil {
		return writeError(path, err)
	}
	if err := fsys.SyncDir(dir); err != nil {
		return writeError(path, fmt.Errorf("fsync of the directory: %w", err))
	}
	return nil
}

// writeError is a failure to write path: a *fs.PathError naming path,
// whatever temporary file or system call failed.
func writeError(path string, err error) error {
	var pe *fs.PathError
	var le *os.LinkError
	switch {
	case errors.As(err, &pe):
		err = pe.Err
	case errors.As(err, &le):
		err = le.Err
	}
	return &fs.PathError{Op: "write", Path: path, Err: err}
}

// CheckWritable makes the checks Write makes before writing, and proves
// that path's directory takes a new file (by creating and removing a
// temporary one), so that a caller can find out before an irreversible
// step (a PCR extend, a TPM object) that its result could not be saved.
func CheckWritable(fsys FS, path string) error {
	if err := checkTarget(fsys, path); err != nil {
		return err
	}
	f, err := fsys.CreateTemp(filepath.Dir(path), tempPrefix(path)+"*", 0o600)
	if err != nil {
		return writeError(path, err)
	}
	f.Close()
	if err := fsys.Remove(f.Name()); err != nil {
		return writeError(path, err)
	}
	return nil
}

// checkTarget refuses a path that is a symbolic link (writing through it,
// or replacing it with a regular file, would both surprise: the first
// writes wherever the link points, the second leaves its target stale)
// or an existing non-regular file (a device node, a FIFO, a directory).
func checkTarget(fsys FS, path string) error {
	fi, err := fsys.Lstat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return writeError(path, err)
	case fi.Mode()&fs.ModeSymlink != 0:
		return &fs.PathError{Op: "write", Path: path, Err: ErrSymlink}
	case !fi.Mode().IsRegular():
		return &fs.PathError{Op: "write", Path: path, Err: fmt.Errorf("%w (%s)", ErrNotRegular, typeName(fi.Mode()))}
	}
	return nil
}

// tempPrefix names the temporary files of path's atomic writes.
func tempPrefix(path string) string { return "." + filepath.Base(path) + ".tmp-" }

// removeStale removes temporary files an interrupted write of path left.
// It is best effort: what it cannot remove (a directory someone named like
// a temporary file, on a shared disk) is left alone, since the new
// temporary file gets a fresh random name anyway.
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
