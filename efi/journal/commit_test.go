package journal

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/efi/efitest"
)

func TestCommitEndToEnd(t *testing.T) {
	r := newRig(t, efitest.WithVariable(efi.BootOrder, efi.DefaultAttr, []byte{1, 0}))
	r.mustEnqueue(
		set(efi.BootNext, []byte{5, 0}), // queued first, committed last
		set(efi.BootEntry(5), loadOption("slkit")),
		Change{Op: OpSet, Var: efi.BootOrder, Attr: efi.DefaultAttr, Data: []byte{5, 0, 1, 0}, Expect: ExpectData([]byte{1, 0})},
		Change{Op: OpSet, Var: vendorVar, Attr: efi.DefaultAttr, Data: []byte("hello"), Expect: Expect{Kind: ExpectAbsent}},
	)
	res := r.mustRun()
	if !reflect.DeepEqual(outcomes(res), []Outcome{Applied, Applied, Applied, Applied}) || !res.RebootRequired || res.Err() != nil {
		t.Fatalf("%+v", res)
	}
	if res.Entries[3].Var != efi.BootNext.String() || !res.Entries[3].Reboot || res.Entries[0].Reboot {
		t.Fatalf("BootNext not last or reboot flags wrong: %+v", res.Entries)
	}
	for n, want := range map[efi.Name][]byte{efi.BootNext: {5, 0}, efi.BootOrder: {5, 0, 1, 0}, vendorVar: []byte("hello"), efi.BootEntry(5): loadOption("slkit")} {
		if got, _ := r.value(n); !bytes.Equal(got, want) {
			t.Errorf("%s = % x, want % x", n, got, want)
		}
	}
	st := r.state()
	if st.AppliedThrough != 4 || st.Generation != 1 || st.Entries[0].TriesLeft != DefaultTries-1 {
		t.Fatalf("state %+v", st)
	}
	// A second commit writes nothing, to variables or to disk.
	sets, ops := r.store.Sets(), r.disk.Ops()
	res = r.mustRun()
	if r.store.Sets() != sets || r.disk.Ops() != ops || res.RebootRequired || !res.Complete() {
		t.Fatalf("re-commit wrote: sets %d->%d ops %d->%d %+v", sets, r.store.Sets(), ops, r.disk.Ops(), outcomes(res))
	}
	if !reflect.DeepEqual(outcomes(res), []Outcome{DoneEarlier, DoneEarlier, DoneEarlier, DoneEarlier}) {
		t.Fatal(outcomes(res))
	}
}

func TestCommitNothingQueued(t *testing.T) {
	r := newRig(t)
	res := r.mustRun()
	if res.Journal || len(res.Entries) != 0 || res.RebootRequired || r.disk.Ops() != 0 {
		t.Fatalf("%+v", res)
	}
}

// Every refused journal commits nothing and says why in one line.
func TestRefusedJournalCommitsNothing(t *testing.T) {
	for _, c := range []struct {
		name string
		mess func(r *rig)
		want error
		msg  string
	}{
		{"bad signature", func(r *rig) { flip(r, -1) }, ErrSignature, "signature"},
		{"bad checksum", func(r *rig) { flip(r, 64+80) }, ErrMalformed, "checksum"},
		{"truncated", func(r *rig) { b, _ := r.disk.ReadFile(r.j, 1<<20); r.disk.Put(r.j, b[:len(b)-1]) }, ErrMalformed, "truncated"},
		{"wrong key", func(r *rig) { r.key = testKey(7) }, ErrWrongKey, "signed by key"},
		{"not allowed", func(r *rig) {
			j := &Journal{Generation: 1, Entries: []Entry{{Seq: 1, Change: set(efi.Name{Name: "Other", GUID: efi.LinuxCrashGUID}, []byte{1})}, {Seq: 2, Change: set(efi.Dbx, []byte{1})}}}
			b, _ := j.Marshal(r.key)
			r.disk.Put(r.j, b)
		}, ErrNotAllowed, "Other-cfc8fc79"},
		{"sequence gap", func(r *rig) {
			r.disk.Put(r.j, rawJournal(r.key, 1, []Entry{{Seq: 2, Change: set(vendorVar, []byte("x"))}}))
		}, ErrMalformed, "gap"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t)
			r.mustEnqueue(set(vendorVar, []byte("x")), set(efi.BootOrder, []byte{1, 0}))
			c.mess(r)
			res, err := r.run()
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.msg) || strings.Contains(err.Error(), "\n") || res != nil {
				t.Fatalf("%v (want %v, %q)", err, c.want, c.msg)
			}
			if r.store.Sets() != 0 || len(r.store.Names()) != 0 {
				t.Fatal("a refused journal changed variables")
			}
			if _, err := r.disk.ReadFile(r.s, 1<<20); err == nil {
				t.Fatal("a refused journal wrote a state file")
			}
		})
	}
}

