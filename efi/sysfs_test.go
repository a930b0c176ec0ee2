package efi

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestOpenDirRefusesPlainDirectory(t *testing.T) {
	if _, err := OpenDir(t.TempDir()); !errors.Is(err, ErrNoEFI) {
		t.Fatalf("%v", err)
	}
	if _, err := OpenDir(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, ErrNoEFI) {
		t.Fatalf("%v", err)
	}
}

// The real backend's flag calls on an ordinary file system: reading the
// flags of a missing file creates nothing (go-uefi's attr.GetAttr would
// create a phantom), and the immutable flag round-trips and blocks
// writers with EPERM, as on efivarfs.
func TestSysfsFlags(t *testing.T) {
	dir := t.TempDir()
	s := sysfs{dir}
	if _, err := s.Flags("Missing-" + GlobalGUID.String()); !errors.Is(err, syscall.ENOENT) {
		t.Fatalf("missing: %v", err)
	}
	if names, _ := s.ReadDir(); len(names) != 0 {
		t.Fatalf("Flags created %v", names)
	}
	name := "Thing-" + GlobalGUID.String()
	os.WriteFile(filepath.Join(dir, name), []byte{7, 0, 0, 0, 1}, 0o644)
	fl, err := s.Flags(name)
	if errors.Is(err, syscall.ENOTTY) || errors.Is(err, syscall.EOPNOTSUPP) {
		// ENOTTY is also what a wrong ioctl number gets: only a machine
		// that may lack the file system support skips.
		skipUnlessRequired(t, "file system without FS_IOC_GETFLAGS: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetFlags(name, fl|FlagImmutable); errors.Is(err, syscall.EPERM) {
		skipUnlessRequired(t, "cannot set the immutable flag here (needs CAP_LINUX_IMMUTABLE): %v", err)
	} else if err != nil {
		t.Fatalf("FS_IOC_SETFLAGS: %v", err)
	}
	t.Cleanup(func() { s.SetFlags(name, fl) })
	if _, err := s.OpenFile(name, os.O_WRONLY); !errors.Is(err, syscall.EPERM) {
		t.Fatalf("write open of an immutable file: %v", err)
	}
	if got, _ := s.Flags(name); got&FlagImmutable == 0 {
		t.Fatal("flag not set")
	}
	if err := s.SetFlags(name, fl); err != nil {
		t.Fatal(err)
	}
	f, err := s.OpenFile(name, os.O_WRONLY)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// skipUnlessRequired skips, or fails under SLKIT_REQUIRE_RIG=1 (make test),
// where the machine is known to give the test what it needs.
func skipUnlessRequired(t *testing.T, format string, a ...any) {
	t.Helper()
	if os.Getenv("SLKIT_REQUIRE_RIG") == "1" {
		t.Fatalf("SLKIT_REQUIRE_RIG=1: "+format, a...)
	}
	t.Skipf(format, a...)
}
