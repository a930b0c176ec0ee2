package journal

import (
	"crypto/ed25519"
	"fmt"

	"github.com/slkit/slkit/internal/edkey"
)

// Key files are read by internal/edkey, the one Ed25519 key parser of
// slkit (the launch policy's keys are the same files): a private key is
// raw (a 32-byte seed or the 64-byte seed‖public form of crypto/ed25519,
// as `slkit unseal` gives it back) or PEM PKCS#8 "PRIVATE KEY" (RFC 8410,
// as `openssl genpkey -algorithm ed25519` and `slkit efi keygen` write
// it), read from a path or stdin; a public key is raw (32 bytes) or PEM
// PKIX "PUBLIC KEY". A PEM file is exactly one block without headers.

// ParsePrivateKey decodes an Ed25519 private key file.
func ParsePrivateKey(b []byte) (ed25519.PrivateKey, error) {
	k, err := edkey.ParsePrivate(b)
	if err != nil {
		return nil, fmt.Errorf("%w key: %w", ErrMalformed, err)
	}
	return k, nil
}

// ParsePublicKey decodes an Ed25519 public key file.
func ParsePublicKey(b []byte) (ed25519.PublicKey, error) {
	k, err := edkey.ParsePublic(b)
	if err != nil {
		return nil, fmt.Errorf("%w key: %w", ErrMalformed, err)
	}
	return k, nil
}

// KeyID identifies a public key: the first 16 bytes of the SHA-256 of its
// PKIX DER encoding (the prefix of launch/policy's KeyID for the same key).
func KeyID(pub ed25519.PublicKey) [16]byte {
	var id [16]byte
	full := edkey.ID(pub)
	copy(id[:], full[:16])
	return id
}
