package tpm

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"sort"
)

// Digest is a hash value; it marshals to JSON as lowercase hex with no prefix.
type Digest []byte

// String is the lowercase hex form.
func (d Digest) String() string { return hex.EncodeToString(d) }

// Short is the first 4 bytes in hex followed by "…", for messages.
func (d Digest) Short() string {
	if len(d) <= 4 {
		return d.String()
	}
	return hex.EncodeToString(d[:4]) + "…"
}

// Equal reports whether two digests are identical.
func (d Digest) Equal(o Digest) bool { return bytes.Equal(d, o) }

// MarshalText implements encoding.TextMarshaler.
func (d Digest) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler; it accepts an optional
// "0x" prefix and either case.
func (d *Digest) UnmarshalText(b []byte) error {
	s := string(b)
	if len(s) >= 2 && (s[:2] == "0x" || s[:2] == "0X") {
		s = s[2:]
	}
	v, err := hex.DecodeString(s)
	if err != nil {
		return fmt.Errorf("digest %q: %w", string(b), err)
	}
	*d = v
	return nil
}

// Digests holds one digest per algorithm, as a TPML_DIGEST_VALUES does.
type Digests map[Alg]Digest

// Algs returns the algorithms in ascending TPM_ALG_ID order.
func (ds Digests) Algs() []Alg {
	out := make([]Alg, 0, len(ds))
	for a := range ds {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// ExtendDigest returns H(old ‖ digest), the PCR extend operation (Part 1 §17.2).
func ExtendDigest(alg Alg, old, digest Digest) (Digest, error) {
	return alg.Sum(old, digest)
}

// ZeroDigest is a PCR's reset value for PCR0–16 and 23 in alg's bank.
func ZeroDigest(alg Alg) Digest { return make(Digest, alg.Size()) }

// OnesDigest is the reset value of PCR17–22 (all 0xFF) before a dynamic launch.
func OnesDigest(alg Alg) Digest { return bytes.Repeat([]byte{0xFF}, alg.Size()) }
