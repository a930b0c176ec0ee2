package nextboot

import (
	"os"
	"testing"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/tpm"
)

// FuzzPredict feeds untrusted event logs (and a BootOrder to queue) to
// Predict: it must not panic, and predicting no change must give the
// log's own replay in every bank it predicts.
func FuzzPredict(f *testing.F) {
	b, err := os.ReadFile("testdata/ovmf-secureboot-uki.bin")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b, []byte{})
	f.Add(b, []byte{1, 0, 0, 0})
	f.Add(b[:len(b)/2], []byte{0, 0})
	f.Fuzz(func(t *testing.T, raw, order []byte) {
		l, err := tpm.ParseEventLog(raw)
		if err != nil {
			return
		}
		var opts []Option
		if len(order) > 0 {
			opts = append(opts, WithChanges(set("fuzz", efi.BootOrder, efi.DefaultAttr, order)))
		}
		p, err := Predict(l, opts...)
		if err != nil || len(opts) > 0 {
			return
		}
		cur, err := l.Replay(tpm.WithBanks(p.Banks...))
		if err != nil {
			return
		}
		for _, a := range p.Banks {
			for _, i := range cur.Indices(a) {
				want, _ := cur.Get(a, i)
				if got, ok := p.PCRs.Get(a, i); ok && !got.Equal(want) {
					t.Fatalf("%s PCR %d: predicted %s with no change, the log replays to %s", a, i, got, want)
				}
			}
		}
	})
}
