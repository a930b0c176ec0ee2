package uki

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/slkit/slkit/efi/secureboot"
	"github.com/slkit/slkit/tpm"
)

// FuzzParsePE: any bytes either fail ParsePE or give a PE whose hashed
// ranges lie inside the file in order, and whose signature and
// measurement are read without panicking.
func FuzzParsePE(f *testing.F) {
	if s, err := os.ReadFile(DefaultStub); err == nil {
		f.Add(s)
		if img, _, err := Assemble(s, map[string][]byte{".linux": []byte("k"), ".cmdline": []byte("c"), ".initrd": []byte("i")}); err == nil {
			f.Add(img)
		}
	}
	f.Add([]byte("MZ"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePE(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		last := int64(0)
		for _, r := range p.hashRanges() {
			if r[0] > r[1] || r[1] > int64(len(b)) || r[0] < 0 {
				t.Fatalf("hash range %v outside the %d-byte file", r, len(b))
			}
			if r[0] < last && r[0] >= int64(p.SizeOfHeaders) {
				t.Fatalf("hash range %v before %d", r, last)
			}
			last = r[1]
		}
		if _, err := p.AuthenticodeDigests([]tpm.Alg{tpm.SHA256}); err != nil {
			t.Fatalf("digest of a parsed image: %v", err)
		}
		p.Signature()
		Measure(p, "fuzz", []tpm.Alg{tpm.SHA256})
	})
}

// FuzzParseSignedData feeds the Authenticode PKCS#7 parser untrusted
// bytes (the certificate table of a UKI given to `slkit predict`): it must
// fail or return a signature whose signer is one of its certificates.
func FuzzParseSignedData(f *testing.F) {
	if s, err := os.ReadFile(DefaultStub); err == nil {
		img, _, err := Assemble(s, map[string][]byte{".linux": []byte("k")})
		ks, kerr := secureboot.GenerateKeySet(time.Now())
		if err == nil && kerr == nil {
			if signed, err := secureboot.SignImage(img, ks.Keys[secureboot.RoleDB]); err == nil {
				p, _ := ParsePE(bytes.NewReader(signed), int64(len(signed)))
				f.Add(signed[p.CertOffset+8 : p.CertOffset+p.CertSize])
			}
		}
	}
	f.Add([]byte{0x30, 0x03, 0x06, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := parseSignedData(b)
		if err != nil {
			return
		}
		found := false
		for _, c := range s.Certs {
			found = found || c == s.Signer
		}
		if !found || len(s.Digest) != 32 {
			t.Fatalf("signer %v not among the %d certificates, digest %d bytes", s.Signer, len(s.Certs), len(s.Digest))
		}
	})
}
