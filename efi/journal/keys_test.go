package journal

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"testing"
)

// TestKeyFileStrict: the journal's keys are parsed as strictly as the
// launch policy's: trailing data after a PEM block, PEM headers and text
// before the block are errors, not ignored.
func TestKeyFileStrict(t *testing.T) {
	key := testKey(4)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	pder, _ := x509.MarshalPKIXPublicKey(pubOf(key))
	priv := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	pub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pder})
	enc := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: der})
	for name, b := range map[string][]byte{
		"trailing data":  append(append([]byte{}, priv...), "trailing"...),
		"a second block": append(append([]byte{}, priv...), priv...),
		"headers":        enc,
		"text before":    append([]byte("junk\n"), priv...),
	} {
		if _, err := ParsePrivateKey(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("private key, %s: %v", name, err)
		}
	}
	if _, err := ParsePublicKey(append(append([]byte{}, pub...), "trailing"...)); !errors.Is(err, ErrMalformed) {
		t.Errorf("public key with trailing data: %v", err)
	}
}
