package efi_test

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/efi/efitest"
)

var vendor = efi.Name{Name: "SlkitTest", GUID: mustGUID("12345678-1234-1234-1234-123456789abc")}

func mustGUID(s string) efi.GUID {
	g, err := efi.ParseGUID(s)
	if err != nil {
		panic(err)
	}
	return g
}

// spy records what the variable layer asks of the backend and can serve
// reads one byte at a time.
type spy struct {
	efi.Backend
	opens    []int
	writes   [][]byte
	tinyRead bool
}

func (s *spy) OpenFile(name string, flag int) (efi.File, error) {
	s.opens = append(s.opens, flag)
	f, err := s.Backend.OpenFile(name, flag)
	if err != nil {
		return nil, err
	}
	return &spyFile{f, s}, nil
}

type spyFile struct {
	efi.File
	s *spy
}

func (f *spyFile) Write(p []byte) (int, error) {
	f.s.writes = append(f.s.writes, append([]byte(nil), p...))
	return f.File.Write(p)
}

func (f *spyFile) Read(p []byte) (int, error) {
	if f.s.tinyRead && len(p) > 1 {
		p = p[:1]
	}
	return f.File.Read(p)
}

func TestSetIsOneWriteWithoutTrunc(t *testing.T) {
	st := efitest.New()
	sp := &spy{Backend: st}
	v := efi.New(sp)
	long := bytes.Repeat([]byte{0xaa}, 100)
	if err := v.Set(efi.BootOrder, efi.DefaultAttr, long); err != nil {
		t.Fatal(err)
	}
	if err := v.Set(efi.BootOrder, efi.DefaultAttr, []byte{1, 0}); err != nil {
		t.Fatal(err)
	}
	if len(sp.writes) != 2 {
		t.Fatalf("%d write calls for 2 values", len(sp.writes))
	}
	want := []byte{7, 0, 0, 0, 1, 0} // attributes le32, then the value
	if !bytes.Equal(sp.writes[1], want) {
		t.Fatalf("second write % x, want % x", sp.writes[1], want)
	}
	for _, fl := range sp.opens {
		if fl&os.O_TRUNC != 0 {
			t.Fatalf("opened with O_TRUNC (flags %#x)", fl)
		}
	}
	// The shorter value replaced the longer one entirely.
	got, err := v.Get(efi.BootOrder)
	if err != nil || !bytes.Equal(got.Data, []byte{1, 0}) || got.Attr != efi.DefaultAttr {
		t.Fatalf("%v %+v", err, got)
	}
}

func TestGetReadsUntilEOF(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 500)
	st := efitest.New(efitest.WithVariable(vendor, efi.DefaultAttr, data))
	// Truncating the inode makes its stat size 0; the variable is intact.
	f, err := st.OpenFile(vendor.String(), os.O_WRONLY|os.O_TRUNC)
	if !errors.Is(err, syscall.EPERM) { // immutable vendor variable
		t.Fatalf("open O_TRUNC of an immutable file: %v", err)
	}
	st.SetFlags(vendor.String(), 0)
	if f, err = st.OpenFile(vendor.String(), os.O_WRONLY|os.O_TRUNC); err != nil {
		t.Fatal(err)
	}
	f.Close()
	sp := &spy{Backend: st, tinyRead: true}
	got, err := efi.New(sp).Get(vendor)
	if err != nil || !bytes.Equal(got.Data, data) {
		t.Fatalf("read %d bytes, want %d: %v", len(got.Data), len(data), err)
	}
}

func TestImmutableOnlyForAllowListed(t *testing.T) {
	st := efitest.New(efitest.WithVariable(vendor, efi.DefaultAttr, []byte("old")))
	v := efi.New(st)
	err := v.Set(vendor, efi.DefaultAttr, []byte("new"))
	if !errors.Is(err, efi.ErrImmutable) || !errors.Is(err, syscall.EPERM) || !strings.Contains(err.Error(), vendor.String()) {
		t.Fatalf("write to an immutable, unlisted variable: %v", err)
	}
	if _, d, _ := st.Value(vendor); string(d) != "old" {
		t.Fatal("value changed")
	}
	if fl, _ := st.Flags(vendor.String()); fl != efi.FlagImmutable {
		t.Fatal("flag cleared for an unlisted variable")
	}
	if err := v.Delete(vendor); !errors.Is(err, efi.ErrImmutable) {
		t.Fatalf("delete: %v", err)
	}
	p, _ := efi.ParsePattern("*-" + vendor.GUID.String())
	v = efi.New(st, efi.WithMutable(p))
	if err := v.Set(vendor, efi.DefaultAttr, []byte("new")); err != nil {
		t.Fatal(err)
	}
	if _, d, _ := st.Value(vendor); string(d) != "new" {
		t.Fatalf("value %q", d)
	}
	if fl, _ := st.Flags(vendor.String()); fl != efi.FlagImmutable {
		t.Fatal("immutable flag not restored after the write")
	}
	if err := v.Delete(vendor); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Get(vendor); !errors.Is(err, efi.ErrNotFound) {
		t.Fatal(err)
	}
}

