package fsys

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteAtomicOS(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "journal")
	// A temporary file left by a crash is cleaned up.
	os.WriteFile(filepath.Join(dir, ".journal.tmp-123"), []byte("half"), 0o600)
	os.WriteFile(filepath.Join(dir, "other"), []byte("keep"), 0o600)
	if err := WriteAtomic(OS{}, p, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := WriteAtomic(OS{}, p, []byte("two")); err != nil {
		t.Fatal(err)
	}
	got, err := OS{}.ReadFile(p)
	if err != nil || string(got) != "two" {
		t.Fatalf("%q %v", got, err)
	}
	names, _ := OS{}.ReadDir(dir)
	if len(names) != 2 {
		t.Fatalf("directory holds %v", names)
	}
	if err := WriteAtomic(OS{}, filepath.Join(dir, "missing", "x"), []byte("x")); err == nil {
		t.Fatal("write into a missing directory succeeded")
	}
}
