package tpm

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/slkit/slkit/internal/errkind"
)

// ErrWrongSecret is returned when an unsealed secret is not the one its
// fingerprint pin names: the TPM released an object, but another one than
// expected (a swapped sealed file). Nothing is written or printed.
var ErrWrongSecret = errkind.New(errkind.Verify, "the unsealed secret is not the one expected")

// ErrBadFingerprint wraps a malformed fingerprint pin.
var ErrBadFingerprint = errkind.New(errkind.Input, "bad fingerprint")

// fingerprintPrefix names the hash of a fingerprint.
const fingerprintPrefix = "sha256:"

// Fingerprint names a secret without revealing it: "sha256:" and the hex
// SHA-256 of its bytes (`slkit unseal --fingerprint` prints it). It is
// safe to show or to pin in a measured image for a secret of full entropy
// (a random key), not for a guessable one (a passphrase): anyone who sees
// it can test guesses offline.
func Fingerprint(secret []byte) string {
	sum := sha256.Sum256(secret)
	return fingerprintPrefix + hex.EncodeToString(sum[:])
}

// ParseFingerprint checks a fingerprint pin: Fingerprint's form, or its 64
// hex digits alone (either case). It returns the SHA-256.
func ParseFingerprint(s string) ([]byte, error) {
	h := strings.TrimPrefix(s, fingerprintPrefix)
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != sha256.Size {
		return nil, fmt.Errorf("%w %q: want sha256:<64 hex digits>", ErrBadFingerprint, s)
	}
	return b, nil
}

// CheckFingerprint compares secret's SHA-256 with want (ParseFingerprint)
// in constant time; a mismatch is ErrWrongSecret, naming want only.
func CheckFingerprint(secret, want []byte) error {
	sum := sha256.Sum256(secret)
	if subtle.ConstantTimeCompare(sum[:], want) != 1 {
		return fmt.Errorf("%w (pinned %s%x)", ErrWrongSecret, fingerprintPrefix, want)
	}
	return nil
}
