package journal

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/efi/efitest"
)

// A forged state file that marks a signed entry done does not stop it
// from being applied: done means a fresh read shows the target value.
func TestForgedStateDoesNotMarkDone(t *testing.T) {
	r := newRig(t, efitest.WithVariable(efi.BootOrder, efi.DefaultAttr, []byte{1, 0}))
	r.mustEnqueue(set(vendorVar, []byte("security fix")), set(efi.BootOrder, []byte{2, 0, 1, 0}))
	r.forgeState(func(s *State) {
		s.Entries[0].Status = Done
		s.Runs = 1
	})
	res := r.mustRun()
	if got, _ := r.value(vendorVar); string(got) != "security fix" {
		t.Fatalf("entry 1 was skipped because the state said done: %v, outcomes %v", got, outcomes(res))
	}
	if !reflect.DeepEqual(outcomes(res), []Outcome{Applied, Applied}) {
		t.Fatalf("outcomes %v", outcomes(res))
	}
	// Entries that really are done read back as done, with no write.
	sets := r.store.Sets()
	if res := r.mustRun(); !reflect.DeepEqual(outcomes(res), []Outcome{DoneEarlier, DoneEarlier}) || r.store.Sets() != sets {
		t.Fatalf("second run: %v, %d sets", outcomes(res), r.store.Sets()-sets)
	}
}

// Tries-left read from the state is capped at the configured tries.
func TestForgedTriesCapped(t *testing.T) {
	r := newRig(t, efitest.WithVariable(vendorVar, efi.DefaultAttr, []byte("old")))
	r.mustEnqueue(set(vendorVar, []byte("new")))
	r.forgeState(func(s *State) {
		s.Entries[0].TriesLeft = 255
		s.Runs = 1
	})
	writes := 0
	vars := efi.New(eioWriter{Backend: r.store, n: &writes}, efi.WithMutable(vendorAll))
	for boot := 0; boot < 10; boot++ {
		if _, err := Commit(t.Context(), vars, r.j, r.s, pubOf(r.key), r.opts()...); err != nil {
			t.Fatal(err)
		}
	}
	if writes != DefaultTries {
		t.Fatalf("%d write attempts, want at most --tries = %d", writes, DefaultTries)
	}
}

// eioWriter fails every write to vendorVar with EIO, counting them.
type eioWriter struct {
	efi.Backend
	n *int
}

func (b eioWriter) OpenFile(name string, flag int) (efi.File, error) {
	f, err := b.Backend.OpenFile(name, flag)
	if err != nil || name != vendorVar.String() || flag == os.O_RDONLY {
		return f, err
	}
	return eioWrite{f, b.n}, nil
}

type eioWrite struct {
	efi.File
	n *int
}

func (f eioWrite) Write([]byte) (int, error) {
	*f.n++
	return 0, syscall.EIO
}

// An entry whose variable efivarfs cannot create under its name fails at
// once; the entries after it are applied in the same boot.
func TestBadNameDoesNotHoldBack(t *testing.T) {
	r := newRig(t)
	long := efi.Name{Name: strings.Repeat("L", efi.MaxNameLen+1), GUID: vendorGUID}
	// A journal from an older slkit (which allowed the name), signed.
	r.disk.Put(r.j, rawJournal(r.key, 1, []Entry{
		{Seq: 1, Change: set(long, []byte{1})},
		{Seq: 2, Change: set(vendorVar, []byte("after"))},
	}))
	res := r.mustRun()
	if got, _ := r.value(vendorVar); string(got) != "after" {
		t.Fatalf("the entry after the bad one was held back: %v", outcomes(res))
	}
	if res.Entries[0].Outcome != FailedNow || !strings.Contains(res.Entries[0].Detail, "efivarfs") {
		t.Fatalf("bad name: %+v", res.Entries[0])
	}
	// And slkit never queues such a name.
	if _, err := r.enqueue(set(long, []byte{1})); !errors.Is(err, ErrMalformed) {
		t.Fatalf("enqueue of a name efivarfs cannot create: %v", err)
	}
}

// The default allow-list is the documented one: BootOrder-like names that
// are not BootOrder or Boot#### are refused, and nothing may be queued
// for LINUX_EFI_CRASH_GUID, even when allowed explicitly.
func TestDefaultAllowList(t *testing.T) {
	for _, n := range []efi.Name{{Name: "BootOrderX", GUID: efi.GlobalGUID}, {Name: "Boot00ab", GUID: efi.GlobalGUID}, {Name: "ConInX", GUID: efi.GlobalGUID}} {
		r := newRig(t)
		r.disk.Put(r.j, rawJournal(r.key, 1, []Entry{{Seq: 1, Change: set(n, loadOption("x"))}}))
		if _, err := Commit(t.Context(), efi.New(r.store), r.j, r.s, pubOf(r.key), WithFS(r.disk)); !errors.Is(err, ErrNotAllowed) {
			t.Errorf("%s: %v", n, err)
		}
	}
	r := newRig(t)
	crash := efi.Name{Name: "dump-type0-1-1", GUID: efi.LinuxCrashGUID}
	r.disk.Put(r.j, rawJournal(r.key, 1, []Entry{{Seq: 1, Change: set(crash, []byte("x"))}}))
	all := efi.Pattern{Name: "*", GUID: efi.LinuxCrashGUID}
	if _, err := Commit(t.Context(), efi.New(r.store), r.j, r.s, pubOf(r.key), WithFS(r.disk), WithAllowed(all)); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("crash GUID: %v", err)
	}
}

