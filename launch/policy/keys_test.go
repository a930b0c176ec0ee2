package policy

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
)

// TestKeyFileStrict: exactly one PEM block of the right type, no headers,
// nothing but white space around it.
func TestKeyFileStrict(t *testing.T) {
	kb, _ := MarshalPrivateKey(testKey(8))
	pb, _ := MarshalPublicKey(testKey(8).Public().(ed25519.PublicKey))
	for name, b := range map[string][]byte{
		"text before the block": append([]byte("comment\n"), pb...),
		"a second block":        append(append([]byte{}, pb...), pb...),
		"headers":               []byte(strings.Replace(string(pb), "-----\n", "-----\nComment: x\n\n", 1)),
		"trailing PEM-ish data": append(append([]byte{}, pb...), "-----BEGIN X-----\n"...),
	} {
		if _, err := ParsePublicKey(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("public key, %s: %v", name, err)
		}
	}
	if _, err := ParsePrivateKey(append([]byte("x\n"), kb...)); !errors.Is(err, ErrMalformed) {
		t.Errorf("private key with text before: %v", err)
	}
}
