package efitest

import (
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/slkit/slkit/efi"
)

// TestEfivarfsNameRules: the fake creates the firmware name from the file
// name's bytes, one CHAR16 per byte (efivarfs_create, fs/efivarfs/inode.c),
// lists firmware names as UTF-8 with '/' turned into '!'
// (efivarfs_callback, fs/efivarfs/super.c), and refuses file names longer
// than NAME_MAX (255 bytes) as the VFS does. The expected firmware names
// are written out by hand.
func TestEfivarfsNameRules(t *testing.T) {
	s := New()
	guid := "-" + efi.GlobalGUID.String()
	// "é" is the bytes C3 A9: two CHAR16s, U+00C3 U+00A9, i.e. "Ã©".
	if err := writeFile(s, "caf\u00e9"+guid, raw(efi.DefaultAttr, []byte{1})); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := s.Value(efi.Name{Name: "caf\u00e9", GUID: efi.GlobalGUID}); ok {
		t.Error("the firmware holds the UTF-8 name; efivarfs would have stored one CHAR16 per byte")
	}
	if _, _, ok := s.Value(efi.Name{Name: "caf\u00c3\u00a9", GUID: efi.GlobalGUID}); !ok {
		t.Errorf("no firmware variable \"caf\u00c3\u00a9\"; have %v", s.Names())
	}
	s.Reboot()
	names, _ := s.ReadDir()
	if !contains(names, "caf\u00c3\u00a9"+guid) || contains(names, "caf\u00e9"+guid) {
		t.Errorf("after a remount efivarfs lists the firmware's name: %q", names)
	}

	long := strings.Repeat("a", 255-len(guid)+1) + guid
	if err := writeFile(s, long, raw(efi.DefaultAttr, []byte{1})); errno(err) != syscall.ENAMETOOLONG {
		t.Errorf("a %d-byte file name: %v, want ENAMETOOLONG", len(long), err)
	}
	if err := writeFile(s, long[1:], raw(efi.DefaultAttr, []byte{1})); err != nil {
		t.Errorf("a 255-byte file name: %v", err)
	}

	// A firmware variable "A/B" is the file "A!B"; writing "A!B" changes it.
	s.Put(efi.Name{Name: "A/B", GUID: efi.GlobalGUID}, efi.DefaultAttr, []byte{1})
	s.Reboot()
	if err := s.SetFlags("A!B"+guid, 0); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(s, "A!B"+guid, raw(efi.DefaultAttr, []byte{2})); err != nil {
		t.Fatal(err)
	}
	if _, d, _ := s.Value(efi.Name{Name: "A/B", GUID: efi.GlobalGUID}); len(d) != 1 || d[0] != 2 {
		t.Errorf("writing the file A!B did not change the firmware variable A/B: %v", d)
	}
	if _, _, ok := s.Value(efi.Name{Name: "A!B", GUID: efi.GlobalGUID}); ok {
		t.Error("writing A!B created a firmware variable A!B")
	}
}

func writeFile(s *Store, name string, b []byte) error {
	f, err := s.OpenFile(name, os.O_WRONLY|os.O_CREATE)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.Write(b)
	return err
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

var _ = errors.Is
