package tpm

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/slkit/slkit/internal/errkind"
)

// ErrDigestText is a digest given as text that is not ALG:HEX of the
// algorithm's size.
var ErrDigestText = errkind.New(errkind.Input, "bad digest")

// ParseDigestText parses "ALG:HEX" (e.g. "sha256:<64 hex digits>", an
// optional 0x before the digits): one bank's digest, of that bank's size.
func ParseDigestText(s string) (Digests, error) {
	an, hx, ok := strings.Cut(s, ":")
	alg, err := ParseAlg(an)
	if !ok || err != nil {
		return nil, fmt.Errorf("%w %q: want ALG:HEX, e.g. sha256:<64 hex digits>", ErrDigestText, s)
	}
	d, err := hex.DecodeString(strings.TrimPrefix(hx, "0x"))
	if err != nil || len(d) != alg.Size() {
		return nil, fmt.Errorf("%w: %s needs %d hex-encoded bytes", ErrDigestText, alg, alg.Size())
	}
	return Digests{alg: d}, nil
}

// ExtendedText is a line per bank, in the order of Algs, saying that PCR
// pcr was extended with the bank's digest (`slkit pcr extend`).
func (d Digests) ExtendedText(pcr int) string {
	var b strings.Builder
	for _, a := range d.Algs() {
		fmt.Fprintf(&b, "extended PCR %d in %s with %s\n", pcr, a, d[a])
	}
	return b.String()
}
