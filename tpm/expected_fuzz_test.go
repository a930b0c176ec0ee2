package tpm

import (
	"encoding/json"
	"testing"
)

// FuzzParseExpected: the PCR-values JSON that `slkit seal --pcr-values`
// and `slkit pcr compare` read (predict --json, pcr read --json) is
// untrusted input. Whatever parses must hold only valid PCR indices and
// digests of the bank's size, and survive a marshal/parse round trip.
func FuzzParseExpected(f *testing.F) {
	f.Add([]byte(`{"banks":{"sha256":{"8":"` + zeros(64) + `","9":"` + zeros(64) + `"}}}`))
	f.Add([]byte(`{"banks":{"sha1":{"17":"` + zeros(40) + `"}},"events":[]}`))
	f.Add([]byte(`{"banks":{"sha256":{"24":"00"}}}`))
	f.Add([]byte(`{"banks":{"sm3_256":{"0":"` + zeros(64) + `"}}}`))
	f.Add([]byte(`{"banks":{},"events":[{"index":1,"pcr":9,"type":"EV_IPL","digests":{"sha256":"` + zeros(64) + `"},"data":"6b65726e656c","description":"kernel"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var x Expected
		if err := json.Unmarshal(b, &x); err != nil {
			return
		}
		for _, a := range x.Algs() {
			for _, i := range x.Indices(a) {
				d, _ := x.Get(a, i)
				if i < 0 || i >= NumPCRs || len(d) != a.Size() {
					t.Fatalf("accepted %s PCR %d with a %d-byte value", a, i, len(d))
				}
			}
		}
		out, err := json.Marshal(x)
		if err != nil {
			t.Fatalf("marshal what parsed: %v", err)
		}
		var y Expected
		if err := json.Unmarshal(out, &y); err != nil {
			t.Fatalf("re-parse %s: %v", out, err)
		}
		if len(ComparePCRs(&x.PCRs, &y.PCRs)) != len(ComparePCRs(&x.PCRs, &x.PCRs)) {
			t.Fatal("round trip changed the PCR set")
		}
		for _, c := range ComparePCRs(&x.PCRs, &y.PCRs) {
			if !c.Equal {
				t.Fatalf("round trip changed %s PCR %d", c.Bank, c.PCR)
			}
		}
	})
}

func zeros(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = '0'
	}
	return string(b)
}
