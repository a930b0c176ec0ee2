package launch

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"io"
	"testing"

	"github.com/slkit/slkit/tpm"
)

// genImage is a deterministic pseudo-random image of any size, generated
// on the fly (no file, no buffer): byte i is byte i%8 of splitmix64(seed+i/8).
type genImage struct {
	seed uint64
	size int64
}

func splitmix(x uint64) uint64 {
	x += 0x9E3779B97F4A7C15
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9
	x = (x ^ (x >> 27)) * 0x94D049BB133111EB
	return x ^ (x >> 31)
}

func (g genImage) ReadAt(p []byte, off int64) (int, error) {
	if off >= g.size {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), g.size-off))
	pos := uint64(off)
	w := splitmix(g.seed + pos/8)
	for i := 0; i < n; i, pos = i+1, pos+1 {
		if pos%8 == 0 {
			w = splitmix(g.seed + pos/8)
		}
		p[i] = byte(w >> (8 * (pos % 8)))
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (g genImage) image(name string) Image { return Image{R: g, Size: g.size, Name: name} }

// stdHashes are the stdlib constructors of each bank, written out here so
// that tests do not compute expectations with the code under test.
var stdHashes = map[tpm.Alg]func() hash.Hash{
	tpm.SHA1: sha1.New, tpm.SHA256: sha256.New, tpm.SHA384: sha512.New384, tpm.SHA512: sha512.New,
}

// stdSum hashes r (streamed) with the stdlib implementation of alg.
func stdSum(t testing.TB, alg tpm.Alg, r io.Reader) []byte {
	t.Helper()
	nh, ok := stdHashes[alg]
	if !ok {
		t.Fatalf("no stdlib hash for %s", alg)
	}
	h := nh()
	if _, err := io.Copy(h, r); err != nil {
		t.Fatal(err)
	}
	return h.Sum(nil)
}

// stdExtend is H(old ‖ d) with the stdlib hash.
func stdExtend(alg tpm.Alg, old, d []byte) []byte {
	h := stdHashes[alg]()
	h.Write(old)
	h.Write(d)
	return h.Sum(nil)
}
