package initramfs

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"testing"

	"github.com/slkit/slkit/tpm"
)

// independent computes, with the standard library only, the event digest
// H(data) and the PCR after extending a zero PCR with it, H(0^n ‖ H(data))
// (TPM 2.0 Part 1 §17.2), per bank.
func independent(data []byte) map[tpm.Alg][2][]byte {
	s1 := sha1.Sum(data)
	s256 := sha256.Sum256(data)
	s384 := sha512.Sum384(data)
	s512 := sha512.Sum512(data)
	p1 := sha1.Sum(append(make([]byte, 20), s1[:]...))
	p256 := sha256.Sum256(append(make([]byte, 32), s256[:]...))
	p384 := sha512.Sum384(append(make([]byte, 48), s384[:]...))
	p512 := sha512.Sum512(append(make([]byte, 64), s512[:]...))
	return map[tpm.Alg][2][]byte{
		tpm.SHA1:   {s1[:], p1[:]},
		tpm.SHA256: {s256[:], p256[:]},
		tpm.SHA384: {s384[:], p384[:]},
		tpm.SHA512: {s512[:], p512[:]},
	}
}

func checkContribution(t *testing.T, c *Contribution, data []byte) {
	t.Helper()
	if c.PCR != 9 || c.Type != tpm.EvIPL || c.TypeName != "EV_IPL" {
		t.Errorf("PCR %d type %v (%s), want PCR 9 EV_IPL (launch.MeasuredProfile)", c.PCR, c.Type, c.TypeName)
	}
	want := independent(data)
	if len(c.Banks) != len(want) {
		t.Errorf("%d banks, want %d", len(c.Banks), len(want))
	}
	for alg, w := range want {
		b := c.Banks[alg]
		if !b.Event.Equal(w[0]) || !b.FromZero.Equal(w[1]) {
			t.Errorf("%v: event %s pcr %s, want %x %x", alg, b.Event, b.FromZero, w[0], w[1])
		}
	}
}

func TestInitrdContribution(t *testing.T) {
	data := []byte(golden)
	ds, err := tpm.HashReader(Banks, bytesReader(data))
	if err != nil {
		t.Fatal(err)
	}
	c, err := InitrdContribution(ds)
	if err != nil {
		t.Fatal(err)
	}
	checkContribution(t, c, data)
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
