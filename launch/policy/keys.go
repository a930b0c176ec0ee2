package policy

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/slkit/slkit/internal/errkind"

	"github.com/slkit/slkit/internal/atomicfile"
)

// Key files are PEM: the private key as PKCS#8 ("PRIVATE KEY", RFC 8410 §7,
// as `openssl genpkey -algorithm ed25519` writes it), the public key as
// PKIX SubjectPublicKeyInfo ("PUBLIC KEY", RFC 8410 §4, as
// `openssl pkey -pubout` writes it). Raw keys are not accepted.
const (
	pemPrivate = "PRIVATE KEY"
	pemPublic  = "PUBLIC KEY"
)

// MarshalPrivateKey encodes key as PEM PKCS#8.
func MarshalPrivateKey(key ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPrivate, Bytes: der}), nil
}

// MarshalPublicKey encodes key as PEM PKIX.
func MarshalPublicKey(key ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPublic, Bytes: der}), nil
}

func onePEM(b []byte, typ string) ([]byte, error) {
	blk, rest := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%w key: no PEM block (want %q)", ErrMalformed, typ)
	}
	if blk.Type != typ {
		return nil, fmt.Errorf("%w key: PEM block %q, want %q", ErrMalformed, blk.Type, typ)
	}
	if len(blk.Headers) != 0 {
		return nil, fmt.Errorf("%w key: encrypted or annotated PEM is not supported", ErrMalformed)
	}
	for _, c := range rest {
		if c != ' ' && c != '\n' && c != '\r' && c != '\t' {
			return nil, fmt.Errorf("%w key: data after the PEM block", ErrMalformed)
		}
	}
	return blk.Bytes, nil
}

// ParsePrivateKey decodes a PEM PKCS#8 Ed25519 private key.
func ParsePrivateKey(b []byte) (ed25519.PrivateKey, error) {
	return parseKey[ed25519.PrivateKey](b, pemPrivate, x509.ParsePKCS8PrivateKey)
}

// ParsePublicKey decodes a PEM PKIX Ed25519 public key.
func ParsePublicKey(b []byte) (ed25519.PublicKey, error) {
	return parseKey[ed25519.PublicKey](b, pemPublic, x509.ParsePKIXPublicKey)
}

func parseKey[K any](b []byte, typ string, parse func([]byte) (any, error)) (K, error) {
	var zero K
	der, err := onePEM(b, typ)
	if err != nil {
		return zero, err
	}
	k, err := parse(der)
	if err != nil {
		return zero, fmt.Errorf("%w key: %w", ErrMalformed, err)
	}
	ek, ok := k.(K)
	if !ok {
		return zero, fmt.Errorf("%w key: a %T, want Ed25519", ErrMalformed, k)
	}
	return ek, nil
}

// KeyID is the lowercase hex SHA-256 of the key's PKIX DER encoding.
func KeyID(pub ed25519.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "invalid-key"
	}
	s := sha256.Sum256(der)
	return hex.EncodeToString(s[:])
}

// ErrExists is returned by GenerateKeyFiles when a key file is already
// there (a signing key is never overwritten by accident).
var ErrExists = errkind.New(errkind.Input, "file exists")

// GenerateKeyFiles creates a new Ed25519 key pair from rand: the private
// key at keyPath (mode 0600), the public key at pubPath (mode 0644), each
// written atomically. It refuses to replace existing files unless force.
func GenerateKeyFiles(rand io.Reader, keyPath, pubPath string, force bool) (ed25519.PublicKey, error) {
	return GenerateKeyFilesWith(rand, keyPath, pubPath, force, MarshalPrivateKey)
}

// GenerateKeyFilesWith is GenerateKeyFiles with the private key's file
// content made by encode (PEM PKCS#8 for GenerateKeyFiles; sealed to the
// TPM for a key that must never be written in clear). Nothing is written
// when encode fails.
func GenerateKeyFilesWith(rand io.Reader, keyPath, pubPath string, force bool, encode func(ed25519.PrivateKey) ([]byte, error)) (ed25519.PublicKey, error) {
	if !force {
		for _, p := range []string{keyPath, pubPath} {
			if _, err := os.Lstat(p); err == nil {
				return nil, fmt.Errorf("%s: %w (remove it first)", p, ErrExists)
			} else if !errors.Is(err, fs.ErrNotExist) {
				return nil, err
			}
		}
	}
	pub, priv, err := ed25519.GenerateKey(rand)
	if err != nil {
		return nil, err
	}
	kb, err := encode(priv)
	clear(priv)
	if err != nil {
		return nil, err
	}
	pb, err := MarshalPublicKey(pub)
	if err != nil {
		return nil, err
	}
	if err := atomicfile.WriteFile(keyPath, kb, 0o600); err != nil {
		return nil, err
	}
	if err := atomicfile.WriteFile(pubPath, pb, 0o644); err != nil {
		return nil, err
	}
	return pub, nil
}
