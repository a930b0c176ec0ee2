package efitest

import (
	"encoding/binary"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/slkit/slkit/efi"
)

var _ efi.Backend = (*Store)(nil)

func pathErr(op, name string, errno syscall.Errno) error {
	return &fs.PathError{Op: op, Path: name, Err: errno}
}

// ReadDir lists the dentries, phantom files included, sorted.
func (s *Store) ReadDir() ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.files))
	for k := range s.files {
		out = append(out, k)
	}
	sort.Strings(out)
	return out, nil
}

// lookup parses a file name as efivarfs does and returns the firmware
// name a new file of that name gets and the dentry key (efivarfs compares
// the GUID part case insensitively, efivarfs_d_compare). A name longer
// than NAME_MAX is ENAMETOOLONG (the VFS refuses it before efivarfs sees
// it); one that is not "Name-GUID" is EINVAL (efivarfs_valid_name).
func lookup(name string) (efi.Name, string, syscall.Errno) {
	if len(name) > nameMax {
		return efi.Name{}, "", syscall.ENAMETOOLONG
	}
	if len(name) < 38 || name[len(name)-37] != '-' {
		return efi.Name{}, "", syscall.EINVAL
	}
	g, err := efi.ParseGUID(name[len(name)-36:])
	if err != nil {
		return efi.Name{}, "", syscall.EINVAL
	}
	part := name[:len(name)-37]
	return efi.Name{Name: charsOf(part), GUID: g}, part + "-" + g.String(), 0
}

// nameMax is NAME_MAX, the longest file name.
const nameMax = 255

// charsOf is the firmware name efivarfs_create makes of a file name: one
// CHAR16 per byte ("var->var.VariableName[i] = dentry->d_name.name[i]",
// fs/efivarfs/inode.c), so every byte above 0x7F becomes its own
// character.
func charsOf(fileName string) string {
	r := make([]rune, len(fileName))
	for i := 0; i < len(fileName); i++ {
		r[i] = rune(fileName[i])
	}
	return string(r)
}

// fileName is the file efivarfs lists for a firmware variable: the name
// as UTF-8 with '/' replaced by '!' (efivarfs_callback,
// fs/efivarfs/super.c), "-", the GUID.
func fileName(n efi.Name) string {
	return strings.ReplaceAll(n.Name, "/", "!") + "-" + n.GUID.String()
}

// OpenFile is open(2) on efivarfs (efivarfs_create, may_open).
func (s *Store) OpenFile(name string, flag int) (efi.File, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, key, errno := lookup(name)
	if errno == syscall.ENAMETOOLONG {
		return nil, pathErr("open", name, errno)
	}
	ino := s.files[key]
	created := false
	switch {
	case errno != 0 && flag&os.O_CREATE != 0:
		return nil, pathErr("open", name, errno)
	case ino == nil && flag&os.O_CREATE == 0:
		return nil, pathErr("open", name, syscall.ENOENT)
	case ino == nil:
		ino = &inode{name: n, immutable: !efi.KernelMutable(n)}
		s.files[key] = ino
		created = true
	case flag&(os.O_CREATE|os.O_EXCL) == os.O_CREATE|os.O_EXCL:
		return nil, pathErr("open", name, syscall.EEXIST)
	}
	write := flag&(os.O_WRONLY|os.O_RDWR) != 0
	// A file being created is opened without a permission check
	// (do_open: FMODE_CREATED); otherwise IS_IMMUTABLE refuses writers.
	if write && !created && ino.immutable {
		return nil, pathErr("open", name, syscall.EPERM)
	}
	if write && !created && flag&os.O_TRUNC != 0 {
		ino.size = 0 // simple_setattr: i_size only, the variable is untouched
	}
	return &file{s: s, ino: ino, key: key, read: !write || flag&os.O_RDWR != 0, write: write}, nil
}

// existing finds the dentry of name (ENOENT if there is none). Called
// with s.mu held.
func (s *Store) existing(op, name string) (string, *inode, error) {
	_, key, errno := lookup(name)
	if errno == syscall.ENAMETOOLONG {
		return key, nil, pathErr(op, name, errno)
	}
	if ino := s.files[key]; ino != nil {
		return key, ino, nil
	}
	return key, nil, pathErr(op, name, syscall.ENOENT)
}

