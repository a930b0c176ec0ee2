package qemu

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestWithDiskArgs(t *testing.T) {
	c := vmConfig{}
	WithDisk("/tmp/a,b.img")(&c)
	WithDisk("/tmp/c.img")(&c)
	want := []string{
		"-drive", "if=none,id=slkitdisk0,format=raw,cache=writeback,file=/tmp/a,,b.img", "-device", "nvme,drive=slkitdisk0,serial=slkitdisk0",
		"-drive", "if=none,id=slkitdisk1,format=raw,cache=writeback,file=/tmp/c.img", "-device", "nvme,drive=slkitdisk1,serial=slkitdisk1",
	}
	if !slices.Equal(c.extra, want) {
		t.Fatalf("args %q", c.extra)
	}
}

// TestExt4RoundTrip makes an image from a directory and reads a file back.
func TestExt4RoundTrip(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	os.MkdirAll(filepath.Join(src, "sub"), 0o755)
	os.WriteFile(filepath.Join(src, "sub", "f"), []byte("journal bytes\x00\x01"), 0o600)
	img := filepath.Join(dir, "disk.img")
	ctx := context.Background()
	if err := MakeExt4(ctx, src, img, 8); err != nil {
		if errors.Is(err, ErrNotInstalled) {
			skipOrFatal(t, err.Error())
		}
		t.Fatal(err)
	}
	if st, err := os.Stat(img); err != nil || st.Size() != 8<<20 {
		t.Fatalf("image: %v %v", st, err)
	}
	b, err := ReadExt4File(ctx, img, "/sub/f")
	if err != nil || string(b) != "journal bytes\x00\x01" {
		t.Fatalf("read back %q %v", b, err)
	}
	if _, err := ReadExt4File(ctx, img, "/nope"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	for _, p := range []string{"/sub/f", "/new"} {
		if err := WriteExt4File(ctx, img, p, []byte("replaced")); err != nil {
			t.Fatal(err)
		}
		if b, err := ReadExt4File(ctx, img, p); err != nil || string(b) != "replaced" {
			t.Fatalf("%s after write: %q %v", p, b, err)
		}
	}
	names, err := ListExt4Dir(ctx, img, "/")
	slices.Sort(names)
	if err != nil || !slices.Equal(names, []string{"lost+found", "new", "sub"}) {
		t.Fatalf("ls /: %q %v", names, err)
	}
}
