package journal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/efi/efitest"
)

// crashSeeds is how many randomized crash points TestCrashConsistency
// runs (the issue asks for at least 1000).
const crashSeeds = 1200

var (
	logVar = efi.Name{Name: "Log", GUID: vendorGUID}
	cfgVar = efi.Name{Name: "Cfg", GUID: vendorGUID}
	// tracked are the variables the model predicts.
	tracked = []efi.Name{logVar, cfgVar, efi.BootOrder, efi.BootEntry(2), efi.OsIndications, efi.Timeout}
)

// randomChange draws a change; appends to Log carry a unique token, so a
// double apply is visible, and the precondition every append needs: Log's
// value before it (log, which the appends of the script build up).
func randomChange(r *rand.Rand, token *uint16, log *[]byte) Change {
	switch r.IntN(7) {
	case 0, 1:
		*token++
		x := Expect{Kind: ExpectAbsent}
		if *log != nil {
			x = ExpectData(*log)
		}
		data := binary.BigEndian.AppendUint16(nil, *token)
		*log = append(append([]byte{}, *log...), data...)
		return Change{Op: OpAppend, Var: logVar, Attr: efi.DefaultAttr, Data: data, Expect: x}
	case 2:
		return set(cfgVar, []byte(fmt.Sprintf("cfg-%d", r.IntN(1000))))
	case 3:
		return Change{Op: OpDelete, Var: cfgVar}
	case 4:
		return set(efi.BootOrder, efi.MarshalBootOrder([]uint16{uint16(r.IntN(4)), uint16(r.IntN(4))}))
	case 5:
		if r.IntN(2) == 0 {
			return set(efi.BootEntry(2), loadOption(fmt.Sprintf("entry %d", r.IntN(100))))
		}
		return set(efi.Timeout, []byte{byte(r.IntN(9)), 0})
	default:
		set := uint64(1) << r.IntN(3)
		return Change{Op: OpOsIndications, Var: efi.OsIndications, SetBits: set, ClearBits: (uint64(1) << r.IntN(3)) &^ set}
	}
}

// model applies batches to the initial values in the order efi/README.md
// documents for a queue call: BootNext and OsIndications changes after all
// others, each group in the order queued. The order is spelled out here,
// not taken from the package, so that a bug in the journal's ordering
// shows as a difference from the model.
func model(initial map[efi.Name][]byte, batches ...[]Change) map[efi.Name][]byte {
	m := map[efi.Name][]byte{}
	for k, v := range initial {
		m[k] = v
	}
	for _, b := range batches {
		var early, late []Change
		for _, c := range b {
			if c.Var == efi.BootNext || c.Var == efi.OsIndications {
				late = append(late, c)
			} else {
				early = append(early, c)
			}
		}
		for _, e := range append(early, late...) {
			cur, ok := m[e.Var]
			switch e.Op {
			case OpSet:
				m[e.Var] = e.Data
			case OpAppend:
				m[e.Var] = append(append([]byte(nil), cur...), e.Data...)
			case OpDelete:
				delete(m, e.Var)
			case OpOsIndications:
				var v uint64
				if ok {
					v = binary.LittleEndian.Uint64(cur)
				}
				nv := (v | e.SetBits) &^ e.ClearBits
				if ok || nv != 0 {
					m[e.Var] = efi.MarshalUint64(nv)
				}
			}
		}
	}
	return m
}

type crashScript struct {
	initial map[efi.Name][]byte
	batches [2][]Change
}

func newScript(r *rand.Rand) crashScript {
	s := crashScript{initial: map[efi.Name][]byte{
		efi.BootOrder: {1, 0}, cfgVar: []byte("cfg-initial"), efi.OsIndications: efi.MarshalUint64(0x40),
	}}
	var token uint16
	var log []byte
	for i := range s.batches {
		for n := 1 + r.IntN(4); n > 0; n-- {
			s.batches[i] = append(s.batches[i], randomChange(r, &token, &log))
		}
	}
	return s
}

func (s crashScript) rig(t *testing.T, anchored bool) *rig {
	var opts []efitest.Option
	for n, v := range s.initial {
		opts = append(opts, efitest.WithVariable(n, efi.DefaultAttr, v))
	}
	r := newRig(t, opts...)
	if anchored {
		r.anchor = &memAnchor{}
	}
	return r
}

// play runs queue, commit, queue, commit until the first error (the
// crash) and reports how many queue calls returned success.
func (s crashScript) play(r *rig) (acked int) {
	for _, b := range s.batches {
		if _, err := r.enqueue(b...); err != nil {
			return acked
		}
		acked++
		if _, err := r.run(); err != nil {
			return acked
		}
	}
	return acked
}

func snapshot(r *rig) map[efi.Name][]byte {
	m := map[efi.Name][]byte{}
	for _, n := range tracked {
		if v, ok := r.value(n); ok {
			m[n] = v
		}
	}
	return m
}

// showVars prints variable sets as "Name=hex ..." (one set per line).
func showVars(ms ...map[efi.Name][]byte) string {
	var sets []string
	for _, m := range ms {
		var vs []string
		for _, n := range tracked {
			if v, ok := m[n]; ok {
				vs = append(vs, fmt.Sprintf("%s=%x", n.Name, v))
			}
		}
		sets = append(sets, strings.Join(vs, " "))
	}
	return strings.Join(sets, "\n   or ")
}

