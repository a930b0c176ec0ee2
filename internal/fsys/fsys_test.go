package fsys

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestWriteFileOS(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "journal")
	// A temporary file left by a crash is cleaned up.
	os.WriteFile(filepath.Join(dir, ".journal.tmp-123"), []byte("half"), 0o600)
	os.WriteFile(filepath.Join(dir, "other"), []byte("keep"), 0o600)
	if err := WriteFile(OS{}, p, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(OS{}, p, []byte("two"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil || string(got) != "two" {
		t.Fatalf("%q %v", got, err)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o644 {
		t.Fatalf("mode %v", fi.Mode())
	}
	names, _ := OS{}.ReadDir(dir)
	if len(names) != 2 {
		t.Fatalf("directory holds %v", names)
	}
	if err := WriteFile(OS{}, filepath.Join(dir, "missing", "x"), []byte("x"), 0o600); err == nil {
		t.Fatal("write into a missing directory succeeded")
	}
}

func TestFailedFillKeepsOldContent(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out")
	if err := WriteFile(OS{}, p, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := Write(OS{}, p, 0o600, func(w io.Writer) error {
		w.Write([]byte("half"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
	if got, _ := os.ReadFile(p); string(got) != "old" {
		t.Fatalf("content %q after failed write", got)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("temp file left behind: %d entries", len(ents))
	}
}

// TestWriteRefusesLinksAndSpecialFiles: a symbolic link (to a file, or
// dangling) and a non-regular file are refused, and left as they were.
func TestWriteRefusesLinksAndSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	os.WriteFile(target, []byte("target"), 0o600)
	link, dangling, fifo := filepath.Join(dir, "link"), filepath.Join(dir, "dangling"), filepath.Join(dir, "fifo")
	os.Symlink(target, link)
	os.Symlink(filepath.Join(dir, "nowhere"), dangling)
	syscall.Mkfifo(fifo, 0o600)
	for p, want := range map[string]error{link: ErrSymlink, dangling: ErrSymlink, fifo: ErrNotRegular, dir: ErrNotRegular, "/dev/null": ErrNotRegular} {
		if err := WriteFile(OS{}, p, []byte("new"), 0o600); !errors.Is(err, want) {
			t.Errorf("write %s: %v, want %v", p, err, want)
		}
		if err := CheckWritable(OS{}, p); !errors.Is(err, want) {
			t.Errorf("check %s: %v, want %v", p, err, want)
		}
	}
	if b, _ := os.ReadFile(target); string(b) != "target" {
		t.Fatalf("the link's target changed: %q", b)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatal("the link was replaced")
	}
	if _, err := os.Lstat(filepath.Join(dir, "nowhere")); err == nil {
		t.Fatal("the dangling link's target was created")
	}
	if err := CheckWritable(OS{}, filepath.Join(dir, "new")); err != nil {
		t.Fatal(err)
	}
	if err := CheckWritable(OS{}, "/proc/no-such-dir/x"); err == nil {
		t.Fatal("CheckWritable accepted a directory that takes no file")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 4 {
		t.Fatalf("directory holds %d entries, want 4", len(ents))
	}
}

// TestReadFileBounded: a regular file within the limit is read; anything
// larger, and anything that is not a regular file, is refused without
// reading it (a FIFO without a writer does not block).
func TestReadFileBounded(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small")
	os.WriteFile(small, []byte("12345678"), 0o600)
	sparse := filepath.Join(dir, "sparse")
	f, _ := os.Create(sparse)
	f.Truncate(1 << 30)
	f.Close()
	fifo := filepath.Join(dir, "fifo")
	syscall.Mkfifo(fifo, 0o600)
	if b, err := (OS{}).ReadFile(small, 8); err != nil || string(b) != "12345678" {
		t.Fatalf("at the limit: %q %v", b, err)
	}
	for p, want := range map[string]error{small + "@7": ErrTooLarge, sparse: ErrTooLarge, fifo: ErrNotRegular, "/dev/zero": ErrNotRegular, dir: ErrNotRegular} {
		name, max := p, int64(1<<20)
		if p == small+"@7" {
			name, max = small, 7
		}
		if _, err := (OS{}).ReadFile(name, max); !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", p, err, want)
		}
	}
	// securityfs and procfs files report size 0: the limit still holds.
	if b, err := (OS{}).ReadFile("/proc/self/status", 1<<20); err != nil || len(b) == 0 {
		t.Fatalf("/proc/self/status: %d bytes, %v", len(b), err)
	}
	if _, err := (OS{}).ReadFile("/proc/self/status", 16); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("/proc/self/status over a 16-byte limit: %v", err)
	}
	if _, err := OpenRegular(fifo); !errors.Is(err, ErrNotRegular) {
		t.Fatalf("OpenRegular(fifo): %v", err)
	}
}
