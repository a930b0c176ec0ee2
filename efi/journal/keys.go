package journal

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/pem"
	"fmt"
)

// Key files. The private key is raw (a 32-byte seed or the 64-byte
// seed||public form of crypto/ed25519) or PEM PKCS#8 "PRIVATE KEY"
// (RFC 8410, as `openssl genpkey -algorithm ed25519` and `slkit efi keygen`
// write it); it is read from a path or stdin so that it can come out of
// `slkit unseal`. The public key is raw (32 bytes) or PEM PKIX
// "PUBLIC KEY".

// ParsePrivateKey decodes an Ed25519 private key file.
func ParsePrivateKey(b []byte) (ed25519.PrivateKey, error) {
	switch len(b) {
	case ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(b), nil
	case ed25519.PrivateKeySize:
		k := ed25519.NewKeyFromSeed(b[:ed25519.SeedSize])
		if subtle.ConstantTimeCompare(k, b) != 1 {
			return nil, fmt.Errorf("%w private key: 64 raw bytes whose public half does not match the seed", ErrMalformed)
		}
		return k, nil
	}
	return parsePEM[ed25519.PrivateKey](b, "PRIVATE KEY", x509.ParsePKCS8PrivateKey)
}

// ParsePublicKey decodes an Ed25519 public key file.
func ParsePublicKey(b []byte) (ed25519.PublicKey, error) {
	if len(b) == ed25519.PublicKeySize {
		return ed25519.PublicKey(append([]byte(nil), b...)), nil
	}
	return parsePEM[ed25519.PublicKey](b, "PUBLIC KEY", x509.ParsePKIXPublicKey)
}

// parsePEM decodes one PEM block of type typ holding an Ed25519 key.
func parsePEM[K any](b []byte, typ string, parse func([]byte) (any, error)) (K, error) {
	var zero K
	blk, _ := pem.Decode(b)
	if blk == nil {
		return zero, fmt.Errorf("%w key: neither raw Ed25519 bytes nor PEM (want %q)", ErrMalformed, typ)
	}
	if blk.Type != typ {
		return zero, fmt.Errorf("%w key: PEM block %q, want %q", ErrMalformed, blk.Type, typ)
	}
	k, err := parse(blk.Bytes)
	if err != nil {
		return zero, fmt.Errorf("%w key: %v", ErrMalformed, err)
	}
	ek, ok := k.(K)
	if !ok {
		return zero, fmt.Errorf("%w key: a %T, want Ed25519", ErrMalformed, k)
	}
	return ek, nil
}

// KeyID identifies a public key: the first 16 bytes of the SHA-256 of its
// PKIX DER encoding (the prefix of launch/policy's KeyID for the same key).
func KeyID(pub ed25519.PublicKey) [16]byte {
	var id [16]byte
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return id
	}
	s := sha256.Sum256(der)
	copy(id[:], s[:16])
	return id
}
