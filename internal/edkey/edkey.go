// Package edkey is slkit's one parser of Ed25519 key files, for the keys
// of the launch policy and of the EFI journal alike. A key file is one of:
//
//   - PEM: exactly one block, "PRIVATE KEY" (PKCS#8, RFC 8410 §7, as
//     `openssl genpkey -algorithm ed25519` writes it) or "PUBLIC KEY" (PKIX
//     SubjectPublicKeyInfo, RFC 8410 §4, as `openssl pkey -pubout` writes
//     it), without headers (no encrypted or annotated keys), with nothing
//     but white space before or after it;
//   - raw: a 32-byte seed or the 64-byte seed‖public form of
//     crypto/ed25519 for a private key (the form `slkit unseal` gives back
//     when the key was sealed), 32 bytes for a public key.
//
// Anything else, a file larger than MaxFileSize included, is an error
// that says in one line what is wrong (never an ASN.1 structure dump).
package edkey

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/pem"
	"fmt"

	"github.com/slkit/slkit/internal/errkind"
)

// MaxFileSize bounds a key file (a PEM Ed25519 private key is 119 bytes).
const MaxFileSize = 4096

// PEM block types (RFC 7468 §10 and §13).
const (
	pemPrivate = "PRIVATE KEY"
	pemPublic  = "PUBLIC KEY"
)

// Error is a malformed key file. Callers wrap it in their own sentinel.
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

// Unwrap gives the error its kind: bad input.
func (e *Error) Unwrap() error { return errkind.Input }

func bad(format string, a ...any) error { return &Error{Msg: fmt.Sprintf(format, a...)} }

// ParsePrivate decodes an Ed25519 private key file.
func ParsePrivate(b []byte) (ed25519.PrivateKey, error) {
	switch len(b) {
	case ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(b), nil
	case ed25519.PrivateKeySize:
		k := ed25519.NewKeyFromSeed(b[:ed25519.SeedSize])
		if subtle.ConstantTimeCompare(k, b) != 1 {
			return nil, bad("64 raw bytes whose public half does not match the seed")
		}
		return k, nil
	}
	der, err := onePEM(b, pemPrivate)
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, bad("the %q block is not DER PKCS#8", pemPrivate)
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, bad("a %s private key, want Ed25519", keyType(k))
	}
	return ek, nil
}

// ParsePublic decodes an Ed25519 public key file.
func ParsePublic(b []byte) (ed25519.PublicKey, error) {
	if len(b) == ed25519.PublicKeySize {
		return ed25519.PublicKey(bytes.Clone(b)), nil
	}
	der, err := onePEM(b, pemPublic)
	if err != nil {
		return nil, err
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, bad("the %q block is not a DER SubjectPublicKeyInfo of a known algorithm", pemPublic)
	}
	ek, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, bad("a %s public key, want Ed25519", keyType(k))
	}
	return ek, nil
}

// onePEM returns the DER bytes of a file that is exactly one PEM block of
// type typ without headers, white space aside.
func onePEM(b []byte, typ string) ([]byte, error) {
	if len(b) > MaxFileSize {
		return nil, bad("%d bytes, more than a key file's %d", len(b), MaxFileSize)
	}
	t := bytes.TrimSpace(b)
	if !bytes.HasPrefix(t, []byte("-----BEGIN ")) {
		return nil, bad("neither a raw Ed25519 key nor PEM (want a %q block)", typ)
	}
	if n := bytes.Count(t, []byte("-----BEGIN ")); n != 1 {
		return nil, bad("%d PEM blocks, want one", n)
	}
	blk, rest := pem.Decode(t)
	if blk == nil {
		return nil, bad("malformed PEM")
	}
	if blk.Type != typ {
		return nil, bad("PEM block %q, want %q", blk.Type, typ)
	}
	if len(blk.Headers) != 0 {
		return nil, bad("PEM headers (an encrypted or annotated key) are not supported")
	}
	if len(rest) != 0 {
		return nil, bad("data after the PEM block")
	}
	return blk.Bytes, nil
}

// keyType names a key's algorithm in an error.
func keyType(k any) string {
	switch k.(type) {
	case *rsa.PrivateKey, *rsa.PublicKey:
		return "RSA"
	case *ecdsa.PrivateKey, *ecdsa.PublicKey:
		return "ECDSA"
	case *ecdh.PrivateKey, *ecdh.PublicKey:
		return "X25519"
	}
	return "non-Ed25519"
}

// MarshalPrivate encodes a private key as PEM PKCS#8.
func MarshalPrivate(k ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPrivate, Bytes: der}), nil
}

// MarshalPublic encodes a public key as PEM PKIX.
func MarshalPublic(k ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPublic, Bytes: der}), nil
}

// ID is the SHA-256 of the key's PKIX DER encoding: the launch policy's
// key id is its hex, the journal's its first 16 bytes.
func ID(pub ed25519.PublicKey) [32]byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return [32]byte{}
	}
	return sha256.Sum256(der)
}
