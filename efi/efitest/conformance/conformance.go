// Package conformance is the efivarfs contract that efi/efitest's fake
// promises: one test suite that runs against the fake (efitest.Store) and,
// inside an OVMF guest, against the kernel's efivarfs (efi.OpenBackend of
// /sys/firmware/efi/efivars), so that the fake cannot drift from the
// kernel. It is for tests only.
//
// What it checks, through the efi.Backend system calls only (Linux
// fs/efivarfs over edk2's variable services):
//
//   - phantom: open(O_CREAT) of a missing variable makes an empty,
//     immutable file that reads as empty; once made mutable it can be
//     unlinked; a write through it creates the variable;
//   - immutable: a variable's file not on the kernel's list is immutable
//     (open for write and unlink: EPERM), FS_IOC_SETFLAGS takes only
//     FS_IMMUTABLE_FL (EOPNOTSUPP) and clears it;
//   - replace: every write(2) replaces the whole value, also several on one
//     descriptor; O_TRUNC zeroes only the inode size;
//   - append: EFI_VARIABLE_APPEND_WRITE appends, and the value reads back
//     with the variable's attributes (without the append bit);
//   - delete: a write of the attributes alone deletes the variable and its
//     file;
//   - enospc: writes that would leave less than the store's reserve fail
//     with ENOSPC, and deleting a variable frees nothing before a reboot.
package conformance

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"syscall"
	"testing"

	"github.com/slkit/slkit/efi"
)

// GUID is the vendor GUID of the suite's variables (random, version 4).
var GUID = efi.GUID{0x6c, 0x5d, 0x9a, 0x31, 0x0e, 0x2b, 0x4f, 0x47, 0x9c, 0x11, 0x4d, 0x8e, 0x27, 0x60, 0xb3, 0xa5}

// fsAppendFl is FS_APPEND_FL (include/uapi/linux/fs.h), a flag efivarfs
// does not support.
const fsAppendFl = 0x20

// Run runs the suite against b, each check a subtest, ENOSPC last (it
// leaves the store full). The variables it makes are named
// "SlkitConf…-<GUID>".
func Run(t *testing.T, b efi.Backend) {
	c := &checker{b: b}
	t.Run("phantom", c.phantom)
	t.Run("immutable", c.immutable)
	t.Run("replace", c.replace)
	t.Run("append", c.append)
	t.Run("delete", c.delete)
	t.Run("enospc", c.enospc)
}

type checker struct{ b efi.Backend }

func name(s string) string { return efi.Name{Name: "SlkitConf" + s, GUID: GUID}.String() }

// raw is a write(2) buffer: the attributes, then the data.
func raw(attr efi.Attr, data []byte) []byte {
	return append(binary.LittleEndian.AppendUint32(nil, uint32(attr)), data...)
}

func errno(err error) syscall.Errno {
	var e syscall.Errno
	errors.As(err, &e)
	return e
}