func sameVars(a, b map[efi.Name][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !bytes.Equal(v, w) {
			return false
		}
	}
	return true
}

// TestCrashConsistency cuts the power at a random file-system operation
// of queue -> commit -> queue -> commit (journal writes, state updates,
// both sides of every variable write), with a random choice of what the
// crash keeps, then reboots and commits again; every other seed with the
// journal's anchor (which survives the crash, as the TPM does). It checks:
//   - nothing lost: every change whose queue call returned is applied;
//   - all or nothing: a queue call cut short is applied entirely or not at all;
//   - nothing applied twice: the final variables equal the model exactly
//     (appends carry unique tokens, so a double append shows);
//   - no corrupt journal accepted: the journal and state on disk always
//     parse, and a bit flipped in the journal is refused with no write;
//   - idempotent replay: one more commit writes nothing.
func TestCrashConsistency(t *testing.T) {
	points := map[int]int{} // crash points hit per phase bucket, for the log
	second := 0             // trials whose recovery was cut by a second crash
	for seed := uint64(0); seed < crashSeeds; seed++ {
		r := rand.New(rand.NewPCG(seed, 0x5eed))
		s := newScript(r)

		anchored := seed%2 == 1
		dry := s.rig(t, anchored)
		s.play(dry)
		total := dry.disk.Ops()
		if !sameVars(snapshot(dry), model(s.initial, s.batches[0], s.batches[1])) {
			t.Fatalf("seed %d: without a crash the result differs from the model", seed)
		}

		m := s.rig(t, anchored)
		k := 1 + r.IntN(total)
		points[10*k/total]++
		m.disk.CrashAfter(k)
		acked := s.play(m)
		if !m.disk.Crashed() {
			t.Fatalf("seed %d: crash point %d of %d not reached", seed, k, total)
		}
		if r.IntN(2) == 0 {
			m.disk.Crash(r)
		} else {
			m.disk.Crash(nil)
		}
		m.store.Reboot()

		if seed%4 == 0 {
			assertCorruptRefused(t, seed, m, r)
		}
		// A second power loss, at a random point of the recovery commit
		// (beyond its last operation: no second crash).
		m.disk.CrashAfter(1 + r.IntN(total))
		if _, err := m.run(); m.disk.Crashed() {
			second++
			if r.IntN(2) == 0 {
				m.disk.Crash(r)
			} else {
				m.disk.Crash(nil)
			}
			m.store.Reboot()
		} else if err != nil {
			t.Fatalf("seed %d (crash at op %d/%d, %d queued): recovery commit: %v", seed, k, total, acked, err)
		}
		m.disk.CrashAfter(0)
		res, err := m.run()
		if err != nil {
			t.Fatalf("seed %d (crash at op %d/%d, %d queued): recovery commit: %v", seed, k, total, acked, err)
		}
		if res.Journal && !res.Complete() {
			t.Fatalf("seed %d: recovery left %+v", seed, outcomes(res))
		}
		got := snapshot(m)
		var want []map[efi.Name][]byte
		want = append(want, model(s.initial, s.batches[:acked]...))
		if acked < len(s.batches) {
			want = append(want, model(s.initial, s.batches[:acked+1]...))
		}
		ok := false
		for _, w := range want {
			ok = ok || sameVars(got, w)
		}
		if !ok {
			t.Fatalf("seed %d (crash at op %d/%d, %d of 2 queue calls returned):\n got  %s\n want %s", seed, k, total, acked, showVars(got), showVars(want...))
		}
		sets, ops := m.store.Sets(), m.disk.Ops()
		if _, err := m.run(); err != nil || m.store.Sets() != sets || m.disk.Ops() != ops {
			t.Fatalf("seed %d: a second recovery commit wrote (%v)", seed, err)
		}
	}
	t.Logf("%d crash points, by tenth of the run: %v; %d recoveries cut by a second crash", crashSeeds, points, second)
	if second < crashSeeds/10 {
		t.Errorf("only %d of %d recoveries were cut by a second crash", second, crashSeeds)
	}
}

// assertCorruptRefused flips one bit of the journal on disk: the commit
// must refuse it and write nothing. The journal is then restored.
func assertCorruptRefused(t *testing.T, seed uint64, m *rig, r *rand.Rand) {
	b, err := m.disk.ReadFile(m.j, 1<<20)
	if err != nil || len(b) == 0 {
		return // nothing queued durably (an empty file is the recovery commit's to refuse)
	}
	bad := append([]byte(nil), b...)
	bad[r.IntN(len(bad))] ^= 1 << r.IntN(8)
	m.disk.Put(m.j, bad)
	sets := m.store.Sets()
	st, _ := m.disk.ReadFile(m.s, 1<<20)
	_, err = m.run()
	if err == nil || !(errors.Is(err, ErrMalformed) || errors.Is(err, ErrSignature) || errors.Is(err, ErrWrongKey) || errors.Is(err, ErrReplay)) {
		t.Fatalf("seed %d: a corrupted journal was not refused: %v", seed, err)
	}
	st2, _ := m.disk.ReadFile(m.s, 1<<20)
	if m.store.Sets() != sets || !bytes.Equal(st, st2) {
		t.Fatalf("seed %d: a refused journal wrote", seed)
	}
	m.disk.Put(m.j, b)
}