func flip(r *rig, off int) {
	b, _ := r.disk.ReadFile(r.j, 1<<20)
	if off < 0 {
		off += len(b)
	}
	b[off] ^= 0x40
	r.disk.Put(r.j, b)
}

// A journal older than the committed generation is a replay.
func TestReplayOfOlderGeneration(t *testing.T) {
	r := newRig(t)
	r.mustEnqueue(set(vendorVar, []byte("one")))
	gen1, _ := r.disk.ReadFile(r.j, 1<<20)
	r.mustRun()
	r.mustEnqueue(set(vendorVar, []byte("two")))
	if res := r.mustRun(); res.Generation != 2 || res.Entries[0].Outcome != Applied {
		t.Fatalf("%+v", res)
	}
	r.disk.Put(r.j, gen1)
	sets := r.store.Sets()
	_, err := r.run()
	if !errors.Is(err, ErrReplay) || !strings.Contains(err.Error(), "generation 1 is older than the committed generation 2") {
		t.Fatal(err)
	}
	// Losing the state file re-opens replays unless a floor is known.
	r.disk.Put(r.s, nil)
	if _, err := r.run(WithMinGeneration(2)); !errors.Is(err, ErrBadState) {
		t.Fatalf("empty state file: %v", err)
	}
	r.disk.Remove(r.s)
	if _, err := r.run(WithMinGeneration(2)); !errors.Is(err, ErrReplay) {
		t.Fatal(err)
	}
	if r.store.Sets() != sets {
		t.Fatal("replay wrote")
	}
}

func TestCompareAndSwapConflict(t *testing.T) {
	r := newRig(t, efitest.WithVariable(efi.BootOrder, efi.DefaultAttr, []byte{2, 0}))
	r.mustEnqueue(
		Change{Op: OpSet, Var: efi.BootOrder, Attr: efi.DefaultAttr, Data: []byte{5, 0}, Expect: ExpectData([]byte{1, 0})},
		set(efi.BootNext, []byte{5, 0}),
	)
	res := r.mustRun()
	if res.Entries[0].Outcome != FailedNow || !strings.Contains(res.Entries[0].Detail, "differs from the expected") {
		t.Fatalf("%+v", res.Entries[0])
	}
	// BootNext after a failed entry is skipped, not set.
	if res.Entries[1].Outcome != FailedNow || res.Entries[1].Reason != ReasonSkipped.String() || res.RebootRequired {
		t.Fatalf("%+v", res.Entries[1])
	}
	if _, ok := r.value(efi.BootNext); ok || r.store.Sets() != 0 {
		t.Fatal("wrote after a conflict")
	}
	if err := res.Err(); !errors.Is(err, ErrIncomplete) || !strings.Contains(err.Error(), "entry 1") {
		t.Fatal(err)
	}
}

