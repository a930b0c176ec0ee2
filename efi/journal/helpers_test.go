package journal

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"testing"
	"time"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/efi/efitest"
	"github.com/slkit/slkit/efi/efitest/crashfs"
)

var (
	vendorGUID = efi.GUID{0x78, 0x56, 0x34, 0x12, 0x34, 0x12, 0x34, 0x12, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0}
	vendorVar  = efi.Name{Name: "SlkitTest", GUID: vendorGUID}
	vendorAll  = efi.Pattern{Name: "*", GUID: vendorGUID}
	fixedClock = WithClock(func() time.Time { return time.Unix(1700000000, 0) })
)

func testKey(seed byte) ed25519.PrivateKey {
	s := make([]byte, ed25519.SeedSize)
	for i := range s {
		s[i] = seed
	}
	return ed25519.NewKeyFromSeed(s)
}

func pubOf(k ed25519.PrivateKey) ed25519.PublicKey { return k.Public().(ed25519.PublicKey) }

// rig is a machine: an efivarfs fake and a crash-simulating disk with the
// journal and state file.
type rig struct {
	t     *testing.T
	store *efitest.Store
	disk  *crashfs.FS
	key   ed25519.PrivateKey
	j, s  string
	// anchor, when set, is the journal's anchor for every call (it
	// survives crashes, as the TPM does).
	anchor *memAnchor
}

func newRig(t *testing.T, opts ...efitest.Option) *rig {
	return &rig{t: t, store: efitest.New(opts...), disk: crashfs.New(), key: testKey(1), j: "/esp/slkit/journal", s: "/esp/slkit/state"}
}

func (r *rig) opts(extra ...Option) []Option {
	o := []Option{WithFS(r.disk), WithAllowed(vendorAll), fixedClock}
	if r.anchor != nil {
		o = append(o, WithAnchor(r.anchor))
	}
	return append(o, extra...)
}

func (r *rig) vars() *efi.Vars { return efi.New(r.store, efi.WithMutable(vendorAll)) }

func (r *rig) enqueue(cs ...Change) (*Journal, error) {
	return Enqueue(r.j, r.s, r.key, cs, r.opts()...)
}

func (r *rig) mustEnqueue(cs ...Change) *Journal {
	r.t.Helper()
	j, err := r.enqueue(cs...)
	if err != nil {
		r.t.Fatal(err)
	}
	return j
}

func (r *rig) run(extra ...Option) (*Result, error) {
	return Commit(context.Background(), r.vars(), r.j, r.s, pubOf(r.key), r.opts(extra...)...)
}

func (r *rig) mustRun(extra ...Option) *Result {
	r.t.Helper()
	res, err := r.run(extra...)
	if err != nil {
		r.t.Fatal(err)
	}
	return res
}

func (r *rig) value(n efi.Name) ([]byte, bool) {
	_, d, ok := r.store.Value(n)
	return d, ok
}

func (r *rig) state() *State {
	r.t.Helper()
	b, err := r.disk.ReadFile(r.s, 1<<20)
	if err != nil {
		r.t.Fatal(err)
	}
	s, err := ParseState(b)
	if err != nil {
		r.t.Fatal(err)
	}
	return s
}

func set(n efi.Name, data []byte) Change {
	return Change{Op: OpSet, Var: n, Attr: efi.DefaultAttr, Data: data}
}

func outcomes(res *Result) []Outcome {
	var out []Outcome
	for _, e := range res.Entries {
		out = append(out, e.Outcome)
	}
	return out
}

// loadOption is a valid Boot#### value: description d, End Entire path.
func loadOption(d string) []byte {
	lo := efi.LoadOption{Attributes: efi.LoadOptionActive, Description: d, FilePath: []byte{0x7f, 0xff, 4, 0}}
	b, err := lo.Marshal()
	if err != nil {
		panic(err)
	}
	return b
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
