package tpm

import (
	"crypto"
	_ "crypto/sha1" // registers SHA-1 for Alg.New
	_ "crypto/sha256"
	_ "crypto/sha512"
	"fmt"
	"hash"
	"slices"
	"strconv"
	"strings"

	"github.com/slkit/slkit/internal/errkind"
)

// Alg is a TPM hash algorithm identifier (TPM_ALG_ID, Part 2 §6.3).
type Alg uint16

// Hash algorithms that can appear as PCR banks.
const (
	SHA1    Alg = 0x0004
	SHA256  Alg = 0x000B
	SHA384  Alg = 0x000C
	SHA512  Alg = 0x000D
	SM3_256 Alg = 0x0012
	SHA3256 Alg = 0x0027
	SHA3384 Alg = 0x0028
	SHA3512 Alg = 0x0029
)

// ErrUnknownAlg is returned for an algorithm name or ID slkit does not know.
var ErrUnknownAlg = errkind.New(errkind.Input, "unknown hash algorithm")

// ErrUnsupportedAlg is returned when slkit knows an algorithm's digest size
// but cannot compute it (SM3-256).
var ErrUnsupportedAlg = errkind.New(errkind.Input, "hash algorithm not supported by this build")

type algInfo struct {
	name string
	size int
	hash crypto.Hash // 0 when Go cannot compute it
}

var algs = map[Alg]algInfo{
	SHA1:    {"sha1", 20, crypto.SHA1},
	SHA256:  {"sha256", 32, crypto.SHA256},
	SHA384:  {"sha384", 48, crypto.SHA384},
	SHA512:  {"sha512", 64, crypto.SHA512},
	SM3_256: {"sm3_256", 32, 0},
	SHA3256: {"sha3_256", 32, crypto.SHA3_256},
	SHA3384: {"sha3_384", 48, crypto.SHA3_384},
	SHA3512: {"sha3_512", 64, crypto.SHA3_512},
}

// String returns the lowercase name used in JSON and on the command line
// ("sha256"), or "0x%04x" for an unknown ID.
func (a Alg) String() string {
	if i, ok := algs[a]; ok {
		return i.name
	}
	return fmt.Sprintf("0x%04x", uint16(a))
}

// Known reports whether slkit knows the algorithm's digest size.
func (a Alg) Known() bool { _, ok := algs[a]; return ok }

// Size is the digest size in bytes, or 0 for an unknown algorithm.
func (a Alg) Size() int { return algs[a].size }

// Hash returns the crypto.Hash for a, or an error when it cannot be computed.
func (a Alg) Hash() (crypto.Hash, error) {
	i, ok := algs[a]
	if !ok {
		return 0, fmt.Errorf("%w: %s", ErrUnknownAlg, a)
	}
	if i.hash == 0 || !i.hash.Available() {
		return 0, fmt.Errorf("%w: %s", ErrUnsupportedAlg, a)
	}
	return i.hash, nil
}

// New returns a new hash.Hash for a.
func (a Alg) New() (hash.Hash, error) {
	h, err := a.Hash()
	if err != nil {
		return nil, err
	}
	return h.New(), nil
}

// Sum hashes data with a.
func (a Alg) Sum(data ...[]byte) (Digest, error) {
	h, err := a.New()
	if err != nil {
		return nil, err
	}
	for _, d := range data {
		h.Write(d)
	}
	return h.Sum(nil), nil
}

// ParseAlg accepts "sha256", "SHA-256", "sha3-256" or a numeric ID ("0x000b", "11").
func ParseAlg(s string) (Alg, error) {
	n := strings.ToLower(strings.TrimSpace(s))
	n = strings.ReplaceAll(n, "-", "")
	for a, i := range algs {
		if strings.ReplaceAll(i.name, "_", "") == strings.ReplaceAll(n, "_", "") {
			return a, nil
		}
	}
	if v, err := strconv.ParseUint(n, 0, 16); err == nil && Alg(v).Known() {
		return Alg(v), nil
	}
	return 0, fmt.Errorf("%w: %q", ErrUnknownAlg, s)
}

// CommonBanks are the banks swtpm and most TPMs can allocate: what slkit
// predicts and reports when nothing says which banks.
var CommonBanks = []Alg{SHA1, SHA256, SHA384, SHA512}

// ParseBanks parses bank names (ParseAlg), each kept once in the order
// given; a bank slkit cannot hash is an error.
func ParseBanks(names []string) ([]Alg, error) {
	var banks []Alg
	for _, n := range names {
		a, err := ParseAlg(n)
		if err == nil {
			_, err = a.Hash()
		}
		if err != nil {
			return nil, err
		}
		if !slices.Contains(banks, a) {
			banks = append(banks, a)
		}
	}
	return banks, nil
}

// MarshalText implements encoding.TextMarshaler (JSON map keys and values).
func (a Alg) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (a *Alg) UnmarshalText(b []byte) error {
	v, err := ParseAlg(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}
