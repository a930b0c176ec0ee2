package journal

import (
	"errors"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/efi/efitest"
)

func names(j *Journal) []string {
	var out []string
	for _, e := range j.Entries {
		out = append(out, e.Var.Name)
	}
	return out
}

func TestEnqueueGenerations(t *testing.T) {
	r := newRig(t)
	j := r.mustEnqueue(set(efi.BootNext, []byte{1, 0}), set(vendorVar, []byte("a")))
	if j.Generation != 1 || !reflect.DeepEqual(names(j), []string{"SlkitTest", "BootNext"}) || j.Entries[1].Seq != 2 {
		t.Fatalf("gen %d %v", j.Generation, names(j))
	}
	// Not committed yet: appended to the same generation, BootNext stays last.
	j = r.mustEnqueue(set(efi.BootOrder, []byte{1, 0}))
	if j.Generation != 1 || !reflect.DeepEqual(names(j), []string{"SlkitTest", "BootOrder", "BootNext"}) {
		t.Fatalf("gen %d %v", j.Generation, names(j))
	}
	// Partly committed (BootOrder fails with ENOSPC... here: EINTR): the
	// next queue starts generation 2 with what is still pending.
	r.store.FailNext(efi.BootOrder, syscall.EINTR)
	res := r.mustRun()
	if !reflect.DeepEqual(outcomes(res), []Outcome{Applied, RetryLater, NotAttempted}) {
		t.Fatalf("%v", outcomes(res))
	}
	j = r.mustEnqueue(set(efi.Timeout, []byte{3, 0}))
	if j.Generation != 2 || !reflect.DeepEqual(names(j), []string{"BootOrder", "Timeout", "BootNext"}) {
		t.Fatalf("gen %d %v", j.Generation, names(j))
	}
	if res := r.mustRun(); !res.Complete() || res.Generation != 2 {
		t.Fatalf("%+v", res)
	}
	// Fully committed: a new generation with only the new change.
	j = r.mustEnqueue(set(vendorVar, []byte("b")))
	if j.Generation != 3 || len(j.Entries) != 1 {
		t.Fatalf("gen %d %v", j.Generation, names(j))
	}
}