func TestCreateNewVendorVariable(t *testing.T) {
	st := efitest.New()
	v := efi.New(st)
	// A new file is writable through the descriptor that created it, even
	// though efivarfs makes it immutable.
	if err := v.Set(vendor, efi.DefaultAttr, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := v.Set(vendor, efi.DefaultAttr, []byte("y")); !errors.Is(err, efi.ErrImmutable) {
		t.Fatalf("second write without allow-list: %v", err)
	}
}

func TestPhantomFiles(t *testing.T) {
	st := efitest.New()
	// What go-uefi's attr.GetAttr does for a missing variable.
	f, err := st.OpenFile(vendor.String(), os.O_RDONLY|os.O_CREATE)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	v := efi.New(st)
	if _, err := v.Get(vendor); !errors.Is(err, efi.ErrNotFound) {
		t.Fatalf("phantom read: %v", err)
	}
	if l, err := v.List(); err != nil || len(l) != 0 {
		t.Fatalf("List shows the phantom: %v %v", l, err)
	}
	names, _ := v.Names()
	if len(names) != 1 {
		t.Fatal("the phantom file is not in the directory")
	}
	// A failed first write leaves a phantom that still reads as absent.
	st.FailNext(efi.BootEntry(5), syscall.EIO)
	err = v.Set(efi.BootEntry(5), efi.DefaultAttr, []byte{1, 0, 0, 0, 4, 0, 'A', 0, 0, 0, 0x7f, 0xff, 4, 0})
	if !errors.Is(err, efi.ErrDevice) {
		t.Fatal(err)
	}
	if _, err := v.Get(efi.BootEntry(5)); !errors.Is(err, efi.ErrNotFound) {
		t.Fatal(err)
	}
}

func TestAppendMaskedOnReadBack(t *testing.T) {
	st := efitest.New()
	v := efi.New(st)
	if err := v.Append(efi.BootOrder, efi.DefaultAttr, []byte{1, 0}); err != nil {
		t.Fatal(err)
	}
	if err := v.Append(efi.BootOrder, efi.DefaultAttr, []byte{2, 0}); err != nil {
		t.Fatal(err)
	}
	got, err := v.Get(efi.BootOrder)
	if err != nil || got.Attr != efi.DefaultAttr || !bytes.Equal(got.Data, []byte{1, 0, 2, 0}) {
		t.Fatalf("%v %v % x", err, got.Attr, got.Data)
	}
}

func TestKernelCheckBeforeTouchingTheFile(t *testing.T) {
	st := efitest.New()
	v := efi.New(st)
	err := v.Set(efi.BootNext, efi.DefaultAttr, []byte{1, 0, 0})
	if !errors.Is(err, efi.ErrInvalid) || !strings.Contains(err.Error(), "exactly 2 bytes") {
		t.Fatalf("%v", err)
	}
	if names, _ := st.ReadDir(); len(names) != 0 || st.Sets() != 0 {
		t.Fatal("an invalid value reached the store")
	}
	if err := v.Set(efi.BootOrder, efi.DefaultAttr|efi.AppendWrite, []byte{1, 0}); !errors.Is(err, efi.ErrInvalid) {
		t.Fatal(err)
	}
	if err := v.Set(efi.BootOrder, 0x100, []byte{1, 0}); !errors.Is(err, efi.ErrInvalid) {
		t.Fatal(err)
	}
}

func TestErrnoSentinels(t *testing.T) {
	st := efitest.New(efitest.WithCapacity(8000), efitest.WithReserve(1000))
	v := efi.New(st)
	if err := v.Set(efi.SecureBoot, efi.BootserviceAccess|efi.RuntimeAccess, []byte{0}); !errors.Is(err, efi.ErrReadOnly) || !errors.Is(err, syscall.EROFS) {
		t.Fatalf("read-only: %v", err)
	}
	if err := v.Set(efi.BootEntry(9), efi.DefaultAttr, bytes.Repeat([]byte{0}, 7000)); !errors.Is(err, efi.ErrInvalid) {
		// not a load option: the kernel check refuses it first
		t.Fatalf("kernel check: %v", err)
	}
	big := bytes.Repeat([]byte{1}, 6000)
	if err := v.Set(efi.OsIndications, efi.DefaultAttr, big); err != nil {
		t.Fatal(err)
	}
	err := v.Set(efi.OsIndications, efi.DefaultAttr, big[1:])
	if !errors.Is(err, efi.ErrNoSpace) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("quota: %v", err)
	}
	if !strings.Contains(err.Error(), "ENOSPC") {
		t.Fatalf("message %q does not name the errno", err)
	}
	st.FailNext(efi.OsIndications, syscall.EINTR)
	if err := v.Delete(efi.OsIndications); err == nil {
		t.Fatal("unlink with an injected failure succeeded")
	}
	if err := v.Delete(efi.Timeout); !errors.Is(err, efi.ErrNotFound) {
		t.Fatalf("delete missing: %v", err)
	}
}

func TestSecureBootState(t *testing.T) {
	st := efitest.New(
		efitest.WithVariable(efi.SecureBoot, efi.BootserviceAccess|efi.RuntimeAccess, []byte{1}),
		efitest.WithVariable(efi.SetupMode, efi.BootserviceAccess|efi.RuntimeAccess, []byte{0}))
	s, err := efi.New(st).SecureBootState()
	if err != nil || !s.SecureBoot || s.SetupMode || s.AuditMode {
		t.Fatalf("%+v %v", s, err)
	}
	st.Put(efi.SetupMode, efi.BootserviceAccess|efi.RuntimeAccess, []byte{2})
	if _, err := efi.New(st).SecureBootState(); !errors.Is(err, efi.ErrMalformed) {
		t.Fatal(err)
	}
}