func TestErrnoPolicy(t *testing.T) {
	t.Run("ENOSPC retries after reboot", func(t *testing.T) {
		big := efi.Name{Name: "Big", GUID: vendorGUID}
		// 4000 bytes; Big's two 1000-byte records (1068 each) leave 1864,
		// too few for a 1900-byte value (1968) until the reboot reclaims
		// the replaced record.
		r2 := newRig(t, efitest.WithCapacity(4000), efitest.WithReserve(0),
			efitest.WithVariable(big, efi.DefaultAttr, make([]byte, 1000)))
		if err := r2.vars().Set(big, efi.DefaultAttr, bytes.Repeat([]byte{1}, 1000)); err != nil {
			t.Fatal(err)
		}
		r2.mustEnqueue(set(big, make([]byte, 1900)), set(efi.BootOrder, []byte{1, 0}), set(efi.BootNext, []byte{1, 0}))
		res := r2.mustRun()
		if !reflect.DeepEqual(outcomes(res), []Outcome{RetryLater, NotAttempted, NotAttempted}) || !res.RetryAfterReboot || res.RebootRequired {
			t.Fatalf("%+v", res)
		}
		if res.Entries[0].Errno != "ENOSPC" {
			t.Fatal(res.Entries[0])
		}
		r2.store.Reboot()
		res = r2.mustRun()
		if !reflect.DeepEqual(outcomes(res), []Outcome{Applied, Applied, Applied}) || res.Entries[0].TriesLeft != DefaultTries-2 {
			t.Fatalf("after reboot: %+v", res)
		}
	})
	t.Run("EINTR stops runtime services", func(t *testing.T) {
		r := newRig(t)
		r.mustEnqueue(set(vendorVar, []byte("a")), set(efi.BootOrder, []byte{1, 0}))
		r.store.FailNext(vendorVar, syscall.EINTR)
		res := r.mustRun()
		if !reflect.DeepEqual(outcomes(res), []Outcome{RetryLater, NotAttempted}) || !res.RuntimeStopped {
			t.Fatalf("%+v", res)
		}
		if _, ok := r.value(efi.BootOrder); ok {
			t.Fatal("a runtime call after EINTR")
		}
		res = r.mustRun()
		if !res.Complete() {
			t.Fatalf("%+v", res)
		}
	})
	t.Run("EIO retried while tries last", func(t *testing.T) {
		r := newRig(t, efitest.WithVariable(vendorVar, efi.DefaultAttr, []byte("old")))
		r.mustEnqueue(set(vendorVar, []byte("a")), set(efi.BootOrder, []byte{1, 0}))
		r.store.FailNext(vendorVar, syscall.EIO, syscall.EIO)
		res := r.mustRun()
		if res.Entries[0].Outcome != Applied || res.Entries[0].TriesLeft != 0 {
			t.Fatalf("%+v", res.Entries[0])
		}
		r = newRig(t, efitest.WithVariable(vendorVar, efi.DefaultAttr, []byte("old")))
		r.mustEnqueue(set(vendorVar, []byte("a")), set(efi.BootOrder, []byte{1, 0}))
		r.store.FailNext(vendorVar, syscall.EIO, syscall.EIO, syscall.EIO)
		res = r.mustRun()
		if !reflect.DeepEqual(outcomes(res), []Outcome{FailedNow, Applied}) || res.Entries[0].Errno != "EIO" {
			t.Fatalf("%+v", res)
		}
	})
	t.Run("EINVAL EROFS EPERM permanent", func(t *testing.T) {
		other := efi.Name{Name: "Other", GUID: vendorGUID}
		r := newRig(t, efitest.WithVariable(vendorVar, efi.NonVolatile|efi.BootserviceAccess, []byte("x")),
			efitest.WithReadOnly(efi.Timeout),
			efitest.WithVariable(efi.Name{Name: "Imm", GUID: efi.ImageSecurityGUID}, efi.DefaultAttr, []byte("y")))
		imm := efi.Name{Name: "Imm", GUID: efi.ImageSecurityGUID}
		r.mustEnqueue(set(vendorVar, []byte("z")), set(efi.Timeout, []byte{5, 0}), set(imm, []byte("z")), set(other, []byte("ok")))
		// The commit allow-list names Imm, the variable layer does not.
		res := r.mustRun(WithAllowed(efi.Pattern{Name: "Imm", GUID: efi.ImageSecurityGUID}))
		want := []string{"EINVAL", "EROFS", "EPERM", ""}
		for i, e := range res.Entries {
			if e.Errno != want[i] {
				t.Errorf("entry %d: %+v", i+1, e)
			}
		}
		if !reflect.DeepEqual(outcomes(res), []Outcome{FailedNow, FailedNow, FailedNow, Applied}) || res.Entries[0].TriesLeft != DefaultTries-1 {
			t.Fatalf("%+v", res)
		}
		// Permanent failures are not tried again.
		sets := r.store.Sets()
		res = r.mustRun(WithAllowed(efi.Pattern{Name: "Imm", GUID: efi.ImageSecurityGUID}))
		if r.store.Sets() != sets || res.Entries[0].Outcome != FailedEarlier {
			t.Fatalf("%+v", res)
		}
	})
}

