package edkey

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slkit/slkit/internal/errkind"
)

func key(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

func TestParseAccepts(t *testing.T) {
	k := key(1)
	pub := k.Public().(ed25519.PublicKey)
	kb, _ := MarshalPrivate(k)
	pb, _ := MarshalPublic(pub)
	for name, b := range map[string][]byte{"seed": k.Seed(), "raw64": k, "pem": kb, "pem in white space": append(append([]byte("\n "), kb...), "\r\n\n"...)} {
		got, err := ParsePrivate(b)
		if err != nil || !got.Equal(k) {
			t.Errorf("private %s: %v", name, err)
		}
	}
	for name, b := range map[string][]byte{"raw": pub, "pem": pb} {
		got, err := ParsePublic(b)
		if err != nil || !got.Equal(pub) {
			t.Errorf("public %s: %v", name, err)
		}
	}
}

// TestParseRefuses: every way a key file can be wrong is one line of
// kind Input, without an ASN.1 structure dump.
func TestParseRefuses(t *testing.T) {
	k := key(2)
	kb, _ := MarshalPrivate(k)
	pb, _ := MarshalPublic(k.Public().(ed25519.PublicKey))
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecder, _ := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	ecpem := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: ecder})
	bad64 := append([]byte(nil), k...)
	bad64[63] ^= 1
	withHeader := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: []byte{1}})
	for name, tc := range map[string]struct {
		b      []byte
		public bool
	}{
		"text before":           {append([]byte("comment\n"), kb...), false},
		"trailing text":         {append(append([]byte{}, kb...), "x"...), false},
		"trailing block":        {append(append([]byte{}, pb...), pb...), true},
		"malformed first block": {append([]byte("-----BEGIN PUBLIC KEY-----\n!!\n"), pb...), true},
		"headers":               {withHeader, false},
		"wrong type":            {pb, false},
		"private as public":     {kb, true},
		"ECDSA key":             {ecpem, true},
		"DER structure error":   {[]byte("-----BEGIN PUBLIC KEY-----\nMAMCAQA=\n-----END PUBLIC KEY-----\n"), true},
		"raw 64 mismatch":       {bad64, false},
		"31 bytes":              {k.Seed()[:31], false},
		"empty":                 {nil, true},
		"huge":                  {append(bytes.Repeat([]byte(" "), MaxFileSize), pb...), true},
	} {
		var err error
		if tc.public {
			_, err = ParsePublic(tc.b)
		} else {
			_, err = ParsePrivate(tc.b)
		}
		var e *Error
		if !errors.As(err, &e) || !errors.Is(err, errkind.Input) {
			t.Errorf("%s: %v, want an *Error of kind Input", name, err)
			continue
		}
		if strings.ContainsAny(err.Error(), "{}\n") || strings.Contains(err.Error(), "asn1") {
			t.Errorf("%s: %q is not one plain line", name, err)
		}
	}
}

// TestOpenSSLKeys: keys openssl writes parse to the same key openssl
// derives the public half of.
func TestOpenSSLKeys(t *testing.T) {
	ossl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed")
	}
	dir := t.TempDir()
	kf, pf := filepath.Join(dir, "k.pem"), filepath.Join(dir, "p.pem")
	if out, err := exec.Command(ossl, "genpkey", "-algorithm", "ed25519", "-out", kf).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if out, err := exec.Command(ossl, "pkey", "-in", kf, "-pubout", "-out", pf).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	kb, _ := os.ReadFile(kf)
	pb, _ := os.ReadFile(pf)
	k, err := ParsePrivate(kb)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParsePublic(pb)
	if err != nil || !p.Equal(k.Public()) {
		t.Fatalf("openssl's public key %x is not the private key's (%v)", p, err)
	}
}

// FuzzParse: the parsers never panic, fail only with *Error, accept only
// what the standard library's independent decoding gives the same key for,
// and an accepted key re-encodes to a file that parses to it.
func FuzzParse(f *testing.F) {
	k := key(3)
	kb, _ := MarshalPrivate(k)
	pb, _ := MarshalPublic(k.Public().(ed25519.PublicKey))
	for _, s := range [][]byte{kb, pb, k.Seed(), k, []byte(k.Public().(ed25519.PublicKey)), append([]byte("x\n"), pb...), append(append([]byte{}, pb...), pb...)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var e *Error
		if priv, err := ParsePrivate(b); err == nil {
			if len(b) != ed25519.SeedSize && len(b) != ed25519.PrivateKeySize {
				blk, _ := pem.Decode(b)
				x, xerr := x509.ParsePKCS8PrivateKey(blk.Bytes)
				if xerr != nil || !priv.Equal(x) {
					t.Fatalf("accepted a private key x509 reads as %v (%v)", x, xerr)
				}
			}
			again, _ := MarshalPrivate(priv)
			if p2, err := ParsePrivate(again); err != nil || !p2.Equal(priv) {
				t.Fatalf("private round trip: %v", err)
			}
		} else if !errors.As(err, &e) {
			t.Fatalf("private: %T %v", err, err)
		}
		if pub, err := ParsePublic(b); err == nil {
			if len(b) != ed25519.PublicKeySize {
				blk, rest := pem.Decode(b)
				x, xerr := x509.ParsePKIXPublicKey(blk.Bytes)
				if xerr != nil || !pub.Equal(x) || len(bytes.TrimSpace(rest)) != 0 {
					t.Fatalf("accepted a public key x509 reads as %v (%v)", x, xerr)
				}
			}
			again, _ := MarshalPublic(pub)
			if p2, err := ParsePublic(again); err != nil || !p2.Equal(pub) {
				t.Fatalf("public round trip: %v", err)
			}
		} else if !errors.As(err, &e) {
			t.Fatalf("public: %T %v", err, err)
		}
	})
}
