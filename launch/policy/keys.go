package policy

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/slkit/slkit/internal/edkey"
	"github.com/slkit/slkit/internal/errkind"
	"github.com/slkit/slkit/internal/fsys"
)

// Key files are read by internal/edkey, the one Ed25519 key parser of
// slkit (the EFI journal's keys are the same files): PEM PKCS#8 "PRIVATE
// KEY" and PKIX "PUBLIC KEY" (RFC 8410), exactly one block without
// headers; or raw key bytes. Keys are written as PEM.

// MarshalPrivateKey encodes key as PEM PKCS#8.
func MarshalPrivateKey(key ed25519.PrivateKey) ([]byte, error) { return edkey.MarshalPrivate(key) }

// MarshalPublicKey encodes key as PEM PKIX.
func MarshalPublicKey(key ed25519.PublicKey) ([]byte, error) { return edkey.MarshalPublic(key) }

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

// KeyID is the lowercase hex SHA-256 of the key's PKIX DER encoding.
func KeyID(pub ed25519.PublicKey) string {
	id := edkey.ID(pub)
	return hex.EncodeToString(id[:])
}

// ErrExists is returned by GenerateKeyFiles when a key file is already
// there (a signing key is never overwritten by accident).
var ErrExists = errkind.New(errkind.Input, "file exists")

// GenerateKeyFiles creates a new Ed25519 key pair from rand: the private
// key at keyPath (mode 0600), the public key at pubPath (mode 0644), each
// written atomically. It refuses to replace existing files unless force,
// and both paths are checked before either file is written.
func GenerateKeyFiles(rand io.Reader, keyPath, pubPath string, force bool) (ed25519.PublicKey, error) {
	return GenerateKeyFilesWith(rand, keyPath, pubPath, force, MarshalPrivateKey)
}

// GenerateKeyFilesWith is GenerateKeyFiles with the private key's file
// content made by encode (PEM PKCS#8 for GenerateKeyFiles; sealed to the
// TPM for a key that must never be written in clear). Nothing is written
// when encode fails.
func GenerateKeyFilesWith(rand io.Reader, keyPath, pubPath string, force bool, encode func(ed25519.PrivateKey) ([]byte, error)) (ed25519.PublicKey, error) {
	for _, p := range []string{keyPath, pubPath} {
		if !force {
			if _, err := os.Lstat(p); err == nil {
				return nil, fmt.Errorf("%s: %w (remove it first)", p, ErrExists)
			} else if !errors.Is(err, fs.ErrNotExist) {
				return nil, err
			}
		}
		if err := fsys.CheckWritable(fsys.OS{}, p); err != nil {
			return nil, err
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
	if err := fsys.WriteFile(fsys.OS{}, keyPath, kb, 0o600); err != nil {
		return nil, err
	}
	if err := fsys.WriteFile(fsys.OS{}, pubPath, pb, 0o644); err != nil {
		return nil, err
	}
	return pub, nil
}
