package secureboot

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/slkit/slkit/efi"
	"github.com/slkit/slkit/internal/fsys"
)

// Role is one of the three Secure Boot keys (UEFI 2.10 §32.3.1): the
// platform key (PK) signs KEK updates, a key exchange key (KEK) signs
// db/dbx updates, a db key signs images.
type Role string

// The roles, in enrolment order (db first: in setup mode every write is
// accepted, and writing PK last leaves setup mode).
const (
	RoleDB  Role = "db"
	RoleKEK Role = "KEK"
	RolePK  Role = "PK"
)

// Roles lists the roles in enrolment order.
var Roles = []Role{RoleDB, RoleKEK, RolePK}

// Key is a signing key with its certificate.
type Key struct {
	Signer crypto.Signer
	Cert   *x509.Certificate
}

// KeySet is the three keys and the owner GUID their signature list
// entries carry.
type KeySet struct {
	Owner efi.GUID
	Keys  map[Role]Key
}

// maxPEM bounds a key or certificate file read.
const maxPEM = 64 << 10

// File names in a key directory.
func keyFile(r Role) string  { return string(r) + ".key" }
func certFile(r Role) string { return string(r) + ".crt" }

// OwnerFile is the name of the owner GUID file in a key directory.
const OwnerFile = "owner.guid"

// GenerateKeySet makes three RSA-2048 keys (PK, KEK and db certificates
// must be RSA-2048 for interoperability, UEFI 2.10 §32.3.1) with
// self-signed certificates valid from now for ten years, and a random
// owner GUID. edk2 does not check certificate times; the validity only
// matters to tools that do.
func GenerateKeySet(now time.Time) (*KeySet, error) {
	ks := &KeySet{Keys: map[Role]Key{}}
	if _, err := io.ReadFull(rand.Reader, ks.Owner[:]); err != nil {
		return nil, err
	}
	ks.Owner[7] = ks.Owner[7]&0x0f | 0x40 // version 4 (Data3's high nibble, little-endian)
	ks.Owner[8] = ks.Owner[8]&0x3f | 0x80 // RFC 4122 variant
	for _, r := range Roles {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
		if err != nil {
			return nil, err
		}
		tmpl := &x509.Certificate{
			SerialNumber:          serial,
			Subject:               pkix.Name{CommonName: "slkit Secure Boot " + string(r)},
			NotBefore:             now.UTC().Add(-time.Hour),
			NotAfter:              now.UTC().AddDate(10, 0, 0),
			KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
			ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
			BasicConstraintsValid: true,
			IsCA:                  true,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
		if err != nil {
			return nil, err
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, err
		}
		ks.Keys[r] = Key{Signer: k, Cert: cert}
	}
	return ks, nil
}

// Write stores the set in dir: ROLE.key (PEM PKCS#8, mode 0600), ROLE.crt
// (PEM) and owner.guid, each written atomically. An existing key is never
// overwritten.
func (ks *KeySet) Write(dir string) error {
	for _, r := range Roles {
		if _, err := os.Stat(filepath.Join(dir, keyFile(r))); err == nil {
			return fmt.Errorf("%w: %s exists: refusing to replace a Secure Boot key", ErrInput, filepath.Join(dir, keyFile(r)))
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for _, r := range Roles {
		k := ks.Keys[r]
		der, err := x509.MarshalPKCS8PrivateKey(k.Signer)
		if err != nil {
			return err
		}
		if err := fsys.WriteFile(fsys.OS{}, filepath.Join(dir, keyFile(r)), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			return err
		}
		if err := fsys.WriteFile(fsys.OS{}, filepath.Join(dir, certFile(r)), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: k.Cert.Raw}), 0o644); err != nil {
			return err
		}
	}
	return fsys.WriteFile(fsys.OS{}, filepath.Join(dir, OwnerFile), []byte(ks.Owner.String()+"\n"), 0o644)
}

// LoadKeySet reads a directory Write made.
func LoadKeySet(dir string) (*KeySet, error) {
	ks := &KeySet{Keys: map[Role]Key{}}
	b, err := readLimited(filepath.Join(dir, OwnerFile))
	if err != nil {
		return nil, err
	}
	if ks.Owner, err = efi.ParseGUID(strings.TrimSpace(string(b))); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, OwnerFile), err)
	}
	for _, r := range Roles {
		k, err := LoadKey(filepath.Join(dir, keyFile(r)), filepath.Join(dir, certFile(r)))
		if err != nil {
			return nil, err
		}
		ks.Keys[r] = *k
	}
	return ks, nil
}

// LoadKey reads a PEM private key (PKCS#8, PKCS#1 RSA) and a PEM or DER
// certificate, and checks that they belong together.
func LoadKey(keyPath, certPath string) (*Key, error) {
	cert, err := LoadCert(certPath)
	if err != nil {
		return nil, err
	}
	b, err := readLimited(keyPath)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%w: %s: not a PEM private key", ErrInput, keyPath)
	}
	var priv any
	switch blk.Type {
	case "PRIVATE KEY":
		priv, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
	case "RSA PRIVATE KEY":
		priv, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
	default:
		return nil, fmt.Errorf("%w: %s: PEM block %q, want PRIVATE KEY or RSA PRIVATE KEY (an encrypted key must be decrypted first)", ErrInput, keyPath, blk.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInput, keyPath, err)
	}
	rk, ok := priv.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: %s: %T, want an RSA key (Authenticode and authenticated variables are RSA-2048/SHA-256 here)", ErrInput, keyPath, priv)
	}
	if !rk.PublicKey.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("%w: %s does not belong to certificate %s", ErrInput, keyPath, certPath)
	}
	return &Key{Signer: rk, Cert: cert}, nil
}

// LoadCert reads a PEM or DER X.509 certificate.
func LoadCert(path string) (*x509.Certificate, error) {
	b, err := readLimited(path)
	if err != nil {
		return nil, err
	}
	der := b
	if blk, _ := pem.Decode(b); blk != nil {
		if blk.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("%w: %s: PEM block %q, want CERTIFICATE", ErrInput, path, blk.Type)
		}
		der = blk.Bytes
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInput, path, err)
	}
	return c, nil
}

// readLimited reads a file of at most maxPEM bytes, refusing a larger one
// before reading it.
func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("%w: %s: %v", ErrInput, path, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPEM+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(b) > maxPEM {
		return nil, fmt.Errorf("%w: %s: larger than %d bytes: not a key or certificate", ErrInput, path, maxPEM)
	}
	return b, nil
}