// Remove is unlink(2) (efivarfs_unlink): EPERM on an immutable file,
// EINVAL when the firmware refuses to delete (an authenticated or
// read-only variable). A phantom is unlinked: efivar_entry_delete takes
// the firmware's EFI_NOT_FOUND as success (checked on the Debian 6.1
// kernel over OVMF by rig/e2e TestEfivarfsConformanceOnOVMF).
func (s *Store) Remove(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	key, ino, err := s.existing("remove", name)
	if err != nil {
		return err
	}
	if ino.immutable {
		return pathErr("remove", name, syscall.EPERM)
	}
	if errno := s.setVariable(ino.name, 0, nil); errno != 0 && errno != syscall.ENOENT {
		return pathErr("remove", name, syscall.EINVAL)
	}
	delete(s.files, key)
	ino.unlinked = true
	return nil
}

// Flags is FS_IOC_GETFLAGS.
func (s *Store) Flags(name string) (uint32, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ino, err := s.existing("open", name)
	if err != nil {
		return 0, err
	}
	if ino.immutable {
		return efi.FlagImmutable, nil
	}
	return 0, nil
}

// SetFlags is FS_IOC_SETFLAGS; efivarfs_fileattr_set takes only
// FS_IMMUTABLE_FL (EOPNOTSUPP otherwise).
func (s *Store) SetFlags(name string, flags uint32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ino, err := s.existing("open", name)
	if err != nil {
		return err
	}
	if flags&^efi.FlagImmutable != 0 {
		return pathErr("FS_IOC_SETFLAGS", name, syscall.EOPNOTSUPP)
	}
	ino.immutable = flags&efi.FlagImmutable != 0
	return nil
}

// file is an open efivarfs file.
type file struct {
	s           *Store
	ino         *inode
	key         string
	off         int64
	read, write bool
}

// Read is efivarfs_file_read: the variable is fetched again on every call
// and served from the offset; a phantom reads as empty.
func (f *file) Read(p []byte) (int, error) {
	if !f.read {
		return 0, pathErr("read", f.key, syscall.EBADF)
	}
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	v := f.s.vars[f.ino.name.String()]
	if v == nil || f.ino.unlinked {
		return 0, io.EOF
	}
	b := binary.LittleEndian.AppendUint32(nil, uint32(v.attr))
	b = append(b, v.data...)
	if f.off >= int64(len(b)) {
		return 0, io.EOF
	}
	n := copy(p, b[f.off:])
	f.off += int64(n)
	return n, nil
}

// Write is efivarfs_file_write: one SetVariable per call, offset ignored.
func (f *file) Write(p []byte) (int, error) {
	if !f.write {
		return 0, pathErr("write", f.key, syscall.EBADF)
	}
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	if len(p) < 4 {
		return 0, pathErr("write", f.key, syscall.EINVAL)
	}
	attr := efi.Attr(binary.LittleEndian.Uint32(p))
	data := p[4:]
	if attr&^0x7f != 0 {
		return 0, pathErr("write", f.key, syscall.EINVAL)
	}
	if err := efi.ValidateKernel(f.ino.name, data); err != nil {
		return 0, pathErr("write", f.key, syscall.EINVAL)
	}
	if errno := f.s.setVariable(f.ino.name, attr, data); errno != 0 {
		if errno == syscall.ENOENT {
			errno = syscall.EIO // efivarfs_file_write: "if (bytes == -ENOENT) bytes = -EIO"
		}
		return 0, pathErr("write", f.key, errno)
	}
	if v := f.s.vars[f.ino.name.String()]; v == nil {
		delete(f.s.files, f.key) // the write deleted the variable: d_delete
		f.ino.unlinked = true
	} else {
		f.ino.size = int64(4 + len(v.data))
		if f.ino.unlinked { // written through a stale handle: the variable is back
			f.ino.unlinked = false
			f.s.files[f.key] = f.ino
		}
	}
	return len(p), nil
}

func (f *file) Close() error { return nil }

// Stat reports the inode size, which is what go-uefi's readers trust:
// zero after O_TRUNC although the variable is unchanged.
func (f *file) Stat() (fs.FileInfo, error) {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	return fileInfo{f.key, f.ino.size}, nil
}

type fileInfo struct {
	name string
	size int64
}

func (i fileInfo) Name() string       { return i.name }
func (i fileInfo) Size() int64        { return i.size }
func (i fileInfo) Mode() fs.FileMode  { return 0o644 }
func (i fileInfo) ModTime() time.Time { return time.Time{} }
func (i fileInfo) IsDir() bool        { return false }
func (i fileInfo) Sys() any           { return nil }