// write opens n with flag and writes each buffer with its own write(2).
func (c *checker) write(n string, flag int, bufs ...[]byte) error {
	f, err := c.b.OpenFile(n, flag)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, b := range bufs {
		if _, err := f.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// read reads n to EOF.
func (c *checker) read(n string) ([]byte, error) {
	f, err := c.b.OpenFile(n, os.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// create makes variable n with data and clears its immutable flag.
func (c *checker) create(t *testing.T, n string, data []byte) {
	t.Helper()
	if err := c.write(n, os.O_WRONLY|os.O_CREATE, raw(efi.DefaultAttr, data)); err != nil {
		t.Fatalf("create %s: %v", n, err)
	}
	if err := c.b.SetFlags(n, 0); err != nil {
		t.Fatalf("clear the immutable flag of %s: %v", n, err)
	}
}

// remove deletes variable n (attributes-only write), ignoring errors.
func (c *checker) remove(n string) {
	c.b.SetFlags(n, 0)
	c.write(n, os.O_WRONLY, raw(efi.DefaultAttr, nil))
}

func (c *checker) expectValue(t *testing.T, n string, want []byte) {
	t.Helper()
	got, err := c.read(n)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("%s reads % x (%v), want % x", n, got, err, want)
	}
}

func (c *checker) phantom(t *testing.T) {
	n := name("Phantom")
	f, err := c.b.OpenFile(n, os.O_RDONLY|os.O_CREATE)
	if err != nil {
		t.Fatalf("open(O_CREAT): %v", err)
	}
	f.Close()
	defer c.remove(n)
	names, err := c.b.ReadDir()
	if err != nil || !slices.Contains(names, n) {
		t.Fatalf("the phantom is not listed (%v)", err)
	}
	if fl, err := c.b.Flags(n); err != nil || fl&efi.FlagImmutable == 0 {
		t.Fatalf("phantom flags %#x (%v), want FS_IMMUTABLE_FL", fl, err)
	}
	if got, err := c.read(n); err != nil || len(got) != 0 {
		t.Fatalf("phantom reads % x (%v), want nothing", got, err)
	}
	if err := c.b.SetFlags(n, 0); err != nil {
		t.Fatal(err)
	}
	// Once mutable it can be unlinked: efivar_entry_delete takes the
	// firmware's EFI_NOT_FOUND as success.
	if err := c.b.Remove(n); err != nil {
		t.Fatalf("unlink of the phantom: %v", err)
	}
	if names, _ := c.b.ReadDir(); slices.Contains(names, n) {
		t.Fatal("the unlinked phantom is still listed")
	}
	// A write through a new phantom creates the variable.
	f, err = c.b.OpenFile(n, os.O_WRONLY|os.O_CREATE)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := c.b.SetFlags(n, 0); err != nil {
		t.Fatal(err)
	}
	if err := c.write(n, os.O_WRONLY, raw(efi.DefaultAttr, []byte("p"))); err != nil {
		t.Fatalf("write to the phantom: %v", err)
	}
	c.expectValue(t, n, raw(efi.DefaultAttr, []byte("p")))
}

func (c *checker) immutable(t *testing.T) {
	n := name("Immutable")
	// The descriptor that created the file may write (FMODE_CREATED).
	if err := c.write(n, os.O_WRONLY|os.O_CREATE, raw(efi.DefaultAttr, []byte("a"))); err != nil {
		t.Fatalf("create: %v", err)
	}
	defer c.remove(n)
	if fl, err := c.b.Flags(n); err != nil || fl&efi.FlagImmutable == 0 {
		t.Fatalf("flags %#x (%v), want FS_IMMUTABLE_FL", fl, err)
	}
	if err := c.write(n, os.O_WRONLY, raw(efi.DefaultAttr, []byte("b"))); errno(err) != syscall.EPERM {
		t.Fatalf("open for write of an immutable file: %v, want EPERM", err)
	}
	if err := c.b.Remove(n); errno(err) != syscall.EPERM {
		t.Fatalf("unlink of an immutable file: %v, want EPERM", err)
	}
	if err := c.b.SetFlags(n, efi.FlagImmutable|fsAppendFl); errno(err) != syscall.EOPNOTSUPP {
		t.Fatalf("FS_APPEND_FL: %v, want EOPNOTSUPP", err)
	}
	if err := c.b.SetFlags(n, 0); err != nil {
		t.Fatal(err)
	}
	if fl, err := c.b.Flags(n); err != nil || fl != 0 {
		t.Fatalf("flags %#x after clearing (%v)", fl, err)
	}
	if err := c.write(n, os.O_WRONLY, raw(efi.DefaultAttr, []byte("b"))); err != nil {
		t.Fatalf("write after clearing: %v", err)
	}
	c.expectValue(t, n, raw(efi.DefaultAttr, []byte("b")))
}

func (c *checker) replace(t *testing.T) {
	n := name("Replace")
	c.create(t, n, []byte("abcdef"))
	defer c.remove(n)
	// Two writes on one descriptor: each is a whole new value, the file
	// offset plays no part (a regular file would hold "xyz" then).
	if err := c.write(n, os.O_WRONLY, raw(efi.DefaultAttr, []byte("xy")), raw(efi.DefaultAttr, []byte("z"))); err != nil {
		t.Fatal(err)
	}
	c.expectValue(t, n, raw(efi.DefaultAttr, []byte("z")))
	// O_TRUNC: the inode size is zero, the variable is untouched.
	f, err := c.b.OpenFile(n, os.O_WRONLY|os.O_TRUNC)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	r, err := c.b.OpenFile(n, os.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	st, ok := r.(interface{ Stat() (fs.FileInfo, error) })
	if !ok {
		t.Fatal("the file has no Stat")
	}
	if fi, err := st.Stat(); err != nil || fi.Size() != 0 {
		t.Fatalf("stat after O_TRUNC: %v %v, want size 0", fi, err)
	}
	c.expectValue(t, n, raw(efi.DefaultAttr, []byte("z")))
}

func (c *checker) append(t *testing.T) {
	n := name("Append")
	c.create(t, n, []byte("ab"))
	defer c.remove(n)
	if err := c.write(n, os.O_WRONLY, raw(efi.DefaultAttr|efi.AppendWrite, []byte("cd"))); err != nil {
		t.Fatalf("append: %v", err)
	}
	c.expectValue(t, n, raw(efi.DefaultAttr, []byte("abcd")))
}

func (c *checker) delete(t *testing.T) {
	n := name("Delete")
	c.create(t, n, []byte("x"))
	if err := c.write(n, os.O_WRONLY, raw(efi.DefaultAttr, nil)); err != nil {
		t.Fatalf("attributes-only write: %v", err)
	}
	if _, err := c.b.OpenFile(n, os.O_RDONLY); errno(err) != syscall.ENOENT {
		t.Fatalf("open after the delete: %v, want ENOENT", err)
	}
	names, _ := c.b.ReadDir()
	if slices.Contains(names, n) {
		t.Fatal("the deleted variable is still listed")
	}
}

// enospc fills the store with 16 KiB variables (at most 64, far more than
// any store holds) until a write fails with ENOSPC; then deleting one of
// them does not make room for another before a reboot.
func (c *checker) enospc(t *testing.T) {
	data := bytes.Repeat([]byte{0xa5}, 16<<10)
	var made []string
	for i := 0; ; i++ {
		if i == 64 {
			t.Fatalf("%d variables of %d bytes written without ENOSPC", i, len(data))
		}
		n := name(fmt.Sprintf("Fill%02d", i))
		err := c.write(n, os.O_WRONLY|os.O_CREATE, raw(efi.DefaultAttr, data))
		if err == nil {
			made = append(made, n)
			continue
		}
		if errno(err) != syscall.ENOSPC {
			t.Fatalf("write %d: %v, want success or ENOSPC", i, err)
		}
		t.Logf("ENOSPC after %d variables of %d bytes", len(made), len(data))
		break
	}
	if len(made) == 0 {
		t.Fatal("the first variable already did not fit")
	}
	c.expectValue(t, made[0], raw(efi.DefaultAttr, data))
	last := made[len(made)-1]
	c.remove(last)
	if _, err := c.read(last); errno(err) != syscall.ENOENT {
		t.Fatalf("%s not deleted: %v", last, err)
	}
	if err := c.write(name("FillAgain"), os.O_WRONLY|os.O_CREATE, raw(efi.DefaultAttr, data)); errno(err) != syscall.ENOSPC {
		t.Fatalf("after a delete, before a reboot: %v, want ENOSPC", err)
	}
}
