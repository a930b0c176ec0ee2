package journal

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/efi/efitest"
	"github.com/slkit/slkit/internal/fsys"
)

func fullJournal(b *testing.B) []Change {
	var cs []Change
	for i := 0; i < MaxEntries; i++ {
		cs = append(cs, set(efi.Name{Name: fmt.Sprintf("V%02d", i), GUID: vendorGUID}, make([]byte, 1024)))
	}
	return cs
}

// BenchmarkVerifyJournal: parse and verify a full 64-entry journal.
func BenchmarkVerifyJournal(b *testing.B) {
	key := testKey(1)
	j := &Journal{Generation: 1, Entries: order(fullJournal(b))}
	raw, err := j.Marshal(key)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := Verify(raw, pubOf(key)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCommit64OnDisk: commit 64 entries of 1 KiB to the fake store
// with the journal and state on the real file system: one atomic state
// replace (two fsyncs) before each entry's write, one more at the end.
func BenchmarkCommit64OnDisk(b *testing.B) {
	key := testKey(1)
	dir := b.TempDir()
	cs := fullJournal(b)
	for b.Loop() {
		b.StopTimer()
		jp, sp := filepath.Join(dir, "journal"), filepath.Join(dir, "state")
		st := efitest.New()
		if _, err := Enqueue(jp, sp+"-none", key, cs); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := Commit(context.Background(), efi.New(st), jp, sp, pubOf(key), WithAllowed(vendorAll))
		if err != nil || !res.Complete() {
			b.Fatal(err)
		}
		b.StopTimer()
		removeAll(b, sp)
		removeAll(b, jp)
		b.StartTimer()
	}
}

// BenchmarkEnqueueOnDisk: one atomic journal replace with 64 entries.
func BenchmarkEnqueueOnDisk(b *testing.B) {
	key := testKey(1)
	dir := b.TempDir()
	cs := fullJournal(b)
	jp := filepath.Join(dir, "journal")
	for b.Loop() {
		if _, err := Enqueue(jp, filepath.Join(dir, "state"), key, cs); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		removeAll(b, jp)
		b.StartTimer()
	}
}

func removeAll(b *testing.B, p string) {
	if err := osRemove(p); err != nil {
		b.Fatal(err)
	}
}

var osRemove = fsys.OS{}.Remove
