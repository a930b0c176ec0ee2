package efitest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"os"
	"syscall"
	"testing"

	"github.com/slkit/slkit/efi"
)

var vendor = efi.Name{Name: "V", GUID: efi.GUID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}}

func raw(attr efi.Attr, data []byte) []byte {
	return append(binary.LittleEndian.AppendUint32(nil, uint32(attr)), data...)
}

func write(t *testing.T, s *Store, n efi.Name, flag int, chunks ...[]byte) error {
	t.Helper()
	f, err := s.OpenFile(n.String(), flag)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, c := range chunks {
		if _, err := f.Write(c); err != nil {
			return err
		}
	}
	return nil
}

func readFile(t *testing.T, s *Store, n efi.Name) []byte {
	t.Helper()
	f, err := s.OpenFile(n.String(), os.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func errno(err error) syscall.Errno {
	var e syscall.Errno
	errors.As(err, &e)
	return e
}

// A write replaces the whole value (unlike a regular file, where a shorter
// write leaves the old tail), and every write on one descriptor is a
// separate SetVariable that ignores the offset.
func TestWriteReplacesWholeValue(t *testing.T) {
	s := New()
	if err := write(t, s, efi.BootOrder, os.O_WRONLY|os.O_CREATE, raw(7, []byte{1, 0, 2, 0, 3, 0})); err != nil {
		t.Fatal(err)
	}
	if err := write(t, s, efi.BootOrder, os.O_WRONLY, raw(7, []byte{9, 0}), raw(7, []byte{8, 0})); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, s, efi.BootOrder); !bytes.Equal(got, []byte{7, 0, 0, 0, 8, 0}) {
		t.Fatalf("file holds % x", got)
	}
	// A 4-byte write of attributes only deletes the variable and its file.
	if err := write(t, s, efi.BootOrder, os.O_WRONLY, raw(7, nil)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.OpenFile(efi.BootOrder.String(), os.O_RDONLY); errno(err) != syscall.ENOENT {
		t.Fatalf("after delete: %v", err)
	}
}

// O_TRUNC zeroes the inode size only: a reader that trusts stat (go-uefi's
// ReadEfivarsFile) gets nothing, one that reads to EOF gets the value.
func TestTruncOnlyZeroesStatSize(t *testing.T) {
	s := New(WithVariable(efi.BootOrder, 7, []byte{1, 0}))
	f, err := s.OpenFile(efi.BootOrder.String(), os.O_WRONLY|os.O_TRUNC)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	r, _ := s.OpenFile(efi.BootOrder.String(), os.O_RDONLY)
	fi, _ := r.(interface{ Stat() (fs.FileInfo, error) }).Stat()
	if fi.Size() != 0 {
		t.Fatalf("stat size %d after O_TRUNC", fi.Size())
	}
	if got := readFile(t, s, efi.BootOrder); !bytes.Equal(got, []byte{7, 0, 0, 0, 1, 0}) {
		t.Fatalf("value % x", got)
	}
}

func TestImmutableAndPhantom(t *testing.T) {
	s := New(WithVariable(vendor, 7, []byte("a")))
	if err := write(t, s, vendor, os.O_WRONLY, raw(7, []byte("b"))); errno(err) != syscall.EPERM {
		t.Fatalf("write to immutable: %v", err)
	}
	if err := s.Remove(vendor.String()); errno(err) != syscall.EPERM {
		t.Fatalf("unlink immutable: %v", err)
	}
	if err := s.SetFlags(vendor.String(), 0x20); errno(err) != syscall.EOPNOTSUPP {
		t.Fatalf("FS_APPEND_FL: %v", err)
	}
	if err := s.SetFlags(vendor.String(), 0); err != nil {
		t.Fatal(err)
	}
	if err := write(t, s, vendor, os.O_WRONLY, raw(7, []byte("b"))); err != nil {
		t.Fatal(err)
	}
	// A phantom: created, never written.
	ph := efi.Name{Name: "Ghost", GUID: vendor.GUID}
	f, err := s.OpenFile(ph.String(), os.O_RDONLY|os.O_CREATE)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if fl, _ := s.Flags(ph.String()); fl != efi.FlagImmutable {
		t.Fatal("a new vendor file is not immutable")
	}
	if got := readFile(t, s, ph); len(got) != 0 {
		t.Fatalf("phantom reads % x", got)
	}
	names, _ := s.ReadDir()
	if len(names) != 2 {
		t.Fatalf("dir %v", names)
	}
	s.Reboot()
	if names, _ = s.ReadDir(); len(names) != 1 {
		t.Fatalf("phantom survived a reboot: %v", names)
	}
	if fl, _ := s.Flags(vendor.String()); fl != efi.FlagImmutable {
		t.Fatal("mount did not make the vendor file immutable again")
	}
	// A kernel-listed file is created mutable.
	if err := write(t, s, efi.Timeout, os.O_WRONLY|os.O_CREATE, raw(7, []byte{5, 0})); err != nil {
		t.Fatal(err)
	}
	if fl, _ := s.Flags(efi.Timeout.String()); fl != 0 {
		t.Fatal("Timeout is immutable")
	}
}

func TestKernelAndFirmwareRefusals(t *testing.T) {
	s := New(WithVariable(vendor, 7, []byte("a")))
	s.SetFlags(vendor.String(), 0)
	for name, c := range map[string]struct {
		n    efi.Name
		data []byte
		want syscall.Errno
	}{
		"short write":       {vendor, []byte{7, 0}, syscall.EINVAL},
		"unknown attribute": {vendor, raw(0x87, []byte("x")), syscall.EINVAL},
		"BootNext 3 bytes":  {efi.BootNext, raw(7, []byte{1, 2, 3}), syscall.EINVAL},
		"attribute change":  {vendor, raw(3, []byte("x")), syscall.EINVAL},
		"RT without BS":     {efi.Timeout, raw(5, []byte{1, 0}), syscall.EINVAL},
		"read-only":         {efi.SecureBoot, raw(6, []byte{0}), syscall.EROFS},
		"HW error record":   {vendor, raw(0xf, []byte("x")), syscall.EINVAL},
		"delete missing":    {efi.Name{Name: "Missing", GUID: vendor.GUID}, raw(7, nil), syscall.EIO},
		"Timeout empty":     {efi.Timeout, raw(7, nil), syscall.EINVAL},
	} {
		if err := write(t, s, c.n, os.O_WRONLY|os.O_CREATE, c.data); errno(err) != c.want {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}

// OVMF's PcdMaxVariableSize 0x8400 covers the 60-byte header, the UTF-16
// name with NUL ("V" -> 4 bytes) and the data: 33792-64 = 33728 bytes of
// data fit, one more is EINVAL.
func TestSizeLimit(t *testing.T) {
	s := New()
	if err := write(t, s, vendor, os.O_WRONLY|os.O_CREATE, raw(7, make([]byte, 33728))); err != nil {
		t.Fatal(err)
	}
	s.SetFlags(vendor.String(), 0)
	if err := write(t, s, vendor, os.O_WRONLY, raw(7, make([]byte, 33729))); errno(err) != syscall.EINVAL {
		t.Fatalf("one byte over: %v", err)
	}
	if err := write(t, s, vendor, os.O_WRONLY, raw(7|efi.AppendWrite, []byte{1})); errno(err) != syscall.EINVAL {
		t.Fatalf("append over the limit: %v", err)
	}
}

// Capacity 10000, reserve 1000: 9000 bytes for records. A record for "Q"
// with 1000 bytes is 60+4+1000 = 1064 (already 4-aligned): 8 fit (8512),
// the 9th does not. Replacing or deleting frees nothing until a reboot.
func TestQuotaReclaimedOnlyAtReboot(t *testing.T) {
	s := New(WithCapacity(10000), WithReserve(1000))
	q := efi.Name{Name: "Q", GUID: vendor.GUID}
	for i := 0; i < 8; i++ {
		s.SetFlags(q.String(), 0)
		if err := write(t, s, q, os.O_WRONLY|os.O_CREATE, raw(7, bytes.Repeat([]byte{byte(i)}, 1000))); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	if s.Used() != 8*1064 {
		t.Fatalf("used %d, want %d", s.Used(), 8*1064)
	}
	if err := write(t, s, q, os.O_WRONLY, raw(7, bytes.Repeat([]byte{9}, 1000))); errno(err) != syscall.ENOSPC {
		t.Fatalf("9th write: %v", err)
	}
	// The same value again needs no new record (edk2 skips identical writes).
	if err := write(t, s, q, os.O_WRONLY, raw(7, bytes.Repeat([]byte{7}, 1000))); err != nil {
		t.Fatalf("identical write: %v", err)
	}
	if err := write(t, s, q, os.O_WRONLY, raw(7, nil)); err != nil {
		t.Fatal(err)
	}
	if err := write(t, s, q, os.O_WRONLY|os.O_CREATE, raw(7, bytes.Repeat([]byte{1}, 1000))); errno(err) != syscall.ENOSPC {
		t.Fatalf("after delete, before reboot: %v", err)
	}
	s.Reboot()
	if s.Used() != 0 {
		t.Fatalf("used %d after reclaim", s.Used())
	}
	if err := write(t, s, q, os.O_WRONLY|os.O_CREATE, raw(7, []byte{1})); err != nil {
		t.Fatalf("after reboot: %v", err)
	}
}

func auth(sec uint8, payload []byte) []byte {
	a := efi.Auth2{Time: efi.Time{Year: 2025, Month: 1, Day: 1, Second: sec}, Cert: []byte("sig"), Payload: payload}
	return a.Marshal()
}

func sha256List(digest byte) []byte {
	l := []efi.SignatureList{{Type: efi.GUID{0x26, 0x16, 0xc4, 0xc1}, Size: 48,
		Signatures: []efi.SignatureData{{Owner: vendor.GUID, Data: bytes.Repeat([]byte{digest}, 32)}}}}
	b, _ := efi.MarshalSignatureLists(l)
	return b
}

func TestAuthenticatedWrites(t *testing.T) {
	const at = 0x27 // NV|BS|RT|AT
	s := New()
	if err := write(t, s, efi.Db, os.O_WRONLY|os.O_CREATE, raw(at, auth(10, sha256List(1)))); err != nil {
		t.Fatal(err)
	}
	s.SetFlags(efi.Db.String(), 0)
	// Replaying the same replace, or an older one, is a security violation.
	for _, sec := range []uint8{10, 9} {
		if err := write(t, s, efi.Db, os.O_WRONLY, raw(at, auth(sec, sha256List(2)))); errno(err) != syscall.EACCES {
			t.Fatalf("replace at second %d: %v", sec, err)
		}
	}
	// An append needs no newer timestamp and drops duplicates.
	if err := write(t, s, efi.Db, os.O_WRONLY, raw(at|efi.AppendWrite, auth(1, sha256List(2)))); err != nil {
		t.Fatal(err)
	}
	sets := s.Sets()
	if err := write(t, s, efi.Db, os.O_WRONLY, raw(at|efi.AppendWrite, auth(1, sha256List(2)))); err != nil {
		t.Fatal(err)
	}
	_, v, _ := s.Value(efi.Db)
	if !bytes.Equal(v, append(sha256List(1), sha256List(2)...)) || s.Sets() != sets {
		t.Fatalf("replayed append changed the database (%d bytes)", len(v))
	}
	// The appended timestamp (second 1) did not lower the stored one (10).
	if err := write(t, s, efi.Db, os.O_WRONLY, raw(at, auth(10, sha256List(3)))); errno(err) != syscall.EACCES {
		t.Fatalf("timestamp went backwards: %v", err)
	}
	if err := write(t, s, efi.Db, os.O_WRONLY, raw(at, auth(11, sha256List(3)))); err != nil {
		t.Fatal(err)
	}
	if err := write(t, s, efi.Db, os.O_WRONLY, raw(7, sha256List(3))); errno(err) != syscall.EACCES {
		t.Fatalf("unauthenticated write: %v", err)
	}
	if err := s.Remove(efi.Db.String()); errno(err) != syscall.EINVAL {
		t.Fatalf("unlink of an authenticated variable: %v", err)
	}
	bad := auth(12, sha256List(4))
	bad[20] = 1 // wRevision
	if err := write(t, s, efi.Db, os.O_WRONLY, raw(at, bad)); errno(err) != syscall.EACCES {
		t.Fatalf("bad descriptor: %v", err)
	}
	// A signed empty payload deletes.
	if err := write(t, s, efi.Db, os.O_WRONLY, raw(at, auth(12, nil))); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := s.Value(efi.Db); ok {
		t.Fatal("db not deleted")
	}
	s2 := New(WithAuthVerifier(func(efi.Name, *efi.Auth2) bool { return false }))
	if err := write(t, s2, efi.Db, os.O_WRONLY|os.O_CREATE, raw(at, auth(1, sha256List(1)))); errno(err) != syscall.EACCES {
		t.Fatalf("refused signature: %v", err)
	}
}

func TestFaultsAndReboot(t *testing.T) {
	s := New()
	s.FailNext(efi.BootNext, syscall.EIO, syscall.EINTR)
	for _, want := range []syscall.Errno{syscall.EIO, syscall.EINTR, 0} {
		err := write(t, s, efi.BootNext, os.O_WRONLY|os.O_CREATE, raw(7, []byte{3, 0}))
		if errno(err) != want {
			t.Fatalf("got %v, want %v", err, want)
		}
	}
	s.Reboot()
	if _, _, ok := s.Value(efi.BootNext); ok {
		t.Fatal("BootNext not consumed")
	}
	if _, v, _ := s.Value(efi.BootCurrent); !bytes.Equal(v, []byte{3, 0}) || !bytes.Equal(s.ConsumedBootNext(), []byte{3, 0}) {
		t.Fatalf("BootCurrent % x", v)
	}
}