func TestEnqueueRefusals(t *testing.T) {
	r := newRig(t)
	r.mustEnqueue(set(vendorVar, []byte("a")))
	// A commit interrupted mid-write must be finished first.
	r.disk.CrashAfter(7) // the final state write, after the variable write
	_, err := r.run()
	if err == nil {
		t.Fatal("commit survived the crash")
	}
	r.disk.Crash(nil)
	if st := r.state(); st.Entries[0].Status != Attempting {
		t.Fatalf("crash point: state %+v", st.Entries[0])
	}
	if _, err := r.enqueue(set(efi.BootOrder, []byte{1, 0})); !errors.Is(err, ErrInterrupted) || !strings.Contains(err.Error(), "entry 1") {
		t.Fatal(err)
	}
	// Another key's journal is not extended.
	r2 := newRig(t)
	r2.mustEnqueue(set(vendorVar, []byte("a")))
	r2.key = testKey(3)
	if _, err := r2.enqueue(set(vendorVar, []byte("b"))); !errors.Is(err, ErrWrongKey) {
		t.Fatal(err)
	}
	for name, c := range map[string]Change{
		"empty set":        {Op: OpSet, Var: vendorVar, Attr: efi.DefaultAttr},
		"volatile":         {Op: OpSet, Var: vendorVar, Attr: efi.BootserviceAccess, Data: []byte{1}},
		"append attribute": {Op: OpSet, Var: vendorVar, Attr: efi.DefaultAttr | efi.AppendWrite, Data: []byte{1}},
		"BootNext 1 byte":  {Op: OpSet, Var: efi.BootNext, Attr: efi.DefaultAttr, Data: []byte{1}},
		"osind on other":   {Op: OpOsIndications, Var: vendorVar, SetBits: 1},
		"osind overlap":    {Op: OpOsIndications, Var: efi.OsIndications, SetBits: 1, ClearBits: 1},
		"bad auth":         {Op: OpSet, Var: efi.Db, Attr: efi.DefaultAttr | efi.TimeBasedAuthenticatedWriteAccess, Data: []byte("not signed")},
		"unknown op":       {Op: 9, Var: vendorVar},
	} {
		if _, err := newRig(t).enqueue(c); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
	var many []Change
	for i := 0; i < MaxEntries+1; i++ {
		many = append(many, set(vendorVar, []byte{byte(i)}))
	}
	if _, err := newRig(t).enqueue(many...); !errors.Is(err, ErrFull) {
		t.Fatal(err)
	}
}

func TestInspect(t *testing.T) {
	r := newRig(t)
	r.mustEnqueue(set(vendorVar, []byte("a")), Change{Op: OpOsIndications, Var: efi.OsIndications, SetBits: 4})
	l, err := Inspect(r.j, r.s, pubOf(r.key), r.opts()...)
	if err != nil || l.Committed || !l.Verified || l.Entries()[0].Status != "queued" {
		t.Fatalf("%v %+v", err, l)
	}
	r.mustRun()
	l, err = Inspect(r.j, r.s, nil, r.opts()...)
	if err != nil || !l.Committed || l.Verified {
		t.Fatal(err)
	}
	e := l.Entries()
	if e[0].Status != "done" || e[1].SetBits[0] != "file-capsule-delivery" || !e[1].Reboot {
		t.Fatalf("%+v", e)
	}
	if l, err := Inspect("/nowhere", r.s, nil, r.opts()...); l != nil || err != nil {
		t.Fatal(l, err)
	}
}

// An append whose read-back failed may have been applied. With its
// precondition, a fresh read tells: queueing more carries it into the next
// generation, and the next commit finds it applied without appending again.
func TestEnqueueAfterUncertainAppend(t *testing.T) {
	r := newRig(t, efitest.WithVariable(vendorVar, efi.DefaultAttr, []byte("x")))
	r.mustEnqueue(Change{Op: OpAppend, Var: vendorVar, Attr: efi.DefaultAttr, Data: []byte("tok"), Expect: ExpectData([]byte("x"))})
	reads := 0
	flaky := efi.New(unreadable{Backend: r.store, fail: func() bool { reads++; return reads == 2 }}, efi.WithMutable(vendorAll))
	res, err := Commit(t.Context(), flaky, r.j, r.s, pubOf(r.key), r.opts()...)
	if err != nil || res.Entries[0].Outcome != RetryLater || res.Entries[0].Errno != "EIO" {
		t.Fatalf("%v %+v", err, res)
	}
	j := r.mustEnqueue(set(efi.BootOrder, []byte{1, 0}))
	if j.Generation != 2 || !reflect.DeepEqual(names(j), []string{"SlkitTest", "BootOrder"}) {
		t.Fatalf("gen %d %v", j.Generation, names(j))
	}
	res = r.mustRun()
	if !reflect.DeepEqual(outcomes(res), []Outcome{Unchanged, Applied}) {
		t.Fatalf("%+v", outcomes(res))
	}
	if v, _ := r.value(vendorVar); string(v) != "xtok" {
		t.Fatalf("value %q", v)
	}
}

// A set whose outcome is unknown is carried into the next generation:
// applying it again is set-if-different.
func TestEnqueueCarriesUncertainSet(t *testing.T) {
	r := newRig(t, efitest.WithVariable(vendorVar, efi.DefaultAttr, []byte("old")))
	r.mustEnqueue(set(vendorVar, []byte("v")))
	reads := 0
	flaky := efi.New(unreadable{Backend: r.store, fail: func() bool { reads++; return reads == 2 }}, efi.WithMutable(vendorAll))
	if res, err := Commit(t.Context(), flaky, r.j, r.s, pubOf(r.key), r.opts()...); err != nil || res.Entries[0].Outcome != RetryLater {
		t.Fatalf("%v %+v", err, res)
	}
	j := r.mustEnqueue(set(efi.BootOrder, []byte{1, 0}))
	if j.Generation != 2 || !reflect.DeepEqual(names(j), []string{"SlkitTest", "BootOrder"}) {
		t.Fatalf("gen %d %v", j.Generation, names(j))
	}
	sets := r.store.Sets()
	if res := r.mustRun(); !reflect.DeepEqual(outcomes(res), []Outcome{Unchanged, Applied}) || r.store.Sets() != sets+1 {
		t.Fatalf("%+v", outcomes(res))
	}
}