func TestOsIndicationsAndDelete(t *testing.T) {
	r := newRig(t, efitest.WithVariable(efi.OsIndications, efi.DefaultAttr, efi.MarshalUint64(0x41)),
		efitest.WithVariable(vendorVar, efi.DefaultAttr, []byte("gone")))
	r.mustEnqueue(
		Change{Op: OpOsIndications, Var: efi.OsIndications, SetBits: efi.OsIndFileCapsuleDelivery, ClearBits: efi.OsIndBootToFwUI},
		Change{Op: OpDelete, Var: vendorVar},
		Change{Op: OpDelete, Var: efi.Name{Name: "NeverWas", GUID: vendorGUID}},
	)
	res := r.mustRun()
	if !reflect.DeepEqual(outcomes(res), []Outcome{Applied, Unchanged, Applied}) || !res.RebootRequired {
		t.Fatalf("%+v", res)
	}
	if v, _ := r.value(efi.OsIndications); !bytes.Equal(v, efi.MarshalUint64(0x44)) {
		t.Fatalf("OsIndications % x", v)
	}
	if _, ok := r.value(vendorVar); ok {
		t.Fatal("not deleted")
	}
}

// Authenticated writes: a replace replayed after its record was lost is
// refused by the firmware (EACCES) but done, since the value matches; an
// append to db is replay-safe.
func TestAuthenticatedEntries(t *testing.T) {
	const at = efi.DefaultAttr | efi.TimeBasedAuthenticatedWriteAccess
	kek := efi.KEK
	list := func(d byte) []byte {
		b, _ := efi.MarshalSignatureLists([]efi.SignatureList{{Type: efi.GUID{1}, Size: 48,
			Signatures: []efi.SignatureData{{Owner: vendorGUID, Data: bytes.Repeat([]byte{d}, 32)}}}})
		return b
	}
	auth := func(sec uint8, payload []byte) []byte {
		return (&efi.Auth2{Time: efi.Time{Year: 2025, Month: 1, Day: 1, Second: sec}, Cert: []byte("p7"), Payload: payload}).Marshal()
	}
	r := newRig(t)
	allow := WithAllowed(efi.Pattern{Name: "db", GUID: efi.ImageSecurityGUID}, efi.Pattern{Name: "KEK", GUID: efi.GlobalGUID})
	r.mustEnqueue(Change{Op: OpSet, Var: kek, Attr: at, Data: auth(5, list(1))},
		Change{Op: OpAppend, Var: efi.Db, Attr: at, Data: auth(1, list(2))})
	vars := efi.New(r.store, efi.WithMutable(efi.Pattern{Name: "*", GUID: efi.ImageSecurityGUID}, efi.Pattern{Name: "KEK", GUID: efi.GlobalGUID}))
	res, err := Commit(t.Context(), vars, r.j, r.s, pubOf(r.key), r.opts(allow)...)
	if err != nil || !res.Complete() {
		t.Fatalf("%v %+v", err, res)
	}
	// Lose the state: the replace comes back as a replay (set-if-different
	// sees the value and writes nothing), the append is a no-op.
	r.disk.Remove(r.s)
	sets := r.store.Sets()
	res, err = Commit(t.Context(), vars, r.j, r.s, pubOf(r.key), r.opts(allow)...)
	if err != nil || !reflect.DeepEqual(outcomes(res), []Outcome{Unchanged, Unchanged}) || r.store.Sets() != sets {
		t.Fatalf("%v %+v", err, outcomes(res))
	}
	// Force the write: a replayed replace the firmware refuses is done
	// only when the read-back matches.
	c := &committer{vars: vars}
	e := &Entry{Seq: 1, Change: Change{Op: OpSet, Var: kek, Attr: at, Data: auth(5, list(1))}}
	p := c.planSet(e, nil)
	if err := p.write(); !errors.Is(err, syscall.EACCES) {
		t.Fatalf("replayed replace: %v", err)
	}
	fresh, _ := vars.Get(kek)
	if !p.check(fresh) {
		t.Fatal("read-back of the replayed replace does not match")
	}
}