// A plain append says what it appends to: without a precondition a fresh
// read cannot tell an applied append from one that was not, so it is
// refused at queue time; with one, losing the state does not apply it
// twice.
func TestAppendNeedsPrecondition(t *testing.T) {
	r := newRig(t, efitest.WithVariable(vendorVar, efi.DefaultAttr, []byte("0")))
	if _, err := r.enqueue(Change{Op: OpAppend, Var: vendorVar, Attr: efi.DefaultAttr, Data: []byte("1")}); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "precondition") {
		t.Fatalf("plain append without a precondition: %v", err)
	}
	r.mustEnqueue(Change{Op: OpAppend, Var: vendorVar, Attr: efi.DefaultAttr, Data: []byte("1"), Expect: ExpectData([]byte("0"))})
	r.mustRun()
	r.disk.Remove(r.s)
	res := r.mustRun()
	if v, _ := r.value(vendorVar); string(v) != "01" || res.Entries[0].Outcome != Unchanged {
		t.Fatalf("after losing the state: %q %v", v, outcomes(res))
	}
	// A journal an older slkit wrote with a plain append: that entry
	// fails alone, the next one is applied.
	r2 := newRig(t, efitest.WithVariable(vendorVar, efi.DefaultAttr, []byte("0")))
	r2.disk.Put(r2.j, rawJournal(r2.key, 1, []Entry{
		{Seq: 1, Change: Change{Op: OpAppend, Var: vendorVar, Attr: efi.DefaultAttr, Data: []byte("1")}},
		{Seq: 2, Change: set(efi.BootOrder, []byte{1, 0})},
	}))
	res = r2.mustRun()
	if !reflect.DeepEqual(outcomes(res), []Outcome{FailedNow, Applied}) || !strings.Contains(res.Entries[0].Detail, "precondition") {
		t.Fatalf("old plain append: %+v", res.Entries)
	}
	if v, _ := r2.value(vendorVar); string(v) != "0" {
		t.Fatalf("the plain append was applied: %q", v)
	}
}

// The journal's files come from a disk the attacker writes: only regular
// files are read (a FIFO would block forever), sizes are checked before
// reading, and every problem with them is a bad journal (so
// --efi-skip-bad-journal applies), never an I/O error that refuses the
// launch regardless.
func TestJournalFilesFromHostileDisk(t *testing.T) {
	key := testKey(1)
	for _, c := range []struct {
		name  string
		setup func(t *testing.T, j, s string)
		ok    bool
	}{
		{"FIFO at the journal", func(t *testing.T, j, s string) { mkfifo(t, j) }, false},
		{"FIFO at the state", func(t *testing.T, j, s string) { mkfifo(t, s) }, false},
		{"directory at the state", func(t *testing.T, j, s string) { mkdir(t, s) }, false},
		{"directory at the journal", func(t *testing.T, j, s string) { os.Remove(j); mkdir(t, j) }, false},
		{"symlink to /dev/zero", func(t *testing.T, j, s string) { os.Remove(j); os.Symlink("/dev/zero", j) }, false},
		{"sparse 1 GiB journal", func(t *testing.T, j, s string) { os.Truncate(j, 1<<30) }, false},
		{"directory named like the state's temporary file", func(t *testing.T, j, s string) {
			d := filepath.Join(filepath.Dir(s), "."+filepath.Base(s)+".tmp-123")
			mkdir(t, d)
			os.WriteFile(filepath.Join(d, "x"), nil, 0o600)
		}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			j, s := filepath.Join(dir, "journal"), filepath.Join(dir, "journal.state")
			if _, err := Enqueue(j, s, key, []Change{set(vendorVar, []byte("x"))}); err != nil {
				t.Fatal(err)
			}
			if c.name != "FIFO at the journal" {
				c.setup(t, j, s)
			} else {
				os.Remove(j)
				c.setup(t, j, s)
			}
			store := efitest.New()
			done := make(chan error, 1)
			go func() {
				_, err := Commit(context.Background(), store.Vars(efi.WithMutable(vendorAll)), j, s, pubOf(key), WithAllowed(vendorAll))
				done <- err
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(time.Minute):
				t.Fatal("Commit blocked on the disk for a minute")
			}
			if c.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrFiles) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("got %v, want one line wrapping ErrFiles", err)
			}
			if store.Sets() != 0 {
				t.Fatal("a variable was written")
			}
		})
	}
}

func mkfifo(t *testing.T, p string) {
	t.Helper()
	os.Remove(p)
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
}

func mkdir(t *testing.T, p string) {
	t.Helper()
	os.Remove(p)
	if err := os.Mkdir(p, 0o700); err != nil {
		t.Fatal(err)
	}
}
