package crashfs

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/slkit/slkit/internal/fsys"
)

func TestStrictCrashKeepsOnlyDurable(t *testing.T) {
	c := New()
	c.Put("/d/f", []byte("old"))
	// Unsynced write, renamed but directory not synced.
	f, _ := c.CreateTemp("/d", ".f.tmp-*", 0o600)
	f.Write([]byte("new"))
	f.Close()
	c.Rename(f.Name(), "/d/f")
	if b, _ := c.ReadFile("/d/f", 1<<20); string(b) != "new" {
		t.Fatal("live view")
	}
	c.Crash(nil)
	if b, err := c.ReadFile("/d/f", 1<<20); err != nil || string(b) != "old" {
		t.Fatalf("after crash %q %v", b, err)
	}
	if names, _ := c.ReadDir("/d"); len(names) != 1 {
		t.Fatalf("temp file survived: %v", names)
	}
	// Synced data and synced directory survive.
	if err := fsys.WriteFile(c, "/d/f", []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	c.Crash(nil)
	if b, _ := c.ReadFile("/d/f", 1<<20); string(b) != "new" {
		t.Fatalf("durable write lost: %q", b)
	}
}

func TestCrashPointStopsEverything(t *testing.T) {
	c := New()
	c.CrashAfter(2)
	f, err := c.CreateTemp("/d", "x*", 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("a")); !errors.Is(err, ErrCrashed) {
		t.Fatalf("second op: %v", err)
	}
	if _, err := c.ReadFile("/d/x1", 1<<20); !errors.Is(err, ErrCrashed) || !c.Crashed() {
		t.Fatalf("read after crash: %v", err)
	}
	c.Crash(nil)
	if _, err := c.ReadFile("/d/x1", 1<<20); err == nil {
		t.Fatal("a file whose creation was never made durable exists")
	}
}

// WriteAtomic leaves old or new, never anything else, at every crash
// point under adversarial crashes; a protocol without the fsyncs does not
// (the negative control shows the simulator can catch it).
func TestWriteAtomicAtEveryCrashPoint(t *testing.T) {
	write := func(c *FS, data []byte) error { return fsys.WriteFile(c, "/d/f", data, 0o600) }
	sloppy := func(c *FS, data []byte) error {
		f, err := c.CreateTemp("/d", ".f.tmp-*", 0o600)
		if err != nil {
			return err
		}
		if _, err := f.Write(data); err != nil {
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		return c.Rename(f.Name(), "/d/f")
	}
	old, nw := []byte("old-content"), []byte("new-content-longer")
	for name, w := range map[string]func(*FS, []byte) error{"atomic": write, "sloppy": sloppy} {
		bad := 0
		for seed := uint64(0); seed < 300; seed++ {
			r := rand.New(rand.NewPCG(seed, 1))
			c := New()
			c.Put("/d/f", old)
			c.CrashAfter(1 + r.IntN(8))
			err := w(c, nw)
			// "Crash" even after a completed write: durability is the point.
			c.Crash(r)
			got, rerr := c.ReadFile("/d/f", 1<<20)
			switch {
			case rerr != nil:
				bad++
			case string(got) == string(nw):
			case string(got) == string(old) && err != nil:
			default:
				bad++
			}
		}
		if name == "atomic" && bad != 0 {
			t.Errorf("atomic write: %d crash outcomes were neither old nor new", bad)
		}
		if name == "sloppy" && bad == 0 {
			t.Errorf("the simulator never caught a write without fsync")
		}
	}
}

// TestModeAndLstat: a file's mode is set at creation and survives the
// rename and a crash; Lstat describes live files only.
func TestModeAndLstat(t *testing.T) {
	c := New()
	if err := fsys.WriteFile(c, "/d/f", []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.Crash(nil)
	if m := c.Mode("/d/f"); m != 0o644 {
		t.Fatalf("mode %v after the crash", m)
	}
	fi, err := c.Lstat("/d/f")
	if err != nil || fi.Size() != 3 || fi.Mode() != 0o644 || !fi.Mode().IsRegular() {
		t.Fatalf("Lstat: %v %v", fi, err)
	}
	if _, err := c.Lstat("/d/missing"); err == nil {
		t.Fatal("Lstat of a missing file")
	}
	if _, err := c.ReadFile("/d/f", 2); !errors.Is(err, fsys.ErrTooLarge) {
		t.Fatalf("ReadFile over the limit: %v", err)
	}
}
