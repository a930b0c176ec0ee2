package journal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/slkit/slkit/efi"
)

// memAnchor is a monotonic counter standing in for the TPM anchor: it
// never goes down, as an NV counter cannot.
type memAnchor struct {
	v        uint64
	advances int
	fail     error
}

func (a *memAnchor) Generation() (uint64, error) { return a.v, nil }
func (a *memAnchor) Advance(to uint64) error {
	if a.fail != nil {
		return a.fail
	}
	if to > a.v {
		a.v, a.advances = to, a.advances+1
	}
	return nil
}

// forgeState writes a state file with a valid checksum for the journal on
// disk, as an attacker with the disk can.
func (r *rig) forgeState(edit func(*State)) {
	r.t.Helper()
	b, err := r.disk.ReadFile(r.j, MaxBytes)
	if err != nil {
		r.t.Fatal(err)
	}
	j, err := Parse(b)
	if err != nil {
		r.t.Fatal(err)
	}
	st := newState(j, DefaultTries)
	edit(st)
	st.AppliedThrough = st.appliedThrough()
	r.disk.Put(r.s, st.Marshal())
}

// The applied-through generation lives in the TPM: deleting the state file
// does not let an older, validly signed journal be committed again.
func TestAnchorRefusesReplayAfterStateLoss(t *testing.T) {
	const at = efi.DefaultAttr | efi.TimeBasedAuthenticatedWriteAccess
	cert := func(d byte) []byte {
		b, _ := efi.MarshalSignatureLists([]efi.SignatureList{{Type: efi.GUID{1}, Size: 48,
			Signatures: []efi.SignatureData{{Owner: vendorGUID, Data: bytes.Repeat([]byte{d}, 32)}}}})
		return b
	}
	auth := func(sec uint8, payload []byte) []byte {
		return (&efi.Auth2{Time: efi.Time{Year: 2025, Month: 1, Day: 1, Second: sec}, Cert: []byte("p7"), Payload: payload}).Marshal()
	}
	logVar := efi.Name{Name: "Log", GUID: vendorGUID}
	db := efi.Pattern{Name: "db", GUID: efi.ImageSecurityGUID}
	for _, c := range []struct {
		name       string
		old, newer []Change
		check      func(r *rig) error
	}{
		{"BootOrder rollback",
			[]Change{set(efi.BootOrder, []byte{1, 0, 2, 0})}, []Change{set(efi.BootOrder, []byte{2, 0, 1, 0})},
			func(r *rig) error {
				if v, _ := r.value(efi.BootOrder); !bytes.Equal(v, []byte{2, 0, 1, 0}) {
					return fmt.Errorf("BootOrder rolled back to % x", v)
				}
				return nil
			}},
		{"append applied twice",
			[]Change{{Op: OpAppend, Var: logVar, Attr: efi.DefaultAttr, Data: []byte("A"), Expect: Expect{Kind: ExpectAbsent}}},
			[]Change{{Op: OpDelete, Var: logVar}},
			func(r *rig) error {
				if v, ok := r.value(logVar); ok {
					return fmt.Errorf("the old append was applied again: %q", v)
				}
				return nil
			}},
		{"revoked db entry re-added",
			[]Change{{Op: OpAppend, Var: efi.Db, Attr: at, Data: auth(1, cert(7))}},
			[]Change{{Op: OpSet, Var: efi.Db, Attr: at, Data: auth(9, cert(8))}},
			func(r *rig) error {
				if _, v, _ := r.store.Value(efi.Db); bytes.Contains(v, bytes.Repeat([]byte{7}, 32)) {
					return errors.New("the revoked certificate is back in db")
				}
				return nil
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t)
			a := &memAnchor{}
			opts := []Option{WithAnchor(a), WithAllowed(db)}
			vars := efi.New(r.store, efi.WithMutable(vendorAll, efi.Pattern{Name: "*", GUID: efi.ImageSecurityGUID}))
			commit := func() (*Result, error) {
				return Commit(context.Background(), vars, r.j, r.s, pubOf(r.key), r.opts(opts...)...)
			}
			if _, err := Enqueue(r.j, r.s, r.key, c.old, r.opts(opts...)...); err != nil {
				t.Fatal(err)
			}
			old, _ := r.disk.ReadFile(r.j, MaxBytes)
			if res, err := commit(); err != nil || !res.Complete() {
				t.Fatalf("old: %v %+v", err, res)
			}
			if _, err := Enqueue(r.j, r.s, r.key, c.newer, r.opts(opts...)...); err != nil {
				t.Fatal(err)
			}
			if res, err := commit(); err != nil || !res.Complete() {
				t.Fatalf("newer: %v %+v", err, res)
			}
			// The attacker deletes the state and puts the old journal back.
			r.disk.Remove(r.s)
			r.disk.Put(r.j, old)
			sets := r.store.Sets()
			_, err := commit()
			if cerr := c.check(r); cerr != nil {
				t.Fatal(cerr)
			}
			if !errors.Is(err, ErrReplay) || !strings.Contains(err.Error(), "generation 1") || !strings.Contains(err.Error(), "generation 2") {
				t.Fatalf("replay: %v, want ErrReplay naming generations 1 and 2", err)
			}
			if r.store.Sets() != sets {
				t.Fatal("the refused replay wrote a variable")
			}
		})
	}
}

