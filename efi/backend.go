package efi

import "io"

// Backend is the hardware seam: an efivarfs directory with one file per
// variable, named "Name-GUID". Its methods are the system calls efivarfs
// answers (fs/efivarfs/file.c, inode.c), with errors as *fs.PathError
// holding the syscall.Errno, so that the real mount ([Open]) and the fake
// (efi/efitest) are interchangeable under [Vars]:
//
//   - OpenFile is open(2) with os.O_* flags; O_CREATE makes a zero-length
//     "phantom" file (immutable unless on the kernel's list) that exists
//     until a write creates the variable.
//   - every Write on the returned File is one SetVariable call: the first
//     four bytes are the attributes, the rest the whole new value (or,
//     with AppendWrite, the bytes to append); the file offset is ignored.
//   - every Read fetches the variable again and serves it from the file
//     offset; a phantom file reads as empty.
//   - Remove is unlink(2): it deletes the variable (EPERM if immutable).
//   - Flags and SetFlags are FS_IOC_GETFLAGS and FS_IOC_SETFLAGS; efivarfs
//     supports only [FlagImmutable].
type Backend interface {
	ReadDir() ([]string, error)
	OpenFile(name string, flag int) (File, error)
	Remove(name string) error
	Flags(name string) (uint32, error)
	SetFlags(name string, flags uint32) error
}

// File is an open efivarfs file.
type File interface {
	io.Reader
	io.Writer
	io.Closer
}

// FlagImmutable is FS_IMMUTABLE_FL (include/uapi/linux/fs.h).
const FlagImmutable = 0x10
