package fsys

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestInputRead: each refusal is one *InputError naming the file first,
// with what is wrong; an oversized file names its kind and the limit.
func TestInputRead(t *testing.T) {
	dir := t.TempDir()
	small, empty, fifo := filepath.Join(dir, "small"), filepath.Join(dir, "empty"), filepath.Join(dir, "fifo")
	os.WriteFile(small, []byte("12345678"), 0o600)
	os.WriteFile(empty, nil, 0o600)
	syscall.Mkfifo(fifo, 0o600)
	k := Input{What: "sealed file", Max: 8}
	if b, err := k.Read(small); err != nil || string(b) != "12345678" {
		t.Fatalf("at the limit: %q %v", b, err)
	}
	for _, c := range []struct {
		k          Input
		path, want string
		is         error
	}{
		{Input{What: "sealed file", Max: 7}, small, small + ": sealed file too large: more than 7 bytes (the limit of a sealed file)", ErrTooLarge},
		{k, empty, empty + ": empty file", nil},
		{k, fifo, fifo + ": not a regular file (a FIFO)", ErrNotRegular},
		{k, filepath.Join(dir, "missing"), filepath.Join(dir, "missing") + ": no such file or directory", fs.ErrNotExist},
		{k, "", "missing file name", nil},
	} {
		_, err := c.k.Read(c.path)
		var ie *InputError
		if !errors.As(err, &ie) || ie.Path != c.path || err.Error() != c.want || c.is != nil && !errors.Is(err, c.is) {
			t.Errorf("Read(%q) = %v, want %q", c.path, err, c.want)
		}
	}
	if b, err := (Input{What: "hand-over file", Max: 8, EmptyOK: true}).Read(empty); err != nil || len(b) != 0 {
		t.Errorf("an empty file of a kind that may be empty: %v", err)
	}
	if _, err := k.ReadStream(strings.NewReader("123456789"), "stdin"); err == nil || err.Error() != "stdin: sealed file too large: more than 8 bytes (the limit of a sealed file)" {
		t.Errorf("ReadFrom over the limit: %v", err)
	}
	// Check: a missing file passes only when allowed; a FIFO never.
	if err := k.Check(filepath.Join(dir, "missing"), true); err != nil {
		t.Errorf("Check of a missing file, allowed: %v", err)
	}
	if err := k.Check(filepath.Join(dir, "missing"), false); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Check of a missing file: %v", err)
	}
	if err := k.Check(fifo, true); !errors.Is(err, ErrNotRegular) || !strings.HasPrefix(err.Error(), fifo+": ") {
		t.Errorf("Check of a FIFO: %v", err)
	}
	// ReadInput names the file for a parse error too.
	atoi := func(b []byte) (int, error) { return strconv.Atoi(string(b)) }
	n, err := ReadInput(k, small, atoi)
	if err != nil || n != 12345678 {
		t.Errorf("ReadInput: %d %v", n, err)
	}
	if _, err := ReadInput(k, empty, atoi); err == nil || err.Error() != empty+": empty file" {
		t.Errorf("ReadInput of an empty file: %v", err)
	}
	_, err = ReadInput(Input{What: "number", Max: 8}, small, func([]byte) (int, error) { return 0, errors.New("not a number") })
	if err == nil || err.Error() != small+": not a number" {
		t.Errorf("ReadInput of a bad file: %v", err)
	}
}

// TestOpenInputAndCheckOutput: a streamed input and an output path are
// refused naming the path once, with the reason.
func TestOpenInputAndCheckOutput(t *testing.T) {
	dir := t.TempDir()
	fifo, link := filepath.Join(dir, "fifo"), filepath.Join(dir, "link")
	syscall.Mkfifo(fifo, 0o600)
	os.Symlink(filepath.Join(dir, "target"), link)
	if _, err := OpenInput(fifo); err == nil || err.Error() != fifo+": not a regular file (a FIFO)" {
		t.Errorf("OpenInput(fifo): %v", err)
	}
	if err := CheckOutput(link); !errors.Is(err, ErrSymlink) || !strings.HasPrefix(err.Error(), link+": is a symbolic link") {
		t.Errorf("CheckOutput(link): %v", err)
	}
	if err := CheckOutput("-"); err != nil {
		t.Errorf("CheckOutput(-): %v", err)
	}
	if err := CheckOutput(filepath.Join(dir, "new")); err != nil {
		t.Errorf("CheckOutput of a new file: %v", err)
	}
}

// TestReadOptional: a missing file is nil, a present one its bytes, a
// larger one an input error naming it.
func TestReadOptional(t *testing.T) {
	dir := t.TempDir()
	if b, err := ReadOptional(filepath.Join(dir, "missing"), 8); b != nil || err != nil {
		t.Errorf("missing: %q %v", b, err)
	}
	p := filepath.Join(dir, "f")
	os.WriteFile(p, []byte("entry"), 0o600)
	if b, err := ReadOptional(p, 8); string(b) != "entry" || err != nil {
		t.Errorf("present: %q %v", b, err)
	}
	var ie *InputError
	if _, err := ReadOptional(p, 2); !errors.As(err, &ie) || ie.Path != p {
		t.Errorf("too large: %v", err)
	}
}