// A journal whose generation the anchor says is applied is not looked at
// again; the anchor advances only when every entry is final.
func TestAnchorAdvancesWhenComplete(t *testing.T) {
	r := newRig(t)
	a := &memAnchor{v: 40}
	j, err := Enqueue(r.j, r.s, r.key, []Change{set(vendorVar, []byte("x")), set(efi.BootOrder, []byte{1, 0})}, r.opts(WithAnchor(a))...)
	if err != nil || j.Generation != 41 {
		t.Fatalf("generation %v %v, want 41 (after the anchor's 40)", j, err)
	}
	r.store.FailNext(efi.BootOrder, syscall.EINTR)
	res, err := r.run(WithAnchor(a))
	if err != nil || a.v != 40 {
		t.Fatalf("incomplete run advanced the anchor to %d: %v", a.v, err)
	}
	res, err = r.run(WithAnchor(a))
	if err != nil || !res.Complete() || a.v != 41 || a.advances != 1 {
		t.Fatalf("%v %+v, anchor %d", err, res, a.v)
	}
	sets, ops := r.store.Sets(), r.disk.Ops()
	res, err = r.run(WithAnchor(a))
	if err != nil || !res.Journal || !res.AlreadyApplied || len(res.Entries) != 0 || r.store.Sets() != sets || r.disk.Ops() != ops {
		t.Fatalf("an applied generation was worked on again: %v %+v", err, res)
	}
	// The anchor cannot be written in this stage (a relaunch): the commit
	// still succeeds and says so; the next one advances it.
	r.mustEnqueue(set(vendorVar, []byte("y")))
	a.fail = errors.New("PCR 8 is not at its reset value")
	res, err = r.run(WithAnchor(a))
	if err != nil || !res.Complete() || res.AnchorErr == nil || a.v != 41 {
		t.Fatalf("%v %+v", err, res)
	}
}

// A journal that disappeared while its generation was unapplied is
// reported (the state file still names it), not treated as "nothing
// queued".
func TestMissingJournalReported(t *testing.T) {
	r := newRig(t)
	r.mustEnqueue(set(vendorVar, []byte("x")), set(efi.BootOrder, []byte{1, 0}))
	r.store.FailNext(efi.BootOrder, syscall.EINTR)
	r.mustRun()
	r.disk.Remove(r.j)
	_, err := r.run()
	if !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), "generation 1") {
		t.Fatalf("missing journal: %v", err)
	}
	a := &memAnchor{}
	if _, err := r.run(WithAnchor(a)); !errors.Is(err, ErrMissing) {
		t.Fatalf("missing journal with an anchor at 0: %v", err)
	}
	// Once the anchor says generation 1 was applied, a missing journal is
	// nothing to do.
	a.v = 1
	if res, err := r.run(WithAnchor(a)); err != nil || res.Journal {
		t.Fatalf("%v %+v", err, res)
	}
}

// A generation at the maximum neither locks out later journals nor wraps
// to 0: the anchor decides the next generation, and a journal too far
// ahead of it is refused without advancing it.
func TestGenerationAtMaximum(t *testing.T) {
	r := newRig(t)
	a := &memAnchor{v: 3}
	r.mustEnqueue(set(vendorVar, []byte("a")))
	r.forgeState(func(s *State) { s.Generation = MaxGeneration })
	j, err := Enqueue(r.j, r.s, r.key, []Change{set(vendorVar, []byte("b"))}, r.opts(WithAnchor(a))...)
	if err != nil || j.Generation != 4 {
		t.Fatalf("enqueue after a forged maximal state: %v %v, want generation 4", j, err)
	}
	if res, err := r.run(WithAnchor(a)); err != nil || !res.Complete() || a.v != 4 {
		t.Fatalf("commit after a forged maximal state: %v %+v, anchor %d", err, res, a.v)
	}
	// A validly signed journal at the maximum (a buggy or hostile signer)
	// is refused and does not move the anchor.
	far := &Journal{Generation: MaxGeneration, Entries: []Entry{{Seq: 1, Change: set(vendorVar, []byte("far"))}}}
	b, err := far.Marshal(r.key)
	if err != nil {
		t.Fatal(err)
	}
	r.disk.Put(r.j, b)
	if _, err := r.run(WithAnchor(a)); !errors.Is(err, ErrReplay) || !strings.Contains(err.Error(), "ahead") || a.v != 4 {
		t.Fatalf("far-ahead journal: %v, anchor %d", err, a.v)
	}
	// The next journal replaces it and commits.
	j, err = Enqueue(r.j, r.s, r.key, []Change{set(vendorVar, []byte("c"))}, r.opts(WithAnchor(a))...)
	if err != nil || j.Generation != 5 || len(j.Entries) != 1 {
		t.Fatalf("the next journal: %v %v", j, err)
	}
	if res, err := r.run(WithAnchor(a)); err != nil || !res.Complete() || a.v != 5 {
		t.Fatalf("%v %+v anchor %d", err, res, a.v)
	}
	// Without an anchor, a state at the maximum is refused with a clear
	// error instead of wrapping to generation 0.
	r.forgeState(func(s *State) { s.Generation = MaxGeneration })
	if _, err := r.enqueue(set(vendorVar, []byte("d"))); !errors.Is(err, ErrBadState) || !strings.Contains(err.Error(), "largest") {
		t.Fatalf("without an anchor: %v", err)
	}
}
